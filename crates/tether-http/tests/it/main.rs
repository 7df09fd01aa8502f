//! The client stack against a scripted HTTP server on loopback: retries, refresh on 401,
//! `Retry-After`, write safety, redaction.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tether_core::{ErrorKind, Secret};
use tether_http::auth::{AuthTarget, BoxFuture, bearer_value};
use tether_http::{
    ApiRequest, ClientConfig, Credentials, Error, HttpClient, RetryConfig, StaticBearer,
};

#[derive(Default)]
struct Counters {
    flaky: AtomicU32,
    post: AtomicU32,
    throttle: AtomicU32,
}

async fn flaky(State(counters): State<Arc<Counters>>) -> impl IntoResponse {
    let n = counters.flaky.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        (StatusCode::SERVICE_UNAVAILABLE, "{}")
    } else {
        (StatusCode::OK, r#"{"ok":true}"#)
    }
}

async fn post_fails(State(counters): State<Arc<Counters>>) -> impl IntoResponse {
    counters.post.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"statusCode":500,"message":"boom"}"#,
    )
}

async fn throttle(State(counters): State<Arc<Counters>>) -> axum::response::Response {
    if counters.throttle.fetch_add(1, Ordering::SeqCst) == 0 {
        (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}").into_response()
    } else {
        (StatusCode::OK, "{}").into_response()
    }
}

async fn needs_fresh_token(headers: HeaderMap) -> impl IntoResponse {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bearer fresh") => (StatusCode::OK, r#"{"who":"fresh"}"#),
        _ => (
            StatusCode::UNAUTHORIZED,
            r#"{"statusCode":401,"message":"Invalid JWT"}"#,
        ),
    }
}

async fn leaks_a_secret() -> impl IntoResponse {
    (
        StatusCode::BAD_REQUEST,
        r#"{"message":"bad","access_token":"at-very-secret","traceId":"trace-42"}"#,
    )
}

async fn wrong_shape() -> impl IntoResponse {
    (StatusCode::OK, r#"{"contact":{"id":5}}"#)
}

async fn server() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route("/flaky", get(flaky))
        .route("/post", post(post_fails))
        .route("/throttle", get(throttle))
        .route("/auth", get(needs_fresh_token))
        .route("/secret", get(leaks_a_secret))
        .route("/shape", get(wrong_shape))
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/"), counters)
}

fn client(base: &str, credentials: Arc<dyn Credentials>) -> HttpClient {
    let mut config = ClientConfig::new("test", base.parse().unwrap());
    config.retry = RetryConfig {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        ..RetryConfig::default()
    };
    HttpClient::new(config, credentials, None).unwrap()
}

fn pit() -> Arc<dyn Credentials> {
    Arc::new(StaticBearer(Secret::new("pit-1")))
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let (base, counters) = server().await;
    let answer: serde_json::Value = client(&base, pit())
        .send_json(ApiRequest::get("/flaky"))
        .await
        .unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(counters.flaky.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_write_that_may_have_been_applied_is_not_repeated_unless_marked_safe() {
    let (base, counters) = server().await;
    let client = client(&base, pit());
    let error = client.send(ApiRequest::post("/post")).await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert!(error.to_string().contains("boom"), "{error}");
    assert_eq!(counters.post.load(Ordering::SeqCst), 1);

    let _ = client
        .send(ApiRequest::post("/post").idempotent(true))
        .await
        .unwrap_err();
    assert_eq!(
        counters.post.load(Ordering::SeqCst),
        1 + RetryConfig::default().max_attempts
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (base, counters) = server().await;
    let started = Instant::now();
    client(&base, pit())
        .send(ApiRequest::get("/throttle"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(counters.throttle.load(Ordering::SeqCst), 2);
}

#[derive(Debug, Default)]
struct Refreshing {
    refreshed: AtomicU32,
}

impl Credentials for Refreshing {
    fn apply<'a>(&'a self, request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let token = if self.refreshed.load(Ordering::SeqCst) > 0 {
                "fresh"
            } else {
                "stale"
            };
            request.headers.insert(
                http::header::AUTHORIZATION,
                bearer_value(&Secret::new(token))?,
            );
            Ok(())
        })
    }

    fn refresh<'a>(&'a self, _refused: &'a HeaderMap) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            self.refreshed.fetch_add(1, Ordering::SeqCst);
            Ok(true)
        })
    }
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let (base, _) = server().await;
    let credentials = Arc::new(Refreshing::default());
    let answer: serde_json::Value = client(&base, credentials.clone())
        .send_json(ApiRequest::get("/auth"))
        .await
        .unwrap();
    assert_eq!(answer["who"], "fresh");
    assert_eq!(credentials.refreshed.load(Ordering::SeqCst), 1);

    // Credentials that cannot refresh surface the 401 as an auth error, after one try.
    let error = client(&base, pit())
        .send(ApiRequest::get("/auth"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
}

#[tokio::test]
async fn secrets_in_answers_never_reach_error_messages() {
    let (base, _) = server().await;
    let error = client(&base, pit())
        .send(ApiRequest::get("/secret"))
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("at-very-secret"), "{shown}");
    assert!(!shown.contains("pit-1"), "{shown}");
    assert!(
        error.to_string().ends_with("(trace trace-42)"),
        "the service's trace id is quoted: {error}"
    );
    assert_eq!(error.kind(), ErrorKind::Permanent);
}

#[tokio::test]
async fn a_decode_error_names_the_field() {
    #[derive(Debug, serde::Deserialize)]
    struct Contact {
        #[allow(dead_code)]
        id: String,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Envelope {
        #[allow(dead_code)]
        contact: Contact,
    }
    let (base, _) = server().await;
    let error = client(&base, pit())
        .send_json::<Envelope>(ApiRequest::get("/shape"))
        .await
        .unwrap_err();
    match &error {
        Error::Decode { field, .. } => assert_eq!(field, "contact.id"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_service_is_a_transient_connect_error() {
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = client(&format!("http://127.0.0.1:{port}/"), pit())
        .send(ApiRequest::post("/x"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Transient);
}

//! The Details Flowers simulator over loopback HTTP, read with a plain HTTP client: auth,
//! validation, paging and filters, timestamps, rate limit, faults, the request log and seeding.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tether_sim::details_flowers::{
    DEFAULT_API_KEY, DetailsFlowersConfig, DetailsFlowersSim, RunningDetailsFlowers, SimRateLimit,
};
use tokio_util::sync::CancellationToken;

struct Florist {
    running: RunningDetailsFlowers,
    http: reqwest::Client,
}

impl Florist {
    async fn start(config: DetailsFlowersConfig) -> Florist {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = DetailsFlowersSim::new(config)
            .spawn(addr, CancellationToken::new())
            .await
            .unwrap();
        Florist {
            running,
            http: reqwest::Client::new(),
        }
    }

    /// A request with the API key.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.base_url))
            .header("X-Api-Key", DEFAULT_API_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.call(reqwest::Method::GET, path, None).await;
        (status, body)
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.http
            .request(method, format!("{}/__sim/{path}", self.running.base_url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn config() -> DetailsFlowersConfig {
    DetailsFlowersConfig {
        rate_limit: None,
        ..DetailsFlowersConfig::default()
    }
}

#[tokio::test]
async fn requests_without_the_api_key_get_a_json_401() {
    let florist = Florist::start(config()).await;
    for key in [None, Some("wrong")] {
        let mut request = florist
            .http
            .get(format!("{}/customers", florist.running.base_url));
        if let Some(key) = key {
            request = request.header("X-Api-Key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert!(body["message"].as_str().unwrap().contains("X-Api-Key"));
    }
}

#[tokio::test]
async fn writes_are_validated_against_the_manifest_and_timestamps_are_kept() {
    let florist = Florist::start(config()).await;
    let post = |body: Value| florist.call(reqwest::Method::POST, "/customers", Some(body));
    let check = async |body: Value, field: &str| {
        let (status, _, answer) = post(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(answer["message"].as_str().unwrap().starts_with(field));
    };
    check(json!({"email": "not-an-email", "full_name": "A"}), "email").await;
    check(json!({"email": "a@example.com"}), "full_name").await;
    check(
        json!({"email": "a@example.com", "full_name": "A", "shoe_size": 9}),
        "shoe_size",
    )
    .await;
    check(
        json!({"email": "a@example.com", "full_name": "A", "updated_at": "2020-01-01T00:00:00Z"}),
        "updated_at",
    )
    .await;

    let (status, _, created) = post(json!({"email": "a@example.com", "full_name": "A"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["phone"],
        Value::Null,
        "every declared field is present"
    );
    assert_eq!(created["created_at"], created["updated_at"]);
    check(json!({"email": "a@example.com", "full_name": "B"}), "email").await;

    let (status, _, updated) = florist
        .call(
            reqwest::Method::PATCH,
            &format!("/customers/{id}"),
            Some(json!({"phone": "+1555"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (updated["phone"].as_str(), updated["full_name"].as_str()),
        (Some("+1555"), Some("A"))
    );
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(updated["updated_at"].as_str() >= created["updated_at"].as_str());

    let (status, _, _) = florist
        .call(reqwest::Method::DELETE, &format!("/customers/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = florist.get(&format!("/customers/{id}")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = florist.get("/bouquets").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listings_page_filter_and_search_as_declared() {
    let florist = Florist::start(DetailsFlowersConfig {
        seed_customers: 12,
        ..config()
    })
    .await;
    let (status, page) = florist.get("/customers?page=3&per_page=5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            page["page"].as_u64(),
            page["per_page"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(3), Some(5), Some(12))
    );
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cus_00000011", "cus_00000012"]);

    let (_, found) = florist
        .get("/customers?email=customer7%40example.com")
        .await;
    assert_eq!(found["data"][0]["id"], "cus_00000007");
    assert_eq!(found["total"], 1);

    // All seeded customers share one timestamp; `updated_since` is inclusive.
    let seeded_at = page["data"][0]["updated_at"].as_str().unwrap().to_owned();
    let (_, since) = florist
        .get(&format!(
            "/customers?updated_since={seeded_at}&per_page=100"
        ))
        .await;
    assert_eq!(since["total"], 12);
    let (_, later) = florist
        .get("/customers?updated_since=2100-01-01T00:00:00Z")
        .await;
    assert_eq!(later["total"], 0);

    for (query, field) in [
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("updated_since=yesterday", "updated_since"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = florist.get(&format!("/customers?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["field"], field, "{query}");
    }

    // Notes page with cursors.
    for n in 0..3 {
        let body = json!({"customer_id": "cus_00000001", "body": format!("n{n}")});
        florist
            .call(reqwest::Method::POST, "/notes", Some(body))
            .await;
    }
    let (_, first) = florist.get("/notes?limit=2").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = florist
        .get(&format!("/notes?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["data"][0]["body"], "n2");
    assert_eq!(second["next_cursor"], Value::Null);
    let (status, _) = florist.get("/notes?cursor=bogus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let florist = Florist::start(DetailsFlowersConfig {
        rate_limit: Some(SimRateLimit {
            requests: 2,
            window_ms: 60_000,
        }),
        ..config()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(florist.get("/customers").await.0, StatusCode::OK);
    }
    let (status, headers, body) = florist.call(reqwest::Method::GET, "/customers", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "rate_limited");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((59..=60).contains(&retry_after), "{retry_after}");

    // Turning the limit off through the admin API lets requests through again.
    florist
        .admin(reqwest::Method::PUT, "rate-limit", Value::Null)
        .await;
    assert_eq!(florist.get("/customers").await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_and_the_request_log_are_driven_by_the_admin_api() {
    let florist = Florist::start(config()).await;
    florist
        .admin(
            reqwest::Method::PUT,
            "faults",
            json!({"error_rate": 1.0, "latency_ms": 30}),
        )
        .await;
    let started = std::time::Instant::now();
    let (status, body) = florist.get("/customers").await;
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert!(status.is_server_error(), "{status}");
    assert_eq!(body["error"], "server_error");
    florist
        .admin(reqwest::Method::PUT, "faults", json!({}))
        .await;
    assert_eq!(florist.get("/customers?per_page=3").await.0, StatusCode::OK);

    let log = florist
        .admin(reqwest::Method::GET, "requests", Value::Null)
        .await;
    let entries = log["requests"].as_array().unwrap();
    let summary: Vec<(u64, &str)> = entries
        .iter()
        .map(|entry| {
            (
                entry["status"].as_u64().unwrap(),
                entry["query"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(summary.len(), 2);
    assert!(summary[0].0 >= 500);
    assert_eq!(summary[1], (200, "per_page=3"));
    florist
        .admin(reqwest::Method::DELETE, "requests", Value::Null)
        .await;
    let log = florist
        .admin(reqwest::Method::GET, "requests", Value::Null)
        .await;
    assert_eq!(log["requests"], json!([]));
}

#[tokio::test]
async fn seeding_is_deterministic() {
    let config = || DetailsFlowersConfig {
        seed_customers: 30,
        ..config()
    };
    let (one, two) = (
        Florist::start(config()).await,
        Florist::start(config()).await,
    );
    let (_, first) = one.get("/customers?per_page=100").await;
    let (_, second) = two.get("/customers?per_page=100").await;
    assert_eq!(first["total"], 30);
    assert_eq!(first, second);
    let names: std::collections::HashSet<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["full_name"].as_str().unwrap())
        .collect();
    assert!(names.len() > 5, "names vary: {names:?}");
}

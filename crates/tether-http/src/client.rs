//! The client: one loop that runs every attempt of a call through the same steps, in this order:
//!
//! 1. the call's deadline bounds everything below, retries and waits included;
//! 2. the connection's [`WindowLimiter`] admits the attempt (every attempt pays, as GHL counts
//!    every request);
//! 3. [`Credentials`] authenticate it (and, after a 401, refresh once without counting an attempt);
//! 4. the attempt has its own timeout;
//! 5. the answer's rate-limit headers teach the limiter; a 429 blocks it;
//! 6. a failure is retried when [`should_retry`] allows it, the retry budget has room and the
//!    wait fits in the deadline: `Retry-After` when given, else exponential backoff with full jitter.
//!
//! This is the order DESIGN.md gives for the tower stack. It is written as one loop rather than
//! tower layers because the refresh-on-401 step needs the refused answer and the retry step needs
//! the limiter's verdict; one loop keeps those hand-offs plain and testable.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tether_core::ErrorKind;
use tokio::time::Instant;
use tower::retry::budget::{Budget, TpsBudget};
use tracing::{Instrument, debug, info_span, warn};
use url::Url;

use crate::auth::{AuthTarget, Credentials};
use crate::error::StatusError;
use crate::ratelimit::WindowLimiter;
use crate::retry::{RetryConfig, classify_status, retry_after, should_retry};
use crate::{Error, redact};

/// Timeouts of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One attempt, connect to last byte.
    pub attempt: Duration,
    /// The whole call, every retry and wait included.
    pub call: Duration,
    /// Opening a connection.
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            attempt: Duration::from_secs(30),
            call: Duration::from_secs(120),
            connect: Duration::from_secs(10),
        }
    }
}

/// One request, ready to be sent (and re-sent: the body is `Bytes`, so a retry clones it cheaply).
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Bytes>,
    idempotent: bool,
}

impl ApiRequest {
    /// A request; GET, HEAD, PUT, DELETE and OPTIONS are idempotent by default (RFC 9110 §9.2.2).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotent,
        }
    }

    /// GET `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// POST `path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// PUT `path`.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    /// DELETE `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self, Error> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidRequest(format!("bad value for header {name}")))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|error| Error::InvalidRequest(format!("body does not serialise: {error}")))?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let text = serde_urlencoded_string(body)?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(Bytes::from(text));
        Ok(self)
    }

    /// Sets a body already encoded as `content_type` (a `multipart/form-data` upload, say).
    pub fn body(mut self, content_type: &str, body: Bytes) -> Result<Self, Error> {
        let value = HeaderValue::from_str(content_type)
            .map_err(|_| Error::InvalidRequest(format!("bad content type {content_type}")))?;
        self.headers.insert(http::header::CONTENT_TYPE, value);
        self.body = Some(body);
        Ok(self)
    }

    /// Marks the request safe to repeat after it may have been applied (an upsert, or one that
    /// carries an idempotency key), or not.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

fn serde_urlencoded_string<T: Serialize + ?Sized>(body: &T) -> Result<String, Error> {
    // serde_json → flat map → form pairs; forms in these APIs are flat string maps.
    let value =
        serde_json::to_value(body).map_err(|error| Error::InvalidRequest(error.to_string()))?;
    let map = value
        .as_object()
        .ok_or_else(|| Error::InvalidRequest("a form body must be an object".into()))?;
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in map {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => {
                serializer.append_pair(key, text);
            }
            other => {
                serializer.append_pair(key, &other.to_string());
            }
        }
    }
    Ok(serializer.finish())
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Method of the request.
    pub method: Method,
    /// Path of the request.
    pub path: String,
    /// HTTP status (2xx).
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl ApiResponse {
    /// Decodes the body, naming the JSON path of the first field that does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let bytes: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let field = error.path().to_string();
            Error::Decode {
                method: self.method.clone(),
                path: self.path.clone(),
                field,
                body: redact::body(&self.body),
                source: error.into_inner(),
            }
        })
    }
}

/// How to build a [`HttpClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// A label for traces and logs (a connection name), never a secret.
    pub name: String,
    /// Base URL every path is joined to (the real service, or a simulator).
    pub base_url: Url,
    /// Retry settings.
    pub retry: RetryConfig,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Headers sent on every request (e.g. a default `Version`).
    pub default_headers: HeaderMap,
}

impl ClientConfig {
    /// Defaults for `base_url`.
    pub fn new(name: impl Into<String>, base_url: Url) -> Self {
        ClientConfig {
            name: name.into(),
            base_url,
            retry: RetryConfig::default(),
            timeouts: Timeouts::default(),
            default_headers: HeaderMap::new(),
        }
    }
}

/// An HTTP client for one connection: its credentials, its limiter, its retry budget.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    credentials: Arc<dyn Credentials>,
    limiter: Option<Arc<WindowLimiter>>,
    budget: TpsBudget,
    rng: Mutex<fastrand::Rng>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.inner.config.name)
            .field("base_url", &self.inner.config.base_url.as_str())
            .finish()
    }
}

impl HttpClient {
    /// A client; `limiter` is shared by every client of the same connection.
    pub fn new(
        config: ClientConfig,
        credentials: Arc<dyn Credentials>,
        limiter: Option<Arc<WindowLimiter>>,
    ) -> Result<Self, Error> {
        // Every client of the process uses ring as its TLS provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            // Token endpoints must not follow redirects (a redirect could carry a code elsewhere),
            // and no API we call relies on them.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                Error::InvalidRequest(format!("cannot build the HTTP client: {error}"))
            })?;
        let budget = TpsBudget::new(
            Duration::from_secs(10),
            config.retry.budget_min_per_sec,
            config.retry.budget_ratio,
        );
        Ok(HttpClient {
            inner: Arc::new(Inner {
                config,
                http,
                credentials,
                limiter,
                budget,
                rng: Mutex::new(fastrand::Rng::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Sends `request`, retrying as the module docs describe; a non-2xx final answer is an error.
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        // Errors and logs carry the path without personal data (`redact`); queries never. Made
        // once per call: every attempt's answer and error carries it.
        let path = redact::path(&request.path);
        let span = info_span!(
            "http",
            connection = %self.inner.config.name,
            method = %request.method,
            path = %path,
            trace_id = tracing::field::Empty
        );
        self.send_inner(request, path).instrument(span).await
    }

    /// Sends and decodes the JSON answer.
    pub async fn send_json<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T, Error> {
        self.send(request).await?.json()
    }

    fn url(&self, request: &ApiRequest) -> Result<Url, Error> {
        let mut url = self
            .inner
            .config
            .base_url
            .join(request.path.trim_start_matches('/'))
            .map_err(|error| {
                Error::InvalidRequest(format!("bad path {}: {error}", redact::path(&request.path)))
            })?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        Ok(url)
    }

    async fn send_inner(&self, request: ApiRequest, path: String) -> Result<ApiResponse, Error> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.config.timeouts.call;
        let url = self.url(&request)?;
        let method = request.method.clone();
        // What an attempt's answer and errors show: the whole path of the URL, redacted.
        let url_path = redact::path(url.path());
        inner.budget.deposit();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            if let Some(limiter) = &inner.limiter {
                match tokio::time::timeout_at(deadline, limiter.acquire()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(exhausted)) => {
                        return Err(Error::DailyQuota {
                            resume_at: exhausted.resume_at,
                        });
                    }
                    Err(_) => return Err(Error::Timeout { method, path }),
                }
            }
            let mut target = AuthTarget {
                method: method.clone(),
                url: url.clone(),
                headers: inner.config.default_headers.clone(),
                body: request.body.clone(),
            };
            target.headers.extend(request.headers.clone());
            inner.credentials.apply(&mut target).await?;
            let sent_headers = target.headers.clone();

            let outcome = self.attempt(target, url_path.clone(), deadline).await;
            let (error, maybe_applied) = match outcome {
                Ok(Attempt::Success(response)) => return Ok(response),
                Ok(Attempt::Refused {
                    status,
                    headers,
                    body,
                }) => {
                    if let Some(limiter) = &inner.limiter {
                        limiter.answered(status, &headers);
                    }
                    let kind = classify_status(status, &headers);
                    if status == 401 && !refreshed {
                        refreshed = true;
                        if inner.credentials.refresh(&sent_headers).await? {
                            debug!("Credentials refreshed after a 401; trying again.");
                            attempt -= 1;
                            continue;
                        }
                    }
                    if let (ErrorKind::Throttled { retry_after }, Some(limiter)) =
                        (kind, &inner.limiter)
                    {
                        limiter.throttled(retry_after);
                    }
                    let message = service_message(&body).map_or_else(
                        || {
                            http::StatusCode::from_u16(status)
                                .map_or_else(|_| status.to_string(), |s| s.to_string())
                        },
                        |message| redact::text(&message),
                    );
                    let error = Error::Status(Box::new(StatusError {
                        method: method.clone(),
                        path: path.clone(),
                        status,
                        message,
                        body: redact::text(&redact::body(&body)),
                        trace_id: trace_id(&body),
                        headers,
                        kind,
                    }));
                    (error, status >= 500)
                }
                Err(failure) => failure,
            };
            let kind = error.kind();
            if attempt >= inner.config.retry.max_attempts
                || !should_retry(kind, maybe_applied, request.idempotent)
            {
                return Err(error);
            }
            if !inner.budget.withdraw() {
                warn!(%error, "Retry budget exhausted; giving up.");
                return Err(error);
            }
            let wait = match kind {
                ErrorKind::Throttled {
                    retry_after: Some(wait),
                } => wait,
                // The limiter is now blocked for one window; acquiring will wait for it.
                ErrorKind::Throttled { retry_after: None } if inner.limiter.is_some() => {
                    Duration::ZERO
                }
                _ => inner
                    .config
                    .retry
                    .backoff(attempt - 1, &mut inner.rng.lock()),
            };
            if Instant::now() + wait > deadline {
                return Err(error);
            }
            debug!(attempt, ?wait, %error, "Attempt failed; retrying.");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        target: AuthTarget,
        path: String,
        deadline: Instant,
    ) -> Result<Attempt, (Error, bool)> {
        let inner = &self.inner;
        let method = target.method.clone();
        let mut builder = inner
            .http
            .request(target.method, target.url)
            .headers(target.headers);
        if let Some(body) = target.body {
            builder = builder.body(body);
        }
        let attempt_deadline = deadline.min(Instant::now() + inner.config.timeouts.attempt);
        let timeout = || Error::Timeout {
            method: method.clone(),
            path: path.clone(),
        };
        let response = match tokio::time::timeout_at(attempt_deadline, builder.send()).await {
            Err(_) => return Err((timeout(), true)),
            Ok(Err(source)) if source.is_connect() => {
                return Err((
                    Error::Connect {
                        method: method.clone(),
                        path: path.clone(),
                        source: shown(source),
                    },
                    false,
                ));
            }
            Ok(Err(source)) => {
                return Err((
                    Error::Io {
                        method: method.clone(),
                        path: path.clone(),
                        source: shown(source),
                    },
                    true,
                ));
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match tokio::time::timeout_at(attempt_deadline, response.bytes()).await {
            Err(_) => return Err((timeout(), true)),
            Ok(Err(source)) => {
                return Err((
                    Error::Io {
                        method: method.clone(),
                        path: path.clone(),
                        source: shown(source),
                    },
                    true,
                ));
            }
            Ok(Ok(body)) => body,
        };
        // Scanning a large list body costs; only when someone is listening, or on failures.
        if tracing::enabled!(tracing::Level::DEBUG) || !(200..300).contains(&status) {
            if let Some(trace_id) = trace_id(&body) {
                tracing::Span::current().record("trace_id", trace_id.as_str());
            }
            debug!(status, "Answer received.");
        }
        if (200..300).contains(&status) {
            if let Some(limiter) = &inner.limiter {
                limiter.answered(status, &headers);
            }
            return Ok(Attempt::Success(ApiResponse {
                method,
                path,
                status,
                headers,
                body,
            }));
        }
        Ok(Attempt::Refused {
            status,
            headers,
            body,
        })
    }
}

/// `error` with its URL redacted: reqwest's errors print their URL, query included.
fn shown(error: reqwest::Error) -> reqwest::Error {
    match error.url().map(redact::url) {
        Some(url) => error.with_url(url),
        None => error,
    }
}

enum Attempt {
    Success(ApiResponse),
    Refused {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
    },
}

/// The service's trace id, when the body carries one (`"traceId":"…"`, as GHL's answers do). A
/// byte search rather than a parse: it runs on every answer, and most bodies are large lists.
fn trace_id(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"traceId\":\"";
    let start = body.windows(KEY.len()).position(|window| window == KEY)? + KEY.len();
    let length = body[start..]
        .iter()
        .take(128)
        .position(|byte| *byte == b'"')?;
    std::str::from_utf8(&body[start..start + length])
        .ok()
        .map(str::to_owned)
}

/// The service's own message: `message` (a string or an array of strings), else `error`.
fn service_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("message") {
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(serde_json::Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => value
            .get("error")
            .and_then(|error| error.as_str())
            .map(str::to_owned),
    }
}

/// Reads `Retry-After` from an error's headers (for callers that schedule their own retry).
pub fn error_retry_after(error: &Error) -> Option<Duration> {
    match error {
        Error::Status(details) => retry_after(&details.headers, chrono::Utc::now()),
        _ => None,
    }
}

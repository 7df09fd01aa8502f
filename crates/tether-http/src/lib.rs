//! Tether's outbound HTTP client stack, shared by every connector: credentials, a per-connection
//! rate limiter that learns from the service's headers, retries with exponential backoff and full
//! jitter that honour `Retry-After`, timeouts per attempt and per call, and secrets kept out of
//! logs and errors.
//!
//! **Invariant:** this is the only crate that builds an HTTP transport for Tether's own calls.

pub mod auth;
pub mod client;
pub mod error;
pub mod ratelimit;
pub mod redact;
pub mod retry;

pub use auth::{ApiKeyHeader, Credentials, NoAuth, StaticBearer};
pub use client::{ApiRequest, ApiResponse, ClientConfig, HttpClient, Timeouts};
pub use error::Error;
pub use ratelimit::{BudgetPart, LimitConfig, WindowLimiter};
pub use retry::RetryConfig;

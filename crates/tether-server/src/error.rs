//! The server's errors: [`Error`] for starting it (bad keys, a busy port) and [`ApiError`], the
//! one type every handler answers with, which turns into a status code and a JSON body.
//!
//! A 4xx body says what is wrong and where (`{"error": {"code": "...", "message": "..."}}`); a 5xx
//! is logged with its cause chain and answers "internal error".

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tether_core::ErrorKind;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configured webhook public key is not a usable PEM key of its algorithm.
    #[error("invalid {algorithm} webhook public key: {reason}")]
    InvalidKey {
        /// `RSA` or `Ed25519`.
        algorithm: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// No webhook public key is configured, so no webhook could ever be verified.
    #[error("no GHL webhook public key is configured")]
    NoKeys,
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server task failed or panicked.
    #[error("the server stopped with an error")]
    Serve(#[source] std::io::Error),
}

impl Error {
    /// What a caller should do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidKey { .. } | Error::NoKeys => ErrorKind::Permanent,
            Error::Bind { .. } | Error::Serve(_) => ErrorKind::Transient,
        }
    }
}

/// What a request gets when it is not served: each variant is one status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is larger than the configured limit (413).
    #[error("body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The applicable signature header is missing or does not verify (401).
    #[error("{header}: {reason}")]
    BadSignature {
        /// The header that failed.
        header: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The body is not valid JSON (400); the message carries serde_json's line and column.
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    /// The request is wrong in another way the client must fix (400).
    #[error("{0}")]
    BadRequest(String),
    /// The JSON is well formed but not a webhook event (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The engine cannot take more work now, or the store is unavailable (429), so a GHL
    /// delivery is redelivered later: GHL retries on 429 and on nothing else.
    #[error("{reason}")]
    Busy {
        /// Why, for the sender's logs.
        reason: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// Our fault (500); the cause is logged, the answer says only "internal error".
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadSignature { .. } => StatusCode::UNAUTHORIZED,
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BadSignature { .. } => "bad_signature",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Busy { .. } => "busy",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %chain(cause.as_ref()), "A request failed.");
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::Busy { retry_after, .. } = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

/// The error and its sources, joined with ": ", for one log field.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_answers_its_status_and_names_the_problem() {
        let check = |error: ApiError, status: u16, message: &str| {
            assert_eq!(error.status().as_u16(), status);
            assert_eq!(error.to_string(), message);
        };
        check(
            ApiError::PayloadTooLarge { limit: 10 },
            413,
            "body exceeds the limit of 10 bytes",
        );
        check(
            ApiError::BadSignature {
                header: "x-ghl-signature",
                reason: "does not verify",
            },
            401,
            "x-ghl-signature: does not verify",
        );
        check(
            ApiError::Internal("disk on fire".into()),
            500,
            "internal error",
        );
    }

    #[test]
    fn busy_answers_a_retry_after_of_at_least_one_second() {
        let response = ApiError::Busy {
            reason: "full".into(),
            retry_after: Duration::from_millis(10),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}

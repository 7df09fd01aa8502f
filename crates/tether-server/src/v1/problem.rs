//! Errors as `application/problem+json` (RFC 9457): every `/api/v1` failure answers
//! `{type, title, status, detail, code, diagnostics?}`, where `code` is the service's stable
//! [`ErrorCode`] and `diagnostics` every problem found in invalid input, each with its line,
//! column and field path.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tether_service::accounts::RetryAfter;
use tether_service::{Diagnostic, Error, ErrorCode};
use utoipa::ToSchema;

/// The media type of error bodies.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An API failure; answers with its status and a problem body.
#[derive(Debug)]
pub struct Problem(pub Error);

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        Problem(error)
    }
}

/// A body that is not the JSON expected: 400 naming the field (serde's path and reason).
impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        Problem::invalid(format!("body: {}", rejection.body_text()))
    }
}

/// A query string that does not decode: 400 naming the parameter.
impl From<axum::extract::rejection::QueryRejection> for Problem {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Problem::invalid(format!("query: {}", rejection.body_text()))
    }
}

/// A path segment of the wrong type (`/runs/abc`): 400.
impl From<axum::extract::rejection::PathRejection> for Problem {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Problem::invalid(format!("path: {}", rejection.body_text()))
    }
}

impl Problem {
    /// 400 with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Problem(Error::invalid(message))
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemBody {
    /// Always `about:blank`: `code` says what happened.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What is wrong, for people.
    detail: String,
    /// Stable, for programs: `invalid`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `precondition_failed`, `unprocessable`, `too_many_requests`, `unavailable`, `internal`.
    code: ErrorCode,
    /// Every problem found in the input, each with where it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<Diagnostic>,
}

/// The status an error code answers with.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Invalid => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Problem(error) = self;
        if error.code == ErrorCode::Internal || error.code == ErrorCode::Unavailable {
            tracing::error!(error = %crate::error::chain(&error), "An API request failed.");
        }
        let retry_after = error
            .source
            .as_deref()
            .and_then(|source| source.downcast_ref::<RetryAfter>())
            .copied();
        let status = status(error.code);
        let body = ProblemBody {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: error.message,
            code: error.code,
            diagnostics: error.diagnostics,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        // A throttled request says when to come back (RFC 9110 `Retry-After`, in seconds).
        if let Some(RetryAfter(wait)) = retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tether\""),
            );
        }
        response
    }
}

/// An unknown `/api/v1` path: a problem, not an empty 404.
pub(crate) async fn not_found(
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Problem {
    Problem(Error::not_found(format!("route {}", uri.path())))
}

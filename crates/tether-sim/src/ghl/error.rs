//! The error responses of the GHL simulator, in the shapes the official specs declare.
//!
//! | status | shape | source |
//! | --- | --- | --- |
//! | 400 | `{statusCode, message: string}` (+ `error`) | common `BadRequestDTO` |
//! | 401 | `{statusCode, message, error: "Unauthorized"}` | common `UnauthorizedDTO` |
//! | 403 | `{statusCode, message, error: "Forbidden"}` | `InvalidLocationDTO` / v3 `ForbiddenDTO` |
//! | 404 | `{statusCode, message, error: "Not Found"}` | `NotFoundDTO` of other v2 specs |
//! | 422 | `{statusCode, message: [string], error: "Unprocessable Entity"}` | common `UnprocessableDTO` |
//! | 429 | `{statusCode, message, error}` | nothing documented; our choice |
//! | 5xx | `{statusCode, message}` | `InternalServerErrorDTO` of other specs |

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the simulated API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GhlError {
    /// 400 with one message.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: token missing, unknown, expired or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: the token lacks the scope, or has no access to the location.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the resource does not exist (in this location).
    #[error("not found: {0}")]
    NotFound(String),
    /// 422: body validation failed; one message per problem.
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<String>),
    /// 429: the burst or daily limit is used up.
    #[error("too many requests")]
    TooManyRequests,
    /// 500, used by fault injection.
    #[error("internal server error")]
    Internal,
    /// 503, used by fault injection.
    #[error("service unavailable")]
    Unavailable,
}

impl GhlError {
    /// Shorthand for a 422 with a single message.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        GhlError::Unprocessable(vec![message.into()])
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            GhlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GhlError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GhlError::Forbidden(_) => StatusCode::FORBIDDEN,
            GhlError::NotFound(_) => StatusCode::NOT_FOUND,
            GhlError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GhlError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            GhlError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            GhlError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> serde_json::Value {
        let status = self.status().as_u16();
        match self {
            GhlError::BadRequest(message) => {
                json!({"statusCode": status, "message": message, "error": "Bad Request"})
            }
            GhlError::Unauthorized(message) => {
                json!({"statusCode": status, "message": message, "error": "Unauthorized"})
            }
            GhlError::Forbidden(message) => {
                json!({"statusCode": status, "message": message, "error": "Forbidden"})
            }
            GhlError::NotFound(message) => {
                json!({"statusCode": status, "message": message, "error": "Not Found"})
            }
            GhlError::Unprocessable(messages) => {
                json!({"statusCode": status, "message": messages, "error": "Unprocessable Entity"})
            }
            GhlError::TooManyRequests => json!({
                "statusCode": status,
                "message": "Too many requests, please try again later.",
                "error": "Too Many Requests"
            }),
            GhlError::Internal => json!({"statusCode": status, "message": "Internal server error"}),
            GhlError::Unavailable => {
                json!({"statusCode": status, "message": "Service Unavailable"})
            }
        }
    }
}

impl IntoResponse for GhlError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

/// The result type of every simulator handler.
pub type GhlResult<T> = Result<T, GhlError>;

//! The service's one error type: a stable [`ErrorCode`] (which the API turns into a status and
//! an `application/problem+json` body, and the CLI into an exit message), a message for people,
//! and, for invalid input, every [`Diagnostic`] found.

use serde::Serialize;
use tether_engine::flow::Problem;

/// What kind of failure, stable for programs (`"not_found"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or a value is wrong (400).
    Invalid,
    /// No valid session or token (401).
    Unauthenticated,
    /// Authenticated, but not allowed, or a cross-site write (403).
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// The request conflicts with the current state, e.g. deleting a connection flows use (409).
    Conflict,
    /// `If-Match` does not match the current version (412).
    PreconditionFailed,
    /// Well-formed, but it does not validate: a flow with problems (422).
    Unprocessable,
    /// Too many attempts; try later (429).
    TooManyRequests,
    /// A service Tether depends on is unreachable (503).
    Unavailable,
    /// Tether's own fault (500); the message says only "internal error".
    Internal,
}

impl ErrorCode {
    /// The code as it appears in the API's bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// One problem in something the caller sent (a flow's YAML, a field of a request), with where
/// it is: line and column in the text when there is one, and the path of the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Line in the text, from 1; absent when the problem is not in a text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Column, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// The field's path (`steps[1].action.input.email`); empty for the whole document.
    pub path: String,
    /// What is wrong and, when we can tell, what was meant.
    pub message: String,
}

impl From<&Problem> for Diagnostic {
    fn from(problem: &Problem) -> Self {
        Diagnostic {
            line: (problem.line > 0).then_some(problem.line),
            column: (problem.line > 0).then_some(problem.column),
            path: problem.path.clone(),
            message: problem.message.clone(),
        }
    }
}

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What kind of failure.
    pub code: ErrorCode,
    /// For people: what is wrong, naming the thing (`no connection "ghl-mian"; did you mean
    /// "ghl-main"?`).
    pub message: String,
    /// Every problem found, for invalid input.
    pub diagnostics: Vec<Diagnostic>,
    /// The cause, for logs (never shown to API clients for internal errors).
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            diagnostics: Vec::new(),
            source: None,
        }
    }

    /// 400: the request is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Invalid, message)
    }

    /// 404: `what` (`flow "x"`) does not exist.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Error::new(ErrorCode::NotFound, format!("no {what}"))
    }

    /// 409: the current state forbids it.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Conflict, message)
    }

    /// 422 with every diagnostic.
    pub fn unprocessable(message: impl Into<String>, diagnostics: Vec<Diagnostic>) -> Self {
        Error {
            diagnostics,
            ..Error::new(ErrorCode::Unprocessable, message)
        }
    }

    /// 500: our fault; `source` is logged, never shown.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error {
            source: Some(source.into()),
            ..Error::new(ErrorCode::Internal, "internal error")
        }
    }
}

impl From<tether_store::Error> for Error {
    fn from(error: tether_store::Error) -> Self {
        match &error {
            tether_store::Error::NotFound { .. } => Error {
                source: None,
                ..Error::new(ErrorCode::NotFound, error.to_string())
            },
            tether_store::Error::Conflict { .. } => Error::conflict(error.to_string()),
            _ if error.kind().is_retryable() => Error {
                source: Some(Box::new(error)),
                ..Error::new(
                    ErrorCode::Unavailable,
                    "the store is unavailable; try again",
                )
            },
            _ => Error::internal(error),
        }
    }
}

/// A service call's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The errors of an outbound call, each answering what a caller should do about it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use tether_core::ErrorKind;

/// A failed outbound call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer within the attempt timeout (the request may have been applied).
    #[error("{method} {path} timed out")]
    Timeout {
        /// Method.
        method: Method,
        /// Path, without the query (queries can carry personal data).
        path: String,
    },
    /// The connection could not be opened (the request was not sent).
    #[error("cannot connect for {method} {path}")]
    Connect {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What the transport said.
        #[source]
        source: reqwest::Error,
    },
    /// The connection broke after the request was sent (it may have been applied).
    #[error("connection failed during {method} {path}")]
    Io {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// What the transport said.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with a non-success status.
    #[error("{} {} answered {}: {}{}", .0.method, .0.path, .0.status, .0.message, .0.trace_id.as_ref().map(|id| format!(" (trace {id})")).unwrap_or_default())]
    Status(Box<StatusError>),
    /// The connection's daily quota is used up; nothing was sent.
    #[error("daily request quota used up until {resume_at}")]
    DailyQuota {
        /// When the quota resets.
        resume_at: DateTime<Utc>,
    },
    /// The credentials could not be applied or renewed; a person may have to reconnect.
    #[error("credentials unusable: {reason}")]
    Credentials {
        /// What the user should know (never a secret).
        reason: String,
    },
    /// The answer was not what the API documents.
    #[error("cannot decode the answer of {method} {path} at `{field}`")]
    Decode {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// JSON path of the offending field (`.` for the whole body).
        field: String,
        /// The body, secrets redacted, at most a few KiB.
        body: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The request could not be built (a bug in the caller).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// The details of a non-success answer (boxed: errors travel through every `Result`).
#[derive(Debug)]
pub struct StatusError {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// The service's message when the body carries one, else the status text.
    pub message: String,
    /// The body, secrets redacted, at most a few KiB.
    pub body: String,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// What kind of failure the status means.
    pub kind: ErrorKind,
    /// The service's trace id for this answer (GHL's `traceId`), to quote to its support.
    pub trace_id: Option<String>,
}

impl Error {
    /// What a caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Timeout { .. } | Error::Connect { .. } | Error::Io { .. } => {
                ErrorKind::Transient
            }
            Error::Status(details) => details.kind,
            Error::DailyQuota { resume_at } => ErrorKind::Throttled {
                retry_after: Some((*resume_at - Utc::now()).to_std().unwrap_or(Duration::ZERO)),
            },
            Error::Credentials { .. } => ErrorKind::Auth,
            Error::Decode { .. } => ErrorKind::Permanent,
            Error::InvalidRequest(_) => ErrorKind::Bug,
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status(details) => Some(details.status),
            _ => None,
        }
    }
}

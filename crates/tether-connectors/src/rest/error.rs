//! The errors of a manifest app's operations, each answering what a caller should do about it.

use tether_core::ErrorKind;

/// A failed operation of a REST app.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest declares no such operation.
    #[error("unknown operation `{0}`")]
    UnknownOperation(String),
    /// The input does not fit the manifest's fields; nothing was sent.
    #[error("invalid input at `{field}`: {message}")]
    Input {
        /// The field, as a JSON path from the input's root (`email`, `cursor.time`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The service refused the input (422), naming the field when it did.
    #[error("the service refused `{field}`: {message}")]
    Rejected {
        /// The field the service named (empty when it named none).
        field: String,
        /// The service's message.
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// The API key is missing, unknown or revoked (401).
    #[error("the service refused the API key")]
    Unauthorized(#[source] Box<tether_http::Error>),
    /// The record does not exist (404).
    #[error("{resource} `{id}` not found")]
    NotFound {
        /// The resource's name.
        resource: String,
        /// The id asked for.
        id: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// Any other failed call (5xx after retries, 429 after retries, timeouts, decode errors).
    #[error("call failed")]
    Http(#[source] Box<tether_http::Error>),
    /// The service answered something the manifest does not describe.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl Error {
    /// What a caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownOperation(_) | Error::Protocol(_) => ErrorKind::Bug,
            Error::Input { .. } | Error::Rejected { .. } | Error::NotFound { .. } => {
                ErrorKind::Permanent
            }
            Error::Unauthorized(_) => ErrorKind::Auth,
            Error::Http(source) => source.kind(),
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Rejected { source, .. }
            | Error::Unauthorized(source)
            | Error::NotFound { source, .. }
            | Error::Http(source) => source.status(),
            _ => None,
        }
    }

    pub(crate) fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Sorts a failed call into 401 / 404 / 422 / the rest. `id` names the record for a 404.
    pub(crate) fn from_http(source: tether_http::Error, resource: &str, id: Option<&str>) -> Self {
        let source = Box::new(source);
        let tether_http::Error::Status(details) = &*source else {
            return Error::Http(source);
        };
        match (details.status, id) {
            (401, _) => Error::Unauthorized(source),
            (404, Some(id)) => Error::NotFound {
                resource: resource.to_owned(),
                id: id.to_owned(),
                source,
            },
            (422, _) => {
                let field = serde_json::from_str::<serde_json::Value>(&details.body)
                    .ok()
                    .and_then(|body| body.get("field")?.as_str().map(str::to_owned))
                    .unwrap_or_default();
                Error::Rejected {
                    field,
                    message: details.message.clone(),
                    source,
                }
            }
            _ => Error::Http(source),
        }
    }
}

//! The errors of a HighLevel call, by what the caller can do about them.
//!
//! HighLevel answers errors as `{statusCode, message, error?}` where `message` is a string (400,
//! 401, 403, 404) or an array of strings (422); the spec declares no 403, 404 or 429 for the
//! Contacts operations, but the service answers them (reference README §9), so they are mapped too.
//!
//! `Display` is a short phrase; the service's message and the call are in the source (a
//! `tether_http::Error`), so a reporter walking `source()` prints each once.

use std::time::Duration;

use tether_core::ErrorKind;

/// A failed HighLevel call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the token is missing, invalid or expired (after the one refresh the stack tries).
    #[error("the token was refused")]
    Unauthorized {
        /// The service's message.
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 403: the token lacks the operation's scope, or cannot reach the location.
    #[error("forbidden")]
    Forbidden {
        /// The service's message (it names the missing scope or the location).
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 404: the record (or the route) does not exist.
    #[error("not found")]
    NotFound {
        /// The service's message.
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 422: the service refused the request's content.
    #[error("the request was refused as invalid")]
    Validation {
        /// Each of the service's messages.
        messages: Vec<String>,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 400: the request is malformed (a missing `Version`, a bad parameter).
    #[error("bad request")]
    BadRequest {
        /// The service's message.
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 429, after the stack's own retries: the connection's rate limit is used up.
    #[error("rate limited")]
    RateLimited {
        /// How long the service (or our limiter) asked to wait, when known.
        retry_after: Option<Duration>,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// 5xx, after the stack's own retries.
    #[error("server error")]
    Server {
        /// The status.
        status: u16,
        /// The failed call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// Another non-success status (405, 409, ...).
    #[error("request refused")]
    Rejected {
        /// The status.
        status: u16,
        /// The service's message.
        message: String,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// The call failed without an answer from the service (timeout, connection, quota,
    /// credentials), or its answer could not be decoded.
    #[error("request failed")]
    Transport(#[source] tether_http::Error),
    /// A successful answer lacks what the API documents (a full page without a cursor, say).
    #[error("unexpected answer: {message}")]
    Protocol {
        /// What was missing.
        message: String,
    },
    /// The input was refused before anything was sent.
    #[error("invalid input at `{path}`: {message}")]
    InvalidInput {
        /// JSON path of the offending field (`.` for the whole input).
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// No operation has this id.
    #[error("unknown operation `{id}`")]
    UnknownOperation {
        /// The id asked for.
        id: String,
    },
    /// An operation's output could not be turned into JSON (a bug in this crate).
    #[error("cannot encode the output")]
    Encode(#[source] serde_json::Error),
}

impl Error {
    /// What a caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unauthorized { .. } => ErrorKind::Auth,
            Error::Forbidden { .. }
            | Error::NotFound { .. }
            | Error::Validation { .. }
            | Error::BadRequest { .. }
            | Error::Rejected { .. }
            | Error::Protocol { .. }
            | Error::InvalidInput { .. }
            // An unknown id comes from a flow definition, not from our code: fixing the flow
            // fixes it, retrying does not.
            | Error::UnknownOperation { .. } => ErrorKind::Permanent,
            Error::RateLimited { retry_after, .. } => ErrorKind::Throttled {
                retry_after: *retry_after,
            },
            Error::Server { .. } => ErrorKind::Transient,
            Error::Transport(source) => source.kind(),
            Error::Encode(_) => ErrorKind::Bug,
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { source, .. }
            | Error::Forbidden { source, .. }
            | Error::NotFound { source, .. }
            | Error::Validation { source, .. }
            | Error::BadRequest { source, .. }
            | Error::RateLimited { source, .. }
            | Error::Server { source, .. }
            | Error::Rejected { source, .. } => source.status(),
            Error::Transport(source) => source.status(),
            _ => None,
        }
    }
}

impl From<tether_http::Error> for Error {
    fn from(error: tether_http::Error) -> Self {
        let tether_http::Error::Status(details) = &error else {
            return Error::Transport(error);
        };
        let status = details.status;
        let message = details.message.clone();
        let messages = service_messages(&details.body);
        let kind = error.kind();
        // Boxed: an answer's error carries its headers and body, and `Result<_, Error>` travels
        // through every call.
        let error = Box::new(error);
        match status {
            400 => Error::BadRequest {
                message,
                source: error,
            },
            401 => Error::Unauthorized {
                message,
                source: error,
            },
            403 => Error::Forbidden {
                message,
                source: error,
            },
            404 => Error::NotFound {
                message,
                source: error,
            },
            422 => Error::Validation {
                messages: messages.unwrap_or_else(|| vec![message]),
                source: error,
            },
            429 => {
                let retry_after = match kind {
                    ErrorKind::Throttled { retry_after } => retry_after,
                    _ => None,
                };
                Error::RateLimited {
                    retry_after,
                    source: error,
                }
            }
            500..=599 => Error::Server {
                status,
                source: error,
            },
            _ => Error::Rejected {
                status,
                message,
                source: error,
            },
        }
    }
}

/// Each message of an error body: `message` as an array of strings, or as one string.
fn service_messages(body: &str) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match value.get("message")? {
        serde_json::Value::String(text) => Some(vec![text.clone()]),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect(),
        ),
        _ => None,
    }
}

impl From<crate::input::InvalidInput> for Error {
    fn from(crate::input::InvalidInput { path, message }: crate::input::InvalidInput) -> Self {
        Error::InvalidInput { path, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_as_array_or_string() {
        let check = |body: &str, expected: Option<Vec<&str>>| {
            let expected = expected.map(|list| list.into_iter().map(str::to_owned).collect());
            assert_eq!(service_messages(body), expected, "{body}");
        };
        check(
            r#"{"statusCode":422,"message":["email must be an email","tags must be an array"]}"#,
            Some(vec!["email must be an email", "tags must be an array"]),
        );
        check(
            r#"{"statusCode":400,"message":"Bad Request"}"#,
            Some(vec!["Bad Request"]),
        );
        check(r#"{"statusCode":422}"#, None);
        check("not json", None);
    }
}

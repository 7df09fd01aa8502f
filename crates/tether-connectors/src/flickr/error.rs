//! The errors of a Flickr call, by what the caller can do about them.
//!
//! Flickr answers API failures as HTTP 200 with `{"stat":"fail","code":N,"message":"…"}`
//! (reference README §3, §10). The global codes mean the same on every method: 96–100 are about
//! the key, the signature or the token ([`ErrorKind::Auth`]: a person has to reconnect or fix the
//! keys), 105 and 106 are passing failures ([`ErrorKind::Transient`], retried by the client), the
//! rest are requests we should not have sent ([`ErrorKind::Permanent`]). Codes below 95 are
//! method-specific ("Photo not found" from `flickr.photos.setMeta` is code 1), so an
//! [`Error::Api`] always carries the method and the service's message.
//!
//! Overload and gateway failures arrive as non-JSON bodies: an HTML 429 is
//! [`Error::RateLimited`] (the stack's limiter has already been told), a 5xx page is
//! [`Error::Server`].

use std::time::Duration;

use tether_core::ErrorKind;

/// A failed Flickr call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `stat=fail`: Flickr refused the call with an error code.
    #[error("{method} failed with error {code}: {message}")]
    Api {
        /// The Flickr method (`flickr.photos.setMeta`, or `upload` / `replace`).
        method: String,
        /// Flickr's error code.
        code: u32,
        /// Flickr's message for it.
        message: String,
    },
    /// HTTP 429, after the stack's own retries: the key's rate limit is used up.
    #[error("rate limited")]
    RateLimited {
        /// How long the service (or our limiter) asked to wait, when known.
        retry_after: Option<Duration>,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// A 5xx answer (usually an HTML error page), after the stack's own retries.
    #[error("server error")]
    Server {
        /// The status.
        status: u16,
        /// The failed call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// Another non-success status.
    #[error("request refused with status {status}")]
    Rejected {
        /// The status.
        status: u16,
        /// The refused call.
        #[source]
        source: Box<tether_http::Error>,
    },
    /// A success status whose body is not Flickr's answer (an HTML page from a proxy, a cut
    /// body): JSON for REST calls, `<rsp>` XML for upload and replace.
    #[error("{method} answered a body that is not Flickr's answer format")]
    NotJson {
        /// The Flickr method.
        method: String,
        /// The body, secrets redacted, at most a few KiB.
        body: String,
    },
    /// The call failed without an answer from the service (timeout, connection, quota,
    /// credentials).
    #[error("request failed")]
    Transport(#[source] tether_http::Error),
    /// A successful answer does not have the documented shape.
    #[error("cannot decode the answer of {method} at `{field}`")]
    Decode {
        /// The Flickr method.
        method: String,
        /// JSON path of the offending field.
        field: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A successful answer lacks what the API documents.
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

/// Flickr's global error codes (reference README §10).
pub mod codes {
    /// SSL is required.
    pub const SSL_REQUIRED: u32 = 95;
    /// Invalid signature.
    pub const INVALID_SIGNATURE: u32 = 96;
    /// Missing signature.
    pub const MISSING_SIGNATURE: u32 = 97;
    /// Login failed / invalid auth token.
    pub const INVALID_TOKEN: u32 = 98;
    /// User not logged in / insufficient permissions.
    pub const INSUFFICIENT_PERMISSIONS: u32 = 99;
    /// Invalid API key.
    pub const INVALID_API_KEY: u32 = 100;
    /// Service currently unavailable.
    pub const SERVICE_UNAVAILABLE: u32 = 105;
    /// Write operation failed.
    pub const WRITE_FAILED: u32 = 106;
    /// Format not found.
    pub const FORMAT_NOT_FOUND: u32 = 111;
    /// Method not found.
    pub const METHOD_NOT_FOUND: u32 = 112;
    /// Bad URL found.
    pub const BAD_URL: u32 = 116;
}

/// The kind of a `stat=fail` code.
pub fn code_kind(code: u32) -> ErrorKind {
    match code {
        codes::SERVICE_UNAVAILABLE | codes::WRITE_FAILED => ErrorKind::Transient,
        // The keys do not match (96 from a wrong consumer or token secret), the token is unknown
        // or revoked (98), its permission is too low (99), the key is unknown or disabled (100):
        // a person reconnects or fixes the keys.
        codes::INVALID_SIGNATURE
        | codes::INVALID_TOKEN
        | codes::INSUFFICIENT_PERMISSIONS
        | codes::INVALID_API_KEY => ErrorKind::Auth,
        // A request our client should never send unsigned; retrying cannot help.
        codes::MISSING_SIGNATURE => ErrorKind::Bug,
        _ => ErrorKind::Permanent,
    }
}

impl Error {
    /// What a caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api { code, .. } => code_kind(*code),
            Error::RateLimited { retry_after, .. } => ErrorKind::Throttled {
                retry_after: *retry_after,
            },
            Error::Server { .. } | Error::NotJson { .. } => ErrorKind::Transient,
            Error::Rejected { status: 401, .. } => ErrorKind::Auth,
            Error::Rejected { .. }
            | Error::Decode { .. }
            | Error::Protocol { .. }
            | Error::InvalidInput { .. }
            // An unknown id comes from a flow definition: fixing the flow fixes it.
            | Error::UnknownOperation { .. } => ErrorKind::Permanent,
            Error::Transport(source) => source.kind(),
            Error::Encode(_) => ErrorKind::Bug,
        }
    }

    /// Flickr's error code, for `stat=fail` answers.
    pub fn code(&self) -> Option<u32> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, when the service answered with a non-success one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::RateLimited { source, .. }
            | Error::Server { source, .. }
            | Error::Rejected { source, .. } => source.status(),
            Error::Transport(source) => source.status(),
            _ => None,
        }
    }

    /// An input error at `path`.
    pub(crate) fn input(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<tether_http::Error> for Error {
    fn from(error: tether_http::Error) -> Self {
        let tether_http::Error::Status(details) = &error else {
            return Error::Transport(error);
        };
        let status = details.status;
        // A refusal that still carries the envelope is an API error like any other.
        if let Some((code, message)) = fail_envelope(details.body.as_bytes()) {
            return Error::Api {
                method: method_of(&details.path),
                code,
                message,
            };
        }
        let kind = error.kind();
        let source = Box::new(error);
        match status {
            429 => Error::RateLimited {
                retry_after: match kind {
                    ErrorKind::Throttled { retry_after } => retry_after,
                    _ => None,
                },
                source,
            },
            500..=599 => Error::Server { status, source },
            _ => Error::Rejected { status, source },
        }
    }
}

/// `(code, message)` of a `stat=fail` JSON body.
pub(crate) fn fail_envelope(body: &[u8]) -> Option<(u32, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("stat")?.as_str()? != "fail" {
        return None;
    }
    let code = match value.get("code")? {
        serde_json::Value::Number(number) => u32::try_from(number.as_u64()?).ok()?,
        serde_json::Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    let message = value
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some((code, message))
}

/// A name for the call in errors that only know the path: `upload`, `replace`, or the REST path.
fn method_of(path: &str) -> String {
    if path.contains("/services/upload") {
        "upload".into()
    } else if path.contains("/services/replace") {
        "replace".into()
    } else {
        path.to_owned()
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
    fn codes_map_to_kinds() {
        let check = |code: u32, kind: ErrorKind| assert_eq!(code_kind(code), kind, "{code}");
        check(96, ErrorKind::Auth);
        check(98, ErrorKind::Auth);
        check(99, ErrorKind::Auth);
        check(100, ErrorKind::Auth);
        check(97, ErrorKind::Bug);
        check(105, ErrorKind::Transient);
        check(106, ErrorKind::Transient);
        check(112, ErrorKind::Permanent);
        check(1, ErrorKind::Permanent);
    }

    #[test]
    fn fail_envelopes_are_read_leniently() {
        let check = |body: &str, expected: Option<(u32, &str)>| {
            assert_eq!(
                fail_envelope(body.as_bytes()),
                expected.map(|(code, message)| (code, message.to_owned())),
                "{body}"
            );
        };
        check(
            r#"{"stat":"fail","code":1,"message":"Photo not found"}"#,
            Some((1, "Photo not found")),
        );
        check(
            r#"{"stat":"fail","code":"105","message":"x"}"#,
            Some((105, "x")),
        );
        check(r#"{"stat":"ok"}"#, None);
        check("<html>429 Too Many Requests</html>", None);
    }
}

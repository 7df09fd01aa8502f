//! The one classification every error answers, which drives retries, the DLQ and the UI.

use std::time::Duration;

/// What a caller should do about a failure.
///
/// Every library error in Tether answers `fn kind(&self) -> ErrorKind`; the HTTP retry, the durable
/// step retry, the dead-letter queue and the UI badge all read this one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Likely to succeed if tried again (connection reset, 5xx, timeout).
    Transient,
    /// The peer asked us to slow down; `retry_after` is its hint when it gave one.
    Throttled {
        /// How long the peer asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Credentials are missing, expired or revoked; a person may have to reconnect.
    Auth,
    /// Retrying cannot help (validation, not found, forbidden).
    Permanent,
    /// Our own invariant broke; retrying will not help and a developer should look.
    Bug,
}

impl ErrorKind {
    /// Whether an automatic retry may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::Throttled { .. })
    }

    /// A short lowercase label for logs, metrics and UI badges.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Throttled { .. } => "throttled",
            ErrorKind::Auth => "auth",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Bug => "bug",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_and_throttled_are_retryable() {
        let check =
            |kind: ErrorKind, expected: bool| assert_eq!(kind.is_retryable(), expected, "{kind:?}");
        check(ErrorKind::Transient, true);
        check(ErrorKind::Throttled { retry_after: None }, true);
        check(ErrorKind::Auth, false);
        check(ErrorKind::Permanent, false);
        check(ErrorKind::Bug, false);
    }
}

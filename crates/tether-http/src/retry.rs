//! When to retry and how long to wait: two separate questions, answered by two separate items.
//!
//! [`should_retry`] decides *whether* (by the error's kind and whether the request may have been
//! applied); [`RetryConfig::backoff`] decides *how long*: exponential with full jitter, capped, and
//! a `Retry-After` from the service always wins over our own guess.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use tether_core::ErrorKind;

/// Retry settings of a client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff's upper bound.
    pub base: Duration,
    /// No backoff is longer than this.
    pub cap: Duration,
    /// Share of requests that may be retries, over a 10 s window (tower's `TpsBudget`).
    pub budget_ratio: f32,
    /// Retries per second always allowed, whatever the ratio says.
    pub budget_min_per_sec: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
            budget_ratio: 0.5,
            budget_min_per_sec: 10,
        }
    }
}

impl RetryConfig {
    /// The wait before retry number `retry_idx` (0 for the first retry): uniformly random in
    /// `0..=min(cap, base * 2^retry_idx)` ("full jitter"), so many clients that failed together do
    /// not come back together.
    pub fn backoff(&self, retry_idx: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry_idx.min(30)))
            .min(self.cap);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.u64(0..=ceiling_ms))
    }
}

/// Whether a failed attempt may be tried again.
///
/// A request the service refused without acting on it (429, a connection that never opened) is
/// always safe to repeat. One that may have been applied (timeout, reset, 5xx) is repeated only
/// when repeating cannot duplicate its effect: the method is idempotent, or the caller marked the
/// request as an upsert or as carrying an idempotency key.
pub fn should_retry(kind: ErrorKind, maybe_applied: bool, idempotent: bool) -> bool {
    kind.is_retryable()
        && (!maybe_applied || idempotent || matches!(kind, ErrorKind::Throttled { .. }))
}

/// The kind of an answer's status.
pub fn classify_status(status: u16, headers: &HeaderMap) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled {
            retry_after: retry_after(headers, Utc::now()),
        },
        401 => ErrorKind::Auth,
        408 | 500 | 502 | 503 | 504 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let config = RetryConfig::default();
        let mut rng = fastrand::Rng::with_seed(3);
        for retry_idx in 0..40 {
            for _ in 0..200 {
                let wait = config.backoff(retry_idx, &mut rng);
                let ceiling = config
                    .base
                    .saturating_mul(1 << retry_idx.min(30))
                    .min(config.cap);
                assert!(wait <= ceiling, "{retry_idx}: {wait:?} > {ceiling:?}");
            }
        }
        let mut mean = |retry_idx| {
            (0..2_000)
                .map(|_| config.backoff(retry_idx, &mut rng).as_millis())
                .sum::<u128>()
                / 2_000
        };
        assert!(
            mean(4) > mean(1) * 4,
            "full jitter still grows exponentially"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let check = |value: &str, expected: Option<Duration>| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
            assert_eq!(retry_after(&headers, now), expected, "{value}");
        };
        check("7", Some(Duration::from_secs(7)));
        check(
            "Sun, 22 Nov 2026 10:00:30 GMT",
            Some(Duration::from_secs(30)),
        );
        check("Sun, 22 Nov 2026 09:00:00 GMT", Some(Duration::ZERO));
        check("soon", None);
    }

    #[test]
    fn writes_that_may_have_been_applied_are_retried_only_when_safe() {
        let check = |kind, maybe_applied, idempotent, expected| {
            assert_eq!(
                should_retry(kind, maybe_applied, idempotent),
                expected,
                "{kind:?} {maybe_applied} {idempotent}"
            );
        };
        let throttled = ErrorKind::Throttled { retry_after: None };
        check(throttled, true, false, true);
        check(ErrorKind::Transient, false, false, true);
        check(ErrorKind::Transient, true, false, false);
        check(ErrorKind::Transient, true, true, true);
        check(ErrorKind::Permanent, false, true, false);
        check(ErrorKind::Auth, false, true, false);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let headers = HeaderMap::new();
        assert_eq!(classify_status(503, &headers), ErrorKind::Transient);
        assert_eq!(classify_status(401, &headers), ErrorKind::Auth);
        assert_eq!(classify_status(422, &headers), ErrorKind::Permanent);
        assert_eq!(
            classify_status(429, &headers),
            ErrorKind::Throttled { retry_after: None }
        );
    }
}

//! GHL's rate limits: a burst per interval and a daily quota, per app per resource, reported in
//! five `X-RateLimit-*` headers on every answer.
//!
//! The reference (README §8) does not say whether the burst window is fixed or sliding, nor where
//! the day starts. The simulator uses a fixed window that opens with the first request after the
//! previous one closed, and UTC calendar days; a client that reads the headers is right under both.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;

/// The limits, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Off: no counting and no headers (throughput tests).
    pub enabled: bool,
    /// Requests allowed per burst window (GHL: 100).
    pub burst_max: u32,
    /// Length of the burst window (GHL: 10 s).
    pub burst_window: Duration,
    /// Requests allowed per day (GHL: 200,000).
    pub daily_max: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            burst_max: 100,
            burst_window: Duration::from_secs(10),
            daily_max: 200_000,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    window_start: Instant,
    used_in_window: u32,
    day: NaiveDate,
    used_today: u32,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Requests left today after this one.
    pub daily_remaining: u32,
    /// Time until the current window closes.
    pub window_reset: Duration,
}

/// Counters per (app, resource).
#[derive(Debug)]
pub struct RateLimiter {
    config: Mutex<RateLimitConfig>,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config: Mutex::new(config),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> RateLimitConfig {
        self.config.lock().clone()
    }

    /// Changes the limits (admin API) and forgets every counter.
    pub fn reconfigure(&self, config: RateLimitConfig) {
        *self.config.lock() = config;
        self.buckets.lock().clear();
    }

    /// Counts one request of `app_id` on `resource_id`; `None` when limits are off.
    ///
    /// A refused request is not counted against the window, as the service keeps refusing until the
    /// window closes either way.
    pub fn check(
        &self,
        app_id: &str,
        resource_id: &str,
        now: Instant,
        today: DateTime<Utc>,
    ) -> Option<Decision> {
        let config = self.config.lock().clone();
        if !config.enabled {
            return None;
        }
        let today = today.date_naive();
        let mut buckets = self.buckets.lock();
        let bucket = buckets
            .entry((app_id.to_owned(), resource_id.to_owned()))
            .or_insert(Bucket {
                window_start: now,
                used_in_window: 0,
                day: today,
                used_today: 0,
            });
        if now.duration_since(bucket.window_start) >= config.burst_window {
            bucket.window_start = now;
            bucket.used_in_window = 0;
        }
        if bucket.day != today {
            bucket.day = today;
            bucket.used_today = 0;
        }
        let allowed =
            bucket.used_in_window < config.burst_max && bucket.used_today < config.daily_max;
        if allowed {
            bucket.used_in_window += 1;
            bucket.used_today += 1;
        }
        Some(Decision {
            allowed,
            remaining: config.burst_max - bucket.used_in_window,
            daily_remaining: config.daily_max - bucket.used_today,
            window_reset: config
                .burst_window
                .saturating_sub(now.duration_since(bucket.window_start)),
        })
    }

    /// Writes the five documented headers for `decision`.
    pub fn write_headers(&self, decision: &Decision, headers: &mut HeaderMap) {
        let config = self.config.lock().clone();
        let mut put = |name: &'static str, value: u128| {
            headers.insert(name, HeaderValue::from(value as u64));
        };
        put("x-ratelimit-limit-daily", u128::from(config.daily_max));
        put(
            "x-ratelimit-daily-remaining",
            u128::from(decision.daily_remaining),
        );
        put(
            "x-ratelimit-interval-milliseconds",
            config.burst_window.as_millis(),
        );
        put("x-ratelimit-max", u128::from(config.burst_max));
        put("x-ratelimit-remaining", u128::from(decision.remaining));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst_max: u32, daily_max: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            enabled: true,
            burst_max,
            burst_window: Duration::from_secs(10),
            daily_max,
        })
    }

    #[test]
    fn the_burst_limit_refuses_exactly_the_request_past_it() {
        let limiter = limiter(100, 200_000);
        let start = Instant::now();
        let today = Utc::now();
        for n in 1..=100 {
            let decision = limiter.check("app", "loc", start, today).unwrap();
            assert!(decision.allowed, "request {n}");
            assert_eq!(decision.remaining, 100 - n);
        }
        assert!(!limiter.check("app", "loc", start, today).unwrap().allowed);
        // Other resources and other apps have their own budget.
        assert!(
            limiter
                .check("app", "other-loc", start, today)
                .unwrap()
                .allowed
        );
        assert!(
            limiter
                .check("other-app", "loc", start, today)
                .unwrap()
                .allowed
        );
        // The window closes after 10 s.
        let later = start + Duration::from_secs(10);
        let decision = limiter.check("app", "loc", later, today).unwrap();
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 99);
    }

    #[test]
    fn the_daily_quota_resets_on_the_next_utc_day() {
        let limiter = limiter(1_000, 3);
        let start = Instant::now();
        let today = Utc::now();
        for _ in 0..3 {
            assert!(limiter.check("app", "loc", start, today).unwrap().allowed);
        }
        let refused = limiter.check("app", "loc", start, today).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.daily_remaining, 0);
        let tomorrow = today + chrono::Duration::days(1);
        assert!(
            limiter
                .check("app", "loc", start, tomorrow)
                .unwrap()
                .allowed
        );
    }
}

//! Faults injected on demand through the admin API: errors, latency, resets, 429 storms and empty
//! answers.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The faults in force. Rates are probabilities in `0.0..=1.0`, drawn per request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    /// Share of API requests answered 500 or 503 (evenly).
    pub error_rate: f64,
    /// Fixed latency added to every API request, in ms.
    pub latency_ms: u64,
    /// Extra random latency, uniformly in `0..jitter_ms`.
    pub jitter_ms: u64,
    /// Share of API requests whose connection is cut before an answer.
    pub reset_rate: f64,
    /// Every API request is answered 429 for this many ms from now (a "429 storm").
    pub storm_429_ms: u64,
    /// Share of API requests answered 429 regardless of the limiter.
    pub rate_429: f64,
    /// Share of API requests answered 200 with an empty body, without running the operation: what
    /// a client may get where the spec declares no answer body (search, duplicate lookup).
    pub empty_rate: f64,
}

/// What the gate should do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: serve it.
    None,
    /// Answer 500.
    ServerError,
    /// Answer 503.
    Unavailable,
    /// Cut the connection.
    Reset,
    /// Answer 429.
    TooManyRequests,
    /// Answer 200 with no body.
    Empty,
}

/// The faults in force, with the storm's deadline resolved.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// As configured.
    pub config: FaultsConfig,
    /// When the current 429 storm ends.
    pub storm_until: Option<Instant>,
}

impl Faults {
    /// Replaces the configuration; a storm starts now.
    pub fn set(&mut self, config: FaultsConfig, now: Instant) {
        self.storm_until =
            (config.storm_429_ms > 0).then(|| now + Duration::from_millis(config.storm_429_ms));
        self.config = config;
    }

    /// Draws this request's fault and latency.
    pub fn draw(&self, rng: &mut fastrand::Rng, now: Instant) -> (Fault, Duration) {
        let config = &self.config;
        let latency = Duration::from_millis(
            config.latency_ms
                + if config.jitter_ms > 0 {
                    rng.u64(..config.jitter_ms)
                } else {
                    0
                },
        );
        let fault = if self.storm_until.is_some_and(|until| now < until) {
            Fault::TooManyRequests
        } else if config.reset_rate > 0.0 && rng.f64() < config.reset_rate {
            Fault::Reset
        } else if config.error_rate > 0.0 && rng.f64() < config.error_rate {
            if rng.bool() {
                Fault::ServerError
            } else {
                Fault::Unavailable
            }
        } else if config.rate_429 > 0.0 && rng.f64() < config.rate_429 {
            Fault::TooManyRequests
        } else if config.empty_rate > 0.0 && rng.f64() < config.empty_rate {
            Fault::Empty
        } else {
            Fault::None
        };
        (fault, latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_rate_is_honoured_roughly() {
        let mut faults = Faults::default();
        let now = Instant::now();
        faults.set(
            FaultsConfig {
                error_rate: 0.2,
                ..FaultsConfig::default()
            },
            now,
        );
        let mut rng = fastrand::Rng::with_seed(7);
        let n_errors = (0..10_000)
            .filter(|_| faults.draw(&mut rng, now).0 != Fault::None)
            .count();
        assert!((1_700..2_300).contains(&n_errors), "{n_errors}");
    }

    #[test]
    fn a_storm_ends() {
        let mut faults = Faults::default();
        let now = Instant::now();
        faults.set(
            FaultsConfig {
                storm_429_ms: 1_000,
                ..FaultsConfig::default()
            },
            now,
        );
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(faults.draw(&mut rng, now).0, Fault::TooManyRequests);
        assert_eq!(
            faults.draw(&mut rng, now + Duration::from_secs(2)).0,
            Fault::None
        );
    }
}

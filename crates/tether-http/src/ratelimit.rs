//! A per-connection limiter that never sends a request it knows the service will refuse.
//!
//! HighLevel allows a burst of N requests per interval (100 per 10 s) and a daily quota
//! (200,000), per app per location, and reports both in `X-RateLimit-*` headers. Its window is not
//! documented as fixed or sliding, so this limiter keeps the strictest model: a log of the last N
//! send times, and a request may go only when fewer than N were sent in the past interval. That
//! can never exceed a fixed *or* a sliding window, and in steady state it still sends exactly N
//! per interval, which is the most the service allows.
//!
//! `governor` (GCRA) was the first choice, but GCRA refills continuously: with a burst of 100 and
//! 10/s it admits up to 200 requests in some 10 s windows, which a fixed-window service refuses.
//!
//! The headers correct the model: when the service reports fewer requests left than the log
//! implies (another worker or another app instance shares the budget), the gap is recorded as
//! sends made now; when it reports none left, nothing is sent until the window has passed; a 429
//! blocks for `Retry-After`, or one interval when the service gives none. The daily quota is
//! counted per UTC day and seeded from `X-RateLimit-Daily-Remaining`; when it is used up,
//! [`WindowLimiter::acquire`] answers at once with the time of the reset instead of sleeping for
//! hours, so the caller can park the work.
//!
//! Several processes calling with one connection (`tether serve` processes on one database) each
//! hold a [`WindowLimiter::shared`] limiter and split the burst between them: with `n` processes
//! counted, each sends at most `burst / n` in any window, so the sum stays under the service's
//! limit without a request to the store per call. Who counts the processes and hands each its
//! [`BudgetPart`] is the caller's business (the connectors' registry keeps a row per process in
//! the store); the limiter only obeys: without a valid part it sends nothing, and a newcomer
//! waits until the others have made room.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use http::HeaderMap;
use parking_lot::Mutex;
use tokio::time::Instant;

/// Limits of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests per burst window (GHL: 100).
    pub burst_max: u32,
    /// Length of the burst window (GHL: 10 s).
    pub burst_window: Duration,
    /// Requests per UTC day (GHL: 200,000).
    pub daily_max: u32,
    /// Slack added after a window closes, so our clock and the service's need not agree exactly
    /// and a request delayed on its way still lands in the next window: 1 % of the window, at
    /// least [`MIN_MARGIN`], and never more than this.
    pub safety_margin: Duration,
}

impl LimitConfig {
    /// HighLevel's published limits (reference README §8).
    pub fn ghl() -> Self {
        LimitConfig {
            burst_max: 100,
            burst_window: Duration::from_secs(10),
            daily_max: 200_000,
            safety_margin: Duration::from_millis(100),
        }
    }
}

impl LimitConfig {
    /// Flickr's published limit, 3,600 calls per hour per API key (reference README §8), kept as
    /// at most 60 in any minute: never more than 3,600 in any hour, and Flickr also answers bursts
    /// with 429s. A 429 (no `Retry-After`, no rate-limit headers) then blocks one minute, not an
    /// hour.
    pub fn flickr() -> Self {
        LimitConfig {
            burst_max: 60,
            burst_window: Duration::from_secs(60),
            daily_max: 86_400,
            safety_margin: Duration::from_millis(500),
        }
    }
}

/// The daily quota is used up until `resume_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyQuotaExhausted {
    /// When the next UTC day starts.
    pub resume_at: DateTime<Utc>,
}

#[derive(Debug)]
struct State {
    config: LimitConfig,
    sends: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    day: NaiveDate,
    used_today: u32,
    /// Whether the limits are known from the service's own headers (or trusted after
    /// [`PROBE_ANSWERS`] answers without any).
    learned: bool,
    /// Answers seen without rate-limit headers while probing.
    answers_without_headers: u32,
    /// When the probe in flight was sent; another probe may go once it is answered or stale.
    probe_sent_at: Option<Instant>,
    /// This process's part of a budget shared with other processes; `None` when the budget is
    /// this process's alone.
    part: Option<PartState>,
}

/// This process's part of a budget shared by several processes, as the caller counted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetPart {
    /// How many processes share the budget, this one included (at least 1).
    pub of: u32,
    /// This process's place among them (0 for the first), in an order they all agree on: the
    /// first `burst % of` take one request of the remainder each, so no request is left unused.
    pub rank: u32,
    /// Send nothing before this: a process that has just joined others waits until they have
    /// seen it and what they sent for more than their new part has aged out.
    pub hold_until: Option<Instant>,
    /// The count holds until then; later, sends wait for a new count. The caller sets it before
    /// the others would stop counting this process, so a process that cannot renew its count
    /// (its store is away) stops sending before the others take its part.
    pub valid_until: Instant,
}

#[derive(Debug, Default)]
struct PartState {
    /// The last part given, if any.
    part: Option<BudgetPart>,
    /// When a caller last waited for a part.
    wanted_at: Option<Instant>,
}

/// Answers without rate-limit headers after which the seeded limits are trusted as they are.
pub const PROBE_ANSWERS: u32 = 3;

/// How long a probe may stay unanswered before another is sent (a lost answer never reports).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The shared limiter of one connection; clone the `Arc` into every client of that connection.
#[derive(Debug)]
pub struct WindowLimiter {
    state: Mutex<State>,
    /// Told when a caller waits for a [`BudgetPart`] (shared limiters only).
    wake: Option<Arc<tokio::sync::Notify>>,
}

/// How often a caller waiting for its [`BudgetPart`] looks again.
const PART_POLL: Duration = Duration::from_millis(10);

impl WindowLimiter {
    /// A limiter with `config`, nothing sent yet.
    pub fn new(config: LimitConfig) -> Self {
        WindowLimiter {
            state: Mutex::new(State {
                config,
                sends: VecDeque::new(),
                blocked_until: None,
                day: Utc::now().date_naive(),
                used_today: 0,
                learned: false,
                answers_without_headers: 0,
                probe_sent_at: None,
                part: None,
            }),
            wake: None,
        }
    }

    /// A limiter whose budget is shared with other processes: it sends nothing until it is given
    /// its part ([`WindowLimiter::set_part`]), and then at most its part of the burst. `wake` is
    /// told whenever a caller waits for a part, so whoever counts the processes can count now.
    pub fn shared(config: LimitConfig, wake: Arc<tokio::sync::Notify>) -> Self {
        let mut limiter = Self::new(config);
        limiter.state.get_mut().part = Some(PartState::default());
        limiter.wake = Some(wake);
        limiter
    }

    /// Gives this process its part of a shared budget (no effect on a limiter of its own). A hold
    /// already given lasts: the next count no longer finds this process new, but the others may
    /// not have made room yet.
    pub fn set_part(&self, mut part: BudgetPart) {
        if let Some(state) = self.state.lock().part.as_mut() {
            let held = state.part.and_then(|given| given.hold_until);
            part.hold_until = part.hold_until.max(held);
            state.part = Some(part);
        }
    }

    /// The part last given, if this limiter shares its budget and was given one.
    pub fn part(&self) -> Option<BudgetPart> {
        self.state.lock().part.as_ref().and_then(|state| state.part)
    }

    /// Whether this process is spending the shared budget: it sent within the last window, or a
    /// caller waited for a part lately. Whoever counts the processes counts this one while so.
    pub fn is_spending(&self) -> bool {
        let mut state = self.state.lock();
        let now = Instant::now();
        state.forget_before(now);
        let window = state.window_with_margin();
        let Some(part) = &state.part else {
            return false;
        };
        !state.sends.is_empty()
            || part
                .wanted_at
                .is_some_and(|at| now.duration_since(at) < window)
    }

    /// The burst window and its margin: a send counts against the budget for this long.
    pub fn window_with_margin(&self) -> Duration {
        self.state.lock().window_with_margin()
    }

    /// A limiter that trusts `config` from the start, without probing (for limits known to be
    /// the service's own, such as ones read from a previous answer).
    pub fn trusting(config: LimitConfig) -> Self {
        let limiter = Self::new(config);
        limiter.state.lock().learned = true;
        limiter
    }

    /// The limits currently believed.
    pub fn config(&self) -> LimitConfig {
        self.state.lock().config
    }

    /// Waits until a request may be sent and records it; every attempt, retries included, pays.
    ///
    /// Until the service's own `X-RateLimit-*` headers have been seen, requests go one at a time
    /// ("probe first"): a seeded limit that is higher than the real one (a token with other
    /// limits, a changed quota) would otherwise overshoot with its whole first burst before any
    /// answer could correct it. After [`PROBE_ANSWERS`] answers without such headers the seed is
    /// trusted; a probe unanswered for [`PROBE_TIMEOUT`] lets the next one go.
    pub async fn acquire(&self) -> Result<(), DailyQuotaExhausted> {
        loop {
            let wait_until = 'wait: {
                let mut state = self.state.lock();
                let now = Instant::now();
                state.roll_day(Utc::now());
                if state.used_today >= state.config.daily_max {
                    return Err(DailyQuotaExhausted {
                        resume_at: next_utc_midnight(Utc::now()),
                    });
                }
                state.forget_before(now);
                if let Some(part) = state.part.as_mut() {
                    match part.part {
                        Some(given) if given.valid_until > now => {
                            if let Some(hold) = given.hold_until.filter(|hold| *hold > now) {
                                break 'wait hold;
                            }
                        }
                        // No part, or an outdated one: ask for a count and look again shortly.
                        _ => {
                            part.wanted_at = Some(now);
                            if let Some(wake) = &self.wake {
                                wake.notify_one();
                            }
                            break 'wait now + PART_POLL;
                        }
                    }
                }
                let probe_busy = !state.learned
                    && state
                        .probe_sent_at
                        .is_some_and(|sent| now.duration_since(sent) < PROBE_TIMEOUT);
                match state.next_slot(now) {
                    None if !probe_busy => {
                        state.sends.push_back(now);
                        state.used_today += 1;
                        if !state.learned {
                            state.probe_sent_at = Some(now);
                        }
                        return Ok(());
                    }
                    // Waiting for the probe's answer: look again shortly.
                    None => now + Duration::from_millis(5),
                    Some(at) => at,
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// When a request could be sent without waiting, if not now (for metrics and tests).
    pub fn next_slot(&self) -> Option<Instant> {
        let mut state = self.state.lock();
        let now = Instant::now();
        state.forget_before(now);
        state.next_slot(now)
    }

    /// Learns from an answer's `X-RateLimit-*` headers.
    pub fn observe(&self, headers: &HeaderMap) {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let mut state = self.state.lock();
        let now = Instant::now();
        // Any answer frees the probe slot; headers that report limits end the probing.
        state.probe_sent_at = None;
        if [
            "x-ratelimit-max",
            "x-ratelimit-remaining",
            "x-ratelimit-limit-daily",
        ]
        .iter()
        .any(|name| headers.contains_key(*name))
        {
            state.learned = true;
        }
        if let Some(max) = number("x-ratelimit-max") {
            state.config.burst_max = u32::try_from(max).unwrap_or(u32::MAX).max(1);
        }
        if let Some(interval_ms) = number("x-ratelimit-interval-milliseconds") {
            state.config.burst_window = Duration::from_millis(interval_ms.max(1));
        }
        if let Some(daily_max) = number("x-ratelimit-limit-daily") {
            state.config.daily_max = u32::try_from(daily_max).unwrap_or(u32::MAX);
        }
        if let Some(daily_remaining) = number("x-ratelimit-daily-remaining") {
            let used = u64::from(state.config.daily_max).saturating_sub(daily_remaining);
            state.used_today = state
                .used_today
                .max(u32::try_from(used).unwrap_or(u32::MAX));
        }
        if let Some(remaining) = number("x-ratelimit-remaining") {
            state.forget_before(now);
            let believed_used = state.sends.len() as u64;
            let reported_used = u64::from(state.config.burst_max).saturating_sub(remaining);
            // Processes sharing the budget may spend what is not this one's part.
            let others_may_use =
                u64::from(state.config.burst_max).saturating_sub(state.limits().0 as u64);
            // Someone else spent more of this window's budget: count the excess as spent now.
            for _ in (believed_used + others_may_use)..reported_used {
                state.sends.push_back(now);
            }
            if remaining == 0 {
                // Nothing left: wait until our oldest send in the window ages out. When the log is
                // empty (we never saw this window open), wait one full window.
                let window = state.window_with_margin();
                let until = state
                    .sends
                    .front()
                    .map_or(now + window, |oldest| *oldest + window);
                state.block_until(until);
            }
        }
    }

    /// Learns from an answer with its status: the headers as [`WindowLimiter::observe`] does, and
    /// while probing, a *successful* answer without rate-limit headers counts towards trusting the
    /// seed (a refusal or a server error teaches nothing about the limits).
    pub fn answered(&self, status: u16, headers: &HeaderMap) {
        self.observe(headers);
        let mut state = self.state.lock();
        if !state.learned && (200..300).contains(&status) {
            state.answers_without_headers += 1;
            state.learned = state.answers_without_headers >= PROBE_ANSWERS;
        }
    }

    /// Learns from a 429: nothing is sent until `retry_after` (or one window) has passed.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.state.lock();
        let wait = retry_after.unwrap_or(state.config.burst_window + state.config.margin());
        state.block_until(Instant::now() + wait);
    }
}

/// The smallest margin used: transit and scheduling jitter on a loaded host reach a few ms.
pub const MIN_MARGIN: Duration = Duration::from_millis(20);

impl LimitConfig {
    /// The margin actually added: 1 % of the window, at least [`MIN_MARGIN`], at most `safety_margin`.
    fn margin(&self) -> Duration {
        (self.burst_window / 100)
            .max(MIN_MARGIN)
            .min(self.safety_margin)
    }
}

impl State {
    /// The burst this process may send per window, and that window: the whole budget, or this
    /// process's part of it. With more processes than the burst allows, each sends one request
    /// per several windows.
    fn limits(&self) -> (usize, Duration) {
        let (of, rank) = self
            .part
            .as_ref()
            .and_then(|state| state.part)
            .map_or((1, 0), |part| (part.of.max(1), part.rank));
        let max = self.config.burst_max.max(1);
        if max >= of {
            let remainder = u32::from(rank < max % of);
            ((max / of + remainder) as usize, self.config.burst_window)
        } else {
            (1, self.config.burst_window * of.div_ceil(max))
        }
    }

    /// How long a send counts: the (part's) window and the margin.
    fn window_with_margin(&self) -> Duration {
        self.limits().1 + self.config.margin()
    }

    fn forget_before(&mut self, now: Instant) {
        let horizon = self.window_with_margin();
        while self
            .sends
            .front()
            .is_some_and(|sent| now.duration_since(*sent) >= horizon)
        {
            self.sends.pop_front();
        }
        if self.blocked_until.is_some_and(|until| until <= now) {
            self.blocked_until = None;
        }
    }

    fn next_slot(&self, now: Instant) -> Option<Instant> {
        if let Some(until) = self.blocked_until.filter(|until| *until > now) {
            return Some(until);
        }
        let (max, _) = self.limits();
        if self.sends.len() < max {
            return None;
        }
        // The send that must age out before one more fits.
        let idx = self.sends.len() - max;
        Some(self.sends[idx] + self.window_with_margin())
    }

    fn block_until(&mut self, until: Instant) {
        self.blocked_until = Some(
            self.blocked_until
                .map_or(until, |current| current.max(until)),
        );
    }

    fn roll_day(&mut self, now: DateTime<Utc>) {
        let today = now.date_naive();
        if today != self.day {
            self.day = today;
            self.used_today = 0;
        }
    }
}

fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now
        .date_naive()
        .succ_opt()
        .expect("the calendar does not end tomorrow");
    tomorrow
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst_max: u32) -> WindowLimiter {
        WindowLimiter::trusting(LimitConfig {
            burst_max,
            burst_window: Duration::from_secs(10),
            daily_max: 1_000,
            safety_margin: Duration::ZERO,
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[tokio::test(start_paused = true)]
    async fn until_the_service_reports_its_limits_requests_go_one_at_a_time() {
        // Seeded with 100 per 10 s; the service really allows 5.
        let limiter = WindowLimiter::new(LimitConfig {
            burst_max: 100,
            burst_window: Duration::from_secs(10),
            daily_max: 1_000,
            safety_margin: Duration::ZERO,
        });
        limiter.acquire().await.unwrap();
        let second = tokio::time::timeout(Duration::from_millis(500), limiter.acquire()).await;
        assert!(
            second.is_err(),
            "a second request waits for the first answer"
        );
        limiter.observe(&headers(&[
            ("x-ratelimit-max", "5"),
            ("x-ratelimit-remaining", "4"),
            ("x-ratelimit-interval-milliseconds", "10000"),
        ]));
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await.unwrap();
        }
        assert_eq!(Instant::now(), start, "the reported budget goes at once");
        assert!(limiter.next_slot().is_some(), "and not one request more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_without_headers_is_trusted_after_a_few_answers_and_a_lost_probe_expires() {
        let limiter = WindowLimiter::new(LimitConfig {
            burst_max: 100,
            burst_window: Duration::from_secs(10),
            daily_max: 1_000,
            safety_margin: Duration::ZERO,
        });
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        // No answer ever comes: the next probe goes after PROBE_TIMEOUT.
        limiter.acquire().await.unwrap();
        assert!(Instant::now().duration_since(start) >= PROBE_TIMEOUT);
        // Refusals without headers teach nothing; successes without headers build trust.
        limiter.answered(503, &HeaderMap::new());
        limiter.acquire().await.unwrap();
        for _ in 0..PROBE_ANSWERS {
            limiter.answered(200, &HeaderMap::new());
            limiter.acquire().await.unwrap();
        }
        let burst_start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await.unwrap();
        }
        assert_eq!(
            Instant::now(),
            burst_start,
            "after a few answers without headers, the seed is trusted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_burst_in_any_window() {
        let limiter = limiter(100);
        let start = Instant::now();
        let mut sent_at = Vec::new();
        for _ in 0..350 {
            limiter.acquire().await.unwrap();
            sent_at.push(Instant::now().duration_since(start));
        }
        // Any 101 consecutive sends span at least one window.
        for pair in sent_at.windows(101) {
            assert!(
                pair[100] - pair[0] >= Duration::from_secs(10),
                "{:?}",
                (pair[0], pair[100])
            );
        }
        // And the limiter wastes nothing: 350 sends need exactly 3 full windows of waiting.
        assert_eq!(*sent_at.last().unwrap(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_smaller_remaining_than_believed_is_counted_as_spent() {
        let limiter = limiter(100);
        limiter.acquire().await.unwrap();
        // The service says 10 left: 89 were spent by someone else.
        limiter.observe(&headers(&[
            ("x-ratelimit-max", "100"),
            ("x-ratelimit-remaining", "10"),
        ]));
        for _ in 0..10 {
            limiter.acquire().await.unwrap();
        }
        assert!(limiter.next_slot().is_some(), "the 11th must wait");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_remaining_blocks_until_the_window_passes() {
        let limiter = limiter(100);
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        limiter.observe(&headers(&[("x-ratelimit-remaining", "0")]));
        limiter.acquire().await.unwrap();
        assert_eq!(
            Instant::now().duration_since(start),
            Duration::from_secs(10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_for_retry_after_or_one_window() {
        let limiter = limiter(100);
        let start = Instant::now();
        limiter.throttled(Some(Duration::from_secs(3)));
        limiter.acquire().await.unwrap();
        assert_eq!(Instant::now().duration_since(start), Duration::from_secs(3));
        limiter.throttled(None);
        limiter.acquire().await.unwrap();
        assert_eq!(
            Instant::now().duration_since(start),
            Duration::from_secs(13)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn headers_teach_the_limits_and_the_daily_quota_answers_at_once() {
        let limiter = limiter(100);
        limiter.observe(&headers(&[
            ("x-ratelimit-max", "5"),
            ("x-ratelimit-interval-milliseconds", "2000"),
            ("x-ratelimit-limit-daily", "7"),
            ("x-ratelimit-daily-remaining", "3"),
        ]));
        let config = limiter.config();
        assert_eq!(
            (config.burst_max, config.burst_window, config.daily_max),
            (5, Duration::from_secs(2), 7)
        );
        for _ in 0..3 {
            limiter.acquire().await.unwrap();
        }
        let exhausted = limiter.acquire().await.unwrap_err();
        assert!(exhausted.resume_at > Utc::now());
        assert_eq!(exhausted.resume_at.time(), chrono::NaiveTime::MIN);
    }

    fn part(of: u32, hold: Option<Duration>, valid: Duration) -> BudgetPart {
        BudgetPart {
            of,
            rank: of - 1,
            hold_until: hold.map(|hold| Instant::now() + hold),
            valid_until: Instant::now() + valid,
        }
    }

    fn shared(burst_max: u32) -> (Arc<WindowLimiter>, Arc<tokio::sync::Notify>) {
        let wake = Arc::new(tokio::sync::Notify::new());
        let limiter = WindowLimiter::shared(
            LimitConfig {
                burst_max,
                burst_window: Duration::from_secs(10),
                daily_max: 100_000,
                safety_margin: Duration::ZERO,
            },
            wake.clone(),
        );
        // Trusted limits, as after the service's headers.
        limiter.state.lock().learned = true;
        (Arc::new(limiter), wake)
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_limiter_sends_nothing_until_it_is_given_its_part_and_asks_for_one() {
        let (limiter, wake) = shared(90);
        assert!(!limiter.is_spending());
        let waiting = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire().await }
        });
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .expect("a caller waiting for a part asks for a count");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "no send without a part");
        assert!(limiter.is_spending(), "a waiting caller counts as spending");
        limiter.set_part(part(3, None, Duration::from_secs(60)));
        waiting.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn each_of_n_processes_sends_its_part_of_the_burst_in_any_window() {
        let (limiter, _wake) = shared(100);
        limiter.set_part(part(3, None, Duration::from_secs(3600)));
        let start = Instant::now();
        let mut sent_at = Vec::new();
        for _ in 0..100 {
            limiter.acquire().await.unwrap();
            sent_at.push(Instant::now().duration_since(start));
        }
        // 33 per window: the 34th waits for the first to age out.
        assert_eq!(sent_at[32], Duration::ZERO);
        assert_eq!(sent_at[33], Duration::from_secs(10));
        for pair in sent_at.windows(34) {
            assert!(pair[33] - pair[0] >= Duration::from_secs(10));
        }
        // The first of the three takes the remainder: 34.
        let (first, _wake) = shared(100);
        first.set_part(BudgetPart {
            rank: 0,
            ..part(3, None, Duration::from_secs(3600))
        });
        for _ in 0..34 {
            first.acquire().await.unwrap();
        }
        assert!(first.next_slot().is_some(), "and not one more");
    }

    #[tokio::test(start_paused = true)]
    async fn the_others_spending_counts_against_this_part_only_beyond_their_parts() {
        let (limiter, _wake) = shared(100);
        limiter.set_part(part(3, None, Duration::from_secs(3600)));
        for _ in 0..20 {
            limiter.acquire().await.unwrap();
        }
        // 20 sent here and 60 by the two others, within their 67: this part stays whole.
        limiter.observe(&headers(&[
            ("x-ratelimit-max", "100"),
            ("x-ratelimit-remaining", "20"),
        ]));
        assert_eq!(limiter.state.lock().sends.len(), 20);
        // None left: the others spent 80, 13 beyond their parts, which this part loses.
        limiter.observe(&headers(&[
            ("x-ratelimit-max", "100"),
            ("x-ratelimit-remaining", "0"),
        ]));
        assert_eq!(limiter.state.lock().sends.len(), 33);
        assert!(limiter.next_slot().is_some(), "nothing is left to send");
    }

    #[tokio::test(start_paused = true)]
    async fn more_processes_than_the_burst_each_send_one_per_several_windows() {
        let (limiter, _wake) = shared(2);
        limiter.set_part(part(5, None, Duration::from_secs(3600)));
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        limiter.acquire().await.unwrap();
        // 5 processes, 2 per 10 s: one each per 30 s, so at most 5 / 3 per window in all.
        assert_eq!(
            Instant::now().duration_since(start),
            Duration::from_secs(30)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_holds_and_an_outdated_count_stops_the_sends() {
        let (limiter, wake) = shared(100);
        let start = Instant::now();
        limiter.set_part(part(
            2,
            Some(Duration::from_secs(12)),
            Duration::from_secs(20),
        ));
        // The next count no longer finds it new; the hold lasts.
        limiter.set_part(part(2, None, Duration::from_secs(20)));
        limiter.acquire().await.unwrap();
        assert_eq!(
            Instant::now().duration_since(start),
            Duration::from_secs(12),
            "the newcomer waited out its hold"
        );
        // The count expires at 20 s: a send after that waits for a new one.
        tokio::time::sleep(Duration::from_secs(9)).await;
        let waiting = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire().await }
        });
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .expect("asks for a new count");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!waiting.is_finished());
        limiter.set_part(part(1, None, Duration::from_secs(20)));
        waiting.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_limiter_of_its_own_ignores_parts() {
        let limiter = limiter(10);
        limiter.set_part(part(5, None, Duration::ZERO));
        assert_eq!(limiter.part(), None);
        for _ in 0..10 {
            limiter.acquire().await.unwrap();
        }
        assert!(!limiter.is_spending(), "only a shared limiter is counted");
    }
}

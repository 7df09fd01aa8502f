//! Cron schedules: a [`Scheduler`] fires every schedule flow at its due times (in UTC), each tick
//! an event from source `schedule` of kind `tick` with the key `<flow id>@<due time, RFC 3339>`
//! and the payload `{"scheduled_at": …, "fired_at": …}`, which [`intake`] turns into one run of
//! that flow.
//!
//! One tick of a flow ([`Scheduler::tick`]), in order:
//! 1. read the flow's cursor ([`Store::get_cursor`], trigger key `schedule`): `{"through": T}`,
//!    every due time at or before `T` is handled. A flow without one is new: its cursor is set to
//!    `now` and nothing fires, so a new flow never fires ticks from before it existed;
//! 2. the latest due time at or before `now`, when it is after `T`, is fired through [`intake`];
//!    earlier due times after `T` were missed (the process was down) and are skipped, so a
//!    restart fires one catch-up tick rather than a storm of stale ones;
//! 3. only then the cursor moves to that due time, by compare-and-set from the value read in 1.
//!
//! **Once cluster-wide without a lease.** Every `tether serve` sharing one database runs a
//! scheduler, and each computes the same due time and the same event key. The store keeps one
//! event per `(source, key)` and one run per `(flow, event)`, so whoever records the tick first
//! starts its run and the others find the duplicate. A lease would only save the redundant
//! inserts; correctness does not depend on one, nor on the clocks agreeing to the second.
//!
//! **Why a crash neither loses nor repeats a tick.** The cursor moves after the event is durable:
//! a crash between the two leaves the old cursor, the next tick computes the same due time and
//! key, and the store answers "duplicate" instead of starting a second run. The cursor only moves
//! forwards (compare-and-set from what was read, and only to a later due time), so an old tick is
//! never fired again; a scheduler that stalled between reading the cursor and recording its tick
//! can at worst record, late, a tick nobody recorded, never a second run of one.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tether_core::ErrorKind;
use tether_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::executor::FlowSet;
use crate::flow::{CronSchedule, TriggerSpec};
use crate::worker::intake;

/// The source of tick events.
pub const SOURCE: &str = "schedule";

/// The kind of tick events.
pub const KIND: &str = "tick";

/// The trigger key of a schedule flow's cursor in the store.
pub const CURSOR_KEY: &str = "schedule";

/// The longest [`Scheduler::run`] sleeps before looking again, even when no tick is due sooner:
/// flows added to the [`FlowSet`] are picked up, and a wall clock that jumped (a suspended
/// machine, a corrected clock) is noticed.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long [`Scheduler::run`] waits after a tick failed (the store was unreachable).
pub const RETRY_AFTER_ERROR: Duration = Duration::from_secs(5);

/// Missed ticks are counted for the report up to this many; a long outage of a frequent
/// schedule is reported as "at least" that.
pub const MISSED_COUNT_CAP: usize = 1000;

/// A tick that failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The store failed.
    #[error("store error")]
    Store(#[from] tether_store::Error),
}

impl SchedulerError {
    /// What a caller should do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SchedulerError::Store(error) => error.kind(),
        }
    }
}

/// What one [`Scheduler::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Ticks recorded as new events, each starting one run: flow id and due time.
    pub fired: Vec<(String, DateTime<Utc>)>,
    /// Ticks another scheduler (or an earlier, interrupted tick) had recorded already; no second
    /// run was started.
    pub already_fired: Vec<(String, DateTime<Utc>)>,
    /// Due times skipped because a later one was due as well (after downtime): flow id and how
    /// many, counted up to [`MISSED_COUNT_CAP`].
    pub skipped: Vec<(String, usize)>,
    /// Flows seen for the first time; their schedule starts at this tick's `now`.
    pub started: Vec<String>,
    /// Schedule flows that cannot fire, and why (a cron that does not parse, a cursor that is
    /// not what this version of Tether writes).
    pub invalid: Vec<(String, String)>,
}

/// Fires the schedule flows of a [`FlowSet`] at their due times until shut down.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Where cursors, events and runs live.
    pub store: Store,
    /// The flows; schedule flows added later are picked up at the next tick.
    pub flows: FlowSet,
}

impl Scheduler {
    /// A scheduler of the schedule flows in `flows`.
    pub fn new(store: Store, flows: FlowSet) -> Self {
        Scheduler { store, flows }
    }

    /// Ticks now and after each due time (waking at least every [`MAX_SLEEP`]) until `shutdown`
    /// is cancelled, which stops it at once. A failed tick is logged and tried again after
    /// [`RETRY_AFTER_ERROR`].
    pub async fn run(&self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let now = Utc::now();
            let wait = match self.tick(now).await {
                Ok(report) => {
                    for (flow_id, reason) in &report.invalid {
                        warn!(flow_id, error = %reason, "A schedule flow cannot fire.");
                    }
                    self.next_due(now)
                        .and_then(|due| (due - Utc::now()).to_std().ok())
                        .unwrap_or(Duration::ZERO)
                        .min(MAX_SLEEP)
                }
                Err(error) => {
                    warn!(%error, kind = ?error.kind(), "A schedule tick failed.");
                    RETRY_AFTER_ERROR
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The earliest due time after `now` of any schedule flow.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.flows
            .current()
            .into_iter()
            .filter_map(|(_, flow)| match &flow.trigger {
                TriggerSpec::Schedule { cron } => CronSchedule::parse(cron).ok()?.next_after(now),
                _ => None,
            })
            .min()
    }

    /// Fires, for every schedule flow, its latest due time at or before `now` unless it was
    /// handled already (see the module docs). Safe to call any number of times, from any number
    /// of schedulers sharing the store: each due time starts one run.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, SchedulerError> {
        let mut report = TickReport::default();
        for (_, flow) in self.flows.current() {
            let TriggerSpec::Schedule { cron } = &flow.trigger else {
                continue;
            };
            let schedule = match CronSchedule::parse(cron) {
                Ok(schedule) => schedule,
                Err(reason) => {
                    report.invalid.push((flow.id.clone(), reason));
                    continue;
                }
            };
            let Some(cursor) = self.store.get_cursor(&flow.id, CURSOR_KEY).await? else {
                // Another scheduler may start the flow first; its start time stands then.
                if self
                    .store
                    .set_cursor(&flow.id, CURSOR_KEY, None, &through(now))
                    .await?
                {
                    info!(flow_id = %flow.id, cron = schedule.text(), "Schedule started.");
                    report.started.push(flow.id.clone());
                }
                continue;
            };
            let Some(handled) = read_through(&cursor) else {
                report.invalid.push((
                    flow.id.clone(),
                    format!("its schedule cursor {cursor} is not {{\"through\": <RFC 3339 time>}}"),
                ));
                continue;
            };
            let Some(due) = schedule.latest_at_or_before(now) else {
                continue;
            };
            if due <= handled {
                continue;
            }
            let missed = count_between(&schedule, handled, due);
            if missed > 0 {
                report.skipped.push((flow.id.clone(), missed));
            }
            let key = format!("{}@{}", flow.id, rfc3339(due));
            let payload = json!({
                "scheduled_at": rfc3339(due),
                "fired_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            });
            // Durable before the cursor moves past it (see the module docs).
            if intake(&self.store, &self.flows, SOURCE, &key, KIND, &payload).await? {
                info!(flow_id = %flow.id, scheduled_at = %rfc3339(due), missed, "Schedule fired.");
                report.fired.push((flow.id.clone(), due));
            } else {
                debug!(flow_id = %flow.id, scheduled_at = %rfc3339(due), "Tick recorded already.");
                report.already_fired.push((flow.id.clone(), due));
            }
            if !self
                .store
                .set_cursor(&flow.id, CURSOR_KEY, Some(&cursor), &through(due))
                .await?
            {
                // Another scheduler moved it first, to this due time or a later one.
                debug!(flow_id = %flow.id, "Schedule cursor moved elsewhere.");
            }
        }
        Ok(report)
    }
}

/// A due time as it appears in keys and payloads: `2024-05-01T10:05:00Z`.
fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn through(time: DateTime<Utc>) -> Value {
    json!({ "through": time.to_rfc3339_opts(SecondsFormat::Millis, true) })
}

fn read_through(cursor: &Value) -> Option<DateTime<Utc>> {
    let text = cursor.get("through")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Due times strictly between `after` and `before`, up to [`MISSED_COUNT_CAP`].
fn count_between(schedule: &CronSchedule, after: DateTime<Utc>, before: DateTime<Utc>) -> usize {
    let mut count = 0;
    let mut time = after;
    while count < MISSED_COUNT_CAP {
        match schedule.next_after(time) {
            Some(next) if next < before => {
                count += 1;
                time = next;
            }
            _ => break,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, hour, minute, 0)
            .single()
            .expect("a valid time")
    }

    #[test]
    fn missed_ticks_are_counted_up_to_the_cap() {
        let every_5 = CronSchedule::parse("*/5 * * * *").expect("valid");
        assert_eq!(count_between(&every_5, at(10, 0), at(10, 5)), 0);
        assert_eq!(count_between(&every_5, at(10, 0), at(13, 0)), 35);
        let every_minute = CronSchedule::parse("* * * * *").expect("valid");
        assert_eq!(
            count_between(&every_minute, at(0, 0), at(23, 0)),
            MISSED_COUNT_CAP
        );
    }

    #[test]
    fn cursors_round_trip() {
        let time = at(10, 5) + chrono::Duration::milliseconds(250);
        assert_eq!(read_through(&through(time)), Some(time));
        assert_eq!(read_through(&json!("2024-05-01T10:05:00Z")), None);
        assert_eq!(rfc3339(at(10, 5)), "2024-05-01T10:05:00Z");
    }
}

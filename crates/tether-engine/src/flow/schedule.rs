//! The two time notations of triggers: poll intervals (`30s`, `5m`, `1h30m`) and cron
//! expressions (five fields, or `@hourly` and friends).
//!
//! Cron text is read by one parser, [`CronSchedule::parse`] (the `croner` crate configured for
//! five fields), which both the flow decoder and the scheduler use: a flow that validates is a
//! flow whose due times can be computed, and the two can never disagree about what a pattern
//! means. Schedules are evaluated in UTC.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};

/// Parses an interval such as `45s`, `5m`, `1h30m` or `1d`: one or more number-unit pairs with
/// units `s`, `m`, `h` and `d`, at least one second in total.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (expected e.g. \"30s\", \"5m\", \"1h30m\")");
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut saw_unit = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let value: u64 = number.parse().map_err(|_| bad())?;
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(bad)?;
        number.clear();
        saw_unit = true;
    }
    if !number.is_empty() || !saw_unit {
        return Err(bad());
    }
    if total == 0 {
        return Err(format!("invalid duration {text:?}: it must be at least 1s"));
    }
    Ok(Duration::from_secs(total))
}

/// The macros a cron may be instead of five fields.
const CRON_MACROS: [&str; 6] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
];

/// A parsed cron schedule, evaluated in UTC, to the minute.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    text: String,
    cron: Cron,
}

impl CronSchedule {
    /// Parses a cron expression: five fields (minute, hour, day of month, month, day of week),
    /// each `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma list of
    /// those; month and weekday names (`JAN`, `MON-FRI`), `L`, `W`, `#` and `?` as in Vixie cron
    /// and Quartz; or one of `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@hourly`. A pattern that can never match (`0 0 31 2 *`) is refused too.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        // Checked before croner only to say more precisely what is wrong; croner decides.
        if trimmed.starts_with('@') {
            if !CRON_MACROS
                .iter()
                .any(|name| name.eq_ignore_ascii_case(trimmed))
            {
                return Err(format!(
                    "unknown cron macro {trimmed:?} (expected one of {})",
                    CRON_MACROS.join(", ")
                ));
            }
        } else {
            let fields = trimmed.split_whitespace().count();
            if fields != 5 {
                return Err(format!(
                    "invalid cron {trimmed:?}: expected 5 fields (minute hour day-of-month month \
                     day-of-week), found {fields}"
                ));
            }
        }
        let cron = parser()
            .parse(trimmed)
            .map_err(|error| format!("invalid cron {trimmed:?}: {}", explain(trimmed, &error)))?;
        let schedule = CronSchedule {
            text: trimmed.to_owned(),
            cron,
        };
        // The Unix epoch is as good a start as any: a pattern that matches no minute within
        // croner's search horizon never matches at all.
        if schedule.next_after(DateTime::UNIX_EPOCH).is_none() {
            return Err(format!(
                "invalid cron {trimmed:?}: it never matches (no such date)"
            ));
        }
        Ok(schedule)
    }

    /// The text it was parsed from, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The latest due time at or before `time`.
    pub fn latest_at_or_before(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&time, true).ok()
    }

    /// The first due time strictly after `time`.
    pub fn next_after(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&time, false).ok()
    }
}

/// Checks a cron expression (see [`CronSchedule::parse`]).
pub fn check_cron(text: &str) -> Result<(), String> {
    CronSchedule::parse(text).map(|_| ())
}

/// The one parser configuration: five fields, no seconds or years.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        // `5/15` (from 5, every 15) was accepted before croner read our crons; keep it.
        .sloppy_ranges(true)
        .build()
}

/// Says which field croner refused, with its allowed values: croner's own messages
/// ("Number out of bounds") do not name the field.
fn explain(text: &str, error: &CronError) -> String {
    const FIELDS: [(&str, &str); 5] = [
        ("minute", "0-59"),
        ("hour", "0-23"),
        ("day of month", "1-31"),
        ("month", "1-12 or JAN-DEC"),
        ("day of week", "0-7 or SUN-SAT"),
    ];
    let reason = |error: &CronError| match error {
        CronError::ComponentError(message) | CronError::InvalidPattern(message) => {
            let message = message.trim_end_matches('.');
            let mut chars = message.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        CronError::IllegalCharacters(_) => "illegal character".to_owned(),
        other => other.to_string(),
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() == FIELDS.len() {
        // The field alone among wildcards: the first that fails by itself is the culprit.
        for (index, (name, allowed)) in FIELDS.iter().enumerate() {
            let mut alone = ["*"; 5];
            alone[index] = fields[index];
            if let Err(field_error) = parser().parse(&alone.join(" ")) {
                return format!(
                    "{name} {:?}: {} (allowed: {allowed})",
                    fields[index],
                    reason(&field_error)
                );
            }
        }
    }
    reason(error)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn durations() {
        let check = |text: &str, expected: Option<u64>| {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                expected,
                "{text}"
            );
        };
        check("30s", Some(30));
        check("5m", Some(300));
        check("1h30m", Some(5400));
        check("1d", Some(86_400));
        check("0s", None);
        check("5", None);
        check("5 minutes", None);
        check("m", None);
    }

    #[test]
    fn crons() {
        let check = |text: &str, ok: bool| assert_eq!(check_cron(text).is_ok(), ok, "{text}");
        // Everything the hand-written check accepted before croner is still accepted...
        check("*/5 * * * *", true);
        check("0 9-17 * * 1-5", true);
        check("0,30 8 1 1,6 0", true);
        check("0-59/15 * * * *", true);
        check("5/15 * * * *", true);
        check("0 0 1-31/2 * 7", true);
        check("  15 3 * * *  ", true);
        for name in CRON_MACROS {
            check(name, true);
        }
        // ...and what it refused is still refused.
        check("@often", false);
        check("60 * * * *", false);
        check("* 24 * * *", false);
        check("* * 0 * *", false);
        check("* * * 13 *", false);
        check("* * * * 8", false);
        check("* * * *", false);
        check("0 * * * * *", false);
        check("5-1 * * * *", false);
        check("*/0 * * * *", false);
        check("a * * * *", false);
        check("", false);
        // croner's additions, which the scheduler computes the same way.
        check("0 9 * * MON-FRI", true);
        check("0 0 L * *", true);
        check("0 0 * * 5#2", true);
        // Never matches: refused rather than silently never firing.
        check("0 0 31 2 *", false);
    }

    #[test]
    fn messages_name_the_problem() {
        let message = |text: &str| check_cron(text).expect_err(text);
        assert_eq!(
            message("* * * *"),
            "invalid cron \"* * * *\": expected 5 fields (minute hour day-of-month month \
             day-of-week), found 4"
        );
        assert!(message("@often").starts_with("unknown cron macro \"@often\""));
        assert_eq!(
            message("61 * * * *"),
            "invalid cron \"61 * * * *\": minute \"61\": number out of bounds (allowed: 0-59)"
        );
        assert_eq!(
            message("0 0 * * 5-1"),
            "invalid cron \"0 0 * * 5-1\": day of week \"5-1\": range out of bounds (allowed: 0-7 \
             or SUN-SAT)"
        );
    }

    #[test]
    fn due_times_are_utc_minutes() {
        let at = |h, m, s| Utc.with_ymd_and_hms(2024, 5, 1, h, m, s).single().unwrap();
        let every_5 = CronSchedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            every_5.latest_at_or_before(at(10, 5, 30)),
            Some(at(10, 5, 0))
        );
        assert_eq!(
            every_5.latest_at_or_before(at(10, 5, 0)),
            Some(at(10, 5, 0))
        );
        assert_eq!(every_5.next_after(at(10, 5, 0)), Some(at(10, 10, 0)));
        let with_millis = at(10, 4, 59) + chrono::Duration::milliseconds(999);
        assert_eq!(every_5.next_after(with_millis), Some(at(10, 5, 0)));
        assert_eq!(every_5.latest_at_or_before(with_millis), Some(at(10, 0, 0)));
        let daily = CronSchedule::parse("@daily").unwrap();
        assert_eq!(daily.latest_at_or_before(at(10, 5, 30)), Some(at(0, 0, 0)));
    }
}

//! The two time notations of triggers: poll intervals (`30s`, `5m`, `1h30m`) and cron
//! expressions (five fields, or `@hourly` and friends), checked without a scheduler.

use std::time::Duration;

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

/// Checks a cron expression: five fields (minute, hour, day of month, month, day of week), each
/// `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; or one of
/// `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`.
pub fn check_cron(text: &str) -> Result<(), String> {
    const MACROS: [&str; 6] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@hourly",
    ];
    const FIELDS: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let text = text.trim();
    if text.starts_with('@') {
        return if MACROS.contains(&text) {
            Ok(())
        } else {
            Err(format!("unknown cron macro {text:?}"))
        };
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!(
            "invalid cron {text:?}: expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    for (field, (name, min, max)) in fields.iter().zip(FIELDS) {
        check_cron_field(field, min, max)
            .map_err(|why| format!("invalid cron {text:?}: {name} {field:?}: {why}"))?;
    }
    Ok(())
}

fn check_cron_field(field: &str, min: u32, max: u32) -> Result<(), String> {
    let number = |text: &str| -> Result<u32, String> {
        let value: u32 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a number"))?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} is outside {min}-{max}"))
        }
    };
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            let step: u32 = step.parse().map_err(|_| format!("bad step {step:?}"))?;
            if step == 0 {
                return Err("a step must be at least 1".into());
            }
        }
        if range == "*" {
            continue;
        }
        match range.split_once('-') {
            Some((start, end)) => {
                if number(start)? > number(end)? {
                    return Err(format!("range {range:?} runs backwards"));
                }
            }
            None => {
                number(range)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        check("*/5 * * * *", true);
        check("0 9-17 * * 1-5", true);
        check("0,30 8 1 1,6 0", true);
        check("@daily", true);
        check("@often", false);
        check("60 * * * *", false);
        check("* * * *", false);
        check("5-1 * * * *", false);
        check("*/0 * * * *", false);
    }
}

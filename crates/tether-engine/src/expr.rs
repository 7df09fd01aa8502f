//! Expressions: the field mapping of flows, with `minijinja` templates over the trigger event and
//! earlier steps' outputs.
//!
//! A string is one of three things:
//! - a literal, when it holds no `{{`, `{%` or `{#` (`"customer"`);
//! - a typed expression, when it is exactly one `{{ ... }}` (`"{{ trigger.tags }}"` gives the
//!   list itself, `"{{ 3 }}"` the number 3), so mapping keeps numbers, booleans, objects and lists;
//! - a template otherwise, which renders to a string (`"{{ trigger.firstName }} <{{ trigger.email }}>"`).
//!
//! Undefined variables are errors (the strict mode), because a typo such as `trigger.emial` must
//! not silently write an empty e-mail to a customer record; `default(...)` is the way to say a
//! field may be missing.
//!
//! Everything here is a pure function of the expression and the [`Context`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use minijinja::value::Rest;
use minijinja::{Environment, ErrorKind as JinjaErrorKind, UndefinedBehavior};
use serde_json::{Map, Value};
use tether_core::ErrorKind;

/// The variables an expression may start from.
pub const ROOT_VARIABLES: [&str; 4] = ["trigger", "steps", "flow", "now"];

/// What an expression can read: `trigger` (the event payload), `steps.<id>.output` (earlier
/// steps' outputs), `flow` (`id`, `name`, `version`) and `now` (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    root: Value,
}

impl Context {
    /// A context for one event, with no flow and no step outputs yet.
    ///
    /// `now` is an argument, not a clock read, so a run evaluates the same way when it is retried
    /// and tests need no clock.
    pub fn new(trigger: Value, now: DateTime<Utc>) -> Self {
        let mut root = Map::new();
        root.insert("trigger".into(), trigger);
        root.insert("steps".into(), Value::Object(Map::new()));
        root.insert("flow".into(), Value::Null);
        root.insert(
            "now".into(),
            Value::String(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        Context {
            root: Value::Object(root),
        }
    }

    /// Sets `flow.id`, `flow.name` and `flow.version`.
    pub fn with_flow(mut self, id: &str, name: &str, version: &str) -> Self {
        self.root["flow"] = serde_json::json!({ "id": id, "name": name, "version": version });
        self
    }

    /// Records a step's output, readable by later expressions as `steps.<step_id>.output`.
    pub fn set_step_output(&mut self, step_id: &str, output: Value) {
        if let Some(steps) = self.root["steps"].as_object_mut() {
            steps.insert(step_id.to_owned(), serde_json::json!({ "output": output }));
        }
    }

    /// The whole context as one JSON object.
    pub fn as_json(&self) -> &Value {
        &self.root
    }

    /// Whether a dotted path (`trigger.email`) leads to a value, null included.
    fn resolves(&self, path: &str) -> bool {
        let mut current = &self.root;
        for segment in path.split('.') {
            match current.get(segment) {
                Some(next) => current = next,
                None => return false,
            }
        }
        true
    }
}

/// A mapping failure, naming the field it happened in when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct MapError {
    /// The field path (`email`, `input.address.city`); empty for a bare expression.
    pub field: String,
    /// What went wrong (`undefined variable 'trigger.emial'`).
    pub message: String,
}

impl MapError {
    /// Mapping errors come from the flow or the data, so a retry cannot fix them: the run goes
    /// to the dead-letter queue with this message.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Permanent
    }

    fn in_field(mut self, field: &str) -> Self {
        self.field = if self.field.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.field)
        };
        self
    }
}

/// One field that could not be mapped; the other fields of the record still are.
pub type FieldProblem = MapError;

/// The shape of one string in a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    /// No template syntax: the string is its own value.
    Literal,
    /// Exactly one `{{ ... }}`: evaluates to a typed value. Holds the expression inside.
    Expression(&'a str),
    /// Anything else with template syntax: renders to a string.
    Template,
}

/// Tells which of the three kinds of string `text` is.
pub fn shape(text: &str) -> Shape<'_> {
    let trimmed = text.trim();
    if let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    {
        let inner = inner.strip_prefix('-').unwrap_or(inner);
        let inner = inner.strip_suffix('-').unwrap_or(inner);
        if !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%") {
            return Shape::Expression(inner.trim());
        }
    }
    if text.contains("{{") || text.contains("{%") || text.contains("{#") {
        Shape::Template
    } else {
        Shape::Literal
    }
}

/// Compiles `text` without evaluating it, and returns the variable paths it reads
/// (`trigger.email`, `steps.fetch.output.tags`), or the syntax error.
pub fn compile(text: &str) -> Result<BTreeSet<String>, String> {
    let variables = match shape(text) {
        Shape::Literal => return Ok(BTreeSet::new()),
        Shape::Expression(inner) => ENVIRONMENT
            .compile_expression(inner)
            .map_err(|error| describe(&error))?
            .undeclared_variables(true),
        Shape::Template => ENVIRONMENT
            .template_from_str(text)
            .map_err(|error| describe(&error))?
            .undeclared_variables(true),
    };
    // Function calls (`full_name(...)`) show up as variables; they are not ones.
    Ok(variables
        .into_iter()
        .filter(|variable| !FUNCTIONS.contains(&variable.as_str()))
        .collect())
}

/// The dotted paths from a root variable written in a template's text outside string literals
/// (`trigger.full_name` of `{{ (trigger.full_name | split(' '))[1:] }}`). A path may come out
/// longer than it reads (never shorter), which only widens what a field depends on.
pub fn written_paths(text: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        let first = word.split('.').next().unwrap_or_default();
        if ROOT_VARIABLES.contains(&first) {
            paths.insert(word.trim_end_matches('.').to_owned());
        }
        word.clear();
    };
    let mut previous = ' ';
    for character in text.chars() {
        match quote {
            Some(open) => {
                if character == open && previous != '\\' {
                    quote = None;
                }
            }
            None if character == '\'' || character == '"' => {
                flush(&mut word);
                quote = Some(character);
            }
            None if character.is_ascii_alphanumeric() || character == '_' || character == '.' => {
                // A path starts with a letter, not inside a number or after another path's dot.
                if !word.is_empty()
                    || (character.is_ascii_alphabetic() || character == '_')
                        && !(previous.is_ascii_alphanumeric() || previous == '.')
                {
                    word.push(character);
                }
            }
            None => flush(&mut word),
        }
        previous = character;
    }
    flush(&mut word);
    paths
}

/// The global functions expressions may call: ours and minijinja's built-ins.
const FUNCTIONS: [&str; 7] = [
    "full_name",
    "range",
    "dict",
    "namespace",
    "debug",
    "cycler",
    "joiner",
];

/// Evaluates one string: a literal stays itself, a single `{{ ... }}` gives its typed value, a
/// template gives the rendered string.
pub fn evaluate(text: &str, context: &Context) -> Result<Value, MapError> {
    let jinja_context = minijinja::Value::from(minijinja::value::Serde(&context.root));
    evaluate_with(text, context, &jinja_context)
}

fn evaluate_with(
    text: &str,
    context: &Context,
    jinja_context: &minijinja::Value,
) -> Result<Value, MapError> {
    let failure = |error: minijinja::Error, source: &str| MapError {
        field: String::new(),
        message: explain(&error, source, context),
    };
    match shape(text) {
        Shape::Literal => Ok(Value::String(text.to_owned())),
        Shape::Expression(inner) => {
            let expression = ENVIRONMENT
                .compile_expression(inner)
                .map_err(|error| failure(error, inner))?;
            let value = expression
                .eval(jinja_context.clone())
                .map_err(|error| failure(error, inner))?;
            if value.is_undefined() {
                let undefined = minijinja::Error::from(JinjaErrorKind::UndefinedError);
                return Err(failure(undefined, inner));
            }
            serde_json::to_value(&value).map_err(|error| MapError {
                field: String::new(),
                message: format!("the value cannot be represented as JSON: {error}"),
            })
        }
        Shape::Template => ENVIRONMENT
            .render_str(text, jinja_context.clone())
            .map(Value::String)
            .map_err(|error| failure(error, text)),
    }
}

/// Evaluates every string inside a JSON value (an action's `input`), keeping the other values
/// as they are. The first failure is returned, naming its path.
pub fn evaluate_value(template: &Value, context: &Context) -> Result<Value, MapError> {
    let jinja_context = minijinja::Value::from(minijinja::value::Serde(&context.root));
    evaluate_value_with(template, context, &jinja_context)
}

fn evaluate_value_with(
    template: &Value,
    context: &Context,
    jinja_context: &minijinja::Value,
) -> Result<Value, MapError> {
    match template {
        Value::String(text) => evaluate_with(text, context, jinja_context),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                evaluate_value_with(item, context, jinja_context)
                    .map_err(|error| error.in_field(&format!("[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(entries) => entries
            .iter()
            .map(|(key, value)| {
                evaluate_value_with(value, context, jinja_context)
                    .map(|value| (key.clone(), value))
                    .map_err(|error| error.in_field(key))
            })
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// Maps a record field by field: the result holds every field that mapped, and each field that
/// did not is reported with its reason, so one bad field does not lose the others.
pub fn map_record(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> (Value, Vec<FieldProblem>) {
    let jinja_context = minijinja::Value::from(minijinja::value::Serde(&context.root));
    let mut record = Map::new();
    let mut problems = Vec::new();
    for (field, template) in fields {
        match evaluate_value_with(template, context, &jinja_context) {
            Ok(value) => {
                record.insert(field.clone(), value);
            }
            Err(error) => problems.push(error.in_field(field)),
        }
    }
    (Value::Object(record), problems)
}

/// A message for an evaluation error; an undefined value names the variable that is missing,
/// which minijinja itself does not.
fn explain(error: &minijinja::Error, source: &str, context: &Context) -> String {
    if error.kind() == JinjaErrorKind::UndefinedError {
        let variables = compile(&format!("{{{{ {source} }}}}"))
            .or_else(|_| compile(source))
            .unwrap_or_default();
        if let Some(missing) = variables.iter().find(|path| !context.resolves(path)) {
            return format!("undefined variable '{missing}'");
        }
    }
    describe(error)
}

/// minijinja's kind and detail, without the template name and line it adds for templates loaded
/// from files (ours are one field long, and the caller names the field).
fn describe(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.add_function("full_name", full_name);
    environment.add_filter("full_name", full_name);
    environment.add_filter("e164", e164);
    environment.add_filter("date", date);
    environment
});

/// `full_name(first, last)`: the non-empty parts, trimmed and joined by one space; missing or
/// null parts are skipped, so a contact with only a first name gets just that.
fn full_name(parts: Rest<minijinja::Value>) -> String {
    parts
        .iter()
        .filter(|part| !part.is_undefined() && !part.is_none())
        .map(|part| part.to_string().trim().to_owned())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `phone | e164` or `phone | e164("44")`: a phone number in E.164 (`+15551234567`).
///
/// Punctuation and spaces are dropped; `00` is read as `+`; a number without a country code gets
/// the default one (`1`, as GHL assumes for US locations), after dropping a national trunk `0`.
fn e164(phone: String, default_country: Option<String>) -> Result<String, minijinja::Error> {
    let invalid = |why: &str| {
        minijinja::Error::new(
            JinjaErrorKind::InvalidOperation,
            format!("{phone:?} is not a phone number: {why}"),
        )
    };
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed
        .chars()
        .any(|c| c.is_alphabetic() && !matches!(c, 'x' | 'X'))
    {
        return Err(invalid("it holds letters"));
    }
    let international = if trimmed.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        let country = default_country.unwrap_or_else(|| "1".to_owned());
        let country = country.trim_start_matches('+');
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        if country == "1" && national.len() == 11 && national.starts_with('1') {
            national.to_owned()
        } else {
            format!("{country}{national}")
        }
    };
    // E.164 allows at most 15 digits; fewer than 8 cannot be a full international number.
    if !(8..=15).contains(&international.len()) {
        return Err(invalid("E.164 numbers have 8 to 15 digits"));
    }
    Ok(format!("+{international}"))
}

/// An RFC 3339 time, or a zone-less `YYYY-MM-DD HH:MM:SS` taken as UTC (GHL's calendar answers
/// carry no zone: `2027-01-11 15:30:00`).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map(|time| time.and_utc())
        })
        .ok()
}

/// `value | date` or `value | date("%d/%m/%Y")`: formats an RFC 3339 time, a `YYYY-MM-DD` date or
/// Unix seconds with a `strftime` pattern (default `%Y-%m-%d`), in UTC.
fn date(value: minijinja::Value, format: Option<String>) -> Result<String, minijinja::Error> {
    let format = format.unwrap_or_else(|| "%Y-%m-%d".to_owned());
    let invalid = |why: String| minijinja::Error::new(JinjaErrorKind::InvalidOperation, why);
    let time: DateTime<Utc> = if let Some(seconds) = value.as_i64() {
        DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| invalid(format!("{seconds} is out of range for a date")))?
    } else if let Some(text) = value.as_str() {
        if let Some(time) = parse_time(text) {
            time
        } else if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            day.and_hms_opt(0, 0, 0)
                .ok_or_else(|| invalid(format!("{text:?} is not a date")))?
                .and_utc()
        } else {
            return Err(invalid(format!(
                "{text:?} is not an RFC 3339 time or a YYYY-MM-DD date"
            )));
        }
    } else {
        return Err(invalid(format!("{value} is not a date")));
    };
    let mut rendered = String::new();
    // chrono reports a bad pattern only while writing, so the pattern is checked here.
    std::fmt::write(&mut rendered, format_args!("{}", time.format(&format)))
        .map_err(|_| invalid(format!("{format:?} is not a valid date format")))?;
    Ok(rendered)
}

/// Jinja's truthiness over JSON: null, false, 0, "" and empty lists and objects are false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(entries) => !entries.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_have_three_shapes() {
        let check = |text: &str, expected: Shape<'_>| assert_eq!(shape(text), expected, "{text}");
        check("customer", Shape::Literal);
        check("{{ trigger.id }}", Shape::Expression("trigger.id"));
        check("  {{- trigger.id -}} ", Shape::Expression("trigger.id"));
        check("{{ a }} {{ b }}", Shape::Template);
        check("id-{{ a }}", Shape::Template);
        check("{% if a %}x{% endif %}", Shape::Template);
    }

    #[test]
    fn e164_normalizes_common_forms() {
        let check = |input: &str, country: Option<&str>, expected: Option<&str>| {
            let got = e164(input.to_owned(), country.map(str::to_owned)).ok();
            assert_eq!(got.as_deref(), expected, "{input}");
        };
        check("(555) 123-4567", None, Some("+15551234567"));
        check("1 555 123 4567", None, Some("+15551234567"));
        check("+44 20 7946 0958", None, Some("+442079460958"));
        check("0044 20 7946 0958", None, Some("+442079460958"));
        check("020 7946 0958", Some("44"), Some("+442079460958"));
        check("12", None, None);
        check("call me", None, None);
    }
}

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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use minijinja::value::Rest;
use minijinja::{Environment, ErrorKind as JinjaErrorKind, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Map, Value};
use tether_core::ErrorKind;

/// The variables an expression may start from.
pub const ROOT_VARIABLES: [&str; 4] = ["trigger", "steps", "flow", "now"];

/// What an expression can read: `trigger` (the event payload), `steps.<id>.output` (earlier
/// steps' outputs), `flow` (`id`, `name`, `version`) and `now` (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    root: Value,
    /// `trigger` as minijinja reads it, made on first use and kept for the run: the event is
    /// the largest part of the context and never changes, so a step's output does not convert
    /// it again.
    trigger: std::sync::OnceLock<minijinja::Value>,
    /// `root` as minijinja reads it, made on first use and dropped on every change: a run's
    /// expressions between two step outputs share one conversion of it.
    jinja: std::sync::OnceLock<minijinja::Value>,
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
            trigger: std::sync::OnceLock::new(),
            jinja: std::sync::OnceLock::new(),
        }
    }

    /// Sets `flow.id`, `flow.name` and `flow.version`.
    pub fn with_flow(mut self, id: &str, name: &str, version: &str) -> Self {
        self.root["flow"] = serde_json::json!({ "id": id, "name": name, "version": version });
        self.jinja = std::sync::OnceLock::new();
        self
    }

    /// Records a step's output, readable by later expressions as `steps.<step_id>.output`.
    pub fn set_step_output(&mut self, step_id: &str, output: Value) {
        if let Some(steps) = self.root["steps"].as_object_mut() {
            steps.insert(step_id.to_owned(), serde_json::json!({ "output": output }));
        }
        self.jinja = std::sync::OnceLock::new();
    }

    /// The context as minijinja values (see `jinja`).
    fn jinja(&self) -> minijinja::Value {
        self.jinja
            .get_or_init(|| {
                let variables: BTreeMap<String, minijinja::Value> = self
                    .root
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| {
                        let value = if name == "trigger" {
                            self.trigger
                                .get_or_init(|| {
                                    minijinja::Value::from(minijinja::value::Serde(value))
                                })
                                .clone()
                        } else {
                            minijinja::Value::from(minijinja::value::Serde(value))
                        };
                        (name.clone(), value)
                    })
                    .collect();
                minijinja::Value::from_object(variables)
            })
            .clone()
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
        Shape::Expression(inner) => compiled(inner)
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

/// The code of a string: the inside of each `{{ ... }}` and `{% ... %}` block (one for a typed
/// expression, none for a literal), so a scan of it never reads the template's plain text.
pub fn code_blocks(text: &str) -> Vec<&str> {
    match shape(text) {
        Shape::Literal => Vec::new(),
        Shape::Expression(inner) => vec![inner],
        Shape::Template => {
            let mut blocks = Vec::new();
            let mut rest = text;
            while let Some(start) = rest.find(['{']) {
                let after = &rest[start..];
                let close = if after.starts_with("{{") {
                    "}}"
                } else if after.starts_with("{%") {
                    "%}"
                } else if after.starts_with("{#") {
                    "#}"
                } else {
                    rest = &after[1..];
                    continue;
                };
                let body = &after[2..];
                let end = body.find(close).unwrap_or(body.len());
                if close != "#}" {
                    blocks.push(&body[..end]);
                }
                rest = body.get(end + 2..).unwrap_or_default();
            }
            blocks
        }
    }
}

/// What a name in an expression is called as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `value | name`.
    Filter,
    /// `value is name`.
    Test,
    /// `name(...)`.
    Function,
}

impl CallKind {
    fn noun(self) -> &'static str {
        match self {
            CallKind::Filter => "filter",
            CallKind::Test => "test",
            CallKind::Function => "function",
        }
    }
}

/// Words of the expression language that are followed by `(` without being function calls, and
/// names the template itself defines (`loop`, `caller`).
const NOT_FUNCTIONS: [&str; 14] = [
    "if", "elif", "else", "in", "not", "and", "or", "is", "for", "loop", "caller", "super", "self",
    "with",
];

/// The filters, tests and functions `text` calls, in order, each with what it is called as.
///
/// minijinja looks these up only when it evaluates, so a misspelt filter would otherwise fail
/// every run; the names are read from the code blocks outside string literals.
pub fn calls(text: &str) -> Vec<(CallKind, String)> {
    #[derive(PartialEq)]
    enum Token {
        Word(String),
        Other(char),
    }
    let mut found = Vec::new();
    for block in code_blocks(text) {
        let mut tokens = Vec::new();
        let mut chars = block.chars().peekable();
        while let Some(character) = chars.next() {
            if character == '\'' || character == '"' {
                let mut previous = character;
                for inner in chars.by_ref() {
                    if inner == character && previous != '\\' {
                        break;
                    }
                    previous = inner;
                }
                tokens.push(Token::Other('"'));
            } else if character.is_ascii_alphabetic() || character == '_' {
                let mut word = String::from(character);
                while let Some(&next) = chars.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_') {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            } else if character.is_ascii_digit() {
                // A number, exponent and digits included, is one token.
                while chars
                    .peek()
                    .is_some_and(|next| next.is_ascii_alphanumeric() || *next == '_')
                {
                    chars.next();
                }
                tokens.push(Token::Other('0'));
            } else if !character.is_whitespace() {
                tokens.push(Token::Other(character));
            }
        }
        let word = |index: Option<usize>| match index.and_then(|index| tokens.get(index)) {
            Some(Token::Word(word)) => Some(word.as_str()),
            _ => None,
        };
        // Macros and `set` name things the template defines itself.
        let defined: Vec<&str> = (1..tokens.len())
            .filter(|index| matches!(word(Some(index - 1)), Some("macro" | "set")))
            .filter_map(|index| word(Some(index)))
            .collect();
        for (index, token) in tokens.iter().enumerate() {
            let Token::Word(name) = token else {
                continue;
            };
            let before = index.checked_sub(1);
            let kind = if before.and_then(|at| tokens.get(at)) == Some(&Token::Other('|')) {
                Some(CallKind::Filter)
            } else if word(before) == Some("is") && name != "not"
                || word(before) == Some("not")
                    && word(before.and_then(|at| at.checked_sub(1))) == Some("is")
            {
                Some(CallKind::Test)
            } else if tokens.get(index + 1) == Some(&Token::Other('('))
                && before.and_then(|at| tokens.get(at)) != Some(&Token::Other('.'))
                && !NOT_FUNCTIONS.contains(&name.as_str())
                && !defined.contains(&name.as_str())
            {
                Some(CallKind::Function)
            } else {
                None
            };
            if let Some(kind) = kind {
                found.push((kind, name.clone()));
            }
        }
    }
    found
}

/// Filters and tests offered as suggestions: minijinja's built-ins and ours, kept to those the
/// environment really has (some built-ins depend on minijinja's features).
const FILTER_NAMES: [&str; 55] = [
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "date",
    "default",
    "dictsort",
    "e",
    "e164",
    "escape",
    "first",
    "float",
    "format",
    "full_name",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
    "zip",
    "xmlattr",
    "truncate",
];
const TEST_NAMES: [&str; 36] = [
    "boolean",
    "callable",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// Whether the environment has a filter, test or function of this name. Filters and tests are
/// asked through a state, because minijinja has no public list of them; a known one answers with
/// its own error about the missing arguments, never "unknown".
fn is_known(kind: CallKind, name: &str) -> bool {
    let mut state = ENVIRONMENT.empty_state();
    match kind {
        CallKind::Filter => !matches!(
            state.apply_filter(name, &[]),
            Err(error) if error.kind() == JinjaErrorKind::UnknownFilter
        ),
        CallKind::Test => !matches!(
            state.perform_test(name, &[]),
            Err(error) if error.kind() == JinjaErrorKind::UnknownTest
        ),
        CallKind::Function => ENVIRONMENT.globals().any(|(global, _)| global == name),
    }
}

/// The filters, tests and functions `text` calls that do not exist, each as a message naming the
/// nearest one that does ("unknown filter `trimm` (did you mean `trim`?)").
pub fn unknown_calls(text: &str) -> Vec<String> {
    let mut messages = Vec::new();
    for (kind, name) in calls(text) {
        if is_known(kind, &name) {
            continue;
        }
        let candidates: Vec<String> = match kind {
            CallKind::Filter => FILTER_NAMES.iter().map(|name| (*name).to_owned()).collect(),
            CallKind::Test => TEST_NAMES.iter().map(|name| (*name).to_owned()).collect(),
            CallKind::Function => ENVIRONMENT
                .globals()
                .map(|(global, _)| global.to_owned())
                .collect(),
        };
        let known = candidates
            .iter()
            .map(String::as_str)
            .filter(|candidate| is_known(kind, candidate));
        let mut message = format!("unknown {} `{name}`", kind.noun());
        if let Some(near) = crate::flow::closest(&name, known) {
            message.push_str(&format!(" (did you mean `{near}`?)"));
        }
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    messages
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
    let jinja_context = context.jinja();
    evaluate_with(text, context, &jinja_context)
}

fn evaluate_with(
    text: &str,
    context: &Context,
    jinja_context: &minijinja::Value,
) -> Result<Value, MapError> {
    evaluate_at(text, context, jinja_context).map_err(|(error, _)| error)
}

/// Where in an expression's text a problem is: line and column (in characters), both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TextPos {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl TextPos {
    /// The position of byte `offset` of `text` (clamped to the text).
    pub fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        TextPos {
            line: 1 + before.matches('\n').count() as u64,
            column: 1 + before[line_start..].chars().count() as u64,
        }
    }
}

/// Evaluates one string as [`evaluate`] does and, on failure, also says where in `text` the
/// problem is, when it can tell: the span minijinja reports (a syntax error, a failing filter),
/// else the first place the missing variable is written.
pub fn evaluate_located(
    text: &str,
    context: &Context,
) -> Result<Value, (MapError, Option<TextPos>)> {
    let jinja_context = context.jinja();
    evaluate_at(text, context, &jinja_context)
        .map_err(|(error, offset)| (error, offset.map(|offset| TextPos::of(text, offset))))
}

/// [`evaluate`], with the byte offset in `text` of a failure when known.
fn evaluate_at(
    text: &str,
    context: &Context,
    jinja_context: &minijinja::Value,
) -> Result<Value, (MapError, Option<usize>)> {
    // `source` is `text` or a slice of it, so its offset in `text` is the difference of their
    // addresses.
    let failure = |error: minijinja::Error, source: &str| {
        let base = source.as_ptr().addr().saturating_sub(text.as_ptr().addr());
        let message = explain(&error, source, context);
        // A missing variable is shown where it is written rather than where strict mode noticed
        // it (the filter or test that received it).
        let missing = message
            .strip_prefix("undefined variable '")
            .and_then(|rest| rest.strip_suffix('\''))
            .and_then(|path| {
                let first = path.split('.').next().unwrap_or(path);
                source.find(path).or_else(|| source.find(first))
            });
        let offset = missing
            .or_else(|| error.range().map(|range| range.start))
            .map(|at| base + at);
        (
            MapError {
                field: String::new(),
                message,
            },
            offset,
        )
    };
    match shape(text) {
        Shape::Literal => Ok(Value::String(text.to_owned())),
        Shape::Expression(inner) => {
            let expression = compiled(inner).map_err(|error| failure(error, inner))?;
            let value = expression
                .eval(jinja_context.clone())
                .map_err(|error| failure(error, inner))?;
            if value.is_undefined() {
                let undefined = minijinja::Error::from(JinjaErrorKind::UndefinedError);
                return Err(failure(undefined, inner));
            }
            serde_json::to_value(&value).map_err(|error| {
                (
                    MapError {
                        field: String::new(),
                        message: format!("the value cannot be represented as JSON: {error}"),
                    },
                    None,
                )
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
    let jinja_context = context.jinja();
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
    let jinja_context = context.jinja();
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

/// The expression `source` compiled, once per text: a flow's expressions are few and run for
/// every event, and compiling one costs more than evaluating it.
fn compiled(
    source: &str,
) -> Result<Arc<minijinja::Expression<'static, 'static>>, minijinja::Error> {
    /// Compiled expressions by their text; emptied when full (flows changed a great deal).
    static COMPILED: LazyLock<
        parking_lot::Mutex<HashMap<String, Arc<minijinja::Expression<'static, 'static>>>>,
    > = LazyLock::new(Default::default);
    const MAX_COMPILED: usize = 4096;
    if let Some(expression) = COMPILED.lock().get(source) {
        return Ok(expression.clone());
    }
    let expression = Arc::new(ENVIRONMENT.compile_expression_owned(source.to_owned())?);
    let mut compiled = COMPILED.lock();
    if compiled.len() >= MAX_COMPILED {
        compiled.clear();
    }
    compiled.insert(source.to_owned(), expression.clone());
    Ok(expression)
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
            // The number itself stays out: this message becomes a run's stored reason and a log line.
            format!("the value is not a phone number: {why}"),
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

    #[test]
    fn calls_are_read_from_code_only() {
        let check = |text: &str, expected: &[(CallKind, &str)]| {
            let found = calls(text);
            let found: Vec<(CallKind, &str)> = found
                .iter()
                .map(|(kind, name)| (*kind, name.as_str()))
                .collect();
            assert_eq!(found, expected, "{text}");
        };
        check("a | b(c)", &[]);
        check(
            "{{ x | trim | e164('44') }}",
            &[(CallKind::Filter, "trim"), (CallKind::Filter, "e164")],
        );
        check(
            "{{ full_name(a, 'x | y(') if a is not none and b is defined }}",
            &[
                (CallKind::Function, "full_name"),
                (CallKind::Test, "none"),
                (CallKind::Test, "defined"),
            ],
        );
        check(
            "Hi {{ a.b.split(' ') }} | c(d) {# e | f #}{% for n in range(3) %}{% endfor %}",
            &[(CallKind::Function, "range")],
        );
        check("{{ 1e3 }}", &[]);
    }

    #[test]
    fn failures_say_where_they_are() {
        let context = Context::new(
            serde_json::json!({"email": "Ada@Example.com"}),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        let at = |text: &str| {
            evaluate_located(text, &context)
                .expect_err(text)
                .1
                .map(|pos| (pos.line, pos.column))
        };
        assert_eq!(
            evaluate_located("{{ trigger.email | lower }}", &context),
            Ok(Value::String("ada@example.com".into()))
        );
        assert_eq!(at("{{ trigger.emial | lower }}"), Some((1, 4)));
        assert_eq!(at("Dear {{ trigger.name }}"), Some((1, 9)));
        let (error, pos) = evaluate_located("{{ trigger.email | }}", &context).unwrap_err();
        assert!(error.message.contains("syntax error"), "{error}");
        let pos = pos.expect("a syntax error has a position");
        assert_eq!(pos.line, 1);
        assert!(pos.column >= 18, "{pos:?}");
        assert_eq!(TextPos::of("ab\ncé\nd", 6), TextPos { line: 2, column: 3 });
    }
}

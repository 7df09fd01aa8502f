//! App manifests: a REST app described as data (base URL, auth, rate limit, resources with their
//! fields, paging and the operations they offer), read by the generic REST connector and served by
//! the generic simulator.
//!
//! A manifest is YAML. [`Manifest::from_yaml`] parses it (an error names the file, line, column and
//! field), [`Manifest::validate`] checks what the parser cannot (cross-references, names, types) and
//! reports every problem at once, and [`Manifest::load`] does both. [`Resource::check_input`] checks
//! a record against the declared fields; the connector uses it before sending and the simulator
//! before storing.
//!
//! The shipped manifests are embedded: [`details_flowers`].

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The Details Flowers manifest as shipped (`apps/details-flowers.yaml`).
pub const DETAILS_FLOWERS_YAML: &str = include_str!("../../../apps/details-flowers.yaml");

/// The file name [`DETAILS_FLOWERS_YAML`] is reported under.
pub const DETAILS_FLOWERS_FILE: &str = "apps/details-flowers.yaml";

/// The shipped Details Flowers manifest, parsed and validated.
///
/// A test checks that the embedded file loads, so an error here means the binary was built from a
/// broken file; callers report it like any other manifest error.
pub fn details_flowers() -> Result<Manifest, ManifestError> {
    Manifest::load(DETAILS_FLOWERS_FILE, DETAILS_FLOWERS_YAML)
}

/// A REST app described as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The app id, the first segment of its operation ids (`details_flowers`).
    pub app: String,
    /// The app's name for people.
    pub title: String,
    /// What the app is, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// The real service's base URL (a simulator's replaces it in tests and demos).
    pub base_url: String,
    /// How requests are authenticated.
    pub auth: Auth,
    /// The service's request limit, when it has one.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The resources the app serves.
    pub resources: Vec<Resource>,
}

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// The scheme.
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// The header that carries the key (`X-Api-Key`).
    pub header: String,
}

/// Authentication schemes a manifest can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// A fixed API key in a header.
    ApiKey,
}

/// A fixed-window request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window's length in seconds.
    pub window_secs: u64,
}

/// One resource (`customers`): where it lives, its fields and its operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Singular name, the second segment of operation ids (`customer`).
    pub name: String,
    /// Singular title for people (`Customer`).
    pub title: String,
    /// Collection path (`/customers`); one record is at `{path}/{id}`.
    pub path: String,
    /// The field holding the record's id.
    pub id_field: String,
    /// The field holding the creation time (for `new` triggers).
    #[serde(default)]
    pub created_field: Option<String>,
    /// The field holding the last change time (for `updated` triggers and polling).
    #[serde(default)]
    pub updated_field: Option<String>,
    /// How listings are paged.
    pub paging: Paging,
    /// The record's fields.
    pub fields: Vec<Field>,
    /// The operations that become catalog actions.
    #[serde(default)]
    pub actions: Vec<ActionVerb>,
    /// Fields a record can be found by (each becomes a `find_by_<field>` action and a query
    /// parameter of the listing).
    #[serde(default)]
    pub search_by: Vec<String>,
    /// The polling triggers.
    #[serde(default)]
    pub triggers: Vec<TriggerKind>,
}

/// How a listing is paged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Page numbers or opaque cursors.
    pub style: PagingStyle,
    /// The query parameter of the page size.
    #[serde(default = "default_size_param")]
    pub size_param: String,
    /// The largest page the service serves.
    #[serde(default = "default_max_size")]
    pub max_size: u32,
    /// The query parameter of the page number (`page` style, 1-based).
    #[serde(default = "default_page_param")]
    pub page_param: String,
    /// The query parameter of the cursor (`cursor` style).
    #[serde(default = "default_cursor_param")]
    pub cursor_param: String,
    /// The answer's field holding the next cursor, absent or null on the last page (`cursor` style).
    #[serde(default = "default_next_field")]
    pub next_field: String,
    /// The answer's field holding the page's records.
    #[serde(default = "default_items_field")]
    pub items_field: String,
}

fn default_size_param() -> String {
    "per_page".into()
}
fn default_max_size() -> u32 {
    100
}
fn default_page_param() -> String {
    "page".into()
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_next_field() -> String {
    "next_cursor".into()
}
fn default_items_field() -> String {
    "data".into()
}

/// Paging styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagingStyle {
    /// `page` (from 1) and a page size; a short page is the last.
    Page,
    /// An opaque cursor from the previous answer.
    Cursor,
}

/// One field of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The JSON property name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Required when creating.
    #[serde(default)]
    pub required: bool,
    /// Set by the service only (ids, timestamps); refused in input.
    #[serde(default)]
    pub read_only: bool,
    /// No two records may share a value (the service enforces it).
    #[serde(default)]
    pub unique: bool,
    /// A finer format of a string.
    #[serde(default)]
    pub format: Option<Format>,
    /// What the field means.
    #[serde(default)]
    pub description: Option<String>,
}

/// Field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 date and time.
    Datetime,
    /// A `YYYY-MM-DD` date.
    Date,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
}

/// String formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// An email address.
    Email,
}

/// Operations that become catalog actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionVerb {
    /// List records, paged.
    List,
    /// Read one record.
    Get,
    /// Create a record.
    Create,
    /// Change some fields of a record.
    Update,
    /// Delete a record.
    Delete,
}

impl ActionVerb {
    /// The verb as it appears in operation ids.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionVerb::List => "list",
            ActionVerb::Get => "get",
            ActionVerb::Create => "create",
            ActionVerb::Update => "update",
            ActionVerb::Delete => "delete",
        }
    }
}

/// Polling triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Records created since the cursor (needs `created_field`).
    New,
    /// Records changed since the cursor (needs `updated_field`).
    Updated,
}

impl TriggerKind {
    /// The verb as it appears in operation ids.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::New => "new",
            TriggerKind::Updated => "updated",
        }
    }
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The YAML does not parse into a manifest.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file (or the name the text was given under).
        file: String,
        /// 1-based line, 0 when the parser did not say.
        line: u64,
        /// 1-based column, 0 when the parser did not say.
        column: u64,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The manifest parses but is inconsistent.
    #[error("{file}: {} problem(s): {}", .problems.len(), join_problems(.problems))]
    Invalid {
        /// The file.
        file: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl ManifestError {
    /// A broken manifest is fixed by a person, never by retrying.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Permanent
    }
}

fn join_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One problem of a manifest, at a path such as `resources[1].id_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub path: String,
    /// What.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Manifest {
    /// Parses `text`; errors name `file`, the line and column, and the field.
    pub fn from_yaml(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        serde_saphyr::from_str(text).map_err(|error| {
            let (line, column) = error
                .location()
                .map_or((0, 0), |location| (location.line(), location.column()));
            // The plain message: the location is ours to print, in `file:line:column` form.
            let mut message = error.without_snippet().to_string();
            if let Some(at) = message.rfind(" at line ") {
                message.truncate(at);
            }
            ManifestError::Parse {
                file: file.to_owned(),
                line,
                column,
                message,
            }
        })
    }

    /// Parses and validates.
    pub fn load(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        let manifest = Self::from_yaml(file, text)?;
        let problems = manifest.validate();
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(ManifestError::Invalid {
                file: file.to_owned(),
                problems,
            })
        }
    }

    /// The resource called `name`.
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|resource| resource.name == name)
    }

    /// Every problem the parser cannot see; empty when the manifest is usable.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push(Problem { path, message });
        if !is_segment(&self.app) {
            problem(
                "app".into(),
                format!(
                    "`{}` must be lowercase letters, digits and `_`, starting with a letter (it is the first segment of operation ids)",
                    self.app
                ),
            );
        }
        if self.title.trim().is_empty() {
            problem("title".into(), "must not be empty".into());
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            problem(
                "base_url".into(),
                format!("`{}` must be an http(s) URL", self.base_url),
            );
        }
        if !is_header_name(&self.auth.header) {
            problem(
                "auth.header".into(),
                format!("`{}` is not a valid header name", self.auth.header),
            );
        }
        if let Some(limit) = self.rate_limit {
            if limit.requests == 0 {
                problem("rate_limit.requests".into(), "must be at least 1".into());
            }
            if limit.window_secs == 0 {
                problem("rate_limit.window_secs".into(), "must be at least 1".into());
            }
        }
        if self.resources.is_empty() {
            problem("resources".into(), "declare at least one resource".into());
        }
        let mut names = HashSet::new();
        let mut paths = HashSet::new();
        for (idx, resource) in self.resources.iter().enumerate() {
            let at = format!("resources[{idx}]");
            if !names.insert(resource.name.as_str()) {
                problem(
                    format!("{at}.name"),
                    format!("`{}` is declared twice", resource.name),
                );
            }
            if !paths.insert(resource.path.as_str()) {
                problem(
                    format!("{at}.path"),
                    format!("`{}` is declared twice", resource.path),
                );
            }
            resource.validate(&at, &mut problem);
        }
        problems
    }
}

impl Resource {
    fn validate(&self, at: &str, problem: &mut impl FnMut(String, String)) {
        if !is_segment(&self.name) {
            problem(
                format!("{at}.name"),
                format!(
                    "`{}` must be lowercase letters, digits and `_`, starting with a letter",
                    self.name
                ),
            );
        }
        let path_ok = self.path.starts_with('/')
            && self.path.len() > 1
            && !self.path.ends_with('/')
            && self
                .path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'));
        if !path_ok {
            problem(
                format!("{at}.path"),
                format!(
                    "`{}` must start with `/`, not end with one, and use only letters, digits, `-`, `_`",
                    self.path
                ),
            );
        }
        let mut seen = HashSet::new();
        for (idx, field) in self.fields.iter().enumerate() {
            if field.name.is_empty() || !seen.insert(field.name.as_str()) {
                problem(
                    format!("{at}.fields[{idx}].name"),
                    format!("`{}` is empty or declared twice", field.name),
                );
            }
            if field.format.is_some() && field.kind != FieldType::String {
                problem(
                    format!("{at}.fields[{idx}].format"),
                    "a format applies to string fields only".into(),
                );
            }
            if field.required && field.read_only {
                problem(
                    format!("{at}.fields[{idx}].required"),
                    "a read-only field cannot be required in input".into(),
                );
            }
        }
        match self.field(&self.id_field) {
            None => problem(
                format!("{at}.id_field"),
                format!("no field is called `{}`", self.id_field),
            ),
            Some(field) if field.kind != FieldType::String || !field.read_only => problem(
                format!("{at}.id_field"),
                format!("`{}` must be a read-only string field", self.id_field),
            ),
            Some(_) => {}
        }
        for (key, name) in [
            ("created_field", &self.created_field),
            ("updated_field", &self.updated_field),
        ] {
            let Some(name) = name else { continue };
            match self.field(name) {
                None => problem(
                    format!("{at}.{key}"),
                    format!("no field is called `{name}`"),
                ),
                Some(field) if field.kind != FieldType::Datetime || !field.read_only => problem(
                    format!("{at}.{key}"),
                    format!("`{name}` must be a read-only datetime field"),
                ),
                Some(_) => {}
            }
        }
        for (idx, name) in self.search_by.iter().enumerate() {
            match self.field(name) {
                None => problem(
                    format!("{at}.search_by[{idx}]"),
                    format!("no field is called `{name}`"),
                ),
                Some(field) if !matches!(field.kind, FieldType::String | FieldType::Integer) => {
                    problem(
                        format!("{at}.search_by[{idx}]"),
                        format!("`{name}` must be a string or integer field to search by"),
                    );
                }
                Some(_) => {}
            }
        }
        let mut verbs = HashSet::new();
        for (idx, verb) in self.actions.iter().enumerate() {
            if !verbs.insert(*verb) {
                problem(
                    format!("{at}.actions[{idx}]"),
                    format!("`{}` is listed twice", verb.as_str()),
                );
            }
        }
        let mut triggers = HashSet::new();
        for (idx, trigger) in self.triggers.iter().enumerate() {
            if !triggers.insert(*trigger) {
                problem(
                    format!("{at}.triggers[{idx}]"),
                    format!("`{}` is listed twice", trigger.as_str()),
                );
            }
            let (needed, key) = match trigger {
                TriggerKind::New => (&self.created_field, "created_field"),
                TriggerKind::Updated => (&self.updated_field, "updated_field"),
            };
            if needed.is_none() {
                problem(
                    format!("{at}.triggers[{idx}]"),
                    format!("`{}` needs `{key}`", trigger.as_str()),
                );
            }
        }
        if self.paging.max_size == 0 {
            problem(format!("{at}.paging.max_size"), "must be at least 1".into());
        }
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The field a trigger polls on.
    pub fn poll_field(&self, trigger: TriggerKind) -> Option<&str> {
        match trigger {
            TriggerKind::New => self.created_field.as_deref(),
            TriggerKind::Updated => self.updated_field.as_deref(),
        }
    }

    /// Checks an input record against the fields: unknown and read-only fields, types, formats,
    /// and (when creating) required fields. Returns every problem, each naming its field.
    pub fn check_input(&self, input: &Map<String, Value>, mode: InputMode) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        for (name, value) in input {
            let Some(field) = self.field(name) else {
                problems.push(FieldProblem::new(name, "is not a field of this resource"));
                continue;
            };
            if field.read_only {
                problems.push(FieldProblem::new(name, "is set by the service only"));
                continue;
            }
            if value.is_null() {
                if field.required {
                    problems.push(FieldProblem::new(name, "is required and cannot be null"));
                }
                continue;
            }
            if let Some(message) = check_value(field, value) {
                problems.push(FieldProblem::new(name, message));
            }
        }
        if mode == InputMode::Create {
            for field in self.fields.iter().filter(|field| field.required) {
                if !input.contains_key(&field.name) {
                    problems.push(FieldProblem::new(&field.name, "is required"));
                }
            }
        }
        problems
    }
}

/// Whether an input creates a record (required fields must be present) or changes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    /// A new record.
    Create,
    /// Some fields of an existing record.
    Update,
}

/// A field whose value does not fit its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldProblem {
    fn new(field: &str, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What is wrong with a non-null value, if anything.
fn check_value(field: &Field, value: &Value) -> Option<String> {
    let fits = match field.kind {
        FieldType::String => value.is_string(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Datetime => value
            .as_str()
            .is_some_and(|text| chrono::DateTime::parse_from_rfc3339(text).is_ok()),
        FieldType::Date => value
            .as_str()
            .is_some_and(|text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()),
        FieldType::Array => value.is_array(),
        FieldType::Object => value.is_object(),
    };
    if !fits {
        let expected = match field.kind {
            FieldType::String => "a string",
            FieldType::Integer => "an integer",
            FieldType::Number => "a number",
            FieldType::Boolean => "true or false",
            FieldType::Datetime => "an RFC 3339 date and time",
            FieldType::Date => "a YYYY-MM-DD date",
            FieldType::Array => "an array",
            FieldType::Object => "an object",
        };
        return Some(format!("must be {expected}"));
    }
    match (field.format, value.as_str()) {
        (Some(Format::Email), Some(text)) if !is_email(text) => {
            Some("must be an email address".into())
        }
        _ => None,
    }
}

/// A plain syntactic check: one `@`, something before it, a dotted domain, no spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// An operation id segment: lowercase ASCII letters, digits and `_`, starting with a letter.
fn is_segment(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An HTTP header name (RFC 9110 token characters).
fn is_header_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SMALL: &str = "\
app: shop
title: Shop
base_url: http://127.0.0.1:1
auth:
  type: api_key
  header: X-Api-Key
resources:
  - name: customer
    title: Customer
    path: /customers
    id_field: id
    updated_field: updated_at
    paging:
      style: page
    fields:
      - name: id
        type: string
        read_only: true
      - name: email
        type: string
        format: email
        required: true
      - name: updated_at
        type: datetime
        read_only: true
    actions: [get, create]
    search_by: [email]
    triggers: [updated]
";

    #[test]
    fn the_shipped_manifest_loads() {
        let manifest = details_flowers().unwrap();
        for name in ["customer", "order", "delivery", "note", "task"] {
            assert!(manifest.resource(name).is_some(), "{name}");
        }
        assert_eq!(manifest.auth.header, "X-Api-Key");
    }

    #[test]
    fn a_small_manifest_is_valid() {
        let manifest = Manifest::load("small.yaml", SMALL).unwrap();
        assert_eq!(manifest.resources[0].paging.size_param, "per_page");
    }

    #[test]
    fn parse_errors_name_file_line_and_field() {
        let broken = SMALL.replace("        required: true", "        requird: true");
        let error = Manifest::from_yaml("shop.yaml", &broken).unwrap_err();
        let ManifestError::Parse {
            file,
            line,
            message,
            ..
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!(file, "shop.yaml");
        assert_eq!(*line, 22, "{error}");
        assert!(message.contains("requird"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("shop.yaml:22:9: unknown field `requird`"),
            "{error}"
        );
        assert!(
            !message.contains("at line"),
            "the location is printed once: {error}"
        );

        let missing = SMALL.replace("    id_field: id\n", "");
        let error = Manifest::from_yaml("shop.yaml", &missing).unwrap_err();
        assert!(error.to_string().contains("id_field"), "{error}");

        let wrong_type = SMALL.replace("type: datetime", "type: timestamp");
        let error = Manifest::from_yaml("shop.yaml", &wrong_type).unwrap_err();
        let ManifestError::Parse { line, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(*line, 24, "{error}");
    }

    #[test]
    fn validate_reports_every_problem() {
        let broken = SMALL
            .replace("app: shop", "app: Shop-App")
            .replace("id_field: id", "id_field: ident")
            .replace("search_by: [email]", "search_by: [mail]")
            .replace("updated_field: updated_at", "updated_field: modified");
        let manifest = Manifest::from_yaml("shop.yaml", &broken).unwrap();
        let problems = manifest.validate();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "app",
                "resources[0].id_field",
                "resources[0].updated_field",
                "resources[0].search_by[0]"
            ],
            "{problems:?}"
        );
        let error = Manifest::load("shop.yaml", &broken).unwrap_err();
        assert!(error.to_string().contains("4 problem(s)"), "{error}");
    }

    #[test]
    fn triggers_need_their_time_field() {
        let broken = SMALL.replace("triggers: [updated]", "triggers: [updated, new, new]");
        let problems = Manifest::from_yaml("shop.yaml", &broken)
            .unwrap()
            .validate();
        let text = join_problems(&problems);
        assert!(text.contains("`new` needs `created_field`"), "{text}");
        assert!(text.contains("`new` is listed twice"), "{text}");
    }

    #[test]
    fn inputs_are_checked_field_by_field() {
        let manifest = Manifest::load("small.yaml", SMALL).unwrap();
        let resource = &manifest.resources[0];
        let check = |input: Value, mode: InputMode, expected: &[&str]| {
            let problems = resource.check_input(input.as_object().unwrap(), mode);
            let mut found: Vec<String> = problems.iter().map(ToString::to_string).collect();
            // Input maps may or may not keep insertion order (serde_json's `preserve_order`).
            found.sort();
            assert_eq!(found, expected, "{input}");
        };
        check(json!({"email": "a@b.co"}), InputMode::Create, &[]);
        check(json!({}), InputMode::Create, &["email: is required"]);
        check(json!({}), InputMode::Update, &[]);
        check(
            json!({"email": "nope"}),
            InputMode::Update,
            &["email: must be an email address"],
        );
        check(
            json!({"email": 3, "id": "x", "colour": "red"}),
            InputMode::Update,
            &[
                "colour: is not a field of this resource",
                "email: must be a string",
                "id: is set by the service only",
            ],
        );
    }
}

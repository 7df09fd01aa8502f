//! Flows: the model (a trigger, then steps), reading them from YAML files, and validation that
//! reports every problem of a file at once, each with its file, line, column and field path.
//!
//! A flow file looks like this (each trigger and step names its kind as its one key):
//!
//! ```yaml
//! id: ghl-contact-to-customer
//! name: GHL contact → Details Flowers customer
//! trigger:
//!   webhook: { app: ghl, events: [ContactCreate, ContactUpdate], connection: ghl-main }
//! steps:
//!   - id: has_email
//!     filter: { when: "{{ trigger.email is defined and trigger.email }}" }
//!   - id: customer
//!     action:
//!       operation: details_flowers.customer.create
//!       connection: details-flowers-main
//!       input: { email: "{{ trigger.email | lower }}", full_name: "{{ trigger.firstName }}" }
//!       match: { field: email, value: "{{ trigger.email | lower }}" }
//! ```
//!
//! Reading goes in two passes (`yaml.rs` builds a positioned tree; `decode.rs` builds the model
//! from it), then `check.rs` checks expressions (syntax, filters and functions, step references)
//! and, when a catalog is given, what would otherwise fail only when the flow runs: operation ids
//! and kinds, inputs and their literal values, trigger fields, webhook intake and, when the
//! stored connections are given, connection names and apps.

mod check;
mod decode;
mod schedule;
mod webhook_fields;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tether_core::ErrorKind;
use tether_core::catalog::OperationMeta;

pub use schedule::{CronSchedule, check_cron, parse_duration};
pub use yaml::Pos;

pub use decode::closest;

/// Operation id prefixes accepted without a catalog entry, because their connectors are being
/// built alongside the engine. Empty now that every shipped app is in the catalog; kept so a new
/// app's flows can be written before its connector lands (their operations are then checked for
/// shape only).
pub const PROVISIONAL_PREFIXES: [&str; 0] = [];

/// Apps whose webhooks Tether receives (`POST /hooks/<app>`); other apps are polled.
pub const WEBHOOK_APPS: [&str; 1] = ["ghl"];

/// Webhook event types GHL sends for the resources flows sync.
pub const GHL_WEBHOOK_EVENTS: [&str; 16] = [
    "ContactCreate",
    "ContactUpdate",
    "ContactDelete",
    "ContactDndUpdate",
    "ContactTagUpdate",
    "NoteCreate",
    "NoteUpdate",
    "NoteDelete",
    "TaskCreate",
    "TaskComplete",
    "TaskDelete",
    "AppointmentCreate",
    "AppointmentUpdate",
    "AppointmentDelete",
    "OpportunityCreate",
    "OpportunityUpdate",
];

/// A flow: a trigger, then steps run in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Stable id (`ghl-contact-to-customer`), required in the file.
    pub id: String,
    /// A title for people; defaults to the id.
    pub name: String,
    /// Content hash of the normalized flow (16 hex digits): the same for the same meaning,
    /// whatever the formatting and comments, so a run can record exactly what it ran.
    pub version: String,
    /// What starts a run.
    pub trigger: TriggerSpec,
    /// What a run does, in order.
    pub steps: Vec<Step>,
}

/// What starts a run of a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerSpec {
    /// An app's webhook events.
    Webhook {
        /// The app that sends them (`ghl`).
        app: String,
        /// Event types (`ContactCreate`); one run per matching event.
        events: Vec<String>,
        /// The connection the events belong to.
        connection: String,
    },
    /// A poll of a list operation, picking up records changed since a durable cursor.
    Poll {
        /// What is polled.
        source: PollSource,
        /// The connection to poll with.
        connection: String,
        /// How often.
        #[serde(serialize_with = "serialize_seconds")]
        every: Duration,
        /// The record field that orders changes (`dateUpdated`), if not the source's default.
        cursor: Option<String>,
        /// Parameters passed to the source operation with the cursor (`contactId` of a
        /// contact's notes, `photoset_id`), literal values.
        #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
        with: serde_json::Map<String, serde_json::Value>,
    },
    /// A cron schedule; the event is the tick.
    Schedule {
        /// Five-field cron or a macro such as `@daily`.
        cron: String,
    },
}

/// What a poll trigger reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PollSource {
    /// A list or polling-trigger operation (`details_flowers.customer.new`).
    Operation(String),
    /// A resource (`ghl.contact`), whose change feed the engine knows.
    Resource(String),
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Unique in the flow, an identifier (`[a-z_][a-z0-9_]*`) so that later expressions can read
    /// `steps.<id>.output`.
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
}

/// The kinds of step. Strings inside `when`, `fields`, `input` and `match.value` are
/// expressions (see [`crate::expr`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// Stops the run (successfully) when `when` is falsy.
    Filter {
        /// A `{{ ... }}` expression.
        when: String,
    },
    /// Builds a record; its output is the record.
    Map {
        /// Target field → expression (or literal, list, object).
        fields: BTreeMap<String, Value>,
    },
    /// Calls an operation that changes something.
    Action {
        /// Catalog operation id (`ghl.contact.upsert`).
        operation: String,
        /// The connection to call it with.
        connection: String,
        /// The operation's input, with expressions.
        input: Value,
        /// Upsert by match: find the target record whose `field` equals `value` and update it
        /// instead of creating a duplicate.
        #[serde(rename = "match")]
        match_on: Option<MatchSpec>,
        /// How each input field may be written to a record that exists already (`write:`):
        /// fields not named here are [`WritePolicy::Always`].
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        write: BTreeMap<String, WritePolicy>,
        /// What a failure that retries cannot fix does to the run.
        on_error: OnError,
    },
    /// Calls an operation that reads something; its output feeds later steps.
    Lookup {
        /// Catalog operation id (`ghl.task.list`).
        operation: String,
        /// The connection to call it with.
        connection: String,
        /// The operation's input, with expressions.
        input: Value,
        /// Another name later steps may use for this step (`steps.<as>.output`).
        #[serde(rename = "as")]
        alias: Option<String>,
    },
}

/// How an action may write one field of its target record (see `docs/sync.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePolicy {
    /// Written whenever the source fields it is made from change (the default).
    #[default]
    Always,
    /// Written when the target record is created, or when its current value is empty: fills,
    /// never overwrites.
    IfEmpty,
    /// Never written in this direction: the field is read-only for this flow.
    Never,
}

impl WritePolicy {
    /// The policy named `name` in a flow file.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "always" => Some(WritePolicy::Always),
            "if_empty" => Some(WritePolicy::IfEmpty),
            "never" => Some(WritePolicy::Never),
            _ => None,
        }
    }
}

/// The match of an upsert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchSpec {
    /// The target record's field (`email`).
    pub field: String,
    /// The expression it must equal (`{{ trigger.email | lower }}`).
    pub value: String,
}

/// What happens when an action keeps failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Retry transient failures with backoff, then dead-letter (the default).
    #[default]
    Retry,
    /// Dead-letter at the first failure.
    Dlq,
}

fn serialize_seconds<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}

impl Flow {
    /// The content hash of everything but the version itself: 16 hex digits of the SHA-256 of
    /// the flow as canonical JSON (keys sorted), so formatting and comments do not count.
    pub fn compute_version(&self) -> String {
        let mut unversioned = self.clone();
        unversioned.version = String::new();
        let json = serde_json::to_value(&unversioned).unwrap_or(Value::Null);
        let mut canonical = String::new();
        write_canonical(&json, &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Every step id and `as` alias, with the index of the step that defines it.
    pub fn step_names(&self) -> Vec<(&str, usize)> {
        let mut names = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            names.push((step.id.as_str(), index));
            if let StepKind::Lookup {
                alias: Some(alias), ..
            } = &step.kind
            {
                names.push((alias.as_str(), index));
            }
        }
        names
    }
}

/// JSON with object keys sorted, whatever map serde_json was built with.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(entries) => {
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&entries[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One problem in a flow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given.
    pub file: PathBuf,
    /// Line, from 1; 0 when the problem is the whole file (it cannot be read).
    pub line: u64,
    /// Column, from 1; 0 with line 0.
    pub column: u64,
    /// The field path (`steps[1].action.operation`); empty for syntax errors.
    pub path: String,
    /// What is wrong, and when we can tell, what was meant.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)
    }
}

/// A flow that could not be loaded: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct FlowErrors {
    /// At least one.
    pub problems: Vec<Problem>,
}

impl FlowErrors {
    /// An invalid flow stays invalid until someone edits it.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Permanent
    }
}

/// A stored connection, as validation needs it: its name and its app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownConnection {
    /// The name flows use (`ghl-main`).
    pub name: String,
    /// The app it connects to (`ghl`).
    pub app: String,
}

/// Reads and checks a flow file: structure, expressions and step references, but not operation
/// ids (use [`load_flow_checked`] with a catalog for those).
pub fn load_flow(path: &Path) -> Result<Flow, FlowErrors> {
    load(path, None)
}

/// Reads a flow file and checks everything [`validate_flow_file`] checks.
pub fn load_flow_checked(path: &Path, catalog: &[OperationMeta]) -> Result<Flow, FlowErrors> {
    load(path, Some(catalog))
}

/// Every problem of a flow file, in file order; empty when the flow is valid.
///
/// This is `tether flows validate FILE`. Operation ids are checked against `catalog`, except
/// those under [`PROVISIONAL_PREFIXES`].
pub fn validate_flow_file(path: &Path, catalog: &[OperationMeta]) -> Vec<Problem> {
    validate_flow_file_with(path, catalog, None)
}

/// Like [`validate_flow_file`], and, when `connections` are given, checks that each connection
/// a flow names exists and belongs to the app of what it is used for.
pub fn validate_flow_file_with(
    path: &Path,
    catalog: &[OperationMeta],
    connections: Option<&[KnownConnection]>,
) -> Vec<Problem> {
    let text = match read(path) {
        Ok(text) => text,
        Err(errors) => return errors.problems,
    };
    match parse(&text, path, Some(catalog), connections) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.problems,
    }
}

/// Parses a flow from text (YAML, or JSON, which is YAML too), as the REST API receives it.
/// `file` only labels the problems.
pub fn parse_flow(
    text: &str,
    file: &Path,
    catalog: Option<&[OperationMeta]>,
) -> Result<Flow, FlowErrors> {
    parse(text, file, catalog, None)
}

/// Like [`parse_flow`], and, when `connections` are given, checks that each connection a flow
/// names exists and belongs to the app of what it is used for (as [`validate_flow_file_with`]).
pub fn parse_flow_with(
    text: &str,
    file: &Path,
    catalog: Option<&[OperationMeta]>,
    connections: Option<&[KnownConnection]>,
) -> Result<Flow, FlowErrors> {
    parse(text, file, catalog, connections)
}

/// Where the field at `path` (`resources[1].fields[0].name`, `app`) stands in the YAML `text`
/// (any YAML document, such as an app manifest): the line and column of its key, or of the list
/// item for an index, or of the deepest part of the path that exists. `None` when the text does
/// not parse or the path's first part is not there.
pub fn position_of(text: &str, path: &str) -> Option<(u64, u64)> {
    let tree = yaml::parse(text).ok()?;
    let mut node = &tree;
    let mut found: Option<yaml::Pos> = None;
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (name, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            let yaml::NodeValue::Map(entries) = &node.value else {
                break;
            };
            let Some((key, value)) = entries.iter().find(|(key, _)| key.name == name) else {
                break;
            };
            found = Some(key.pos);
            node = value;
        }
        for index in indexes
            .split(['[', ']'])
            .filter(|index| !index.is_empty())
            .filter_map(|index| index.parse::<usize>().ok())
        {
            let yaml::NodeValue::Seq(items) = &node.value else {
                break;
            };
            let Some(item) = items.get(index) else {
                break;
            };
            found = Some(item.pos);
            node = item;
        }
    }
    found
        .filter(|pos| pos.line > 0)
        .map(|pos| (pos.line, pos.column))
}

/// The top-level `id` and `name` of a flow's YAML, read even when the rest of the flow has
/// problems (a draft being written): `None` when the text is no YAML mapping or has no string
/// `id`. The name defaults to the id, as in [`Flow::name`].
pub fn peek_id_and_name(text: &str) -> Option<(String, String)> {
    let tree = yaml::parse(text).ok()?;
    let yaml::NodeValue::Map(entries) = &tree.value else {
        return None;
    };
    let string = |wanted: &str| {
        entries.iter().find_map(|(key, node)| match &node.value {
            yaml::NodeValue::String(value) if key.name == wanted && !value.trim().is_empty() => {
                Some(value.clone())
            }
            _ => None,
        })
    };
    let id = string("id")?;
    let name = string("name").unwrap_or_else(|| id.clone());
    Some((id, name))
}

fn parse(
    text: &str,
    file: &Path,
    catalog: Option<&[OperationMeta]>,
    connections: Option<&[KnownConnection]>,
) -> Result<Flow, FlowErrors> {
    let (flow, mut problems) = match yaml::parse(text) {
        Err((pos, message)) => (None, vec![(pos, String::new(), message)]),
        Ok(tree) => {
            let decoded = decode::decode(&tree);
            let mut problems = decoded.problems;
            // Checked even when the structure is broken, so one run reports everything.
            problems.extend(check::check(&decoded.sites, catalog, connections));
            (decoded.flow, problems)
        }
    };
    problems.sort_by_key(|problem| problem.0);
    problems.dedup();
    match flow {
        Some(flow) if problems.is_empty() => Ok(flow),
        _ => Err(FlowErrors {
            problems: problems
                .into_iter()
                .map(|(pos, path, message)| Problem {
                    file: file.to_path_buf(),
                    line: pos.line,
                    column: pos.column,
                    path,
                    message,
                })
                .collect(),
        }),
    }
}

fn load(path: &Path, catalog: Option<&[OperationMeta]>) -> Result<Flow, FlowErrors> {
    parse_flow(&read(path)?, path, catalog)
}

fn read(path: &Path) -> Result<String, FlowErrors> {
    std::fs::read_to_string(path).map_err(|error| FlowErrors {
        problems: vec![Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the file: {error}"),
        }],
    })
}

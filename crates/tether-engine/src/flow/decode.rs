//! From the positioned YAML tree to the flow model, collecting every structural problem (unknown
//! and missing fields, wrong shapes, duplicate step ids, bad durations and cron) instead of
//! stopping at the first, and noting where each expression and operation id sits for `check.rs`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::yaml::{Key, Node, NodeValue, Pos};
use super::{
    Flow, MatchSpec, OnError, PollSource, Step, StepKind, TriggerSpec, WritePolicy, schedule,
};

/// A problem before it is given its file: position, field path, message.
pub(crate) type RawProblem = (Pos, String, String);

/// An expression string in the file.
#[derive(Debug, Clone)]
pub(crate) struct ExprSite {
    pub pos: Pos,
    pub path: String,
    pub text: String,
    /// The step it belongs to, whose earlier steps it may read; `None` in the trigger.
    pub step: Option<usize>,
}

/// An operation id in the file, with the input given to it.
#[derive(Debug, Clone)]
pub(crate) struct OpSite {
    pub pos: Pos,
    pub path: String,
    pub id: String,
    /// The `input` node and its path, for actions and lookups.
    pub input: Option<(Node, String)>,
    /// A poll resource (`ghl.contact`) rather than an operation id.
    pub is_resource: bool,
    /// The operation a poll trigger reads, which must be a trigger.
    pub is_poll: bool,
}

/// What a connection is named for.
#[derive(Debug, Clone)]
pub(crate) enum ConnectionUse {
    /// The events of a webhook trigger for this app.
    Webhook(String),
    /// Calls of this operation.
    Operation(String),
    /// The change feed of this resource (`ghl.contact`).
    Resource(String),
}

/// A connection name in the file.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSite {
    pub pos: Pos,
    pub path: String,
    pub name: String,
    pub used_for: ConnectionUse,
}

/// What starts the flow, as far as the checks need it.
#[derive(Debug, Clone)]
pub(crate) enum TriggerSite {
    /// A webhook trigger: its app (with where it is written) and its event types.
    Webhook {
        app: String,
        pos: Pos,
        path: String,
        events: Vec<String>,
    },
    /// A poll of an operation (a resource's poll reads its `<resource>.updated` trigger).
    Poll { operation: String },
}

/// Where things are, for the checks that come after decoding.
#[derive(Debug, Default)]
pub(crate) struct Sites {
    pub expressions: Vec<ExprSite>,
    pub operations: Vec<OpSite>,
    /// Every step id and alias with the index of its step in the file.
    pub names: Vec<(String, usize)>,
    pub connections: Vec<ConnectionSite>,
    pub trigger: Option<TriggerSite>,
}

/// The result of decoding: the flow when its shape allowed building one, and the problems.
pub(crate) struct Decoded {
    pub flow: Option<Flow>,
    pub problems: Vec<RawProblem>,
    pub sites: Sites,
}

pub(crate) fn decode(root: &Node) -> Decoded {
    let mut decoder = Decoder::default();
    let flow = decoder.flow(root);
    Decoded {
        flow,
        problems: decoder.problems,
        sites: decoder.sites,
    }
}

#[derive(Default)]
struct Decoder {
    problems: Vec<RawProblem>,
    sites: Sites,
}

/// The entries of a mapping whose keys were checked against the allowed names.
struct Fields<'a> {
    pos: Pos,
    path: String,
    entries: &'a [(Key, Node)],
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(key, _)| key.name == name)
            .map(|(_, node)| node)
    }

    fn child(&self, name: &str) -> String {
        join(&self.path, name)
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl Decoder {
    fn problem(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.problems.push((pos, path.to_owned(), message.into()));
    }

    /// A mapping with only `allowed` keys; unknown keys are reported (with a suggestion) and
    /// skipped, so the known ones are still decoded.
    fn mapping<'a>(&mut self, node: &'a Node, path: &str, allowed: &[&str]) -> Option<Fields<'a>> {
        let NodeValue::Map(entries) = &node.value else {
            self.problem(
                node.pos,
                path,
                format!("expected a mapping, found {}", node.shape()),
            );
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                let mut message = format!("unknown field \"{}\"", key.name);
                if let Some(near) = closest(&key.name, allowed.iter().copied()) {
                    message.push_str(&format!(" (did you mean \"{near}\"?)"));
                } else {
                    message.push_str(&format!(" (expected one of: {})", allowed.join(", ")));
                }
                self.problem(key.pos, &join(path, &key.name), message);
            }
        }
        Some(Fields {
            pos: node.pos,
            path: path.to_owned(),
            entries,
        })
    }

    /// A required field; a missing one is reported at its mapping.
    fn required<'a>(&mut self, fields: &Fields<'a>, name: &str) -> Option<&'a Node> {
        let node = fields.get(name);
        if node.is_none() {
            self.problem(
                fields.pos,
                &fields.path,
                format!("missing field \"{name}\""),
            );
        }
        node
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            NodeValue::String(text) if !text.trim().is_empty() => Some(text.clone()),
            NodeValue::String(_) => {
                self.problem(node.pos, path, "must not be empty");
                None
            }
            _ => {
                self.problem(
                    node.pos,
                    path,
                    format!("expected a string, found {}", node.shape()),
                );
                None
            }
        }
    }

    fn required_string(&mut self, fields: &Fields<'_>, name: &str) -> Option<String> {
        let node = self.required(fields, name)?;
        self.string(node, &fields.child(name))
    }

    fn optional_string(&mut self, fields: &Fields<'_>, name: &str) -> Option<String> {
        let node = fields.get(name)?;
        self.string(node, &fields.child(name))
    }

    /// A mapping with exactly one key naming a kind; returns the kind and its body.
    fn one_of<'a>(
        &mut self,
        fields: &Fields<'a>,
        kinds: &[&str],
        what: &str,
    ) -> Option<(&'static str, &'a Node, String)> {
        let present: Vec<&(Key, Node)> = fields
            .entries
            .iter()
            .filter(|(key, _)| kinds.contains(&key.name.as_str()))
            .collect();
        match present.as_slice() {
            [(key, node)] => {
                let kind = kinds.iter().find(|kind| **kind == key.name)?;
                let kind: &'static str = match *kind {
                    "webhook" => "webhook",
                    "poll" => "poll",
                    "schedule" => "schedule",
                    "filter" => "filter",
                    "map" => "map",
                    "action" => "action",
                    _ => "lookup",
                };
                Some((kind, node, fields.child(&key.name)))
            }
            [] => {
                self.problem(
                    fields.pos,
                    &fields.path,
                    format!("a {what} needs one of: {}", kinds.join(", ")),
                );
                None
            }
            [_, (second, _), ..] => {
                self.problem(
                    second.pos,
                    &fields.child(&second.name),
                    format!("a {what} has exactly one of: {}", kinds.join(", ")),
                );
                None
            }
        }
    }

    fn expression(&mut self, node: &Node, path: &str, step: Option<usize>) {
        match &node.value {
            NodeValue::String(text) => self.sites.expressions.push(ExprSite {
                pos: node.pos,
                path: path.to_owned(),
                text: text.clone(),
                step,
            }),
            NodeValue::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.expression(item, &format!("{path}[{index}]"), step);
                }
            }
            NodeValue::Map(entries) => {
                if entries.iter().any(|(key, _)| !key.is_scalar) {
                    self.problem(
                        node.pos,
                        path,
                        "an expression must be quoted: \"{{ ... }}\" (unquoted, YAML reads it as a mapping)",
                    );
                    return;
                }
                for (key, value) in entries {
                    self.expression(value, &join(path, &key.name), step);
                }
            }
            NodeValue::Null | NodeValue::Bool(_) | NodeValue::Number(_) => {}
        }
    }

    fn flow(&mut self, root: &Node) -> Option<Flow> {
        let fields = self.mapping(root, "", &["id", "name", "description", "trigger", "steps"])?;
        // The id is what runs, links and the API know the flow by, so it is written in the file
        // rather than taken from a file name that a copy or a rename would change.
        let id = match fields.get("id") {
            Some(node) => self.string(node, "id"),
            None => {
                self.problem(Pos { line: 1, column: 1 }, "id", "a flow needs an `id`");
                None
            }
        };
        let id = id.unwrap_or_default();
        if fields.get("id").is_some() && !id.is_empty() && !is_flow_id(&id) {
            let pos = fields.get("id").map_or(fields.pos, |node| node.pos);
            self.problem(
                pos,
                "id",
                format!(
                    "invalid flow id {id:?} (lowercase letters, digits, '-' and '_', starting with a letter or digit)"
                ),
            );
        }
        let name = self
            .optional_string(&fields, "name")
            .unwrap_or_else(|| id.clone());
        if let Some(description) = fields.get("description") {
            self.string(description, "description");
        }
        let trigger = self
            .required(&fields, "trigger")
            .and_then(|node| self.trigger(node));
        let steps = self
            .required(&fields, "steps")
            .and_then(|node| self.steps(node));
        let mut flow = Flow {
            id,
            name,
            version: String::new(),
            trigger: trigger?,
            steps: steps?,
        };
        flow.version = flow.compute_version();
        Some(flow)
    }

    fn trigger(&mut self, node: &Node) -> Option<TriggerSpec> {
        let outer = self.mapping(node, "trigger", &["webhook", "poll", "schedule"])?;
        let (kind, body, path) =
            self.one_of(&outer, &["webhook", "poll", "schedule"], "trigger")?;
        match kind {
            "webhook" => {
                let fields = self.mapping(body, &path, &["app", "events", "connection"])?;
                let app = self.required_string(&fields, "app");
                let connection = self.required_string(&fields, "connection");
                let events = self
                    .required(&fields, "events")
                    .and_then(|node| self.events(node, &fields.child("events"), app.as_deref()));
                if let (Some(app), Some(app_node)) = (&app, fields.get("app")) {
                    self.sites.trigger = Some(TriggerSite::Webhook {
                        app: app.clone(),
                        pos: app_node.pos,
                        path: fields.child("app"),
                        events: events.clone().unwrap_or_default(),
                    });
                    self.connection_site(&fields, ConnectionUse::Webhook(app.clone()));
                }
                Some(TriggerSpec::Webhook {
                    app: app?,
                    events: events?,
                    connection: connection?,
                })
            }
            "poll" => {
                let fields = self.mapping(
                    body,
                    &path,
                    &[
                        "operation",
                        "resource",
                        "connection",
                        "every",
                        "cursor",
                        "with",
                    ],
                )?;
                let with_path = fields.child("with");
                let with = match fields.get("with") {
                    None => Some(serde_json::Map::new()),
                    Some(node) => match node.to_json() {
                        Value::Object(params) => Some(params),
                        _ => {
                            self.problem(
                                node.pos,
                                &with_path,
                                format!("expected a mapping, found {}", node.shape()),
                            );
                            None
                        }
                    },
                };
                let source = match (fields.get("operation"), fields.get("resource")) {
                    (Some(node), None) => self.string(node, &fields.child("operation")).map(|id| {
                        // The parameters are the operation's input besides the cursor and limit,
                        // so they are checked against its input schema like an action's input.
                        // No `with` is checked as an empty one, so a required parameter
                        // (`contactId`) is reported as missing, at the poll.
                        let with_node = fields.get("with").cloned().unwrap_or(Node {
                            pos: fields.pos,
                            value: NodeValue::Map(Vec::new()),
                        });
                        let with_node = Some((with_node, with_path.clone()));
                        self.operation_site(
                            node.pos,
                            &fields.child("operation"),
                            &id,
                            with_node,
                            false,
                        );
                        if let Some(site) = self.sites.operations.last_mut() {
                            site.is_poll = true;
                        }
                        self.sites.trigger = Some(TriggerSite::Poll {
                            operation: id.clone(),
                        });
                        self.connection_site(&fields, ConnectionUse::Operation(id.clone()));
                        PollSource::Operation(id)
                    }),
                    (None, Some(node)) => self.string(node, &fields.child("resource")).map(|id| {
                        self.operation_site(node.pos, &fields.child("resource"), &id, None, true);
                        // The poller reads a resource's change feed from its `updated` trigger.
                        self.sites.trigger = Some(TriggerSite::Poll {
                            operation: format!("{id}.updated"),
                        });
                        self.connection_site(&fields, ConnectionUse::Resource(id.clone()));
                        PollSource::Resource(id)
                    }),
                    _ => {
                        self.problem(
                            fields.pos,
                            &path,
                            "a poll needs exactly one of \"operation\" or \"resource\"",
                        );
                        None
                    }
                };
                let connection = self.required_string(&fields, "connection");
                let every = self.required(&fields, "every").and_then(|node| {
                    let text = self.string(node, &fields.child("every"))?;
                    schedule::parse_duration(&text)
                        .map_err(|message| self.problem(node.pos, &fields.child("every"), message))
                        .ok()
                });
                let cursor = self.optional_string(&fields, "cursor");
                Some(TriggerSpec::Poll {
                    source: source?,
                    connection: connection?,
                    every: every?,
                    cursor,
                    with: with?,
                })
            }
            _ => {
                let fields = self.mapping(body, &path, &["cron"])?;
                let node = self.required(&fields, "cron")?;
                let cron = self.string(node, &fields.child("cron"))?;
                if let Err(message) = schedule::check_cron(&cron) {
                    self.problem(node.pos, &fields.child("cron"), message);
                    return None;
                }
                Some(TriggerSpec::Schedule { cron })
            }
        }
    }

    fn events(&mut self, node: &Node, path: &str, app: Option<&str>) -> Option<Vec<String>> {
        let NodeValue::Seq(items) = &node.value else {
            self.problem(
                node.pos,
                path,
                format!("expected a list of event types, found {}", node.shape()),
            );
            return None;
        };
        if items.is_empty() {
            self.problem(node.pos, path, "list at least one event type");
        }
        let mut events = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let Some(event) = self.string(item, &item_path) else {
                continue;
            };
            if app == Some("ghl") && !super::GHL_WEBHOOK_EVENTS.contains(&event.as_str()) {
                let mut message = format!("unknown GHL event \"{event}\"");
                if let Some(near) = closest(&event, super::GHL_WEBHOOK_EVENTS) {
                    message.push_str(&format!(" (did you mean \"{near}\"?)"));
                }
                self.problem(item.pos, &item_path, message);
            }
            events.push(event);
        }
        Some(events)
    }

    fn operation_site(
        &mut self,
        pos: Pos,
        path: &str,
        id: &str,
        input: Option<(Node, String)>,
        is_resource: bool,
    ) {
        self.sites.operations.push(OpSite {
            pos,
            path: path.to_owned(),
            id: id.to_owned(),
            input,
            is_resource,
            is_poll: false,
        });
    }

    /// Notes the `connection` of `fields`, when it is a string, for the check against the
    /// stored connections.
    fn connection_site(&mut self, fields: &Fields<'_>, used_for: ConnectionUse) {
        if let Some(Node {
            pos,
            value: NodeValue::String(name),
        }) = fields.get("connection")
        {
            self.sites.connections.push(ConnectionSite {
                pos: *pos,
                path: fields.child("connection"),
                name: name.clone(),
                used_for,
            });
        }
    }

    fn steps(&mut self, node: &Node) -> Option<Vec<Step>> {
        let NodeValue::Seq(items) = &node.value else {
            self.problem(
                node.pos,
                "steps",
                format!("expected a list of steps, found {}", node.shape()),
            );
            return None;
        };
        let mut steps = Vec::new();
        let mut complete = true;
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (index, item) in items.iter().enumerate() {
            match self.step(item, index, &mut seen) {
                Some(step) => steps.push(step),
                None => complete = false,
            }
        }
        complete.then_some(steps)
    }

    fn step(
        &mut self,
        node: &Node,
        index: usize,
        seen: &mut BTreeMap<String, usize>,
    ) -> Option<Step> {
        const KINDS: [&str; 4] = ["filter", "map", "action", "lookup"];
        let path = format!("steps[{index}]");
        let fields = self.mapping(
            node,
            &path,
            &["id", "description", "filter", "map", "action", "lookup"],
        )?;
        let id = self.required_string(&fields, "id");
        if let (Some(id), Some(id_node)) = (&id, fields.get("id")) {
            self.step_name(id, id_node.pos, &fields.child("id"), index, seen);
        }
        let (kind, body, kind_path) = self.one_of(&fields, &KINDS, "step")?;
        let step = Some(index);
        let kind = match kind {
            "filter" => {
                let body_fields = self.mapping(body, &kind_path, &["when"])?;
                let when_node = self.required(&body_fields, "when")?;
                let when = self.string(when_node, &body_fields.child("when"))?;
                self.expression(when_node, &body_fields.child("when"), step);
                StepKind::Filter { when }
            }
            "map" => {
                let body_fields = self.mapping(body, &kind_path, &["fields"])?;
                let fields_node = self.required(&body_fields, "fields")?;
                let fields_path = body_fields.child("fields");
                let NodeValue::Map(entries) = &fields_node.value else {
                    self.problem(
                        fields_node.pos,
                        &fields_path,
                        format!(
                            "expected a mapping of fields, found {}",
                            fields_node.shape()
                        ),
                    );
                    return None;
                };
                self.expression(fields_node, &fields_path, step);
                let fields = entries
                    .iter()
                    .map(|(key, value)| (key.name.clone(), value.to_json()))
                    .collect();
                StepKind::Map { fields }
            }
            "action" => {
                let body_fields = self.mapping(
                    body,
                    &kind_path,
                    &[
                        "operation",
                        "connection",
                        "input",
                        "match",
                        "write",
                        "on_error",
                    ],
                )?;
                let (operation, connection, input) = self.call(&body_fields, step);
                let write = match body_fields.get("write") {
                    None => Some(BTreeMap::new()),
                    Some(node) => {
                        self.write_policies(node, &body_fields.child("write"), input.as_ref())
                    }
                };
                let match_on = match body_fields.get("match") {
                    None => Some(None),
                    Some(node) => self
                        .match_spec(node, &body_fields.child("match"), step)
                        .map(Some),
                };
                let on_error = match body_fields.get("on_error") {
                    None => Some(OnError::default()),
                    Some(node) => {
                        match self.string(node, &body_fields.child("on_error")).as_deref() {
                            Some("retry") => Some(OnError::Retry),
                            Some("dlq") => Some(OnError::Dlq),
                            Some(other) => {
                                self.problem(
                                    node.pos,
                                    &body_fields.child("on_error"),
                                    format!("unknown on_error \"{other}\" (expected retry or dlq)"),
                                );
                                None
                            }
                            None => None,
                        }
                    }
                };
                StepKind::Action {
                    operation: operation?,
                    connection: connection?,
                    input: input?,
                    match_on: match_on?,
                    write: write?,
                    on_error: on_error?,
                }
            }
            _ => {
                let body_fields = self.mapping(
                    body,
                    &kind_path,
                    &["operation", "connection", "input", "as"],
                )?;
                let (operation, connection, input) = self.call(&body_fields, step);
                let alias = self.optional_string(&body_fields, "as");
                if let (Some(alias), Some(alias_node)) = (&alias, body_fields.get("as")) {
                    self.step_name(alias, alias_node.pos, &body_fields.child("as"), index, seen);
                }
                StepKind::Lookup {
                    operation: operation?,
                    connection: connection?,
                    input: input?,
                    alias,
                }
            }
        };
        Some(Step { id: id?, kind })
    }

    /// Records a step id or alias, reporting a malformed or duplicate one.
    fn step_name(
        &mut self,
        name: &str,
        pos: Pos,
        path: &str,
        index: usize,
        seen: &mut BTreeMap<String, usize>,
    ) {
        if !is_identifier(name) {
            self.problem(
                pos,
                path,
                format!(
                    "invalid step id \"{name}\" (expressions read it as steps.<id>: use lowercase letters, digits and '_', starting with a letter or '_')"
                ),
            );
        }
        if let Some(first) = seen.get(name) {
            self.problem(
                pos,
                path,
                format!("duplicate step id \"{name}\" (already used by steps[{first}])"),
            );
        } else {
            seen.insert(name.to_owned(), index);
            self.sites.names.push((name.to_owned(), index));
        }
    }

    /// The `operation`, `connection` and `input` of an action or lookup.
    fn call(
        &mut self,
        fields: &Fields<'_>,
        step: Option<usize>,
    ) -> (Option<String>, Option<String>, Option<Value>) {
        let operation_node = self.required(fields, "operation");
        let operation =
            operation_node.and_then(|node| self.string(node, &fields.child("operation")));
        let connection = self.required_string(fields, "connection");
        let input_path = fields.child("input");
        let input = match fields.get("input") {
            None => Some(Value::Object(serde_json::Map::new())),
            Some(node) if matches!(node.value, NodeValue::Map(_)) => {
                self.expression(node, &input_path, step);
                Some(node.to_json())
            }
            Some(node) => {
                self.problem(
                    node.pos,
                    &input_path,
                    format!("expected a mapping, found {}", node.shape()),
                );
                None
            }
        };
        if let (Some(id), Some(node)) = (&operation, operation_node) {
            let input_node = fields.get("input").cloned().map(|node| (node, input_path));
            self.operation_site(node.pos, &fields.child("operation"), id, input_node, false);
            self.connection_site(fields, ConnectionUse::Operation(id.clone()));
        }
        (operation, connection, input)
    }

    /// An action's `write:` mapping, input field → write policy. A field the input does not
    /// write is reported: a policy on it would do nothing, which is most likely a typo.
    fn write_policies(
        &mut self,
        node: &Node,
        path: &str,
        input: Option<&Value>,
    ) -> Option<BTreeMap<String, WritePolicy>> {
        let NodeValue::Map(entries) = &node.value else {
            self.problem(
                node.pos,
                path,
                format!(
                    "expected a mapping of input fields to always, if_empty or never, found {}",
                    node.shape()
                ),
            );
            return None;
        };
        let mut policies = BTreeMap::new();
        let mut complete = true;
        for (key, value) in entries {
            let field_path = format!("{path}.{}", key.name);
            let policy = match self.string(value, &field_path).as_deref() {
                Some(name) => match WritePolicy::parse(name) {
                    Some(policy) => policy,
                    None => {
                        self.problem(
                            value.pos,
                            &field_path,
                            format!(
                                "unknown write policy \"{name}\" (expected always, if_empty or never)"
                            ),
                        );
                        complete = false;
                        continue;
                    }
                },
                None => {
                    complete = false;
                    continue;
                }
            };
            if let Some(Value::Object(fields)) = input
                && !fields.contains_key(&key.name)
            {
                self.problem(
                    key.pos,
                    &field_path,
                    format!(
                        "\"{}\" is not a field of this action's input, so its write policy would do nothing",
                        key.name
                    ),
                );
                complete = false;
                continue;
            }
            policies.insert(key.name.clone(), policy);
        }
        complete.then_some(policies)
    }

    fn match_spec(&mut self, node: &Node, path: &str, step: Option<usize>) -> Option<MatchSpec> {
        let fields = self.mapping(node, path, &["field", "value"])?;
        let field = self.required_string(&fields, "field");
        let value_node = self.required(&fields, "value");
        let value = value_node.and_then(|node| self.string(node, &fields.child("value")));
        if let Some(node) = value_node {
            self.expression(node, &fields.child("value"), step);
        }
        Some(MatchSpec {
            field: field?,
            value: value?,
        })
    }
}

fn is_flow_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The candidate nearest to `word` by edit distance, when it is near enough to be a typo: the
/// "did you mean" of flow validation and of the commands that take an operation or connection name.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(2, 4);
    candidates
        .into_iter()
        .map(|candidate| (strsim::levenshtein(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_near_misses_only() {
        let candidates = ["ghl.contact.create", "ghl.contact.get", "ghl.note.create"];
        assert_eq!(
            closest("ghl.contact.creat", candidates),
            Some("ghl.contact.create")
        );
        assert_eq!(closest("flickr.photo.list", candidates), None);
        assert_eq!(
            closest("opertion", ["operation", "connection"]),
            Some("operation")
        );
    }
}

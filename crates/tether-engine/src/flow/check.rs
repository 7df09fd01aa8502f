//! Checks that need the whole flow: expressions compile, call only known filters, tests and
//! functions, and read only known variables and earlier steps; with a catalog, operation ids
//! exist and are of the right kind, inputs name the operation's fields and their literal values
//! have its types, the trigger's fields exist and a webhook's app has intake; with the stored
//! connections, each connection exists and belongs to the right app.

use std::collections::BTreeSet;

use serde_json::Value;
use tether_core::catalog::{OperationKind, OperationMeta};

use super::decode::{
    ConnectionSite, ConnectionUse, OpSite, RawProblem, Sites, TriggerSite, closest,
};
use super::yaml::{Node, NodeValue};
use super::{KnownConnection, PROVISIONAL_PREFIXES, WEBHOOK_APPS, webhook_fields};
use crate::expr;

pub(crate) fn check(
    sites: &Sites,
    catalog: Option<&[OperationMeta]>,
    connections: Option<&[KnownConnection]>,
) -> Vec<RawProblem> {
    let mut problems = Vec::new();
    let trigger_fields =
        catalog.and_then(|catalog| trigger_fields(sites.trigger.as_ref()?, catalog));
    for site in &sites.expressions {
        let mut variables = match expr::compile(&site.text) {
            Ok(variables) => variables,
            Err(message) => {
                problems.push((site.pos, site.path.clone(), message));
                continue;
            }
        };
        for message in expr::unknown_calls(&site.text) {
            problems.push((site.pos, site.path.clone(), message));
        }
        // minijinja's analysis loses variables under a slice (`(trigger.x | split)[1:]`), so the
        // paths written in the code are read too.
        for block in expr::code_blocks(&site.text) {
            variables.extend(expr::written_paths(block));
        }
        // A call of an unknown function reads as a variable of its name; it was reported above.
        let called: Vec<String> = expr::calls(&site.text)
            .into_iter()
            .filter(|(kind, _)| *kind == expr::CallKind::Function)
            .map(|(_, name)| name)
            .collect();
        let mut unknown_fields = BTreeSet::new();
        for variable in variables {
            if called.contains(&variable) {
                continue;
            }
            if let Some(message) = reference_problem(&variable, site.step, &sites.names) {
                problems.push((site.pos, site.path.clone(), message));
            }
            if let (Some(field), Some(fields)) =
                (variable.strip_prefix("trigger."), &trigger_fields)
            {
                let field = field.split('.').next().unwrap_or_default();
                if !fields.names.iter().any(|known| known == field) {
                    unknown_fields.insert(field.to_owned());
                }
            }
        }
        if let Some(fields) = &trigger_fields {
            for field in unknown_fields {
                let mut message = format!(
                    "`trigger.{field}`: {} have no field `{field}`",
                    fields.described
                );
                if let Some(near) = closest(&field, fields.names.iter().map(String::as_str)) {
                    message.push_str(&format!(" (did you mean `{near}`?)"));
                }
                problems.push((site.pos, site.path.clone(), message));
            }
        }
    }
    if let Some(catalog) = catalog {
        if let Some(TriggerSite::Webhook { app, pos, path, .. }) = &sites.trigger
            && !WEBHOOK_APPS.contains(&app.as_str())
        {
            problems.push((*pos, path.clone(), no_intake(app, catalog)));
        }
        for site in &sites.operations {
            problems.extend(operation_problems(site, catalog));
        }
    }
    if let Some(connections) = connections {
        for site in &sites.connections {
            problems.extend(connection_problem(site, connections));
        }
    }
    problems
}

/// The top-level fields a trigger's events have, when its schema lists them all.
struct TriggerFields {
    names: Vec<String>,
    /// What has them, for messages ("details_flowers.customer.new records").
    described: String,
}

fn trigger_fields(trigger: &TriggerSite, catalog: &[OperationMeta]) -> Option<TriggerFields> {
    match trigger {
        TriggerSite::Webhook { app, events, .. } if app == "ghl" && !events.is_empty() => {
            let mut names = BTreeSet::new();
            for event in events {
                // An event of unknown shape could carry anything.
                names.extend(webhook_fields::fields(event)?);
            }
            let described = match events.as_slice() {
                [one] => one.clone(),
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
                [] => String::new(),
            };
            Some(TriggerFields {
                names: names.into_iter().map(str::to_owned).collect(),
                described: format!("GHL {described} events"),
            })
        }
        TriggerSite::Webhook { .. } => None,
        TriggerSite::Poll { operation } => {
            let operation = catalog
                .iter()
                .find(|meta| &meta.id == operation && meta.kind == OperationKind::Trigger)?;
            let root = &operation.output_schema;
            let record = resolve(root.pointer("/properties/records/items")?, root);
            let (properties, _, closed) = object_shape(record, root);
            // Only a schema that lists every field can say that one is missing.
            (closed && !properties.is_empty()).then(|| TriggerFields {
                names: properties,
                described: format!("{} records", operation.id),
            })
        }
    }
}

/// Why a webhook trigger for `app` never fires, and which poll triggers it has instead.
fn no_intake(app: &str, catalog: &[OperationMeta]) -> String {
    let triggers: Vec<&str> = catalog
        .iter()
        .filter(|operation| operation.app == app && operation.kind == OperationKind::Trigger)
        .map(|operation| operation.id.as_str())
        .collect();
    let mut message = format!("app `{app}` has no webhook intake");
    if triggers.is_empty() {
        message.push_str(&format!(
            " (webhooks are received from {} only)",
            WEBHOOK_APPS.join(", ")
        ));
    } else {
        message.push_str(&format!("; use a poll trigger ({})", triggers.join(", ")));
    }
    message
}

/// How people call an app in messages.
fn app_label(app: &str) -> &str {
    match app {
        "ghl" => "GHL",
        "flickr" => "Flickr",
        other => other,
    }
}

fn connection_problem(
    site: &ConnectionSite,
    connections: &[KnownConnection],
) -> Option<RawProblem> {
    let problem = |message: String| Some((site.pos, site.path.clone(), message));
    let Some(connection) = connections.iter().find(|known| known.name == site.name) else {
        let mut message = format!("connection `{}` does not exist", site.name);
        if let Some(near) = closest(
            &site.name,
            connections.iter().map(|known| known.name.as_str()),
        ) {
            message.push_str(&format!(" (did you mean `{near}`?)"));
        }
        return problem(message);
    };
    let (app, what) = match &site.used_for {
        ConnectionUse::Webhook(app) => (
            app.as_str(),
            format!("this trigger's webhooks come from {}", app_label(app)),
        ),
        ConnectionUse::Operation(id) | ConnectionUse::Resource(id) => {
            let app = id.split('.').next().unwrap_or_default();
            let noun = if matches!(site.used_for, ConnectionUse::Resource(_)) {
                "resource"
            } else {
                "operation"
            };
            (
                app,
                format!(
                    "{id} is a{} {} {noun}",
                    article(app_label(app)),
                    app_label(app)
                ),
            )
        }
    };
    if connection.app == app {
        return None;
    }
    problem(format!(
        "connection `{}` is a{} {} connection, but {what}",
        connection.name,
        article(app_label(&connection.app)),
        app_label(&connection.app)
    ))
}

/// "n" before a word that starts with a vowel sound, as far as app names go.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "n"
    } else {
        ""
    }
}

/// What is wrong with one variable an expression reads, if anything.
fn reference_problem(
    variable: &str,
    step: Option<usize>,
    names: &[(String, usize)],
) -> Option<String> {
    let mut segments = variable.split('.');
    let root = segments.next().unwrap_or_default();
    if !expr::ROOT_VARIABLES.contains(&root) {
        let mut message = format!("unknown variable '{variable}'");
        if let Some(near) = closest(root, expr::ROOT_VARIABLES) {
            message.push_str(&format!(" (did you mean '{near}'?)"));
        } else {
            message.push_str(&format!(
                " (expressions read {})",
                expr::ROOT_VARIABLES.join(", ")
            ));
        }
        return Some(message);
    }
    if root != "steps" {
        return None;
    }
    let current = step.unwrap_or(0);
    let name = segments.next()?;
    match names.iter().find(|(known, _)| known == name) {
        None => {
            let mut message = format!("'{variable}' refers to unknown step '{name}'");
            if let Some(near) = closest(name, names.iter().map(|(known, _)| known.as_str())) {
                message.push_str(&format!(" (did you mean '{near}'?)"));
            }
            Some(message)
        }
        Some((_, index)) if step.is_none() || *index >= current => Some(format!(
            "'{variable}' refers to step '{name}', which has not run yet at this point (steps[{index}])"
        )),
        Some(_) => match segments.next() {
            Some("output") | None => None,
            Some(other) => Some(format!(
                "'{variable}': a step exposes only 'output' (steps.{name}.output), not '{other}'"
            )),
        },
    }
}

fn operation_problems(site: &OpSite, catalog: &[OperationMeta]) -> Vec<RawProblem> {
    let provisional = PROVISIONAL_PREFIXES
        .iter()
        .any(|prefix| site.id.starts_with(prefix));
    if site.is_resource {
        let prefix = format!("{}.", site.id);
        let known = provisional
            || catalog
                .iter()
                .any(|operation| operation.id.starts_with(&prefix));
        return if known {
            Vec::new()
        } else {
            vec![(
                site.pos,
                site.path.clone(),
                format!("unknown resource \"{}\"", site.id),
            )]
        };
    }
    match catalog.iter().find(|operation| operation.id == site.id) {
        Some(operation) if site.is_poll && operation.kind == OperationKind::Action => {
            vec![(
                site.pos,
                site.path.clone(),
                not_a_trigger(operation, catalog),
            )]
        }
        Some(operation) => match &site.input {
            Some((input, path)) => input_problems(operation, input, path),
            None => Vec::new(),
        },
        None if provisional => Vec::new(),
        None => {
            let mut message = format!("unknown operation \"{}\"", site.id);
            if let Some(near) = closest(
                &site.id,
                catalog.iter().map(|operation| operation.id.as_str()),
            ) {
                message.push_str(&format!(" (did you mean \"{near}\"?)"));
            }
            vec![(site.pos, site.path.clone(), message)]
        }
    }
}

/// An action named as a poll trigger: the poller would call it for records it never answers with.
fn not_a_trigger(operation: &OperationMeta, catalog: &[OperationMeta]) -> String {
    let triggers_of = |prefix: &str| -> Vec<&str> {
        catalog
            .iter()
            .filter(|candidate| candidate.kind == OperationKind::Trigger)
            .filter(|candidate| {
                candidate
                    .id
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.') && !rest[1..].contains('.'))
            })
            .map(|candidate| candidate.id.as_str())
            .collect()
    };
    let resource = format!("{}.{}", operation.app, operation.resource());
    let mut message = format!("{} is an action, not a trigger", operation.id);
    let of_resource = triggers_of(&resource);
    if !of_resource.is_empty() {
        message.push_str(&format!(
            "; triggers of {resource}: {}",
            of_resource.join(", ")
        ));
        return message;
    }
    let of_app: Vec<&str> = catalog
        .iter()
        .filter(|candidate| {
            candidate.app == operation.app && candidate.kind == OperationKind::Trigger
        })
        .map(|candidate| candidate.id.as_str())
        .collect();
    if of_app.is_empty() {
        message.push_str(&format!("; {} has no triggers", operation.app));
    } else {
        message.push_str(&format!(
            "; triggers of {}: {}",
            operation.app,
            of_app.join(", ")
        ));
    }
    message
}

/// Required fields missing from an input, fields the operation does not take, and literal values
/// of the wrong type.
///
/// A value with an expression is not checked here: its type is known only when the run evaluates
/// it, and the connector validates the evaluated input against the same schema. A literal
/// (no `{{`) is known now, so its mistake is reported now.
fn input_problems(operation: &OperationMeta, input: &Node, path: &str) -> Vec<RawProblem> {
    let NodeValue::Map(entries) = &input.value else {
        return Vec::new();
    };
    let schema = resolve(&operation.input_schema, &operation.input_schema);
    let (properties, required, closed) = object_shape(schema, &operation.input_schema);
    let mut problems = Vec::new();
    for name in &required {
        if !entries.iter().any(|(key, _)| &key.name == name) {
            problems.push((
                input.pos,
                path.to_owned(),
                format!("missing input \"{name}\", which {} requires", operation.id),
            ));
        }
    }
    if closed && !properties.is_empty() {
        for (key, _) in entries {
            if !properties.contains(&key.name) {
                let mut message = format!("{} takes no input \"{}\"", operation.id, key.name);
                if let Some(near) = closest(&key.name, properties.iter().map(String::as_str)) {
                    message.push_str(&format!(" (did you mean \"{near}\"?)"));
                }
                problems.push((key.pos, format!("{path}.{}", key.name), message));
            }
        }
    }
    let property_schemas = property_schemas(schema, &operation.input_schema);
    for (key, value) in entries {
        if let Some(property) = property_schemas
            .iter()
            .find_map(|(name, property)| (name == &key.name).then_some(*property))
        {
            problems.extend(literal_problems(
                operation,
                value,
                property,
                &format!("{path}.{}", key.name),
                &key.name,
            ));
        }
    }
    problems
}

/// Each property's schema, `allOf` parts merged.
fn property_schemas<'a>(schema: &'a Value, root: &'a Value) -> Vec<(String, &'a Value)> {
    let mut found: Vec<(String, &Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|entries| {
            entries
                .iter()
                .map(|(name, value)| (name.clone(), value))
                .collect()
        })
        .unwrap_or_default();
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            found.extend(property_schemas(resolve(part, root), root));
        }
    }
    found
}

/// Whether a value holds no expression anywhere.
fn is_literal(node: &Node) -> bool {
    match &node.value {
        NodeValue::String(text) => expr::shape(text) == expr::Shape::Literal,
        NodeValue::Seq(items) => items.iter().all(is_literal),
        NodeValue::Map(entries) => entries.iter().all(|(_, value)| is_literal(value)),
        NodeValue::Null | NodeValue::Bool(_) | NodeValue::Number(_) => true,
    }
}

/// A literal value checked against its property's schema; a mapping with some expressions in it
/// has its literal fields checked one by one.
fn literal_problems(
    operation: &OperationMeta,
    node: &Node,
    schema: &Value,
    path: &str,
    field: &str,
) -> Vec<RawProblem> {
    let root = &operation.input_schema;
    if !is_literal(node) {
        let NodeValue::Map(entries) = &node.value else {
            return Vec::new();
        };
        let properties = property_schemas(resolve(schema, root), root);
        return entries
            .iter()
            .filter_map(|(key, value)| {
                let (_, property) = properties.iter().find(|(name, _)| name == &key.name)?;
                Some(literal_problems(
                    operation,
                    value,
                    property,
                    &format!("{path}.{}", key.name),
                    &format!("{field}.{}", key.name),
                ))
            })
            .flatten()
            .collect();
    }
    // The property's schema may refer to the root's definitions, so they go along.
    let mut standalone = schema.clone();
    if let (Value::Object(target), Value::Object(source)) = (&mut standalone, root) {
        for key in ["$defs", "definitions"] {
            if let Some(definitions) = source.get(key) {
                target.insert(key.to_owned(), definitions.clone());
            }
        }
    }
    // A schema the validator cannot build is the catalog's problem, not the flow's.
    let Ok(validator) = jsonschema::validator_for(&standalone) else {
        return Vec::new();
    };
    let value = node.to_json();
    match validator.iter_errors(&value).next() {
        Some(error) => vec![(
            node.pos,
            path.to_owned(),
            format!("{} input \"{field}\": {error}", operation.id),
        )],
        None => Vec::new(),
    }
}

/// Follows a local `$ref` (`#/$defs/ContactInput`).
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|pointer| root.pointer(&format!("/{pointer}")).unwrap_or(schema))
            .unwrap_or(schema),
        None => schema,
    }
}

/// Property names, required names, and whether other names are refused; `allOf` parts merge.
fn object_shape(schema: &Value, root: &Value) -> (Vec<String>, Vec<String>, bool) {
    let mut properties: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|entries| entries.keys().cloned().collect())
        .unwrap_or_default();
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // An object schema that does not say otherwise is treated as closed: serde would ignore an
    // unknown field silently, so a misspelt one would otherwise vanish from every run.
    let mut closed = !matches!(
        schema.get("additionalProperties"),
        Some(Value::Bool(true)) | Some(Value::Object(_))
    );
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            let (more_properties, more_required, part_closed) =
                object_shape(resolve(part, root), root);
            properties.extend(more_properties);
            required.extend(more_required);
            closed &= part_closed;
        }
    }
    if schema.get("anyOf").is_some() || schema.get("oneOf").is_some() {
        // Alternatives make "unknown" ambiguous; only the names listed are trusted.
        closed = false;
    }
    (properties, required, closed)
}

//! Checks that need the whole flow: expressions compile and read only known variables and
//! earlier steps, and, with a catalog, operation ids exist and inputs name the operation's fields.

use serde_json::Value;
use tether_core::catalog::OperationMeta;

use super::PROVISIONAL_PREFIXES;
use super::decode::{OpSite, RawProblem, Sites, closest};
use super::yaml::{Node, NodeValue};
use crate::expr;

pub(crate) fn check(sites: &Sites, catalog: Option<&[OperationMeta]>) -> Vec<RawProblem> {
    let mut problems = Vec::new();
    for site in &sites.expressions {
        let variables = match expr::compile(&site.text) {
            Ok(variables) => variables,
            Err(message) => {
                problems.push((site.pos, site.path.clone(), message));
                continue;
            }
        };
        for variable in variables {
            if let Some(message) = reference_problem(&variable, site.step, &sites.names) {
                problems.push((site.pos, site.path.clone(), message));
            }
        }
    }
    if let Some(catalog) = catalog {
        for site in &sites.operations {
            problems.extend(operation_problems(site, catalog));
        }
    }
    problems
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

/// Required fields missing from an input, and fields the operation does not take.
///
/// Only the names are checked: values are mostly expressions whose types are known only when the
/// run evaluates them, and the connector validates the evaluated input against the same schema.
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
    problems
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

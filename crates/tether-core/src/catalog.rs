//! The catalog's vocabulary: what an operation is called, what it needs and what it takes and
//! gives, as data the engine, the REST API and the UI can read without knowing the connector.
//!
//! Connectors build one [`OperationMeta`] per operation; nothing here does I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether an operation is started by a flow (an action) or starts one (a trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Called by a flow step: reads or changes something in the app.
    Action,
    /// Produces events that start flows (a webhook or a poll).
    Trigger,
}

/// What the catalog knows about one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationMeta {
    /// Stable id, `app.resource.verb` in lowercase, e.g. `ghl.contact.create`.
    pub id: String,
    /// The app, the first segment of `id` (`ghl`).
    pub app: String,
    /// A short title for lists (`Create contact`).
    pub title: String,
    /// One or two sentences in plain words.
    pub description: String,
    /// Action or trigger.
    pub kind: OperationKind,
    /// OAuth scopes the connection needs for this operation.
    pub scopes: Vec<String>,
    /// JSON Schema of the input.
    pub input_schema: Value,
    /// JSON Schema of the output.
    pub output_schema: Value,
}

impl OperationMeta {
    /// An action with empty scopes and schemas; the app is taken from `id`.
    pub fn action(
        id: impl Into<String>,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::new(
            OperationKind::Action,
            id.into(),
            title.into(),
            description.into(),
        )
    }

    /// A trigger with empty scopes and schemas; the app is taken from `id`.
    pub fn trigger(
        id: impl Into<String>,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::new(
            OperationKind::Trigger,
            id.into(),
            title.into(),
            description.into(),
        )
    }

    fn new(kind: OperationKind, id: String, title: String, description: String) -> Self {
        let app = id.split('.').next().unwrap_or_default().to_owned();
        OperationMeta {
            id,
            app,
            title,
            description,
            kind,
            scopes: Vec::new(),
            input_schema: Value::Null,
            output_schema: Value::Null,
        }
    }

    /// Sets the scopes.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the input and output schemas.
    pub fn with_schemas(mut self, input_schema: Value, output_schema: Value) -> Self {
        self.input_schema = input_schema;
        self.output_schema = output_schema;
        self
    }

    /// The resource segment of the id (`contact` in `ghl.contact.create`).
    pub fn resource(&self) -> &str {
        self.id.split('.').nth(1).unwrap_or_default()
    }

    /// The last segment of the id (`create` in `ghl.contact.create`).
    pub fn verb(&self) -> &str {
        self.id.rsplit('.').next().unwrap_or_default()
    }
}

/// Whether `id` has the catalog's shape: at least three dot-separated segments of lowercase ASCII
/// letters, digits and `_`, each starting with a letter.
pub fn is_valid_operation_id(id: &str) -> bool {
    let segments: Vec<&str> = id.split('.').collect();
    segments.len() >= 3
        && segments.iter().all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// The operation with this id.
pub fn find<'a>(operations: &'a [OperationMeta], id: &str) -> Option<&'a OperationMeta> {
    operations.iter().find(|operation| operation.id == id)
}

/// The problems of a list of operations: malformed ids, duplicate ids, an `app` that does not
/// match its id, empty titles or descriptions, and missing schemas. Empty when all is well.
pub fn problems(operations: &[OperationMeta]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for operation in operations {
        let id = &operation.id;
        if !is_valid_operation_id(id) {
            problems.push(format!("{id}: malformed id"));
        }
        if !seen.insert(id.as_str()) {
            problems.push(format!("{id}: duplicate id"));
        }
        if !id.starts_with(&format!("{}.", operation.app)) {
            problems.push(format!(
                "{id}: app `{}` does not match the id",
                operation.app
            ));
        }
        if operation.title.trim().is_empty() {
            problems.push(format!("{id}: empty title"));
        }
        if operation.description.trim().is_empty() {
            problems.push(format!("{id}: empty description"));
        }
        for (which, schema) in [
            ("input", &operation.input_schema),
            ("output", &operation.output_schema),
        ] {
            if !is_nonempty_schema(schema) {
                problems.push(format!("{id}: empty {which} schema"));
            }
        }
    }
    problems
}

/// A schema that says something: an object with at least one keyword, or `true`.
fn is_nonempty_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => !map.is_empty(),
        Value::Bool(true) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_checked() {
        let check =
            |id: &str, expected: bool| assert_eq!(is_valid_operation_id(id), expected, "{id}");
        check("ghl.contact.create", true);
        check("ghl.contact.remove_all", true);
        check("ghl.contact", false);
        check("ghl.Contact.create", false);
        check("ghl..create", false);
        check("ghl.contact.2x", false);
    }

    #[test]
    fn meta_parts_come_from_the_id() {
        let meta =
            OperationMeta::action("ghl.task.complete", "Complete task", "Marks a task done.");
        assert_eq!(meta.app, "ghl");
        assert_eq!(meta.resource(), "task");
        assert_eq!(meta.verb(), "complete");
        assert_eq!(meta.kind, OperationKind::Action);
        let value = serde_json::to_value(&meta).unwrap();
        assert_eq!(value["kind"], "action");
    }

    #[test]
    fn problems_name_duplicates_and_empty_schemas() {
        let good = OperationMeta::action("ghl.contact.get", "Get contact", "Reads a contact.")
            .with_schemas(json!({"type": "object"}), json!(true));
        assert!(problems(std::slice::from_ref(&good)).is_empty());
        let empty = OperationMeta::action("ghl.contact.get", "Get contact", "Reads a contact.");
        let found = problems(&[good, empty]);
        assert!(found.iter().any(|p| p.contains("duplicate")), "{found:?}");
        assert!(
            found.iter().any(|p| p.contains("empty input schema")),
            "{found:?}"
        );
    }
}

//! The catalog as the editor and people read it: the apps, every operation with its input and
//! output schema (references inlined, so a form can be generated without a resolver) and an
//! example value, and HighLevel's webhook events with their official example payloads, which are
//! a flow's first sample before any real event arrived (UI rule 3: mapping never needs a run).

use serde::Serialize;
use serde_json::{Map, Value, json};
use tether_core::catalog::{OperationKind, OperationMeta};
use utoipa::ToSchema;

use crate::Service;

/// Everything the palette, the inspector and the Apps page show.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogView {
    /// The apps, in the order people meet them (HighLevel first).
    pub apps: Vec<AppView>,
    /// Every operation, by app then id.
    pub operations: Vec<OperationView>,
    /// The webhook events a flow can be started by.
    pub events: Vec<WebhookEventView>,
}

/// One app.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    /// The app id, the first segment of its operations (`ghl`).
    pub id: String,
    /// Its name for people (`HighLevel`).
    pub title: String,
    /// How a connection to it authenticates: `oauth2`, `private_token`, `oauth1`, `api_key`.
    pub auth: Vec<String>,
    /// How many triggers (polls and webhook events) it has.
    pub triggers: usize,
    /// How many actions it has.
    pub actions: usize,
}

/// One operation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationView {
    /// `app.resource.verb` (`ghl.contact.create`).
    pub id: String,
    /// The app id.
    pub app: String,
    /// A short title (`Create contact`).
    pub title: String,
    /// What it does, in plain words.
    pub description: String,
    /// `action` or `trigger` (a poll).
    pub kind: String,
    /// OAuth scopes a connection needs for it.
    pub scopes: Vec<String>,
    /// JSON Schema of its input, every `$ref` inlined.
    #[schema(value_type = Object)]
    pub input_schema: Value,
    /// JSON Schema of its output, every `$ref` inlined.
    #[schema(value_type = Object)]
    pub output_schema: Value,
    /// An example of its output (a trigger's record), made from the output schema: a sample to
    /// map from before any real record is known.
    #[schema(value_type = Object)]
    pub example: Value,
}

/// A webhook event that starts flows.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventView {
    /// The app that sends it (`ghl`).
    pub app: String,
    /// The event type, as flows name it (`ContactCreate`).
    pub event: String,
    /// For people (`Contact created`).
    pub title: String,
    /// The official example payload (the record as `trigger` in expressions).
    #[schema(value_type = Object)]
    pub example: Value,
}

/// HighLevel's webhook events and their example payloads, from GoHighLevel/highlevel-api-docs
/// (`docs/webhook events/<Event>.md`, CC0-1.0), as the GHL simulator keeps them.
const GHL_EVENTS: [(&str, &str, &str); 14] = [
    (
        "ContactCreate",
        "Contact created",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/ContactCreate.json"),
    ),
    (
        "ContactUpdate",
        "Contact updated",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/ContactUpdate.json"),
    ),
    (
        "ContactDelete",
        "Contact deleted",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/ContactDelete.json"),
    ),
    (
        "ContactDndUpdate",
        "Contact's do-not-disturb changed",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/ContactDndUpdate.json"),
    ),
    (
        "ContactTagUpdate",
        "Contact's tags changed",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/ContactTagUpdate.json"),
    ),
    (
        "NoteCreate",
        "Note created",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/NoteCreate.json"),
    ),
    (
        "NoteUpdate",
        "Note updated",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/NoteUpdate.json"),
    ),
    (
        "NoteDelete",
        "Note deleted",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/NoteDelete.json"),
    ),
    (
        "TaskCreate",
        "Task created",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/TaskCreate.json"),
    ),
    (
        "TaskComplete",
        "Task completed",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/TaskComplete.json"),
    ),
    (
        "TaskDelete",
        "Task deleted",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/TaskDelete.json"),
    ),
    (
        "AppointmentCreate",
        "Appointment created",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/AppointmentCreate.json"),
    ),
    (
        "AppointmentUpdate",
        "Appointment updated",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/AppointmentUpdate.json"),
    ),
    (
        "AppointmentDelete",
        "Appointment deleted",
        include_str!("../../tether-sim/spec/ghl/webhook-examples/AppointmentDelete.json"),
    ),
];

impl Service {
    /// The catalog: apps, operations (schemas inlined, with an example) and webhook events.
    pub fn catalog_view(&self) -> CatalogView {
        let events: Vec<WebhookEventView> = GHL_EVENTS
            .iter()
            .map(|(event, title, example)| WebhookEventView {
                app: "ghl".to_owned(),
                event: (*event).to_owned(),
                title: (*title).to_owned(),
                example: serde_json::from_str(example).unwrap_or(Value::Null),
            })
            .collect();
        let mut operations: Vec<OperationView> =
            self.catalog().iter().map(operation_view).collect();
        operations.sort_by(|a, b| {
            app_rank(&a.app)
                .cmp(&app_rank(&b.app))
                .then(a.id.cmp(&b.id))
        });
        let mut apps: Vec<AppView> = Vec::new();
        for operation in &operations {
            if apps.last().is_none_or(|app| app.id != operation.app) {
                apps.push(AppView {
                    id: operation.app.clone(),
                    title: app_title(&operation.app),
                    auth: app_auth(&operation.app),
                    triggers: events.iter().filter(|e| e.app == operation.app).count(),
                    actions: 0,
                });
            }
            let app = apps.last_mut().expect("pushed above");
            match operation.kind.as_str() {
                "trigger" => app.triggers += 1,
                _ => app.actions += 1,
            }
        }
        CatalogView {
            apps,
            operations,
            events,
        }
    }
}

fn operation_view(meta: &OperationMeta) -> OperationView {
    let input_schema = inline_refs(&meta.input_schema);
    let output_schema = inline_refs(&meta.output_schema);
    let example = example_of(&output_schema, "", 0);
    OperationView {
        id: meta.id.clone(),
        app: meta.app.clone(),
        title: meta.title.clone(),
        description: meta.description.clone(),
        kind: match meta.kind {
            OperationKind::Action => "action",
            OperationKind::Trigger => "trigger",
        }
        .to_owned(),
        scopes: meta.scopes.clone(),
        input_schema,
        output_schema,
        example,
    }
}

fn app_rank(app: &str) -> (u8, &str) {
    match app {
        "ghl" => (0, app),
        "flickr" => (1, app),
        _ => (2, app),
    }
}

fn app_title(app: &str) -> String {
    match app {
        "ghl" => "HighLevel".to_owned(),
        "flickr" => "Flickr".to_owned(),
        "details_flowers" => tether_core::manifest::details_flowers()
            .map(|manifest| manifest.title)
            .unwrap_or_else(|_| "Details Flowers".to_owned()),
        other => other.replace('_', " "),
    }
}

fn app_auth(app: &str) -> Vec<String> {
    let kinds: &[&str] = match app {
        "ghl" => &["oauth2", "private_token"],
        "flickr" => &["oauth1"],
        _ => &["api_key"],
    };
    kinds.iter().map(|kind| (*kind).to_owned()).collect()
}

/// `schema` with every local `$ref` (`#/$defs/…`, `#/definitions/…`) replaced by what it names
/// (sibling keys such as `description` kept), and the definitions dropped. A reference back into
/// a definition being inlined becomes `{"type": "object"}`, so recursive types end.
pub fn inline_refs(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut inlined = inline(schema, &defs, &mut Vec::new());
    if let Some(root) = inlined.as_object_mut() {
        root.remove("$defs");
        root.remove("definitions");
    }
    inlined
}

fn inline(value: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    match value {
        Value::Object(object) => {
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|target| {
                    target
                        .strip_prefix("#/$defs/")
                        .or_else(|| target.strip_prefix("#/definitions/"))
                })
            {
                if stack.iter().any(|seen| seen == name) {
                    return json!({"type": "object"});
                }
                let Some(target) = defs.get(name) else {
                    return value.clone();
                };
                stack.push(name.to_owned());
                let mut resolved = inline(target, defs, stack);
                stack.pop();
                if let Some(resolved) = resolved.as_object_mut() {
                    for (key, sibling) in object {
                        if key != "$ref" {
                            resolved.insert(key.clone(), inline(sibling, defs, stack));
                        }
                    }
                }
                return resolved;
            }
            Value::Object(
                object
                    .iter()
                    .map(|(key, child)| (key.clone(), inline(child, defs, stack)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|child| inline(child, defs, stack))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An example value for `schema` (already inlined): the schema's own `examples`, `example`,
/// `default`, `const` or first `enum` value when it has one, else a plausible value of its type,
/// chosen by the field's `name` for strings (an e-mail address for `email`). Depth-bounded.
pub fn example_of(schema: &Value, name: &str, depth: usize) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    let Some(object) = schema.as_object() else {
        return Value::Null;
    };
    if let Some(first) = object
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|all| all.first())
    {
        return first.clone();
    }
    for key in ["example", "default", "const"] {
        if let Some(value) = object.get(key) {
            return value.clone();
        }
    }
    if let Some(first) = object
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find(|value| !value.is_null()))
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(choices) = object.get(key).and_then(Value::as_array) {
            let chosen = choices
                .iter()
                .find(|choice| choice.get("type").and_then(Value::as_str) != Some("null"));
            if let Some(choice) = chosen {
                return example_of(choice, name, depth + 1);
            }
        }
    }
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if object.contains_key("properties") => "object",
        _ => "null",
    };
    match kind {
        "object" => {
            let mut example = Map::new();
            if let Some(properties) = object.get("properties").and_then(Value::as_object) {
                for (key, property) in properties {
                    example.insert(key.clone(), example_of(property, key, depth + 1));
                }
            }
            Value::Object(example)
        }
        "array" => {
            let item = object
                .get("items")
                .map(|items| example_of(items, name, depth + 1))
                .unwrap_or(Value::Null);
            if item.is_null() {
                json!([])
            } else {
                json!([item])
            }
        }
        "string" => Value::String(example_string(
            name,
            object.get("format").and_then(Value::as_str),
        )),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

fn example_string(name: &str, format: Option<&str>) -> String {
    let key = name.to_ascii_lowercase().replace(['_', '-'], "");
    let text = match format {
        Some("email") => "jane.doe@example.com",
        Some("date-time") => "2026-01-15T09:30:00Z",
        Some("date") => "2026-01-15",
        Some("uri" | "url") => "https://example.com/",
        _ if key.contains("email") => "jane.doe@example.com",
        _ if key.contains("phone") => "+14155550123",
        _ if key == "firstname" || key == "givenname" => "Jane",
        _ if key == "lastname" || key == "familyname" => "Doe",
        _ if key.contains("name") => "Jane Doe",
        _ if key.ends_with("id") => "abc123",
        _ if key.contains("date") || key.ends_with("at") => "2026-01-15T09:30:00Z",
        _ if key.contains("url") || key.contains("website") => "https://example.com/",
        _ => "text",
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_inlined_with_their_siblings_and_recursion_ends() {
        let schema = json!({
            "type": "object",
            "properties": {
                "owner": {"$ref": "#/$defs/Person", "description": "Who owns it"},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
            },
            "$defs": {
                "Person": {"type": "object", "properties": {
                    "email": {"type": "string"},
                    "manager": {"$ref": "#/$defs/Person"},
                }},
                "Tag": {"type": "string"},
            },
        });
        let inlined = inline_refs(&schema);
        assert_eq!(inlined.get("$defs"), None);
        let owner = &inlined["properties"]["owner"];
        assert_eq!(owner["description"], "Who owns it");
        assert_eq!(owner["properties"]["email"]["type"], "string");
        assert_eq!(owner["properties"]["manager"], json!({"type": "object"}));
        assert_eq!(
            inlined["properties"]["tags"]["items"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn an_example_prefers_the_schemas_own_values_then_fits_the_field_names() {
        let schema = json!({
            "type": "object",
            "properties": {
                "email": {"type": ["string", "null"]},
                "first_name": {"type": "string"},
                "status": {"enum": [null, "active", "archived"]},
                "count": {"type": "integer", "default": 7},
                "tags": {"type": "array", "items": {"type": "string", "examples": ["vip"]}},
                "when": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
            },
        });
        assert_eq!(
            example_of(&schema, "", 0),
            json!({
                "email": "jane.doe@example.com",
                "first_name": "Jane",
                "status": "active",
                "count": 7,
                "tags": ["vip"],
                "when": "2026-01-15T09:30:00Z",
            })
        );
    }

    #[test]
    fn every_ghl_event_example_is_a_json_object() {
        for (event, _, text) in GHL_EVENTS {
            let example: Value = serde_json::from_str(text)
                .unwrap_or_else(|error| panic!("{event}'s example is not JSON: {error}"));
            assert!(example.is_object(), "{event}: {example}");
        }
    }
}

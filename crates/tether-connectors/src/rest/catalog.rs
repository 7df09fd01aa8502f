//! A manifest's catalog: one [`OperationMeta`] per declared action, `find_by_<field>` search and
//! polling trigger, with JSON Schemas built from the manifest's fields, and the parsing of an
//! operation id back into what it does.

use serde_json::{Map, Value, json};
use tether_core::catalog::OperationMeta;
use tether_core::manifest::{
    ActionVerb, Field, FieldType, Format, Manifest, Resource, TriggerKind,
};

/// What an operation id of a manifest stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operation<'a> {
    /// A declared action.
    Action(&'a Resource, ActionVerb),
    /// `find_by_<field>`.
    FindBy(&'a Resource, &'a str),
    /// A polling trigger.
    Trigger(&'a Resource, TriggerKind),
}

/// Finds the operation `id` of `manifest`.
pub fn operation<'a>(manifest: &'a Manifest, id: &str) -> Option<Operation<'a>> {
    let rest = id.strip_prefix(&manifest.app)?.strip_prefix('.')?;
    let (name, verb) = rest.split_once('.')?;
    let resource = manifest.resource(name)?;
    if let Some(field) = verb.strip_prefix("find_by_") {
        let field = resource
            .search_by
            .iter()
            .find(|declared| *declared == field)?;
        return Some(Operation::FindBy(resource, field));
    }
    if let Some(action) = resource
        .actions
        .iter()
        .find(|action| action.as_str() == verb)
    {
        return Some(Operation::Action(resource, *action));
    }
    resource
        .triggers
        .iter()
        .find(|trigger| trigger.as_str() == verb)
        .map(|trigger| Operation::Trigger(resource, *trigger))
}

/// Every operation of `manifest`, in declaration order.
pub fn catalog(manifest: &Manifest) -> Vec<OperationMeta> {
    let app = &manifest.app;
    let mut operations = Vec::new();
    for resource in &manifest.resources {
        let (name, title) = (&resource.name, &resource.title);
        let lower = title.to_lowercase();
        let record = record_schema(resource);
        let id_input = object(
            [(
                resource.id_field.clone(),
                json!({"type": "string", "minLength": 1}),
            )],
            &[&resource.id_field],
        );
        for verb in &resource.actions {
            let id = format!("{app}.{name}.{}", verb.as_str());
            let (op_title, description, input, output) = match verb {
                ActionVerb::List => (
                    format!("List {lower}s"),
                    format!("Reads {lower} records page by page, up to `limit` (100 by default)."),
                    object(
                        [
                            (
                                "limit".to_owned(),
                                json!({"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT}),
                            ),
                            (
                                "updated_since".to_owned(),
                                json!({"type": "string", "format": "date-time"}),
                            ),
                        ],
                        &[],
                    ),
                    items_schema(&record),
                ),
                ActionVerb::Get => (
                    format!("Get {lower}"),
                    format!("Reads one {lower} by its id."),
                    id_input.clone(),
                    record.clone(),
                ),
                ActionVerb::Create => (
                    format!("Create {lower}"),
                    format!("Creates a {lower}; the service sets its id and timestamps."),
                    input_schema(resource, None),
                    record.clone(),
                ),
                ActionVerb::Update => (
                    format!("Update {lower}"),
                    format!("Changes the given fields of a {lower}; others keep their values."),
                    input_schema(resource, Some(&resource.id_field)),
                    record.clone(),
                ),
                ActionVerb::Delete => (
                    format!("Delete {lower}"),
                    format!("Deletes a {lower}."),
                    id_input.clone(),
                    object(
                        [
                            ("deleted".to_owned(), json!({"type": "boolean"})),
                            (resource.id_field.clone(), json!({"type": "string"})),
                        ],
                        &["deleted", &resource.id_field],
                    ),
                ),
            };
            operations
                .push(OperationMeta::action(id, op_title, description).with_schemas(input, output));
        }
        for field_name in &resource.search_by {
            let Some(field) = resource.field(field_name) else {
                continue;
            };
            operations.push(
                OperationMeta::action(
                    format!("{app}.{name}.find_by_{field_name}"),
                    format!("Find {lower} by {}", field_name.replace('_', " ")),
                    format!("Finds the {lower} records whose `{field_name}` equals the value."),
                )
                .with_schemas(
                    object([(field_name.clone(), field_schema(field))], &[field_name]),
                    items_schema(&record),
                ),
            );
        }
        for trigger in &resource.triggers {
            let (op_title, description) = match trigger {
                TriggerKind::New => (
                    format!("New {lower}"),
                    format!("Polls for {lower} records created since the cursor."),
                ),
                TriggerKind::Updated => (
                    format!("New or updated {lower}"),
                    format!("Polls for {lower} records changed since the cursor."),
                ),
            };
            let cursor = json!({
                "type": "object",
                "properties": {
                    "time": {"type": "string", "format": "date-time"},
                    "id": {"type": "string"}
                },
                "required": ["time", "id"],
                "additionalProperties": false
            });
            let input = object(
                [
                    (
                        "cursor".to_owned(),
                        json!({"anyOf": [cursor.clone(), {"type": "null"}]}),
                    ),
                    (
                        "limit".to_owned(),
                        json!({"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT}),
                    ),
                ],
                &[],
            );
            let output = object(
                [
                    (
                        "records".to_owned(),
                        json!({"type": "array", "items": record.clone()}),
                    ),
                    (
                        "cursor".to_owned(),
                        json!({"anyOf": [cursor, {"type": "null"}]}),
                    ),
                ],
                &["records", "cursor"],
            );
            operations.push(
                OperationMeta::trigger(
                    format!("{app}.{name}.{}", trigger.as_str()),
                    op_title,
                    description,
                )
                .with_schemas(input, output),
            );
        }
    }
    operations
}

/// The most records a `list` or a trigger call returns at once.
pub const MAX_LIST_LIMIT: u64 = 10_000;

fn object<const N: usize>(properties: [(String, Value); N], required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": Map::from_iter(properties),
        "required": required,
        "additionalProperties": false
    })
}

fn items_schema(record: &Value) -> Value {
    json!({
        "type": "object",
        "properties": {"items": {"type": "array", "items": record}},
        "required": ["items"]
    })
}

/// One field's schema, as input.
fn field_schema(field: &Field) -> Value {
    let mut schema = match field.kind {
        FieldType::String => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Number => json!({"type": "number"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Datetime => json!({"type": "string", "format": "date-time"}),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Array => json!({"type": "array"}),
        FieldType::Object => json!({"type": "object"}),
    };
    if field.format == Some(Format::Email) {
        schema["format"] = json!("email");
    }
    if let Some(description) = &field.description {
        schema["description"] = json!(description);
    }
    schema
}

/// A record as the service answers it: every declared field, unset ones null.
fn record_schema(resource: &Resource) -> Value {
    let properties: Map<String, Value> = resource
        .fields
        .iter()
        .map(|field| {
            let schema = if field.name == resource.id_field {
                field_schema(field)
            } else {
                json!({"anyOf": [field_schema(field), {"type": "null"}]})
            };
            (field.name.clone(), schema)
        })
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": [resource.id_field],
    })
}

/// The writable fields; `Some(id_field)` for an update, which names the record and requires
/// nothing else.
fn input_schema(resource: &Resource, id_field: Option<&str>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    if let Some(id_field) = id_field {
        properties.insert(
            id_field.to_owned(),
            json!({"type": "string", "minLength": 1}),
        );
        required.push(id_field.to_owned());
    }
    for field in resource.fields.iter().filter(|field| !field.read_only) {
        let schema = if field.required {
            field_schema(field)
        } else {
            json!({"anyOf": [field_schema(field), {"type": "null"}]})
        };
        properties.insert(field.name.clone(), schema);
        if field.required && id_field.is_none() {
            required.push(field.name.clone());
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

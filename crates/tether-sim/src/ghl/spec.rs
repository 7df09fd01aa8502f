//! The official OpenAPI specs, embedded and turned into JSON Schema validators.
//!
//! The simulator validates request bodies with them (a 422 names each problem), and the
//! conformance tests validate every answer against the schema the spec declares for its status.
//! OpenAPI 3.0 is not quite JSON Schema, so each document is normalised once:
//! - `nullable: true` becomes a `null` alternative of the type;
//! - references to `../common/common-schemas.json#/components/schemas/X` point at a copy of the
//!   common schemas merged into the document as `#/components/schemas/common.X` (the v2 common
//!   file for the v2 specs, the v3 one for the v3 specs, as in the docs repository);
//! - [`SPEC_FIXES`] corrects the few schemas the official spec gets wrong, each with its reason.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Map, Value, json};

use super::ops::{Dialect, OPS, OpSpec, SpecFile, V3_PATHS};

const CONTACTS: &str = include_str!("../../spec/ghl/contacts.openapi.json");
const CALENDARS: &str = include_str!("../../spec/ghl/calendars.openapi.json");
const OAUTH: &str = include_str!("../../spec/ghl/oauth.openapi.json");
const COMMON: &str = include_str!("../../spec/ghl/common-schemas.json");
const CONTACTS_V3: &str = include_str!("../../spec/ghl/contacts-v3.openapi.json");
const OAUTH_V3: &str = include_str!("../../spec/ghl/oauth-v3.openapi.json");
const COMMON_V3: &str = include_str!("../../spec/ghl/common-schemas-v3.json");

/// The replacement of a custom field item of the contact input schemas (see [`SPEC_FIXES`]).
const CUSTOM_FIELD_INPUT: &str = r#"{"type": "object", "properties": {"id": {"type": "string"}, "key": {"type": "string"}}, "anyOf": [{"required": ["id"]}, {"required": ["key"]}]}"#;

/// The replacement of the bulk tag update's `responses` (see [`SPEC_FIXES`]).
const TAG_UPDATE_RESPONSES: &str = r#"{"type": "array", "items": {"type": "object", "properties": {"contactId": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string", "enum": ["success", "error"]}, "oldTags": {"type": "array", "items": {"type": "string"}}, "tagsAdded": {"type": "array", "items": {"type": "string"}}, "tagsRemoved": {"type": "array", "items": {"type": "string"}}}, "required": ["contactId", "message", "type"]}}"#;

/// Corrections to the official schemas: `(file, JSON pointer, replacement, why)`.
///
/// Only what the reference README documents as wrong or contradictory is fixed here.
pub static SPEC_FIXES: &[(SpecFile, &str, &str, &str)] = &[
    (
        SpecFile::Contacts,
        "/components/schemas/CreateContactDto/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "declared `object` with a prose example; the API takes a date string in one of eight formats (README §4.2)",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/UpdateContactDto/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "same mistake as in CreateContactDto: declared `object`, the API takes a date string (README §4.2)",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/UpsertContactDto/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "same mistake as in CreateContactDto: declared `object`, the API takes a date string (README §4.2)",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/CreateContactDto/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "the field schemas require `id` while their descriptions say to pass `id` or `key` (README §13.15), and NumericField / MonetoryField declare `object` values with numeric examples",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/UpdateContactDto/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "as for CreateContactDto: `id` or `key` (README §13.15), numeric values for numeric fields",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/UpsertContactDto/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "as for CreateContactDto: `id` or `key` (README §13.15), numeric values for numeric fields",
    ),
    (
        SpecFile::Contacts,
        "/components/schemas/UpdateTagsResponseDTO/properties/responses",
        TAG_UPDATE_RESPONSES,
        "declared an array of strings while its own example lists objects {contactId, message, type, oldTags, tagsAdded, tagsRemoved}",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/CreateContactDtoV3/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "the v3 spec repeats the v2 mistake: declared `object`, its own description and example give a date string",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/UpdateContactDtoV3/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "as in CreateContactDtoV3: declared `object`, the API takes a date string",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/UpsertContactDtoV3/properties/dateOfBirth",
        r#"{"type": ["string", "null"]}"#,
        "as in CreateContactDtoV3: declared `object`, the API takes a date string",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/CreateContactDtoV3/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "as in v2: `id` or `key` (README §13.15), numeric values for numeric fields",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/UpdateContactDtoV3/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "as in v2: `id` or `key` (README §13.15), numeric values for numeric fields",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/UpsertContactDtoV3/properties/customFields/items",
        CUSTOM_FIELD_INPUT,
        "as in v2: `id` or `key` (README §13.15), numeric values for numeric fields",
    ),
    (
        SpecFile::ContactsV3,
        "/components/schemas/UpdateTagsResponseDTO/properties/responses",
        TAG_UPDATE_RESPONSES,
        "as in v2: declared an array of strings while its own example lists objects",
    ),
    (
        SpecFile::Calendars,
        "/components/schemas/CalendarEventDTO/properties/startTime",
        r#"{"type": "string"}"#,
        "declared `object` while its own example, the webhook payloads and README §13.16 show an ISO string with offset",
    ),
    (
        SpecFile::Calendars,
        "/components/schemas/CalendarEventDTO/properties/endTime",
        r#"{"type": "string"}"#,
        "declared `object` while its own example, the webhook payloads and README §13.16 show an ISO string with offset",
    ),
    (
        SpecFile::Calendars,
        "/components/schemas/CalendarEventDTO/properties/dateAdded",
        r#"{"type": "string"}"#,
        "declared `object` while its own example and the webhook payloads show an ISO string with offset",
    ),
    (
        SpecFile::Calendars,
        "/components/schemas/CalendarEventDTO/properties/dateUpdated",
        r#"{"type": "string"}"#,
        "declared `object` while its own example and the webhook payloads show an ISO string with offset",
    ),
];

fn normalise(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) =
                    reference.strip_prefix("../common/common-schemas.json#/components/schemas/")
            {
                *reference = format!("#/components/schemas/common.{name}");
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(kind)) => {
                        map.insert("type".into(), json!([kind, "null"]));
                    }
                    _ => {
                        // A nullable `$ref` or untyped schema: allow null beside it.
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            // `example`s are documentation, and some are wrong: they never constrain.
            map.remove("example");
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// The normalised document of one spec file.
pub fn document(file: SpecFile) -> &'static Value {
    static DOCS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let mut docs = HashMap::new();
        for (name, text, file, common) in [
            ("contacts", CONTACTS, SpecFile::Contacts, COMMON),
            ("calendars", CALENDARS, SpecFile::Calendars, COMMON),
            ("oauth", OAUTH, SpecFile::OAuth, COMMON),
            ("contacts-v3", CONTACTS_V3, SpecFile::ContactsV3, COMMON_V3),
            ("oauth-v3", OAUTH_V3, SpecFile::OAuthV3, COMMON_V3),
        ] {
            let common: Value =
                serde_json::from_str(common).expect("embedded common schemas are JSON");
            let mut doc: Value = serde_json::from_str(text).expect("embedded spec is JSON");
            for (fix_file, pointer, replacement, _why) in SPEC_FIXES {
                if *fix_file == file {
                    let target = doc
                        .pointer_mut(pointer)
                        .expect("a spec fix points at an existing schema");
                    *target = serde_json::from_str(replacement).expect("a spec fix is JSON");
                }
            }
            let schemas = doc
                .pointer_mut("/components/schemas")
                .and_then(Value::as_object_mut)
                .expect("every spec has components.schemas");
            for (name, schema) in common["components"]["schemas"]
                .as_object()
                .expect("common schemas")
            {
                schemas.insert(format!("common.{name}"), schema.clone());
            }
            normalise(&mut doc);
            docs.insert(name, doc);
        }
        docs
    });
    let key = match file {
        SpecFile::Contacts => "contacts",
        SpecFile::Calendars => "calendars",
        SpecFile::OAuth | SpecFile::Marketplace => "oauth",
        SpecFile::ContactsV3 => "contacts-v3",
        SpecFile::OAuthV3 => "oauth-v3",
    };
    &docs[key]
}

/// Compiles a validator for `schema` whose `$ref`s resolve inside `file`'s document.
pub fn validator(file: SpecFile, schema: &Value) -> Validator {
    let mut root = Map::new();
    root.insert("components".into(), document(file)["components"].clone());
    if let Value::Object(fields) = schema {
        root.extend(fields.clone());
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&Value::Object(root))
        .expect("normalised spec schemas compile")
}

/// The path `op` has in `dialect`'s spec: the v2 path, or its v3 spelling where it differs.
pub fn path_in(op: &OpSpec, dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::V2 => op.path,
        Dialect::V3 => V3_PATHS
            .iter()
            .find(|(_, v2)| *v2 == op.path)
            .map_or(op.path, |(v3, _)| v3),
    }
}

/// Whether `dialect`'s spec serves `op` at `path` (a spec path, see [`super::ops::spec_path`]):
/// v2 operations at their v2 path, v3 ones only where a v3 spec lists them.
pub fn serves(op: &OpSpec, dialect: Dialect, path: &str) -> bool {
    match dialect {
        Dialect::V2 => op.path == path,
        Dialect::V3 => {
            op.spec.v3().is_some()
                && operation(op, dialect).is_some()
                && path_in(op, dialect) == path
        }
    }
}

fn operation(op: &OpSpec, dialect: Dialect) -> Option<(SpecFile, &'static Value)> {
    let file = dialect.file(op);
    if dialect == Dialect::V3 && op.spec.v3().is_none() {
        return None;
    }
    let item = document(file).pointer(&format!(
        "/paths/{}/{}",
        path_in(op, dialect).replace('~', "~0").replace('/', "~1"),
        op.method.as_str().to_lowercase()
    ))?;
    (item["operationId"] == op.operation_id).then_some((file, item))
}

/// Whether `op` takes an `application/x-www-form-urlencoded` body in `dialect`.
pub fn takes_form(op: &OpSpec, dialect: Dialect) -> bool {
    operation(op, dialect).is_some_and(|(_, item)| {
        item.pointer("/requestBody/content/application~1x-www-form-urlencoded")
            .is_some()
    })
}

/// A table per dialect of what `compute` finds for each operation.
fn per_dialect<T>(
    compute: impl Fn(&'static OpSpec, Dialect) -> Option<T>,
) -> HashMap<Dialect, HashMap<&'static str, T>> {
    [Dialect::V2, Dialect::V3]
        .into_iter()
        .map(|dialect| {
            let table = OPS
                .iter()
                .filter_map(|op| Some((op.operation_id, compute(op, dialect)?)))
                .collect();
            (dialect, table)
        })
        .collect()
}

fn find_op(op_id: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|op| op.operation_id == op_id)
}

/// The validator of an operation's JSON request body in `dialect`, when the spec gives a
/// non-empty schema.
pub fn request_validator_for(op_id: &str, dialect: Dialect) -> Option<&'static Validator> {
    static CACHE: OnceLock<HashMap<Dialect, HashMap<&'static str, Validator>>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            per_dialect(|op, dialect| {
                let (file, item) = operation(op, dialect)?;
                let schema = item.pointer("/requestBody/content/application~1json/schema")?;
                let resolved = resolve(file, schema);
                let has_properties = resolved
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|properties| !properties.is_empty());
                has_properties.then(|| validator(file, schema))
            })
        })
        .get(&dialect)?
        .get(op_id)
}

/// The validator of an operation's JSON request body in v2, when the spec gives a non-empty schema.
pub fn request_validator(op_id: &str) -> Option<&'static Validator> {
    request_validator_for(op_id, Dialect::V2)
}

/// The names of the top-level properties a request body may carry in `dialect`, when the spec
/// lists them.
pub fn request_properties_for(op_id: &str, dialect: Dialect) -> Option<&'static [String]> {
    // Computed once per operation: the gate asks on every request that carries a body.
    static CACHE: OnceLock<HashMap<Dialect, HashMap<&'static str, Vec<String>>>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            per_dialect(|op, dialect| {
                let (file, item) = operation(op, dialect)?;
                let schema = resolve(
                    file,
                    item.pointer("/requestBody/content/application~1json/schema")?,
                );
                let properties = schema.get("properties")?.as_object()?;
                (!properties.is_empty()).then(|| properties.keys().cloned().collect())
            })
        })
        .get(&dialect)?
        .get(op_id)
        .map(Vec::as_slice)
}

/// The names of the top-level properties a v2 request body may carry, when the spec lists them.
pub fn request_properties(op_id: &str) -> Option<&'static [String]> {
    request_properties_for(op_id, Dialect::V2)
}

/// The schema an answer with `status` must match in `dialect`, when the spec declares one.
pub fn response_schema_for(
    op_id: &str,
    status: u16,
    dialect: Dialect,
) -> Option<(SpecFile, &'static Value)> {
    let (file, item) = operation(find_op(op_id)?, dialect)?;
    let schema = item.pointer(&format!(
        "/responses/{status}/content/application~1json/schema"
    ))?;
    Some((file, schema))
}

/// The schema a v2 answer with `status` must match, when the spec declares one.
pub fn response_schema(op_id: &str, status: u16) -> Option<(SpecFile, &'static Value)> {
    response_schema_for(op_id, status, Dialect::V2)
}

/// Follows a local `$ref` to the schema it names.
pub fn resolve(file: SpecFile, schema: &'static Value) -> &'static Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            document(file)
                .pointer(pointer)
                .map_or(schema, |target| resolve(file, target))
        }
        None => schema,
    }
}

/// The problems of `instance` against `validator`, each naming the field, NestJS-style.
pub fn problems(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let path = error.instance_path().to_string();
            let field = path.trim_start_matches('/').replace('/', ".");
            if field.is_empty() {
                error.to_string()
            } else {
                format!("{field}: {error}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_response_schema_compiles() {
        let mut n_schemas = 0;
        for op in OPS {
            for status in [200, 201, 400, 401, 422] {
                if let Some((file, schema)) = response_schema(op.operation_id, status) {
                    let _ = validator(file, schema);
                    n_schemas += 1;
                }
            }
        }
        assert!(n_schemas > 100, "only {n_schemas} schemas found");
    }

    #[test]
    fn create_task_body_is_checked_field_by_field() {
        let validator = request_validator("create-task").expect("create-task has a body schema");
        assert!(
            problems(
                validator,
                &json!({"title": "t", "dueDate": "2026-01-01T00:00:00Z", "completed": false})
            )
            .is_empty()
        );
        let found = problems(
            validator,
            &json!({"title": 5, "dueDate": "2026-01-01T00:00:00Z"}),
        );
        assert!(found.iter().any(|p| p.starts_with("title:")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("completed")), "{found:?}");
    }

    #[test]
    fn nullable_fields_accept_null() {
        let validator = request_validator("create-contact").unwrap();
        assert!(
            problems(
                validator,
                &json!({"locationId": "x", "email": null, "dateOfBirth": "1990-01-01"})
            )
            .is_empty()
        );
    }
}

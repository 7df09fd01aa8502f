//! What every typed catalog (HighLevel's, Flickr's) does with an operation's schemas and JSON
//! input: the schemas come from the Rust types (schemars, JSON Schema 2020-12), and an input is
//! refused with the JSON path of the first field that does not fit, before anything is sent.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// An input refused before anything was sent; each connector's error has an `InvalidInput`
/// variant made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidInput {
    /// JSON path of the offending field (`.` for the whole input).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// The JSON Schema of what an operation accepts.
pub(crate) fn input_schema<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The JSON Schema of what an operation answers (as serialized, not as read from the wire).
pub(crate) fn output_schema<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The fields of an operation's input object, `null` read as `{}`. Unknown top-level fields are
/// refused (a typo would otherwise be ignored), found with the property names of `T`'s input
/// schema; an input whose schema lists no properties takes any.
pub(crate) fn fields<T: JsonSchema>(input: Value) -> Result<Map<String, Value>, InvalidInput> {
    let fields = match input {
        Value::Null => Map::new(),
        Value::Object(fields) => fields,
        other => {
            return Err(InvalidInput {
                path: ".".into(),
                // The shape only: the value may be a customer's e-mail or phone.
                message: format!(
                    "expected an object, got {}",
                    match other {
                        Value::Array(_) => "an array",
                        Value::String(_) => "a string",
                        Value::Number(_) => "a number",
                        _ => "true or false",
                    }
                ),
            });
        }
    };
    let schema = input_schema::<T>();
    if let Some(known) = schema.get("properties").and_then(Value::as_object)
        && let Some(unknown) = fields.keys().find(|key| !known.contains_key(key.as_str()))
    {
        return Err(InvalidInput {
            path: unknown.clone(),
            message: format!(
                "unknown field; expected one of: {}",
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(fields)
}

/// Reads a type from the fields of an object, with the JSON path of the first bad field.
pub(crate) fn from_fields<T: DeserializeOwned>(
    fields: Map<String, Value>,
) -> Result<T, InvalidInput> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|error| {
        let message = error.inner().to_string();
        let mut path = error.path().to_string();
        // A missing field is reported at its parent's path; the field itself is more useful.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            path = if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
        }
        InvalidInput { path, message }
    })
}

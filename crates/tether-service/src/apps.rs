//! The Apps page's server side: an app's manifest (YAML as shipped, with its validation problems
//! placed at their line and field), and "try an operation": one call of a catalog operation
//! through a stored connection, answered redacted.
//!
//! Trying an operation that reads (its verb gets, lists, searches, finds, looks up or checks, or
//! a poll trigger) just runs. Any other operation may write to the app, so it runs only when the
//! request says `write: true`, as the step test's `confirm_write` does. A failure of the call
//! itself (the app refused the input, the record is missing) is an answer, not an error: it comes
//! back with `ok: false`, its kind and its redacted message.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_core::catalog::OperationKind;
use tether_core::manifest::{self, Manifest, ManifestError};
use utoipa::ToSchema;

use crate::Service;
use crate::error::{Diagnostic, Error, Result};

/// The most bytes of a call's output shown; a larger one comes back cut, as a string.
pub const MAX_SHOWN_OUTPUT: usize = 256 * 1024;

/// An app's manifest as shipped, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestView {
    /// The app id (`details_flowers`).
    pub app: String,
    /// The file it ships as (`apps/details-flowers.yaml`).
    pub file: String,
    /// The manifest's YAML exactly as shipped.
    pub yaml: String,
    /// Every problem, each with its line and field path; empty when the manifest is usable.
    pub diagnostics: Vec<Diagnostic>,
}

/// One call of an operation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallRequest {
    /// The stored connection to call through (its name or id); it must be of the operation's app.
    pub connection: String,
    /// The operation's input (default `{}`).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub input: Value,
    /// Confirms that an operation that may write to the app is to run.
    #[serde(default)]
    pub write: bool,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What a call answered.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallResult {
    /// The operation.
    pub operation: String,
    /// The connection's name.
    pub connection: String,
    /// Whether the operation only reads.
    pub reads: bool,
    /// Whether the call succeeded.
    pub ok: bool,
    /// Its output, secret fields redacted; a string when cut (see `truncated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// Whether `output` was cut at [`MAX_SHOWN_OUTPUT`] bytes.
    pub truncated: bool,
    /// Why it failed, redacted (no token, no e-mail address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure's kind: `transient`, `throttled`, `auth`, `permanent` or `bug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// How long the call took, ms.
    pub duration_ms: u64,
}

/// Whether operation `id` of `kind` only reads, by its verb (the id's last segment).
pub fn reads(id: &str, kind: OperationKind) -> bool {
    if kind == OperationKind::Trigger {
        return true;
    }
    let verb = id.rsplit('.').next().unwrap_or(id);
    ["get", "list", "search", "find", "lookup", "check", "recent"]
        .iter()
        .any(|read| verb.starts_with(read))
        || matches!(verb, "echo" | "login")
}

/// The shipped manifests: `(app, file, text)`.
const MANIFESTS: &[(&str, &str, &str)] = &[(
    "details_flowers",
    manifest::DETAILS_FLOWERS_FILE,
    manifest::DETAILS_FLOWERS_YAML,
)];

/// Every problem of the manifest `text` (reported under `file`), each placed at the line and
/// column of its field.
pub fn manifest_diagnostics(file: &str, text: &str) -> Vec<Diagnostic> {
    match Manifest::load(file, text) {
        Ok(_) => Vec::new(),
        Err(ManifestError::Parse {
            line,
            column,
            message,
            ..
        }) => {
            // The parser's message names the field in words; its path is not structured.
            vec![Diagnostic {
                line: (line > 0).then_some(line),
                column: (line > 0).then_some(column),
                path: String::new(),
                message,
            }]
        }
        Err(ManifestError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|problem| {
                let position = tether_engine::flow::position_of(text, &problem.path);
                Diagnostic {
                    line: position.map(|(line, _)| line),
                    column: position.map(|(_, column)| column),
                    path: problem.path,
                    message: problem.message,
                }
            })
            .collect(),
    }
}

impl Service {
    /// The manifest of `app` with its problems; `not_found` for an app without one (HighLevel and
    /// Flickr have typed connectors, described by code).
    pub fn app_manifest(&self, app: &str) -> Result<ManifestView> {
        let Some((app, file, text)) = MANIFESTS.iter().find(|(id, _, _)| *id == app) else {
            let known = self.catalog().iter().any(|operation| operation.app == app);
            return Err(Error::not_found(if known {
                format!(
                    "a manifest of app `{app}`: it has a typed connector, not a manifest (its \
                     operations are in the catalog)"
                )
            } else {
                format!("app `{app}`")
            }));
        };
        Ok(ManifestView {
            app: (*app).to_owned(),
            file: (*file).to_owned(),
            yaml: (*text).to_owned(),
            diagnostics: manifest_diagnostics(file, text),
        })
    }

    /// Calls operation `id` once through the request's connection and answers what it did. An
    /// operation that may write runs only with `write: true` (`invalid` otherwise, nothing
    /// called). Unknown operations and connections are `not_found` with a "did you mean".
    pub async fn call_operation(&self, id: &str, request: CallRequest) -> Result<CallResult> {
        let operation = self.find_operation(id)?.clone();
        let reads = reads(&operation.id, operation.kind);
        if !request.input.is_object() {
            return Err(Error::invalid("input: must be a JSON object"));
        }
        let connection = self
            .find_connection(&request.connection, Some(&operation.app))
            .await?;
        if !reads && !request.write {
            return Err(Error {
                diagnostics: vec![Diagnostic {
                    line: None,
                    column: None,
                    path: "write".into(),
                    message: "confirm with `write: true`".into(),
                }],
                ..Error::invalid(format!(
                    "operation `{}` may write to {} through `{}`; nothing was called: send \
                     `write: true` to run it",
                    operation.id, operation.app, connection.name
                ))
            });
        }
        let started = Instant::now();
        let answer = self
            .ops()
            .invoke(&connection.name, &operation.id, request.input)
            .await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            operation = %operation.id,
            connection = %connection.name,
            ok = answer.is_ok(),
            "An operation was tried from the API."
        );
        Ok(match answer {
            Ok(mut output) => {
                tether_http::redact::json(&mut output);
                let (output, truncated) = cut(output);
                CallResult {
                    operation: operation.id,
                    connection: connection.name,
                    reads,
                    ok: true,
                    output: Some(output),
                    truncated,
                    error: None,
                    error_kind: None,
                    duration_ms,
                }
            }
            Err(error) => CallResult {
                operation: operation.id,
                connection: connection.name,
                reads,
                ok: false,
                output: None,
                truncated: false,
                error: Some(tether_http::redact::text(&error.message)),
                error_kind: Some(kind_name(error.kind()).to_owned()),
                duration_ms,
            },
        })
    }
}

fn kind_name(kind: tether_core::ErrorKind) -> &'static str {
    match kind {
        tether_core::ErrorKind::Transient => "transient",
        tether_core::ErrorKind::Throttled { .. } => "throttled",
        tether_core::ErrorKind::Auth => "auth",
        tether_core::ErrorKind::Permanent => "permanent",
        tether_core::ErrorKind::Bug => "bug",
    }
}

/// `value`, or its first [`MAX_SHOWN_OUTPUT`] bytes as a string when it is larger.
fn cut(value: Value) -> (Value, bool) {
    let text = value.to_string();
    if text.len() <= MAX_SHOWN_OUTPUT {
        return (value, false);
    }
    let mut end = MAX_SHOWN_OUTPUT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (Value::String(text[..end].to_owned()), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_by_their_verb() {
        for id in [
            "ghl.contact.get",
            "ghl.contact.list_appointments",
            "ghl.contact.search",
            "ghl.contact.find_duplicate",
            "flickr.people.find_by_email",
            "flickr.photo.recently_updated",
            "flickr.test.login",
            "details_flowers.customer.list",
        ] {
            assert!(reads(id, OperationKind::Action), "{id}");
        }
        for id in [
            "ghl.contact.create",
            "ghl.contact.upsert",
            "ghl.tag.add",
            "ghl.task.complete",
            "details_flowers.customer.delete",
            "flickr.photo.set_tags",
        ] {
            assert!(!reads(id, OperationKind::Action), "{id}");
        }
        assert!(reads("ghl.contact.new", OperationKind::Trigger));
    }

    #[test]
    fn the_shipped_manifest_has_no_problems() {
        let service_free = manifest_diagnostics(
            manifest::DETAILS_FLOWERS_FILE,
            manifest::DETAILS_FLOWERS_YAML,
        );
        assert_eq!(service_free, Vec::new());
    }

    #[test]
    fn a_manifest_problem_is_placed_at_its_field() {
        // A resource whose id field is not one of its fields: a problem only validation sees.
        let broken = manifest::DETAILS_FLOWERS_YAML.replacen("id_field: id", "id_field: nope", 1);
        assert_ne!(
            broken,
            manifest::DETAILS_FLOWERS_YAML,
            "the manifest has an id_field"
        );
        let diagnostics = manifest_diagnostics("m.yaml", &broken);
        assert!(!diagnostics.is_empty());
        let problem = diagnostics
            .iter()
            .find(|d| d.path.ends_with("id_field"))
            .unwrap_or_else(|| panic!("{diagnostics:#?}"));
        let line = problem.line.unwrap() as usize;
        assert!(
            broken
                .lines()
                .nth(line - 1)
                .unwrap()
                .contains("id_field: nope"),
            "line {line}: {problem:?}"
        );
        // A syntax error has the parser's position.
        let diagnostics = manifest_diagnostics("m.yaml", "app: [x\n");
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].line.is_some(), "{diagnostics:?}");
    }

    #[test]
    fn positions_follow_keys_and_list_items() {
        let text = "app: a\nresources:\n  - name: one\n  - name: two\n    fields:\n      - x\n";
        let at = |path| tether_engine::flow::position_of(text, path);
        assert_eq!(at("app"), Some((1, 1)));
        assert_eq!(at("resources[1].name"), Some((4, 5)));
        assert_eq!(at("resources[1].fields[0]"), Some((6, 9)));
        // The deepest part that exists.
        assert_eq!(at("resources[1].nothing"), Some((4, 5)));
        assert_eq!(at("nothing"), None);
    }
}

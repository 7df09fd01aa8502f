//! The engine's one seam to the outside: [`Operations`] calls a catalog operation on a connection.
//!
//! The production implementation is the connectors' [`Registry`]; the engine's own tests
//! implement the trait with a small in-memory operation, which is the engine's seam rather than a
//! mock of I/O (the registry's own tests run against the simulators).

use std::error::Error as StdError;

use futures::future::BoxFuture;
use serde_json::Value;
use tether_connectors::ghl;
use tether_connectors::registry::{Registry, RegistryError};
use tether_core::ErrorKind;

/// A failed operation call: what went wrong, in words, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    /// What went wrong, with every cause, for a person reading the DLQ.
    pub message: String,
    /// Whether a retry may help.
    pub kind: ErrorKind,
}

impl InvokeError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        InvokeError {
            message: message.into(),
            kind,
        }
    }

    /// What a caller should do about it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// Runs catalog operations (`ghl.contact.upsert`, `details_flowers.customer.create`).
pub trait Operations: Send + Sync {
    /// Calls `operation` on the connection named `connection` with a JSON `input`, answering its
    /// JSON output.
    fn invoke<'a>(
        &'a self,
        connection: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>>;
}

impl Operations for Registry {
    fn invoke<'a>(
        &'a self,
        connection: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(async move {
            if operation.starts_with("ghl.") {
                let client = self.ghl(connection).await.map_err(registry_error)?;
                ghl::catalog::invoke(&client, operation, input)
                    .await
                    .map_err(|error| InvokeError::new(error.kind(), describe(&error)))
            } else if operation.starts_with("flickr.") {
                let client = self.flickr(connection).await.map_err(registry_error)?;
                tether_connectors::flickr::catalog::invoke(&client, operation, input)
                    .await
                    .map_err(|error| InvokeError::new(error.kind(), describe(&error)))
            } else {
                // Every other shipped app is described by a manifest and served by the generic
                // REST connector; the registry refuses connections of apps it does not know.
                let app = self.rest_app(connection).await.map_err(registry_error)?;
                app.invoke(operation, input)
                    .await
                    .map_err(|error| InvokeError::new(error.kind(), describe(&error)))
            }
        })
    }
}

/// A connection that cannot be loaded is a setup problem (missing, wrong app, misconfigured)
/// unless the store itself or the HTTP stack says otherwise.
fn registry_error(error: RegistryError) -> InvokeError {
    let kind = match &error {
        RegistryError::Store(store) => store.kind(),
        RegistryError::Http(http) => http.kind(),
        RegistryError::WrongApp { .. } | RegistryError::Misconfigured { .. } => {
            ErrorKind::Permanent
        }
    };
    InvokeError::new(kind, describe(&error))
}

/// The error and its causes, joined by `: `, so the DLQ shows the root cause and not only the
/// outermost context.
pub fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some errors repeat their source in their own message; say it once.
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn describe_names_every_cause() {
        let error = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(describe(&error), "outer: disk on fire");
    }
}

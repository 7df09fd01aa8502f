//! Names people type: operations and connections, looked up with a "did you mean" when one is
//! misspelt, for every command and endpoint that takes one.

use tether_core::catalog::OperationMeta;
use tether_engine::flow::closest;

use crate::Service;
use crate::error::{Error, Result};

impl Service {
    /// The catalog entry of operation `id`. An unknown id is `not_found`, naming the nearest
    /// operation when one is near enough to be a typo.
    pub fn find_operation(&self, id: &str) -> Result<&OperationMeta> {
        if let Some(operation) = self.catalog().iter().find(|operation| operation.id == id) {
            return Ok(operation);
        }
        let ids = self.catalog().iter().map(|operation| operation.id.as_str());
        let hint = match closest(id, ids) {
            Some(near) => format!("; did you mean `{near}`?"),
            None => String::new(),
        };
        Err(Error::not_found(format!(
            "operation `{id}`{hint} (`tether catalog` lists them)"
        )))
    }

    /// The stored connection named `name_or_id`; with `app`, it must be a connection of that app.
    /// An unknown name is `not_found`, naming the nearest stored name when one is near enough
    /// to be a typo, else every stored name.
    pub async fn find_connection(
        &self,
        name_or_id: &str,
        app: Option<&str>,
    ) -> Result<tether_store::Connection> {
        let connection = match self.store().connection(name_or_id).await {
            Ok(connection) => connection,
            Err(tether_store::Error::NotFound { .. }) => {
                return Err(self.unknown_connection(name_or_id).await);
            }
            // A key that does not open the connection is for a person to fix; the store's
            // message names the connection, the key and the remedy.
            Err(error @ (tether_store::Error::Unseal { .. } | tether_store::Error::Key { .. })) => {
                return Err(Error::conflict(error.to_string()));
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(app) = app.filter(|app| *app != connection.app) {
            return Err(Error::invalid(format!(
                "connection `{}` is a {} connection, not a {app} one",
                connection.name, connection.app
            )));
        }
        Ok(connection)
    }

    /// Checks that a connection named (or with the id) `name_or_id` is stored, without opening
    /// its credentials (so it works while the secret key is missing, e.g. before deleting the
    /// connection); an unknown name is `not_found` with a "did you mean", as in
    /// [`Service::find_connection`].
    pub async fn check_connection_name(&self, name_or_id: &str) -> Result<()> {
        let names = self.store().connection_names().await?;
        if names.iter().any(|name| name == name_or_id) {
            return Ok(());
        }
        match self.store().connection(name_or_id).await {
            Err(tether_store::Error::NotFound { .. }) => {
                Err(self.unknown_connection(name_or_id).await)
            }
            // It exists (by id), whether or not its credentials open.
            _ => Ok(()),
        }
    }

    /// The `not_found` error for a connection name: the nearest stored name when one is near
    /// enough to be a typo, else every stored name.
    async fn unknown_connection(&self, name_or_id: &str) -> Error {
        let names = match self.store().connection_names().await {
            Ok(names) => names,
            Err(error) => return error.into(),
        };
        let hint = match closest(name_or_id, names.iter().map(String::as_str)) {
            Some(near) => format!("; did you mean `{near}`?"),
            None if names.is_empty() => {
                "; there are no connections yet (`tether connect` adds one)".to_owned()
            }
            None => format!(
                "; the connections are {}",
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Error::not_found(format!("connection `{name_or_id}`{hint}"))
    }
}

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
                let names = self.store().connection_names().await?;
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
                return Err(Error::not_found(format!("connection `{name_or_id}`{hint}")));
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
}

//! The connections of a running Tether: clients built from stored connections, sharing one rate
//! limiter and one credential cache per connection across every caller in the process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tether_core::Secret;
use tether_http::{
    ClientConfig, Credentials, HttpClient, LimitConfig, StaticBearer, WindowLimiter,
};
use tether_store::{AuthKind, Connection, Store};
use url::Url;

use crate::auth::ghl::GhlRefresher;
use crate::auth::oauth2::RefreshingBearer;
use crate::ghl::{self, GhlClient, LocationId};

/// A failure to build a client for a connection.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The store failed or has no such connection.
    #[error("cannot load the connection")]
    Store(#[from] tether_store::Error),
    /// The connection is for another app.
    #[error("connection {name:?} is a {app} connection, not {expected}")]
    WrongApp {
        /// Its name.
        name: String,
        /// Its app.
        app: String,
        /// The app asked for.
        expected: &'static str,
    },
    /// Stored settings are unusable.
    #[error("connection {name:?} is misconfigured: {reason}")]
    Misconfigured {
        /// Its name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[from] tether_http::Error),
}

/// Clients for stored connections.
#[derive(Debug, Clone)]
pub struct Registry {
    store: Store,
    shared: Arc<Mutex<HashMap<String, Shared>>>,
}

#[derive(Debug, Clone)]
struct Shared {
    limiter: Arc<WindowLimiter>,
    credentials: Arc<dyn Credentials>,
    version_seen: i64,
}

impl Registry {
    /// A registry over `store`.
    pub fn new(store: Store) -> Self {
        Registry {
            store,
            shared: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A GHL client for the connection named (or with id) `name`.
    pub async fn ghl(&self, name: &str) -> Result<GhlClient, RegistryError> {
        let connection = self.store.connection(name).await?;
        if connection.app != "ghl" {
            return Err(RegistryError::WrongApp {
                name: connection.name,
                app: connection.app,
                expected: "ghl",
            });
        }
        let location_id =
            connection
                .account_id
                .clone()
                .ok_or_else(|| RegistryError::Misconfigured {
                    name: connection.name.clone(),
                    reason: "no location id".into(),
                })?;
        let base_url =
            Url::parse(&connection.base_url).map_err(|error| RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: error.to_string(),
            })?;
        let shared = self.shared_for(&connection, LimitConfig::ghl())?;
        let config = ClientConfig::new(format!("ghl:{}", connection.name), base_url);
        let http = HttpClient::new(config, shared.credentials, Some(shared.limiter))?;
        Ok(GhlClient::new(http, LocationId::new(location_id)))
    }

    /// A client of a manifest-described app (Details Flowers) for the connection `name`.
    pub async fn rest_app(&self, name: &str) -> Result<crate::rest::RestApp, RegistryError> {
        let connection = self.store.connection(name).await?;
        let manifest = match connection.app.as_str() {
            "details_flowers" => tether_core::manifest::details_flowers().map_err(|error| {
                RegistryError::Misconfigured {
                    name: connection.name.clone(),
                    reason: error.to_string(),
                }
            })?,
            other => {
                return Err(RegistryError::WrongApp {
                    name: connection.name.clone(),
                    app: other.to_owned(),
                    expected: "details_flowers",
                });
            }
        };
        let base_url =
            Url::parse(&connection.base_url).map_err(|error| RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: error.to_string(),
            })?;
        crate::rest::RestApp::new(
            manifest,
            base_url,
            Secret::new(connection.credentials.expose()),
        )
        .map_err(|error| RegistryError::Misconfigured {
            name: connection.name,
            reason: error.to_string(),
        })
    }

    fn shared_for(
        &self,
        connection: &Connection,
        limits: LimitConfig,
    ) -> Result<Shared, RegistryError> {
        let mut shared = self.shared.lock();
        if let Some(existing) = shared.get(&connection.id) {
            // A static token replaced by `tether connect` must not keep serving the old one.
            if connection.auth_kind != AuthKind::PrivateToken
                || existing.version_seen == connection.version
            {
                return Ok(existing.clone());
            }
        }
        let credentials: Arc<dyn Credentials> = match connection.auth_kind {
            AuthKind::PrivateToken | AuthKind::ApiKey => {
                Arc::new(StaticBearer(Secret::new(connection.credentials.expose())))
            }
            AuthKind::OAuth2 => Arc::new(RefreshingBearer::new(
                self.store.clone(),
                connection,
                Box::new(GhlRefresher),
                Duration::from_secs(60),
            )),
            AuthKind::OAuth1 => {
                return Err(RegistryError::Misconfigured {
                    name: connection.name.clone(),
                    reason: "OAuth 1.0a connections are not supported yet".into(),
                });
            }
        };
        let entry = Shared {
            limiter: shared.get(&connection.id).map_or_else(
                || Arc::new(WindowLimiter::new(limits)),
                |existing| existing.limiter.clone(),
            ),
            credentials,
            version_seen: connection.version,
        };
        shared.insert(connection.id.clone(), entry.clone());
        Ok(entry)
    }
}

/// Re-exported so callers can name the client type from the registry's module.
pub use ghl::Error as GhlError;

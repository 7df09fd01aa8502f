//! Connections: one authenticated account of an app, with its sealed credentials and health.

use rand_core::{OsRng, RngCore};
use sqlx::Row;
use sqlx::any::AnyRow;
use tether_core::Secret;

use crate::{Error, Store, now_ms};

/// How a connection authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// OAuth 2.0 (access + refresh token).
    OAuth2,
    /// A static token (a HighLevel private integration token).
    PrivateToken,
    /// OAuth 1.0a (token + token secret).
    OAuth1,
    /// An API key.
    ApiKey,
}

impl AuthKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::OAuth2 => "oauth2",
            AuthKind::PrivateToken => "private_token",
            AuthKind::OAuth1 => "oauth1",
            AuthKind::ApiKey => "api_key",
        }
    }

    fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "oauth2" => AuthKind::OAuth2,
            "private_token" => AuthKind::PrivateToken,
            "oauth1" => AuthKind::OAuth1,
            "api_key" => AuthKind::ApiKey,
            other => {
                return Err(Error::Corrupt {
                    field: "connections.auth_kind",
                    reason: other.to_owned(),
                });
            }
        })
    }
}

/// A connection's health: whether it can be used and, when not, what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Working as far as we know (the last test or call succeeded).
    Ok,
    /// The service refused the refresh token for good; a person must reconnect.
    RefreshFailed,
    /// The service refused the credentials (401/403): the app was uninstalled, the token
    /// revoked, or it has no access to the account.
    Revoked,
    /// The service could not be reached (connection refused, timeout, 5xx) at the last check.
    Unreachable,
    /// Stored without a test.
    Untested,
}

impl ConnectionStatus {
    /// Every health state, in the order people read them.
    pub const ALL: [ConnectionStatus; 5] = [
        ConnectionStatus::Ok,
        ConnectionStatus::RefreshFailed,
        ConnectionStatus::Revoked,
        ConnectionStatus::Unreachable,
        ConnectionStatus::Untested,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Ok => "ok",
            ConnectionStatus::RefreshFailed => "refresh_failed",
            ConnectionStatus::Revoked => "revoked",
            ConnectionStatus::Unreachable => "unreachable",
            ConnectionStatus::Untested => "untested",
        }
    }

    /// Whether calls must fail fast until a person reconnects (the credentials are known dead).
    /// An unreachable or untested connection is still tried.
    pub fn blocks_use(self) -> bool {
        matches!(
            self,
            ConnectionStatus::RefreshFailed | ConnectionStatus::Revoked
        )
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Ok(match text {
            "ok" => ConnectionStatus::Ok,
            // The name before migration 0010.
            "refresh_failed" | "needs_reauth" => ConnectionStatus::RefreshFailed,
            "revoked" => ConnectionStatus::Revoked,
            "unreachable" => ConnectionStatus::Unreachable,
            "untested" => ConnectionStatus::Untested,
            other => {
                return Err(Error::Corrupt {
                    field: "connections.status",
                    reason: other.to_owned(),
                });
            }
        })
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a new connection is made of.
#[derive(Debug, Clone)]
pub struct NewConnection {
    /// A name people use (`ghl-main`), unique.
    pub name: String,
    /// The app (`ghl`, `flickr`, `details-flowers`).
    pub app: String,
    /// How it authenticates.
    pub auth_kind: AuthKind,
    /// The account at the app (a location id, a company id, a user id).
    pub account_id: Option<String>,
    /// The API base URL (the real service or a simulator).
    pub base_url: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The credentials, as the connector's JSON; sealed before storage.
    pub credentials: Secret,
    /// When the access credentials expire, when they do.
    pub expires_at_ms: Option<i64>,
}

/// A stored connection, credentials opened.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The app.
    pub app: String,
    /// How it authenticates.
    pub auth_kind: AuthKind,
    /// The account at the app.
    pub account_id: Option<String>,
    /// API base URL.
    pub base_url: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Health.
    pub status: ConnectionStatus,
    /// Why it is not ok, in words for a person (the last error, redacted by its writer).
    pub status_message: Option<String>,
    /// When the health was last learned (a test, a failed refresh, a refused call), ms since
    /// epoch; `None` when never.
    pub checked_at_ms: Option<i64>,
    /// The credentials JSON.
    pub credentials: Secret,
    /// When the access credentials expire.
    pub expires_at_ms: Option<i64>,
    /// Incremented by every credential write; writes compare it.
    pub version: i64,
    /// Settings a person chose for this connection (a JSON object; `{}` when none), such as a
    /// rate limit other than the app's published one. The store does not interpret them.
    pub settings: serde_json::Value,
    /// Created, ms since epoch.
    pub created_at_ms: i64,
    /// Last changed, ms since epoch.
    pub updated_at_ms: i64,
}

/// The columns every connection query reads, as a literal so statements stay static strings.
macro_rules! columns {
    () => {
        "id, name, app, auth_kind, account_id, base_url, scopes, status, status_message, \
         sealed_secret, expires_at_ms, version, settings, created_at_ms, updated_at_ms, \
         checked_at_ms"
    };
}

impl Store {
    /// Stores a new connection, healthy (`ok`).
    pub async fn create_connection(&self, new: NewConnection) -> Result<Connection, Error> {
        self.create_connection_with_status(new, ConnectionStatus::Ok, None)
            .await
    }

    /// Stores a new connection with its health as just learned (`untested` when stored without
    /// a test, `unreachable` when the test could not reach the service), in one statement.
    pub async fn create_connection_with_status(
        &self,
        new: NewConnection,
        status: ConnectionStatus,
        message: Option<&str>,
    ) -> Result<Connection, Error> {
        let mut id_bytes = [0u8; 8];
        OsRng.fill_bytes(&mut id_bytes);
        let id = format!(
            "conn_{}",
            id_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let sealed = self.vault.seal(&id, &new.credentials)?;
        let now = now_ms();
        let inserted = sqlx::query(concat!(
            "INSERT INTO connections (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, '{}', $12, $12, $13)"
        ))
        .bind(&id)
        .bind(&new.name)
        .bind(&new.app)
        .bind(new.auth_kind.as_str())
        .bind(new.account_id.as_deref())
        .bind(&new.base_url)
        .bind(new.scopes.join(" "))
        .bind(status.as_str())
        .bind(message)
        .bind(sealed)
        .bind(new.expires_at_ms)
        .bind(now)
        .bind((status != ConnectionStatus::Untested).then_some(now))
        .execute(&self.pool)
        .await;
        self.connection_changed();
        match inserted {
            Ok(_) => self.connection(&id).await,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(Error::Conflict {
                    what: "connection",
                    name: new.name,
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The connection with this name or id.
    pub async fn connection(&self, name_or_id: &str) -> Result<Connection, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM connections WHERE id = $1 OR name = $1"
        ))
        .bind(name_or_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "connection",
            name: name_or_id.to_owned(),
        })?;
        self.decode(&row)
    }

    /// The names of every stored connection, without opening their credentials (so it answers
    /// even when the key is missing or wrong).
    pub async fn connection_names(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT name FROM connections ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| row.try_get("name").map_err(Error::from))
            .collect()
    }

    /// Every connection, by name.
    pub async fn connections(&self) -> Result<Vec<Connection>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM connections ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// Replaces the credentials when the stored version is still `expected_version` (nobody else
    /// wrote meanwhile), and marks the connection ok. Answers whether it was written.
    pub async fn update_credentials(
        &self,
        id: &str,
        expected_version: i64,
        credentials: &Secret,
        expires_at_ms: Option<i64>,
    ) -> Result<bool, Error> {
        let sealed = self.vault.seal(id, credentials)?;
        let result = sqlx::query(
            "UPDATE connections SET sealed_secret = $1, expires_at_ms = $2, version = version + 1, \
             status = 'ok', status_message = NULL, updated_at_ms = $3 WHERE id = $4 AND version = $5",
        )
        .bind(sealed)
        .bind(expires_at_ms)
        .bind(now_ms())
        .bind(id)
        .bind(expected_version)
        .execute(&self.pool)
        .await?;
        self.connection_changed();
        Ok(result.rows_affected() == 1)
    }

    /// Records the connection's health as learned now and, when not ok, why, for a person.
    /// The caller redacts `message` (no tokens, no e-mail addresses).
    pub async fn set_connection_status(
        &self,
        id: &str,
        status: ConnectionStatus,
        message: Option<&str>,
    ) -> Result<(), Error> {
        let now = now_ms();
        let result = sqlx::query(
            "UPDATE connections SET status = $1, status_message = $2, checked_at_ms = $3, \
             updated_at_ms = $3 WHERE id = $4 OR name = $4",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.connection_changed();
        if result.rows_affected() == 0 {
            return Err(Error::NotFound {
                what: "connection",
                name: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Gives the connection `name_or_id` the name `new_name`, unique among connections; its id,
    /// credentials and their version stay.
    pub async fn rename_connection(
        &self,
        name_or_id: &str,
        new_name: &str,
    ) -> Result<Connection, Error> {
        let current = self.connection_row_id(name_or_id).await?;
        let renamed =
            sqlx::query("UPDATE connections SET name = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(new_name)
                .bind(now_ms())
                .bind(&current)
                .execute(&self.pool)
                .await;
        self.connection_changed();
        match renamed {
            Ok(_) => self.connection(&current).await,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(Error::Conflict {
                    what: "connection",
                    name: new_name.to_owned(),
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The id of the connection `name_or_id`, without opening its credentials.
    async fn connection_row_id(&self, name_or_id: &str) -> Result<String, Error> {
        let row = sqlx::query("SELECT id FROM connections WHERE id = $1 OR name = $1")
            .bind(name_or_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "connection",
                name: name_or_id.to_owned(),
            })?;
        Ok(row.try_get("id")?)
    }

    /// Deletes a connection and its credentials.
    pub async fn delete_connection(&self, name_or_id: &str) -> Result<(), Error> {
        let result = sqlx::query("DELETE FROM connections WHERE id = $1 OR name = $1")
            .bind(name_or_id)
            .execute(&self.pool)
            .await?;
        self.connection_changed();
        if result.rows_affected() == 0 {
            return Err(Error::NotFound {
                what: "connection",
                name: name_or_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Replaces the settings of a connection (a JSON object), leaving its credentials and their
    /// version alone so a token refresh running meanwhile is not disturbed.
    pub async fn set_connection_settings(
        &self,
        name_or_id: &str,
        settings: &serde_json::Value,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE connections SET settings = $1, updated_at_ms = $2 WHERE id = $3 OR name = $3",
        )
        .bind(settings.to_string())
        .bind(now_ms())
        .bind(name_or_id)
        .execute(&self.pool)
        .await?;
        self.connection_changed();
        if result.rows_affected() == 0 {
            return Err(Error::NotFound {
                what: "connection",
                name: name_or_id.to_owned(),
            });
        }
        Ok(())
    }

    /// How many changes this process made to connections so far: a cache of connections (the
    /// connectors' registry) is current while this has not moved. Another process's changes are
    /// not counted; such a cache must also expire.
    pub fn connections_generation(&self) -> u64 {
        self.connections_changed
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn connection_changed(&self) {
        self.connections_changed
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn decode(&self, row: &AnyRow) -> Result<Connection, Error> {
        let id: String = row.try_get("id")?;
        let sealed: Vec<u8> = row.try_get("sealed_secret")?;
        let scopes: String = row.try_get("scopes")?;
        let settings: String = row.try_get("settings")?;
        let settings = serde_json::from_str(&settings).map_err(|error| Error::Corrupt {
            field: "connections.settings",
            reason: error.to_string(),
        })?;
        let name: String = row.try_get("name")?;
        let app: String = row.try_get("app")?;
        let credentials = self.vault.open(&id, &sealed).map_err(|error| match error {
            Error::Unseal {
                key, key_missing, ..
            } => Error::Unseal {
                connection: name.clone(),
                app: Some(app.clone()),
                key,
                key_missing,
            },
            other => other,
        })?;
        Ok(Connection {
            settings,
            credentials,
            name,
            app,
            auth_kind: AuthKind::parse(&row.try_get::<String, _>("auth_kind")?)?,
            account_id: row.try_get("account_id")?,
            base_url: row.try_get("base_url")?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            status: ConnectionStatus::parse(&row.try_get::<String, _>("status")?)?,
            status_message: row.try_get("status_message")?,
            checked_at_ms: row.try_get("checked_at_ms")?,
            expires_at_ms: row.try_get("expires_at_ms")?,
            version: row.try_get("version")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
            id,
        })
    }
}

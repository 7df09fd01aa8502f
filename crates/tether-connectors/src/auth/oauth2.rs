//! An OAuth 2.0 bearer that refreshes itself without ever losing the connection.
//!
//! HighLevel's refresh tokens are single use: redeeming one returns a new one and kills the old.
//! Two concurrent refreshes with the same token therefore lose the connection, and so does using a
//! new access token before the new refresh token is stored. [`RefreshingBearer`] prevents both:
//! - **one refresh at a time**: in a process, the token cache's async mutex is held through the
//!   refresh, so 50 callers that find the token expired wait for one refresh and share its result;
//!   across processes sharing the database, a lease (`refresh:<connection id>`) does the same, and
//!   a process that waited re-reads the stored credentials instead of refreshing again;
//! - **stored before used**: the rotated credentials are written (sealed, compare-and-set on the
//!   row's version) before the new access token is handed to any request, so a crash after the
//!   write leaves a usable connection. A crash between the service's answer and our write is the
//!   one window no client can close; it is as short as one database write.
//! - **needs-reauth, in words**: when the service refuses the refresh token for good
//!   (`invalid_grant`), the connection is marked so, with a message that tells the user what to do,
//!   and every call fails fast with that message until someone reconnects.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::HeaderMap;
use tether_core::Secret;
use tether_http::Error as HttpError;
use tether_http::auth::{AuthTarget, BoxFuture, Credentials, bearer_value};
use tether_store::{Connection, ConnectionStatus, Store, now_ms};
use tokio::sync::Mutex;

/// The outcome of a successful refresh: the connection's new credentials JSON.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// Credentials to store (the app's JSON, new refresh token included).
    pub credentials: Secret,
    /// The new access token.
    pub access_token: Secret,
    /// When the new access token expires.
    pub expires_at_ms: Option<i64>,
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The service refused the refresh token for good (used, revoked, app uninstalled).
    #[error("the service refused the refresh token: {0}")]
    InvalidGrant(String),
    /// The call failed in a way a later try may not (transport, 5xx, 429).
    #[error("refresh call failed")]
    Http(#[source] HttpError),
    /// The stored credentials are not what this connector wrote.
    #[error("stored credentials are unreadable: {0}")]
    Corrupt(String),
}

/// An app's token endpoint: turns stored credentials into refreshed ones.
pub trait Refresher: Send + Sync + fmt::Debug {
    /// Redeems the refresh token inside `credentials`.
    fn refresh<'a>(
        &'a self,
        credentials: &'a Secret,
    ) -> BoxFuture<'a, Result<Refreshed, RefreshError>>;

    /// The access token inside stored `credentials`.
    fn access_token(&self, credentials: &Secret) -> Result<Secret, RefreshError>;
}

#[derive(Debug)]
struct Cached {
    access_token: Secret,
    version: i64,
    expires_at_ms: Option<i64>,
}

/// A bearer token backed by a stored connection, refreshed before expiry and after a 401.
pub struct RefreshingBearer {
    store: Store,
    connection_id: String,
    connection_name: String,
    refresher: Box<dyn Refresher>,
    cache: Mutex<Option<Cached>>,
    lease_owner: String,
    margin: Duration,
    n_refreshes: AtomicU64,
}

impl fmt::Debug for RefreshingBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingBearer")
            .field("connection", &self.connection_name)
            .finish_non_exhaustive()
    }
}

impl RefreshingBearer {
    /// A bearer for `connection`, refreshing through `refresher` when the token expires within
    /// `margin` (HighLevel's SDK uses 30 s; we default to 60 s to cover clock skew).
    pub fn new(
        store: Store,
        connection: &Connection,
        refresher: Box<dyn Refresher>,
        margin: Duration,
    ) -> Self {
        let mut owner_bytes = [0u8; 8];
        rand_owner(&mut owner_bytes);
        RefreshingBearer {
            store,
            connection_id: connection.id.clone(),
            connection_name: connection.name.clone(),
            refresher,
            cache: Mutex::new(None),
            lease_owner: format!(
                "{}-{}",
                std::process::id(),
                owner_bytes
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
            margin,
            n_refreshes: AtomicU64::new(0),
        }
    }

    /// How many refreshes this bearer performed (for health pages and tests).
    pub fn refreshes(&self) -> u64 {
        self.n_refreshes.load(Ordering::SeqCst)
    }

    fn needs_reauth(&self, why: &str) -> HttpError {
        HttpError::Credentials {
            reason: format!(
                "connection {:?} needs to be reconnected ({why}); run `tether connect <app> --name {}` again",
                self.connection_name, self.connection_name
            ),
        }
    }

    fn cached_from(&self, connection: &Connection) -> Result<Cached, HttpError> {
        if connection.status.blocks_use() {
            let why = connection
                .status_message
                .clone()
                .unwrap_or_else(|| connection.status.as_str().to_owned());
            return Err(self.needs_reauth(&why));
        }
        let access_token = self
            .refresher
            .access_token(&connection.credentials)
            .map_err(|error| self.needs_reauth(&error.to_string()))?;
        Ok(Cached {
            access_token,
            version: connection.version,
            expires_at_ms: connection.expires_at_ms,
        })
    }

    async fn load(&self) -> Result<Cached, HttpError> {
        let connection = self
            .store
            .connection(&self.connection_id)
            .await
            .map_err(store_error)?;
        self.cached_from(&connection)
    }

    fn expiring(&self, cached: &Cached) -> bool {
        let margin_ms = i64::try_from(self.margin.as_millis()).unwrap_or(i64::MAX);
        cached
            .expires_at_ms
            .is_some_and(|expires_at| expires_at - margin_ms <= now_ms())
    }

    /// Refreshes unless someone else already did; the caller holds the cache lock.
    async fn refresh_locked(&self, cache: &mut Option<Cached>) -> Result<(), HttpError> {
        let seen_version = cache.as_ref().map(|cached| cached.version);
        let lease_key = format!("refresh:{}", self.connection_id);
        let waited_until = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = now_ms();
            if self
                .store
                .try_lease(&lease_key, &self.lease_owner, now, now + 30_000)
                .await
                .map_err(store_error)?
            {
                break;
            }
            // Another process is refreshing: wait for its result rather than spending the token twice.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let connection = self
                .store
                .connection(&self.connection_id)
                .await
                .map_err(store_error)?;
            if Some(connection.version) != seen_version {
                *cache = Some(self.cached_from(&connection)?);
                return Ok(());
            }
            if tokio::time::Instant::now() > waited_until {
                return Err(HttpError::Credentials {
                    reason: "another worker holds the token refresh for too long".into(),
                });
            }
        }
        let result = self.refresh_leased(cache, seen_version).await;
        if let Err(error) = self
            .store
            .release_lease(&lease_key, &self.lease_owner)
            .await
        {
            tracing::warn!(connection = %self.connection_name, %error, "Cannot release the refresh lease; it will expire.");
        }
        result
    }

    async fn refresh_leased(
        &self,
        cache: &mut Option<Cached>,
        seen_version: Option<i64>,
    ) -> Result<(), HttpError> {
        // Double-check under the lease: a refresh may have landed while we waited for it.
        let connection = self
            .store
            .connection(&self.connection_id)
            .await
            .map_err(store_error)?;
        if seen_version.is_some() && Some(connection.version) != seen_version {
            *cache = Some(self.cached_from(&connection)?);
            return Ok(());
        }
        if connection.status.blocks_use() {
            return Err(self
                .cached_from(&connection)
                .err()
                .unwrap_or_else(|| self.needs_reauth("not usable")));
        }
        match self.refresher.refresh(&connection.credentials).await {
            Ok(refreshed) => {
                self.n_refreshes.fetch_add(1, Ordering::SeqCst);
                let written = self
                    .store
                    .update_credentials(
                        &connection.id,
                        connection.version,
                        &refreshed.credentials,
                        refreshed.expires_at_ms,
                    )
                    .await
                    .map_err(store_error)?;
                if !written {
                    // Only possible if our lease expired mid-refresh; the stored row is the truth.
                    tracing::warn!(connection = %self.connection_name, "Credentials changed during a refresh; using the stored ones.");
                    *cache = Some(self.load().await?);
                    return Ok(());
                }
                tracing::info!(connection = %self.connection_name, "Access token refreshed.");
                *cache = Some(Cached {
                    access_token: refreshed.access_token,
                    version: connection.version + 1,
                    expires_at_ms: refreshed.expires_at_ms,
                });
                Ok(())
            }
            Err(RefreshError::InvalidGrant(message)) => {
                let reason = format!("the service refused the refresh token: {message}");
                self.store
                    .set_connection_status(
                        &connection.id,
                        ConnectionStatus::RefreshFailed,
                        Some(&reason),
                    )
                    .await
                    .map_err(store_error)?;
                tracing::warn!(connection = %self.connection_name, "Refresh token refused; the connection needs reauthorization.");
                Err(self.needs_reauth(&reason))
            }
            Err(RefreshError::Corrupt(why)) => Err(self.needs_reauth(&why)),
            Err(RefreshError::Http(error)) => Err(error),
        }
    }
}

impl Credentials for RefreshingBearer {
    fn apply<'a>(&'a self, request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), HttpError>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            if cache.is_none() {
                *cache = Some(self.load().await?);
            }
            if cache.as_ref().is_some_and(|cached| self.expiring(cached)) {
                self.refresh_locked(&mut cache).await?;
            }
            let cached = cache.as_ref().expect("the cache was filled above");
            request.headers.insert(
                http::header::AUTHORIZATION,
                bearer_value(&cached.access_token)?,
            );
            Ok(())
        })
    }

    fn refresh<'a>(&'a self, refused: &'a HeaderMap) -> BoxFuture<'a, Result<bool, HttpError>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            let refused_token = refused
                .get(http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            if let (Some(cached), Some(refused_token)) = (cache.as_ref(), refused_token)
                && cached.access_token.expose() != refused_token
            {
                // Someone refreshed since this request was sent: just try again.
                return Ok(true);
            }
            self.refresh_locked(&mut cache).await?;
            Ok(true)
        })
    }
}

fn store_error(error: tether_store::Error) -> HttpError {
    HttpError::Credentials {
        reason: format!("cannot read the connection: {error}"),
    }
}

fn rand_owner(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        *byte = fastrand::u8(..);
    }
}

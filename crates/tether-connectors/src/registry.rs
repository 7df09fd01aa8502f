//! The connections of a running Tether: clients built from stored connections, sharing one rate
//! limiter and one credential cache per connection across every caller in the process.
//!
//! Across processes (several `tether serve` on one database), a registry made with
//! [`Registry::sharing_budgets`] splits each rate-limit budget between the processes spending it:
//! about every second it counts them in the store ([`Store::count_budget_spenders`]) and gives
//! each limiter its part ([`BudgetPart`]).

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http::HeaderName;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tether_core::Secret;
use tether_http::{
    ApiKeyHeader, BudgetPart, ClientConfig, Credentials, HttpClient, LimitConfig, StaticBearer,
    WindowLimiter,
};
use tether_store::budgets::BudgetToCount;
use tether_store::{AuthKind, Connection, Store};
use tokio::sync::Notify;
use url::Url;

use crate::auth::ghl::GhlRefresher;
use crate::auth::oauth2::RefreshingBearer;
use crate::flickr::{self, FlickrClient};
use crate::ghl::{self, GhlClient, LocationId};
use crate::rest::RestApp;

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
    /// Flickr counts calls per API key across all its users: one limiter per consumer key.
    flickr_key_limiters: Arc<Mutex<HashMap<String, Arc<WindowLimiter>>>>,
    /// Connections read lately, by the name asked for (see [`Registry::connection`]).
    recent: Arc<Mutex<HashMap<String, Recent>>>,
    /// The budgets this process shares with others, when it does.
    sharing: Option<Arc<Sharing>>,
}

/// The rate-limit budgets this process spends together with other processes.
#[derive(Debug)]
struct Sharing {
    /// This process's name in the store's count.
    instance: String,
    /// Told by a limiter whose caller waits for its part.
    wake: Arc<Notify>,
    /// Each budget's limiter in this process, by the budget's name.
    limiters: Mutex<HashMap<String, Weak<WindowLimiter>>>,
}

/// How often the processes spending a budget are counted. A process that stops renewing its
/// count (its store is away) stops sending [`PART_VALID_FOR`] later, before the others stop
/// counting it.
pub const COUNT_EVERY: Duration = Duration::from_secs(1);

/// How long a count holds. The others keep counting a process for this long after its last
/// renewal, plus the budget's window, so what it sent under its part has aged out before they
/// take the part over.
pub const PART_VALID_FOR: Duration = Duration::from_secs(3);

/// A connection as read from the store, when, and at which of the store's connection
/// generations.
#[derive(Debug, Clone)]
struct Recent {
    connection: Connection,
    read_at: std::time::Instant,
    generation: u64,
}

/// How long a connection read from the store serves calls before it is read again. This
/// process's own changes to connections are seen at once (the store's generation moves);
/// another process's (a reconnect through another `tether serve`) within this.
pub const CONNECTION_TTL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
struct Shared {
    limiter: Option<Arc<WindowLimiter>>,
    credentials: Arc<dyn Credentials>,
    version_seen: i64,
    /// The connection's settings when these were built: new settings (a new rate limit) build
    /// afresh.
    settings_seen: serde_json::Value,
    /// Built clients, reused while the connection is unchanged so calls share one connection pool.
    ghl: Option<GhlClient>,
    rest: Option<RestApp>,
}

/// Settings a person chose for a connection, stored as JSON with it (`Connection::settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionSettings {
    /// A rate limit other than the app's published one (the account's plan allows more, or the
    /// service is shared with other tools and Tether should use less), or none at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSetting>,
}

impl ConnectionSettings {
    /// Reads the settings stored with `connection`, naming the bad field.
    pub fn of(connection: &Connection) -> Result<Self, RegistryError> {
        serde_path_to_error::deserialize(&connection.settings).map_err(|error| {
            RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: format!("settings.{}: {}", error.path(), error.inner()),
            }
        })
    }

    /// The limiter settings: the override when there is one, else `published`.
    fn limits(&self, published: Option<LimitConfig>) -> Option<LimitConfig> {
        match self.rate_limit {
            None => published,
            Some(RateLimitSetting::Off(_)) => None,
            Some(RateLimitSetting::Limit {
                requests,
                window_secs,
            }) => Some(LimitConfig {
                burst_max: requests,
                burst_window: Duration::from_secs(window_secs),
                daily_max: published.map_or(u32::MAX, |limits| limits.daily_max),
                safety_margin: published
                    .map_or(Duration::from_millis(100), |limits| limits.safety_margin),
            }),
        }
    }
}

/// A connection's own rate limit: `off`, or `requests` per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RateLimitSetting {
    /// No client-side limit (the service's 429s are still honoured).
    Off(Off),
    /// At most `requests` per `window_secs`.
    Limit {
        /// Requests per window.
        requests: u32,
        /// The window, in seconds.
        window_secs: u64,
    },
}

/// The word `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Off {
    /// `off`.
    Off,
}

impl std::str::FromStr for RateLimitSetting {
    type Err = String;

    /// `off`, or `N/WINDOW` with a window such as `60s`, `1m` or `1h` (`6000/1m`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(RateLimitSetting::Off(Off::Off));
        }
        let bad = || format!("invalid rate limit {text:?} (expected e.g. \"6000/1m\" or \"off\")");
        let (requests, window) = text.split_once('/').ok_or_else(bad)?;
        let requests: u32 = requests.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(window.len());
        let (number, unit) = window.split_at(split);
        let number: u64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let window_secs = number.checked_mul(unit_secs).ok_or_else(bad)?;
        if requests == 0 || window_secs == 0 {
            return Err(format!(
                "invalid rate limit {text:?}: both numbers must be above 0"
            ));
        }
        Ok(RateLimitSetting::Limit {
            requests,
            window_secs,
        })
    }
}

impl Registry {
    /// A registry over `store`.
    pub fn new(store: Store) -> Self {
        Registry {
            store,
            shared: Arc::new(Mutex::new(HashMap::new())),
            flickr_key_limiters: Arc::new(Mutex::new(HashMap::new())),
            recent: Arc::new(Mutex::new(HashMap::new())),
            sharing: None,
        }
    }

    /// This registry, splitting each connection's rate-limit budget (and each Flickr API key's)
    /// with the other processes that spend it through the same store: each process sends at most
    /// its part, so together they never exceed the service's limit. Counts the spenders about
    /// every [`COUNT_EVERY`] on a task of its own, for as long as the registry lives; needs a
    /// Tokio runtime.
    pub fn sharing_budgets(mut self) -> Self {
        let sharing = Arc::new(Sharing {
            instance: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            wake: Arc::new(Notify::new()),
            limiters: Mutex::new(HashMap::new()),
        });
        tokio::spawn(count_spenders(
            Arc::downgrade(&sharing),
            sharing.wake.clone(),
            self.store.clone(),
        ));
        self.sharing = Some(sharing);
        self
    }

    /// A limiter for the budget `scope`: its own, or one sharing the budget with other processes.
    fn limiter(&self, scope: String, limits: LimitConfig) -> Arc<WindowLimiter> {
        match &self.sharing {
            None => Arc::new(WindowLimiter::new(limits)),
            Some(sharing) => {
                let limiter = Arc::new(WindowLimiter::shared(limits, sharing.wake.clone()));
                let mut limiters = sharing.limiters.lock();
                limiters.retain(|_, limiter| limiter.strong_count() > 0);
                limiters.insert(scope, Arc::downgrade(&limiter));
                limiter
            }
        }
    }

    /// The connection named (or with id) `name`: read from the store at most every
    /// [`CONNECTION_TTL`], and again at once after this process changed any connection. Every
    /// call needs its connection, and reading it (a query, and opening its sealed credentials)
    /// cost more than the call's own work on a fast service.
    async fn connection(&self, name: &str) -> Result<Connection, tether_store::Error> {
        let generation = self.store.connections_generation();
        if let Some(recent) = self.recent.lock().get(name)
            && recent.generation == generation
            && recent.read_at.elapsed() < CONNECTION_TTL
        {
            return Ok(recent.connection.clone());
        }
        let connection = self.store.connection(name).await?;
        let mut recent = self.recent.lock();
        // Bounded by the connections there are (and the names they were asked by).
        if recent.len() > 1024 {
            recent.clear();
        }
        recent.insert(
            name.to_owned(),
            Recent {
                connection: connection.clone(),
                read_at: std::time::Instant::now(),
                generation,
            },
        );
        Ok(connection)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A GHL client for the connection named (or with id) `name`.
    pub async fn ghl(&self, name: &str) -> Result<GhlClient, RegistryError> {
        let connection = self.connection(name).await?;
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
        let shared = self.shared_for(&connection, Some(LimitConfig::ghl()), || {
            Ok(Arc::new(StaticBearer(Secret::new(
                connection.credentials.expose(),
            ))))
        })?;
        if let Some(client) = shared.ghl {
            return Ok(client);
        }
        let config = ClientConfig::new(format!("ghl:{}", connection.name), base_url);
        let http = HttpClient::new(config, shared.credentials, shared.limiter)?;
        let client = GhlClient::new(http, LocationId::new(location_id));
        self.remember(&connection, |entry| entry.ghl = Some(client.clone()));
        Ok(client)
    }

    /// A client of a manifest-described app (Details Flowers) for the connection `name`.
    pub async fn rest_app(&self, name: &str) -> Result<crate::rest::RestApp, RegistryError> {
        let connection = self.connection(name).await?;
        if connection.app != "details_flowers" {
            return Err(RegistryError::WrongApp {
                name: connection.name.clone(),
                app: connection.app.clone(),
                expected: "details_flowers",
            });
        }
        // The client built for this connection, while it is unchanged: the manifest it was built
        // from is embedded in the binary, and reading it again would cost every call a YAML parse.
        if let Some(app) = self.built(&connection, |entry| entry.rest.clone()) {
            return Ok(app);
        }
        let manifest = tether_core::manifest::details_flowers().map_err(|error| {
            RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: error.to_string(),
            }
        })?;
        let base_url =
            Url::parse(&connection.base_url).map_err(|error| RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: error.to_string(),
            })?;
        let published = crate::rest::limit_config(&manifest);
        let header = HeaderName::from_bytes(manifest.auth.header.as_bytes()).map_err(|_| {
            RegistryError::Misconfigured {
                name: connection.name.clone(),
                reason: format!(
                    "the manifest's auth header `{}` is not a header name",
                    manifest.auth.header
                ),
            }
        })?;
        let shared = self.shared_for(&connection, published, || {
            Ok(Arc::new(ApiKeyHeader {
                header,
                key: Secret::new(connection.credentials.expose()),
            }))
        })?;
        if let Some(app) = shared.rest {
            return Ok(app);
        }
        let client = HttpClient::new(
            ClientConfig::new(format!("{}:{}", manifest.app, connection.name), base_url),
            shared.credentials,
            shared.limiter,
        )?;
        let app = RestApp::with_client(manifest, client);
        self.remember(&connection, |entry| entry.rest = Some(app.clone()));
        Ok(app)
    }

    /// A Flickr client for the connection named (or with id) `name`: OAuth 1.0a signatures
    /// with its stored keys and token, and the API key's rate limit (3,600 calls per hour,
    /// shared by every connection of the key) unless the connection sets its own.
    pub async fn flickr(&self, name: &str) -> Result<FlickrClient, RegistryError> {
        let connection = self.connection(name).await?;
        if connection.app != "flickr" {
            return Err(RegistryError::WrongApp {
                name: connection.name,
                app: connection.app,
                expected: "flickr",
            });
        }
        let misconfigured = |reason: String| RegistryError::Misconfigured {
            name: connection.name.clone(),
            reason,
        };
        let stored = flickr::StoredCredentials::from_secret(&connection.credentials)
            .map_err(misconfigured)?;
        let endpoints = flickr::FlickrEndpoints::for_base(&connection.base_url)
            .map_err(|error| misconfigured(error.to_string()))?;
        // No published limit here: without an override, the key's shared limiter is used.
        let shared = self.shared_for(&connection, None, || Ok(Arc::new(stored.credentials())))?;
        let limiter = match shared.limiter {
            Some(own) => Some(own),
            None if ConnectionSettings::of(&connection)?.rate_limit.is_some() => None,
            None => Some(
                self.flickr_key_limiters
                    .lock()
                    .entry(stored.consumer_key.clone())
                    .or_insert_with(|| {
                        self.limiter(
                            flickr_key_scope(&stored.consumer_key),
                            LimitConfig::flickr(),
                        )
                    })
                    .clone(),
            ),
        };
        let config = ClientConfig::new(
            format!("flickr:{}", connection.name),
            endpoints.rest.clone(),
        );
        let http = HttpClient::new(config, shared.credentials, limiter)?;
        Ok(FlickrClient::new(http, endpoints).with_user(flickr::UserId::new(stored.user_nsid)))
    }

    /// The client `pick` finds among those built for `connection`, when it is unchanged since.
    fn built<T>(
        &self,
        connection: &Connection,
        pick: impl FnOnce(&Shared) -> Option<T>,
    ) -> Option<T> {
        let shared = self.shared.lock();
        shared
            .get(&connection.id)
            .filter(|entry| fresh(entry, connection))
            .and_then(pick)
    }

    /// Keeps a built client with the connection's shared parts, unless the connection changed
    /// meanwhile (then the next call builds again).
    fn remember(&self, connection: &Connection, keep: impl FnOnce(&mut Shared)) {
        let mut shared = self.shared.lock();
        if let Some(entry) = shared.get_mut(&connection.id)
            && fresh(entry, connection)
        {
            keep(entry);
        }
    }

    /// The connection's shared limiter and credentials (and any client built over them), built
    /// once per connection and reused while it is unchanged. `static_credentials` builds the
    /// credentials of an API-key or private-token connection.
    fn shared_for(
        &self,
        connection: &Connection,
        published: Option<LimitConfig>,
        static_credentials: impl FnOnce() -> Result<Arc<dyn Credentials>, RegistryError>,
    ) -> Result<Shared, RegistryError> {
        let settings = ConnectionSettings::of(connection)?;
        let mut shared = self.shared.lock();
        let existing = shared.get(&connection.id);
        if let Some(existing) = existing
            && fresh(existing, connection)
        {
            return Ok(existing.clone());
        }
        let credentials: Arc<dyn Credentials> = match connection.auth_kind {
            // OAuth 1.0a tokens do not expire; a reconnect bumps the version and rebuilds.
            AuthKind::PrivateToken | AuthKind::ApiKey | AuthKind::OAuth1 => static_credentials()?,
            // One refresher per connection for the life of the process: it is what makes
            // refreshes single-flight, and it re-reads rotated tokens from the store itself.
            AuthKind::OAuth2 => match existing {
                Some(existing) => existing.credentials.clone(),
                None => Arc::new(RefreshingBearer::new(
                    self.store.clone(),
                    connection,
                    Box::new(GhlRefresher),
                    Duration::from_secs(60),
                )),
            },
        };
        // A new token keeps the limiter (the budget is the account's, not the token's); new
        // settings replace it.
        let limiter = match existing {
            Some(existing) if existing.settings_seen == connection.settings => {
                existing.limiter.clone()
            }
            _ => settings
                .limits(published)
                .map(|limits| self.limiter(format!("connection:{}", connection.id), limits)),
        };
        let entry = Shared {
            limiter,
            credentials,
            version_seen: connection.version,
            settings_seen: connection.settings.clone(),
            ghl: None,
            rest: None,
        };
        shared.insert(connection.id.clone(), entry.clone());
        Ok(entry)
    }
}

/// The budget name of a Flickr API key: a digest, so the key itself is not written to the store.
fn flickr_key_scope(consumer_key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(consumer_key.as_bytes());
    let hex: String = digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("flickr-key:{hex}")
}

/// Counts, about every [`COUNT_EVERY`] and whenever a limiter waits for its part, the processes
/// spending each budget this process spends, and gives each limiter its part. Ends with the
/// registry.
async fn count_spenders(sharing: Weak<Sharing>, wake: Arc<Notify>, store: Store) {
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(COUNT_EVERY) => {}
        }
        let Some(sharing) = sharing.upgrade() else {
            return;
        };
        let spending: Vec<(String, Arc<WindowLimiter>)> = {
            let mut limiters = sharing.limiters.lock();
            limiters.retain(|_, limiter| limiter.strong_count() > 0);
            limiters
                .iter()
                .filter_map(|(scope, limiter)| Some((scope.clone(), limiter.upgrade()?)))
                .filter(|(_, limiter)| limiter.is_spending())
                .collect()
        };
        if spending.is_empty() {
            continue;
        }
        let started = tokio::time::Instant::now();
        let now_ms = tether_store::now_ms();
        let budgets: Vec<BudgetToCount> = spending
            .iter()
            .map(|(scope, limiter)| BudgetToCount {
                scope: scope.clone(),
                counts_since_ms: now_ms - millis(limiter.window_with_margin() + PART_VALID_FOR),
            })
            .collect();
        match store
            .count_budget_spenders(&sharing.instance, now_ms, &budgets)
            .await
        {
            Ok(counts) => {
                for ((scope, limiter), count) in spending.iter().zip(counts) {
                    if limiter.part().is_none_or(|part| part.of != count.processes) {
                        tracing::debug!(
                            scope = %scope,
                            processes = count.processes,
                            newcomer = count.joined_others,
                            "processes sharing a rate limit"
                        );
                    }
                    // The others see this process at their next count, and what they sent over
                    // their new part ages out one window later.
                    let hold = limiter.window_with_margin() + 2 * COUNT_EVERY;
                    limiter.set_part(BudgetPart {
                        of: count.processes,
                        rank: count.rank,
                        hold_until: count
                            .joined_others
                            .then(|| tokio::time::Instant::now() + hold),
                        valid_until: started + PART_VALID_FOR,
                    });
                }
            }
            Err(error) => {
                // The parts lapse: this process's limiters send nothing until a count succeeds.
                tracing::warn!(error = %error, "cannot count the processes sharing rate limits");
                tokio::time::sleep(COUNT_EVERY).await;
            }
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Whether `entry` still serves `connection`: same settings and, for a static token that
/// `tether connect` may have replaced, the same credentials version.
fn fresh(entry: &Shared, connection: &Connection) -> bool {
    entry.settings_seen == connection.settings
        && (connection.auth_kind == AuthKind::OAuth2 || entry.version_seen == connection.version)
}

/// Re-exported so callers can name the client type from the registry's module.
pub use ghl::Error as GhlError;

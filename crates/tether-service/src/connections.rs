//! Connections a person can trust: list and read them (never a secret), create one from a
//! private token or an API key and test it at once, test on demand, rename, delete, and connect
//! through OAuth from a browser.
//!
//! A test is one cheap read per app — HighLevel: a contact search with limit 1 in the
//! connection's location; Flickr: `flickr.test.login`; a manifest app: its first listing with
//! limit 1 — and its outcome is the connection's health: `ok`; `revoked` when the service
//! refuses the credentials (401/403: a wrong token, or no access to the location);
//! `refresh_failed` when the refresh token is refused; `unreachable` when no answer came
//! (connection refused, timeout, 5xx, or not the API at that base URL). The last error is kept
//! redacted: no token, no e-mail address.
//!
//! Flows name a connection by name or by id. A connection that a current flow uses cannot be
//! deleted, and cannot be renamed while a flow names it by its old name.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tether_connectors::auth::ghl::{
    AuthorizeHost, GhlOAuthApp, StoredOAuth, agency_location_token, authorize_url, exchange_code,
    expires_at_ms, token_client,
};
use tether_connectors::auth::oauth1::{self, Consumer, FlowEndpoints, TokenPair};
use tether_connectors::flickr::{FlickrClient, FlickrEndpoints, Perms, StoredCredentials};
use tether_connectors::ghl::{GhlClient, LocationId};
use tether_connectors::registry::Registry;
use tether_connectors::rest::{ListQuery, RestApp};
use tether_core::{ErrorKind, Secret};
use tether_engine::flow::{Flow, StepKind, TriggerSpec};
use tether_store::{AuthKind, Connection, ConnectionStatus, NewConnection};
use url::Url;
use utoipa::ToSchema;

use crate::error::Result;
use crate::{Error, Page, Service};

/// How long a test may take before the service counts as unreachable.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an OAuth authorization started from the API may take.
const OAUTH_TTL: Duration = Duration::from_secs(15 * 60);

/// The default page size of the connection list, and its largest.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// A connection's health, as people and programs read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The last test or call succeeded.
    Ok,
    /// The service refused the refresh token; reconnect.
    RefreshFailed,
    /// The service refused the credentials (401/403); reconnect or fix the token.
    Revoked,
    /// The service could not be reached at the last check.
    Unreachable,
    /// Stored without a test.
    Untested,
}

impl From<ConnectionStatus> for Health {
    fn from(status: ConnectionStatus) -> Self {
        match status {
            ConnectionStatus::Ok => Health::Ok,
            ConnectionStatus::RefreshFailed => Health::RefreshFailed,
            ConnectionStatus::Revoked => Health::Revoked,
            ConnectionStatus::Unreachable => Health::Unreachable,
            ConnectionStatus::Untested => Health::Untested,
        }
    }
}

impl From<Health> for ConnectionStatus {
    fn from(health: Health) -> Self {
        match health {
            Health::Ok => ConnectionStatus::Ok,
            Health::RefreshFailed => ConnectionStatus::RefreshFailed,
            Health::Revoked => ConnectionStatus::Revoked,
            Health::Unreachable => ConnectionStatus::Unreachable,
            Health::Untested => ConnectionStatus::Untested,
        }
    }
}

impl Health {
    /// The word stored and shown (`refresh_failed`).
    pub fn as_str(self) -> &'static str {
        ConnectionStatus::from(self).as_str()
    }
}

/// A connection as people see it: everything but its credentials.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// Stable id (`conn_…`); flows may name a connection by it.
    pub id: String,
    /// Unique name (`ghl-main`); flows usually name a connection by it.
    pub name: String,
    /// The app: `ghl`, `flickr` or `details_flowers`.
    pub app: String,
    /// How it authenticates: `oauth2`, `private_token`, `oauth1` or `api_key`.
    pub auth: String,
    /// The account at the app: a HighLevel location id, a Flickr user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The account as people read it: `location ve9E…`, `location ve9E… of agency 5DP4…`,
    /// `alice (12345@N01)`, or the host of a manifest app's API.
    pub account_label: String,
    /// Granted scopes (Flickr: the permission).
    pub scopes: Vec<String>,
    /// The API base URL.
    pub base_url: String,
    /// Whether it works, as far as the last check knows.
    pub health: Health,
    /// The last error, redacted (no token, no e-mail address); absent when healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the health was last learned (RFC 3339); absent when never tested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// When the access token expires (RFC 3339), for tokens that do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The ids of the current flows that use it.
    pub used_by: Vec<String>,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// A request to store a connection with a private token or an API key
/// (`POST /api/v1/connections`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConnection {
    /// `ghl` (a private integration token) or `details_flowers` (an API key).
    pub app: String,
    /// Unique name; letters, digits, `.`, `_`, `-`, at most 64.
    pub name: String,
    /// The private integration token or the API key. Stored sealed, never shown again.
    #[schema(value_type = String)]
    pub token: Secret,
    /// HighLevel: the location (sub-account) id the token belongs to; required for `ghl`.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The API base URL; defaults to the app's (HighLevel's public API). Required for
    /// `details_flowers`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// HighLevel: the token's scopes, for people to read (the service enforces its own).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Store without testing (health `untested`).
    #[serde(default)]
    pub skip_test: bool,
}

/// How [`Service::connect`] treats the connection it is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// Store without testing (health `untested`).
    pub skip_test: bool,
    /// Replace the credentials of an existing connection of the same name and app (reconnect)
    /// instead of refusing the name.
    pub replace: bool,
}

/// What a test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestOutcome {
    /// The health it shows.
    pub health: Health,
    /// What went wrong (redacted), or for `ok` what answered (`location ve9E…`, `user alice`).
    pub message: String,
}

/// A request to start an OAuth connection from the API (`POST /api/v1/connections/oauth`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartOAuth {
    /// `ghl` (OAuth 2.0) or `flickr` (OAuth 1.0a).
    pub app: String,
    /// The connection's name; an existing connection of the same app with this name is
    /// reconnected (its id stays).
    pub name: String,
    /// HighLevel: the Marketplace app's client id (default `TETHER_GHL_CLIENT_ID`); Flickr: the
    /// API key (default `TETHER_FLICKR_KEY`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Its secret (default `TETHER_GHL_CLIENT_SECRET` or `TETHER_FLICKR_SECRET`). Stored sealed.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    /// The API base URL (a simulator's address; for Flickr one base for the OAuth pages, the API
    /// and uploads); defaults to the app's.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Flickr: the permission to ask for, `read`, `write` (default) or `delete`.
    #[serde(default)]
    pub perms: Option<String>,
    /// Where the consent page lives: a URL or a bare host (`app.myagency.com`, taken as https);
    /// defaults to HighLevel's marketplace, or to `apiBase` when that is on loopback (a
    /// simulator).
    #[serde(default)]
    pub authorize_base: Option<String>,
    /// Use the white-label consent host (`marketplace.leadconnectorhq.com`).
    #[serde(default)]
    pub white_label: bool,
    /// Scopes to ask for; defaults to contacts and calendars read and write (and, for an agency,
    /// `oauth.readonly oauth.write`, which minting location tokens needs).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// HighLevel: who installs the app, `Location` (a sub-account; the default) or `Company`
    /// (an agency, acting on the location `locationId`).
    #[serde(default)]
    pub user_type: Option<String>,
    /// HighLevel agency installs: the location (sub-account) id the connection acts on.
    #[serde(default)]
    pub location_id: Option<String>,
}

/// A request to give a connection made with a private token or an API key a new one
/// (`POST /api/v1/connections/{id}/reconnect`); the name, id and base URL stay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconnectConnection {
    /// The new private integration token or API key. Stored sealed, never shown again.
    #[schema(value_type = String)]
    pub token: Secret,
}

/// Where to send the person's browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthStarted {
    /// Open this in a browser; the app sends it back to `redirectUrl`.
    pub authorize_url: String,
    /// Where the app sends the browser back (register it with the app).
    pub redirect_url: String,
    /// When the authorization expires (RFC 3339).
    pub expires_at: String,
}

/// The addresses a person registers with the apps (`GET /api/v1/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicSettings {
    /// The URL people and apps reach this Tether at.
    pub public_url: String,
    /// The OAuth redirect URL of each app (`ghl`, `flickr`).
    pub oauth_redirect_urls: std::collections::BTreeMap<String, String>,
    /// Where HighLevel sends webhooks.
    pub ghl_webhook_url: String,
    /// Per app (`ghl`, `flickr`), whether this server has a default OAuth client
    /// (`TETHER_GHL_CLIENT_ID` and `…_SECRET`, `TETHER_FLICKR_KEY` and `…_SECRET`), used when
    /// a connection names none.
    pub oauth_client_defaults: std::collections::BTreeMap<String, bool>,
}

/// The scopes asked for when a request names none.
pub const DEFAULT_GHL_SCOPES: &str = "contacts.readonly contacts.write calendars.readonly calendars/events.readonly calendars/events.write";

/// What an API-started Flickr authorization keeps, sealed, until the callback (under its
/// request token, which Flickr echoes to the callback).
#[derive(Debug, Serialize, Deserialize)]
struct PendingFlickr {
    name: String,
    consumer_key: String,
    consumer_secret: Secret,
    base_url: Option<String>,
    perms: String,
    request_token: Secret,
    request_secret: Secret,
}

impl PendingFlickr {
    /// The OAuth pages, and the API base URL stored with the connection.
    fn endpoints(&self) -> Result<(FlowEndpoints, FlickrEndpoints, String)> {
        use tether_connectors::flickr::{API_BASE, OAUTH_BASE};
        Ok(match &self.base_url {
            Some(base) => {
                let url =
                    Url::parse(base).map_err(|error| field_error("apiBase", error.to_string()))?;
                (
                    FlowEndpoints::flickr(&url),
                    FlickrEndpoints::single(&url),
                    base.clone(),
                )
            }
            None => (
                FlowEndpoints::flickr(&Url::parse(OAUTH_BASE).map_err(Error::internal)?),
                FlickrEndpoints::flickr(),
                API_BASE.to_owned(),
            ),
        })
    }

    fn consumer(&self) -> Consumer {
        Consumer {
            key: self.consumer_key.clone(),
            secret: self.consumer_secret.clone(),
        }
    }
}

/// What an API-started GHL authorization keeps, sealed, until the callback.
#[derive(Debug, Serialize, Deserialize)]
struct PendingGhl {
    name: String,
    client_id: String,
    client_secret: Secret,
    api_base: String,
    authorize_base: String,
    redirect_uri: String,
    scopes: Vec<String>,
    /// `Location` or `Company`.
    #[serde(default = "location_user_type")]
    user_type: String,
    /// The location an agency install acts on.
    #[serde(default)]
    location_id: Option<String>,
}

fn location_user_type() -> String {
    "Location".into()
}

/// The environment variables of an app's default OAuth client.
fn client_env(app: &str) -> (&'static str, &'static str) {
    if app == "flickr" {
        ("TETHER_FLICKR_KEY", "TETHER_FLICKR_SECRET")
    } else {
        ("TETHER_GHL_CLIENT_ID", "TETHER_GHL_CLIENT_SECRET")
    }
}

/// The default OAuth client of `app` from the environment, when both halves are set.
fn default_client(app: &str) -> Option<(String, Secret)> {
    let (id_var, secret_var) = client_env(app);
    let id = std::env::var(id_var).ok().filter(|id| !id.is_empty())?;
    let secret = std::env::var(secret_var)
        .ok()
        .filter(|secret| !secret.is_empty())?;
    Some((id, Secret::new(secret)))
}

/// What a reconnect through OAuth reuses from the connection it replaces.
#[derive(Debug, Default)]
struct Previous {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    api_base: Option<String>,
    authorize_base: Option<String>,
    user_type: Option<String>,
    location_id: Option<String>,
}

impl Previous {
    /// What `connection`'s stored credentials hold (nothing when they are not OAuth's).
    fn of(connection: &Connection) -> Previous {
        match (connection.app.as_str(), connection.auth_kind) {
            ("ghl", AuthKind::OAuth2) => match StoredOAuth::from_secret(&connection.credentials) {
                Ok(stored) => Previous {
                    client_id: Some(stored.client_id.clone()),
                    client_secret: Some(stored.client_secret.clone()),
                    api_base: Some(connection.base_url.clone()),
                    authorize_base: stored.authorize_base.clone(),
                    location_id: stored
                        .is_agency()
                        .then(|| connection.account_id.clone())
                        .flatten(),
                    user_type: Some(stored.user_type),
                },
                Err(_) => Previous::default(),
            },
            ("flickr", AuthKind::OAuth1) => {
                match StoredCredentials::from_secret(&connection.credentials) {
                    Ok(stored) => Previous {
                        client_id: Some(stored.consumer_key.clone()),
                        client_secret: Some(stored.consumer_secret.clone()),
                        // Flickr's own hosts are the default; a simulator's single base is kept.
                        api_base: (connection.base_url.trim_end_matches('/')
                            != tether_connectors::flickr::API_BASE)
                            .then(|| connection.base_url.clone()),
                        ..Previous::default()
                    },
                    Err(_) => Previous::default(),
                }
            }
            _ => Previous::default(),
        }
    }
}

impl Service {
    /// Connections by name, a page at a time (`cursor`: the last name of the previous page).
    pub async fn connections(
        &self,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Page<ConnectionView>> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(Error::invalid(format!(
                    "limit: {n} is out of range; use 1 to {MAX_LIMIT}"
                )));
            }
        };
        let after = cursor.map(decode_cursor).transpose()?;
        let all = self.store().connections().await?;
        let mut items: Vec<ConnectionView> = all
            .iter()
            .filter(|connection| {
                after
                    .as_deref()
                    .is_none_or(|after| connection.name.as_str() > after)
            })
            .take(limit + 1)
            .map(|connection| self.view(connection))
            .collect();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| encode_cursor(&last.name))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// One connection, by name or id.
    pub async fn connection(&self, name_or_id: &str) -> Result<ConnectionView> {
        let connection = self.load(name_or_id).await?;
        Ok(self.view(&connection))
    }

    /// Stores a connection with a private token or an API key (`POST /connections`), tested
    /// first: credentials the service refuses are not stored (422 with the cause); an
    /// unreachable service stores it as `unreachable`.
    pub async fn create_connection(&self, request: CreateConnection) -> Result<ConnectionView> {
        let app = normalize_app(&request.app)?;
        let new = match app {
            "ghl" => {
                let location = request
                    .account_id
                    .clone()
                    .filter(|id| !id.trim().is_empty())
                    .ok_or_else(|| {
                        field_error("accountId", "a HighLevel connection needs the location id")
                    })?;
                NewConnection {
                    name: request.name.clone(),
                    app: "ghl".into(),
                    auth_kind: AuthKind::PrivateToken,
                    account_id: Some(location),
                    base_url: parse_base_url(
                        "baseUrl",
                        request
                            .base_url
                            .as_deref()
                            .unwrap_or(tether_connectors::ghl::BASE_URL),
                    )?,
                    scopes: request.scopes.clone(),
                    credentials: request.token.clone(),
                    expires_at_ms: None,
                }
            }
            "details_flowers" => NewConnection {
                name: request.name.clone(),
                app: "details_flowers".into(),
                auth_kind: AuthKind::ApiKey,
                account_id: request.account_id.clone(),
                base_url: parse_base_url(
                    "baseUrl",
                    request.base_url.as_deref().ok_or_else(|| {
                        field_error("baseUrl", "a Details Flowers connection needs its base URL")
                    })?,
                )?,
                scopes: Vec::new(),
                credentials: request.token.clone(),
                expires_at_ms: None,
            },
            _ => {
                return Err(field_error(
                    "app",
                    format!(
                        "{app} connects through OAuth: use POST /connections/oauth (or `tether connect {app}`)"
                    ),
                ));
            }
        };
        if request.token.expose().trim().is_empty() {
            return Err(field_error("token", "must not be empty"));
        }
        let (connection, _) = self
            .connect(
                new,
                ConnectOptions {
                    skip_test: request.skip_test,
                    replace: false,
                },
            )
            .await?;
        Ok(connection)
    }

    /// Stores `new` after testing it (what `tether connect` and the OAuth callback do): a
    /// refusal (`revoked`, `refresh_failed`) stores nothing and answers 422 with the cause; an
    /// unreachable service stores it as `unreachable`; `skip_test` stores it as `untested`.
    /// Answers the stored connection and the test's outcome (`None` when skipped).
    pub async fn connect(
        &self,
        new: NewConnection,
        options: ConnectOptions,
    ) -> Result<(ConnectionView, Option<TestOutcome>)> {
        check_name(&new.name)?;
        let existing = match self.store().connection(&new.name).await {
            Ok(existing) => Some(existing),
            Err(tether_store::Error::NotFound { .. }) => None,
            Err(error) => return Err(error.into()),
        };
        if let Some(existing) = &existing
            && (!options.replace || existing.app != new.app)
        {
            return Err(Error::conflict(format!(
                "a {} connection named {:?} exists already; pick another name{}",
                existing.app,
                new.name,
                if existing.app == new.app {
                    " or reconnect it"
                } else {
                    ""
                }
            )));
        }
        let outcome = if options.skip_test {
            None
        } else {
            Some(test_new(&new).await)
        };
        if let Some(outcome) = &outcome
            && matches!(outcome.health, Health::Revoked | Health::RefreshFailed)
        {
            return Err(Error {
                diagnostics: vec![crate::Diagnostic {
                    line: None,
                    column: None,
                    path: if outcome
                        .message
                        .starts_with("HighLevel refused access to location")
                    {
                        "accountId".into()
                    } else {
                        "token".into()
                    },
                    message: outcome.message.clone(),
                }],
                ..Error::unprocessable(
                    format!(
                        "{} refused the credentials, so the connection was not stored: {}",
                        app_title(&new.app),
                        outcome.message
                    ),
                    Vec::new(),
                )
            });
        }
        let (status, message) = match &outcome {
            None => (
                ConnectionStatus::Untested,
                Some("stored without a test".to_owned()),
            ),
            Some(outcome) if outcome.health == Health::Ok => (ConnectionStatus::Ok, None),
            Some(outcome) => (outcome.health.into(), Some(outcome.message.clone())),
        };
        let stored = match existing {
            Some(existing) => {
                let written = self
                    .store()
                    .update_credentials(
                        &existing.id,
                        existing.version,
                        &new.credentials,
                        new.expires_at_ms,
                    )
                    .await?;
                if !written {
                    return Err(Error::conflict(
                        "the connection changed while reconnecting; try again",
                    ));
                }
                self.store()
                    .set_connection_status(&existing.id, status, message.as_deref())
                    .await?;
                self.store().connection(&existing.id).await?
            }
            None => match self
                .store()
                .create_connection_with_status(new, status, message.as_deref())
                .await
            {
                Err(tether_store::Error::Conflict { name, .. }) => {
                    return Err(Error::conflict(format!(
                        "a connection named {name:?} exists already"
                    )));
                }
                other => other?,
            },
        };
        Ok((self.view(&stored), outcome))
    }

    /// Gives a connection made with a private token or an API key a new one, tested first
    /// (refused credentials are not stored: 422 on `token`); its id, name and base URL stay.
    /// An OAuth connection reconnects through [`Service::start_oauth`] with its name.
    pub async fn reconnect_connection(
        &self,
        name_or_id: &str,
        request: ReconnectConnection,
    ) -> Result<ConnectionView> {
        let existing = self.load(name_or_id).await?;
        if !matches!(
            existing.auth_kind,
            AuthKind::PrivateToken | AuthKind::ApiKey
        ) {
            return Err(field_error(
                "token",
                format!(
                    "{} connects through OAuth: reconnect with POST /connections/oauth and the name {:?}",
                    existing.name, existing.name
                ),
            ));
        }
        if request.token.expose().trim().is_empty() {
            return Err(field_error("token", "must not be empty"));
        }
        let new = NewConnection {
            name: existing.name.clone(),
            app: existing.app.clone(),
            auth_kind: existing.auth_kind,
            account_id: existing.account_id.clone(),
            base_url: existing.base_url.clone(),
            scopes: existing.scopes.clone(),
            credentials: request.token,
            expires_at_ms: None,
        };
        let (connection, _) = self
            .connect(
                new,
                ConnectOptions {
                    skip_test: false,
                    replace: true,
                },
            )
            .await?;
        Ok(connection)
    }

    /// Tests a stored connection with one cheap read and records the outcome as its health.
    pub async fn test_connection(&self, name_or_id: &str) -> Result<ConnectionView> {
        let connection = self.load(name_or_id).await?;
        let outcome = test_stored(self, &connection).await;
        let message = (outcome.health != Health::Ok).then_some(outcome.message.as_str());
        self.store()
            .set_connection_status(&connection.id, outcome.health.into(), message)
            .await?;
        self.connection(&connection.id).await
    }

    /// Renames a connection (a unique name). Refused (409) while a current flow names it by its
    /// old name, listing those flows; flows that name it by id are unaffected.
    pub async fn rename_connection(
        &self,
        name_or_id: &str,
        new_name: &str,
    ) -> Result<ConnectionView> {
        check_name(new_name).map_err(|error| Error {
            diagnostics: vec![crate::Diagnostic {
                line: None,
                column: None,
                path: "name".into(),
                message: error.message.clone(),
            }],
            ..error
        })?;
        let connection = self.load(name_or_id).await?;
        if connection.name == new_name {
            return Ok(self.view(&connection));
        }
        let every = self.every_flow().await?;
        let by_name: Vec<String> = using(&every, &connection.name, &connection.id)
            .into_iter()
            .filter(|(_, by_id)| !by_id)
            .map(|(flow, _)| flow)
            .collect();
        if !by_name.is_empty() {
            return Err(Error {
                diagnostics: used_by_diagnostics(&by_name),
                ..Error::conflict(format!(
                    "connection {:?} is named by flow{} {}; change {} to the new name (or to its id {}) first",
                    connection.name,
                    plural(by_name.len()),
                    quoted(&by_name),
                    if by_name.len() == 1 { "it" } else { "them" },
                    connection.id
                ))
            });
        }
        match self
            .store()
            .rename_connection(&connection.id, new_name)
            .await
        {
            Ok(renamed) => Ok(self.view(&renamed)),
            Err(tether_store::Error::Conflict { name, .. }) => Err(Error::conflict(format!(
                "a connection named {name:?} exists already"
            ))),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a connection and its credentials. Refused (409) while a current flow uses it,
    /// listing those flows. Works without opening the credentials (a lost key).
    pub async fn delete_connection(&self, name_or_id: &str) -> Result<()> {
        let names = self.store().connection_names().await?;
        let flows = self.flows_using_name(name_or_id, &names).await?;
        if !flows.is_empty() {
            // Named as people know it, whichever of name and id was given.
            let shown = match self.store().connection(name_or_id).await {
                Ok(connection) => connection.name,
                Err(_) => name_or_id.to_owned(),
            };
            return Err(Error {
                diagnostics: used_by_diagnostics(&flows),
                ..Error::conflict(format!(
                    "connection {shown:?} is used by flow{} {}; change or remove {} first",
                    plural(flows.len()),
                    quoted(&flows),
                    if flows.len() == 1 { "it" } else { "them" }
                ))
            });
        }
        self.store().delete_connection(name_or_id).await?;
        Ok(())
    }

    /// Starts an OAuth connection: keeps the request server-side under a random, single-use
    /// state that expires in 15 minutes, and answers the consent page's URL. The app sends the
    /// browser back to `{public_url}/oauth/callback/{app}`, which calls
    /// [`Service::complete_oauth`].
    pub async fn start_oauth(&self, request: StartOAuth) -> Result<OAuthStarted> {
        let app = normalize_app(&request.app)?;
        if app == "details_flowers" {
            return Err(field_error(
                "app",
                "details_flowers connects with an API key: POST /connections",
            ));
        }
        check_name(&request.name)?;
        // A reconnect (the same name and app) reuses what the connection was made with: its
        // client, API base, consent page, user type and agency location.
        let previous = match self.store().connection(&request.name).await {
            Ok(existing) if existing.app != app => {
                return Err(Error::conflict(format!(
                    "a {} connection named {:?} exists already",
                    existing.app, request.name
                )));
            }
            Ok(existing) => Previous::of(&existing),
            Err(_) => Previous::default(),
        };
        if app == "flickr" {
            return self.start_flickr_oauth(request, previous).await;
        }
        let (env_id, env_secret) = client_env("ghl");
        let client_id = non_empty(request.client_id.clone())
            .or(previous.client_id)
            .or_else(|| std::env::var(env_id).ok())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                field_error(
                    "clientId",
                    format!("give the Marketplace app's client id (or set {env_id})"),
                )
            })?;
        let client_secret = request
            .client_secret
            .clone()
            .filter(|secret| !secret.expose().is_empty())
            .or(previous.client_secret)
            .or_else(|| std::env::var(env_secret).ok().map(Secret::new))
            .filter(|secret| !secret.expose().is_empty())
            .ok_or_else(|| {
                field_error(
                    "clientSecret",
                    format!("give the Marketplace app's client secret (or set {env_secret})"),
                )
            })?;
        let user_type = match request
            .user_type
            .as_deref()
            .or(previous.user_type.as_deref())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("location" | "sub-account") => "Location",
            Some("company" | "agency") => "Company",
            Some(other) => {
                return Err(field_error(
                    "userType",
                    format!(
                        "{other:?} is not a user type: use Location (a sub-account) or Company (an agency)"
                    ),
                ));
            }
        };
        let location_id = if user_type == "Company" {
            Some(
                non_empty(request.location_id.clone())
                    .or(previous.location_id)
                    .ok_or_else(|| {
                        field_error(
                            "locationId",
                            "an agency install acts on one of its locations: give its id",
                        )
                    })?,
            )
        } else {
            None
        };
        let api_base = Url::parse(&parse_base_url(
            "apiBase",
            non_empty(request.api_base.clone())
                .or(previous.api_base)
                .as_deref()
                .unwrap_or(tether_connectors::ghl::BASE_URL),
        )?)
        .map_err(|error| field_error("apiBase", error.to_string()))?;
        let authorize_base = match non_empty(request.authorize_base.clone()) {
            Some(base) => consent_base(&base)?,
            None if request.white_label => {
                Url::parse(AuthorizeHost::WhiteLabel.base_url()).map_err(Error::internal)?
            }
            None => match previous.authorize_base.as_deref().map(Url::parse) {
                Some(Ok(base)) => base,
                _ if is_loopback(&api_base) => api_base.clone(),
                _ => Url::parse(AuthorizeHost::Standard.base_url()).map_err(Error::internal)?,
            },
        };
        let mut scopes: Vec<String> = if request.scopes.is_empty() {
            DEFAULT_GHL_SCOPES
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        } else {
            request.scopes.clone()
        };
        if user_type == "Company" {
            for needed in ["oauth.readonly", "oauth.write"] {
                if !scopes.iter().any(|scope| scope == needed) {
                    scopes.push(needed.to_owned());
                }
            }
        }
        let redirect_uri = self.redirect_url("ghl");
        let pending = PendingGhl {
            name: request.name.clone(),
            client_id,
            client_secret,
            api_base: api_base.to_string(),
            authorize_base: authorize_base.to_string(),
            redirect_uri: redirect_uri.clone(),
            scopes,
            user_type: user_type.to_owned(),
            location_id,
        };
        let sealed = serde_json::to_string(&pending).map_err(Error::internal)?;
        let expires_at_ms = tether_store::now_ms() + millis(OAUTH_TTL);
        let state = self
            .store()
            .create_oauth_state("ghl", &Secret::new(sealed), expires_at_ms)
            .await?;
        // HighLevel picks the install's kind from the app's settings; the simulator reads it
        // from the query, and HighLevel ignores what it does not know.
        let extra: &[(&str, &str)] = if user_type == "Company" {
            &[("user_type", "Company")]
        } else {
            &[]
        };
        let url = authorize_url(&pending.app(), &state, extra);
        Ok(OAuthStarted {
            authorize_url: url.to_string(),
            redirect_url: redirect_uri,
            expires_at: rfc3339(expires_at_ms),
        })
    }

    /// Completes an OAuth connection from the app's redirect (`query`: the callback's query
    /// parameters): checks the state (known, unused, unexpired), exchanges the code, tests the
    /// new token and stores the connection. Answers the stored connection.
    pub async fn complete_oauth(
        &self,
        app: &str,
        query: &std::collections::HashMap<String, String>,
    ) -> Result<ConnectionView> {
        match app {
            "ghl" => {}
            "flickr" => return self.complete_flickr_oauth(query).await,
            _ => return Err(Error::not_found(format!("OAuth callback for app {app:?}"))),
        }
        let state = query
            .get("state")
            .ok_or_else(|| Error::invalid("the callback carries no state"))?;
        let pending = self
            .store()
            .take_oauth_state("ghl", state)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "this authorization is unknown, expired or used already; start the connection again",
                )
            })?;
        let pending: PendingGhl =
            serde_json::from_str(pending.request.expose()).map_err(Error::internal)?;
        if let Some(error) = query.get("error") {
            let described = query
                .get("error_description")
                .map(|text| format!("{error}: {text}"))
                .unwrap_or_else(|| error.clone());
            return Err(Error::invalid(format!(
                "HighLevel refused the authorization: {}",
                tether_http::redact::text(&described)
            )));
        }
        let code = query
            .get("code")
            .ok_or_else(|| Error::invalid("the callback carries no code"))?;
        let app_settings = pending.app();
        let http = token_client(&app_settings.api_base).map_err(Error::internal)?;
        let tokens = exchange_code(&http, &app_settings, code, &pending.user_type)
            .await
            .map_err(|error| {
                Error::invalid(format!(
                    "HighLevel refused the code exchange: {}",
                    redact(&chain(&error), &[])
                ))
            })?;
        let mut stored = StoredOAuth::from_response(&tokens, &app_settings, None);
        let mut expires = expires_at_ms(&tokens);
        let location = if stored.is_agency() {
            // An agency token is refused on location routes: the connection uses a token of
            // its chosen location, minted with the agency's.
            let location = pending.location_id.clone().ok_or_else(|| {
                Error::invalid(
                    "an agency install needs the location it acts on; start again with one",
                )
            })?;
            stored.location_id = Some(location.clone());
            let (minted, minted_expiry) =
                agency_location_token(&tokens, stored)
                    .await
                    .map_err(|error| {
                        Error::invalid(format!(
                            "HighLevel gave no token for location {location} to the agency: {}",
                            redact(&chain(&error), &[])
                        ))
                    })?;
            stored = minted;
            expires = minted_expiry;
            location
        } else {
            tokens.location_id.clone().ok_or_else(|| {
                Error::invalid(
                    "the token is not a location token; install the app on a location, or choose an agency install",
                )
            })?
        };
        let granted = tokens
            .scope
            .clone()
            .map_or(pending.scopes.clone(), |scope| {
                scope.split_whitespace().map(str::to_owned).collect()
            });
        let new = NewConnection {
            name: pending.name.clone(),
            app: "ghl".into(),
            auth_kind: AuthKind::OAuth2,
            account_id: Some(location),
            base_url: pending.api_base.clone(),
            scopes: granted,
            credentials: stored.to_secret(),
            expires_at_ms: expires,
        };
        let (connection, _) = self
            .connect(
                new,
                ConnectOptions {
                    skip_test: false,
                    replace: true,
                },
            )
            .await?;
        Ok(connection)
    }

    /// Flickr's OAuth 1.0a from the API: a request token with the callback
    /// `{public_url}/oauth/callback/flickr`, kept (sealed, expiring) under the request token.
    async fn start_flickr_oauth(
        &self,
        request: StartOAuth,
        previous: Previous,
    ) -> Result<OAuthStarted> {
        let consumer_key = non_empty(request.client_id.clone())
            .or(previous.client_id)
            .or_else(|| std::env::var("TETHER_FLICKR_KEY").ok())
            .filter(|key| !key.is_empty())
            .ok_or_else(|| {
                field_error(
                    "clientId",
                    "give the Flickr API key (or set TETHER_FLICKR_KEY)",
                )
            })?;
        let consumer_secret = request
            .client_secret
            .clone()
            .filter(|secret| !secret.expose().is_empty())
            .or(previous.client_secret)
            .or_else(|| std::env::var("TETHER_FLICKR_SECRET").ok().map(Secret::new))
            .filter(|secret| !secret.expose().is_empty())
            .ok_or_else(|| {
                field_error(
                    "clientSecret",
                    "give the Flickr API key's secret (or set TETHER_FLICKR_SECRET)",
                )
            })?;
        let perms: Perms = request
            .perms
            .as_deref()
            .unwrap_or("write")
            .parse()
            .map_err(|_| field_error("perms", "use read, write or delete"))?;
        let base_url = non_empty(request.api_base.clone())
            .or(previous.api_base)
            .map(|base| parse_base_url("apiBase", &base))
            .transpose()?;
        let mut pending = PendingFlickr {
            name: request.name.clone(),
            consumer_key,
            consumer_secret,
            base_url,
            perms: perms.to_string(),
            request_token: Secret::new(String::new()),
            request_secret: Secret::new(String::new()),
        };
        let (flow, _, _) = pending.endpoints()?;
        let callback = self.redirect_url("flickr");
        let token = oauth1::request_token(&flow, &pending.consumer(), &callback)
            .await
            .map_err(|error| {
                Error::new(
                    crate::ErrorCode::Unavailable,
                    format!(
                        "Flickr did not give a request token: {}",
                        redact(&chain(&error), &[])
                    ),
                )
            })?;
        pending.request_token = token.pair.token.clone();
        pending.request_secret = token.pair.secret.clone();
        let sealed = serde_json::to_string(&pending).map_err(Error::internal)?;
        let expires_at_ms = tether_store::now_ms() + millis(OAUTH_TTL);
        self.store()
            .put_oauth_state(
                token.pair.token.expose(),
                "flickr",
                &Secret::new(sealed),
                expires_at_ms,
            )
            .await?;
        Ok(OAuthStarted {
            authorize_url: oauth1::authorize_url(&flow, &token, perms).to_string(),
            redirect_url: callback,
            expires_at: rfc3339(expires_at_ms),
        })
    }

    /// Flickr's callback: the approved request token and its verifier become an access token,
    /// tested with `flickr.test.login` and stored.
    async fn complete_flickr_oauth(
        &self,
        query: &std::collections::HashMap<String, String>,
    ) -> Result<ConnectionView> {
        let token = query
            .get("oauth_token")
            .ok_or_else(|| Error::invalid("the callback carries no oauth_token"))?;
        let pending = self
            .store()
            .take_oauth_state("flickr", token)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "this authorization is unknown, expired or used already; start the connection again",
                )
            })?;
        let pending: PendingFlickr =
            serde_json::from_str(pending.request.expose()).map_err(Error::internal)?;
        let verifier = query.get("oauth_verifier").ok_or_else(|| {
            Error::invalid("the callback carries no oauth_verifier: the access was denied")
        })?;
        let (flow, endpoints, base_url) = pending.endpoints()?;
        let request = oauth1::RequestToken {
            pair: TokenPair {
                token: pending.request_token.clone(),
                secret: pending.request_secret.clone(),
            },
        };
        let access = oauth1::access_token(&flow, &pending.consumer(), &request, verifier)
            .await
            .map_err(|error| {
                Error::invalid(format!(
                    "Flickr refused the token exchange: {}",
                    redact(&chain(&error), &[])
                ))
            })?;
        let client = FlickrClient::with_credentials(
            endpoints,
            pending.consumer(),
            access.pair.clone(),
            None,
        )
        .map_err(Error::internal)?;
        let me = client.test().login().await.map_err(|error| {
            Error::invalid(format!(
                "flickr.test.login refused the new token: {}",
                redact(&chain(&error), &[])
            ))
        })?;
        let stored = StoredCredentials {
            consumer_key: pending.consumer_key.clone(),
            consumer_secret: pending.consumer_secret.clone(),
            token: access.pair.token.clone(),
            token_secret: access.pair.secret.clone(),
            user_nsid: me.id.to_string(),
            username: access
                .username
                .clone()
                .unwrap_or_else(|| me.username.clone()),
            fullname: access.fullname.clone().unwrap_or_default(),
            perms: pending.perms.clone(),
        };
        let new = NewConnection {
            name: pending.name.clone(),
            app: "flickr".into(),
            auth_kind: AuthKind::OAuth1,
            account_id: Some(me.id.to_string()),
            base_url,
            scopes: vec![pending.perms.clone()],
            credentials: stored.to_secret(),
            expires_at_ms: None,
        };
        let (connection, _) = self
            .connect(
                new,
                ConnectOptions {
                    skip_test: false,
                    replace: true,
                },
            )
            .await?;
        Ok(connection)
    }

    /// The addresses a person registers with the apps.
    pub fn public_settings(&self) -> PublicSettings {
        let public_url = self.settings().public_url.to_string();
        let oauth_redirect_urls = ["ghl", "flickr"]
            .into_iter()
            .map(|app| (app.to_owned(), self.redirect_url(app)))
            .collect();
        let oauth_client_defaults = ["ghl", "flickr"]
            .into_iter()
            .map(|app| (app.to_owned(), default_client(app).is_some()))
            .collect();
        PublicSettings {
            ghl_webhook_url: join(&self.settings().public_url, "hooks/ghl"),
            public_url,
            oauth_redirect_urls,
            oauth_client_defaults,
        }
    }

    /// `{public_url}/oauth/callback/{app}`.
    pub fn redirect_url(&self, app: &str) -> String {
        join(
            &self.settings().public_url,
            &format!("oauth/callback/{app}"),
        )
    }

    /// The flows that use `connection`, each with whether it names it by id (`true`) or by
    /// name: the flows this process runs.
    fn flows_using(&self, connection: &Connection) -> Vec<(String, bool)> {
        let flows: Vec<Arc<Flow>> = self
            .flows()
            .current()
            .into_iter()
            .map(|(_, flow)| flow)
            .collect();
        using(&flows, &connection.name, &connection.id)
    }

    /// Every flow that could run: the ones this process runs, and every flow in the store
    /// (its published version, enabled or not, and its draft), so a rename or delete checked in
    /// a CLI process sees the flows a server runs.
    async fn every_flow(&self) -> Result<Vec<Arc<Flow>>> {
        let mut flows: Vec<Arc<Flow>> = self
            .flows()
            .current()
            .into_iter()
            .map(|(_, flow)| flow)
            .collect();
        for stored in self.store().all_flows().await? {
            let texts = stored
                .current
                .iter()
                .map(|version| version.yaml.as_str())
                .chain(std::iter::once(stored.draft_yaml.as_str()));
            for text in texts {
                if let Ok(flow) =
                    tether_engine::flow::parse_flow(text, std::path::Path::new(&stored.id), None)
                {
                    flows.push(Arc::new(flow));
                }
            }
        }
        Ok(flows)
    }

    /// The flows that use the connection `name_or_id`, read without opening credentials.
    async fn flows_using_name(&self, name_or_id: &str, names: &[String]) -> Result<Vec<String>> {
        // The connection's id and name, whichever was given.
        let (id, name) = match self.store().connection(name_or_id).await {
            Ok(connection) => (connection.id, connection.name),
            // A connection sealed with a lost key still has its name.
            Err(tether_store::Error::Unseal { .. }) if names.iter().any(|n| n == name_or_id) => {
                (String::new(), name_or_id.to_owned())
            }
            Err(tether_store::Error::Unseal { .. }) => (name_or_id.to_owned(), String::new()),
            Err(error) => return Err(error.into()),
        };
        let mut flows: Vec<String> = self
            .every_flow()
            .await?
            .into_iter()
            .filter(|flow| {
                let used = connections_named(flow);
                (!name.is_empty() && used.contains(name.as_str()))
                    || (!id.is_empty() && used.contains(id.as_str()))
            })
            .map(|flow| flow.id.clone())
            .collect();
        flows.sort();
        flows.dedup();
        Ok(flows)
    }

    async fn load(&self, name_or_id: &str) -> Result<Connection> {
        match self.store().connection(name_or_id).await {
            Ok(connection) => Ok(connection),
            Err(tether_store::Error::NotFound { .. }) => {
                let names = self.store().connection_names().await.unwrap_or_default();
                let hint = names
                    .iter()
                    .filter(|name| strsim_close(name, name_or_id))
                    .map(|name| format!("; did you mean {name:?}?"))
                    .next()
                    .unwrap_or_default();
                Err(Error::not_found(format!("connection {name_or_id:?}{hint}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    fn view(&self, connection: &Connection) -> ConnectionView {
        ConnectionView {
            id: connection.id.clone(),
            name: connection.name.clone(),
            app: connection.app.clone(),
            auth: connection.auth_kind.as_str().to_owned(),
            account_id: connection.account_id.clone(),
            account_label: account_label(connection),
            scopes: connection.scopes.clone(),
            base_url: connection.base_url.clone(),
            health: connection.status.into(),
            last_error: connection.status_message.clone(),
            checked_at: connection.checked_at_ms.map(rfc3339),
            expires_at: connection.expires_at_ms.map(rfc3339),
            used_by: self
                .flows_using(connection)
                .into_iter()
                .map(|(flow, _)| flow)
                .collect(),
            created_at: rfc3339(connection.created_at_ms),
        }
    }
}

/// The account a connection acts for, as people read it.
fn account_label(connection: &Connection) -> String {
    let account = connection.account_id.as_deref().unwrap_or("?");
    match (connection.app.as_str(), connection.auth_kind) {
        ("ghl", AuthKind::OAuth2) => match StoredOAuth::from_secret(&connection.credentials) {
            Ok(stored) if stored.is_agency() => format!(
                "location {account} of agency {}",
                stored.company_id.as_deref().unwrap_or("?")
            ),
            _ => format!("location {account}"),
        },
        ("ghl", _) => format!("location {account}"),
        ("flickr", _) => match StoredCredentials::from_secret(&connection.credentials) {
            Ok(stored) if !stored.username.is_empty() => {
                format!("{} ({})", stored.username, stored.user_nsid)
            }
            _ => format!("user {account}"),
        },
        _ => Url::parse(&connection.base_url)
            .ok()
            .and_then(|url| {
                url.host_str().map(|host| match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_owned(),
                })
            })
            .unwrap_or_else(|| connection.base_url.clone()),
    }
}

impl PendingGhl {
    fn app(&self) -> GhlOAuthApp {
        GhlOAuthApp {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            authorize_base: Url::parse(&self.authorize_base).unwrap_or_else(|_| {
                Url::parse(AuthorizeHost::Standard.base_url())
                    .unwrap_or_else(|_| unreachable!("a literal URL parses"))
            }),
            api_base: Url::parse(&self.api_base).unwrap_or_else(|_| {
                Url::parse(tether_connectors::ghl::BASE_URL)
                    .unwrap_or_else(|_| unreachable!("a literal URL parses"))
            }),
            redirect_uri: self.redirect_uri.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// The flows of `flows` that name the connection `name` or `id`, each with whether it names it
/// by id (`true`), sorted and without repeats.
fn using(flows: &[Arc<Flow>], name: &str, id: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for flow in flows {
        let names = connections_named(flow);
        if names.contains(name) {
            found.push((flow.id.clone(), false));
        } else if names.contains(id) {
            found.push((flow.id.clone(), true));
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Every connection name (or id) a flow mentions: its trigger's and its steps'.
pub fn connections_named(flow: &Flow) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    match &flow.trigger {
        TriggerSpec::Webhook { connection, .. } | TriggerSpec::Poll { connection, .. } => {
            names.insert(connection.as_str());
        }
        TriggerSpec::Schedule { .. } => {}
    }
    for step in &flow.steps {
        match &step.kind {
            StepKind::Action { connection, .. } | StepKind::Lookup { connection, .. } => {
                names.insert(connection.as_str());
            }
            StepKind::Filter { .. } | StepKind::Map { .. } => {}
        }
    }
    names
}

/// The client a test calls through.
enum Probe {
    Ghl(GhlClient),
    Flickr(Box<FlickrClient>),
    Rest(RestApp),
}

/// Tests credentials that are not stored yet, with clients built from them directly.
async fn test_new(new: &NewConnection) -> TestOutcome {
    let secrets = secret_values(&new.credentials);
    let probe = match build_new_probe(new) {
        Ok(probe) => probe,
        Err(outcome) => return outcome,
    };
    run_probe(probe, &new.app, new.account_id.as_deref(), &secrets).await
}

fn build_new_probe(new: &NewConnection) -> std::result::Result<Probe, TestOutcome> {
    let broken = |message: String| TestOutcome {
        health: Health::Revoked,
        message,
    };
    match new.app.as_str() {
        "ghl" => {
            let token = match new.auth_kind {
                AuthKind::OAuth2 => {
                    StoredOAuth::from_secret(&new.credentials)
                        .map_err(|error| broken(error.to_string()))?
                        .access_token
                }
                _ => new.credentials.clone(),
            };
            let location = new
                .account_id
                .clone()
                .ok_or_else(|| broken("no location id".into()))?;
            GhlClient::with_token(&new.base_url, token, LocationId::new(location))
                .map(Probe::Ghl)
                .map_err(|error| broken(error.to_string()))
        }
        "flickr" => {
            let stored = StoredCredentials::from_secret(&new.credentials).map_err(broken)?;
            let endpoints = FlickrEndpoints::for_base(&new.base_url)
                .map_err(|error| broken(error.to_string()))?;
            FlickrClient::with_credentials(endpoints, stored.consumer(), stored.token_pair(), None)
                .map(|client| Probe::Flickr(Box::new(client)))
                .map_err(|error| broken(error.to_string()))
        }
        "details_flowers" => {
            let manifest = tether_core::manifest::details_flowers()
                .map_err(|error| broken(error.to_string()))?;
            let base = Url::parse(&new.base_url).map_err(|error| broken(error.to_string()))?;
            RestApp::new(manifest, base, new.credentials.clone())
                .map(Probe::Rest)
                .map_err(|error| broken(error.to_string()))
        }
        other => Err(broken(format!("no test for app {other:?}"))),
    }
}

/// Tests a stored connection through the connectors' registry (so an OAuth token refreshes as
/// it would in a flow).
async fn test_stored(service: &Service, connection: &Connection) -> TestOutcome {
    let secrets = secret_values(&connection.credentials);
    let registry = Registry::new(service.store().clone());
    let built = match connection.app.as_str() {
        "ghl" => registry.ghl(&connection.id).await.map(Probe::Ghl),
        "flickr" => registry
            .flickr(&connection.id)
            .await
            .map(|client| Probe::Flickr(Box::new(client))),
        "details_flowers" => registry.rest_app(&connection.id).await.map(Probe::Rest),
        other => {
            return TestOutcome {
                health: Health::Untested,
                message: format!("no test for app {other:?}"),
            };
        }
    };
    let probe = match built {
        Ok(probe) => probe,
        Err(error) => {
            return TestOutcome {
                health: Health::Revoked,
                message: redact(&chain(&error), &secrets),
            };
        }
    };
    let outcome = run_probe(
        probe,
        &connection.app,
        connection.account_id.as_deref(),
        &secrets,
    )
    .await;
    // A connection already marked dead fails fast with "reconnect": keep what it was marked.
    if connection.status.blocks_use()
        && matches!(outcome.health, Health::Revoked | Health::RefreshFailed)
    {
        return TestOutcome {
            health: connection.status.into(),
            message: outcome.message,
        };
    }
    outcome
}

async fn run_probe(
    probe: Probe,
    app: &str,
    account: Option<&str>,
    secrets: &[String],
) -> TestOutcome {
    let called = tokio::time::timeout(TEST_TIMEOUT, async {
        match probe {
            Probe::Ghl(client) => {
                let search = tether_connectors::ghl::models::SearchRequest {
                    page_limit: 1,
                    ..Default::default()
                };
                match client.contacts().search(&search).await {
                    Ok(_) => Ok(format!(
                        "HighLevel answered for location {}",
                        client.location_id()
                    )),
                    Err(error) => {
                        let refused = if error.status() == Some(403) {
                            format!(
                                "HighLevel refused access to location {}",
                                account.unwrap_or("?")
                            )
                        } else {
                            "HighLevel refused the token".to_owned()
                        };
                        Err(classify(error.kind(), error.status(), &error, &refused))
                    }
                }
            }
            Probe::Flickr(client) => match client.test().login().await {
                Ok(user) => Ok(format!(
                    "Flickr answered for user {} ({})",
                    user.username, user.id
                )),
                Err(error) => Err(classify(
                    error.kind(),
                    error.code().map_or(error_status(&error), |_| None),
                    &error,
                    "Flickr refused the token",
                )),
            },
            Probe::Rest(app) => {
                let Some(resource) = app.manifest().resources.first().map(|r| r.name.clone())
                else {
                    return Ok("the manifest lists no resource to read".to_owned());
                };
                let query = ListQuery {
                    filters: Vec::new(),
                    page_size: Some(1),
                };
                let mut stream = std::pin::pin!(app.list_stream(&resource, query));
                match futures_next(&mut stream).await {
                    None | Some(Ok(_)) => Ok(format!(
                        "{} answered a {resource} listing",
                        app.manifest().title
                    )),
                    Some(Err(error)) => Err(classify(
                        error.kind(),
                        error.status(),
                        &error,
                        &format!("{} refused the API key", app.manifest().title),
                    )),
                }
            }
        }
    })
    .await;
    let _ = app;
    match called {
        Ok(Ok(message)) => TestOutcome {
            health: Health::Ok,
            message,
        },
        Ok(Err((health, message))) => TestOutcome {
            health,
            message: redact(&message, secrets),
        },
        Err(_) => TestOutcome {
            health: Health::Unreachable,
            message: format!("no answer within {} s", TEST_TIMEOUT.as_secs()),
        },
    }
}

async fn futures_next<S>(stream: &mut std::pin::Pin<&mut S>) -> Option<S::Item>
where
    S: futures::Stream,
{
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

fn error_status(error: &tether_connectors::flickr::Error) -> Option<u16> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(http) = cause.downcast_ref::<tether_http::Error>() {
            return http.status();
        }
        source = cause.source();
    }
    None
}

/// Sorts a failed test into a health: a refused refresh → `refresh_failed`; 401/403 or an
/// auth error → `revoked`; a rate limit → `ok` (the credentials passed); anything else →
/// `unreachable`.
fn classify(
    kind: ErrorKind,
    status: Option<u16>,
    error: &(dyn std::error::Error + 'static),
    refused: &str,
) -> (Health, String) {
    let text = chain(error);
    if is_refresh_failure(error) {
        return (Health::RefreshFailed, text);
    }
    match (kind, status) {
        (_, Some(401 | 403)) | (ErrorKind::Auth, _) => {
            (Health::Revoked, format!("{refused}: {text}"))
        }
        (ErrorKind::Throttled { .. }, _) => (
            Health::Ok,
            format!("the credentials were accepted, but the service is rate limiting: {text}"),
        ),
        (_, Some(status)) if status < 500 => (
            Health::Unreachable,
            format!("answered {status}; is the base URL the app's API? {text}"),
        ),
        _ => (Health::Unreachable, text),
    }
}

/// Whether the cause is a refused token refresh (the bearer's `Credentials` error).
fn is_refresh_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if let Some(tether_http::Error::Credentials { reason }) = cause.downcast_ref() {
            return reason.contains("refresh") || reason.contains("reconnect");
        }
        source = cause.source();
    }
    false
}

/// The error and its causes, joined with ": ".
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// `text` without e-mail addresses and without any of `secrets`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut shown = tether_http::redact::text(text);
    for secret in secrets {
        if secret.len() >= 4 {
            shown = shown.replace(secret.as_str(), "[redacted]");
        }
    }
    shown
}

/// The secret strings inside stored credentials: the whole text, or each string of its JSON.
pub fn secret_values(credentials: &Secret) -> Vec<String> {
    let text = credentials.expose();
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(fields)) => fields
            .into_iter()
            .filter(|(key, _)| {
                key.contains("token") || key.contains("secret") || key.contains("key")
            })
            .filter_map(|(_, value)| value.as_str().map(str::to_owned))
            .collect(),
        _ => vec![text.to_owned()],
    }
}

fn normalize_app(app: &str) -> Result<&'static str> {
    match app {
        "ghl" => Ok("ghl"),
        "flickr" => Ok("flickr"),
        "details_flowers" | "details-flowers" => Ok("details_flowers"),
        other => Err(field_error(
            "app",
            format!("unknown app {other:?}; use ghl, flickr or details_flowers"),
        )),
    }
}

fn app_title(app: &str) -> &str {
    match app {
        "ghl" => "HighLevel",
        "flickr" => "Flickr",
        "details_flowers" => "Details Flowers",
        other => other,
    }
}

/// A connection name: 1 to 64 of letters, digits, `.`, `_`, `-`, starting with a letter or
/// digit.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(field_error(
            "name",
            format!(
                "{name:?} is not a connection name: use 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
            ),
        ))
    }
}

/// An `http` or `https` URL with a host, or an error naming `field`.
fn parse_base_url(field: &str, text: &str) -> Result<String> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.to_owned())
        }
        Ok(_) => Err(field_error(
            field,
            format!("{text:?} is not an http(s) URL"),
        )),
        Err(error) => Err(field_error(
            field,
            format!("{text:?} is not a URL: {error}"),
        )),
    }
}

/// The flows that stand in the way of a rename or delete, one diagnostic each at `usedBy`
/// (the flow's id as the message), so a client can list and link them.
fn used_by_diagnostics(flows: &[String]) -> Vec<crate::Diagnostic> {
    flows
        .iter()
        .map(|flow| crate::Diagnostic {
            line: None,
            column: None,
            path: "usedBy".into(),
            message: flow.clone(),
        })
        .collect()
}

/// 400 naming the request's field.
fn field_error(field: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    Error {
        diagnostics: vec![crate::Diagnostic {
            line: None,
            column: None,
            path: field.to_owned(),
            message: message.clone(),
        }],
        ..Error::invalid(format!("{field}: {message}"))
    }
}

/// `Some` of a text that is not blank.
fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// A consent page's base: a URL, or a bare host taken as `https://host`.
fn consent_base(text: &str) -> Result<Url> {
    let text = text.trim();
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{}", text.trim_end_matches('/'))
    };
    Url::parse(&parse_base_url("authorizeBase", &full)?)
        .map_err(|error| field_error("authorizeBase", error.to_string()))
}

fn is_loopback(url: &Url) -> bool {
    url.host_str()
        .is_some_and(|host| host == "127.0.0.1" || host == "localhost" || host == "[::1]")
}

fn join(base: &Url, path: &str) -> String {
    format!("{}/{path}", base.as_str().trim_end_matches('/'))
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether two names are one typo apart (for "did you mean").
fn strsim_close(a: &str, b: &str) -> bool {
    strsim::levenshtein(a, b) <= 2.max(b.len() / 4)
}

fn encode_cursor(name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

fn decode_cursor(cursor: &str) -> Result<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| field_error("cursor", "not a cursor this list gave out"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_secrets_are_checked_and_redacted() {
        assert!(check_name("ghl-main").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("a b").is_err());
        assert!(parse_base_url("baseUrl", "not a url").is_err());
        assert!(parse_base_url("baseUrl", "ftp://x.example").is_err());
        assert!(parse_base_url("baseUrl", "http://127.0.0.1:1").is_ok());
        let secrets = secret_values(&Secret::new(
            r#"{"access_token":"abcd1234","user_type":"Location"}"#,
        ));
        assert_eq!(secrets, ["abcd1234"]);
        assert_eq!(
            redact("token abcd1234 of ann@example.com", &secrets),
            "token [redacted] of [redacted]"
        );
        assert_eq!(
            decode_cursor(&encode_cursor("ghl-main")).unwrap(),
            "ghl-main"
        );
        assert!(decode_cursor("!!").is_err());
    }

    #[test]
    fn a_consent_page_is_a_url_or_a_bare_host() {
        assert_eq!(
            consent_base("app.myagency.com").unwrap().as_str(),
            "https://app.myagency.com/"
        );
        assert_eq!(
            consent_base(" https://app.myagency.com/ ")
                .unwrap()
                .as_str(),
            "https://app.myagency.com/"
        );
        assert_eq!(
            consent_base("http://127.0.0.1:9/").unwrap().as_str(),
            "http://127.0.0.1:9/"
        );
        let error = consent_base("not a host at all").unwrap_err();
        assert_eq!(error.diagnostics[0].path, "authorizeBase");
    }
}

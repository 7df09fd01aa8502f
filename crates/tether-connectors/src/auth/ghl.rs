//! HighLevel's OAuth 2.0: the authorize URL, the code exchange, refresh, location tokens from an
//! agency token, and the credentials JSON a GHL connection stores.
//!
//! An agency (`Company`) install acts on one of its locations: the connection keeps the agency's
//! refresh token and a location token minted from the agency token; a refresh renews the agency
//! token and mints the location token again ([`agency_location_token`]).
//!
//! The token calls go through our own client stack (timeouts, retries, redaction) rather than
//! the `oauth2` crate's transport: HighLevel's token answer mixes `snake_case` and `camelCase`
//! fields (`access_token` beside `locationId`) and its errors are `{statusCode, message}` objects
//! rather than RFC 6749's `{error}`, so the crate would add a layer of translation and no checks.
//! Redirects are never followed on these calls (the stack's policy).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tether_core::Secret;
use tether_http::auth::BoxFuture;
use tether_http::{ApiRequest, ClientConfig, Error as HttpError, HttpClient, NoAuth, StaticBearer};
use url::Url;

use super::oauth2::{RefreshError, Refreshed, Refresher};

/// Where the consent page lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeHost {
    /// `marketplace.gohighlevel.com`.
    Standard,
    /// `marketplace.leadconnectorhq.com`, for white-labelled agencies.
    WhiteLabel,
}

impl AuthorizeHost {
    /// The host's base URL.
    pub fn base_url(self) -> &'static str {
        match self {
            AuthorizeHost::Standard => "https://marketplace.gohighlevel.com",
            AuthorizeHost::WhiteLabel => "https://marketplace.leadconnectorhq.com",
        }
    }
}

/// A Marketplace app's OAuth settings.
#[derive(Debug, Clone)]
pub struct GhlOAuthApp {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Secret,
    /// Where the consent page lives (a simulator's address in tests and demos).
    pub authorize_base: Url,
    /// The API base URL; the token endpoint is `/oauth/token` under it.
    pub api_base: Url,
    /// Where the browser comes back with the code.
    pub redirect_uri: String,
    /// Scopes requested.
    pub scopes: Vec<String>,
}

/// The authorize URL: the docs' `/v2/oauth/chooselocation` (reference README §3.1; the SDK's
/// older path without `/v2` still works at HighLevel and at our simulator). `state` is not
/// documented by HighLevel for this flow; we send it anyway and check it on return, which is
/// harmless if ignored and protects the callback against CSRF where it is echoed.
pub fn authorize_url(app: &GhlOAuthApp, state: &str, extra: &[(&str, &str)]) -> Url {
    let mut url = app
        .authorize_base
        .join("v2/oauth/chooselocation")
        .expect("a fixed relative path joins");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", &app.scopes.join(" "))
        .append_pair("state", state)
        .extend_pairs(extra.iter().copied());
    url
}

/// The token endpoint's answer (v2 spec `GetAccessCodeSuccessfulResponseDto`).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// The new refresh token (absent from `locationToken` answers).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
    /// `Location` or `Company`.
    #[serde(default, rename = "userType")]
    pub user_type: Option<String>,
    /// The location of a location token.
    #[serde(default, rename = "locationId")]
    pub location_id: Option<String>,
    /// The agency.
    #[serde(default, rename = "companyId")]
    pub company_id: Option<String>,
    /// The installing user.
    #[serde(default, rename = "userId")]
    pub user_id: Option<String>,
}

/// What a GHL OAuth connection stores (sealed): the tokens and what refreshing them needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredOAuth {
    /// Current access token.
    pub access_token: Secret,
    /// Current (single-use) refresh token.
    pub refresh_token: Option<Secret>,
    /// `Location` or `Company`.
    pub user_type: String,
    /// The location, for location tokens.
    pub location_id: Option<String>,
    /// The agency.
    pub company_id: Option<String>,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Secret,
    /// API base URL whose `/oauth/token` refreshes.
    pub api_base: String,
    /// Where the consent page was (a white-label host, a simulator), so a reconnect asks there
    /// again; absent in credentials stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_base: Option<String>,
}

impl StoredOAuth {
    /// The stored form of a token answer.
    pub fn from_response(
        response: &TokenResponse,
        app: &GhlOAuthApp,
        previous: Option<&StoredOAuth>,
    ) -> StoredOAuth {
        StoredOAuth {
            access_token: response.access_token.clone(),
            refresh_token: response
                .refresh_token
                .clone()
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            user_type: response
                .user_type
                .clone()
                .or_else(|| previous.map(|p| p.user_type.clone()))
                .unwrap_or_else(|| "Location".into()),
            location_id: response
                .location_id
                .clone()
                .or_else(|| previous.and_then(|p| p.location_id.clone())),
            company_id: response
                .company_id
                .clone()
                .or_else(|| previous.and_then(|p| p.company_id.clone())),
            client_id: app.client_id.clone(),
            client_secret: app.client_secret.clone(),
            api_base: app.api_base.to_string(),
            authorize_base: previous
                .and_then(|p| p.authorize_base.clone())
                .or_else(|| Some(app.authorize_base.to_string())),
        }
    }

    /// Whether this is an agency token acting on one of its locations (see
    /// [`agency_location_token`]).
    pub fn is_agency(&self) -> bool {
        self.user_type == "Company"
    }

    /// As sealed JSON text.
    pub fn to_secret(&self) -> Secret {
        Secret::new(serde_json::to_string(self).expect("stored OAuth credentials serialise"))
    }

    /// From sealed JSON text.
    pub fn from_secret(secret: &Secret) -> Result<StoredOAuth, RefreshError> {
        serde_json::from_str(secret.expose())
            .map_err(|error| RefreshError::Corrupt(format!("not GHL OAuth credentials: {error}")))
    }
}

/// A client for the token endpoint: no credentials, no rate limiter (token calls are not
/// counted against a location's budget by any documented rule).
pub fn token_client(api_base: &Url) -> Result<HttpClient, HttpError> {
    HttpClient::new(
        ClientConfig::new("ghl-oauth", api_base.clone()),
        Arc::new(NoAuth),
        None,
    )
}

/// Expiry time in ms since epoch for an `expires_in` answered now.
pub fn expires_at_ms(response: &TokenResponse) -> Option<i64> {
    response
        .expires_in
        .map(|seconds| tether_store::now_ms() + seconds * 1000)
}

/// Exchanges an authorization code.
pub async fn exchange_code(
    http: &HttpClient,
    app: &GhlOAuthApp,
    code: &str,
    user_type: &str,
) -> Result<TokenResponse, HttpError> {
    let request = ApiRequest::post("/oauth/token").form(&serde_json::json!({
        "client_id": app.client_id,
        "client_secret": app.client_secret.expose(),
        "grant_type": "authorization_code",
        "code": code,
        "user_type": user_type,
        "redirect_uri": app.redirect_uri,
    }))?;
    http.send_json(request).await
}

/// Redeems a refresh token. Not retried after it may have reached the server: a refresh token is
/// single use, so a repeat after a lost answer would be refused anyway.
pub async fn refresh(http: &HttpClient, stored: &StoredOAuth) -> Result<TokenResponse, HttpError> {
    let refresh_token = stored
        .refresh_token
        .as_ref()
        .ok_or_else(|| HttpError::Credentials {
            reason: "this connection has no refresh token".into(),
        })?;
    let request = ApiRequest::post("/oauth/token").form(&serde_json::json!({
        "client_id": stored.client_id,
        "client_secret": stored.client_secret.expose(),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.expose(),
        "user_type": stored.user_type,
    }))?;
    http.send_json(request).await
}

/// Mints a location token from an agency token (`POST /oauth/locationToken`).
pub async fn location_token(
    api_base: &Url,
    agency_token: &Secret,
    company_id: &str,
    location_id: &str,
) -> Result<TokenResponse, HttpError> {
    let http = HttpClient::new(
        ClientConfig::new("ghl-oauth", api_base.clone()),
        Arc::new(StaticBearer(agency_token.clone())),
        None,
    )?;
    let request = ApiRequest::post("/oauth/locationToken")
        .header("version", crate::ghl::VERSION_CONTACTS)?
        .form(&serde_json::json!({ "companyId": company_id, "locationId": location_id }))?;
    http.send_json(request).await
}

/// For an agency (`Company`) token acting on `location_id`: mints that location's token and
/// answers the credentials to store (the agency's refresh token kept, the location token as the
/// access token) with the location token's expiry.
pub async fn agency_location_token(
    agency: &TokenResponse,
    stored: StoredOAuth,
) -> Result<(StoredOAuth, Option<i64>), HttpError> {
    let company_id = stored
        .company_id
        .clone()
        .ok_or_else(|| HttpError::Credentials {
            reason: "the agency token names no company".into(),
        })?;
    let location_id = stored
        .location_id
        .clone()
        .ok_or_else(|| HttpError::Credentials {
            reason: "an agency connection needs the location it acts on".into(),
        })?;
    let api_base = Url::parse(&stored.api_base).map_err(|error| HttpError::Credentials {
        reason: format!("stored API base URL: {error}"),
    })?;
    let minted = location_token(&api_base, &agency.access_token, &company_id, &location_id).await?;
    let expires = expires_at_ms(&minted);
    Ok((
        StoredOAuth {
            access_token: minted.access_token,
            ..stored
        },
        expires,
    ))
}

/// Refreshes GHL OAuth connections.
#[derive(Debug)]
pub struct GhlRefresher;

impl Refresher for GhlRefresher {
    fn refresh<'a>(
        &'a self,
        credentials: &'a Secret,
    ) -> BoxFuture<'a, Result<Refreshed, RefreshError>> {
        Box::pin(async move {
            let stored = StoredOAuth::from_secret(credentials)?;
            let api_base = Url::parse(&stored.api_base)
                .map_err(|error| RefreshError::Corrupt(error.to_string()))?;
            let http = token_client(&api_base).map_err(RefreshError::Http)?;
            let response = refresh(&http, &stored)
                .await
                .map_err(|error| match error.status() {
                    // HighLevel answers 400 "Invalid grant: …" for a used, expired or revoked token
                    // (v3 spec examples, reference README §3.2); 401 means the client itself is refused.
                    Some(400 | 401) => RefreshError::InvalidGrant(error.to_string()),
                    _ => RefreshError::Http(error),
                })?;
            let app = GhlOAuthApp {
                client_id: stored.client_id.clone(),
                client_secret: stored.client_secret.clone(),
                authorize_base: api_base.clone(),
                api_base,
                redirect_uri: String::new(),
                scopes: Vec::new(),
            };
            let renewed = StoredOAuth::from_response(&response, &app, Some(&stored));
            if renewed.is_agency() {
                // The agency token is refused on location routes: mint the location's token
                // with it. The agency's new refresh token is stored with it either way.
                return Ok(
                    match agency_location_token(&response, renewed.clone()).await {
                        Ok((renewed, expires)) => Refreshed {
                            credentials: renewed.to_secret(),
                            access_token: renewed.access_token.clone(),
                            expires_at_ms: expires,
                        },
                        // The agency's refresh token was spent: its successor must be stored even
                        // though no location token came, or the connection is lost. Stored as
                        // expired, so the next call refreshes (and mints) again.
                        Err(error) => {
                            tracing::warn!(%error, "Minting an agency's location token failed.");
                            Refreshed {
                                credentials: renewed.to_secret(),
                                access_token: renewed.access_token.clone(),
                                expires_at_ms: Some(tether_store::now_ms()),
                            }
                        }
                    },
                );
            }
            Ok(Refreshed {
                credentials: renewed.to_secret(),
                access_token: response.access_token.clone(),
                expires_at_ms: expires_at_ms(&response),
            })
        })
    }

    fn access_token(&self, credentials: &Secret) -> Result<Secret, RefreshError> {
        Ok(StoredOAuth::from_secret(credentials)?.access_token)
    }
}

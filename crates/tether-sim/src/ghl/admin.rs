//! The simulator's admin API under `/__sim`, a prefix the real API does not use: request log,
//! faults, rate limits, clock, tokens, webhooks, installs and location settings, for tests and
//! demos. The gate neither authenticates nor rate-limits these routes, and injects no faults.
//!
//! | route | does |
//! | --- | --- |
//! | `GET/DELETE /__sim/requests` | the request log (`?after=seq`) / forget it |
//! | `PUT/GET /__sim/faults` | injected faults ([`FaultsConfig`]) |
//! | `PUT/GET /__sim/rate-limit` | burst and daily limits, `enabled`; a PUT resets the counters |
//! | `POST /__sim/clock/advance` | `{ms}`: moves the simulator's clock (token expiry) |
//! | `POST /__sim/tokens/expire` | `{token?}`: expires one OAuth access token, or all of them |
//! | `POST /__sim/tokens/revoke` | `{token}` or `{locationId}` / `{companyId}`: revokes tokens |
//! | `POST /__sim/pits` | `{token?, locationId?}`: adds a private integration token |
//! | `GET/POST/DELETE /__sim/webhooks` | receivers and delivery records / `{url}` / `?url=` |
//! | `GET /__sim/webhooks/events` | the events emitted, as sent |
//! | `GET /__sim/webhook-keys` | the public keys of both webhook signatures |
//! | `POST /__sim/uninstall` | `{appId?, locationId \| companyId}`: a user uninstalls in the UI |
//! | `PUT /__sim/locations/{id}/settings` | `{allowDuplicates?, duplicatePriority?}` |
//! | `GET /__sim/health` | liveness and a few counts |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::TokenKind;
use super::error::{GhlError, GhlResult};
use super::extract::GhlJson;
use super::faults::FaultsConfig;
use super::model::iso;
use super::oauth::{self, UninstallTarget};
use super::ratelimit::RateLimitConfig;
use super::state::{MatchField, World};

/// The admin routes.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/faults", put(set_faults).get(get_faults))
        .route("/__sim/rate-limit", put(set_rate_limit).get(get_rate_limit))
        .route("/__sim/clock/advance", post(advance_clock))
        .route("/__sim/tokens/expire", post(expire_tokens))
        .route("/__sim/tokens/revoke", post(revoke_tokens))
        .route("/__sim/pits", post(add_pit))
        .route(
            "/__sim/webhooks",
            get(webhooks)
                .post(register_webhook)
                .delete(unregister_webhook),
        )
        .route("/__sim/webhooks/events", get(webhook_events))
        .route("/__sim/webhook-keys", get(webhook_keys))
        .route("/__sim/uninstall", post(uninstall))
        .route(
            "/__sim/locations/{locationId}/settings",
            put(location_settings),
        )
        .route("/__sim/health", get(health))
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    after: u64,
}

async fn requests(State(world): State<Arc<World>>, Query(since): Query<Since>) -> Json<Value> {
    Json(json!({ "requests": world.log.since(since.after) }))
}

async fn clear_requests(State(world): State<Arc<World>>) -> Json<Value> {
    world.log.clear();
    Json(json!({ "cleared": true }))
}

async fn set_faults(
    State(world): State<Arc<World>>,
    Json(config): Json<FaultsConfig>,
) -> Json<FaultsConfig> {
    world
        .faults
        .lock()
        .set(config.clone(), std::time::Instant::now());
    Json(config)
}

async fn get_faults(State(world): State<Arc<World>>) -> Json<FaultsConfig> {
    Json(world.faults.lock().config.clone())
}

/// The rate limits as the admin API reads and writes them; fields left out of a PUT keep their
/// value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct RateLimitView {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst_max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst_window_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daily_max: Option<u32>,
}

impl RateLimitView {
    fn of(config: &RateLimitConfig) -> Self {
        RateLimitView {
            enabled: Some(config.enabled),
            burst_max: Some(config.burst_max),
            burst_window_ms: Some(
                u64::try_from(config.burst_window.as_millis()).unwrap_or(u64::MAX),
            ),
            daily_max: Some(config.daily_max),
        }
    }

    fn apply(&self, mut config: RateLimitConfig) -> RateLimitConfig {
        if let Some(enabled) = self.enabled {
            config.enabled = enabled;
        }
        if let Some(burst_max) = self.burst_max {
            config.burst_max = burst_max;
        }
        if let Some(ms) = self.burst_window_ms {
            config.burst_window = Duration::from_millis(ms);
        }
        if let Some(daily_max) = self.daily_max {
            config.daily_max = daily_max;
        }
        config
    }
}

/// Changes the limits and resets every counter (so a test starts from a full budget).
async fn set_rate_limit(
    State(world): State<Arc<World>>,
    GhlJson(view): GhlJson<RateLimitView>,
) -> GhlResult<Json<RateLimitView>> {
    let config = view.apply(world.limiter.config());
    if config.burst_window.is_zero() {
        return Err(GhlError::unprocessable("burst_window_ms must be positive"));
    }
    world.limiter.reconfigure(config.clone());
    Ok(Json(RateLimitView::of(&config)))
}

async fn get_rate_limit(State(world): State<Arc<World>>) -> Json<RateLimitView> {
    Json(RateLimitView::of(&world.limiter.config()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: i64,
}

async fn advance_clock(
    State(world): State<Arc<World>>,
    GhlJson(advance): GhlJson<Advance>,
) -> Json<Value> {
    world.advance_clock_ms(advance.ms);
    Json(json!({ "now": iso(world.now()) }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpireTokens {
    token: Option<String>,
}

/// Expires one OAuth access token, or every one. PITs never expire (they are rotated in the UI).
async fn expire_tokens(
    State(world): State<Arc<World>>,
    GhlJson(request): GhlJson<ExpireTokens>,
) -> GhlResult<Json<Value>> {
    let now = world.now();
    let mut access = world.tokens.access.write();
    let n_expired = match &request.token {
        Some(token) => {
            let grant = access
                .get_mut(token)
                .ok_or_else(|| GhlError::NotFound("No such access token".into()))?;
            if grant.kind == TokenKind::Pit {
                return Err(GhlError::BadRequest(
                    "Private integration tokens do not expire".into(),
                ));
            }
            grant.expires_at = Some(now);
            1
        }
        None => access
            .values_mut()
            .filter(|grant| grant.kind != TokenKind::Pit)
            .map(|grant| grant.expires_at = Some(now))
            .count(),
    };
    Ok(Json(json!({ "expired": n_expired })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeTokens {
    token: Option<String>,
    location_id: Option<String>,
    company_id: Option<String>,
}

/// Revokes one token (access, refresh or PIT), or every token of a location or an agency,
/// whatever app it was issued to. The installation stays: this is a credential going bad, not an
/// uninstall (use `/__sim/uninstall` for that).
async fn revoke_tokens(
    State(world): State<Arc<World>>,
    GhlJson(request): GhlJson<RevokeTokens>,
) -> GhlResult<Json<Value>> {
    let tokens = &world.tokens;
    let n_revoked = match (&request.token, &request.location_id, &request.company_id) {
        (Some(token), None, None) => {
            usize::from(tokens.access.write().remove(token).is_some())
                + usize::from(tokens.refresh.lock().remove(token).is_some())
        }
        (None, Some(location_id), None) => {
            let mut access = tokens.access.write();
            let before = access.len();
            access.retain(|_, grant| grant.location_id.as_ref() != Some(location_id));
            let mut refresh = tokens.refresh.lock();
            let before_refresh = refresh.len();
            refresh.retain(|_, stored| stored.grant.location_id.as_ref() != Some(location_id));
            before - access.len() + before_refresh - refresh.len()
        }
        (None, None, Some(company_id)) => {
            let mut access = tokens.access.write();
            let before = access.len();
            access.retain(|_, grant| &grant.company_id != company_id);
            let mut refresh = tokens.refresh.lock();
            let before_refresh = refresh.len();
            refresh.retain(|_, stored| &stored.grant.company_id != company_id);
            before - access.len() + before_refresh - refresh.len()
        }
        _ => {
            return Err(GhlError::unprocessable(
                "give exactly one of token, locationId, companyId",
            ));
        }
    };
    Ok(Json(json!({ "revoked": n_revoked })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPit {
    token: Option<String>,
    location_id: Option<String>,
}

/// Adds a private integration token on a location (the main one by default), with every scope.
async fn add_pit(
    State(world): State<Arc<World>>,
    GhlJson(request): GhlJson<NewPit>,
) -> GhlResult<Json<Value>> {
    let location_id = request
        .location_id
        .unwrap_or_else(|| world.config.location_id.clone());
    let company_id = world
        .locations
        .read()
        .get(&location_id)
        .map(|location| location.read().company_id.clone())
        .ok_or_else(|| GhlError::NotFound(format!("Location {location_id} not found")))?;
    let token = request
        .token
        .unwrap_or_else(|| format!("pit-{}", world.new_id()));
    world.tokens.add_pit(&token, &location_id, &company_id);
    Ok(Json(json!({ "token": token, "locationId": location_id })))
}

async fn webhooks(State(world): State<Arc<World>>) -> Json<Value> {
    let app_targets: Vec<Value> = world
        .config
        .apps
        .iter()
        .filter_map(|app| {
            app.webhook_url
                .as_ref()
                .map(|url| json!({ "clientId": app.client_id, "url": url }))
        })
        .collect();
    Json(json!({
        "targets": *world.webhooks.targets.read(),
        "appTargets": app_targets,
        "deliveries": world.webhooks.deliveries(),
        "dropped": world.webhooks.n_dropped(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    url: String,
}

/// Registers a receiver of every event (plain HTTP: the simulator's client has no TLS).
async fn register_webhook(
    State(world): State<Arc<World>>,
    GhlJson(target): GhlJson<Target>,
) -> GhlResult<Json<Value>> {
    let parsed = url::Url::parse(&target.url)
        .map_err(|_| GhlError::unprocessable("url must be an absolute URL"))?;
    if parsed.scheme() != "http" {
        return Err(GhlError::unprocessable(
            "url must be an http:// URL (the simulator delivers without TLS)",
        ));
    }
    let added = world.webhooks.register(&target.url);
    Ok(Json(
        json!({ "registered": added, "targets": *world.webhooks.targets.read() }),
    ))
}

#[derive(Deserialize)]
struct MaybeTarget {
    url: Option<String>,
}

/// Removes one receiver (`?url=`), or every receiver and the delivery log when none is named.
async fn unregister_webhook(
    State(world): State<Arc<World>>,
    Query(target): Query<MaybeTarget>,
) -> GhlResult<Json<Value>> {
    match target.url {
        Some(url) => {
            if !world.webhooks.unregister(&url) {
                return Err(GhlError::NotFound(format!("{url} is not registered")));
            }
        }
        None => {
            world.webhooks.targets.write().clear();
            world.webhooks.clear_log();
        }
    }
    Ok(Json(json!({ "targets": *world.webhooks.targets.read() })))
}

async fn webhook_events(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!({ "events": world.webhooks.events() }))
}

async fn webhook_keys(State(world): State<Arc<World>>) -> GhlResult<Json<Value>> {
    match world.webhooks.keys() {
        Ok(keys) => Ok(Json(keys.published())),
        Err(error) => {
            tracing::error!(%error, "The webhook signing keys cannot be loaded.");
            Err(GhlError::Internal)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserUninstall {
    app_id: Option<String>,
    location_id: Option<String>,
    company_id: Option<String>,
}

/// A user uninstalls the app in the HighLevel UI: installation gone, tokens revoked, `UNINSTALL`
/// sent. `appId` (or a client id) defaults to the first registered app.
async fn uninstall(
    State(world): State<Arc<World>>,
    GhlJson(request): GhlJson<UserUninstall>,
) -> GhlResult<Json<Value>> {
    let app = match &request.app_id {
        Some(app_id) => oauth::find_app(&world, app_id),
        None => world.config.apps.first(),
    }
    .ok_or_else(|| GhlError::NotFound("No such app".into()))?;
    let target = match (request.location_id, request.company_id) {
        (Some(location_id), None) => UninstallTarget::Location(location_id),
        (None, Some(company_id)) => UninstallTarget::Company(company_id),
        _ => {
            return Err(GhlError::unprocessable(
                "give exactly one of locationId, companyId",
            ));
        }
    };
    let uninstalled = oauth::uninstall(&world, &app.client_id, &target);
    Ok(Json(json!({ "uninstalled": uninstalled })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LocationSettings {
    #[serde(alias = "allow_duplicates")]
    allow_duplicates: Option<bool>,
    #[serde(alias = "duplicate_priority")]
    duplicate_priority: Option<Vec<String>>,
}

/// The location's "Allow Duplicate Contact" setting and the order of the fields that identify a
/// duplicate (`["email", "phone"]`).
async fn location_settings(
    State(world): State<Arc<World>>,
    Path(location_id): Path<String>,
    GhlJson(settings): GhlJson<LocationSettings>,
) -> GhlResult<Json<Value>> {
    let priority = match &settings.duplicate_priority {
        None => None,
        Some(names) => {
            let mut fields = Vec::new();
            for name in names {
                let field = match name.to_ascii_lowercase().as_str() {
                    "email" => MatchField::Email,
                    "phone" => MatchField::Phone,
                    _ => {
                        return Err(GhlError::unprocessable(format!(
                            "duplicatePriority: unknown field {name:?}"
                        )));
                    }
                };
                if fields.contains(&field) {
                    return Err(GhlError::unprocessable(format!(
                        "duplicatePriority: {name:?} is listed twice"
                    )));
                }
                fields.push(field);
            }
            if fields.is_empty() {
                return Err(GhlError::unprocessable(
                    "duplicatePriority: list at least one field",
                ));
            }
            Some(fields)
        }
    };
    let location = world
        .locations
        .read()
        .get(&location_id)
        .cloned()
        .ok_or_else(|| GhlError::NotFound(format!("Location {location_id} not found")))?;
    let mut location = location.write();
    if let Some(allow) = settings.allow_duplicates {
        location.allow_duplicates = allow;
    }
    if let Some(priority) = priority {
        location.duplicate_priority = priority;
    }
    let names: Vec<&str> = location
        .duplicate_priority
        .iter()
        .map(|field| match field {
            MatchField::Email => "email",
            MatchField::Phone => "phone",
        })
        .collect();
    Ok(Json(json!({
        "locationId": location.id,
        "allowDuplicates": location.allow_duplicates,
        "duplicatePriority": names,
    })))
}

async fn health(State(world): State<Arc<World>>) -> Json<Value> {
    let locations: Vec<_> = world.locations.read().values().cloned().collect();
    let n_contacts: usize = locations
        .iter()
        .map(|location| location.read().contacts.len())
        .sum();
    Json(json!({
        "status": "ok",
        "now": iso(world.now()),
        "locations": locations.len(),
        "contacts": n_contacts,
        "pendingWebhooks": world.webhooks.outbox.lock().len(),
    }))
}

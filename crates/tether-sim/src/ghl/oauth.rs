//! OAuth 2.0 of the GHL simulator (`oauth.openapi.json`, reference README §2–§3): the authorize
//! page (`chooselocation`), the token endpoint (authorization code, and refresh tokens rotated on
//! every use), location tokens minted from agency tokens, installed locations, and the
//! developer-initiated uninstall of `apps/marketplace.json`.
//!
//! Choices where the sources are silent or disagree, each repeated next to its code:
//! - the authorize page echoes `state` although GHL documents none (§3.1);
//! - `location_id` (or, for agency installs, `company_id`) in the authorize query approves at once,
//!   a simulator convenience for tests and `tether demo`;
//! - with `auto_approve` configured (`tether sim ghl --auto-approve`) every valid authorize
//!   request approves at once, for the configured location (default: the main one), so a standard
//!   OAuth 2.0 client that knows nothing of `location_id` runs unattended;
//! - an agency (Company) install approves every location of the agency;
//! - token errors use the spec's `BadRequestDTO` shape with the v3 spec's messages;
//! - `appId` is the client id's part before the first `-`, as the official SDK derives it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::OAuthApp;
use super::auth::{AccessGrant, Caller, CodeGrant, Installation, RefreshGrant, TokenKind};
use super::error::{GhlError, GhlResult};
use super::extract::{GhlJson, GhlQuery};
use super::model::iso;
use super::state::World;

/// How long an authorization code can be exchanged (GHL does not say; RFC 6749 §4.1.2
/// recommends at most 10 minutes).
const CODE_TTL_MINUTES: i64 = 10;

/// The user who installs apps when the location has no users (PITs use the same id).
const DEFAULT_USER_ID: &str = "sim-user-owner";

/// The routes of this family.
pub fn routes() -> Router<Arc<World>> {
    // Both authorize paths exist in the sources (README §13.8): the docs' `/v2/...` and the SDK's.
    Router::new()
        .route("/oauth/chooselocation", get(authorize_page).post(approve))
        .route(
            "/v2/oauth/chooselocation",
            get(authorize_page).post(approve),
        )
        .route("/oauth/token", post(token))
        .route("/oauth/locationToken", post(location_token))
        .route("/oauth/installedLocations", get(installed_locations))
        .route(
            "/marketplace/app/{appId}/installations",
            delete(uninstall_application),
        )
}

/// The app id GHL derives from a client id: the part before the first `-` (the official SDK reads
/// it so; a client id without `-` is its own app id).
pub(super) fn app_id_of(client_id: &str) -> &str {
    client_id
        .split_once('-')
        .map_or(client_id, |(app_id, _)| app_id)
}

/// Whether `app_id` names the app of `client_id`: its derived app id, or the client id itself.
pub(super) fn is_app(client_id: &str, app_id: &str) -> bool {
    app_id == client_id || app_id == app_id_of(client_id)
}

/// The registered app an app id (or client id) names.
pub(super) fn find_app<'a>(world: &'a World, app_id: &str) -> Option<&'a OAuthApp> {
    world
        .config
        .apps
        .iter()
        .find(|app| is_app(&app.client_id, app_id))
}

/// What an uninstall removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UninstallTarget {
    /// One location.
    Location(String),
    /// An agency and every location it installed the app on.
    Company(String),
}

/// Uninstalls an app as GHL does when a user or the developer removes it: forgets the
/// installation(s), revokes every access and refresh token of the app there, and sends
/// `UNINSTALL`. Returns false (and sends nothing) when the app was not installed there.
pub(super) fn uninstall(world: &World, client_id: &str, target: &UninstallTarget) -> bool {
    let app_id = app_id_of(client_id);
    match target {
        UninstallTarget::Location(location_id) => {
            let removed = world
                .tokens
                .installs
                .write()
                .remove(&(client_id.to_owned(), location_id.clone()))
                .is_some();
            world.tokens.revoke_app(client_id, location_id);
            if removed {
                world
                    .webhooks
                    .emit("UNINSTALL", location_id, json!({ "appId": app_id }));
            }
            removed
        }
        UninstallTarget::Company(company_id) => {
            let removed = {
                let mut installs = world.tokens.installs.write();
                let before = installs.len();
                installs.retain(|(install_client, _), install| {
                    install_client != client_id || &install.company_id != company_id
                });
                installs.len() != before
            };
            world.tokens.revoke_app(client_id, company_id);
            // The agency shape only (AppUninstall.agency.json): no per-location events.
            if removed {
                world.webhooks.emit(
                    "UNINSTALL",
                    "",
                    json!({ "appId": app_id, "companyId": company_id }),
                );
            }
            removed
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Authorize page
// ---------------------------------------------------------------------------------------------

/// The authorize request's parameters, from the GET query or the approval form.
#[derive(Debug, Default)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    user_type: Option<String>,
    login_window_open_mode: Option<String>,
    location_id: Option<String>,
    company_id: Option<String>,
}

impl AuthorizeParams {
    /// Reads URL-encoded pairs; the first occurrence of a name wins, empty values count as absent.
    fn parse(encoded: &[u8]) -> Self {
        let mut params = AuthorizeParams::default();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            let slot = match name.as_ref() {
                "response_type" => &mut params.response_type,
                "client_id" => &mut params.client_id,
                "redirect_uri" => &mut params.redirect_uri,
                "scope" => &mut params.scope,
                "state" => &mut params.state,
                "user_type" => &mut params.user_type,
                "loginWindowOpenMode" => &mut params.login_window_open_mode,
                "location_id" => &mut params.location_id,
                "company_id" => &mut params.company_id,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

/// A checked authorize request.
#[derive(Debug)]
struct Authorization {
    client_id: String,
    redirect_uri: Url,
    scopes: Vec<String>,
    state: Option<String>,
    user_type: TokenKind,
}

/// A 400 page: the authorize endpoint never redirects to a URI it has not validated.
fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · HighLevel (simulator)</title></head>\
         <body><h1>Something went wrong</h1><p id=\"error\">{}</p></body></html>",
        escape_html(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// Whether `redirect_uri` may receive codes for `app`: one of its registered URIs exactly, or,
/// when it registered none, any plain-HTTP loopback URI (`127.0.0.1` or `localhost`, any port).
fn redirect_allowed(app: &OAuthApp, redirect_uri: &str, parsed: &Url) -> bool {
    if app.redirect_uris.is_empty() {
        parsed.scheme() == "http" && matches!(parsed.host_str(), Some("127.0.0.1" | "localhost"))
    } else {
        app.redirect_uris
            .iter()
            .any(|allowed| allowed == redirect_uri)
    }
}

/// Checks an authorize request; the error is the message of the 400 page.
fn check_authorization(world: &World, params: &AuthorizeParams) -> Result<Authorization, String> {
    let client_id = params.client_id.as_deref().ok_or("client_id is required")?;
    let app = world
        .config
        .apps
        .iter()
        .find(|app| app.client_id == client_id)
        .ok_or_else(|| format!("Unknown client_id {client_id:?}: no app is registered with it"))?;
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or("redirect_uri is required")?;
    let parsed = Url::parse(redirect_uri)
        .map_err(|_| format!("redirect_uri {redirect_uri:?} is not a URL"))?;
    if !redirect_allowed(app, redirect_uri, &parsed) {
        return Err(format!(
            "redirect_uri {redirect_uri:?} is not registered for this app"
        ));
    }
    if params.response_type.as_deref() != Some("code") {
        return Err("response_type must be code".into());
    }
    let scopes: Vec<String> = params
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err("scope is required (a space-separated list)".into());
    }
    let user_type = match params.user_type.as_deref() {
        None | Some("Location") => TokenKind::Location,
        Some("Company") => TokenKind::Company,
        Some(other) => return Err(format!("user_type {other:?} must be Location or Company")),
    };
    Ok(Authorization {
        client_id: app.client_id.clone(),
        redirect_uri: parsed,
        scopes,
        state: params.state.clone(),
        user_type,
    })
}

/// `GET /oauth/chooselocation` and `/v2/oauth/chooselocation`: the page where the (always logged
/// in) user picks a location and approves. `loginWindowOpenMode` is accepted and has no effect,
/// as the simulator has no login step.
///
/// Simulator convenience, not in GHL: `location_id=...` in the query (or, for `user_type=Company`,
/// `company_id=...`) approves at once and answers the 302, so tests and `tether demo` need no
/// browser.
///
/// With `auto_approve` configured, every valid request approves at once: a location install goes
/// to the configured location (default: the main one, the page's first choice), an agency install
/// to the agency.
async fn authorize_page(State(world): State<Arc<World>>, uri: Uri) -> Response {
    let mut params = AuthorizeParams::parse(uri.query().unwrap_or_default().as_bytes());
    let authorization = match check_authorization(&world, &params) {
        Ok(authorization) => authorization,
        Err(message) => return error_page(&message),
    };
    if let Some(location) = &world.config.auto_approve {
        match authorization.user_type {
            TokenKind::Company => {
                params
                    .company_id
                    .get_or_insert_with(|| world.config.company_id.clone());
            }
            _ => {
                params.location_id.get_or_insert_with(|| {
                    location
                        .clone()
                        .unwrap_or_else(|| world.config.location_id.clone())
                });
            }
        }
    }
    let auto_approve = match authorization.user_type {
        TokenKind::Company => params.company_id.is_some(),
        _ => params.location_id.is_some(),
    };
    if auto_approve {
        return issue_code(&world, authorization, &params);
    }
    Html(render_page(&world, &authorization, uri.path())).into_response()
}

/// `POST` of the approval form: issues the code and redirects back to the app.
async fn approve(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let params = AuthorizeParams::parse(&body);
    match check_authorization(&world, &params) {
        Ok(authorization) => issue_code(&world, authorization, &params),
        Err(message) => error_page(&message),
    }
}

/// Creates a single-use code for the approved location (or agency) and answers the 302 to
/// `redirect_uri?code=...&state=...`.
///
/// `state` is echoed although GHL documents no `state` for this flow (README §3.1): a client that
/// guards against CSRF needs it back, and one that sends none gets none.
fn issue_code(world: &World, authorization: Authorization, params: &AuthorizeParams) -> Response {
    let company_id = world.config.company_id.clone();
    let location_id = match authorization.user_type {
        TokenKind::Company => {
            if params
                .company_id
                .as_deref()
                .is_some_and(|given| given != company_id)
            {
                return error_page("company_id is not an agency you can install to");
            }
            None
        }
        _ => {
            let Some(location_id) = params.location_id.clone() else {
                return error_page("Choose a location to install the app to");
            };
            let in_agency = world
                .locations
                .read()
                .get(&location_id)
                .is_some_and(|location| location.read().company_id == company_id);
            if !in_agency {
                return error_page(&format!(
                    "Location {location_id:?} does not exist in this agency"
                ));
            }
            Some(location_id)
        }
    };
    let code = random_token("code");
    world.tokens.codes.lock().insert(
        code.clone(),
        CodeGrant {
            client_id: authorization.client_id,
            redirect_uri: authorization.redirect_uri.to_string(),
            user_type: authorization.user_type,
            location_id,
            company_id,
            scopes: authorization.scopes,
            expires_at: world.now() + TimeDelta::minutes(CODE_TTL_MINUTES),
        },
    );
    let mut target = authorization.redirect_uri;
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &authorization.state {
            query.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// The agency's locations as `(id, name)`, the main location first, then by name.
fn agency_locations(world: &World, company_id: &str) -> Vec<(String, String)> {
    let mut locations: Vec<(String, String)> = world
        .locations
        .read()
        .values()
        .filter_map(|location| {
            let location = location.read();
            (location.company_id == company_id)
                .then(|| (location.id.clone(), location.name.clone()))
        })
        .collect();
    let main = &world.config.location_id;
    locations.sort_by(|a, b| (&a.0 != main, &a.1, &a.0).cmp(&(&b.0 != main, &b.1, &b.0)));
    locations
}

fn render_page(world: &World, authorization: &Authorization, path: &str) -> String {
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Choose an account · HighLevel (simulator)</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}\
         label{display:block;margin:.4rem 0}small{color:#666}button{margin-top:1rem;padding:.5rem 1.5rem}</style>\
         </head><body><h1>Choose an account</h1>",
    );
    let _ = write!(
        page,
        "<p>The app <strong>{}</strong> asks for access to:</p><ul>",
        escape_html(&authorization.client_id)
    );
    for scope in &authorization.scopes {
        let _ = write!(page, "<li><code>{}</code></li>", escape_html(scope));
    }
    page.push_str("</ul>");
    let _ = write!(
        page,
        "<form method=\"post\" action=\"{}\">",
        escape_html(path)
    );
    let user_type = if authorization.user_type == TokenKind::Company {
        "Company"
    } else {
        "Location"
    };
    let mut hidden = vec![
        ("response_type", "code".to_owned()),
        ("client_id", authorization.client_id.clone()),
        ("redirect_uri", authorization.redirect_uri.to_string()),
        ("scope", authorization.scopes.join(" ")),
        ("user_type", user_type.to_owned()),
    ];
    if let Some(state) = &authorization.state {
        hidden.push(("state", state.clone()));
    }
    for (name, value) in hidden {
        let _ = write!(
            page,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape_html(&value)
        );
    }
    let locations = agency_locations(world, &world.config.company_id);
    if authorization.user_type == TokenKind::Company {
        // An agency install in the simulator approves every location (README §3.4 bulk install).
        page.push_str("<fieldset><legend>Install for the agency, on every location:</legend><ul>");
        for (id, name) in &locations {
            let _ = write!(
                page,
                "<li>{} <small>{}</small></li>",
                escape_html(name),
                escape_html(id)
            );
        }
        page.push_str("</ul></fieldset>");
    } else {
        page.push_str("<fieldset><legend>Location</legend>");
        for (idx, (id, name)) in locations.iter().enumerate() {
            let checked = if idx == 0 { " checked" } else { "" };
            let _ = write!(
                page,
                "<label><input type=\"radio\" name=\"location_id\" value=\"{}\"{checked}> {} <small>{}</small></label>",
                escape_html(id),
                escape_html(name),
                escape_html(id)
            );
        }
        page.push_str("</fieldset>");
    }
    page.push_str("<button type=\"submit\">Approve</button></form></body></html>");
    page
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

/// An opaque random token. GHL's are JWTs, but clients must treat tokens as opaque. Drawn from an
/// entropy-seeded generator so issuing tokens never shifts the world's seeded record ids.
fn random_token(kind: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fastrand::Rng::new();
    let random: String = (0..40)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect();
    format!("sim-{kind}-{random}")
}

/// The fields of a form-encoded body. The v2 spec declares only
/// `application/x-www-form-urlencoded` for these operations, so anything else (JSON included,
/// which only the v3 endpoint takes) answers 422, as a body the validator cannot read has none of
/// the required fields. The first occurrence of a name wins; an empty value counts as absent.
fn form_fields(headers: &HeaderMap, body: &[u8]) -> GhlResult<HashMap<String, String>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(GhlError::unprocessable(format!(
            "Content-Type must be application/x-www-form-urlencoded, not {content_type:?}"
        )));
    }
    let mut fields = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if !value.is_empty() {
            fields
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
    }
    Ok(fields)
}

/// NestJS-style problems for required fields and enums.
fn require(
    fields: &HashMap<String, String>,
    required: &[&str],
    enums: &[(&str, &[&str])],
) -> GhlResult<()> {
    let mut problems = Vec::new();
    for name in required {
        if !fields.contains_key(*name) {
            problems.push(format!("{name} should not be empty"));
        }
    }
    for (name, allowed) in enums {
        if let Some(value) = fields.get(*name)
            && !allowed.contains(&value.as_str())
        {
            problems.push(format!(
                "{name} must be one of the following values: {}",
                allowed.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GhlError::Unprocessable(problems))
    }
}

fn invalid_grant(what: &str) -> GhlError {
    GhlError::BadRequest(format!("Invalid grant: {what}"))
}

fn user_type_name(kind: TokenKind) -> &'static str {
    if kind == TokenKind::Company {
        "Company"
    } else {
        "Location"
    }
}

/// Checks a requested `user_type` against the kind of grant being redeemed. GHL does not say what
/// a mismatch does; refusing it catches a client that stored the wrong kind.
fn check_user_type(fields: &HashMap<String, String>, kind: TokenKind) -> GhlResult<()> {
    match fields.get("user_type") {
        Some(requested) if requested != user_type_name(kind) => Err(GhlError::BadRequest(format!(
            "Invalid parameter: user_type {requested} does not match the grant, which is for a {}",
            user_type_name(kind)
        ))),
        _ => Ok(()),
    }
}

/// `POST /oauth/token` (`get-access-token`).
///
/// Errors use the spec's `BadRequestDTO` shape (`{statusCode, message, error}`), not RFC 6749's
/// `{error, error_description}`: the v2 spec declares that schema for 400, and the messages are
/// the v3 spec's examples (`Invalid grant: refresh token is invalid`, README §3.2).
async fn token(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: Bytes,
) -> GhlResult<Response> {
    let fields = form_fields(&headers, &body)?;
    require(
        &fields,
        &["client_id", "client_secret", "grant_type"],
        &[
            (
                "grant_type",
                &["authorization_code", "refresh_token", "client_credentials"],
            ),
            ("user_type", &["Company", "Location"]),
        ],
    )?;
    let client_id = &fields["client_id"];
    let app = world
        .config
        .apps
        .iter()
        .find(|app| &app.client_id == client_id && app.client_secret == fields["client_secret"])
        .ok_or_else(|| {
            GhlError::Unauthorized("Invalid client: client_id or client_secret is wrong".into())
        })?;
    let answer = match fields["grant_type"].as_str() {
        "authorization_code" => exchange_code(&world, app, &fields)?,
        "refresh_token" => redeem_refresh_token(&world, app, &fields)?,
        // In the spec's enum but documented nowhere (README §13.12).
        _ => {
            return Err(GhlError::BadRequest(
                "Invalid parameter: grant_type client_credentials is not supported".into(),
            ));
        }
    };
    Ok(axum::Json(answer).into_response())
}

fn exchange_code(
    world: &World,
    app: &OAuthApp,
    fields: &HashMap<String, String>,
) -> GhlResult<Value> {
    let code = fields
        .get("code")
        .ok_or_else(|| GhlError::BadRequest("Missing parameter: code".into()))?;
    // Single use: the code is gone once presented, whatever happens next (RFC 6749 §4.1.2).
    let grant = world
        .tokens
        .codes
        .lock()
        .remove(code)
        .ok_or_else(|| invalid_grant("authorization code is invalid"))?;
    if grant.expires_at <= world.now() {
        return Err(invalid_grant("authorization code has expired"));
    }
    if grant.client_id != app.client_id {
        return Err(invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    // `redirect_uri` is optional in the spec; when given it must be the one the code was issued for.
    if fields
        .get("redirect_uri")
        .is_some_and(|given| !same_uri(given, &grant.redirect_uri))
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    check_user_type(fields, grant.user_type)?;
    let user_id = installing_user(world, grant.location_id.as_deref());
    install(
        world,
        &app.client_id,
        grant.user_type,
        &grant.company_id,
        grant.location_id.as_deref(),
        &user_id,
    );
    let access = AccessGrant {
        kind: grant.user_type,
        app_id: app.client_id.clone(),
        location_id: grant.location_id,
        company_id: grant.company_id,
        user_id,
        scopes: grant.scopes,
        expires_at: None,
    };
    Ok(issue_tokens(world, access))
}

/// Whether two redirect URIs are the same (the code stores the parsed, normalised form).
fn same_uri(given: &str, issued: &str) -> bool {
    given == issued || Url::parse(given).is_ok_and(|given| given.as_str() == issued)
}

/// Redeems a refresh token: it is single use (README §3.3), so redeeming removes it and the answer
/// carries a new one. The access token issued before stays valid until it expires (GHL does not
/// say that refreshing revokes it).
fn redeem_refresh_token(
    world: &World,
    app: &OAuthApp,
    fields: &HashMap<String, String>,
) -> GhlResult<Value> {
    let presented = fields
        .get("refresh_token")
        .ok_or_else(|| GhlError::BadRequest("Missing parameter: refresh_token".into()))?;
    let grant = {
        let mut refresh = world.tokens.refresh.lock();
        let Some(stored) = refresh.get(presented) else {
            return Err(invalid_grant("refresh token is invalid"));
        };
        // A token of another client is refused without being spent.
        if stored.client_id != app.client_id {
            return Err(invalid_grant("refresh token is invalid"));
        }
        check_user_type(fields, stored.grant.kind)?;
        refresh.remove(presented).map(|stored| stored.grant)
    };
    let grant = grant.ok_or_else(|| invalid_grant("refresh token is invalid"))?;
    Ok(issue_tokens(world, grant))
}

fn expiry(world: &World) -> (DateTime<Utc>, u64) {
    let ttl = world.config.access_token_ttl;
    let delta = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
    (
        world
            .now()
            .checked_add_signed(delta)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        ttl.as_secs(),
    )
}

/// Issues an access token and a refresh token for `grant`, and the token endpoint's answer
/// (fields as README §3.2: snake_case token fields beside camelCase ids).
fn issue_tokens(world: &World, mut grant: AccessGrant) -> Value {
    let (expires_at, expires_in) = expiry(world);
    grant.expires_at = Some(expires_at);
    let access_token = random_token("at");
    let refresh_token = random_token("rt");
    world
        .tokens
        .access
        .write()
        .insert(access_token.clone(), grant.clone());
    world.tokens.refresh.lock().insert(
        refresh_token.clone(),
        RefreshGrant {
            grant: grant.clone(),
            client_id: grant.app_id.clone(),
        },
    );

    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh_token,
        "scope": grant.scopes.join(" "),
        "userType": user_type_name(grant.kind),
        "companyId": grant.company_id,
        "userId": grant.user_id,
    });
    let fields = answer.as_object_mut().expect("built as an object above");
    match &grant.location_id {
        Some(location_id) => {
            fields.insert("locationId".into(), json!(location_id));
            fields.insert("approvedLocations".into(), json!([location_id]));
            fields.insert("isBulkInstallation".into(), json!(false));
        }
        None => {
            let approved: Vec<String> = {
                let installs = world.tokens.installs.read();
                let mut approved: Vec<String> = installs
                    .values()
                    .filter(|install| {
                        install.client_id == grant.app_id && install.company_id == grant.company_id
                    })
                    .filter_map(|install| install.location_id.clone())
                    .collect();
                approved.sort();
                approved
            };
            fields.insert("approvedLocations".into(), json!(approved));
            fields.insert("isBulkInstallation".into(), json!(true));
            fields.insert("approveAllLocations".into(), json!(true));
            // Locations created later are not installed automatically in the simulator.
            fields.insert("installToFutureLocations".into(), json!(false));
        }
    }
    answer
}

/// The user recorded as installing: the location's first user, else a fixed owner id.
fn installing_user(world: &World, location_id: Option<&str>) -> String {
    location_id
        .and_then(|location_id| world.locations.read().get(location_id).cloned())
        .and_then(|location| location.read().users.first().cloned())
        .unwrap_or_else(|| DEFAULT_USER_ID.to_owned())
}

fn company_name(world: &World, company_id: &str) -> String {
    world
        .companies
        .read()
        .get(company_id)
        .map(|company| company.name.clone())
        .unwrap_or_default()
}

/// Records the installation on the first code exchange for a location or agency, and sends
/// `INSTALL` (AppInstall shape) for each new one. An agency install covers every location of the
/// agency, and each location gets its own `INSTALL` with `companyId` and `locationId`, which is
/// what the official SDK's webhook handler expects to mint location tokens from.
fn install(
    world: &World,
    client_id: &str,
    kind: TokenKind,
    company_id: &str,
    location_id: Option<&str>,
    user_id: &str,
) {
    let now = world.now();
    let company_name = company_name(world, company_id);
    let app_id = app_id_of(client_id);
    let record = |location_id: Option<&str>, by_company: bool| Installation {
        client_id: client_id.to_owned(),
        company_id: company_id.to_owned(),
        location_id: location_id.map(str::to_owned),
        user_id: user_id.to_owned(),
        by_company,
        installed_at: now,
    };
    let location_event = |location_id: &str, install_type: &str| {
        json!({
            "appId": app_id,
            "companyId": company_id,
            "userId": user_id,
            "companyName": company_name,
            "isWhitelabelCompany": false,
            "whitelabelDetails": {},
            "installType": install_type,
            "locationId": location_id,
        })
    };
    let mut new_locations = Vec::new();
    let mut new_agency = false;
    {
        let locations = match (kind, location_id) {
            (TokenKind::Company, _) => agency_locations(world, company_id)
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            (_, Some(location_id)) => vec![location_id.to_owned()],
            (_, None) => Vec::new(),
        };
        let mut installs = world.tokens.installs.write();
        if kind == TokenKind::Company
            && let Entry::Vacant(slot) =
                installs.entry((client_id.to_owned(), company_id.to_owned()))
        {
            slot.insert(record(None, true));
            new_agency = true;
        }
        for location_id in locations {
            if let Entry::Vacant(slot) = installs.entry((client_id.to_owned(), location_id.clone()))
            {
                slot.insert(record(Some(&location_id), kind == TokenKind::Company));
                new_locations.push(location_id);
            }
        }
    }
    if new_agency {
        world.webhooks.emit(
            "INSTALL",
            "",
            json!({
                "appId": app_id,
                "companyId": company_id,
                "userId": user_id,
                "companyName": company_name,
                "isWhitelabelCompany": false,
                "whitelabelDetails": {},
                "installType": "Company",
            }),
        );
    }
    let install_type = user_type_name(kind);
    for location_id in new_locations {
        world.webhooks.emit(
            "INSTALL",
            &location_id,
            location_event(&location_id, install_type),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Agency operations
// ---------------------------------------------------------------------------------------------

/// `POST /oauth/locationToken` (`get-location-access-token`): a location token minted from an
/// agency token, for a location the app is installed on. Fields as the v2 spec: no
/// `refresh_token` (README §13.11) — a client mints a new one from the agency token instead.
async fn location_token(
    State(world): State<Arc<World>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> GhlResult<Response> {
    let fields = form_fields(&headers, &body)?;
    require(&fields, &["companyId", "locationId"], &[])?;
    let agency = &caller.grant;
    if fields["companyId"] != agency.company_id {
        return Err(GhlError::BadRequest(
            "Invalid parameter: companyId is not the token's agency".into(),
        ));
    }
    let location_id = &fields["locationId"];
    let installed = world
        .tokens
        .installs
        .read()
        .get(&(agency.app_id.clone(), location_id.clone()))
        .is_some_and(|install| install.company_id == agency.company_id);
    if !installed {
        return Err(GhlError::BadRequest(format!(
            "The app is not installed on location {location_id}"
        )));
    }
    let (expires_at, expires_in) = expiry(&world);
    let grant = AccessGrant {
        kind: TokenKind::Location,
        app_id: agency.app_id.clone(),
        location_id: Some(location_id.clone()),
        company_id: agency.company_id.clone(),
        user_id: agency.user_id.clone(),
        scopes: agency.scopes.clone(),
        expires_at: Some(expires_at),
    };
    let access_token = random_token("at");
    world
        .tokens
        .access
        .write()
        .insert(access_token.clone(), grant.clone());
    Ok(axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": grant.scopes.join(" "),
        "locationId": location_id,
        "userId": grant.user_id,
        "appId": app_id_of(&grant.app_id),
    }))
    .into_response())
}

/// Query of `GET /oauth/installedLocations`. Every value is a string, as the spec types them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstalledLocationsQuery {
    company_id: String,
    app_id: String,
    skip: Option<String>,
    limit: Option<String>,
    query: Option<String>,
    is_installed: Option<String>,
    location_id: Option<String>,
    /// Accepted, not filtered on: the simulator has no app versions.
    #[serde(rename = "versionId")]
    _version_id: Option<String>,
    /// Accepted, not filtered on: the simulator has no trials.
    #[serde(rename = "onTrial")]
    _on_trial: Option<String>,
    /// Accepted, not filtered on: the simulator has no paid plans.
    #[serde(rename = "planId")]
    _plan_id: Option<String>,
}

fn parse_count(name: &str, value: Option<&str>, default: usize) -> GhlResult<usize> {
    match value {
        None | Some("") => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| GhlError::unprocessable(format!("{name} must be a number string"))),
    }
}

/// `GET /oauth/installedLocations` (`get-installed-location`): the agency's locations with whether
/// the app is installed on each, filtered, then paged by `skip` / `limit`; `count` is the number
/// matching before paging.
async fn installed_locations(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlQuery(query): GhlQuery<InstalledLocationsQuery>,
) -> GhlResult<axum::Json<Value>> {
    let agency = &caller.grant;
    if query.company_id != agency.company_id {
        return Err(GhlError::BadRequest(
            "Invalid parameter: companyId is not the token's agency".into(),
        ));
    }
    if !is_app(&agency.app_id, &query.app_id) {
        return Err(GhlError::BadRequest(
            "Invalid parameter: appId is not the token's app".into(),
        ));
    }
    let skip = parse_count("skip", query.skip.as_deref(), 0)?;
    let limit = parse_count("limit", query.limit.as_deref(), 20)?;
    let is_installed = match query.is_installed.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(GhlError::unprocessable(
                "isInstalled must be a boolean value",
            ));
        }
    };
    let needle = query.query.as_deref().map(str::to_lowercase);
    let installs = world.tokens.installs.read();
    let matching: Vec<Value> = agency_locations(&world, &agency.company_id)
        .into_iter()
        .filter(|(id, name)| {
            let installed = installs.contains_key(&(agency.app_id.clone(), id.clone()));
            query.location_id.as_ref().is_none_or(|wanted| wanted == id)
                && needle
                    .as_ref()
                    .is_none_or(|needle| name.to_lowercase().contains(needle))
                && is_installed.is_none_or(|wanted| wanted == installed)
        })
        .map(|(id, name)| {
            let install = installs.get(&(agency.app_id.clone(), id.clone()));
            let mut location = json!({
                "_id": id,
                "name": name,
                // Simulated locations have no postal address.
                "address": "",
                "isInstalled": install.is_some(),
            });
            if let Some(install) = install {
                location["installedAt"] = json!(iso(install.installed_at));
            }
            location
        })
        .collect();
    let count = matching.len();
    let locations: Vec<Value> = matching.into_iter().skip(skip).take(limit).collect();
    Ok(axum::Json(
        json!({ "locations": locations, "count": count, "installToFutureLocations": false }),
    ))
}

/// Body of the developer uninstall.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UninstallBody {
    company_id: Option<String>,
    location_id: Option<String>,
    reason: Option<String>,
}

/// `DELETE /marketplace/app/{appId}/installations` (`uninstall-application`, README §3.5): with an
/// agency token and `companyId`, removes the app from the agency and every location; with a
/// location token (or an agency token and `locationId`), from that location. `reason` is
/// required. Answers `{success: true}`.
async fn uninstall_application(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(app_id): Path<String>,
    GhlJson(body): GhlJson<UninstallBody>,
) -> GhlResult<axum::Json<Value>> {
    if body
        .reason
        .as_deref()
        .is_none_or(|reason| reason.trim().is_empty())
    {
        return Err(GhlError::unprocessable("reason should not be empty"));
    }
    let grant = &caller.grant;
    if !is_app(&grant.app_id, &app_id) {
        return Err(GhlError::Forbidden(
            "The token does not belong to this app".into(),
        ));
    }
    let forbidden =
        || GhlError::Forbidden("The token does not have access to this location".into());
    let target = match grant.kind {
        TokenKind::Company => match (&body.location_id, &body.company_id) {
            (Some(location_id), _) => {
                let in_agency = world
                    .locations
                    .read()
                    .get(location_id)
                    .is_some_and(|location| location.read().company_id == grant.company_id);
                if !in_agency {
                    return Err(forbidden());
                }
                UninstallTarget::Location(location_id.clone())
            }
            (None, Some(company_id)) if *company_id == grant.company_id => {
                UninstallTarget::Company(company_id.clone())
            }
            (None, Some(_)) => {
                return Err(GhlError::Forbidden(
                    "The token does not have access to this company".into(),
                ));
            }
            (None, None) => {
                return Err(GhlError::unprocessable(
                    "companyId or locationId should not be empty",
                ));
            }
        },
        _ => {
            if body.company_id.is_some() {
                return Err(GhlError::Forbidden(
                    "A location token cannot uninstall an agency installation".into(),
                ));
            }
            let own = grant.location_id.clone().ok_or_else(forbidden)?;
            if body.location_id.as_ref().is_some_and(|given| *given != own) {
                return Err(forbidden());
            }
            UninstallTarget::Location(own)
        }
    };
    if !uninstall(&world, &grant.app_id, &target) {
        return Err(GhlError::BadRequest(
            "The app is not installed there".into(),
        ));
    }
    Ok(axum::Json(json!({ "success": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_id_is_the_client_id_before_the_first_dash() {
        assert_eq!(
            app_id_of("6578278e879ad2646715ba9c-lq8k2n3m"),
            "6578278e879ad2646715ba9c"
        );
        assert_eq!(app_id_of("plain"), "plain");
        assert!(is_app("sim-client-id", "sim"));
        assert!(is_app("sim-client-id", "sim-client-id"));
        assert!(!is_app("sim-client-id", "other"));
    }

    #[test]
    fn authorize_params_take_the_first_value_and_ignore_empty_ones() {
        let params = AuthorizeParams::parse(
            b"client_id=a&client_id=b&state=&scope=x+y&loginWindowOpenMode=self",
        );
        assert_eq!(params.client_id.as_deref(), Some("a"));
        assert_eq!(params.state, None);
        assert_eq!(params.scope.as_deref(), Some("x y"));
        assert_eq!(params.login_window_open_mode.as_deref(), Some("self"));
    }

    #[test]
    fn loopback_redirects_are_allowed_only_when_the_app_registered_none() {
        let mut app = OAuthApp {
            client_id: "c".into(),
            client_secret: "s".into(),
            redirect_uris: Vec::new(),
            webhook_url: None,
        };
        let check =
            |app: &OAuthApp, uri: &str| redirect_allowed(app, uri, &Url::parse(uri).unwrap());
        assert!(check(&app, "http://127.0.0.1:8080/cb"));
        assert!(check(&app, "http://localhost:1/cb"));
        assert!(!check(&app, "https://127.0.0.1/cb"));
        assert!(!check(&app, "http://evil.example/cb"));
        app.redirect_uris = vec!["https://app.example/cb".into()];
        assert!(check(&app, "https://app.example/cb"));
        assert!(!check(&app, "http://127.0.0.1:8080/cb"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

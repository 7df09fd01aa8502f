//! Sign-in, password changes and API tokens (`/auth/*`, `/tokens`), [`authenticate`], the
//! middleware in front of every `/api/v1` route, and the security headers of every answer.
//!
//! A request is authenticated by `Authorization: Bearer tth_…` (scripts, the CLI) or by the
//! `tether_session` cookie (browsers). Only [`is_public`] routes answer without either.
//!
//! Cross-site request forgery is refused from the request's own metadata, with no token to
//! thread through forms: an unsafe request (POST, PUT, PATCH, DELETE) that is not authenticated
//! by a bearer token is refused with 403 `forbidden` when `Sec-Fetch-Site` says another site
//! sent it, when `Origin` is neither the public URL's origin nor the request's own host, or
//! when its body is of a type a cross-site form can send (anything but JSON, or YAML, which the
//! flows API takes). Bearer requests are exempt: a browser never adds that header on its own.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tether_service::accounts::{
    AuthMethod, CreatedToken, NewSession, Principal, SetupRequest, SetupStatus, TokenInfo, UserInfo,
};
use tether_service::{Error, ErrorCode, Page, Service};
use utoipa::{IntoParams, ToSchema};

use super::{ApiState, PREFIX, Problem};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tether_session";

/// Routes that answer without a login: health, the document, and the ways to sign in.
pub fn is_public(method: &Method, path: &str) -> bool {
    let path = path.strip_prefix(PREFIX).unwrap_or(path);
    matches!(
        (method.as_str(), path),
        ("GET", "/health")
            | ("GET", "/openapi.json")
            | ("GET", "/auth/setup")
            | ("POST", "/auth/setup")
            | ("POST", "/auth/login")
    )
}

fn problem(code: ErrorCode, message: impl Into<String>) -> Response {
    Problem(Error::new(code, message)).into_response()
}

/// The client's address: the peer's, when the server was started with connection info; when
/// the peer is a trusted reverse proxy (`Settings::trusted_proxies`), the last address of
/// `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address it
/// received the request from, so that one was written by a proxy we trust).
fn client_address(service: &Service, request: &Request) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())?;
    let trusted = &service.settings().trusted_proxies;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse::<IpAddr>().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|address| !trusted.contains(address))
            .unwrap_or(peer),
    )
}

/// The value of the session cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Why an unsafe request without a bearer token looks cross-site, if it does.
fn cross_site_reason(service: &Service, request: &Request) -> Option<String> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return None;
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if site != "same-origin" && site != "none" {
            return Some(format!(
                "cross-site request refused: Sec-Fetch-Site is {site:?}; this API accepts writes \
                 from its own pages or with an API token"
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("?").trim_end_matches('/');
        let public = service.settings().public_url.origin().ascii_serialization();
        let own = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map(|host| [format!("http://{host}"), format!("https://{host}")]);
        let same = origin == public
            || own
                .as_ref()
                .is_some_and(|own| own.iter().any(|own| own == origin));
        if !same {
            return Some(format!(
                "cross-site request refused: Origin {origin} is not this server ({public}); this \
                 API accepts writes from its own pages or with an API token"
            ));
        }
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok())
            .is_some_and(|length| length.trim() != "0");
    if has_body {
        let kind = headers
            .get(header::CONTENT_TYPE)
            .and_then(|kind| kind.to_str().ok())
            .unwrap_or("");
        let essence = kind
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let allowed = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
            || essence == "application/yaml"
            || essence == "text/yaml";
        if !allowed {
            let shown = if kind.is_empty() { "none" } else { kind };
            return Some(format!(
                "Content-Type: a signed-in browser may send only application/json bodies (got \
                 {shown}); forms and plain text are refused as possible cross-site requests"
            ));
        }
    }
    None
}

/// The middleware in front of every `/api/v1` route: public routes pass; every other request
/// needs a live API token or session (401 otherwise); cookie-authenticated and anonymous unsafe
/// requests must look same-site (403 otherwise). The [`Principal`] goes into the request's
/// extensions for the handlers.
pub async fn authenticate(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let service = &state.service;
    let public = is_public(request.method(), request.uri().path());
    let bearer = match request.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) => Some(token.trim().to_owned()),
            // A public route ignores credentials it does not need (a health check behind a
            // proxy that adds its own); anywhere else a malformed header is an error.
            None if public => None,
            None => {
                return problem(
                    ErrorCode::Unauthenticated,
                    "Authorization: expected `Bearer <API token>`",
                );
            }
        },
    };
    if bearer.is_none()
        && let Some(reason) = cross_site_reason(service, &request)
    {
        tracing::warn!(method = %request.method(), path = request.uri().path(), %reason, "A request was refused as cross-site.");
        return problem(ErrorCode::Forbidden, reason);
    }
    if public {
        return next.run(request).await;
    }
    let principal = if let Some(token) = bearer {
        match service.authenticate_token(&token).await {
            Ok(Some(principal)) => principal,
            Ok(None) => {
                return problem(
                    ErrorCode::Unauthenticated,
                    "Authorization: the API token is unknown or revoked",
                );
            }
            Err(error) => return Problem(error).into_response(),
        }
    } else if let Some(secret) = session_cookie(request.headers()) {
        match service.authenticate_session(&secret).await {
            Ok(Some(principal)) => principal,
            Ok(None) => {
                return problem(
                    ErrorCode::Unauthenticated,
                    "the session has ended or expired; sign in again",
                );
            }
            Err(error) => return Problem(error).into_response(),
        }
    } else {
        return problem(
            ErrorCode::Unauthenticated,
            "sign in first, or send `Authorization: Bearer <API token>` (`tether token create`)",
        );
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The `Content-Security-Policy` of every answer: this server's own resources only, and `fetch`
/// also to the public URL's origin, so the settings page can check from the browser that the
/// public URL answers (`GET {public_url}/api/v1/health`, which allows any origin).
pub fn content_security_policy(service: &Service) -> HeaderValue {
    let public = service.settings().public_url.origin().ascii_serialization();
    // An opaque origin (not http or https) serializes as "null", which is no source to allow.
    let connect = if public.starts_with("http") {
        format!("'self' {public}")
    } else {
        "'self'".to_owned()
    };
    HeaderValue::from_str(&format!(
        "default-src 'self'; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'"
    ))
    .unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
    })
}

/// Security headers on every answer of the server (set only where a route set none itself);
/// `csp` is [`content_security_policy`].
pub async fn security_headers(State(csp): State<HeaderValue>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The `Set-Cookie` value of a session (`max_age` 0 ends it).
fn session_cookie_header(service: &Service, secret: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if service.settings().public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tether_session=; Max-Age=0"))
}

fn signed_in(service: &Service, session: NewSession, status: StatusCode) -> Response {
    let cookie = session_cookie_header(service, &session.secret, session.lifetime.as_secs());
    let mut response = (status, Json(session.user)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    no_store(response)
}

/// Marks an answer that carries a secret (a session cookie, a new token) as not to be cached.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The signed-in person, and how the request authenticated.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Me {
    #[serde(flatten)]
    user: UserInfo,
    /// `session` (a browser's cookie) or `token` (an API token).
    authenticated_by: &'static str,
    /// The API token's id, when authenticated by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<String>,
}

/// E-mail address and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginRequest {
    /// The e-mail address.
    email: String,
    /// The password.
    password: String,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordChange {
    /// The password now.
    current: String,
    /// The new password: at least 12 characters, not the current one.
    new: String,
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewTokenRequest {
    /// Its name: 1 to 64 letters, digits, `-`, `_` or `.`; unique among live tokens.
    name: String,
}

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// Items per page, 1 to 200 (default 50).
    limit: Option<usize>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        Problem::invalid(format!(
            "body{}: {}",
            if path == "." {
                String::new()
            } else {
                format!(" {path}")
            },
            error.inner()
        ))
    })
}

/// Whether first-start setup is still to be done.
#[utoipa::path(
    get,
    path = "/auth/setup",
    tag = "auth",
    responses((status = 200, description = "Whether an owner must still be created", body = SetupStatus)),
    security(()),
)]
pub(crate) async fn setup_status(
    State(state): State<ApiState>,
) -> Result<Json<SetupStatus>, Problem> {
    Ok(Json(SetupStatus {
        needed: state.service.setup_needed().await?,
    }))
}

/// Creates the owner with the setup token `tether serve` printed, and signs them in.
#[utoipa::path(
    post,
    path = "/auth/setup",
    tag = "auth",
    request_body = SetupRequest,
    responses(
        (status = 201, description = "The owner exists and is signed in (session cookie set)", body = UserInfo),
        (status = 400, description = "Unusable e-mail address or password", body = super::problem::ProblemBody),
        (status = 403, description = "Unknown, used or expired setup token", body = super::problem::ProblemBody),
        (status = 409, description = "Setup is done", body = super::problem::ProblemBody),
    ),
    security(()),
)]
pub(crate) async fn setup(
    State(state): State<ApiState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let request: SetupRequest = json_body(&body)?;
    let session = state.service.complete_setup(request).await?;
    Ok(signed_in(&state.service, session, StatusCode::CREATED))
}

/// Signs in with e-mail address and password: sets the session cookie.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (session cookie set)", body = UserInfo),
        (status = 401, description = "Wrong e-mail address or password", body = super::problem::ProblemBody),
        (status = 429, description = "Too many failures; see Retry-After", body = super::problem::ProblemBody),
    ),
    security(()),
)]
pub(crate) async fn login(
    State(state): State<ApiState>,
    request: Request,
) -> Result<Response, Problem> {
    let client = client_address(&state.service, &request);
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| Problem::invalid("body: larger than 64 KiB"))?;
    let login: LoginRequest = json_body(&body)?;
    let session = state
        .service
        .login(&login.email, &login.password, client)
        .await?;
    Ok(signed_in(&state.service, session, StatusCode::OK))
}

/// Ends this session and clears its cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    responses((status = 204, description = "Signed out")),
)]
pub(crate) async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(secret) = session_cookie(&headers) {
        state.service.logout(&secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header(&state.service, "", 0),
    );
    Ok(response)
}

/// Who is signed in.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    responses((status = 200, description = "The signed-in person", body = Me)),
)]
pub(crate) async fn me(Extension(principal): Extension<Principal>) -> Json<Me> {
    let (authenticated_by, token_id) = match principal.method {
        AuthMethod::Session => ("session", None),
        AuthMethod::Token(id) => ("token", Some(id)),
    };
    Json(Me {
        user: principal.user,
        authenticated_by,
        token_id,
    })
}

/// Changes the signed-in person's password, given the current one. Every other session of theirs
/// ends; a browser's own session goes on under a new cookie. API tokens stay. A wrong current
/// password counts as a failed sign-in and is throttled like one.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed (a browser gets a new session cookie)"),
        (status = 400, description = "The new password is too short or the current one", body = super::problem::ProblemBody),
        (status = 403, description = "The current password is wrong", body = super::problem::ProblemBody),
        (status = 429, description = "Too many failures; see Retry-After", body = super::problem::ProblemBody),
    ),
)]
pub(crate) async fn change_password(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, Problem> {
    let client = client_address(&state.service, &request);
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| Problem::invalid("body: larger than 64 KiB"))?;
    let change: PasswordChange = json_body(&body)?;
    let by_session = principal.method == AuthMethod::Session;
    let session = state
        .service
        .change_password(&principal, &change.current, &change.new, client, by_session)
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(session) = session {
        let cookie =
            session_cookie_header(&state.service, &session.secret, session.lifetime.as_secs());
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(no_store(response))
}

/// Live API tokens, newest first: names and prefixes, never secrets. An owner sees every
/// token, a member their own.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    params(Paging),
    responses(
        (status = 200, description = "One page of tokens", body = Page<TokenInfo>),
        (status = 400, description = "Bad limit or cursor", body = super::problem::ProblemBody),
    ),
)]
pub(crate) async fn list_tokens(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<TokenInfo>>, Problem> {
    Ok(Json(
        state
            .service
            .tokens(
                paging.limit.unwrap_or(50),
                paging.cursor.as_deref(),
                principal.scope(),
            )
            .await?,
    ))
}

/// Creates an API token acting as the signed-in person; the answer is the only time its secret
/// is shown.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "The token, with its secret (shown once)", body = CreatedToken),
        (status = 400, description = "Bad name", body = super::problem::ProblemBody),
        (status = 409, description = "A live token has that name", body = super::problem::ProblemBody),
    ),
)]
pub(crate) async fn create_token(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let request: NewTokenRequest = json_body(&body)?;
    let created = state
        .service
        .create_token(&principal.user.id, &request.name)
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

/// Revokes a token (by id or name): it authenticates nothing from now on. A member may revoke
/// only their own.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    params(("id" = String, Path, description = "The token's id or name")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No live token with that id or name", body = super::problem::ProblemBody),
    ),
)]
pub(crate) async fn revoke_token(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.service.revoke_token(&id, principal.scope()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?token=` of a login link.
#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: a one-time login link (`tether demo` prints one) signs its user in,
/// then goes on to the web UI. Without a token, `/login` is the UI's sign-in page.
pub(crate) async fn login_link(
    State(state): State<ApiState>,
    Query(query): Query<LinkQuery>,
) -> Result<Response, Problem> {
    let Some(token) = query.token.filter(|token| !token.is_empty()) else {
        return Ok(tether_web::index());
    };
    let session = state.service.login_with_link(&token).await?;
    let cookie = session_cookie_header(&state.service, &session.secret, session.lifetime.as_secs());
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(no_store(response))
}

/// The routes outside `/api/v1` this module serves: `GET /login` (a login link, else the UI's
/// sign-in page).
pub fn pages(service: Service) -> axum::Router {
    axum::Router::new()
        .route("/login", axum::routing::get(login_link))
        .with_state(ApiState { service })
}

//! The gate every request passes: request log, injected faults, then for API operations the
//! checks GHL makes before an operation runs — token (401), rate limit (429), `Version` header
//! (400), scope (403) and body schema (400 for malformed JSON, 422 per field) — and the
//! `X-RateLimit-*` headers on the way out.
//!
//! The `Version` header picks the [`Dialect`]: a `v3` request is checked against the v3 spec and
//! translated to and from the v2 shapes the handlers speak (see [`super::v3`]).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::AUTHORIZATION;

use super::auth::{Caller, TokenKind};
use super::error::GhlError;
use super::faults::Fault;
use super::log::LoggedRequest;
use super::ops::{self, Dialect, OpSpec, TokenRule};
use super::state::World;
use super::{spec, v3};

/// The `Version` value of the v3 specs.
const V3: &str = "v3";

/// The `Version` value the official Node SDK (`@gohighlevel/api-client` 3.x) sends on every call.
const SDK_VERSION: &str = "2023-02-21";

/// Largest request body the simulator reads (GHL's own limit is not documented).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The axum middleware wrapping every route of the GHL simulator.
pub async fn gate(State(world): State<Arc<World>>, request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let op = matched
        .as_deref()
        .and_then(|path| ops::find(request.method(), path));
    let is_admin = matched
        .as_deref()
        .is_some_and(|path| path.starts_with("/__sim"));

    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            )
                .into_response();
        }
    };
    let log_entry = world.log.enabled().then(|| LoggedRequest {
        seq: 0,
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        operation_id: op.map(|op| op.operation_id.to_owned()),
        status: 0,
    });

    let response = if is_admin {
        next.run(Request::from_parts(parts, Body::from(body))).await
    } else {
        match inject_faults(&world).await {
            Some(response) => response,
            None => match op {
                Some(op) => {
                    let path = matched.as_deref().map_or("", ops::spec_path);
                    serve_operation(&world, op, path, parts, body, next).await
                }
                None => next.run(Request::from_parts(parts, Body::from(body))).await,
            },
        }
    };

    if let Some(mut entry) = log_entry {
        entry.status = response.status().as_u16();
        world.log.push(entry);
    }
    response
}

async fn inject_faults(world: &World) -> Option<Response> {
    let (fault, latency) = {
        let faults = world.faults.lock();
        faults.draw(&mut world.rng.lock(), Instant::now())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::None => None,
        Fault::ServerError => Some(GhlError::Internal.into_response()),
        Fault::Unavailable => Some(GhlError::Unavailable.into_response()),
        Fault::TooManyRequests => Some(GhlError::TooManyRequests.into_response()),
        Fault::Empty => Some(http::StatusCode::OK.into_response()),
        Fault::Reset => {
            // A body that fails after the head is sent makes hyper abort the connection, which
            // the client sees as a reset in the middle of the answer.
            let failing = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ))
            });
            Some(Response::new(Body::from_stream(failing)))
        }
    }
}

async fn serve_operation(
    world: &World,
    op: &'static OpSpec,
    path: &str,
    mut parts: http::request::Parts,
    body: Bytes,
    next: Next,
) -> Response {
    let mut decision = None;
    if op.token != TokenRule::None {
        let caller = match authenticate(world, op, &parts.headers) {
            Ok(caller) => caller,
            Err(error) => return error.into_response(),
        };
        decision = world.limiter.check(
            &caller.grant.app_id,
            caller.grant.resource_id(),
            Instant::now(),
            world.now(),
        );
        if decision.is_some_and(|decision| !decision.allowed) {
            let mut response = GhlError::TooManyRequests.into_response();
            if let Some(decision) = &decision {
                world
                    .limiter
                    .write_headers(decision, response.headers_mut());
            }
            return response;
        }
        parts.extensions.insert(caller);
    }

    let checked = check_version(world, op, path, &parts.headers).and_then(|dialect| {
        check_scope(op, parts.extensions.get::<Caller>())?;
        check_body(op, dialect, &parts.headers, &body)?;
        Ok(dialect)
    });
    let mut response = match checked {
        Ok(Dialect::V2) => next.run(Request::from_parts(parts, Body::from(body))).await,
        Ok(Dialect::V3) => {
            let body = v3::request_to_v2(op, &mut parts.headers, body);
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            v3::response_from_v2(op, response).await
        }
        Err(error) => error.into_response(),
    };
    if let Some(decision) = &decision {
        world
            .limiter
            .write_headers(decision, response.headers_mut());
    }
    response
}

fn authenticate(world: &World, op: &OpSpec, headers: &http::HeaderMap) -> Result<Caller, GhlError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| GhlError::Unauthorized("Invalid token: access token is missing".into()))?;
    let grant = world.tokens.check(token, world.now())?;
    let accepted = match op.token {
        TokenRule::None => true,
        TokenRule::Location => matches!(grant.kind, TokenKind::Location | TokenKind::Pit),
        TokenRule::AgencyOnly => grant.kind == TokenKind::Company,
        TokenRule::LocationOrAgency => true,
    };
    if !accepted {
        return Err(GhlError::Unauthorized(
            "This authClass type is not allowed to access this scope".into(),
        ));
    }
    Ok(Caller {
        token: token.to_owned(),
        grant,
    })
}

/// Checks the `Version` header and tells which dialect the request speaks.
///
/// Accepted on each path: the value its v2 spec enumerates, `2023-02-21` (what the official Node
/// SDK sends on every call; HighLevel lists it as supported and no spec describes another shape
/// for it, so it is served as v2) and, where a v3 spec serves the path, `v3`. With
/// `strict_version` off any supported value passes on any v2 path.
fn check_version(
    world: &World,
    op: &OpSpec,
    path: &str,
    headers: &http::HeaderMap,
) -> Result<Dialect, GhlError> {
    let given = headers.get("version").and_then(|value| value.to_str().ok());
    let serves_v2 = spec::serves(op, Dialect::V2, path);
    let serves_v3 = spec::serves(op, Dialect::V3, path);
    if given == Some(V3) && serves_v3 {
        return Ok(Dialect::V3);
    }
    let Some(expected) = op.version else {
        // An operation whose v2 spec declares no `Version` (the token endpoint) takes any.
        return Ok(Dialect::V2);
    };
    let mut accepted = Vec::new();
    if serves_v2 {
        accepted.extend([expected, SDK_VERSION]);
    }
    if serves_v3 {
        accepted.push(V3);
    }
    match given {
        None => Err(GhlError::BadRequest("Version header was not found".into())),
        Some(given) if serves_v2 && accepted.contains(&given) => Ok(Dialect::V2),
        Some(given)
            if serves_v2
                && !world.config.strict_version
                && super::SUPPORTED_VERSIONS.contains(&given) =>
        {
            Ok(Dialect::V2)
        }
        Some(given) => Err(GhlError::BadRequest(format!(
            "Version header value {given:?} is not supported for this operation; expected one of {accepted:?}"
        ))),
    }
}

fn check_scope(op: &OpSpec, caller: Option<&Caller>) -> Result<(), GhlError> {
    let (Some(scope), Some(caller)) = (op.scope, caller) else {
        return Ok(());
    };
    // A write scope implies the matching read scope, as GHL's scope picker grants both.
    let implied = scope
        .strip_suffix(".readonly")
        .map(|base| format!("{base}.write"));
    let granted = caller
        .grant
        .scopes
        .iter()
        .any(|granted| granted == scope || implied.as_deref() == Some(granted.as_str()));
    if granted {
        Ok(())
    } else {
        Err(GhlError::Forbidden(format!(
            "The token is not authorized for this scope. Required scope: {scope}"
        )))
    }
}

fn check_body(
    op: &OpSpec,
    dialect: Dialect,
    headers: &http::HeaderMap,
    body: &Bytes,
) -> Result<(), GhlError> {
    let Some(validator) = spec::request_validator_for(op.operation_id, dialect) else {
        return Ok(());
    };
    // A form body, where the spec allows one beside JSON (the v3 token endpoint), is checked by
    // the handler field by field.
    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form && spec::takes_form(op, dialect) {
        return Ok(());
    }
    let instance: serde_json::Value = if body.is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|error| GhlError::BadRequest(format!("Invalid JSON body: {error}")))?
    };
    let mut problems = spec::problems(validator, &instance);
    // NestJS' whitelist validation, which GHL runs, refuses properties the DTO does not declare.
    if let (Some(allowed), Some(given)) = (
        spec::request_properties_for(op.operation_id, dialect),
        instance.as_object(),
    ) {
        problems.extend(
            given
                .keys()
                .filter(|key| !allowed.contains(key))
                .map(|key| format!("property {key} should not exist")),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GhlError::Unprocessable(problems))
    }
}

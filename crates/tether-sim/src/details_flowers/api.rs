//! The API routes, served generically from the manifest: every request passes faults, the API key
//! and the rate limit, in that order, then reaches its resource's collection (`GET` lists, `POST`
//! creates) or record (`GET`, `PATCH`, `DELETE`) at `{path}/{id}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Map, Value, json};
use tether_core::manifest::{PagingStyle, Resource};

use super::World;
use super::state::{ListFilter, RecordError, check_search_value};
use crate::ghl::log::LoggedRequest;

/// Serves one API request and records it in the request log.
pub async fn handle(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = serve(&world, &method, &uri, &headers, &body).await;
    if world.log.enabled() {
        world.log.push(LoggedRequest {
            seq: 0,
            received_at_ms: chrono::Utc::now().timestamp_millis(),
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            operation_id: None,
            status: response.status().as_u16(),
        });
    }
    response
}

/// An error answer: `{"error": code, "message": …, "field": …}`.
fn error(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> Response {
    let mut body = json!({ "error": code, "message": message });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    (status, Json(body)).into_response()
}

fn record_error(failure: RecordError) -> Response {
    match failure {
        RecordError::NotFound(message) => error_404(&message),
        RecordError::Invalid { field, message } => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("{field}: {message}"),
            Some(&field),
        ),
    }
}

fn error_404(message: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", message, None)
}

async fn serve(
    world: &World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let (fail, latency) = {
        let faults = world.faults.lock().clone();
        let mut rng = world.rng.lock();
        let fail = (faults.error_rate > 0.0 && rng.f64() < faults.error_rate).then(|| {
            if rng.bool() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            }
        });
        (fail, Duration::from_millis(faults.latency_ms))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = fail {
        return error(status, "server_error", "injected fault", None);
    }

    let key = headers
        .get(world.manifest.auth.header.as_str())
        .and_then(|value| value.to_str().ok());
    if !key.is_some_and(|key| world.api_keys.iter().any(|known| known == key)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            &format!(
                "missing or unknown API key in {}",
                world.manifest.auth.header
            ),
            None,
        );
    }

    if let Err(wait) = world.limit.lock().admit(Instant::now()) {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests",
            None,
        );
        // Whole seconds, rounded up, so a client that waits as told lands in the next window.
        let seconds = wait.as_millis().div_ceil(1000).max(1);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        return response;
    }

    let path = uri.path();
    let found = world
        .manifest
        .resources
        .iter()
        .enumerate()
        .find_map(|(idx, resource)| {
            if path == resource.path {
                return Some((idx, resource, None));
            }
            let id = path.strip_prefix(&resource.path)?.strip_prefix('/')?;
            (!id.is_empty() && !id.contains('/')).then_some((idx, resource, Some(id)))
        });
    let Some((idx, resource, id)) = found else {
        return error_404(&format!("Cannot {method} {path}"));
    };
    match (method.clone(), id) {
        (Method::GET, None) => list(world, idx, resource, uri.query().unwrap_or_default()),
        (Method::POST, None) => match parse_object(body) {
            Err(response) => *response,
            Ok(input) => match world.records.lock().create(idx, resource, input, None) {
                Ok(record) => (StatusCode::CREATED, Json(record)).into_response(),
                Err(failure) => record_error(failure),
            },
        },
        (Method::GET, Some(id)) => match world.records.lock().get(idx, id) {
            Some(record) => Json(record.clone()).into_response(),
            None => error_404(&format!("{} {id} not found", resource.name)),
        },
        (Method::PATCH, Some(id)) => match parse_object(body) {
            Err(response) => *response,
            Ok(input) => match world.records.lock().update(idx, resource, id, input) {
                Ok(record) => Json(record).into_response(),
                Err(failure) => record_error(failure),
            },
        },
        (Method::DELETE, Some(id)) => {
            if world.records.lock().delete(idx, id) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                error_404(&format!("{} {id} not found", resource.name))
            }
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{method} is not allowed on {path}"),
            None,
        ),
    }
}

/// The body as a JSON object, or a 400 answer saying why not.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body must be a JSON object",
            None,
        ))),
        Err(failure) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("the body is not JSON: {failure}"),
            None,
        ))),
    }
}

/// The default page size when the request names none.
const DEFAULT_PAGE_SIZE: usize = 25;

fn list(world: &World, idx: usize, resource: &Resource, query: &str) -> Response {
    let paging = &resource.paging;
    let invalid = |field: &str, message: &str| {
        record_error(RecordError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        })
    };
    let mut size = DEFAULT_PAGE_SIZE.min(paging.max_size as usize);
    let mut page = 1usize;
    let mut offset = 0usize;
    let mut filter = ListFilter::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name == paging.size_param {
            match value.parse::<usize>() {
                Ok(n) if (1..=paging.max_size as usize).contains(&n) => size = n,
                _ => {
                    return invalid(
                        name,
                        &format!("must be an integer from 1 to {}", paging.max_size),
                    );
                }
            }
        } else if paging.style == PagingStyle::Page && name == paging.page_param {
            match value.parse::<usize>() {
                Ok(n) if n >= 1 => page = n,
                _ => return invalid(name, "must be an integer from 1"),
            }
        } else if paging.style == PagingStyle::Cursor && name == paging.cursor_param {
            match value
                .strip_prefix('c')
                .and_then(|hex| usize::from_str_radix(hex, 16).ok())
            {
                Some(n) => offset = n,
                None => return invalid(name, "is not a cursor this service gave"),
            }
        } else if let Some(field) = since_field(resource, name) {
            if filter.since.is_some() {
                return invalid(
                    name,
                    "only one of updated_since and created_since may be given",
                );
            }
            match DateTime::parse_from_rfc3339(value) {
                Ok(time) => filter.since = Some((field.to_owned(), time.with_timezone(&Utc))),
                Err(_) => return invalid(name, "must be an RFC 3339 date and time"),
            }
        } else if resource.search_by.iter().any(|field| field == name) {
            if let Err(failure) = check_search_value(resource, name, value) {
                return record_error(failure);
            }
            filter.equals.push((name.to_owned(), value.to_owned()));
        } else {
            return invalid(name, "is not a query parameter of this listing");
        }
    }
    let records = world.records.lock();
    let selected = records.list(idx, &filter);
    let total = selected.len();
    if paging.style == PagingStyle::Page {
        offset = (page - 1).saturating_mul(size);
    }
    let items: Vec<Value> = selected
        .iter()
        .skip(offset)
        .take(size)
        .map(|record| Value::Object((*record).clone()))
        .collect();
    let end = offset.saturating_add(items.len());
    let mut answer = Map::new();
    answer.insert(paging.items_field.clone(), Value::Array(items));
    match paging.style {
        PagingStyle::Page => {
            answer.insert(paging.page_param.clone(), json!(page));
            answer.insert(paging.size_param.clone(), json!(size));
            answer.insert("total".into(), json!(total));
        }
        PagingStyle::Cursor => {
            let next = (end < total).then(|| format!("c{end:x}"));
            answer.insert(paging.next_field.clone(), json!(next));
        }
    }
    Json(Value::Object(answer)).into_response()
}

/// `updated_since` / `created_since` → the resource's time field, when it declares one.
fn since_field<'a>(resource: &'a Resource, param: &str) -> Option<&'a str> {
    match param {
        "updated_since" => resource.updated_field.as_deref(),
        "created_since" => resource.created_field.as_deref(),
        _ => None,
    }
}

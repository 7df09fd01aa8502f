//! The generic REST connector: any app described by a [`Manifest`] (`tether_core::manifest`),
//! called through Tether's client stack with an API key in the manifest's header and a limiter
//! seeded from the manifest's rate limit.
//!
//! [`RestApp::catalog`] lists the operations (`details_flowers.customer.create`, …) with JSON
//! Schemas built from the fields; [`RestApp::invoke`] runs one from JSON input, checked against
//! the fields first so a bad field is named by its path before anything is sent. The typed
//! methods ([`RestApp::get`], [`RestApp::create`], …), listings as streams
//! ([`RestApp::list_stream`]) and [`RestApp::poll`] (records changed since a cursor, for polling
//! triggers) are there for the engine.
//!
//! Conventions every manifest app follows (the simulator serves them): a record lives at
//! `{path}/{id}`; `POST {path}` creates, `PATCH {path}/{id}` changes the given fields, `DELETE`
//! deletes; a listing takes `updated_since` / `created_since` (inclusive, then sorted by that time
//! and id) and equality filters on the `search_by` fields; errors are JSON with `message` and, on
//! 422, `field`.

pub mod catalog;
pub mod error;
pub mod paging;
pub mod poll;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method};
use serde_json::{Map, Value, json};
use tether_core::Secret;
use tether_core::catalog::OperationMeta;
use tether_core::manifest::{ActionVerb, InputMode, Manifest, Resource};
use tether_http::{ApiKeyHeader, ApiRequest, ClientConfig, HttpClient, LimitConfig, WindowLimiter};
use url::Url;

pub use catalog::{MAX_LIST_LIMIT, Operation};
pub use error::Error;
pub use paging::ListQuery;
pub use poll::{PollBatch, PollCursor};

use futures::TryStreamExt;

/// A client of one connection to a manifest app.
#[derive(Debug, Clone)]
pub struct RestApp {
    manifest: Arc<Manifest>,
    client: HttpClient,
}

/// The limiter settings a manifest's rate limit stands for (`None` when it declares none).
pub fn limit_config(manifest: &Manifest) -> Option<LimitConfig> {
    manifest.rate_limit.map(|limit| LimitConfig {
        burst_max: limit.requests,
        burst_window: Duration::from_secs(limit.window_secs),
        // Manifests declare no daily quota; the limiter's daily count then never binds.
        daily_max: u32::MAX,
        safety_margin: Duration::from_millis(100),
    })
}

impl RestApp {
    /// A client of `manifest`'s app at `base_url` (the real service's, or a simulator's), with
    /// `api_key` in the manifest's header and its own limiter. Use [`RestApp::with_client`] to
    /// share a limiter between clients of one connection.
    pub fn new(manifest: Manifest, base_url: Url, api_key: Secret) -> Result<Self, Error> {
        let header = HeaderName::from_bytes(manifest.auth.header.as_bytes()).map_err(|_| {
            Error::Protocol(format!(
                "the manifest's auth header `{}` is not a header name",
                manifest.auth.header
            ))
        })?;
        let limiter = limit_config(&manifest).map(|config| Arc::new(WindowLimiter::new(config)));
        let client = HttpClient::new(
            ClientConfig::new(manifest.app.clone(), base_url),
            Arc::new(ApiKeyHeader {
                header,
                key: api_key,
            }),
            limiter,
        )
        .map_err(|error| Error::Http(Box::new(error)))?;
        Ok(Self::with_client(manifest, client))
    }

    /// A client over an [`HttpClient`] built elsewhere (credentials and limiter included).
    pub fn with_client(manifest: Manifest, client: HttpClient) -> Self {
        RestApp {
            manifest: Arc::new(manifest),
            client,
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every operation of the app, with schemas.
    pub fn catalog(&self) -> Vec<OperationMeta> {
        catalog::catalog(&self.manifest)
    }

    fn resource(&self, name: &str) -> Result<&Resource, Error> {
        self.manifest
            .resource(name)
            .ok_or_else(|| Error::UnknownOperation(format!("{}.{name}", self.manifest.app)))
    }

    /// Reads record `id`.
    pub async fn get(&self, resource: &str, id: &str) -> Result<Value, Error> {
        let resource = self.resource(resource)?;
        let request = ApiRequest::get(record_path(resource, id)?);
        self.send(resource, Some(id), request).await
    }

    /// Creates a record from `input` (checked against the fields first).
    pub async fn create(&self, resource: &str, input: Map<String, Value>) -> Result<Value, Error> {
        let resource = self.resource(resource)?;
        check(resource, &input, InputMode::Create)?;
        let request = ApiRequest::post(resource.path.clone())
            .json(&input)
            .map_err(|error| Error::Http(Box::new(error)))?;
        self.send(resource, None, request).await
    }

    /// Changes the fields in `input` of record `id` (checked against the fields first).
    pub async fn update(
        &self,
        resource: &str,
        id: &str,
        input: Map<String, Value>,
    ) -> Result<Value, Error> {
        let resource = self.resource(resource)?;
        check(resource, &input, InputMode::Update)?;
        // Setting fields to given values is safe to repeat, so a PATCH may be retried after a 5xx.
        let request = ApiRequest::new(Method::PATCH, record_path(resource, id)?)
            .json(&input)
            .map_err(|error| Error::Http(Box::new(error)))?
            .idempotent(true);
        self.send(resource, Some(id), request).await
    }

    /// Deletes record `id`.
    pub async fn delete(&self, resource: &str, id: &str) -> Result<(), Error> {
        let resource = self.resource(resource)?;
        let request = ApiRequest::delete(record_path(resource, id)?);
        self.client
            .send(request)
            .await
            .map_err(|error| Error::from_http(error, &resource.name, Some(id)))?;
        Ok(())
    }

    async fn send(
        &self,
        resource: &Resource,
        id: Option<&str>,
        request: ApiRequest,
    ) -> Result<Value, Error> {
        self.client
            .send_json(request)
            .await
            .map_err(|error| Error::from_http(error, &resource.name, id))
    }

    /// Runs the operation `op_id` with JSON `input`, as the engine and `tether call` do.
    ///
    /// Input is checked against the operation's fields first; a bad field is an
    /// [`Error::Input`] naming its path, and nothing is sent.
    pub async fn invoke(&self, op_id: &str, input: Value) -> Result<Value, Error> {
        let operation = catalog::operation(&self.manifest, op_id)
            .ok_or_else(|| Error::UnknownOperation(op_id.to_owned()))?;
        let Value::Object(mut input) = input else {
            return Err(Error::input("", "the input must be a JSON object"));
        };
        match operation {
            Operation::Action(resource, verb) => {
                let name = resource.name.as_str();
                match verb {
                    ActionVerb::List => {
                        let limit = take_limit(&mut input)?;
                        let mut query = ListQuery::default();
                        if let Some(since) = input.remove("updated_since") {
                            let since = since
                                .as_str()
                                .filter(|text| chrono::DateTime::parse_from_rfc3339(text).is_ok())
                                .ok_or_else(|| {
                                    Error::input(
                                        "updated_since",
                                        "must be an RFC 3339 date and time",
                                    )
                                })?;
                            query
                                .filters
                                .push(("updated_since".into(), since.to_owned()));
                        }
                        no_more(&input)?;
                        let items = self.collect(name, query, limit).await?;
                        Ok(json!({ "items": items }))
                    }
                    ActionVerb::Get => {
                        let id = take_id(resource, &mut input)?;
                        no_more(&input)?;
                        self.get(name, &id).await
                    }
                    ActionVerb::Create => self.create(name, input).await,
                    ActionVerb::Update => {
                        let id = take_id(resource, &mut input)?;
                        self.update(name, &id, input).await
                    }
                    ActionVerb::Delete => {
                        let id = take_id(resource, &mut input)?;
                        no_more(&input)?;
                        self.delete(name, &id).await?;
                        let mut answer = Map::new();
                        answer.insert("deleted".into(), Value::Bool(true));
                        answer.insert(resource.id_field.clone(), Value::String(id));
                        Ok(Value::Object(answer))
                    }
                }
            }
            Operation::FindBy(resource, field) => {
                let value = match input.remove(field) {
                    Some(Value::String(text)) => text,
                    Some(Value::Number(number)) if number.is_i64() || number.is_u64() => {
                        number.to_string()
                    }
                    Some(_) => return Err(Error::input(field, "must be a string or an integer")),
                    None => return Err(Error::input(field, "is required")),
                };
                no_more(&input)?;
                let query = ListQuery {
                    filters: vec![(field.to_owned(), value)],
                    page_size: None,
                };
                let items = self.collect(&resource.name, query, usize::MAX).await?;
                Ok(json!({ "items": items }))
            }
            Operation::Trigger(resource, trigger) => {
                let limit = take_limit(&mut input)?;
                let cursor = match input.remove("cursor") {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(PollCursor::from_json(&value)?),
                };
                no_more(&input)?;
                let batch = self
                    .poll(&resource.name, trigger, cursor.as_ref(), limit)
                    .await?;
                Ok(json!({ "records": batch.records, "cursor": batch.cursor }))
            }
        }
    }

    async fn collect(
        &self,
        resource: &str,
        query: ListQuery,
        limit: usize,
    ) -> Result<Vec<Value>, Error> {
        // `take` stops polling once `limit` records came, so no further page is fetched.
        futures::StreamExt::take(self.list_stream(resource, query), limit)
            .try_collect()
            .await
    }
}

/// `{path}/{id}`, refusing ids that would change the path.
fn record_path(resource: &Resource, id: &str) -> Result<String, Error> {
    let safe = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        && id != "."
        && id != "..";
    if !safe {
        return Err(Error::input(
            &resource.id_field,
            "must be letters, digits, `-`, `_`, `.` or `~`",
        ));
    }
    Ok(format!("{}/{id}", resource.path))
}

fn check(resource: &Resource, input: &Map<String, Value>, mode: InputMode) -> Result<(), Error> {
    let mut problems = resource.check_input(input, mode);
    problems.sort_by(|a, b| a.field.cmp(&b.field));
    match problems.into_iter().next() {
        None => Ok(()),
        Some(problem) => Err(Error::input(problem.field, problem.message)),
    }
}

fn take_id(resource: &Resource, input: &mut Map<String, Value>) -> Result<String, Error> {
    match input.remove(&resource.id_field) {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        Some(_) => Err(Error::input(
            &resource.id_field,
            "must be a non-empty string",
        )),
        None => Err(Error::input(&resource.id_field, "is required")),
    }
}

fn take_limit(input: &mut Map<String, Value>) -> Result<usize, Error> {
    match input.remove("limit") {
        None | Some(Value::Null) => Ok(100),
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                Error::input(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIST_LIMIT}"),
                )
            }),
    }
}

fn no_more(input: &Map<String, Value>) -> Result<(), Error> {
    match input.keys().next() {
        None => Ok(()),
        Some(key) => Err(Error::input(key, "is not an input of this operation")),
    }
}

//! How a request is authenticated: a trait the client calls before each attempt and after a 401.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::{HeaderMap, HeaderName, HeaderValue};
use tether_core::Secret;

use crate::Error;

/// A boxed future, so [`Credentials`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can authenticate requests: a static token, an API key, an OAuth 2.0 token that
/// refreshes itself, an OAuth 1.0a signer.
pub trait Credentials: Send + Sync + fmt::Debug {
    /// Adds what authenticates the request (usually the `Authorization` header).
    fn apply<'a>(&'a self, request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), Error>>;

    /// Called once after a 401, with the headers that were refused. Answers `true` when new
    /// credentials are now available and the request should be tried again.
    fn refresh<'a>(&'a self, refused: &'a HeaderMap) -> BoxFuture<'a, Result<bool, Error>> {
        let _ = refused;
        Box::pin(async { Ok(false) })
    }
}

/// What a [`Credentials`] may read and change: the request's method, URL, headers and body (an
/// OAuth 1.0a signature covers all four).
#[derive(Debug)]
pub struct AuthTarget {
    /// Method.
    pub method: http::Method,
    /// Full URL, query included.
    pub url: url::Url,
    /// Headers so far.
    pub headers: HeaderMap,
    /// Body, when any.
    pub body: Option<bytes::Bytes>,
}

/// No authentication.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAuth;

impl Credentials for NoAuth {
    fn apply<'a>(&'a self, _request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}

/// A fixed bearer token (a HighLevel private integration token, say).
#[derive(Debug, Clone)]
pub struct StaticBearer(pub Secret);

impl Credentials for StaticBearer {
    fn apply<'a>(&'a self, request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            request
                .headers
                .insert(http::header::AUTHORIZATION, bearer_value(&self.0)?);
            Ok(())
        })
    }
}

/// A fixed API key sent in a header of the app's choosing.
#[derive(Debug, Clone)]
pub struct ApiKeyHeader {
    /// Header name, e.g. `x-api-key`.
    pub header: HeaderName,
    /// The key.
    pub key: Secret,
}

impl Credentials for ApiKeyHeader {
    fn apply<'a>(&'a self, request: &'a mut AuthTarget) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut value =
                HeaderValue::from_str(self.key.expose()).map_err(|_| Error::Credentials {
                    reason: "the API key has characters a header cannot carry".into(),
                })?;
            value.set_sensitive(true);
            request.headers.insert(self.header.clone(), value);
            Ok(())
        })
    }
}

/// `Bearer <token>` as a sensitive header value (hyper and our traces never print it).
pub fn bearer_value(token: &Secret) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::Credentials {
            reason: "the token has characters a header cannot carry".into(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

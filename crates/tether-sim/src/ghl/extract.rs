//! Extractors that answer in GHL's error shapes instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::auth::Caller;
use super::error::GhlError;

/// A JSON body; a body that does not parse answers 400, one of the wrong shape 422 naming the field.
#[derive(Debug, Clone)]
pub struct GhlJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for GhlJson<T> {
    type Rejection = GhlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|error| GhlError::BadRequest(error.body_text()))?;
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|error| GhlError::BadRequest(format!("Invalid JSON body: {error}")))?;
        serde_path_to_error::deserialize(value)
            .map(GhlJson)
            .map_err(|error| {
                let path = error.path().to_string();
                GhlError::unprocessable(format!("{path}: {}", error.into_inner()))
            })
    }
}

/// Query parameters; a bad one answers 422 naming it.
#[derive(Debug, Clone)]
pub struct GhlQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for GhlQuery<T> {
    type Rejection = GhlError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| GhlQuery(value))
            .map_err(|error| GhlError::unprocessable(error.body_text()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = GhlError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| GhlError::Unauthorized("Invalid token: access token is missing".into()))
    }
}

//! `flickr.favorites.*`: a user's favorite photos, and faving or unfaving a photo.

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{Done, PhotoPage, PhotoSummary};
use super::photos::photo_stream;
use super::{Error, FlickrClient, Params, PhotoId, UserId, Verb, require};

/// Arguments of `flickr.favorites.getList`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct FavoritesQuery {
    /// Whose favorites (default: the connection's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Faved at or after (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fave_date: Option<i64>,
    /// Faved at or before (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fave_date: Option<i64>,
    /// Extra fields per photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Vec<String>>,
    /// Page size (at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

crate::flickr::photos::photo_queries!(FavoritesQuery);

/// The favorites methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Favorites<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Favorites<'_> {
    /// `flickr.favorites.getList`: one page of favorites.
    pub async fn list(&self, query: &FavoritesQuery) -> Result<PhotoPage, Error> {
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.favorites.getList", "photos", Verb::Read, params)
            .await
    }

    /// Every favorite, page by page.
    pub fn list_stream(
        &self,
        query: FavoritesQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), query, |client, query| async move {
            client.favorites().list(&query).await
        })
    }

    /// `flickr.favorites.add` (write): faves a photo (error 3 if it is a favorite already).
    pub async fn add(&self, photo_id: &PhotoId) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new().add("photo_id", photo_id);
        self.client
            .call_empty(
                "flickr.favorites.add",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.favorites.remove` (write).
    pub async fn remove(&self, photo_id: &PhotoId) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new().add("photo_id", photo_id);
        self.client
            .call_empty(
                "flickr.favorites.remove",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }
}

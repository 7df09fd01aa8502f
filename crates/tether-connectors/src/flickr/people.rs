//! `flickr.people.*`: find a Flickr account by e-mail or screen name (a GHL contact's e-mail →
//! a Flickr user), read a profile, list a user's photos.

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{Person, PhotoPage, PhotoSummary, User};
use super::photos::photo_stream;
use super::{Error, FlickrClient, Params, UserId, Verb, require};

/// The largest page of a photo list.
pub const MAX_PHOTO_PAGE: u32 = 500;

fn me() -> UserId {
    UserId::new("me")
}

/// Arguments of `flickr.people.getPhotos`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UserPhotosQuery {
    /// Whose photostream; `me` (the default) is the connection's user.
    #[serde(default = "me")]
    pub user_id: UserId,
    /// 1 safe, 2 moderate, 3 restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_search: Option<u8>,
    /// Uploaded at or after (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_upload_date: Option<i64>,
    /// Uploaded at or before (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_date: Option<i64>,
    /// Taken at or after (MySQL datetime, `YYYY-MM-DD HH:MM:SS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_taken_date: Option<String>,
    /// Taken at or before (MySQL datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_taken_date: Option<String>,
    /// 1 photos, 2 screenshots, 3 other, 4–7 combinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<u8>,
    /// 1 public, 2 friends, 3 family, 4 friends and family, 5 private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_filter: Option<u8>,
    /// Extra fields per photo (`date_upload`, `last_update`, `tags`, `description`, `url_m` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Vec<String>>,
    /// Page size (at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

impl Default for UserPhotosQuery {
    fn default() -> Self {
        UserPhotosQuery {
            user_id: me(),
            safe_search: None,
            min_upload_date: None,
            max_upload_date: None,
            min_taken_date: None,
            max_taken_date: None,
            content_type: None,
            privacy_filter: None,
            extras: None,
            per_page: None,
            page: None,
        }
    }
}

/// Arguments of `flickr.people.getPublicPhotos`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublicPhotosQuery {
    /// Whose photos.
    pub user_id: UserId,
    /// 1 safe, 2 moderate, 3 restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_search: Option<u8>,
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

crate::flickr::photos::photo_queries!(UserPhotosQuery, PublicPhotosQuery);

/// The people methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct People<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl People<'_> {
    /// `flickr.people.findByEmail`: the account of an e-mail address (error 1 when none).
    pub async fn find_by_email(&self, email: &str) -> Result<User, Error> {
        require("find_email", email)?;
        let params = Params::new().add("find_email", email);
        self.client
            .call("flickr.people.findByEmail", "user", Verb::Read, params)
            .await
    }

    /// `flickr.people.findByUsername`: the account of a screen name (error 1 when none).
    pub async fn find_by_username(&self, username: &str) -> Result<User, Error> {
        require("username", username)?;
        let params = Params::new().add("username", username);
        self.client
            .call("flickr.people.findByUsername", "user", Verb::Read, params)
            .await
    }

    /// `flickr.people.getInfo`: a profile.
    pub async fn get_info(&self, user_id: &UserId) -> Result<Person, Error> {
        require("user_id", user_id.as_str())?;
        let params = Params::new().add("user_id", user_id);
        self.client
            .call("flickr.people.getInfo", "person", Verb::Read, params)
            .await
    }

    /// `flickr.people.getPhotos`: one page of a photostream.
    pub async fn get_photos(&self, query: &UserPhotosQuery) -> Result<PhotoPage, Error> {
        require("user_id", query.user_id.as_str())?;
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.people.getPhotos", "photos", Verb::Read, params)
            .await
    }

    /// Every photo of a photostream, page by page from `query.page` (or 1), 500 at a time
    /// unless `query.per_page` says otherwise.
    pub fn get_photos_stream(
        &self,
        query: UserPhotosQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), query, |client, query| async move {
            client.people().get_photos(&query).await
        })
    }

    /// `flickr.people.getPublicPhotos`: one page of a user's public photos.
    pub async fn get_public_photos(&self, query: &PublicPhotosQuery) -> Result<PhotoPage, Error> {
        require("user_id", query.user_id.as_str())?;
        let params = Params::from_struct(query)?;
        self.client
            .call(
                "flickr.people.getPublicPhotos",
                "photos",
                Verb::Read,
                params,
            )
            .await
    }

    /// Every public photo of a user, page by page.
    pub fn get_public_photos_stream(
        &self,
        query: PublicPhotosQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), query, |client, query| async move {
            client.people().get_public_photos(&query).await
        })
    }
}

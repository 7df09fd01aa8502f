//! `flickr.photosets.*`: albums, their photos, and creating and changing them.
//!
//! `getInfo` and `getPhotos` need the album owner's NSID (Flickr's 2023 reflection marks
//! `user_id` required); when none is given, the connection's own user is used.

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{CreatedPhotoset, Done, PhotoSummary, Photoset, PhotosetPage, PhotosetPhotos};
use super::paging::{Page, into_stream};
use super::{Error, FlickrClient, Params, PhotoId, PhotosetId, UserId, Verb, require};

/// The largest page of albums and of an album's photos.
pub const MAX_PHOTOSET_PAGE: u32 = 500;

/// Arguments of `flickr.photosets.getList`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PhotosetListQuery {
    /// Whose albums (default: the connection's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Extra fields of each cover photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_photo_extras: Option<Vec<String>>,
    /// Page size (at most 500; without a page Flickr answers every album).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// Arguments of `flickr.photosets.getPhotos`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PhotosetPhotosQuery {
    /// The album.
    pub photoset_id: PhotosetId,
    /// Its owner (default: the connection's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Extra fields per photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Vec<String>>,
    /// 1 public … 5 private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_filter: Option<u8>,
    /// `all`, `photos` or `videos`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Page size (at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// The album methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Photosets<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Photosets<'_> {
    /// `flickr.photosets.getList`: one page of a user's albums, in the user's order.
    pub async fn list(&self, query: &PhotosetListQuery) -> Result<PhotosetPage, Error> {
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.photosets.getList", "photosets", Verb::Read, params)
            .await
    }

    /// Every album of a user, page by page.
    pub fn list_stream(
        &self,
        mut query: PhotosetListQuery,
    ) -> impl Stream<Item = Result<Photoset, Error>> + Send + 'static {
        let client = self.client.clone();
        let first = u64::from(query.page.take().unwrap_or(1));
        query.per_page = Some(query.per_page.unwrap_or(MAX_PHOTOSET_PAGE));
        into_stream(first, move |page| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = u32::try_from(page).ok();
            async move {
                let answer = client.photosets().list(&query).await?;
                Ok(Page {
                    items: answer.photosets,
                    paging: answer.paging,
                })
            }
        })
    }

    /// `flickr.photosets.getInfo`: one album.
    pub async fn get_info(
        &self,
        photoset_id: &PhotosetId,
        user_id: Option<&UserId>,
    ) -> Result<Photoset, Error> {
        require("photoset_id", photoset_id.as_str())?;
        let owner = self.client.owner(user_id).await?;
        let params = Params::new()
            .add("photoset_id", photoset_id)
            .add("user_id", owner);
        self.client
            .call("flickr.photosets.getInfo", "photoset", Verb::Read, params)
            .await
    }

    /// `flickr.photosets.getPhotos`: one page of an album's photos.
    pub async fn get_photos(&self, query: &PhotosetPhotosQuery) -> Result<PhotosetPhotos, Error> {
        require("photoset_id", query.photoset_id.as_str())?;
        let mut query = query.clone();
        query.user_id = Some(self.client.owner(query.user_id.as_ref()).await?);
        let params = Params::from_struct(&query)?;
        self.client
            .call("flickr.photosets.getPhotos", "photoset", Verb::Read, params)
            .await
    }

    /// Every photo of an album, page by page.
    pub fn get_photos_stream(
        &self,
        mut query: PhotosetPhotosQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        let client = self.client.clone();
        let first = u64::from(query.page.take().unwrap_or(1));
        query.per_page = Some(query.per_page.unwrap_or(MAX_PHOTOSET_PAGE));
        into_stream(first, move |page| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = u32::try_from(page).ok();
            async move {
                let answer = client.photosets().get_photos(&query).await?;
                Ok(Page {
                    items: answer.photos,
                    paging: answer.paging,
                })
            }
        })
    }

    /// `flickr.photosets.create` (write): a new album with `primary_photo_id` as its cover
    /// (Flickr has no empty albums).
    pub async fn create(
        &self,
        title: &str,
        description: Option<&str>,
        primary_photo_id: &PhotoId,
    ) -> Result<CreatedPhotoset, Error> {
        require("title", title)?;
        require("primary_photo_id", primary_photo_id.as_str())?;
        let params = Params::new()
            .add("title", title)
            .opt("description", description)
            .add("primary_photo_id", primary_photo_id);
        self.client
            .call(
                "flickr.photosets.create",
                "photoset",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.photosets.editMeta` (write): the album's title (required) and description.
    pub async fn edit_meta(
        &self,
        photoset_id: &PhotosetId,
        title: &str,
        description: Option<&str>,
    ) -> Result<Done, Error> {
        require("photoset_id", photoset_id.as_str())?;
        require("title", title)?;
        let params = Params::new()
            .add("photoset_id", photoset_id)
            .add("title", title)
            .opt("description", description);
        self.client
            .call_empty(
                "flickr.photosets.editMeta",
                Verb::Write { idempotent: true },
                params,
            )
            .await
    }

    /// `flickr.photosets.addPhoto` (write): appends a photo (error 3 if it is there already).
    pub async fn add_photo(
        &self,
        photoset_id: &PhotosetId,
        photo_id: &PhotoId,
    ) -> Result<Done, Error> {
        require("photoset_id", photoset_id.as_str())?;
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("photoset_id", photoset_id)
            .add("photo_id", photo_id);
        self.client
            .call_empty(
                "flickr.photosets.addPhoto",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.photosets.removePhoto` (write).
    pub async fn remove_photo(
        &self,
        photoset_id: &PhotosetId,
        photo_id: &PhotoId,
    ) -> Result<Done, Error> {
        require("photoset_id", photoset_id.as_str())?;
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("photoset_id", photoset_id)
            .add("photo_id", photo_id);
        self.client
            .call_empty(
                "flickr.photosets.removePhoto",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.photosets.delete` (write): deletes the album, not its photos.
    pub async fn delete(&self, photoset_id: &PhotosetId) -> Result<Done, Error> {
        require("photoset_id", photoset_id.as_str())?;
        let params = Params::new().add("photoset_id", photoset_id);
        self.client
            .call_empty(
                "flickr.photosets.delete",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }
}

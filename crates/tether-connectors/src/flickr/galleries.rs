//! `flickr.galleries.*`: galleries (curated sets of other members' photos), their photos,
//! creating one and adding to it.
//!
//! `getList` pages with a continuation token: the first call sends `continuation=0`, the next
//! ones the `continuation` of the previous answer. Flickr's reflection also marks `short_limit`
//! required; its documented default (2) is sent when none is given.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{CreatedGallery, Done, Gallery, GalleryPage, PhotoPage};
use super::{Error, FlickrClient, GalleryId, Params, PhotoId, UserId, Verb, require};

/// Arguments of `flickr.galleries.getList`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct GalleryListQuery {
    /// Whose galleries (default: the connection's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Extra fields of each cover photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_photo_extras: Option<Vec<String>>,
    /// Continuation token from the previous answer (`0`, the default, for the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<String>,
    /// Cover photos to fetch besides the primary one (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_limit: Option<u32>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// Arguments of `flickr.galleries.getPhotos`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GalleryPhotosQuery {
    /// The gallery.
    pub gallery_id: GalleryId,
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

/// The gallery methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Galleries<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Galleries<'_> {
    /// `flickr.galleries.getList`: one page of a user's galleries.
    pub async fn list(&self, query: &GalleryListQuery) -> Result<GalleryPage, Error> {
        let mut query = query.clone();
        query.user_id = Some(self.client.owner(query.user_id.as_ref()).await?);
        query.continuation.get_or_insert_with(|| "0".to_owned());
        query.short_limit.get_or_insert(2);
        let params = Params::from_struct(&query)?;
        self.client
            .call("flickr.galleries.getList", "galleries", Verb::Read, params)
            .await
    }

    /// `flickr.galleries.getInfo`: one gallery.
    pub async fn get_info(&self, gallery_id: &GalleryId) -> Result<Gallery, Error> {
        require("gallery_id", gallery_id.as_str())?;
        let params = Params::new().add("gallery_id", gallery_id);
        self.client
            .call("flickr.galleries.getInfo", "gallery", Verb::Read, params)
            .await
    }

    /// `flickr.galleries.getPhotos`: one page of a gallery's photos.
    pub async fn get_photos(&self, query: &GalleryPhotosQuery) -> Result<PhotoPage, Error> {
        require("gallery_id", query.gallery_id.as_str())?;
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.galleries.getPhotos", "photos", Verb::Read, params)
            .await
    }

    /// `flickr.galleries.create` (write): a new gallery, optionally with a first photo.
    pub async fn create(
        &self,
        title: &str,
        description: &str,
        primary_photo_id: Option<&PhotoId>,
    ) -> Result<CreatedGallery, Error> {
        require("title", title)?;
        let params = Params::new()
            .add("title", title)
            .add("description", description)
            .opt("primary_photo_id", primary_photo_id);
        self.client
            .call(
                "flickr.galleries.create",
                "gallery",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.galleries.addPhoto` (write): adds someone else's public photo, with an optional
    /// comment.
    pub async fn add_photo(
        &self,
        gallery_id: &GalleryId,
        photo_id: &PhotoId,
        comment: Option<&str>,
    ) -> Result<Done, Error> {
        require("gallery_id", gallery_id.as_str())?;
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("gallery_id", gallery_id)
            .add("photo_id", photo_id)
            .opt("comment", comment);
        self.client
            .call_empty(
                "flickr.galleries.addPhoto",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }
}

//! `flickr.photos.*` (search, one photo, recent and recently updated photos, title, description,
//! tags, delete) and `flickr.tags.getListPhoto`.

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{Done, PhotoInfo, PhotoPage, PhotoSummary, PhotoTags};
use super::paging::{Page, into_stream};
use super::people::MAX_PHOTO_PAGE;
use super::{Error, FlickrClient, Params, PhotoId, TagId, UserId, Verb, require, tag_text};

/// Arguments of `flickr.photos.search` (every one optional, but Flickr refuses a search with no
/// filter at all: error 3).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PhotoSearch {
    /// Whose photos (`me` for the connection's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Tags, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// `any` (the default) or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_mode: Option<String>,
    /// Free text in title, description or tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Uploaded at or after (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_upload_date: Option<i64>,
    /// Uploaded at or before (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_date: Option<i64>,
    /// Taken at or after (MySQL datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_taken_date: Option<String>,
    /// Taken at or before (MySQL datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_taken_date: Option<String>,
    /// Licence ids, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// `date-posted-asc`, `date-posted-desc` (default), `date-taken-asc`, `date-taken-desc`,
    /// `interestingness-desc`, `interestingness-asc`, `relevance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// 1 public … 5 private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_filter: Option<u8>,
    /// 1 safe, 2 moderate, 3 restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_search: Option<u8>,
    /// 1 photos, 2 screenshots, 3 other, 4–7 combinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<u8>,
    /// Machine tags, comma-separated (`ghl:contact=abc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_tags: Option<String>,
    /// `any` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_tag_mode: Option<String>,
    /// Photos in this group's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `all` or `ff`: photos of the user's contacts (with `user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<String>,
    /// `all`, `photos` or `videos`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Only geotagged photos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_geo: Option<bool>,
    /// A bounding box: `min_lon,min_lat,max_lon,max_lat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<String>,
    /// Latitude of a radial search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude of a radial search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Radius of a radial search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
    /// `km` (default) or `mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_units: Option<String>,
    /// Only photos in a gallery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_gallery: Option<bool>,
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

/// Arguments of `flickr.photos.getRecent`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RecentQuery {
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

/// Arguments of `flickr.photos.recentlyUpdated`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RecentlyUpdatedQuery {
    /// Changed at or after (Unix seconds).
    pub min_date: i64,
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

/// The photo methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Photos<'a> {
    pub(crate) client: &'a FlickrClient,
}

/// A query of a photo list method, paged by `page` and `per_page`.
pub(crate) trait PhotoQuery: Clone + Send + Sync + 'static {
    /// The page asked for (from 1).
    fn page_mut(&mut self) -> &mut Option<u32>;
    /// The page size.
    fn per_page_mut(&mut self) -> &mut Option<u32>;
}

macro_rules! photo_queries {
    ($($query:ty),* $(,)?) => {$(
        impl crate::flickr::photos::PhotoQuery for $query {
            fn page_mut(&mut self) -> &mut Option<u32> {
                &mut self.page
            }
            fn per_page_mut(&mut self) -> &mut Option<u32> {
                &mut self.per_page
            }
        }
    )*};
}
pub(crate) use photo_queries;

photo_queries!(PhotoSearch, RecentQuery, RecentlyUpdatedQuery);

/// A stream over a photo list method, page by page from `query`'s page (or 1), 500 photos at a
/// time unless its `per_page` says otherwise: `fetch` answers one page for a query with its
/// page set.
pub(crate) fn photo_stream<Q, F, Fut>(
    client: FlickrClient,
    mut query: Q,
    fetch: F,
) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static
where
    Q: PhotoQuery,
    F: Fn(FlickrClient, Q) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<PhotoPage, Error>> + Send + 'static,
{
    let first = query.page_mut().take().unwrap_or(1);
    let per_page = query.per_page_mut();
    *per_page = Some(per_page.unwrap_or(MAX_PHOTO_PAGE));
    into_stream(u64::from(first.max(1)), move |page| {
        let fetch = fetch.clone();
        let mut query = query.clone();
        *query.page_mut() = Some(u32::try_from(page).unwrap_or(u32::MAX));
        let answer = fetch(client.clone(), query);
        async move {
            let answer = answer.await?;
            Ok(Page {
                items: answer.photos,
                paging: answer.paging,
            })
        }
    })
}

impl Photos<'_> {
    /// `flickr.photos.search`: one page.
    pub async fn search(&self, search: &PhotoSearch) -> Result<PhotoPage, Error> {
        let params = Params::from_struct(search)?;
        self.client
            .call("flickr.photos.search", "photos", Verb::Read, params)
            .await
    }

    /// Every photo a search matches, page by page (Flickr stops at the 4,000th: narrow the
    /// upload dates to go further).
    pub fn search_stream(
        &self,
        search: PhotoSearch,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), search, |client, search| async move {
            client.photos().search(&search).await
        })
    }

    /// `flickr.photos.getInfo`: one photo in full; `secret` skips the permission check.
    pub async fn get_info(
        &self,
        photo_id: &PhotoId,
        secret: Option<&str>,
    ) -> Result<PhotoInfo, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("photo_id", photo_id)
            .opt("secret", secret);
        self.client
            .call("flickr.photos.getInfo", "photo", Verb::Read, params)
            .await
    }

    /// `flickr.photos.getRecent`: one page of the latest public photos site-wide.
    pub async fn get_recent(&self, query: &RecentQuery) -> Result<PhotoPage, Error> {
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.photos.getRecent", "photos", Verb::Read, params)
            .await
    }

    /// Every recent public photo, page by page.
    pub fn get_recent_stream(
        &self,
        query: RecentQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), query, |client, query| async move {
            client.photos().get_recent(&query).await
        })
    }

    /// `flickr.photos.recentlyUpdated` (read): one page of the connection's photos changed
    /// since `min_date` (metadata, tags, comments …), most recent first.
    pub async fn recently_updated(&self, query: &RecentlyUpdatedQuery) -> Result<PhotoPage, Error> {
        let params = Params::from_struct(query)?;
        self.client
            .call(
                "flickr.photos.recentlyUpdated",
                "photos",
                Verb::Read,
                params,
            )
            .await
    }

    /// Every photo changed since `query.min_date`, page by page.
    pub fn recently_updated_stream(
        &self,
        query: RecentlyUpdatedQuery,
    ) -> impl Stream<Item = Result<PhotoSummary, Error>> + Send + 'static {
        photo_stream(self.client.clone(), query, |client, query| async move {
            client.photos().recently_updated(&query).await
        })
    }

    /// `flickr.photos.setMeta` (write): sets the title and/or the description (at least one).
    pub async fn set_meta(
        &self,
        photo_id: &PhotoId,
        title: Option<&str>,
        description: Option<&str>,
    ) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        if title.is_none() && description.is_none() {
            return Err(Error::input("title", "give a title, a description or both"));
        }
        let params = Params::new()
            .add("photo_id", photo_id)
            .opt("title", title)
            .opt("description", description);
        self.client
            .call_empty(
                "flickr.photos.setMeta",
                Verb::Write { idempotent: true },
                params,
            )
            .await
    }

    /// `flickr.photos.setTags` (write): replaces every tag of the photo; safe to repeat.
    pub async fn set_tags(&self, photo_id: &PhotoId, tags: &[String]) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("photo_id", photo_id)
            .add("tags", tag_text(tags)?);
        self.client
            .call_empty(
                "flickr.photos.setTags",
                Verb::Write { idempotent: true },
                params,
            )
            .await
    }

    /// `flickr.photos.addTags` (write): adds tags (all or none, if the limit would be passed).
    /// Adding a tag the photo has changes nothing, so it is safe to repeat.
    pub async fn add_tags(&self, photo_id: &PhotoId, tags: &[String]) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        let text = tag_text(tags)?;
        if text.is_empty() {
            return Err(Error::input("tags", "must name at least one tag"));
        }
        let params = Params::new().add("photo_id", photo_id).add("tags", text);
        self.client
            .call_empty(
                "flickr.photos.addTags",
                Verb::Write { idempotent: true },
                params,
            )
            .await
    }

    /// `flickr.photos.removeTag` (write): removes one tag by its id (from `getInfo` or
    /// `tags.getListPhoto`, not the tag's text).
    pub async fn remove_tag(&self, tag_id: &TagId) -> Result<Done, Error> {
        require("tag_id", tag_id.as_str())?;
        let params = Params::new().add("tag_id", tag_id);
        self.client
            .call_empty(
                "flickr.photos.removeTag",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.photos.delete` (delete permission): deletes a photo.
    pub async fn delete(&self, photo_id: &PhotoId) -> Result<Done, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new().add("photo_id", photo_id);
        self.client
            .call_empty(
                "flickr.photos.delete",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.tags.getListPhoto`: the tags of a photo, with their ids.
    pub async fn tags(&self, photo_id: &PhotoId) -> Result<PhotoTags, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new().add("photo_id", photo_id);
        self.client
            .call("flickr.tags.getListPhoto", "photo", Verb::Read, params)
            .await
    }
}

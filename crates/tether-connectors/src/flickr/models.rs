//! Flickr's wire types, read leniently and written plainly.
//!
//! Flickr's JSON is a mechanical translation of its XML (reference README §3): attributes become
//! strings or numbers (the same attribute may be either), element text becomes `{"_content": …}`,
//! and flags are `0`/`1`. Every field here is read through [`lenient`], which accepts each of
//! those spellings, and is written in one plain form: text as strings, counts and Unix times as
//! numbers, flags as booleans, `_content` unwrapped. Lists keep Flickr's field names but in the
//! plural (`photos`, `contacts`), as outputs of the catalog.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CommentId, GalleryId, PhotoId, PhotosetId, TagId, UserId};

/// Deserializers that accept each spelling Flickr uses for a scalar.
pub mod lenient {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// Text from a string, a number, a boolean or `{"_content": …}`; `null` is empty.
    fn text_of(value: Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(if flag { "1" } else { "0" }.to_owned()),
            Value::Object(mut map) => map.remove("_content").and_then(text_of),
            Value::Null | Value::Array(_) => None,
        }
    }

    /// A string (see the module docs); missing or `null` is empty.
    pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Ok(text_of(Value::deserialize(deserializer)?).unwrap_or_default())
    }

    /// An optional string; `null` and `""` are `None`.
    pub fn opt_string<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(text_of(Value::deserialize(deserializer)?).filter(|text| !text.is_empty()))
    }

    /// An id newtype from a string or a number.
    pub fn id<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: for<'a> From<&'a str>,
    {
        let text = text_of(Value::deserialize(deserializer)?)
            .ok_or_else(|| D::Error::custom("expected an id"))?;
        Ok(T::from(text.as_str()))
    }

    /// An optional id newtype; `null` and `""` are `None`.
    pub fn opt_id<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: for<'a> From<&'a str>,
    {
        Ok(text_of(Value::deserialize(deserializer)?)
            .filter(|text| !text.is_empty())
            .map(|text| T::from(text.as_str())))
    }

    fn integer_of<E: serde::de::Error>(value: Value) -> Result<Option<i64>, E> {
        match text_of(value) {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| E::custom(format!("expected an integer, got {text:?}"))),
        }
    }

    /// An integer from a number or a numeric string; missing, `null` or `""` is 0.
    pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        Ok(integer_of::<D::Error>(Value::deserialize(deserializer)?)?.unwrap_or(0))
    }

    /// An optional integer from a number or a numeric string.
    pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        integer_of::<D::Error>(Value::deserialize(deserializer)?)
    }

    /// A count (non-negative) from a number or a numeric string; missing or empty is 0.
    pub fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let number = integer_of::<D::Error>(Value::deserialize(deserializer)?)?.unwrap_or(0);
        u64::try_from(number).map_err(|_| D::Error::custom(format!("negative count {number}")))
    }

    /// A flag from `0`/`1` (number or string) or a boolean; missing is `false`.
    pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Bool(flag) => Ok(flag),
            Value::Null => Ok(false),
            other => match text_of(other).as_deref().map(str::trim) {
                Some("1" | "true") => Ok(true),
                Some("0" | "false" | "") | None => Ok(false),
                Some(other) => Err(D::Error::custom(format!("expected 0 or 1, got {other:?}"))),
            },
        }
    }

    /// A list that may arrive as an array, as one object (a lone XML child), or not at all.
    pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        let items = match Value::deserialize(deserializer)? {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            one => vec![one],
        };
        items
            .into_iter()
            .enumerate()
            .map(|(idx, item)| {
                serde_json::from_value(item)
                    .map_err(|error| D::Error::custom(format!("[{idx}]: {error}")))
            })
            .collect()
    }

    /// A list wrapped in its element's name, as `{"tag": [...]}` in `tags`.
    pub fn wrapped_list<'de, D, T>(deserializer: D, element: &str) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        match Value::deserialize(deserializer)? {
            Value::Object(mut map) => {
                let inner = map.remove(element).unwrap_or(Value::Null);
                list(inner).map_err(|error: serde_json::Error| D::Error::custom(error.to_string()))
            }
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => list(Value::Array(items))
                .map_err(|error: serde_json::Error| D::Error::custom(error.to_string())),
            other => Err(D::Error::custom(format!(
                "expected an object with `{element}`, got {other}"
            ))),
        }
    }
}

/// `tags: {"tag": [...]}`.
fn tag_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PhotoTag>, D::Error> {
    lenient::wrapped_list(deserializer, "tag")
}

/// `urls: {"url": [...]}`.
fn url_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PhotoUrl>, D::Error> {
    lenient::wrapped_list(deserializer, "url")
}

/// Success with no payload (`{"stat":"ok"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Done {}

/// A user, as `flickr.test.login`, `people.findByEmail`, `people.findByUsername` and
/// `urls.lookupUser` answer (`user.id` or `user.nsid`, and `username._content`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(from = "RawUser")]
pub struct User {
    /// The NSID (`12037949754@N01`).
    pub id: UserId,
    /// The screen name.
    pub username: String,
    /// Path alias, when the answer has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_alias: Option<String>,
}

/// `user` as Flickr sends it: `id` or `nsid` (or both), and `username` as `_content`.
#[derive(Debug, Deserialize, JsonSchema)]
struct RawUser {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    nsid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    username: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    path_alias: Option<String>,
}

impl From<RawUser> for User {
    fn from(raw: RawUser) -> Self {
        User {
            id: UserId::new(raw.nsid.or(raw.id).unwrap_or_default()),
            username: raw.username,
            path_alias: raw.path_alias,
        }
    }
}

/// What `flickr.auth.oauth.checkToken` says about the connection's token (the token itself is
/// left out: outputs are journaled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenInfo {
    /// `read`, `write` or `delete`.
    #[serde(deserialize_with = "lenient::string")]
    pub perms: String,
    /// Whose token it is.
    pub user: TokenUser,
}

/// The owner of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenUser {
    /// The NSID.
    #[serde(deserialize_with = "lenient::id")]
    pub nsid: UserId,
    /// The screen name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub username: String,
    /// The full name (may be empty).
    #[serde(default, deserialize_with = "lenient::string")]
    pub fullname: String,
}

/// A person's profile (`flickr.people.getInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Person {
    /// The NSID.
    #[serde(deserialize_with = "lenient::id")]
    pub nsid: UserId,
    /// Pro account.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub ispro: bool,
    /// Screen name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub username: String,
    /// Real name.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub realname: Option<String>,
    /// Location.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// Profile description.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Path alias (the readable part of profile URLs).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub path_alias: Option<String>,
    /// Photostream URL.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub photosurl: Option<String>,
    /// Profile URL.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub profileurl: Option<String>,
    /// SHA-1 of the `mailto:` address, to match an e-mail without seeing it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub mbox_sha1sum: Option<String>,
    /// Icon server (for the buddy icon URL).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub iconserver: Option<String>,
    /// Icon farm.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub iconfarm: Option<String>,
    /// Photo counts and dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<PersonPhotos>,
}

/// A person's photo statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PersonPhotos {
    /// First upload (Unix seconds).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub firstdate: Option<i64>,
    /// First photo taken (MySQL datetime).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub firstdatetaken: Option<String>,
    /// Number of photos.
    #[serde(default, deserialize_with = "lenient::count")]
    pub count: u64,
}

/// One photo of a list (search, photostream, album, favorites, gallery), with the `extras` asked
/// for; extras without a field of their own (`url_*`, sizes, geo) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoSummary {
    /// The photo.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotoId,
    /// Its owner (absent from album lists, whose owner is the album's).
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<UserId>,
    /// Secret for image URLs.
    #[serde(default, deserialize_with = "lenient::string")]
    pub secret: String,
    /// Image server.
    #[serde(default, deserialize_with = "lenient::string")]
    pub server: String,
    /// Image farm.
    #[serde(default, deserialize_with = "lenient::string")]
    pub farm: String,
    /// Title.
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    /// Public.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub ispublic: bool,
    /// Visible to friends.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub isfriend: bool,
    /// Visible to family.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub isfamily: bool,
    /// Upload time, Unix seconds (extra `date_upload`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub dateupload: Option<i64>,
    /// Last change of the photo or its metadata, Unix seconds (extra `last_update`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub lastupdate: Option<i64>,
    /// When it was taken, MySQL datetime (extra `date_taken`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub datetaken: Option<String>,
    /// Owner's screen name (extra `owner_name`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub ownername: Option<String>,
    /// Description (extra `description`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Space-separated normalized tags (extra `tags`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<String>,
    /// Space-separated machine tags (extra `machine_tags`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub machine_tags: Option<String>,
    /// Views (extra `views`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub views: Option<i64>,
    /// `photo` or `video` (extra `media`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub media: Option<String>,
    /// Every other attribute, as Flickr sent it.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Paging attributes of a list answer. Flickr spells the page size `perpage` in most lists and
/// `per_page` in some (galleries); both are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Paging {
    /// This page (from 1).
    #[serde(default, deserialize_with = "lenient::count")]
    pub page: u64,
    /// Number of pages.
    #[serde(default, deserialize_with = "lenient::count")]
    pub pages: u64,
    /// Page size.
    #[serde(default, deserialize_with = "lenient::count")]
    pub perpage: u64,
    /// Page size, other spelling.
    #[serde(default, deserialize_with = "lenient::count", skip_serializing)]
    pub per_page: u64,
    /// Records in all pages.
    #[serde(default, deserialize_with = "lenient::count")]
    pub total: u64,
}

impl Paging {
    /// Whether a page after this one exists.
    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }
}

/// A page of photos (`photos.*` lists, `people.getPhotos`, favorites, galleries' photos).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The photos.
    #[serde(
        default,
        rename(serialize = "photos", deserialize = "photo"),
        deserialize_with = "lenient::list"
    )]
    pub photos: Vec<PhotoSummary>,
}

/// One photo in full (`flickr.photos.getInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoInfo {
    /// The photo.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotoId,
    /// Secret for image URLs.
    #[serde(default, deserialize_with = "lenient::string")]
    pub secret: String,
    /// Image server.
    #[serde(default, deserialize_with = "lenient::string")]
    pub server: String,
    /// Image farm.
    #[serde(default, deserialize_with = "lenient::string")]
    pub farm: String,
    /// Upload time, Unix seconds.
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub dateuploaded: Option<i64>,
    /// A favorite of the caller.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub isfavorite: bool,
    /// Licence id.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub license: Option<String>,
    /// Views.
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub views: Option<i64>,
    /// `photo` or `video`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub media: Option<String>,
    /// The owner.
    pub owner: PhotoOwner,
    /// Title.
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    /// Description (limited HTML).
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
    /// Who may see it.
    #[serde(default)]
    pub visibility: Visibility,
    /// Its dates.
    #[serde(default)]
    pub dates: PhotoDates,
    /// Number of comments.
    #[serde(default, deserialize_with = "lenient::count")]
    pub comments: u64,
    /// Its tags.
    #[serde(default, deserialize_with = "tag_list")]
    pub tags: Vec<PhotoTag>,
    /// Its pages (`photopage`).
    #[serde(default, deserialize_with = "url_list")]
    pub urls: Vec<PhotoUrl>,
}

/// The owner of a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoOwner {
    /// The NSID.
    #[serde(deserialize_with = "lenient::id")]
    pub nsid: UserId,
    /// Screen name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub username: String,
    /// Real name.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub realname: Option<String>,
    /// Location.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// Path alias.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub path_alias: Option<String>,
}

/// Who may see a photo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Visibility {
    /// Public.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub ispublic: bool,
    /// Friends.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub isfriend: bool,
    /// Family.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub isfamily: bool,
}

/// A photo's dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoDates {
    /// Posted (uploaded), Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub posted: i64,
    /// Taken, MySQL datetime.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub taken: Option<String>,
    /// Last change of the photo or its metadata, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub lastupdate: i64,
}

/// A tag of a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoTag {
    /// The tag's id on this photo (what `flickr.photos.removeTag` takes).
    #[serde(deserialize_with = "lenient::id")]
    pub id: TagId,
    /// Who added it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub author: Option<UserId>,
    /// As typed (`woo yay`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub raw: String,
    /// Normalized (`wooyay`).
    #[serde(
        default,
        rename(serialize = "tag", deserialize = "_content"),
        deserialize_with = "lenient::string"
    )]
    pub tag: String,
    /// A machine tag (`namespace:predicate=value`).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub machine_tag: bool,
}

/// A URL of a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoUrl {
    /// `photopage`.
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: String,
    /// The URL.
    #[serde(
        default,
        rename(serialize = "url", deserialize = "_content"),
        deserialize_with = "lenient::string"
    )]
    pub url: String,
}

/// The tags of one photo (`flickr.tags.getListPhoto`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotoTags {
    /// The photo.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotoId,
    /// Its tags.
    #[serde(default, deserialize_with = "tag_list")]
    pub tags: Vec<PhotoTag>,
}

/// A comment on a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    /// The comment.
    #[serde(deserialize_with = "lenient::id")]
    pub id: CommentId,
    /// Its author.
    #[serde(deserialize_with = "lenient::id")]
    pub author: UserId,
    /// Author's screen name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub authorname: String,
    /// Author's real name.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub realname: Option<String>,
    /// Written at, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub datecreate: i64,
    /// Its address.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub permalink: Option<String>,
    /// The text.
    #[serde(
        default,
        rename(serialize = "text", deserialize = "_content"),
        deserialize_with = "lenient::string"
    )]
    pub text: String,
}

/// The comments of a photo (`flickr.photos.comments.getList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommentList {
    /// The photo.
    #[serde(deserialize_with = "lenient::id")]
    pub photo_id: PhotoId,
    /// Its comments, oldest first.
    #[serde(
        default,
        rename(serialize = "comments", deserialize = "comment"),
        deserialize_with = "lenient::list"
    )]
    pub comments: Vec<Comment>,
}

/// A new comment's id (`flickr.photos.comments.addComment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedComment {
    /// The comment.
    #[serde(deserialize_with = "lenient::id")]
    pub id: CommentId,
}

/// An album.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Photoset {
    /// The album.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotosetId,
    /// Its owner (in `getInfo`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<UserId>,
    /// The cover photo.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary: Option<PhotoId>,
    /// Number of photos.
    #[serde(default, deserialize_with = "lenient::count")]
    pub photos: u64,
    /// Number of videos.
    #[serde(default, deserialize_with = "lenient::count")]
    pub videos: u64,
    /// Views.
    #[serde(default, deserialize_with = "lenient::count")]
    pub count_views: u64,
    /// Comments.
    #[serde(default, deserialize_with = "lenient::count")]
    pub count_comments: u64,
    /// Created, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub date_create: i64,
    /// Last changed, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub date_update: i64,
    /// Title.
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
}

/// A page of albums (`flickr.photosets.getList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhotosetPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The albums.
    #[serde(
        default,
        rename(serialize = "photosets", deserialize = "photoset"),
        deserialize_with = "lenient::list"
    )]
    pub photosets: Vec<Photoset>,
}

/// A page of an album's photos (`flickr.photosets.getPhotos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhotosetPhotos {
    /// The album.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotosetId,
    /// Its owner.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<UserId>,
    /// The cover photo.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary: Option<PhotoId>,
    /// Its title (live answers carry it).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The photos, in the album's order.
    #[serde(
        default,
        rename(serialize = "photos", deserialize = "photo"),
        deserialize_with = "lenient::list"
    )]
    pub photos: Vec<PhotoSummary>,
}

/// A new album (`flickr.photosets.create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedPhotoset {
    /// The album.
    #[serde(deserialize_with = "lenient::id")]
    pub id: PhotosetId,
    /// Its address.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
}

/// A contact of the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    /// The contact's NSID.
    #[serde(deserialize_with = "lenient::id")]
    pub nsid: UserId,
    /// Screen name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub username: String,
    /// Real name.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub realname: Option<String>,
    /// Marked a friend.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub friend: bool,
    /// Marked family.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub family: bool,
    /// Ignored by the user.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub ignored: bool,
    /// Path alias.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub path_alias: Option<String>,
    /// Location.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// Icon server.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub iconserver: Option<String>,
    /// Icon farm.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub iconfarm: Option<String>,
}

/// A page of contacts (`flickr.contacts.getList`, `getPublicList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContactPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The contacts.
    #[serde(
        default,
        rename(serialize = "contacts", deserialize = "contact"),
        deserialize_with = "lenient::list"
    )]
    pub contacts: Vec<Contact>,
}

/// A gallery (a curated set of other people's photos).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Gallery {
    /// The gallery.
    #[serde(deserialize_with = "lenient::id")]
    pub id: GalleryId,
    /// Its address.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// Its owner.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<UserId>,
    /// The cover photo.
    #[serde(
        default,
        deserialize_with = "lenient::opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_photo_id: Option<PhotoId>,
    /// Created, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub date_create: i64,
    /// Last changed, Unix seconds.
    #[serde(default, deserialize_with = "lenient::int")]
    pub date_update: i64,
    /// Number of photos.
    #[serde(default, deserialize_with = "lenient::count")]
    pub count_photos: u64,
    /// Number of videos.
    #[serde(default, deserialize_with = "lenient::count")]
    pub count_videos: u64,
    /// Title.
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
}

/// A page of galleries (`flickr.galleries.getList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GalleryPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The token of the next page (pass it back as `continuation`), when Flickr answers one.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub continuation: Option<String>,
    /// The galleries.
    #[serde(
        default,
        rename(serialize = "galleries", deserialize = "gallery"),
        deserialize_with = "lenient::list"
    )]
    pub galleries: Vec<Gallery>,
}

/// A new gallery (`flickr.galleries.create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedGallery {
    /// The gallery.
    #[serde(deserialize_with = "lenient::id")]
    pub id: GalleryId,
    /// Its address.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
}

/// A user's page address (`flickr.urls.getUserProfile`, `getUserPhotos`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserUrl {
    /// The user.
    #[serde(deserialize_with = "lenient::id")]
    pub nsid: UserId,
    /// The address.
    #[serde(deserialize_with = "lenient::string")]
    pub url: String,
}

/// What an upload answers: the new photo, or with `async=1` a ticket to check later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Uploaded {
    /// The new photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_id: Option<PhotoId>,
    /// The ticket of an asynchronous upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
}

/// What a replace answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Replaced {
    /// The photo (its id does not change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_id: Option<PhotoId>,
    /// Its new secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Its new original secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_secret: Option<String>,
    /// The ticket of an asynchronous replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn scalars_are_read_in_every_spelling() {
        // flickrex's recorded fixture mixes numbers and strings in one object.
        let page: PhotoPage = decode(json!({
            "page": 1, "pages": 635, "perpage": 2, "total": "1270",
            "photo": [{"id": "1", "owner": "u@N01", "secret": "s", "server": "200", "farm": 1,
                       "title": "t", "ispublic": 1, "isfriend": "0", "isfamily": 0,
                       "dateupload": "1100897479", "url_m": "https://x/y.jpg"}]
        }));
        assert_eq!(page.paging.total, 1270);
        assert_eq!(page.paging.pages, 635);
        let photo = &page.photos[0];
        assert_eq!(photo.farm, "1");
        assert!(photo.ispublic && !photo.isfriend);
        assert_eq!(photo.dateupload, Some(1_100_897_479));
        assert_eq!(photo.extra.get("url_m"), Some(&json!("https://x/y.jpg")));
        let written = serde_json::to_value(&page).unwrap();
        assert_eq!(written["photos"][0]["ispublic"], json!(true));
        assert_eq!(written["total"], json!(1270));
    }

    #[test]
    fn content_wrappers_are_unwrapped() {
        let info: PhotoInfo = decode(json!({
            "id": "2733", "secret": "123456", "server": "12", "isfavorite": 0,
            "owner": {"nsid": "12037949754@N01", "username": "Bees", "realname": "Cal Henderson"},
            "title": {"_content": "orford_castle_taster"},
            "description": {"_content": "hello!"},
            "visibility": {"ispublic": 1, "isfriend": 0, "isfamily": 0},
            "dates": {"posted": "1100897479", "taken": "2004-11-19 12:51:19", "lastupdate": "1093022469"},
            "comments": {"_content": 1},
            "tags": {"tag": [{"id": "1234", "author": "12037949754@N01", "raw": "woo yay", "_content": "wooyay"}]},
            "urls": {"url": {"type": "photopage", "_content": "http://www.flickr.com/photos/bees/2733/"}}
        }));
        assert_eq!(info.title, "orford_castle_taster");
        assert_eq!(info.comments, 1);
        assert_eq!(info.dates.lastupdate, 1_093_022_469);
        assert_eq!(info.tags[0].tag, "wooyay");
        assert_eq!(info.tags[0].raw, "woo yay");
        assert_eq!(info.urls[0].kind, "photopage");
        let written = serde_json::to_value(&info).unwrap();
        assert_eq!(written["tags"][0]["tag"], "wooyay");
        assert_eq!(
            written["urls"][0]["url"],
            "http://www.flickr.com/photos/bees/2733/"
        );
    }

    #[test]
    fn users_come_with_id_or_nsid() {
        let login: User = decode(json!({"id": "1@N01", "username": {"_content": "Bees"}}));
        assert_eq!(login.id.as_str(), "1@N01");
        assert_eq!(login.username, "Bees");
        let found: User =
            decode(json!({"id": "2@N01", "nsid": "2@N01", "username": {"_content": "Stewart"}}));
        assert_eq!(found.id.as_str(), "2@N01");
    }

    #[test]
    fn empty_lists_and_bad_numbers() {
        let comments: CommentList = decode(json!({"photo_id": "109722179"}));
        assert!(comments.comments.is_empty());
        let bad = serde_json::from_value::<PhotoPage>(json!({"page": "one", "photo": []}));
        assert!(bad.is_err());
        let flag = serde_json::from_value::<Visibility>(json!({"ispublic": "maybe"}));
        assert!(flag.is_err());
    }
}

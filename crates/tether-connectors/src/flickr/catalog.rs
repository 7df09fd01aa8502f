//! The Flickr entries of the catalog: one [`OperationMeta`] per action and polling trigger, with
//! JSON Schemas derived from the typed input and output, and [`invoke`], which runs any of them
//! from JSON.
//!
//! Both come from one table (the `operations!` invocation below), so an entry cannot describe
//! types other than the ones its call takes and returns. Ids are `flickr.<resource>.<verb>` in
//! snake case; each description names the Flickr method it calls, and `scopes` is the Flickr
//! permission it needs (`read`, `write`, `delete`; none for public methods).

use std::collections::BTreeMap;

use crate::input::{self, input_schema, output_schema};
use base64::Engine;
use bytes::Bytes;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_core::catalog::OperationMeta;

use super::contacts::{ContactListQuery, PublicContactsQuery};
use super::favorites::FavoritesQuery;
use super::galleries::{GalleryListQuery, GalleryPhotosQuery};
use super::models::{
    CommentList, ContactPage, CreatedComment, CreatedGallery, CreatedPhotoset, Done, Gallery,
    GalleryPage, Person, PhotoInfo, PhotoPage, PhotoTags, Photoset, PhotosetPage, PhotosetPhotos,
    Replaced, TokenInfo, Uploaded, User, UserUrl,
};
use super::people::{PublicPhotosQuery, UserPhotosQuery};
use super::photos::{PhotoSearch, RecentQuery, RecentlyUpdatedQuery};
use super::photosets::{PhotosetListQuery, PhotosetPhotosQuery};
use super::poll::{self, DEFAULT_LIMIT, PollOutput};
use super::upload::{UploadFile, UploadOptions};
use super::{CommentId, Error, FlickrClient, GalleryId, PhotoId, PhotosetId, TagId, UserId};

const READ: &str = "read";
const WRITE: &str = "write";
const DELETE: &str = "delete";

// ---------------------------------------------------------------------------------------------
// Inputs that exist only for the catalog.

/// No fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// Any parameters, echoed back.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct EchoInput {
    /// The parameters (string values).
    #[serde(flatten)]
    pub params: BTreeMap<String, String>,
}

/// An e-mail address.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EmailInput {
    /// The address.
    pub email: String,
}

/// A screen name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UsernameInput {
    /// The screen name.
    pub username: String,
}

/// A user.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UserRef {
    /// The NSID.
    pub user_id: UserId,
}

/// A user, or the connection's by default.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct OptionalUser {
    /// The NSID (default: the connection's user).
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// An address on Flickr.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UrlInput {
    /// A profile or photostream address.
    pub url: String,
}

/// A photo, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PhotoRef {
    /// The photo.
    pub photo_id: PhotoId,
}

/// A photo, by id, with its secret to skip the permission check.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PhotoInfoInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// Its secret.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A photo's new title and/or description.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SetMetaInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// The title.
    #[serde(default)]
    pub title: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Tags of a photo.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PhotoTagsInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// The tags (multi-word tags are quoted for Flickr).
    pub tags: Vec<String>,
}

/// A tag of a photo, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct TagRef {
    /// The tag's id (from `flickr.photo.get_info` or `flickr.photo.list_tags`).
    pub tag_id: TagId,
}

/// A photo's comments in a date window.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CommentListInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// Written at or after (Unix seconds).
    #[serde(default)]
    pub min_comment_date: Option<i64>,
    /// Written at or before (Unix seconds).
    #[serde(default)]
    pub max_comment_date: Option<i64>,
}

/// A new comment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AddCommentInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// The text.
    pub comment_text: String,
}

/// A comment's new text.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EditCommentInput {
    /// The comment.
    pub comment_id: CommentId,
    /// The text.
    pub comment_text: String,
}

/// A comment, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CommentRef {
    /// The comment.
    pub comment_id: CommentId,
}

/// An album, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PhotosetRef {
    /// The album.
    pub photoset_id: PhotosetId,
    /// Its owner (default: the connection's user).
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// A new album.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CreatePhotosetInput {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The cover photo (Flickr has no empty albums).
    pub primary_photo_id: PhotoId,
}

/// An album's new title and description.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EditPhotosetInput {
    /// The album.
    pub photoset_id: PhotosetId,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A photo of an album.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PhotosetPhotoInput {
    /// The album.
    pub photoset_id: PhotosetId,
    /// The photo.
    pub photo_id: PhotoId,
}

/// A gallery, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GalleryRef {
    /// The gallery.
    pub gallery_id: GalleryId,
}

/// A new gallery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CreateGalleryInput {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// A first photo.
    #[serde(default)]
    pub primary_photo_id: Option<PhotoId>,
}

/// A photo to add to a gallery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GalleryPhotoInput {
    /// The gallery.
    pub gallery_id: GalleryId,
    /// The photo (someone else's, public).
    pub photo_id: PhotoId,
    /// Why it is there.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A photo to upload, its bytes in Base64.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UploadInput {
    /// The file's bytes, standard Base64.
    pub photo_base64: String,
    /// Its file name.
    pub filename: String,
    /// Its media type (`image/jpeg`).
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Public.
    #[serde(default)]
    pub is_public: Option<bool>,
    /// Visible to friends.
    #[serde(default)]
    pub is_friend: Option<bool>,
    /// Visible to family.
    #[serde(default)]
    pub is_family: Option<bool>,
    /// 1 safe, 2 moderate, 3 restricted.
    #[serde(default)]
    pub safety_level: Option<u8>,
    /// 1 photo, 2 screenshot, 3 other.
    #[serde(default)]
    pub content_type: Option<u8>,
    /// 1 shown in global search, 2 hidden.
    #[serde(default)]
    pub hidden: Option<u8>,
    /// Answer with a ticket instead of waiting.
    #[serde(default, rename = "async")]
    pub asynchronous: Option<bool>,
}

/// A photo's new image, its bytes in Base64.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReplaceInput {
    /// The photo.
    pub photo_id: PhotoId,
    /// The file's bytes, standard Base64.
    pub photo_base64: String,
    /// Its file name.
    pub filename: String,
    /// Its media type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Answer with a ticket instead of waiting.
    #[serde(default, rename = "async")]
    pub asynchronous: Option<bool>,
}

/// A poll of a time-ordered trigger.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct PollInput {
    /// The previous poll's cursor, or `null` to start from the beginning.
    #[serde(default)]
    pub cursor: Option<Value>,
    /// Most records to answer.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A poll of a user's new photos, or changed albums.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NewPhotosInput {
    /// The previous poll's cursor, or `null`.
    #[serde(default)]
    pub cursor: Option<Value>,
    /// Most records to answer.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Whose photos or albums (default `me`).
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// A poll of an album's new photos.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct NewPhotosetPhotosInput {
    /// The previous poll's cursor, or `null`.
    #[serde(default)]
    pub cursor: Option<Value>,
    /// Most records to answer.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The album.
    pub photoset_id: PhotosetId,
    /// Its owner (default: the connection's user).
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// A poll of new contacts.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NewContactsInput {
    /// The previous poll's cursor, or `null`.
    #[serde(default)]
    pub cursor: Option<Value>,
    /// Most records to answer.
    #[serde(default)]
    pub limit: Option<usize>,
    /// `friends`, `family`, `both` or `neither`.
    #[serde(default)]
    pub filter: Option<String>,
}

/// Parameters echoed by `flickr.test.echo`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Echoed {
    /// Every parameter Flickr received, by name.
    pub params: BTreeMap<String, String>,
}

fn file(base64_text: &str, filename: &str, mime_type: Option<&str>) -> Result<UploadFile, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text.trim())
        .map_err(|error| Error::input("photo_base64", format!("not standard Base64: {error}")))?;
    Ok(UploadFile {
        bytes: Bytes::from(bytes),
        filename: filename.to_owned(),
        content_type: mime_type.map(str::to_owned),
    })
}

fn perms(list: &[&str]) -> Vec<String> {
    list.iter().map(|perm| (*perm).to_owned()).collect()
}

fn limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).max(1)
}

// ---------------------------------------------------------------------------------------------
// The table

/// Declares every operation once: id, kind, title, description, permission, input and output
/// types and the call. Generates [`operations`] and [`invoke`].
macro_rules! operations {
    ($(
        $id:literal {
            kind: $kind:ident,
            title: $title:literal,
            description: $description:literal,
            perms: [$($perm:expr),*],
            input: $input:ty,
            output: $output:ty,
            call: |$client:ident, $arg:ident| $call:expr $(,)?
        }
    )*) => {
        /// Every Flickr operation of the catalog.
        pub fn operations() -> Vec<OperationMeta> {
            vec![$(
                OperationMeta::$kind($id, $title, $description)
                    .with_scopes(perms(&[$($perm),*]))
                    .with_schemas(input_schema::<$input>(), output_schema::<$output>()),
            )*]
        }

        /// Runs the operation `id` with a JSON `input` (its input schema's shape) and answers its
        /// output as JSON. A field of the wrong type or an unknown field is refused with its JSON
        /// path before anything is sent; an unknown id is [`Error::UnknownOperation`].
        pub async fn invoke(client: &FlickrClient, id: &str, input: Value) -> Result<Value, Error> {
            match id {
                $(
                    $id => {
                        let $arg: $input = decode(input)?;
                        let $client = client;
                        let output: $output = $call.await?;
                        serde_json::to_value(output).map_err(Error::Encode)
                    }
                )*
                _ => Err(Error::UnknownOperation { id: id.to_owned() }),
            }
        }
    };
}

operations! {
    // Diagnostics ------------------------------------------------------------------------------
    "flickr.test.login" {
        kind: action,
        title: "Who am I",
        description: "Confirms the connection's token works and answers its user (flickr.test.login).",
        perms: [READ],
        input: NoFields,
        output: User,
        call: |client, _input| client.test().login(),
    }
    "flickr.test.echo" {
        kind: action,
        title: "Echo parameters",
        description: "Sends parameters and answers what Flickr received (flickr.test.echo); a check of the keys and the signature.",
        perms: [],
        input: EchoInput,
        output: Echoed,
        call: |client, input| async move {
            let params = client.test().echo(&input.params).await?;
            Ok::<_, Error>(Echoed { params })
        },
    }
    "flickr.auth.check_token" {
        kind: action,
        title: "Check token",
        description: "Answers the permission the connection's token grants and whose it is (flickr.auth.oauth.checkToken).",
        perms: [],
        input: NoFields,
        output: TokenInfo,
        call: |client, _input| client.test().check_token(),
    }
    // People -----------------------------------------------------------------------------------
    "flickr.people.find_by_email" {
        kind: action,
        title: "Find user by e-mail",
        description: "Finds the Flickr account that owns an e-mail address (flickr.people.findByEmail); error 1 when there is none.",
        perms: [],
        input: EmailInput,
        output: User,
        call: |client, input| client.people().find_by_email(&input.email),
    }
    "flickr.people.find_by_username" {
        kind: action,
        title: "Find user by screen name",
        description: "Finds a Flickr account by its screen name (flickr.people.findByUsername).",
        perms: [],
        input: UsernameInput,
        output: User,
        call: |client, input| client.people().find_by_username(&input.username),
    }
    "flickr.people.get_info" {
        kind: action,
        title: "Get profile",
        description: "Reads a user's profile: names, location, profile and photostream addresses, photo count (flickr.people.getInfo).",
        perms: [],
        input: UserRef,
        output: Person,
        call: |client, input| client.people().get_info(&input.user_id),
    }
    "flickr.people.get_photos" {
        kind: action,
        title: "List user's photos",
        description: "Lists one page of a user's photostream (`me` for the connection's user), optionally within upload or taken dates (flickr.people.getPhotos).",
        perms: [],
        input: UserPhotosQuery,
        output: PhotoPage,
        call: |client, input| client.people().get_photos(&input),
    }
    "flickr.people.get_public_photos" {
        kind: action,
        title: "List user's public photos",
        description: "Lists one page of a user's public photos (flickr.people.getPublicPhotos).",
        perms: [],
        input: PublicPhotosQuery,
        output: PhotoPage,
        call: |client, input| client.people().get_public_photos(&input),
    }
    // Photos -----------------------------------------------------------------------------------
    "flickr.photo.search" {
        kind: action,
        title: "Search photos",
        description: "Searches photos by user, tags, machine tags, text, dates, privacy and more; answers one page (flickr.photos.search).",
        perms: [],
        input: PhotoSearch,
        output: PhotoPage,
        call: |client, input| client.photos().search(&input),
    }
    "flickr.photo.get_info" {
        kind: action,
        title: "Get photo",
        description: "Reads one photo in full: title, description, tags with their ids, dates, owner, visibility, page address (flickr.photos.getInfo).",
        perms: [],
        input: PhotoInfoInput,
        output: PhotoInfo,
        call: |client, input| client.photos().get_info(&input.photo_id, input.secret.as_deref()),
    }
    "flickr.photo.get_recent" {
        kind: action,
        title: "List recent public photos",
        description: "Lists one page of the latest public photos on Flickr (flickr.photos.getRecent).",
        perms: [],
        input: RecentQuery,
        output: PhotoPage,
        call: |client, input| client.photos().get_recent(&input),
    }
    "flickr.photo.recently_updated" {
        kind: action,
        title: "List recently changed photos",
        description: "Lists one page of the connection's photos changed since a time (flickr.photos.recentlyUpdated).",
        perms: [READ],
        input: RecentlyUpdatedQuery,
        output: PhotoPage,
        call: |client, input| client.photos().recently_updated(&input),
    }
    "flickr.photo.set_meta" {
        kind: action,
        title: "Set photo title and description",
        description: "Sets a photo's title and/or description (flickr.photos.setMeta).",
        perms: [WRITE],
        input: SetMetaInput,
        output: Done,
        call: |client, input| client.photos().set_meta(&input.photo_id, input.title.as_deref(), input.description.as_deref()),
    }
    "flickr.photo.set_tags" {
        kind: action,
        title: "Replace photo tags",
        description: "Replaces every tag of a photo; safe to repeat (flickr.photos.setTags).",
        perms: [WRITE],
        input: PhotoTagsInput,
        output: Done,
        call: |client, input| client.photos().set_tags(&input.photo_id, &input.tags),
    }
    "flickr.photo.add_tags" {
        kind: action,
        title: "Add photo tags",
        description: "Adds tags to a photo, keeping the ones it has (flickr.photos.addTags).",
        perms: [WRITE],
        input: PhotoTagsInput,
        output: Done,
        call: |client, input| client.photos().add_tags(&input.photo_id, &input.tags),
    }
    "flickr.photo.remove_tag" {
        kind: action,
        title: "Remove photo tag",
        description: "Removes one tag from a photo by the tag's id (flickr.photos.removeTag).",
        perms: [WRITE],
        input: TagRef,
        output: Done,
        call: |client, input| client.photos().remove_tag(&input.tag_id),
    }
    "flickr.photo.list_tags" {
        kind: action,
        title: "List photo tags",
        description: "Lists a photo's tags with their ids (flickr.tags.getListPhoto).",
        perms: [],
        input: PhotoRef,
        output: PhotoTags,
        call: |client, input| client.photos().tags(&input.photo_id),
    }
    "flickr.photo.delete" {
        kind: action,
        title: "Delete photo",
        description: "Deletes a photo; needs a token with delete permission (flickr.photos.delete).",
        perms: [DELETE],
        input: PhotoRef,
        output: Done,
        call: |client, input| client.photos().delete(&input.photo_id),
    }
    "flickr.photo.upload" {
        kind: action,
        title: "Upload photo",
        description: "Uploads a photo given in Base64, with title, description, tags and visibility (POST up.flickr.com/services/upload/).",
        perms: [WRITE],
        input: UploadInput,
        output: Uploaded,
        call: |client, input| async move {
            let upload = file(&input.photo_base64, &input.filename, input.mime_type.as_deref())?;
            let options = UploadOptions {
                title: input.title,
                description: input.description,
                tags: input.tags,
                is_public: input.is_public,
                is_friend: input.is_friend,
                is_family: input.is_family,
                safety_level: input.safety_level,
                content_type: input.content_type,
                hidden: input.hidden,
                asynchronous: input.asynchronous,
            };
            client.upload().upload(&upload, &options).await
        },
    }
    "flickr.photo.replace" {
        kind: action,
        title: "Replace photo image",
        description: "Replaces a photo's image, keeping its id, title, tags and comments (POST up.flickr.com/services/replace/).",
        perms: [WRITE],
        input: ReplaceInput,
        output: Replaced,
        call: |client, input| async move {
            let upload = file(&input.photo_base64, &input.filename, input.mime_type.as_deref())?;
            client.upload().replace(&input.photo_id, &upload, input.asynchronous.unwrap_or(false)).await
        },
    }
    // Comments ---------------------------------------------------------------------------------
    "flickr.comment.list" {
        kind: action,
        title: "List photo comments",
        description: "Lists a photo's comments, optionally within dates (flickr.photos.comments.getList).",
        perms: [],
        input: CommentListInput,
        output: CommentList,
        call: |client, input| client.comments().list(&input.photo_id, input.min_comment_date, input.max_comment_date),
    }
    "flickr.comment.add" {
        kind: action,
        title: "Comment on photo",
        description: "Adds a comment to a photo as the connection's user (flickr.photos.comments.addComment).",
        perms: [WRITE],
        input: AddCommentInput,
        output: CreatedComment,
        call: |client, input| client.comments().add(&input.photo_id, &input.comment_text),
    }
    "flickr.comment.edit" {
        kind: action,
        title: "Edit comment",
        description: "Replaces the text of a comment (flickr.photos.comments.editComment).",
        perms: [WRITE],
        input: EditCommentInput,
        output: Done,
        call: |client, input| client.comments().edit(&input.comment_id, &input.comment_text),
    }
    "flickr.comment.delete" {
        kind: action,
        title: "Delete comment",
        description: "Deletes a comment (flickr.photos.comments.deleteComment).",
        perms: [WRITE],
        input: CommentRef,
        output: Done,
        call: |client, input| client.comments().delete(&input.comment_id),
    }
    // Albums -----------------------------------------------------------------------------------
    "flickr.photoset.list" {
        kind: action,
        title: "List albums",
        description: "Lists one page of a user's albums (flickr.photosets.getList).",
        perms: [],
        input: PhotosetListQuery,
        output: PhotosetPage,
        call: |client, input| client.photosets().list(&input),
    }
    "flickr.photoset.get_info" {
        kind: action,
        title: "Get album",
        description: "Reads one album: title, description, counts, dates (flickr.photosets.getInfo).",
        perms: [],
        input: PhotosetRef,
        output: Photoset,
        call: |client, input| client.photosets().get_info(&input.photoset_id, input.user_id.as_ref()),
    }
    "flickr.photoset.get_photos" {
        kind: action,
        title: "List album photos",
        description: "Lists one page of an album's photos, in the album's order (flickr.photosets.getPhotos).",
        perms: [],
        input: PhotosetPhotosQuery,
        output: PhotosetPhotos,
        call: |client, input| client.photosets().get_photos(&input),
    }
    "flickr.photoset.create" {
        kind: action,
        title: "Create album",
        description: "Creates an album with a cover photo (flickr.photosets.create).",
        perms: [WRITE],
        input: CreatePhotosetInput,
        output: CreatedPhotoset,
        call: |client, input| client.photosets().create(&input.title, input.description.as_deref(), &input.primary_photo_id),
    }
    "flickr.photoset.edit_meta" {
        kind: action,
        title: "Rename album",
        description: "Sets an album's title and description (flickr.photosets.editMeta).",
        perms: [WRITE],
        input: EditPhotosetInput,
        output: Done,
        call: |client, input| client.photosets().edit_meta(&input.photoset_id, &input.title, input.description.as_deref()),
    }
    "flickr.photoset.add_photo" {
        kind: action,
        title: "Add photo to album",
        description: "Adds a photo to an album (flickr.photosets.addPhoto); error 3 if it is there already.",
        perms: [WRITE],
        input: PhotosetPhotoInput,
        output: Done,
        call: |client, input| client.photosets().add_photo(&input.photoset_id, &input.photo_id),
    }
    "flickr.photoset.remove_photo" {
        kind: action,
        title: "Remove photo from album",
        description: "Takes a photo out of an album (flickr.photosets.removePhoto).",
        perms: [WRITE],
        input: PhotosetPhotoInput,
        output: Done,
        call: |client, input| client.photosets().remove_photo(&input.photoset_id, &input.photo_id),
    }
    "flickr.photoset.delete" {
        kind: action,
        title: "Delete album",
        description: "Deletes an album but not its photos (flickr.photosets.delete).",
        perms: [WRITE],
        input: PhotosetRef,
        output: Done,
        call: |client, input| client.photosets().delete(&input.photoset_id),
    }
    // Contacts ---------------------------------------------------------------------------------
    "flickr.contact.list" {
        kind: action,
        title: "List contacts",
        description: "Lists one page of the connection's contacts, by name or by when they were added (flickr.contacts.getList).",
        perms: [READ],
        input: ContactListQuery,
        output: ContactPage,
        call: |client, input| client.contacts().list(&input),
    }
    "flickr.contact.list_public" {
        kind: action,
        title: "List user's public contacts",
        description: "Lists one page of a user's public contacts (flickr.contacts.getPublicList).",
        perms: [],
        input: PublicContactsQuery,
        output: ContactPage,
        call: |client, input| client.contacts().public_list(&input),
    }
    // Favorites --------------------------------------------------------------------------------
    "flickr.favorite.list" {
        kind: action,
        title: "List favorites",
        description: "Lists one page of a user's favorite photos (flickr.favorites.getList).",
        perms: [],
        input: FavoritesQuery,
        output: PhotoPage,
        call: |client, input| client.favorites().list(&input),
    }
    "flickr.favorite.add" {
        kind: action,
        title: "Fave photo",
        description: "Adds a photo to the connection's favorites (flickr.favorites.add).",
        perms: [WRITE],
        input: PhotoRef,
        output: Done,
        call: |client, input| client.favorites().add(&input.photo_id),
    }
    "flickr.favorite.remove" {
        kind: action,
        title: "Unfave photo",
        description: "Removes a photo from the connection's favorites (flickr.favorites.remove).",
        perms: [WRITE],
        input: PhotoRef,
        output: Done,
        call: |client, input| client.favorites().remove(&input.photo_id),
    }
    // Galleries --------------------------------------------------------------------------------
    "flickr.gallery.list" {
        kind: action,
        title: "List galleries",
        description: "Lists one page of a user's galleries (flickr.galleries.getList).",
        perms: [],
        input: GalleryListQuery,
        output: GalleryPage,
        call: |client, input| client.galleries().list(&input),
    }
    "flickr.gallery.get_info" {
        kind: action,
        title: "Get gallery",
        description: "Reads one gallery (flickr.galleries.getInfo).",
        perms: [],
        input: GalleryRef,
        output: Gallery,
        call: |client, input| client.galleries().get_info(&input.gallery_id),
    }
    "flickr.gallery.get_photos" {
        kind: action,
        title: "List gallery photos",
        description: "Lists one page of a gallery's photos (flickr.galleries.getPhotos).",
        perms: [],
        input: GalleryPhotosQuery,
        output: PhotoPage,
        call: |client, input| client.galleries().get_photos(&input),
    }
    "flickr.gallery.create" {
        kind: action,
        title: "Create gallery",
        description: "Creates a gallery, optionally with a first photo (flickr.galleries.create).",
        perms: [WRITE],
        input: CreateGalleryInput,
        output: CreatedGallery,
        call: |client, input| client.galleries().create(&input.title, &input.description, input.primary_photo_id.as_ref()),
    }
    "flickr.gallery.add_photo" {
        kind: action,
        title: "Add photo to gallery",
        description: "Adds another member's public photo to a gallery, with a comment (flickr.galleries.addPhoto).",
        perms: [WRITE],
        input: GalleryPhotoInput,
        output: Done,
        call: |client, input| client.galleries().add_photo(&input.gallery_id, &input.photo_id, input.comment.as_deref()),
    }
    // URLs -------------------------------------------------------------------------------------
    "flickr.url.get_user_profile" {
        kind: action,
        title: "Get profile address",
        description: "Answers a user's profile address (flickr.urls.getUserProfile).",
        perms: [],
        input: OptionalUser,
        output: UserUrl,
        call: |client, input| client.urls().user_profile(input.user_id.as_ref()),
    }
    "flickr.url.get_user_photos" {
        kind: action,
        title: "Get photostream address",
        description: "Answers a user's photostream address (flickr.urls.getUserPhotos).",
        perms: [],
        input: OptionalUser,
        output: UserUrl,
        call: |client, input| client.urls().user_photos(input.user_id.as_ref()),
    }
    "flickr.url.lookup_user" {
        kind: action,
        title: "Find user by address",
        description: "Finds the user of a profile or photostream address (flickr.urls.lookupUser).",
        perms: [],
        input: UrlInput,
        output: User,
        call: |client, input| client.urls().lookup_user(&input.url),
    }
    // Triggers ---------------------------------------------------------------------------------
    "flickr.photo.new" {
        kind: trigger,
        title: "New photo",
        description: "Photos a user (default the connection's) uploaded since the last poll, oldest first (flickr.people.getPhotos with min_upload_date).",
        perms: [],
        input: NewPhotosInput,
        output: PollOutput,
        call: |client, input| poll::new_photos(client, input.cursor.as_ref(), limit(input.limit), input.user_id.as_ref()),
    }
    "flickr.photo.updated" {
        kind: trigger,
        title: "Photo updated",
        description: "The connection's photos whose title, description, tags or other metadata changed since the last poll (flickr.photos.recentlyUpdated).",
        perms: [READ],
        input: PollInput,
        output: PollOutput,
        call: |client, input| poll::updated_photos(client, input.cursor.as_ref(), limit(input.limit)),
    }
    "flickr.comment.new" {
        kind: trigger,
        title: "New comment",
        description: "Comments written on the connection's photos since the last poll (flickr.photos.recentlyUpdated, then flickr.photos.comments.getList).",
        perms: [READ],
        input: PollInput,
        output: PollOutput,
        call: |client, input| poll::new_comments(client, input.cursor.as_ref(), limit(input.limit)),
    }
    "flickr.photoset.photo.new" {
        kind: trigger,
        title: "New photo in album",
        description: "Photos added to an album since the last poll, in the album's order (flickr.photosets.getInfo, then flickr.photosets.getPhotos).",
        perms: [],
        input: NewPhotosetPhotosInput,
        output: PollOutput,
        call: |client, input| poll::new_photoset_photos(client, input.cursor.as_ref(), limit(input.limit), &input.photoset_id, input.user_id.as_ref()),
    }
    "flickr.photoset.updated" {
        kind: trigger,
        title: "Album created or changed",
        description: "Albums created or changed (title, description, photos) since the last poll, oldest change first (flickr.photosets.getList by date_update).",
        perms: [],
        input: NewPhotosInput,
        output: PollOutput,
        call: |client, input| poll::updated_photosets(client, input.cursor.as_ref(), limit(input.limit), input.user_id.as_ref()),
    }
    "flickr.contact.new" {
        kind: trigger,
        title: "New contact",
        description: "People the connection's user added as contacts since the last poll (flickr.contacts.getList sorted by time).",
        perms: [READ],
        input: NewContactsInput,
        output: PollOutput,
        call: |client, input| poll::new_contacts(client, input.cursor.as_ref(), limit(input.limit), input.filter.as_deref()),
    }
}

/// Reads an operation's input (see [`input::fields`]), naming the JSON path of the first field
/// that does not fit.
fn decode<T: DeserializeOwned + JsonSchema>(input: Value) -> Result<T, Error> {
    Ok(input::from_fields(input::fields::<T>(input)?)?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tether_core::catalog::OperationKind;

    use super::*;

    #[test]
    fn every_operation_has_an_entry_with_schemas_and_a_unique_id() {
        let operations = operations();
        assert_eq!(operations.len(), 51);
        let problems = tether_core::catalog::problems(&operations);
        assert!(problems.is_empty(), "{problems:#?}");
        for operation in &operations {
            assert_eq!(operation.app, "flickr");
            assert_eq!(operation.input_schema["type"], "object", "{}", operation.id);
            assert!(
                operation.description.contains("flickr.")
                    || operation.description.contains("up.flickr.com"),
                "{} names no Flickr method",
                operation.id
            );
            for scope in &operation.scopes {
                assert!(
                    ["read", "write", "delete"].contains(&scope.as_str()),
                    "{}",
                    operation.id
                );
            }
        }
        let triggers: Vec<&str> = operations
            .iter()
            .filter(|operation| operation.kind == OperationKind::Trigger)
            .map(|operation| operation.id.as_str())
            .collect();
        assert_eq!(
            triggers,
            vec![
                "flickr.photo.new",
                "flickr.photo.updated",
                "flickr.comment.new",
                "flickr.photoset.photo.new",
                "flickr.photoset.updated",
                "flickr.contact.new"
            ]
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let check = |input: Value, path: &str| {
            let Err(Error::InvalidInput { path: found, .. }) =
                decode::<SetMetaInput>(input.clone())
            else {
                panic!("accepted {input}");
            };
            assert_eq!(found, path, "{input}");
        };
        check(json!({"title": "t"}), "photo_id");
        check(json!({"photo_id": "1", "title": 5}), "title");
        check(json!({"photo_id": "1", "titel": "x"}), "titel");
        check(json!([1]), ".");
        assert!(decode::<EchoInput>(json!({"anything": "goes"})).is_ok());
        assert!(decode::<UserPhotosQuery>(Value::Null).is_ok());
    }

    #[test]
    fn upload_inputs_must_be_base64() {
        assert!(file("aGVsbG8=", "a.jpg", None).is_ok());
        let Err(Error::InvalidInput { path, .. }) = file("not base64!", "a.jpg", None) else {
            panic!("accepted");
        };
        assert_eq!(path, "photo_base64");
    }
}

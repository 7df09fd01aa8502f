//! The REST methods the simulator serves, one module per area, and what they share: the call
//! context, paging (reference README §9), the standard photo list with its `extras`, and dates.
//!
//! A method reaches its handler only after the gate checked key, signature, verb, perms and the
//! required arguments, so handlers check only what depends on the data.

mod misc;
mod people;
mod photos;
mod photosets;
mod social;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::envelope::{ApiError, Child, Node};
use super::gate::Caller;
use super::reflection::MethodInfo;
use super::request::Incoming;
use super::state::{Data, Photo, World};

/// The code answered for a method that exists at Flickr (it is in the reflection data) but that
/// the simulator does not serve: distinct from 112 "not found", outside Flickr's code range.
pub const NOT_SERVED: u32 = 501;

/// One call, as a handler sees it.
pub struct Ctx<'a> {
    /// The world.
    pub world: &'a World,
    /// The request.
    pub incoming: &'a Incoming,
    /// Who calls.
    pub caller: &'a Caller,
    /// The method's reflection entry.
    pub info: &'a MethodInfo,
}

impl Ctx<'_> {
    /// An argument, trimmed.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.incoming.get(name).map(str::trim)
    }

    /// An argument that is present and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.arg(name).filter(|value| !value.is_empty())
    }

    /// The calling user, if the call was signed with an access token.
    pub fn viewer(&self) -> Option<&str> {
        self.caller.nsid()
    }

    /// The calling user of a method that needs one (the gate already required a token).
    pub fn me(&self) -> Result<&str, ApiError> {
        self.viewer().ok_or_else(|| {
            ApiError::new(
                99,
                "Insufficient permissions. Method requires read privileges; none granted.",
            )
        })
    }

    /// The method's own error with this code, in the reflection data's words.
    pub fn error(&self, code: u32) -> ApiError {
        let message = self
            .info
            .errors
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, message)| message.clone())
            .unwrap_or_else(|| "Error".to_owned());
        ApiError::new(code, message)
    }

    /// The `extras` argument.
    pub fn extras(&self) -> Extras {
        Extras(
            self.arg("extras")
                .unwrap_or_default()
                .split(',')
                .map(|extra| extra.trim().to_ascii_lowercase())
                .filter(|extra| !extra.is_empty())
                .collect(),
        )
    }

    /// `page` and `per_page` with this method's default and maximum.
    pub fn paging(&self, default: usize, max: usize) -> Paging {
        let number = |name: &str| {
            self.arg(name)
                .and_then(|value| value.parse::<i64>().ok())
                .filter(|value| *value > 0)
                .and_then(|value| usize::try_from(value).ok())
        };
        Paging {
            page: number("page").unwrap_or(1),
            per_page: number("per_page").unwrap_or(default).min(max),
        }
    }

    /// A date argument (Unix seconds or MySQL datetime); `Err` with `invalid` when unreadable.
    pub fn date(
        &self,
        name: &str,
        invalid: impl Fn() -> ApiError,
    ) -> Result<Option<i64>, ApiError> {
        match self.non_empty(name) {
            None => Ok(None),
            Some(text) => parse_date(text).map(Some).ok_or_else(invalid),
        }
    }
}

/// A handler: the payload elements, or the method's error.
pub type Handler = fn(&Ctx<'_>) -> Result<Vec<Child>, ApiError>;

/// The handler of a served method.
pub fn handler(name: &str) -> Option<Handler> {
    let handler: Handler = match name {
        "flickr.test.echo" => misc::echo,
        "flickr.test.login" => misc::login,
        "flickr.test.null" => misc::null,
        "flickr.auth.oauth.checkToken" => misc::check_token,
        "flickr.reflection.getMethods" => misc::get_methods,
        "flickr.reflection.getMethodInfo" => misc::get_method_info,
        "flickr.urls.getUserProfile" => misc::user_profile_url,
        "flickr.urls.getUserPhotos" => misc::user_photos_url,
        "flickr.urls.lookupUser" => misc::lookup_user,
        "flickr.people.findByEmail" => people::find_by_email,
        "flickr.people.findByUsername" => people::find_by_username,
        "flickr.people.getInfo" => people::get_info,
        "flickr.people.getPhotos" => people::get_photos,
        "flickr.people.getPublicPhotos" => people::get_public_photos,
        "flickr.photos.search" => photos::search,
        "flickr.photos.getInfo" => photos::get_info,
        "flickr.photos.getRecent" => photos::get_recent,
        "flickr.photos.recentlyUpdated" => photos::recently_updated,
        "flickr.photos.setMeta" => photos::set_meta,
        "flickr.photos.setTags" => photos::set_tags,
        "flickr.photos.addTags" => photos::add_tags,
        "flickr.photos.removeTag" => photos::remove_tag,
        "flickr.photos.delete" => photos::delete,
        "flickr.tags.getListPhoto" => photos::tags_of_photo,
        "flickr.photos.comments.getList" => social::comments,
        "flickr.photos.comments.addComment" => social::add_comment,
        "flickr.photos.comments.editComment" => social::edit_comment,
        "flickr.photos.comments.deleteComment" => social::delete_comment,
        "flickr.contacts.getList" => social::contacts,
        "flickr.contacts.getPublicList" => social::public_contacts,
        "flickr.favorites.getList" => social::favorites,
        "flickr.favorites.add" => social::add_favorite,
        "flickr.favorites.remove" => social::remove_favorite,
        "flickr.galleries.getList" => social::galleries,
        "flickr.galleries.getInfo" => social::gallery_info,
        "flickr.galleries.getPhotos" => social::gallery_photos,
        "flickr.galleries.create" => social::create_gallery,
        "flickr.galleries.addPhoto" => social::add_to_gallery,
        "flickr.photosets.getList" => photosets::list,
        "flickr.photosets.getInfo" => photosets::info,
        "flickr.photosets.getPhotos" => photosets::photos,
        "flickr.photosets.create" => photosets::create,
        "flickr.photosets.editMeta" => photosets::edit_meta,
        "flickr.photosets.addPhoto" => photosets::add_photo,
        "flickr.photosets.removePhoto" => photosets::remove_photo,
        "flickr.photosets.delete" => photosets::delete,
        _ => return None,
    };
    Some(handler)
}

/// Every served method name, in the reflection data's order (for the health page and tests).
pub fn served() -> Vec<&'static str> {
    super::reflection::reflection()
        .names
        .iter()
        .map(String::as_str)
        .filter(|name| handler(name).is_some())
        .collect()
}

/// Which page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page.
    pub page: usize,
    /// Items per page.
    pub per_page: usize,
}

impl Paging {
    /// The slice of `items` this page covers (empty past the end).
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1)
            .saturating_mul(self.per_page)
            .min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        &items[start..end]
    }

    /// `page`, `pages`, `perpage` as numbers and `total` as a string, as Flickr's JSON mixes them.
    pub fn attrs(&self, node: Node, total: usize) -> Node {
        let pages = total.div_ceil(self.per_page.max(1));
        node.num("page", as_i64(self.page))
            .num("pages", as_i64(pages))
            .num("perpage", as_i64(self.per_page))
            .attr("total", total.to_string())
    }
}

/// A count as a JSON number.
pub fn as_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Unix seconds, or a MySQL datetime (`YYYY-MM-DD HH:MM:SS`, or a date alone) read as UTC.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if let Ok(datetime) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(datetime.and_utc().timestamp());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|datetime| datetime.and_utc().timestamp())
}

/// Unix seconds as a MySQL datetime.
pub fn mysql_datetime(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The requested `extras`, lower-cased.
#[derive(Debug, Clone, Default)]
pub struct Extras(HashSet<String>);

impl Extras {
    fn has(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// The same extras but `name` (for lists that always carry that field).
    pub fn without(mut self, name: &str) -> Extras {
        self.0.remove(name);
        self
    }
}

/// Image sizes of the `url_*` extras: `(suffix, longest side)`.
const SIZES: &[(&str, i64)] = &[
    ("sq", 75),
    ("t", 100),
    ("s", 240),
    ("q", 150),
    ("m", 240),
    ("n", 320),
    ("z", 640),
    ("c", 800),
    ("l", 1024),
    ("o", 2048),
];

/// The image URL of a size (`live.staticflickr.com`, as Flickr builds them; never fetched).
pub fn image_url(photo: &Photo, suffix: &str) -> String {
    let suffix = match suffix {
        "sq" => "_s".to_owned(),
        "" => String::new(),
        other => format!("_{other}"),
    };
    format!(
        "https://live.staticflickr.com/{}/{}_{}{suffix}.jpg",
        photo.server, photo.id, photo.secret
    )
}

/// A photo page URL.
pub fn photo_page(photo: &Photo) -> String {
    format!(
        "https://www.flickr.com/photos/{}/{}/",
        photo.owner, photo.id
    )
}

/// One photo of a standard photo list, with the requested extras.
pub fn photo_item(data: &Data, photo: &Photo, extras: &Extras) -> Node {
    let mut node = Node::new("photo")
        .attr("id", photo.id.clone())
        .attr("owner", photo.owner.clone())
        .attr("secret", photo.secret.clone())
        .attr("server", photo.server.clone())
        .num("farm", photo.farm)
        .attr("title", photo.title.clone())
        .flag("ispublic", photo.is_public)
        .flag("isfriend", photo.is_friend)
        .flag("isfamily", photo.is_family);
    if extras.has("license") {
        node = node.attr("license", photo.license.clone());
    }
    if extras.has("date_upload") {
        node = node.attr("dateupload", photo.posted.to_string());
    }
    if extras.has("date_taken") {
        node = node
            .attr("datetaken", mysql_datetime(photo.taken))
            .num("datetakengranularity", 0)
            .attr("datetakenunknown", "0");
    }
    if extras.has("owner_name") {
        let name = data
            .user(&photo.owner)
            .map(|user| user.username.clone())
            .unwrap_or_default();
        node = node.attr("ownername", name);
    }
    if extras.has("icon_server") {
        node = node.attr("iconserver", "0").num("iconfarm", 0);
    }
    if extras.has("original_format") {
        node = node
            .attr("originalsecret", photo.secret.clone())
            .attr("originalformat", photo.original_format.clone());
    }
    if extras.has("last_update") {
        node = node.attr("lastupdate", photo.lastupdate.to_string());
    }
    if extras.has("geo") {
        node = node
            .num("latitude", 0)
            .num("longitude", 0)
            .num("accuracy", 0)
            .num("context", 0);
    }
    if extras.has("tags") {
        let tags: Vec<&str> = photo.tags.iter().map(|tag| tag.clean.as_str()).collect();
        node = node.attr("tags", tags.join(" "));
    }
    if extras.has("machine_tags") {
        let tags: Vec<&str> = photo
            .tags
            .iter()
            .filter(|tag| tag.machine)
            .map(|tag| tag.clean.as_str())
            .collect();
        node = node.attr("machine_tags", tags.join(" "));
    }
    if extras.has("o_dims") {
        node = node.attr("o_width", "2048").attr("o_height", "1536");
    }
    if extras.has("views") {
        node = node.attr("views", photo.views.to_string());
    }
    if extras.has("media") {
        node = node.attr("media", "photo").attr("media_status", "ready");
    }
    if extras.has("path_alias") {
        node = node.attr("pathalias", "");
    }
    for (suffix, longest) in SIZES {
        if extras.has(&format!("url_{suffix}")) {
            let (width, height) = if matches!(*suffix, "sq" | "q") {
                (*longest, *longest)
            } else {
                (*longest, longest * 3 / 4)
            };
            node = node
                .attr(&format!("url_{suffix}"), image_url(photo, suffix))
                .num(&format!("height_{suffix}"), height)
                .num(&format!("width_{suffix}"), width);
        }
    }
    if extras.has("description") {
        node = node.text_child("description", photo.description.clone());
    }
    node
}

/// A standard photo list (`photos` with paging attributes and `photo[]`).
pub fn photo_list(data: &Data, photos: &[&Photo], paging: Paging, extras: &Extras) -> Node {
    let items = paging
        .slice(photos)
        .iter()
        .map(|photo| photo_item(data, photo, extras))
        .collect();
    paging
        .attrs(Node::new("photos"), photos.len())
        .list("photo", items)
}

/// Sorts photos newest upload first (ties: higher id first).
pub fn newest_first(photos: &mut [&Photo]) {
    photos.sort_by(|a, b| (b.posted, &b.id).cmp(&(a.posted, &a.id)));
}

/// The payload of a method that answers one element.
pub fn one(node: Node) -> Vec<Child> {
    vec![Child::One(node)]
}

//! `flickr.people.*`: finding users by e-mail or name, profile cards and photostreams.

use sha1::{Digest, Sha1};

use super::super::envelope::{ApiError, Child, Node};
use super::super::state::{Data, Photo, User};
use super::{Ctx, as_i64, mysql_datetime, newest_first, one, photo_list};

fn found_user(user: &User) -> Vec<Child> {
    one(Node::new("user")
        .attr("id", user.nsid.clone())
        .attr("nsid", user.nsid.clone())
        .text_child("username", user.username.clone()))
}

/// `flickr.people.findByEmail` (case-insensitive).
pub fn find_by_email(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let email = ctx.arg("find_email").unwrap_or_default();
    let data = ctx.world.data.read();
    data.user_order
        .iter()
        .filter_map(|nsid| data.user(nsid))
        .find(|user| {
            user.email
                .as_deref()
                .is_some_and(|known| known.eq_ignore_ascii_case(email))
        })
        .map(found_user)
        .ok_or_else(|| ctx.error(1))
}

/// `flickr.people.findByUsername` (case-insensitive).
pub fn find_by_username(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let username = ctx.arg("username").unwrap_or_default();
    let data = ctx.world.data.read();
    data.user_order
        .iter()
        .filter_map(|nsid| data.user(nsid))
        .find(|user| user.username.eq_ignore_ascii_case(username))
        .map(found_user)
        .ok_or_else(|| ctx.error(1))
}

/// `flickr.people.getInfo`: the profile card; a signed caller also learns whether the user is a
/// contact, friend or family.
pub fn get_info(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ctx.error(1))?;
    let mut own: Vec<&Photo> = data
        .photos
        .values()
        .filter(|photo| photo.owner == user.nsid && data.can_see(photo, ctx.viewer()))
        .collect();
    newest_first(&mut own);
    let first = own.last();
    let mbox: String = user
        .email
        .as_deref()
        .map(|email| {
            let digest = Sha1::digest(format!("mailto:{email}").as_bytes());
            digest.iter().map(|byte| format!("{byte:02x}")).collect()
        })
        .unwrap_or_default();
    let mut person = Node::new("person")
        .attr("id", user.nsid.clone())
        .attr("nsid", user.nsid.clone())
        .num("ispro", 0)
        .num("can_buy_pro", 0)
        .attr("iconserver", "0")
        .num("iconfarm", 0)
        .attr("path_alias", "");
    if let Some(viewer) = ctx.viewer().filter(|viewer| *viewer != user.nsid) {
        let contact = data.contact(viewer, &user.nsid);
        let reverse = data.contact(&user.nsid, viewer);
        person = person
            .flag("contact", contact.is_some())
            .flag("friend", contact.is_some_and(|entry| entry.friend))
            .flag("family", contact.is_some_and(|entry| entry.family))
            .flag("revcontact", reverse.is_some())
            .flag("revfriend", reverse.is_some_and(|entry| entry.friend))
            .flag("revfamily", reverse.is_some_and(|entry| entry.family));
    }
    let person = person
        .text_child("username", user.username.clone())
        .text_child("realname", user.realname.clone())
        .text_child("location", user.location.clone())
        .text_child("description", user.description.clone())
        .text_child("mbox_sha1sum", mbox)
        .text_child(
            "photosurl",
            format!("https://www.flickr.com/photos/{}/", user.nsid),
        )
        .text_child(
            "profileurl",
            format!("https://www.flickr.com/people/{}/", user.nsid),
        )
        .text_child(
            "mobileurl",
            format!("https://m.flickr.com/photostream.gne?id={}", user.nsid),
        )
        .child(
            Node::new("timezone")
                .attr("label", "Coordinated Universal Time")
                .attr("offset", "+00:00")
                .attr("timezone_id", "UTC"),
        )
        .child(
            Node::new("photos")
                .text_child(
                    "firstdatetaken",
                    first
                        .map(|photo| mysql_datetime(photo.taken))
                        .unwrap_or_default(),
                )
                .text_child(
                    "firstdate",
                    first
                        .map(|photo| photo.posted.to_string())
                        .unwrap_or_default(),
                )
                .child(Node::new("count").num_text(as_i64(own.len()))),
        );
    Ok(one(person))
}

/// The photostream filters shared by `getPhotos` and `search`: upload and taken windows and
/// `privacy_filter` (1 public … 5 private; only applies to the caller's own photos).
pub struct StreamFilter {
    /// Uploaded at or after.
    pub min_upload: Option<i64>,
    /// Uploaded at or before.
    pub max_upload: Option<i64>,
    /// Taken at or after.
    pub min_taken: Option<i64>,
    /// Taken at or before.
    pub max_taken: Option<i64>,
    /// `privacy_filter`.
    pub privacy: Option<u8>,
}

impl StreamFilter {
    /// Reads the filters; `invalid` answers an unreadable date.
    pub fn read(ctx: &Ctx<'_>, invalid: &dyn Fn() -> ApiError) -> Result<StreamFilter, ApiError> {
        Ok(StreamFilter {
            min_upload: ctx.date("min_upload_date", invalid)?,
            max_upload: ctx.date("max_upload_date", invalid)?,
            min_taken: ctx.date("min_taken_date", invalid)?,
            max_taken: ctx.date("max_taken_date", invalid)?,
            privacy: ctx
                .arg("privacy_filter")
                .and_then(|value| value.parse().ok()),
        })
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.min_upload.is_some()
            || self.max_upload.is_some()
            || self.min_taken.is_some()
            || self.max_taken.is_some()
            || self.privacy.is_some()
    }

    /// Whether `photo` passes; `privacy_filter` only applies to the caller's `own` photos.
    pub fn keeps(&self, photo: &Photo, own: bool) -> bool {
        let privacy_ok = match self.privacy.filter(|_| own) {
            None => true,
            Some(1) => photo.is_public,
            Some(2) => !photo.is_public && photo.is_friend && !photo.is_family,
            Some(3) => !photo.is_public && photo.is_family && !photo.is_friend,
            Some(4) => !photo.is_public && photo.is_friend && photo.is_family,
            Some(5) => !photo.is_public && !photo.is_friend && !photo.is_family,
            Some(_) => true,
        };
        privacy_ok
            && self.min_upload.is_none_or(|min| photo.posted >= min)
            && self.max_upload.is_none_or(|max| photo.posted <= max)
            && self.min_taken.is_none_or(|min| photo.taken >= min)
            && self.max_taken.is_none_or(|max| photo.taken <= max)
    }
}

fn stream<'a>(
    data: &'a Data,
    owner: &str,
    viewer: Option<&str>,
    public_only: bool,
    filter: Option<&StreamFilter>,
) -> Vec<&'a Photo> {
    let mut photos: Vec<&Photo> = data
        .photos
        .values()
        .filter(|photo| photo.owner == owner)
        .filter(|photo| {
            if public_only {
                photo.is_public
            } else {
                data.can_see(photo, viewer)
            }
        })
        .filter(|photo| filter.is_none_or(|filter| filter.keeps(photo, viewer == Some(owner))))
        .collect();
    newest_first(&mut photos);
    photos
}

/// `flickr.people.getPhotos`: a user's photos the caller may see, newest first (`user_id=me` for
/// the caller's own, private ones included).
pub fn get_photos(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let filter = StreamFilter::read(ctx, &|| ApiError::new(1000, "Invalid date"))?;
    let data = ctx.world.data.read();
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ctx.error(2))?;
    let photos = stream(&data, &user.nsid, ctx.viewer(), false, Some(&filter));
    Ok(one(photo_list(
        &data,
        &photos,
        ctx.paging(100, 500),
        &ctx.extras(),
    )))
}

/// `flickr.people.getPublicPhotos`.
pub fn get_public_photos(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ctx.error(1))?;
    let photos = stream(&data, &user.nsid, ctx.viewer(), true, None);
    Ok(one(photo_list(
        &data,
        &photos,
        ctx.paging(100, 500),
        &ctx.extras(),
    )))
}

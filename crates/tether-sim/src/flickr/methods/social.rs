//! What people do around photos: comments (`flickr.photos.comments.*`), contacts
//! (`flickr.contacts.*`), favorites (`flickr.favorites.*`) and galleries (`flickr.galleries.*`).
//! Comment writes bump the photo's `lastupdate`.

use super::super::envelope::{ApiError, Child, Node};
use super::super::state::{Comment, Contact, Data, Gallery, Photo, nsid_number};
use super::{Ctx, as_i64, one, photo_item};

fn comment_node(data: &Data, comment: &Comment, photo_owner: &str) -> Node {
    let author = data.user(&comment.author);
    let tail = comment.id.rsplit('-').next().unwrap_or_default();
    Node::new("comment")
        .attr("id", comment.id.clone())
        .attr("author", comment.author.clone())
        .num("author_is_deleted", 0)
        .attr(
            "authorname",
            author.map(|user| user.username.clone()).unwrap_or_default(),
        )
        .attr("iconserver", "0")
        .num("iconfarm", 0)
        .attr("datecreate", comment.created.to_string())
        .attr(
            "permalink",
            format!(
                "https://www.flickr.com/photos/{photo_owner}/{}/#comment{tail}",
                comment.photo_id
            ),
        )
        .attr("path_alias", "")
        .attr(
            "realname",
            author.map(|user| user.realname.clone()).unwrap_or_default(),
        )
        .text(comment.text.clone())
}

/// `flickr.photos.comments.getList`: oldest first, optionally within a date window.
pub fn comments(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let invalid = || ApiError::new(1000, "Invalid date");
    let min = ctx.date("min_comment_date", invalid)?;
    let max = ctx.date("max_comment_date", invalid)?;
    let data = ctx.world.data.read();
    let photo = data
        .photos
        .get(ctx.arg("photo_id").unwrap_or_default())
        .filter(|photo| data.can_see(photo, ctx.viewer()))
        .ok_or_else(|| ctx.error(1))?;
    let items = data
        .comments_of(&photo.id)
        .into_iter()
        .filter(|comment| min.is_none_or(|min| comment.created >= min))
        .filter(|comment| max.is_none_or(|max| comment.created <= max))
        .map(|comment| comment_node(&data, comment, &photo.owner))
        .collect();
    Ok(one(Node::new("comments")
        .attr("photo_id", photo.id.clone())
        .list("comment", items)))
}

/// `flickr.photos.comments.addComment`.
pub fn add_comment(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let photo_id = ctx.arg("photo_id").unwrap_or_default().to_owned();
    let text = ctx.incoming.get("comment_text").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let owner = data
        .photos
        .get(&photo_id)
        .filter(|photo| data.can_see(photo, Some(&me)))
        .map(|photo| photo.owner.clone())
        .ok_or_else(|| ctx.error(1))?;
    if text.trim().is_empty() {
        return Err(ctx.error(8));
    }
    let id = data
        .insert_comment(&photo_id, &me, text, now)
        .map_err(|_| ctx.error(1))?;
    let comment = data
        .comments
        .get(&id)
        .cloned()
        .ok_or_else(|| ctx.error(1))?;
    Ok(one(comment_node(&data, &comment, &owner)))
}

/// `flickr.photos.comments.editComment`: only its author may edit a comment.
pub fn edit_comment(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let comment_id = ctx.arg("comment_id").unwrap_or_default();
    let text = ctx.incoming.get("comment_text").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let photo_id = data
        .comments
        .get(comment_id)
        .filter(|comment| comment.author == me)
        .map(|comment| comment.photo_id.clone())
        .ok_or_else(|| ctx.error(2))?;
    if !data.photos.contains_key(&photo_id) {
        return Err(ctx.error(1));
    }
    if text.trim().is_empty() {
        return Err(ctx.error(8));
    }
    if let Some(comment) = data.comments.get_mut(comment_id) {
        comment.text = text.to_owned();
    }
    data.touch(&photo_id, now);
    Ok(Vec::new())
}

/// `flickr.photos.comments.deleteComment`: by its author or by the photo's owner.
pub fn delete_comment(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let comment_id = ctx.arg("comment_id").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let comment = data
        .comments
        .get(comment_id)
        .cloned()
        .ok_or_else(|| ctx.error(2))?;
    let photo_owner = data
        .photos
        .get(&comment.photo_id)
        .map(|photo| photo.owner.clone())
        .ok_or_else(|| ctx.error(1))?;
    if comment.author != me && photo_owner != me {
        return Err(ctx.error(2));
    }
    data.comments.remove(comment_id);
    data.touch(&comment.photo_id, now);
    Ok(Vec::new())
}

fn contact_node(data: &Data, contact: &Contact, private: bool) -> Node {
    let user = data.user(&contact.nsid);
    let mut node = Node::new("contact")
        .attr("nsid", contact.nsid.clone())
        .attr(
            "username",
            user.map(|user| user.username.clone()).unwrap_or_default(),
        )
        .attr("iconserver", "0")
        .num("iconfarm", 0)
        .num("ignored", 0);
    if private {
        node = node
            .num("rev_ignored", 0)
            .attr(
                "realname",
                user.map(|user| user.realname.clone()).unwrap_or_default(),
            )
            .flag("friend", contact.friend)
            .flag("family", contact.family)
            .attr(
                "location",
                user.map(|user| user.location.clone()).unwrap_or_default(),
            );
    }
    node.attr("path_alias", "")
}

fn by_name(data: &Data, contacts: &mut [&Contact]) {
    contacts.sort_by_cached_key(|contact| {
        (
            data.user(&contact.nsid)
                .map(|user| user.username.to_lowercase())
                .unwrap_or_default(),
            contact.nsid.clone(),
        )
    });
}

/// `flickr.contacts.getList`: the caller's contacts by name, or newest first with `sort=time`.
pub fn contacts(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?;
    let by_time = match ctx.arg("sort") {
        None | Some("") | Some("name") => false,
        Some("time") => true,
        Some(_) => return Err(ctx.error(1)),
    };
    let data = ctx.world.data.read();
    let all = data.contacts.get(me).map(Vec::as_slice).unwrap_or_default();
    let mut contacts: Vec<&Contact> = all
        .iter()
        .filter(|contact| match ctx.arg("filter") {
            Some("friends") => contact.friend,
            Some("family") => contact.family,
            Some("both") => contact.friend && contact.family,
            Some("neither") => !contact.friend && !contact.family,
            _ => true,
        })
        .collect();
    if by_time {
        contacts.sort_by(|a, b| (b.added, &b.nsid).cmp(&(a.added, &a.nsid)));
    } else {
        by_name(&data, &mut contacts);
    }
    let paging = ctx.paging(1000, 1000);
    let items = paging
        .slice(&contacts)
        .iter()
        .map(|contact| contact_node(&data, contact, true))
        .collect();
    Ok(one(paging
        .attrs(Node::new("contacts"), contacts.len())
        .list("contact", items)))
}

/// `flickr.contacts.getPublicList`: anyone's contacts, without the private flags.
pub fn public_contacts(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ctx.error(1))?;
    let mut contacts: Vec<&Contact> = data
        .contacts
        .get(&user.nsid)
        .map(|contacts| contacts.iter().collect())
        .unwrap_or_default();
    by_name(&data, &mut contacts);
    let paging = ctx.paging(1000, 1000);
    let items = paging
        .slice(&contacts)
        .iter()
        .map(|contact| contact_node(&data, contact, false))
        .collect();
    Ok(one(paging
        .attrs(Node::new("contacts"), contacts.len())
        .list("contact", items)))
}

/// `flickr.favorites.getList`: a user's (the caller's by default) favorites, most recently faved
/// first, each with `date_faved`.
pub fn favorites(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let invalid = || ApiError::new(1000, "Invalid date");
    let min = ctx.date("min_fave_date", invalid)?;
    let max = ctx.date("max_fave_date", invalid)?;
    let data = ctx.world.data.read();
    let nsid = match ctx.non_empty("user_id") {
        Some(user_id) => data
            .resolve_user(user_id, ctx.viewer())
            .map(|user| user.nsid.clone())
            .ok_or_else(|| ctx.error(1))?,
        None => ctx.viewer().ok_or_else(|| ctx.error(1))?.to_owned(),
    };
    let mut faves: Vec<(&Photo, i64)> = data
        .favorites
        .get(&nsid)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|(_, at)| min.is_none_or(|min| *at >= min) && max.is_none_or(|max| *at <= max))
        .filter_map(|(id, at)| data.photos.get(id).map(|photo| (photo, *at)))
        .filter(|(photo, _)| data.can_see(photo, ctx.viewer()))
        .collect();
    faves.sort_by(|a, b| (b.1, &b.0.id).cmp(&(a.1, &a.0.id)));
    let paging = ctx.paging(100, 500);
    let extras = ctx.extras();
    let items = paging
        .slice(&faves)
        .iter()
        .map(|(photo, at)| photo_item(&data, photo, &extras).attr("date_faved", at.to_string()))
        .collect();
    Ok(one(paging
        .attrs(Node::new("photos"), faves.len())
        .list("photo", items)))
}

/// `flickr.favorites.add`: someone else's photo the caller can see, once.
pub fn add_favorite(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let photo_id = ctx.arg("photo_id").unwrap_or_default().to_owned();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let photo = data.photos.get(&photo_id).ok_or_else(|| ctx.error(1))?;
    if photo.owner == me {
        return Err(ctx.error(2));
    }
    if !data.can_see(photo, Some(&me)) {
        return Err(ctx.error(4));
    }
    let faves = data.favorites.entry(me).or_default();
    if faves.iter().any(|(id, _)| id == &photo_id) {
        return Err(ctx.error(3));
    }
    faves.push((photo_id, now));
    Ok(Vec::new())
}

/// `flickr.favorites.remove`.
pub fn remove_favorite(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let photo_id = ctx.arg("photo_id").unwrap_or_default();
    let mut data = ctx.world.data.write();
    let faves = data.favorites.entry(me).or_default();
    let before = faves.len();
    faves.retain(|(id, _)| id != photo_id);
    if faves.len() == before {
        return Err(ctx.error(1));
    }
    Ok(Vec::new())
}

/// The most photos a gallery holds.
const GALLERY_MAX: usize = 50;

fn gallery_url(gallery: &Gallery) -> String {
    let tail = gallery.id.rsplit('-').next().unwrap_or_default();
    format!(
        "https://www.flickr.com/photos/{}/galleries/{tail}/",
        gallery.owner
    )
}

fn gallery_node(data: &Data, gallery: &Gallery) -> Node {
    let primary = gallery
        .primary
        .as_deref()
        .and_then(|id| data.photos.get(id));
    Node::new("gallery")
        .attr("id", gallery.id.clone())
        .attr("url", gallery_url(gallery))
        .attr("owner", gallery.owner.clone())
        .attr(
            "username",
            data.user(&gallery.owner)
                .map(|user| user.username.clone())
                .unwrap_or_default(),
        )
        .attr("date_create", gallery.created.to_string())
        .attr("date_update", gallery.updated.to_string())
        .attr(
            "primary_photo_id",
            gallery.primary.clone().unwrap_or_default(),
        )
        .attr(
            "primary_photo_server",
            primary
                .map(|photo| photo.server.clone())
                .unwrap_or_default(),
        )
        .num("primary_photo_farm", primary.map_or(0, |photo| photo.farm))
        .attr(
            "primary_photo_secret",
            primary
                .map(|photo| photo.secret.clone())
                .unwrap_or_default(),
        )
        .num("count_photos", as_i64(gallery.photos.len()))
        .num("count_videos", 0)
        .attr("count_views", "0")
        .attr("count_comments", "0")
        .text_child("title", gallery.title.clone())
        .text_child("description", gallery.description.clone())
}

/// The `continuation` argument: `0` starts, each answer gives the next, `-1` ends.
fn continuation_start(ctx: &Ctx<'_>) -> Result<Option<usize>, ApiError> {
    match ctx.non_empty("continuation") {
        None => Ok(None),
        Some(text) => text
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiError::new(2, "Continuation key is invalid or expired")),
    }
}

/// `flickr.galleries.getList`: a user's galleries, newest first, paged by continuation.
pub fn galleries(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ApiError::new(1, "User not found"))?;
    let galleries: Vec<&Gallery> = data
        .gallery_order
        .get(&user.nsid)
        .map(|order| {
            order
                .iter()
                .filter_map(|id| data.galleries.get(id))
                .collect()
        })
        .unwrap_or_default();
    let paging = ctx.paging(100, 500);
    let start = continuation_start(ctx)?
        .unwrap_or((paging.page - 1).saturating_mul(paging.per_page))
        .min(galleries.len());
    let end = start.saturating_add(paging.per_page).min(galleries.len());
    let next = if end >= galleries.len() {
        "-1".to_owned()
    } else {
        end.to_string()
    };
    let items = galleries[start..end]
        .iter()
        .map(|gallery| gallery_node(&data, gallery))
        .collect();
    let pages = galleries.len().div_ceil(paging.per_page.max(1));
    Ok(one(Node::new("galleries")
        .attr("total", galleries.len().to_string())
        .num("page", as_i64(start / paging.per_page.max(1) + 1))
        .num("pages", as_i64(pages))
        .num("per_page", as_i64(paging.per_page))
        .attr("user_id", user.nsid.clone())
        .attr("continuation", next)
        .list("gallery", items)))
}

fn gallery<'a>(ctx: &Ctx<'_>, data: &'a Data) -> Result<&'a Gallery, ApiError> {
    data.galleries
        .get(ctx.arg("gallery_id").unwrap_or_default())
        .ok_or_else(|| ApiError::new(1, "Gallery not found"))
}

/// `flickr.galleries.getInfo`.
pub fn gallery_info(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let gallery = gallery(ctx, &data)?;
    Ok(one(gallery_node(&data, gallery)))
}

/// `flickr.galleries.getPhotos`: a standard photo list with `is_primary`, `has_comment` and the
/// curator's comment.
pub fn gallery_photos(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let gallery = gallery(ctx, &data)?;
    let photos: Vec<(&Photo, &Option<String>)> = gallery
        .photos
        .iter()
        .filter_map(|(id, comment)| data.photos.get(id).map(|photo| (photo, comment)))
        .filter(|(photo, _)| data.can_see(photo, ctx.viewer()))
        .collect();
    let paging = ctx.paging(100, 500);
    let extras = ctx.extras();
    let items = paging
        .slice(&photos)
        .iter()
        .map(|(photo, comment)| {
            let mut node = photo_item(&data, photo, &extras)
                .flag(
                    "is_primary",
                    gallery.primary.as_deref() == Some(photo.id.as_str()),
                )
                .flag("has_comment", comment.is_some());
            if let Some(comment) = comment {
                node = node.text_child("comment", comment.clone());
            }
            node
        })
        .collect();
    Ok(one(paging
        .attrs(Node::new("photos"), photos.len())
        .list("photo", items)))
}

/// Whether `photo` may go into `me`'s gallery: someone else's public photo (7 / 6 otherwise).
fn gallery_candidate(ctx: &Ctx<'_>, photo: &Photo, me: &str) -> Result<(), ApiError> {
    if photo.owner == me {
        return Err(ctx.error(7));
    }
    if !photo.is_public {
        return Err(ctx.error(6));
    }
    Ok(())
}

/// `flickr.galleries.create`: title and description; optionally a first (primary) photo.
pub fn create_gallery(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let title = ctx.non_empty("title").ok_or_else(|| ctx.error(2))?;
    let description = ctx.incoming.get("description").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let primary = match ctx.non_empty("primary_photo_id") {
        Some(photo_id) => {
            let photo = data.photos.get(photo_id).ok_or_else(|| ctx.error(3))?;
            if photo.owner == me || !photo.is_public {
                return Err(ctx.error(3));
            }
            Some(photo_id.to_owned())
        }
        None => None,
    };
    let id = format!("{}-{}", nsid_number(&me), data.ids.big());
    let gallery = Gallery {
        id: id.clone(),
        owner: me.clone(),
        title: title.to_owned(),
        description: description.to_owned(),
        photos: primary.iter().map(|id| (id.clone(), None)).collect(),
        primary,
        created: now,
        updated: now,
    };
    let url = gallery_url(&gallery);
    data.galleries.insert(id.clone(), gallery);
    data.gallery_order
        .entry(me)
        .or_default()
        .insert(0, id.clone());
    Ok(one(Node::new("gallery").attr("id", id).attr("url", url)))
}

/// `flickr.galleries.addPhoto`: someone else's public photo, with an optional comment.
pub fn add_to_gallery(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let photo_id = ctx.arg("photo_id").unwrap_or_default().to_owned();
    let comment = ctx.non_empty("comment").map(str::to_owned);
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let gallery_id = data
        .galleries
        .get(ctx.arg("gallery_id").unwrap_or_default())
        .filter(|gallery| gallery.owner == me)
        .map(|gallery| gallery.id.clone())
        .ok_or_else(|| ctx.error(2))?;
    let photo = data.photos.get(&photo_id).ok_or_else(|| ctx.error(3))?;
    gallery_candidate(ctx, photo, &me)?;
    let Some(gallery) = data.galleries.get_mut(&gallery_id) else {
        return Err(ctx.error(2));
    };
    if gallery.photos.iter().any(|(id, _)| id == &photo_id) {
        return Err(ctx.error(8));
    }
    if gallery.photos.len() >= GALLERY_MAX {
        return Err(ctx.error(10));
    }
    gallery.photos.push((photo_id.clone(), comment));
    if gallery.primary.is_none() {
        gallery.primary = Some(photo_id);
    }
    gallery.updated = now;
    Ok(Vec::new())
}

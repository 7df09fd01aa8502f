//! `flickr.photosets.*` (albums): lists, info, photos, create, edit, add/remove photos, delete.
//! An album is never empty: it is created with its primary photo and deleted with its last one.

use super::super::envelope::{ApiError, Child, Node};
use super::super::state::{Data, Photoset};
use super::photos::primary_fields;
use super::{Ctx, as_i64, one, photo_item};

fn set_node(data: &Data, set: &Photoset, viewer: Option<&str>) -> Node {
    let n_visible = set
        .photos
        .iter()
        .filter_map(|id| data.photos.get(id))
        .filter(|photo| data.can_see(photo, viewer))
        .count();
    primary_fields(
        Node::new("photoset")
            .attr("id", set.id.clone())
            .attr("primary", set.primary.clone()),
        data.photos.get(&set.primary),
    )
    .num("photos", as_i64(n_visible))
    .num("videos", 0)
    .attr("count_views", "0")
    .attr("count_comments", "0")
    .num("can_comment", 0)
    .attr("date_create", set.created.to_string())
    .attr("date_update", set.updated.to_string())
    .text_child("title", set.title.clone())
    .text_child("description", set.description.clone())
}

/// `flickr.photosets.getList`: a user's albums in the user's order; every album when `page` is
/// absent, else pages of up to 500.
pub fn list(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let nsid = match ctx.non_empty("user_id") {
        Some(user_id) => data
            .resolve_user(user_id, ctx.viewer())
            .map(|user| user.nsid.clone())
            .ok_or_else(|| ctx.error(1))?,
        None => ctx.viewer().ok_or_else(|| ctx.error(1))?.to_owned(),
    };
    let sets: Vec<&Photoset> = data
        .set_order
        .get(&nsid)
        .map(|order| {
            order
                .iter()
                .filter_map(|id| data.photosets.get(id))
                .collect()
        })
        .unwrap_or_default();
    let paging = if ctx.non_empty("page").is_some() {
        ctx.paging(500, 500)
    } else {
        super::Paging {
            page: 1,
            per_page: sets.len().max(1),
        }
    };
    let items = paging
        .slice(&sets)
        .iter()
        .map(|set| set_node(&data, set, ctx.viewer()))
        .collect();
    Ok(one(paging
        .attrs(Node::new("photosets"), sets.len())
        .flag("cancreate", ctx.viewer() == Some(nsid.as_str()))
        .list("photoset", items)))
}

/// The set named by `photoset_id` and owned by `user_id` (1 / 2 otherwise).
fn set_of_user<'a>(ctx: &Ctx<'_>, data: &'a Data) -> Result<&'a Photoset, ApiError> {
    let set = data
        .photosets
        .get(ctx.arg("photoset_id").unwrap_or_default())
        .ok_or_else(|| ctx.error(1))?;
    let user = data
        .resolve_user(ctx.arg("user_id").unwrap_or_default(), ctx.viewer())
        .ok_or_else(|| ctx.error(2))?;
    if set.owner != user.nsid {
        return Err(ctx.error(1));
    }
    Ok(set)
}

/// `flickr.photosets.getInfo`.
pub fn info(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let set = set_of_user(ctx, &data)?;
    let username = data
        .user(&set.owner)
        .map(|user| user.username.clone())
        .unwrap_or_default();
    let n_photos = as_i64(set.photos.len());
    let node = primary_fields(
        Node::new("photoset")
            .attr("id", set.id.clone())
            .attr("owner", set.owner.clone())
            .attr("username", username)
            .attr("primary", set.primary.clone()),
        data.photos.get(&set.primary),
    )
    .num("photos", n_photos)
    .attr("count_views", "0")
    .attr("count_comments", "0")
    .num("count_photos", n_photos)
    .num("count_videos", 0)
    .num("can_comment", 0)
    .attr("date_create", set.created.to_string())
    .attr("date_update", set.updated.to_string())
    .text_child("title", set.title.clone())
    .text_child("description", set.description.clone());
    Ok(one(node))
}

/// `flickr.photosets.getPhotos`: the album's photos in album order (500 per page by default).
pub fn photos(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let set = set_of_user(ctx, &data)?;
    let viewer = ctx.viewer();
    let privacy: Option<u8> = ctx
        .arg("privacy_filter")
        .and_then(|value| value.parse().ok());
    let filter = super::people::StreamFilter {
        min_upload: None,
        max_upload: None,
        min_taken: None,
        max_taken: None,
        privacy,
    };
    let photos: Vec<_> = set
        .photos
        .iter()
        .filter_map(|id| data.photos.get(id))
        .filter(|photo| data.can_see(photo, viewer))
        .filter(|photo| filter.keeps(photo, viewer == Some(photo.owner.as_str())))
        .collect();
    let paging = ctx.paging(500, 500);
    let extras = ctx.extras();
    let items = paging
        .slice(&photos)
        .iter()
        .map(|photo| {
            photo_item(&data, photo, &extras)
                .attr("isprimary", if photo.id == set.primary { "1" } else { "0" })
        })
        .collect();
    let ownername = data
        .user(&set.owner)
        .map(|user| user.username.clone())
        .unwrap_or_default();
    let node = Node::new("photoset")
        .attr("id", set.id.clone())
        .attr("primary", set.primary.clone())
        .attr("owner", set.owner.clone())
        .attr("ownername", ownername)
        .num("per_page", as_i64(paging.per_page))
        .attr("title", set.title.clone());
    Ok(one(paging.attrs(node, photos.len()).list("photo", items)))
}

/// `flickr.photosets.create`: needs a title and one of the caller's photos as primary; the new
/// album comes first in the caller's order.
pub fn create(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let title = ctx.non_empty("title").ok_or_else(|| ctx.error(1))?;
    let primary = ctx.arg("primary_photo_id").unwrap_or_default();
    let description = ctx.incoming.get("description").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    if data
        .photos
        .get(primary)
        .is_none_or(|photo| photo.owner != me)
    {
        return Err(ctx.error(2));
    }
    let id = data.insert_photoset(&me, title, description, primary, now);
    Ok(one(Node::new("photoset").attr("id", id.clone()).attr(
        "url",
        format!("https://www.flickr.com/photos/{me}/sets/{id}/"),
    )))
}

/// The caller's own set named by `photoset_id`, for writes (1 otherwise).
fn own_set_id(ctx: &Ctx<'_>, data: &Data) -> Result<String, ApiError> {
    let me = ctx.me()?;
    data.photosets
        .get(ctx.arg("photoset_id").unwrap_or_default())
        .filter(|set| set.owner == me)
        .map(|set| set.id.clone())
        .ok_or_else(|| ctx.error(1))
}

/// `flickr.photosets.editMeta`: a title is required; an absent description stays as it was.
pub fn edit_meta(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let id = own_set_id(ctx, &data)?;
    let title = ctx.non_empty("title").ok_or_else(|| ctx.error(2))?;
    if let Some(set) = data.photosets.get_mut(&id) {
        set.title = title.to_owned();
        if let Some(description) = ctx.incoming.get("description") {
            set.description = description.to_owned();
        }
        set.updated = now;
    }
    Ok(Vec::new())
}

/// `flickr.photosets.addPhoto`: one of the caller's photos, at the end.
pub fn add_photo(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?.to_owned();
    let photo_id = ctx.arg("photo_id").unwrap_or_default().to_owned();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let id = own_set_id(ctx, &data)?;
    if data
        .photos
        .get(&photo_id)
        .is_none_or(|photo| photo.owner != me)
    {
        return Err(ctx.error(2));
    }
    let Some(set) = data.photosets.get_mut(&id) else {
        return Err(ctx.error(1));
    };
    if set.photos.contains(&photo_id) {
        return Err(ctx.error(3));
    }
    set.photos.push(photo_id.clone());
    set.updated = now;
    data.touch(&photo_id, now);
    Ok(Vec::new())
}

/// `flickr.photosets.removePhoto`.
pub fn remove_photo(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let photo_id = ctx.arg("photo_id").unwrap_or_default().to_owned();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let id = own_set_id(ctx, &data)?;
    if !data.photos.contains_key(&photo_id) {
        return Err(ctx.error(2));
    }
    if !data
        .photosets
        .get(&id)
        .is_some_and(|set| set.photos.contains(&photo_id))
    {
        return Err(ctx.error(3));
    }
    data.remove_from_set(&id, &photo_id, now);
    Ok(Vec::new())
}

/// `flickr.photosets.delete`: the album goes, its photos stay.
pub fn delete(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let mut data = ctx.world.data.write();
    let id = own_set_id(ctx, &data)?;
    data.remove_photoset(&id);
    Ok(Vec::new())
}

//! `flickr.photos.*` (search, info, recent and recently updated lists, metadata and tag writes,
//! delete) and `flickr.tags.getListPhoto`. Every write bumps the photo's `lastupdate`.

use super::super::envelope::{ApiError, Child, Node};
use super::super::state::{Data, Photo, Tag, clean_tag, split_tags};
use super::people::StreamFilter;
use super::{Ctx, Paging, mysql_datetime, newest_first, one, photo_item, photo_list, photo_page};

/// `photos.search` returns at most the first 4,000 results of a query (README §9).
pub const SEARCH_CAP: usize = 4_000;

/// One `machine_tags` pattern: `ns:pred=value`, `ns:pred=`, `ns:pred`, `ns:`, with `*` for any part.
struct MachinePattern {
    namespace: Option<String>,
    predicate: Option<String>,
    value: Option<String>,
}

impl MachinePattern {
    fn parse(text: &str) -> Option<MachinePattern> {
        let text = text.trim().trim_matches('"').to_lowercase();
        let (namespace, rest) = text.split_once(':')?;
        let (predicate, value) = match rest.split_once('=') {
            Some((predicate, value)) => (predicate, value.trim_matches('"')),
            None => (rest, ""),
        };
        let part = |part: &str| (!part.is_empty() && part != "*").then(|| part.to_owned());
        let pattern = MachinePattern {
            namespace: part(namespace),
            predicate: part(predicate),
            value: part(value),
        };
        (pattern.namespace.is_some() || pattern.predicate.is_some()).then_some(pattern)
    }

    fn matches(&self, tag: &Tag) -> bool {
        if !tag.machine {
            return false;
        }
        let Some((namespace, rest)) = tag.clean.split_once(':') else {
            return false;
        };
        let Some((predicate, value)) = rest.split_once('=') else {
            return false;
        };
        self.namespace
            .as_deref()
            .is_none_or(|wanted| wanted == namespace)
            && self
                .predicate
                .as_deref()
                .is_none_or(|wanted| wanted == predicate)
            && self.value.as_deref().is_none_or(|wanted| wanted == value)
    }
}

fn mode_all(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.arg(name)
        .is_some_and(|mode| mode.eq_ignore_ascii_case("all"))
}

/// `flickr.photos.search`: `user_id` (`me` included), `tags` + `tag_mode`, `machine_tags` +
/// `machine_tag_mode`, `text`, upload and taken windows, `privacy_filter`, `sort`, `extras`,
/// paging, capped at 4,000 results.
pub fn search(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let filter = StreamFilter::read(ctx, &|| ApiError::new(1000, "Invalid date"))?;
    let tags_arg = ctx.non_empty("tags");
    let machine_arg = ctx.non_empty("machine_tags");
    let text = ctx.non_empty("text").map(str::to_lowercase);
    let user_arg = ctx.non_empty("user_id");
    if user_arg.is_none()
        && tags_arg.is_none()
        && machine_arg.is_none()
        && text.is_none()
        && !filter.any()
    {
        return Err(ApiError::new(
            3,
            "Parameterless searches have been disabled. Please use flickr.photos.getRecent instead.",
        ));
    }
    let (include_tags, exclude_tags): (Vec<String>, Vec<String>) = {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for tag in tags_arg.unwrap_or_default().split(',') {
            let tag = tag.trim();
            match tag.strip_prefix('-') {
                Some(excluded) => exclude.push(clean_tag(excluded)),
                None => include.push(clean_tag(tag)),
            }
        }
        include.retain(|tag| !tag.is_empty());
        exclude.retain(|tag| !tag.is_empty());
        (include, exclude)
    };
    let tags_all = mode_all(ctx, "tag_mode");
    let patterns: Vec<MachinePattern> = machine_arg
        .unwrap_or_default()
        .split(',')
        .filter_map(MachinePattern::parse)
        .collect();
    if machine_arg.is_some() && patterns.is_empty() {
        return Err(ctx.error(11));
    }
    let machine_all = mode_all(ctx, "machine_tag_mode");

    let data = ctx.world.data.read();
    let owner = match user_arg {
        Some(user_id) => Some(
            data.resolve_user(user_id, ctx.viewer())
                .map(|user| user.nsid.clone())
                .ok_or_else(|| ctx.error(2))?,
        ),
        None => None,
    };
    let viewer = ctx.viewer();
    let mut photos: Vec<&Photo> = data
        .photos
        .values()
        .filter(|photo| match &owner {
            Some(owner) => &photo.owner == owner && data.can_see(photo, viewer),
            // Without `user_id` Flickr searches everybody's public photos.
            None => photo.is_public,
        })
        .filter(|photo| filter.keeps(photo, viewer == Some(photo.owner.as_str())))
        .filter(|photo| {
            let has = |wanted: &String| photo.tags.iter().any(|tag| &tag.clean == wanted);
            let included = include_tags.is_empty()
                || if tags_all {
                    include_tags.iter().all(has)
                } else {
                    include_tags.iter().any(has)
                };
            included && !exclude_tags.iter().any(has)
        })
        .filter(|photo| {
            let has = |pattern: &MachinePattern| photo.tags.iter().any(|tag| pattern.matches(tag));
            patterns.is_empty()
                || if machine_all {
                    patterns.iter().all(has)
                } else {
                    patterns.iter().any(has)
                }
        })
        .filter(|photo| {
            text.as_deref().is_none_or(|text| {
                photo.title.to_lowercase().contains(text)
                    || photo.description.to_lowercase().contains(text)
                    || photo.tags.iter().any(|tag| tag.clean.contains(text))
            })
        })
        .collect();
    match ctx.arg("sort").unwrap_or("date-posted-desc") {
        "date-posted-asc" => photos.sort_by(|a, b| (a.posted, &a.id).cmp(&(b.posted, &b.id))),
        "date-taken-asc" => photos.sort_by(|a, b| (a.taken, &a.id).cmp(&(b.taken, &b.id))),
        "date-taken-desc" => photos.sort_by(|a, b| (b.taken, &b.id).cmp(&(a.taken, &a.id))),
        "interestingness-desc" => photos.sort_by(|a, b| (b.views, &b.id).cmp(&(a.views, &a.id))),
        "interestingness-asc" => photos.sort_by(|a, b| (a.views, &a.id).cmp(&(b.views, &b.id))),
        _ => newest_first(&mut photos),
    }
    let total = photos.len();
    let paging = ctx.paging(100, 500);
    // Past the cap, pages repeat the last page within it (README §9).
    let capped = &photos[..total.min(SEARCH_CAP)];
    let last_page = capped.len().div_ceil(paging.per_page).max(1);
    let served = Paging {
        page: paging.page.min(last_page),
        per_page: paging.per_page,
    };
    let extras = ctx.extras();
    let items = served
        .slice(capped)
        .iter()
        .map(|photo| photo_item(&data, photo, &extras))
        .collect();
    Ok(one(paging
        .attrs(Node::new("photos"), total)
        .list("photo", items)))
}

/// A photo the caller may see, or the method's error 1.
fn visible<'a>(ctx: &Ctx<'_>, data: &'a Data, photo_id: &str) -> Result<&'a Photo, ApiError> {
    data.photos
        .get(photo_id)
        .filter(|photo| data.can_see(photo, ctx.viewer()))
        .ok_or_else(|| ctx.error(1))
}

/// A photo the caller owns, or the method's error 1 (Flickr does not tell "not yours" apart).
fn owned<'a>(ctx: &Ctx<'_>, data: &'a Data, photo_id: &str) -> Result<&'a Photo, ApiError> {
    let me = ctx.me()?;
    data.photos
        .get(photo_id)
        .filter(|photo| photo.owner == me)
        .ok_or_else(|| ctx.error(1))
}

fn tag_node(data: &Data, tag: &Tag) -> Node {
    let authorname = data
        .user(&tag.author)
        .map(|user| user.username.clone())
        .unwrap_or_default();
    Node::new("tag")
        .attr("id", tag.id.clone())
        .attr("author", tag.author.clone())
        .attr("authorname", authorname)
        .attr("raw", tag.raw.clone())
        .flag("machine_tag", tag.machine)
        .text(tag.clean.clone())
}

/// `flickr.photos.getInfo`.
pub fn get_info(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let photo = visible(ctx, &data, ctx.arg("photo_id").unwrap_or_default())?;
    let owner = data.user(&photo.owner);
    let mine = ctx.viewer() == Some(photo.owner.as_str());
    let is_favorite = ctx.viewer().is_some_and(|viewer| {
        data.favorites
            .get(viewer)
            .is_some_and(|faves| faves.iter().any(|(id, _)| id == &photo.id))
    });
    let n_comments = data
        .comments
        .values()
        .filter(|comment| comment.photo_id == photo.id)
        .count();
    let mut node = Node::new("photo")
        .attr("id", photo.id.clone())
        .attr("secret", photo.secret.clone())
        .attr("server", photo.server.clone())
        .num("farm", photo.farm)
        .attr("dateuploaded", photo.posted.to_string())
        .flag("isfavorite", is_favorite)
        .attr("license", photo.license.clone())
        .attr("safety_level", "0")
        .num("rotation", 0)
        .attr("originalsecret", photo.secret.clone())
        .attr("originalformat", photo.original_format.clone())
        .attr("views", photo.views.to_string())
        .attr("media", "photo")
        .child(
            Node::new("owner")
                .attr("nsid", photo.owner.clone())
                .attr(
                    "username",
                    owner.map(|user| user.username.clone()).unwrap_or_default(),
                )
                .attr(
                    "realname",
                    owner.map(|user| user.realname.clone()).unwrap_or_default(),
                )
                .attr(
                    "location",
                    owner.map(|user| user.location.clone()).unwrap_or_default(),
                )
                .attr("iconserver", "0")
                .num("iconfarm", 0)
                .attr("path_alias", ""),
        )
        .text_child("title", photo.title.clone())
        .text_child("description", photo.description.clone())
        .child(
            Node::new("visibility")
                .flag("ispublic", photo.is_public)
                .flag("isfriend", photo.is_friend)
                .flag("isfamily", photo.is_family),
        )
        .child(
            Node::new("dates")
                .attr("posted", photo.posted.to_string())
                .attr("taken", mysql_datetime(photo.taken))
                .num("takengranularity", 0)
                .attr("takenunknown", "0")
                .attr("lastupdate", photo.lastupdate.to_string()),
        );
    if mine {
        node = node.child(
            Node::new("permissions")
                .num("permcomment", 3)
                .num("permaddmeta", 2),
        );
    }
    let can_edit = mine;
    node = node
        .child(
            Node::new("editability")
                .num("cancomment", i64::from(ctx.viewer().is_some()))
                .flag("canaddmeta", can_edit),
        )
        .child(
            Node::new("publiceditability")
                .num("cancomment", 1)
                .num("canaddmeta", 0),
        )
        .child(
            Node::new("usage")
                .num("candownload", 1)
                .num("canblog", 0)
                .num("canprint", 0)
                .num("canshare", 1),
        )
        .text_child("comments", n_comments.to_string())
        .child(Node::new("notes").list("note", Vec::new()))
        .child(Node::new("people").num("haspeople", 0))
        .child(Node::new("tags").list(
            "tag",
            photo.tags.iter().map(|tag| tag_node(&data, tag)).collect(),
        ))
        .child(Node::new("urls").list(
            "url",
            vec![Node::new("url").attr("type", "photopage").text(photo_page(photo))],
        ));
    Ok(one(node))
}

/// `flickr.photos.getRecent`: everybody's latest public photos.
pub fn get_recent(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let mut photos: Vec<&Photo> = data
        .photos
        .values()
        .filter(|photo| photo.is_public)
        .collect();
    newest_first(&mut photos);
    Ok(one(photo_list(
        &data,
        &photos,
        ctx.paging(100, 500),
        &ctx.extras(),
    )))
}

/// `flickr.photos.recentlyUpdated`: the caller's photos changed at or after `min_date`, most
/// recently changed first, each with `lastupdate`.
pub fn recently_updated(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let me = ctx.me()?;
    let min_date = ctx
        .date("min_date", || ctx.error(2))?
        .ok_or_else(|| ctx.error(1))?;
    let data = ctx.world.data.read();
    let mut photos: Vec<&Photo> = data
        .photos
        .values()
        .filter(|photo| photo.owner == me && photo.lastupdate >= min_date)
        .collect();
    photos.sort_by(|a, b| (b.lastupdate, &b.id).cmp(&(a.lastupdate, &a.id)));
    let paging = ctx.paging(100, 500);
    let extras = ctx.extras().without("last_update");
    let items = paging
        .slice(&photos)
        .iter()
        .map(|photo| {
            photo_item(&data, photo, &extras).attr("lastupdate", photo.lastupdate.to_string())
        })
        .collect();
    Ok(one(paging
        .attrs(Node::new("photos"), photos.len())
        .list("photo", items)))
}

/// `flickr.photos.setMeta`: title and/or description, at least one.
pub fn set_meta(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let photo_id = ctx.arg("photo_id").unwrap_or_default();
    let title = ctx.incoming.get("title");
    let description = ctx.incoming.get("description");
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    owned(ctx, &data, photo_id)?;
    if title.is_none() && description.is_none() {
        return Err(ctx.error(2));
    }
    data.set_meta(photo_id, title, description, now)
        .map_err(|_| ctx.error(1))?;
    Ok(Vec::new())
}

fn write_tags(ctx: &Ctx<'_>, replace: bool) -> Result<Vec<Child>, ApiError> {
    let photo_id = ctx.arg("photo_id").unwrap_or_default();
    let tags = split_tags(ctx.incoming.get("tags").unwrap_or_default());
    let me = ctx.me()?.to_owned();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    owned(ctx, &data, photo_id)?;
    let written = if replace {
        data.set_tags(photo_id, &me, &tags, now)
    } else {
        data.add_tags(photo_id, &me, &tags, now)
    }
    .map_err(|_| ctx.error(1))?;
    if !written {
        return Err(ctx.error(2));
    }
    Ok(Vec::new())
}

/// `flickr.photos.setTags`: replaces every tag.
pub fn set_tags(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    write_tags(ctx, true)
}

/// `flickr.photos.addTags`: appends tags, all or nothing past the limit.
pub fn add_tags(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    write_tags(ctx, false)
}

/// `flickr.photos.removeTag`: by tag id; the tag's author or the photo's owner may remove it.
pub fn remove_tag(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let tag_id = ctx.arg("tag_id").unwrap_or_default();
    let me = ctx.me()?;
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    let photo = data
        .photos
        .values_mut()
        .find(|photo| photo.tags.iter().any(|tag| tag.id == tag_id))
        .ok_or_else(|| ctx.error(1))?;
    let allowed = photo.owner == me
        || photo
            .tags
            .iter()
            .any(|tag| tag.id == tag_id && tag.author == me);
    if !allowed {
        return Err(ctx.error(1));
    }
    photo.tags.retain(|tag| tag.id != tag_id);
    photo.lastupdate = now;
    Ok(Vec::new())
}

/// `flickr.photos.delete`: the photo and every trace of it.
pub fn delete(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let photo_id = ctx.arg("photo_id").unwrap_or_default();
    let now = ctx.world.now();
    let mut data = ctx.world.data.write();
    owned(ctx, &data, photo_id)?;
    data.remove_photo(photo_id, now);
    Ok(Vec::new())
}

/// `flickr.tags.getListPhoto`: a photo's tags with their ids.
pub fn tags_of_photo(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let data = ctx.world.data.read();
    let photo = visible(ctx, &data, ctx.arg("photo_id").unwrap_or_default())?;
    Ok(one(Node::new("photo").attr("id", photo.id.clone()).child(
        Node::new("tags").list(
            "tag",
            photo.tags.iter().map(|tag| tag_node(&data, tag)).collect(),
        ),
    )))
}

/// The primary photo's image fields of a set or gallery list entry.
pub fn primary_fields(node: Node, photo: Option<&Photo>) -> Node {
    match photo {
        Some(photo) => node
            .attr("secret", photo.secret.clone())
            .attr("server", photo.server.clone())
            .num("farm", photo.farm),
        None => node.attr("secret", "").attr("server", "").num("farm", 0),
    }
}

//! Diagnostics (`flickr.test.*`), `flickr.auth.oauth.checkToken`, `flickr.reflection.*` (from the
//! embedded reflection data) and `flickr.urls.*`.

use super::super::envelope::{ApiError, Child, Node};
use super::super::reflection::reflection;
use super::{Ctx, one};

/// `flickr.test.echo`: every parameter back as `{name: {_content: value}}` (but the signature).
pub fn echo(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let mut seen = std::collections::HashSet::new();
    Ok(ctx
        .incoming
        .params
        .iter()
        .filter(|(name, _)| name != "oauth_signature" && name != "stat")
        .filter(|(name, _)| seen.insert(name.clone()))
        .map(|(name, value)| Child::One(Node::text_only(name, value.clone())))
        .collect())
}

/// `flickr.test.login`: who the token acts for.
pub fn login(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let nsid = ctx.me()?;
    let data = ctx.world.data.read();
    let username = data
        .user(nsid)
        .map(|user| user.username.clone())
        .unwrap_or_default();
    Ok(one(Node::new("user")
        .attr("id", nsid)
        .attr("path_alias", "")
        .text_child("username", username)))
}

/// `flickr.test.null`: nothing.
pub fn null(_ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    Ok(Vec::new())
}

/// `flickr.auth.oauth.checkToken`: the signing token's perms and owner.
pub fn check_token(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let access = ctx
        .caller
        .access
        .as_ref()
        .ok_or_else(|| ApiError::new(98, "Invalid auth token"))?;
    let token = ctx.arg("oauth_token").unwrap_or_default().to_owned();
    let data = ctx.world.data.read();
    let (username, fullname) = data
        .user(&access.nsid)
        .map(|user| (user.username.clone(), user.realname.clone()))
        .unwrap_or_default();
    Ok(one(Node::new("oauth")
        .text_child("token", token)
        .text_child("perms", access.perms.as_str())
        .child(
            Node::new("user")
                .attr("nsid", access.nsid.clone())
                .attr("username", username)
                .attr("fullname", fullname),
        )))
}

/// `flickr.reflection.getMethods`: every method of the reflection data, served or not.
pub fn get_methods(_ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let payload = Node::from_json("rsp", &reflection().get_methods);
    Ok(payload.children)
}

/// `flickr.reflection.getMethodInfo`: the method's stored entry.
pub fn get_method_info(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let name = ctx.arg("method_name").unwrap_or_default();
    let info = reflection().method(name).ok_or_else(|| ctx.error(1))?;
    Ok(Node::from_json("rsp", &info.entry).children)
}

/// The user of a `flickr.urls.*` call: `user_id`, else the caller.
fn url_user(ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let nsid = match ctx.non_empty("user_id") {
        Some(user_id) => user_id.to_owned(),
        None => ctx.viewer().ok_or_else(|| ctx.error(2))?.to_owned(),
    };
    let data = ctx.world.data.read();
    data.resolve_user(&nsid, ctx.viewer())
        .map(|user| user.nsid.clone())
        .ok_or_else(|| ctx.error(1))
}

/// `flickr.urls.getUserProfile`.
pub fn user_profile_url(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let nsid = url_user(ctx)?;
    Ok(one(Node::new("user").attr("nsid", nsid.clone()).attr(
        "url",
        format!("https://www.flickr.com/people/{nsid}/"),
    )))
}

/// `flickr.urls.getUserPhotos`.
pub fn user_photos_url(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let nsid = url_user(ctx)?;
    Ok(one(Node::new("user").attr("nsid", nsid.clone()).attr(
        "url",
        format!("https://www.flickr.com/photos/{nsid}/"),
    )))
}

/// `flickr.urls.lookupUser`: the NSID or username after `/people/` or `/photos/`.
pub fn lookup_user(ctx: &Ctx<'_>) -> Result<Vec<Child>, ApiError> {
    let url = ctx.arg("url").unwrap_or_default();
    let segments: Vec<&str> = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let who = segments
        .windows(2)
        .find(|pair| pair[0] == "people" || pair[0] == "photos")
        .map(|pair| super::super::oauth::percent_decode(pair[1]))
        .ok_or_else(|| ctx.error(1))?;
    let data = ctx.world.data.read();
    let user = data
        .user(&who)
        .or_else(|| {
            data.users
                .values()
                .find(|user| user.username.eq_ignore_ascii_case(&who))
        })
        .ok_or_else(|| ctx.error(1))?;
    Ok(one(Node::new("user")
        .attr("id", user.nsid.clone())
        .text_child("username", user.username.clone())))
}

//! `POST /services/upload/` and `/services/replace/` (reference README §7): multipart, signed over
//! every text field but never the `photo` file, write perms, answered in REST XML whatever the
//! client asks (`<rsp stat="ok"><photoid>…</photoid></rsp>`).
//!
//! `async=1` is accepted and ignored: the photo is stored at once and its id answered, since the
//! simulator does not serve `flickr.photos.upload.checkTickets`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};

use super::envelope::{Answer, ApiError, Child, Format, Node};
use super::gate::{self, Fault, Needs, Refusal};
use super::request::Incoming;
use super::state::{Perms, World, split_tags};

const NEEDS: Needs = Needs {
    perms: Perms::Write,
    login: true,
    signing: true,
};

/// `POST /services/upload/`.
pub async fn upload(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = serve(&world, &method, &uri, &headers, &body, store_upload).await;
    gate::log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        Some("upload".into()),
        response.status(),
    );
    response
}

/// `POST /services/replace/`.
pub async fn replace(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = serve(&world, &method, &uri, &headers, &body, store_replace).await;
    gate::log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        Some("replace".into()),
        response.status(),
    );
    response
}

type Store = fn(&World, &Incoming, &str) -> Result<Node, ApiError>;

async fn serve(
    world: &World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    store: Store,
) -> Response {
    let fault = gate::draw_fault(world).await;
    let incoming = match Incoming::parse(method, uri, headers, body) {
        Ok(incoming) => incoming,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let xml = |answer: Answer| answer.render(&Format::Xml);
    match fault {
        Some(Fault::Api105) => {
            return xml(Answer::Fail(ApiError::new(
                105,
                "Service currently unavailable",
            )));
        }
        Some(fault) => return gate::fault_page(fault),
        None => {}
    }
    let caller = match gate::admit(world, &incoming) {
        Ok(caller) => caller,
        Err(Refusal::TooManyRequests) => return gate::too_many_requests(),
        Err(Refusal::Api(error)) => return xml(Answer::Fail(error)),
    };
    if let Err(error) = gate::authorize_call(NEEDS, &incoming.http_method, &caller) {
        return xml(Answer::Fail(error));
    }
    let nsid = caller.nsid().unwrap_or_default().to_owned();
    match store(world, &incoming, &nsid) {
        Ok(node) => xml(Answer::Ok(vec![Child::One(node)])),
        Err(error) => xml(Answer::Fail(error)),
    }
}

/// The `photo` file part, refused when absent (2) or empty (4).
fn photo_part(incoming: &Incoming) -> Result<&super::request::FilePart, ApiError> {
    let part = incoming
        .files
        .iter()
        .find(|part| part.name == "photo")
        .ok_or_else(|| ApiError::new(2, "No photo specified"))?;
    if part.data.is_empty() {
        return Err(ApiError::new(4, "Filesize was zero"));
    }
    Ok(part)
}

fn format_of(filename: Option<&str>) -> String {
    filename
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .filter(|extension| !extension.is_empty() && extension.len() <= 5)
        .unwrap_or_else(|| "jpg".into())
}

fn flag(incoming: &Incoming, name: &str, default: bool) -> bool {
    match incoming.get(name) {
        Some(value) => value.trim() == "1",
        None => default,
    }
}

fn store_upload(world: &World, incoming: &Incoming, owner: &str) -> Result<Node, ApiError> {
    let part = photo_part(incoming)?;
    // Flickr titles an untitled upload after its file name.
    let title = incoming.get("title").map(str::to_owned).unwrap_or_else(|| {
        part.filename
            .as_deref()
            .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
            .unwrap_or_default()
            .to_owned()
    });
    let description = incoming.get("description").unwrap_or_default();
    let tags = incoming.get("tags").map(split_tags).unwrap_or_default();
    let now = world.now();
    let mut data = world.data.write();
    let id = data
        .insert_photo(owner, &title, description, &tags, now)
        .map_err(|_| ApiError::new(3, "General upload failure"))?;
    if let Some(photo) = data.photos.get_mut(&id) {
        photo.is_public = flag(incoming, "is_public", true);
        photo.is_friend = flag(incoming, "is_friend", false);
        photo.is_family = flag(incoming, "is_family", false);
        photo.original_format = format_of(part.filename.as_deref());
        photo.size = part.data.len();
    }
    Ok(Node::text_only("photoid", id))
}

fn store_replace(world: &World, incoming: &Incoming, owner: &str) -> Result<Node, ApiError> {
    let part = photo_part(incoming)?;
    let photo_id = incoming
        .get("photo_id")
        .ok_or_else(|| ApiError::new(1, "Photo not found"))?;
    let now = world.now();
    let mut data = world.data.write();
    let secret = data.ids.secret();
    let original_secret = data.ids.secret();
    let photo = data
        .photos
        .get_mut(photo_id)
        .filter(|photo| photo.owner == owner)
        .ok_or_else(|| ApiError::new(1, "Photo not found"))?;
    photo.secret = secret.clone();
    photo.original_format = format_of(part.filename.as_deref());
    photo.size = part.data.len();
    photo.lastupdate = now;
    Ok(Node::new("photoid")
        .attr("secret", secret)
        .attr("originalsecret", original_secret)
        .text(photo_id))
}

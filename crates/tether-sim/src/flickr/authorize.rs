//! The OAuth 1.0a flow at Flickr's URLs (reference README §4): `request_token` (signed with
//! `consumer_secret&`), the browser's `authorize` page, and `access_token` (signed with the request
//! token's secret, single-use, bound to its verifier).
//!
//! Errors are HTTP 401 with a form-encoded `oauth_problem=…` body, `debug_sbs` carrying the base
//! string the simulator computed. For automation, `authorize?…&sim_approve_as=<nsid>` approves at
//! once as that user and redirects, as the approve button does; with
//! [`FlickrSimConfig::auto_approve`](super::FlickrSimConfig::auto_approve) every visit of the page
//! does so as the first user, for clients that know only Flickr's URLs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};

use super::envelope::xml_escape;
use super::gate::{self, Fault, SignatureProblem, TokenUse};
use super::oauth::encode;
use super::request::Incoming;
use super::state::{Perms, RequestToken, World};

fn form_answer(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn problem(problem: &SignatureProblem) -> Response {
    form_answer(StatusCode::UNAUTHORIZED, problem.oauth_body())
}

fn rejected_parameter(name: &str) -> Response {
    form_answer(
        StatusCode::BAD_REQUEST,
        format!("oauth_problem=parameter_rejected&oauth_parameters_rejected={name}"),
    )
}

/// Faults, parsing, the consumer key and the hourly limit, shared by both token endpoints.
async fn prepare(
    world: &World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Incoming, Response> {
    // Error 105 has no form here: a fault on a token endpoint is always an HTML page.
    if let Some(fault) = gate::draw_fault(world).await {
        let page = if fault == Fault::BadGateway {
            Fault::BadGateway
        } else {
            Fault::Unavailable
        };
        return Err(gate::fault_page(page));
    }
    let incoming = Incoming::parse(method, uri, headers, body)
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()).into_response())?;
    let Some(key) = incoming.get("oauth_consumer_key") else {
        return Err(problem(&SignatureProblem::Absent(vec![
            "oauth_consumer_key",
        ])));
    };
    if world.consumer_secret(key).is_none() {
        return Err(problem(&SignatureProblem::ConsumerKeyUnknown));
    }
    if !world.limiter.lock().admit(key, world.now_ms()) {
        return Err(gate::too_many_requests());
    }
    Ok(incoming)
}

/// `GET|POST /services/oauth/request_token`.
pub async fn request_token(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match prepare(&world, &method, &uri, &headers, &body).await {
        Ok(incoming) => issue_request_token(&world, &incoming),
        Err(response) => response,
    };
    gate::log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        Some("oauth.request_token".into()),
        response.status(),
    );
    response
}

fn issue_request_token(world: &World, incoming: &Incoming) -> Response {
    let Some(callback) = incoming.get("oauth_callback") else {
        return problem(&SignatureProblem::Absent(vec!["oauth_callback"]));
    };
    let signed = match gate::check_signature(world, incoming, TokenUse::None) {
        Ok(signed) => signed,
        Err(refused) => return problem(&refused),
    };
    let callback_ok = callback == "oob"
        || url::Url::parse(callback).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
    if !callback_ok {
        return rejected_parameter("oauth_callback");
    }
    let mut data = world.data.write();
    let (token, secret) = data.ids.token();
    data.request_tokens.insert(
        token.clone(),
        RequestToken {
            consumer_key: signed.consumer_key,
            secret: secret.clone(),
            callback: callback.to_owned(),
            approval: None,
            spent: false,
        },
    );
    form_answer(
        StatusCode::OK,
        format!(
            "oauth_callback_confirmed=true&oauth_token={}&oauth_token_secret={}",
            encode(&token),
            encode(&secret)
        ),
    )
}

/// `GET|POST /services/oauth/access_token`.
pub async fn access_token(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match prepare(&world, &method, &uri, &headers, &body).await {
        Ok(incoming) => exchange(&world, &incoming),
        Err(response) => response,
    };
    gate::log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        Some("oauth.access_token".into()),
        response.status(),
    );
    response
}

fn exchange(world: &World, incoming: &Incoming) -> Response {
    let signed = match gate::check_signature(world, incoming, TokenUse::Request) {
        Ok(signed) => signed,
        Err(refused) => return problem(&refused),
    };
    let (Some(token), Some(request)) = (signed.token, signed.request_token) else {
        return problem(&SignatureProblem::TokenRejected);
    };
    let Some((nsid, perms, verifier)) = request.approval else {
        return problem(&SignatureProblem::TokenRejected);
    };
    if incoming.get("oauth_verifier") != Some(verifier.as_str()) {
        return form_answer(
            StatusCode::UNAUTHORIZED,
            "oauth_problem=verifier_invalid".into(),
        );
    }
    let mut data = world.data.write();
    // Spent under the write lock, so two concurrent exchanges cannot both succeed.
    match data.request_tokens.get_mut(&token) {
        Some(stored) if !stored.spent => stored.spent = true,
        _ => return problem(&SignatureProblem::TokenRejected),
    }
    let (access, secret) = data.mint_access_token(&signed.consumer_key, &nsid, perms);
    let (username, fullname) = data
        .user(&nsid)
        .map(|user| (user.username.clone(), user.realname.clone()))
        .unwrap_or_default();
    form_answer(
        StatusCode::OK,
        format!(
            "fullname={}&oauth_token={}&oauth_token_secret={}&user_nsid={}&username={}",
            encode(&fullname),
            encode(&access),
            encode(&secret),
            encode(&nsid),
            encode(&username)
        ),
    )
}

/// `GET|POST /services/oauth/authorize`: the approve page, its form's POST, and
/// `sim_approve_as=<nsid>` or the auto-approve option for automation. Not rate-limited or faulted: it is a browser page.
pub async fn authorize(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match Incoming::parse(&method, &uri, &headers, &body) {
        Ok(incoming) => authorize_page(&world, &incoming),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    gate::log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        Some("oauth.authorize".into()),
        response.status(),
    );
    response
}

fn authorize_page(world: &World, incoming: &Incoming) -> Response {
    let Some(token) = incoming.get("oauth_token") else {
        return form_answer(
            StatusCode::BAD_REQUEST,
            "oauth_problem=parameter_absent&oauth_parameters_absent=oauth_token".into(),
        );
    };
    let request = world
        .data
        .read()
        .request_tokens
        .get(token)
        .filter(|request| !request.spent)
        .cloned();
    let Some(request) = request else {
        return problem(&SignatureProblem::TokenRejected);
    };
    // Flickr's page always names a level; without one the simulator asks for the least.
    let perms = match incoming.get("perms") {
        None => Perms::Read,
        Some(text) => match Perms::parse(text) {
            Some(perms) => perms,
            None => return rejected_parameter("perms"),
        },
    };
    if let Some(nsid) = incoming.get("sim_approve_as") {
        return approve(world, token, &request, nsid, perms);
    }
    // The page's own form still posts its decision; only the visit is approved at once.
    if world.config().auto_approve && incoming.http_method != Method::POST {
        let first = world.data.read().user_order.first().cloned();
        return match first {
            Some(nsid) => approve(world, token, &request, &nsid, perms),
            None => page(
                StatusCode::CONFLICT,
                "No user to sign in as",
                "<p>The simulator has no user to approve as: add one with <code>POST /__sim/users</code>.</p>",
            ),
        };
    }
    if incoming.http_method == Method::POST {
        return match incoming.get("decision") {
            Some("approve") => {
                let nsid = incoming.get("user_nsid").unwrap_or_default();
                approve(world, token, &request, nsid, perms)
            }
            _ => {
                if let Some(stored) = world.data.write().request_tokens.get_mut(token) {
                    stored.spent = true;
                }
                page(
                    StatusCode::OK,
                    "Not authorised",
                    "<p>You did not give the application access. You can close this window.</p>",
                )
            }
        };
    }
    approve_form(world, token, &request, perms)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title} | Flickr (simulator)</title></head>\n<body><h1>{title}</h1>\n{body}\n</body></html>\n"
    );
    (status, Html(html)).into_response()
}

fn approve_form(world: &World, token: &str, request: &RequestToken, perms: Perms) -> Response {
    let data = world.data.read();
    let options: String = data
        .user_order
        .iter()
        .filter_map(|nsid| data.user(nsid))
        .map(|user| {
            format!(
                "<option value=\"{}\">{} ({})</option>",
                xml_escape(&user.nsid),
                xml_escape(&user.username),
                xml_escape(&user.nsid)
            )
        })
        .collect();
    let body = format!(
        "<p>The application <code>{app}</code> asks for <strong>{perms}</strong> access to your Flickr account.</p>\n\
         <form method=\"post\" action=\"/services/oauth/authorize\">\n\
         <input type=\"hidden\" name=\"oauth_token\" value=\"{token}\">\n\
         <input type=\"hidden\" name=\"perms\" value=\"{perms}\">\n\
         <label>Sign in as <select name=\"user_nsid\">{options}</select></label>\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">OK, I'll authorise it</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">No thanks</button>\n\
         </form>",
        app = xml_escape(&request.consumer_key),
        perms = perms.as_str(),
        token = xml_escape(token),
    );
    page(StatusCode::OK, "Authorise application", &body)
}

fn approve(
    world: &World,
    token: &str,
    request: &RequestToken,
    nsid: &str,
    perms: Perms,
) -> Response {
    let mut data = world.data.write();
    if data.user(nsid).is_none() {
        return rejected_parameter("user_nsid");
    }
    let oob = request.callback == "oob";
    let verifier = data.ids.verifier(oob);
    let Some(stored) = data.request_tokens.get_mut(token) else {
        return problem(&SignatureProblem::TokenRejected);
    };
    stored.approval = Some((nsid.to_owned(), perms, verifier.clone()));
    drop(data);
    if oob {
        let body = format!(
            "<p>Enter this code in the application to finish:</p>\n<p><code id=\"oauth_verifier\">{}</code></p>",
            xml_escape(&verifier)
        );
        return page(StatusCode::OK, "Authorised", &body);
    }
    let separator = if request.callback.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{separator}oauth_token={}&oauth_verifier={}",
        request.callback,
        encode(token),
        encode(&verifier)
    );
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => rejected_parameter("oauth_callback"),
    }
}

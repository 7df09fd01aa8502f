//! What every `/services/*` request passes before a method runs: the request log, injected faults,
//! the consumer key (error 100), the hourly limit (HTTP 429, HTML), the OAuth signature (96, 97,
//! 98), the method (112), the verb (116), the token's perms (99), signing (97) and the required
//! arguments from the reflection data.
//!
//! [`check_signature`] is shared with the OAuth endpoints, which report the same problems as
//! `oauth_problem=…` instead of API codes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};

use super::envelope::{Answer, ApiError, Format};
use super::methods;
use super::oauth;
use super::reflection::reflection;
use super::request::Incoming;
use super::state::{AccessToken, Perms, RequestToken, World};
use crate::ghl::log::LoggedRequest;

/// Which token a signed request must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// None is looked up (`request_token`): the key is `consumer_secret&`.
    None,
    /// An approved, unspent request token (`access_token`).
    Request,
    /// An access token, or none for an app-only signed call (REST, upload, replace).
    Access,
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The app.
    pub consumer_key: String,
    /// The token it was signed with, if any.
    pub token: Option<String>,
    /// The access token, for [`TokenUse::Access`] with a token.
    pub access: Option<AccessToken>,
    /// The request token, for [`TokenUse::Request`].
    pub request_token: Option<RequestToken>,
}

/// Why a signed request was refused (RFC 5849 problem names in the OAuth endpoints' answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// Protocol parameters missing.
    #[error("parameter_absent")]
    Absent(Vec<&'static str>),
    /// Not `HMAC-SHA1`.
    #[error("signature_method_rejected")]
    MethodRejected,
    /// `oauth_version` other than `1.0`.
    #[error("version_rejected")]
    VersionRejected,
    /// The consumer key is not registered.
    #[error("consumer_key_unknown")]
    ConsumerKeyUnknown,
    /// Unknown, revoked, spent or unapproved token, or a token of another app.
    #[error("token_rejected")]
    TokenRejected,
    /// `oauth_timestamp` not a number or outside the window.
    #[error("timestamp_refused")]
    TimestampRefused,
    /// The signature does not match; carries the base string the simulator computed.
    #[error("signature_invalid")]
    SignatureInvalid(String),
    /// The nonce was used before with the same key, token and timestamp.
    #[error("nonce_used")]
    NonceUsed,
}

impl SignatureProblem {
    /// How a client should treat it.
    pub fn kind(&self) -> tether_core::ErrorKind {
        tether_core::ErrorKind::Auth
    }

    /// The REST error (`oauth_problem` has no place in API answers).
    pub fn api_error(&self) -> ApiError {
        match self {
            SignatureProblem::Absent(names) if names.contains(&"oauth_signature") => {
                ApiError::new(97, "Missing signature")
            }
            SignatureProblem::ConsumerKeyUnknown => {
                ApiError::new(100, "Invalid API Key (Key not found)")
            }
            SignatureProblem::TokenRejected => ApiError::new(98, "Invalid auth token"),
            SignatureProblem::TimestampRefused => ApiError::new(
                96,
                "Invalid signature: oauth_timestamp is outside the allowed window",
            ),
            SignatureProblem::NonceUsed => {
                ApiError::new(96, "Invalid signature: oauth_nonce was already used")
            }
            _ => ApiError::new(96, "Invalid signature"),
        }
    }

    /// The form-encoded body of a 401 at the OAuth endpoints.
    pub fn oauth_body(&self) -> String {
        match self {
            SignatureProblem::Absent(names) => format!(
                "oauth_problem=parameter_absent&oauth_parameters_absent={}",
                oauth::encode(&names.join("&"))
            ),
            // Flickr writes the base string as is, `&`s included: everything after `debug_sbs=`.
            SignatureProblem::SignatureInvalid(base_string) => {
                format!("oauth_problem=signature_invalid&debug_sbs={base_string}")
            }
            other => format!("oauth_problem={other}"),
        }
    }
}

/// Checks an OAuth-signed request: parameters present, HMAC-SHA1, known key, the token `token_use`
/// asks for, a fresh timestamp, the signature (constant time), then an unused nonce (recorded only
/// for requests that pass, so a refused request does not burn its nonce).
pub fn check_signature(
    world: &World,
    incoming: &Incoming,
    token_use: TokenUse,
) -> Result<Signed, SignatureProblem> {
    let mut required = vec![
        "oauth_consumer_key",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_timestamp",
        "oauth_nonce",
    ];
    if token_use == TokenUse::Request {
        required.extend(["oauth_token", "oauth_verifier"]);
    }
    let absent: Vec<&'static str> = required
        .into_iter()
        .filter(|name| incoming.get(name).is_none())
        .collect();
    if !absent.is_empty() {
        return Err(SignatureProblem::Absent(absent));
    }
    let get = |name: &str| incoming.get(name).unwrap_or_default();
    if get("oauth_signature_method") != oauth::HMAC_SHA1 {
        return Err(SignatureProblem::MethodRejected);
    }
    if incoming
        .get("oauth_version")
        .is_some_and(|version| version != "1.0")
    {
        return Err(SignatureProblem::VersionRejected);
    }
    let consumer_key = get("oauth_consumer_key").to_owned();
    let consumer_secret = world
        .consumer_secret(&consumer_key)
        .ok_or(SignatureProblem::ConsumerKeyUnknown)?
        .to_owned();
    let token = incoming.get("oauth_token").map(str::to_owned);
    let mut access = None;
    let mut request_token = None;
    let token_secret = {
        let data = world.data.read();
        match (token_use, &token) {
            (TokenUse::None, _) | (TokenUse::Access, None) => String::new(),
            (TokenUse::Access, Some(token)) => {
                let found = data
                    .access_tokens
                    .get(token)
                    .filter(|found| found.consumer_key == consumer_key)
                    .ok_or(SignatureProblem::TokenRejected)?;
                access = Some(found.clone());
                found.secret.clone()
            }
            (TokenUse::Request, Some(token)) => {
                let found = data
                    .request_tokens
                    .get(token)
                    .filter(|found| {
                        found.consumer_key == consumer_key
                            && !found.spent
                            && found.approval.is_some()
                    })
                    .ok_or(SignatureProblem::TokenRejected)?;
                request_token = Some(found.clone());
                found.secret.clone()
            }
            (TokenUse::Request, None) => {
                return Err(SignatureProblem::Absent(vec!["oauth_token"]));
            }
        }
    };
    let timestamp: i64 = get("oauth_timestamp")
        .parse()
        .map_err(|_| SignatureProblem::TimestampRefused)?;
    if !world.timestamp_fresh(timestamp) {
        return Err(SignatureProblem::TimestampRefused);
    }
    let http_method = incoming.http_method.as_str();
    let key = oauth::signing_key(&consumer_secret, &token_secret);
    let signature = get("oauth_signature");
    let base_string = oauth::base_string(http_method, &incoming.base_url, &incoming.params);
    // A client signs the URL it believes it calls: the simulator's own, or Flickr's production
    // URL when only its transport was pointed here. Everything but the base URI stays the same.
    let verified = oauth::verify(&key, &base_string, signature)
        || oauth::production_base_urls(&incoming.path)
            .iter()
            .any(|url| {
                let production = oauth::base_string(http_method, url, &incoming.params);
                oauth::verify(&key, &production, signature)
            });
    if !verified {
        return Err(SignatureProblem::SignatureInvalid(base_string));
    }
    let token_for_nonce = if token_use == TokenUse::None {
        ""
    } else {
        token.as_deref().unwrap_or_default()
    };
    if !world.use_nonce(
        &consumer_key,
        token_for_nonce,
        timestamp,
        get("oauth_nonce"),
    ) {
        return Err(SignatureProblem::NonceUsed);
    }
    Ok(Signed {
        consumer_key,
        token: (token_use != TokenUse::None).then_some(token).flatten(),
        access,
        request_token,
    })
}

/// The consumer key of an API request: `oauth_consumer_key` when signed, else `api_key`.
pub fn consumer_key(world: &World, incoming: &Incoming) -> Result<String, ApiError> {
    let oauth_key = incoming.get("oauth_consumer_key");
    let api_key = incoming.get("api_key");
    let key = match (oauth_key, api_key) {
        (Some(oauth_key), Some(api_key)) if oauth_key != api_key => {
            return Err(ApiError::new(100, "Invalid API Key (Key not found)"));
        }
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => {
            return Err(ApiError::new(
                100,
                "Invalid API Key (Key has invalid format)",
            ));
        }
    };
    if world.consumer_secret(key).is_none() {
        return Err(ApiError::new(100, "Invalid API Key (Key not found)"));
    }
    Ok(key.to_owned())
}

/// A fault drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An HTML 502 page.
    BadGateway,
    /// An HTML 503 page.
    Unavailable,
    /// Flickr's error 105 in the API's own format.
    Api105,
}

/// Waits the injected latency, then draws this request's fault.
pub async fn draw_fault(world: &World) -> Option<Fault> {
    let faults = world.faults.lock().clone();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.error_rate <= 0.0 {
        return None;
    }
    let mut rng = world.fault_rng.lock();
    (rng.f64() < faults.error_rate).then(|| match rng.u8(..3) {
        0 => Fault::BadGateway,
        1 => Fault::Unavailable,
        _ => Fault::Api105,
    })
}

fn html_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>\n"
    );
    (status, Html(body)).into_response()
}

/// The HTML answer of an injected 502 or 503.
pub fn fault_page(fault: Fault) -> Response {
    match fault {
        Fault::BadGateway => html_page(
            StatusCode::BAD_GATEWAY,
            "502 Bad Gateway",
            "The server returned an invalid or incomplete response.",
        ),
        _ => html_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable",
            "Flickr is having a nap. Please try again later.",
        ),
    }
}

/// The hourly limit's answer: HTTP 429 with an HTML body, as Flickr's front end sends.
pub fn too_many_requests() -> Response {
    html_page(
        StatusCode::TOO_MANY_REQUESTS,
        "429 Too Many Requests",
        "You have sent too many requests in a given amount of time.",
    )
}

/// Any path Flickr does not serve.
pub async fn not_found(uri: Uri) -> Response {
    html_page(
        StatusCode::NOT_FOUND,
        "404 Not Found",
        &format!("No page at {}.", super::envelope::xml_escape(uri.path())),
    )
}

/// Records a request and its answer in the log.
pub fn log_request(
    world: &World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    operation: Option<String>,
    status: StatusCode,
) {
    if !world.log.enabled() {
        return;
    }
    world.log.push(LoggedRequest {
        seq: 0,
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(body).into_owned(),
        operation_id: operation,
        status: status.as_u16(),
    });
}

/// Who is calling, once the gate let a request through.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app.
    pub consumer_key: String,
    /// Whether the request was signed.
    pub signed: bool,
    /// The access token's grant, when signed with one.
    pub access: Option<AccessToken>,
}

impl Caller {
    /// The user acting, when signed with an access token.
    pub fn nsid(&self) -> Option<&str> {
        self.access.as_ref().map(|access| access.nsid.as_str())
    }

    /// The perms granted (none without a token).
    pub fn perms(&self) -> Perms {
        self.access
            .as_ref()
            .map(|access| access.perms)
            .unwrap_or(Perms::None)
    }
}

/// What a method declares, for the gate: `(perms, needs login, needs signing)`.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The permission it requires.
    pub perms: Perms,
    /// It needs a user.
    pub login: bool,
    /// It needs a signature.
    pub signing: bool,
}

/// Key, hourly limit and signature of an API request: the caller, or the answer to give.
pub fn admit(world: &World, incoming: &Incoming) -> Result<Caller, Refusal> {
    let consumer_key = consumer_key(world, incoming).map_err(Refusal::Api)?;
    if !world.limiter.lock().admit(&consumer_key, world.now_ms()) {
        return Err(Refusal::TooManyRequests);
    }
    if !incoming.is_oauth() {
        return Ok(Caller {
            consumer_key,
            signed: false,
            access: None,
        });
    }
    let signed = check_signature(world, incoming, TokenUse::Access)
        .map_err(|problem| Refusal::Api(problem.api_error()))?;
    Ok(Caller {
        consumer_key: signed.consumer_key,
        signed: true,
        access: signed.access,
    })
}

/// Verb, perms and signing against what the method needs.
pub fn authorize_call(needs: Needs, http_method: &Method, caller: &Caller) -> Result<(), ApiError> {
    if needs.perms >= Perms::Write && http_method != Method::POST {
        return Err(ApiError::new(
            116,
            "The POST method is now required for all setters",
        ));
    }
    let granted = caller.perms();
    if needs.perms > granted || (needs.login && caller.access.is_none()) {
        let required = needs.perms.max(Perms::Read);
        return Err(ApiError::new(
            99,
            format!(
                "Insufficient permissions. Method requires {} privileges; {} granted.",
                required.as_str(),
                granted.as_str()
            ),
        ));
    }
    if needs.signing && !caller.signed {
        return Err(ApiError::new(97, "Missing signature"));
    }
    Ok(())
}

/// Why the gate refused a request.
#[derive(Debug)]
pub enum Refusal {
    /// An API error, answered in the request's format.
    Api(ApiError),
    /// The hourly limit.
    TooManyRequests,
}

/// `GET|POST /services/rest` and `/services/rest/`.
pub async fn rest(
    State(world): State<Arc<World>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, operation) = serve_rest(&world, &method, &uri, &headers, &body).await;
    log_request(
        &world,
        &method,
        &uri,
        &headers,
        &body,
        operation,
        response.status(),
    );
    response
}

async fn serve_rest(
    world: &World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, Option<String>) {
    let fault = draw_fault(world).await;
    let incoming = match Incoming::parse(method, uri, headers, body) {
        Ok(incoming) => incoming,
        Err(error) => {
            return (
                (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
                None,
            );
        }
    };
    let method_name = incoming.get("method").map(str::to_owned);
    let format = match Format::of(
        incoming.get("format"),
        incoming.get("nojsoncallback"),
        incoming.get("jsoncallback"),
    ) {
        Ok(format) => format,
        Err(name) => {
            let error = ApiError::new(111, format!("Format \"{name}\" not found"));
            return (Answer::Fail(error).render(&Format::Xml), method_name);
        }
    };
    match fault {
        Some(Fault::Api105) => {
            let error = ApiError::new(105, "Service currently unavailable");
            return (Answer::Fail(error).render(&format), method_name);
        }
        Some(fault) => return (fault_page(fault), method_name),
        None => {}
    }
    let answer = match call(world, &incoming) {
        Ok(answer) => answer,
        Err(Refusal::TooManyRequests) => return (too_many_requests(), method_name),
        Err(Refusal::Api(error)) => Answer::Fail(error),
    };
    (answer.render(&format), method_name)
}

/// Runs one REST call through the gate and its method.
fn call(world: &World, incoming: &Incoming) -> Result<Answer, Refusal> {
    let caller = admit(world, incoming)?;
    let name = incoming.get("method").unwrap_or_default();
    let Some(info) = reflection().method(name) else {
        return Err(Refusal::Api(ApiError::new(
            112,
            format!("Method \"{name}\" not found"),
        )));
    };
    let Some(handler) = methods::handler(name) else {
        return Err(Refusal::Api(ApiError::new(
            methods::NOT_SERVED,
            format!("Method \"{name}\" exists at Flickr but is not served by the simulator"),
        )));
    };
    let needs = Needs {
        perms: info.perms,
        login: info.needs_login,
        signing: info.needs_signing,
    };
    authorize_call(needs, &incoming.http_method, &caller).map_err(Refusal::Api)?;
    for argument in &info.required {
        // `oauth_consumer_key` stands for `api_key` on signed calls (README §2).
        if argument == "api_key" {
            continue;
        }
        if incoming.get(argument).is_none() {
            return Err(Refusal::Api(info.missing_argument(argument)));
        }
    }
    let ctx = methods::Ctx {
        world,
        incoming,
        caller: &caller,
        info,
    };
    Ok(match handler(&ctx) {
        Ok(children) => Answer::Ok(children),
        Err(error) => Answer::Fail(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flickr::{DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSimConfig};

    const HOST: &str = "127.0.0.1:8803";

    /// A request to `path` on [`HOST`], its OAuth parameters in the query, signed with `secret`
    /// over `signed_url`.
    fn request(
        world: &World,
        method: &Method,
        path: &str,
        signed_url: &str,
        secret: &str,
    ) -> Incoming {
        let mut params: Vec<(String, String)> = [
            ("oauth_consumer_key", DEFAULT_CONSUMER_KEY),
            ("oauth_signature_method", oauth::HMAC_SHA1),
            ("oauth_version", "1.0"),
            ("oauth_callback", "http://127.0.0.1:9/back"),
            ("method", "flickr.test.echo"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        params.push(("oauth_timestamp".into(), world.now().to_string()));
        params.push(("oauth_nonce".into(), fastrand::u64(..).to_string()));
        let base_string = oauth::base_string(method.as_str(), signed_url, &params);
        let signature = oauth::sign(&oauth::signing_key(secret, ""), &base_string);
        params.push(("oauth_signature".into(), signature));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let uri: Uri = format!("{path}?{query}").parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HOST.parse().unwrap());
        Incoming::parse(method, &uri, &headers, &[]).unwrap()
    }

    fn check(method: Method, path: &str, signed_url: &str, secret: &str) -> Result<(), String> {
        let world = World::new(FlickrSimConfig::default());
        let incoming = request(&world, &method, path, signed_url, secret);
        match check_signature(&world, &incoming, TokenUse::None) {
            Ok(signed) => {
                assert_eq!(signed.consumer_key, DEFAULT_CONSUMER_KEY);
                Ok(())
            }
            Err(SignatureProblem::SignatureInvalid(base_string)) => Err(base_string),
            Err(other) => panic!("{path} signed over {signed_url}: {other}"),
        }
    }

    #[test]
    fn a_signature_over_the_served_url_verifies() {
        for path in ["/services/rest", "/services/rest/", "/services/upload/"] {
            let served = format!("http://{HOST}{path}");
            assert_eq!(
                check(Method::GET, path, &served, DEFAULT_CONSUMER_SECRET),
                Ok(())
            );
        }
    }

    #[test]
    fn a_signature_over_flickrs_production_url_verifies() {
        let accepted = [
            (
                Method::GET,
                "/services/rest",
                "https://api.flickr.com/services/rest",
            ),
            (
                Method::POST,
                "/services/rest/",
                "https://api.flickr.com/services/rest/",
            ),
            (
                Method::GET,
                "/services/rest/",
                "https://www.flickr.com/services/rest/",
            ),
            (
                Method::POST,
                "/services/upload",
                "https://up.flickr.com/services/upload",
            ),
            (
                Method::POST,
                "/services/upload/",
                "https://up.flickr.com/services/upload/",
            ),
            (
                Method::POST,
                "/services/replace/",
                "https://up.flickr.com/services/replace/",
            ),
            (
                Method::GET,
                "/services/oauth/request_token",
                "https://www.flickr.com/services/oauth/request_token",
            ),
            (
                Method::GET,
                "/services/oauth/access_token",
                "https://www.flickr.com/services/oauth/access_token",
            ),
        ];
        for (method, path, signed_url) in accepted {
            assert_eq!(
                check(method, path, signed_url, DEFAULT_CONSUMER_SECRET),
                Ok(()),
                "{path} signed over {signed_url}"
            );
        }
    }

    #[test]
    fn any_other_base_url_or_a_wrong_secret_is_refused_with_the_served_base_string() {
        let refused = [
            // The path is signed exactly as sent: a slash more or less is another URL.
            (
                "/services/rest",
                "https://api.flickr.com/services/rest/",
                DEFAULT_CONSUMER_SECRET,
            ),
            (
                "/services/rest/",
                "https://api.flickr.com/services/rest",
                DEFAULT_CONSUMER_SECRET,
            ),
            // Another endpoint's host, another host, plain HTTP to Flickr.
            (
                "/services/rest",
                "https://up.flickr.com/services/rest",
                DEFAULT_CONSUMER_SECRET,
            ),
            (
                "/services/rest",
                "https://example.com/services/rest",
                DEFAULT_CONSUMER_SECRET,
            ),
            (
                "/services/rest",
                "http://api.flickr.com/services/rest",
                DEFAULT_CONSUMER_SECRET,
            ),
            // The right URLs with the wrong secret.
            (
                "/services/rest",
                "https://api.flickr.com/services/rest",
                "wrong-secret",
            ),
            (
                "/services/rest",
                "http://127.0.0.1:8803/services/rest",
                "wrong-secret",
            ),
        ];
        for (path, signed_url, secret) in refused {
            let base_string = check(Method::GET, path, signed_url, secret)
                .expect_err(&format!("{path} signed over {signed_url} with {secret}"));
            let served = oauth::encode(&format!("http://{HOST}{path}"));
            assert!(
                base_string.starts_with(&format!("GET&{served}&")),
                "{base_string}"
            );
            let problem = SignatureProblem::SignatureInvalid(base_string.clone());
            assert_eq!(problem.api_error().code, 96);
            assert_eq!(
                problem.oauth_body(),
                format!("oauth_problem=signature_invalid&debug_sbs={base_string}")
            );
        }
    }
}

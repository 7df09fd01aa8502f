//! OAuth 1.0a for Flickr: our signatures checked by an independent implementation (Python's
//! `oauthlib`), and the three-legged flow against the simulator, refusals included.

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tether_connectors::auth::oauth1::{
    Consumer, FlowEndpoints, FlowError, OAuth1Credentials, Perms, TokenPair, access_token,
    authorize_url, request_token,
};
use tether_connectors::flickr::FlickrClient;
use tether_core::{ErrorKind, Secret};
use tether_http::auth::AuthTarget;
use tether_sim::flickr::{DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET};
use url::Url;

use crate::flickr_support::FlickrTest;

const CONSUMER_KEY: &str = "ckey-0123456789abcdef";
const CONSUMER_SECRET: &str = "csecret-0123456789";
const TOKEN: &str = "72157600000000000-0123456789abcdef";
const TOKEN_SECRET: &str = "tsecret-abcdef";
const NONCE: &str = "n0nce+/=";
const TIMESTAMP: u64 = 1_700_000_000;

/// The oauthlib side: signs what it is given with its own RFC 5849 client, or (`fields`) with
/// its signature module over an explicit parameter list, and prints the signature.
const ORACLE: &str = r#"
import json, sys
try:
    from oauthlib.oauth1 import Client
    from oauthlib.oauth1.rfc5849 import signature
except ImportError:
    sys.exit(3)
case = json.load(sys.stdin)
if case.get("fields") is None:
    client = Client(case["consumer_key"], client_secret=case["consumer_secret"],
                    resource_owner_key=case["token"], resource_owner_secret=case["token_secret"],
                    nonce=case["nonce"], timestamp=case["timestamp"])
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if case["body"] else {}
    _, signed, _ = client.sign(case["url"], http_method=case["method"],
                               body=case["body"] or None, headers=headers)
    auth = signed["Authorization"]
    sig = [part for part in auth.split(", ") if "oauth_signature=" in part][0]
    from urllib.parse import unquote
    print(unquote(sig.split("=", 1)[1].strip('"')))
else:
    pairs = [tuple(pair) for pair in case["fields"]] + [
        ("oauth_consumer_key", case["consumer_key"]), ("oauth_token", case["token"]),
        ("oauth_nonce", case["nonce"]), ("oauth_timestamp", case["timestamp"]),
        ("oauth_signature_method", "HMAC-SHA1"), ("oauth_version", "1.0")]
    normalized = signature.normalize_parameters(pairs)
    base = signature.signature_base_string(case["method"], signature.base_string_uri(case["url"]), normalized)
    print(signature.sign_hmac_sha1(base, case["consumer_secret"], case["token_secret"]))
"#;

/// What oauthlib computes for `case`.
fn oracle(case: &Value) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the independent check needs Python 3 with oauthlib)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.code() != Some(3),
        "Python's oauthlib is missing: `pip install oauthlib` (CI installs it)"
    );
    assert!(
        output.status.success(),
        "oauthlib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn credentials() -> OAuth1Credentials {
    OAuth1Credentials::new(
        Consumer {
            key: CONSUMER_KEY.into(),
            secret: Secret::new(CONSUMER_SECRET),
        },
        Some(TokenPair {
            token: Secret::new(TOKEN),
            secret: Secret::new(TOKEN_SECRET),
        }),
    )
    .with_fixed_nonce(NONCE, TIMESTAMP)
}

/// Our signature of a request, read back from the header we set.
fn our_signature(target: &AuthTarget) -> String {
    let header = credentials().authorization(target).unwrap();
    let encoded = header
        .split(", ")
        .find_map(|part| part.strip_prefix("oauth_signature=\""))
        .unwrap()
        .trim_end_matches('"');
    percent_decode(encoded)
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}

fn case(method: &str, url: &str, body: &str, fields: Option<Vec<(&str, &str)>>) -> Value {
    json!({
        "method": method, "url": url, "body": body, "fields": fields,
        "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
        "token": TOKEN, "token_secret": TOKEN_SECRET,
        "nonce": NONCE, "timestamp": TIMESTAMP.to_string(),
    })
}

fn target(method: http::Method, url: &str, content_type: Option<&str>, body: &[u8]) -> AuthTarget {
    let mut headers = http::HeaderMap::new();
    if let Some(content_type) = content_type {
        headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
    }
    AuthTarget {
        method,
        url: Url::parse(url).unwrap(),
        headers,
        body: (!body.is_empty()).then(|| bytes::Bytes::copy_from_slice(body)),
    }
}

#[test]
fn oauthlib_agrees_with_a_signed_rest_get() {
    let url = "https://api.flickr.com/services/rest?method=flickr.photos.search&user_id=12037949754%40N01&text=caf%C3%A9+%21%27%28%29%2A&extras=date_upload%2Ctags&format=json&nojsoncallback=1";
    let ours = our_signature(&target(http::Method::GET, url, None, b""));
    assert_eq!(ours, oracle(&case("GET", url, "", None)));
}

#[test]
fn oauthlib_agrees_with_a_signed_rest_post() {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("method", "flickr.photos.setMeta")
        .append_pair("photo_id", "53104126447")
        .append_pair("title", "Contact: Jane Doe ~ 100% «é»")
        .append_pair("description", "Synced from HighLevel; tags=a+b\nline 2")
        .append_pair("format", "json")
        .append_pair("nojsoncallback", "1")
        .finish();
    let url = "https://api.flickr.com/services/rest";
    let ours = our_signature(&target(
        http::Method::POST,
        url,
        Some("application/x-www-form-urlencoded"),
        body.as_bytes(),
    ));
    assert_eq!(ours, oracle(&case("POST", url, &body, None)));
}

#[test]
fn oauthlib_agrees_with_a_signed_upload() {
    use tether_connectors::flickr::upload::{UploadFile, multipart};
    let fields = vec![
        ("title".to_owned(), "Café & Co. ~ 100%".to_owned()),
        ("tags".to_owned(), "ghl \"two words\"".to_owned()),
        ("is_public".to_owned(), "0".to_owned()),
    ];
    let file = UploadFile {
        bytes: bytes::Bytes::from_static(b"\xff\xd8\xff\xe0 not signed"),
        filename: "photo.jpg".into(),
        content_type: Some("image/jpeg".into()),
    };
    let (content_type, body) = multipart(&fields, &file);
    let url = "https://up.flickr.com/services/upload/";
    let ours = our_signature(&target(http::Method::POST, url, Some(&content_type), &body));
    let text_fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(ours, oracle(&case("POST", url, "", Some(text_fields))));
}

fn consumer(secret: &str) -> Consumer {
    Consumer {
        key: DEFAULT_CONSUMER_KEY.into(),
        secret: Secret::new(secret),
    }
}

/// Approves `url` as `nsid` on the simulator's page and answers the callback's query.
async fn approve(url: &Url, nsid: &str) -> Vec<(String, String)> {
    let mut approve = url.clone();
    approve
        .query_pairs_mut()
        .append_pair("sim_approve_as", nsid);
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(approve)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = answer.headers()[http::header::LOCATION].to_str().unwrap();
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

#[tokio::test]
async fn the_three_legged_flow_yields_a_working_token() {
    let test = FlickrTest::start().await;
    let flow = FlowEndpoints::flickr(&Url::parse(&test.running.base_url).unwrap());
    let app = consumer(DEFAULT_CONSUMER_SECRET);
    let callback = "http://127.0.0.1:9/callback";
    let request = request_token(&flow, &app, callback).await.unwrap();
    let url = authorize_url(&flow, &request, Perms::Write);
    assert_eq!(url.path(), "/services/oauth/authorize");
    assert!(url.query().unwrap().ends_with("&perms=write"), "{url}");
    let back = approve(&url, &test.user).await;
    assert_eq!(value(&back, "oauth_token"), request.pair.token.expose());
    let access = access_token(&flow, &app, &request, value(&back, "oauth_verifier"))
        .await
        .unwrap();
    assert_eq!(access.user_nsid.as_deref(), Some(test.user.as_str()));
    assert_eq!(access.username.as_deref(), Some("tess"));
    let client =
        FlickrClient::with_credentials(test.endpoints(), app.clone(), access.pair.clone(), None)
            .unwrap();
    assert_eq!(client.test().login().await.unwrap().id.as_str(), test.user);
    assert_eq!(client.test().check_token().await.unwrap().perms, "write");

    // A request token is single-use.
    let again = access_token(&flow, &app, &request, value(&back, "oauth_verifier")).await;
    let Err(error @ FlowError::Problem { .. }) = again else {
        panic!("a spent request token was exchanged again: {again:?}");
    };
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
}

#[tokio::test]
async fn refusals_name_the_oauth_problem() {
    let test = FlickrTest::start().await;
    let flow = FlowEndpoints::flickr(&Url::parse(&test.running.base_url).unwrap());
    let wrong = request_token(&flow, &consumer("not-the-secret"), "oob").await;
    let Err(FlowError::Problem {
        problem,
        status,
        debug_sbs,
        ..
    }) = &wrong
    else {
        panic!("{wrong:?}");
    };
    assert_eq!((problem.as_str(), *status), ("signature_invalid", 401));
    assert!(
        debug_sbs
            .as_deref()
            .is_some_and(|sbs| sbs.starts_with("GET&http%3A%2F%2F")),
        "{debug_sbs:?}"
    );
    assert_eq!(wrong.unwrap_err().kind(), ErrorKind::Auth);

    // A verifier other than the one the user was given.
    let app = consumer(DEFAULT_CONSUMER_SECRET);
    let request = request_token(&flow, &app, "http://127.0.0.1:9/callback")
        .await
        .unwrap();
    approve(&authorize_url(&flow, &request, Perms::Read), &test.user).await;
    let forged = access_token(&flow, &app, &request, "000-000-000").await;
    let Err(FlowError::Problem { problem, .. }) = &forged else {
        panic!("{forged:?}");
    };
    assert_eq!(problem, "verifier_invalid");
}

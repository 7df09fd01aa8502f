//! The Flickr simulator over real HTTP on loopback: every kind of bad signature refused with
//! Flickr's codes, the OAuth dance, requests signed by Python's oauthlib (an independent OAuth
//! 1.0a implementation) accepted, and the served methods' behaviour.
//!
//! Requests are signed by the small signer below, written apart from the simulator's own code.

use std::collections::HashSet;
use std::net::SocketAddr;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;
use tether_sim::flickr::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSim, FlickrSimConfig, Perms,
    RunningFlickrSim, SimHourlyLimit, World,
};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// A test-only OAuth 1.0a signer.

fn enc(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn test_base_string(method: &str, url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (enc(name), enc(value)))
        .collect();
    pairs.sort();
    let joined = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&{}&{}", enc(url), enc(&joined))
}

fn hmac_sha1(key: &str, text: &str) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Where the OAuth parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the query string, with every other parameter.
    Query,
    /// In an urlencoded body, with every other parameter.
    Body,
    /// In `Authorization: OAuth`; the other parameters in the body (POST) or query (GET).
    Header,
}

/// How to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sig {
    Valid,
    WrongSecret,
    Omitted,
    Unsigned,
}

/// One request to the simulator.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    path: String,
    params: Vec<(String, String)>,
    place: Place,
    consumer_key: String,
    consumer_secret: String,
    token: Option<(String, String)>,
    timestamp: i64,
    nonce: String,
    sig: Sig,
    signature_method: String,
    /// Path signed, when it should differ from the one requested.
    signed_path: Option<String>,
}

impl Call {
    /// A POST to `/services/rest` asking for JSON, signed with the default app, no token.
    fn rest(method: &str, args: &[(&str, &str)]) -> Call {
        let mut params = vec![
            ("method".to_owned(), method.to_owned()),
            ("format".to_owned(), "json".to_owned()),
            ("nojsoncallback".to_owned(), "1".to_owned()),
        ];
        params.extend(args.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        Call::to("/services/rest", params)
    }

    fn to(path: &str, params: Vec<(String, String)>) -> Call {
        Call {
            method: Method::POST,
            path: path.to_owned(),
            params,
            place: Place::Body,
            consumer_key: DEFAULT_CONSUMER_KEY.to_owned(),
            consumer_secret: DEFAULT_CONSUMER_SECRET.to_owned(),
            token: None,
            timestamp: wall_now(),
            nonce: format!("n{}", fastrand::u64(..)),
            sig: Sig::Valid,
            signature_method: "HMAC-SHA1".to_owned(),
            signed_path: None,
        }
    }

    fn get(mut self) -> Call {
        self.method = Method::GET;
        self.place = if self.place == Place::Header {
            Place::Header
        } else {
            Place::Query
        };
        self
    }

    fn place(mut self, place: Place) -> Call {
        self.place = place;
        self
    }

    fn token(mut self, token: &(String, String)) -> Call {
        self.token = Some(token.clone());
        self
    }

    fn sig(mut self, sig: Sig) -> Call {
        self.sig = sig;
        self
    }

    /// An unsigned call identified by `api_key` only.
    fn unsigned(mut self) -> Call {
        self.sig = Sig::Unsigned;
        self.params
            .push(("api_key".to_owned(), self.consumer_key.clone()));
        self
    }

    fn param(mut self, name: &str, value: &str) -> Call {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The OAuth parameters, `oauth_signature` included unless omitted.
    fn oauth_params(&self, base_url: &str) -> Vec<(String, String)> {
        if self.sig == Sig::Unsigned {
            return Vec::new();
        }
        let mut oauth = vec![
            ("oauth_consumer_key".to_owned(), self.consumer_key.clone()),
            ("oauth_nonce".to_owned(), self.nonce.clone()),
            ("oauth_timestamp".to_owned(), self.timestamp.to_string()),
            (
                "oauth_signature_method".to_owned(),
                self.signature_method.clone(),
            ),
            ("oauth_version".to_owned(), "1.0".to_owned()),
        ];
        if let Some((token, _)) = &self.token {
            oauth.push(("oauth_token".to_owned(), token.clone()));
        }
        if self.sig == Sig::Omitted {
            return oauth;
        }
        let mut all = self.params.clone();
        all.extend(oauth.iter().cloned());
        let base = test_base_string(self.method.as_str(), base_url, &all);
        let secret = if self.sig == Sig::WrongSecret {
            "not-the-secret"
        } else {
            &self.consumer_secret
        };
        let token_secret = self.token.as_ref().map(|(_, s)| s.as_str()).unwrap_or("");
        let key = format!("{}&{}", enc(secret), enc(token_secret));
        oauth.push(("oauth_signature".to_owned(), hmac_sha1(&key, &base)));
        oauth
    }

    /// The base string this call signs (for comparing with `debug_sbs`).
    fn base_string(&self, sim: &Sim) -> String {
        let oauth = self.oauth_params(&sim.signed_url(self));
        let mut all = self.params.clone();
        all.extend(
            oauth
                .into_iter()
                .filter(|(name, _)| name != "oauth_signature"),
        );
        test_base_string(self.method.as_str(), &sim.signed_url(self), &all)
    }

    async fn send(&self, sim: &Sim) -> (StatusCode, String) {
        let oauth = self.oauth_params(&sim.signed_url(self));
        let form = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(name, value)| format!("{}={}", enc(name), enc(value)))
                .collect::<Vec<_>>()
                .join("&")
        };
        let mut url = format!("{}{}", sim.base_url, self.path);
        let mut request_params = self.params.clone();
        let mut header = None;
        match self.place {
            Place::Query | Place::Body => request_params.extend(oauth),
            Place::Header => {
                let fields: Vec<String> = oauth
                    .iter()
                    .map(|(name, value)| format!("{}=\"{}\"", enc(name), enc(value)))
                    .collect();
                header = Some(format!("OAuth realm=\"sim\", {}", fields.join(", ")));
            }
        }
        let in_query = self.place == Place::Query || self.method == Method::GET;
        let mut request;
        if in_query {
            if !request_params.is_empty() {
                url = format!("{url}?{}", form(&request_params));
            }
            request = sim.http.request(self.method.clone(), url);
        } else {
            request = sim
                .http
                .request(self.method.clone(), url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&request_params));
        }
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Sends and parses a JSON answer (HTTP 200 expected).
    async fn json(&self, sim: &Sim) -> Value {
        let (status, body) = self.send(sim).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
    }

    /// Sends and asserts `stat: ok`.
    async fn ok(&self, sim: &Sim) -> Value {
        let answer = self.json(sim).await;
        assert_eq!(answer["stat"], "ok", "{} {answer}", self.params[0].1);
        answer
    }

    /// Sends and asserts `stat: fail` with `code`; returns the message.
    async fn fails(&self, sim: &Sim, code: i64) -> String {
        let answer = self.json(sim).await;
        assert_eq!(answer["stat"], "fail", "{answer}");
        assert_eq!(answer["code"], code, "{answer}");
        answer["message"].as_str().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// A running simulator with a user and tokens.

struct Sim {
    running: RunningFlickrSim,
    base_url: String,
    http: reqwest::Client,
}

impl Sim {
    async fn start(config: FlickrSimConfig) -> Sim {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = FlickrSim::new(config)
            .spawn(addr, CancellationToken::new())
            .await
            .unwrap();
        let base_url = running.base_url.clone();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Sim {
            running,
            base_url,
            http,
        }
    }

    fn world(&self) -> &World {
        self.running.sim.world()
    }

    fn signed_url(&self, call: &Call) -> String {
        let path = call.signed_path.as_deref().unwrap_or(&call.path);
        format!("http://{}{}", self.running.addr, path)
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/__sim/{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }
}

/// A simulator with one user "alice" and tokens of each level for her.
struct Fixture {
    sim: Sim,
    alice: String,
    read: (String, String),
    write: (String, String),
    delete: (String, String),
}

async fn fixture_with(config: FlickrSimConfig) -> Fixture {
    let sim = Sim::start(config).await;
    let world = sim.world();
    let alice = world.add_user("alice", "Alice Liddell", Some("alice@example.com"));
    let read = world.mint_access_token(DEFAULT_CONSUMER_KEY, &alice, Perms::Read);
    let write = world.mint_access_token(DEFAULT_CONSUMER_KEY, &alice, Perms::Write);
    let delete = world.mint_access_token(DEFAULT_CONSUMER_KEY, &alice, Perms::Delete);
    Fixture {
        sim,
        alice,
        read,
        write,
        delete,
    }
}

async fn fixture() -> Fixture {
    fixture_with(FlickrSimConfig::default()).await
}

fn form_value(body: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn ids(answer: &Value, list: &str) -> Vec<String> {
    answer[list]["photo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|photo| photo["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Signatures.

#[tokio::test]
async fn a_valid_signature_passes_in_the_query_the_body_and_the_header() {
    let f = fixture().await;
    for (place, method) in [
        (Place::Query, Method::GET),
        (Place::Body, Method::POST),
        (Place::Header, Method::POST),
        (Place::Header, Method::GET),
    ] {
        let mut call = Call::rest("flickr.test.login", &[])
            .token(&f.read)
            .place(place);
        call.method = method.clone();
        let answer = call.ok(&f.sim).await;
        assert_eq!(answer["user"]["id"], f.alice.as_str(), "{place:?} {method}");
        assert_eq!(answer["user"]["username"]["_content"], "alice");
    }
    // The trailing-slash path is served too, and signed as requested.
    let mut call = Call::rest("flickr.test.login", &[]).token(&f.read);
    call.path = "/services/rest/".into();
    call.ok(&f.sim).await;
    // Unicode and reserved characters are encoded the RFC 3986 way on both sides.
    let answer = Call::rest("flickr.test.echo", &[("foo", "Café & Co. + 100% ~!*'()")])
        .ok(&f.sim)
        .await;
    assert_eq!(answer["foo"]["_content"], "Café & Co. + 100% ~!*'()");
}

#[tokio::test]
async fn each_kind_of_bad_signature_is_refused_with_flickrs_code() {
    let f = fixture().await;
    let login = || Call::rest("flickr.test.login", &[]).token(&f.read);

    let message = login().sig(Sig::WrongSecret).fails(&f.sim, 96).await;
    assert_eq!(message, "Invalid signature");
    assert_eq!(
        login().sig(Sig::Omitted).fails(&f.sim, 97).await,
        "Missing signature"
    );
    let unknown = (
        "72157000000000000-0000000000000000".to_owned(),
        "x".to_owned(),
    );
    Call::rest("flickr.test.login", &[])
        .token(&unknown)
        .fails(&f.sim, 98)
        .await;
    // A token of another app is as good as unknown.
    let other = f
        .sim
        .world()
        .mint_access_token("someone-else", &f.alice, Perms::Read);
    Call::rest("flickr.test.login", &[])
        .token(&other)
        .fails(&f.sim, 98)
        .await;
    let mut plaintext = login();
    plaintext.signature_method = "PLAINTEXT".into();
    plaintext.fails(&f.sim, 96).await;

    let mut stale = login();
    stale.timestamp -= 3_600;
    assert!(stale.fails(&f.sim, 96).await.contains("timestamp"));
    let mut future = login();
    future.timestamp += 3_600;
    assert!(future.fails(&f.sim, 96).await.contains("timestamp"));
    let mut not_a_number = login();
    not_a_number.timestamp = -1;
    not_a_number.fails(&f.sim, 96).await;

    let once = login();
    once.ok(&f.sim).await;
    assert!(once.fails(&f.sim, 96).await.contains("nonce"));
    // A refused request does not burn its nonce: the corrected request goes through.
    let mut fixed = login().sig(Sig::WrongSecret);
    fixed.fails(&f.sim, 96).await;
    fixed.sig = Sig::Valid;
    fixed.ok(&f.sim).await;

    // Signing another path than the one requested.
    let mut other_path = login();
    other_path.signed_path = Some("/services/rest/".into());
    other_path.fails(&f.sim, 96).await;

    // Revoked token.
    let revoked = f
        .sim
        .world()
        .mint_access_token(DEFAULT_CONSUMER_KEY, &f.alice, Perms::Read);
    Call::rest("flickr.test.login", &[])
        .token(&revoked)
        .ok(&f.sim)
        .await;
    f.sim
        .admin(
            Method::POST,
            "tokens/revoke",
            Some(json!({"oauth_token": revoked.0})),
        )
        .await;
    Call::rest("flickr.test.login", &[])
        .token(&revoked)
        .fails(&f.sim, 98)
        .await;

    // Keys.
    let mut unknown_key = login();
    unknown_key.consumer_key = "nope".into();
    assert_eq!(
        unknown_key.fails(&f.sim, 100).await,
        "Invalid API Key (Key not found)"
    );
    let no_key = Call::rest("flickr.test.echo", &[]).sig(Sig::Unsigned);
    assert_eq!(
        no_key.fails(&f.sim, 100).await,
        "Invalid API Key (Key has invalid format)"
    );
}

#[tokio::test]
async fn perms_verb_method_format_and_arguments_are_enforced() {
    let f = fixture().await;
    let photo = f.sim.world().add_photo(&f.alice, "t", "d", &[]);
    let set_meta = || {
        Call::rest(
            "flickr.photos.setMeta",
            &[("photo_id", &photo), ("title", "x")],
        )
    };

    assert_eq!(
        set_meta().token(&f.read).fails(&f.sim, 99).await,
        "Insufficient permissions. Method requires write privileges; read granted."
    );
    assert_eq!(
        Call::rest("flickr.test.login", &[])
            .unsigned()
            .fails(&f.sim, 99)
            .await,
        "Insufficient permissions. Method requires read privileges; none granted."
    );
    assert_eq!(
        Call::rest("flickr.photos.delete", &[("photo_id", &photo)])
            .token(&f.write)
            .fails(&f.sim, 99)
            .await,
        "Insufficient permissions. Method requires delete privileges; write granted."
    );
    assert_eq!(
        set_meta().token(&f.write).get().fails(&f.sim, 116).await,
        "The POST method is now required for all setters"
    );
    set_meta().token(&f.write).ok(&f.sim).await;

    assert_eq!(
        Call::rest("flickr.nope", &[])
            .unsigned()
            .fails(&f.sim, 112)
            .await,
        "Method \"flickr.nope\" not found"
    );
    let not_served = Call::rest("flickr.photos.getSizes", &[("photo_id", &photo)])
        .unsigned()
        .fails(&f.sim, 501)
        .await;
    assert!(not_served.contains("not served"), "{not_served}");
    // checkToken needs a signature even though it needs no perms.
    Call::rest("flickr.auth.oauth.checkToken", &[("oauth_token", "x")])
        .unsigned()
        .fails(&f.sim, 97)
        .await;

    // An unknown format is answered in XML.
    let mut soap = Call::rest("flickr.test.echo", &[]).unsigned();
    soap.params[1].1 = "soap".into();
    let (status, body) = soap.send(&f.sim).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<err code=\"111\" msg=\"Format &quot;soap&quot; not found\" />"),
        "{body}"
    );

    // Required arguments from the reflection data, with each method's own error.
    assert_eq!(
        Call::rest("flickr.photos.getInfo", &[])
            .unsigned()
            .fails(&f.sim, 1)
            .await,
        "Photo not found."
    );
    assert_eq!(
        Call::rest("flickr.people.getPhotos", &[])
            .unsigned()
            .fails(&f.sim, 1)
            .await,
        "Required arguments missing"
    );
    Call::rest("flickr.photos.setTags", &[("photo_id", &photo)])
        .token(&f.write)
        .fails(&f.sim, 1000)
        .await;
    // Unsigned calls with `api_key` work for perms-none methods.
    Call::rest("flickr.photos.getInfo", &[("photo_id", &photo)])
        .unsigned()
        .ok(&f.sim)
        .await;
}

// ---------------------------------------------------------------------------------------------
// The OAuth endpoints.

fn token_call(path: &str, extra: &[(&str, &str)]) -> Call {
    let params = extra
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    Call::to(path, params).place(Place::Header)
}

async fn request_token(sim: &Sim, callback: &str) -> (String, String) {
    let (status, body) = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", callback)],
    )
    .send(sim)
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        form_value(&body, "oauth_callback_confirmed").as_deref(),
        Some("true")
    );
    (
        form_value(&body, "oauth_token").unwrap(),
        form_value(&body, "oauth_token_secret").unwrap(),
    )
}

async fn approve_as(sim: &Sim, token: &str, nsid: &str) -> String {
    let response = sim
        .http
        .get(format!(
            "{}/services/oauth/authorize?oauth_token={}&perms=write&sim_approve_as={}",
            sim.base_url,
            enc(token),
            enc(nsid)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    assert_eq!(form_value(query, "oauth_token").as_deref(), Some(token));
    form_value(query, "oauth_verifier").unwrap()
}

#[tokio::test]
async fn the_oauth_dance_gives_a_working_token_and_the_request_token_only_once() {
    let f = fixture().await;
    let request = request_token(&f.sim, "http://127.0.0.1:9/callback?state=1").await;
    let verifier = approve_as(&f.sim, &request.0, &f.alice).await;
    let exchange = token_call(
        "/services/oauth/access_token",
        &[("oauth_verifier", &verifier)],
    )
    .token(&request)
    .get();
    let (status, body) = exchange.send(&f.sim).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        form_value(&body, "user_nsid").as_deref(),
        Some(f.alice.as_str())
    );
    assert_eq!(form_value(&body, "username").as_deref(), Some("alice"));
    assert_eq!(
        form_value(&body, "fullname").as_deref(),
        Some("Alice Liddell")
    );
    let access = (
        form_value(&body, "oauth_token").unwrap(),
        form_value(&body, "oauth_token_secret").unwrap(),
    );

    let login = Call::rest("flickr.test.login", &[])
        .token(&access)
        .ok(&f.sim)
        .await;
    assert_eq!(login["user"]["id"], f.alice.as_str());
    let check = Call::rest(
        "flickr.auth.oauth.checkToken",
        &[("oauth_token", &access.0)],
    )
    .token(&access)
    .ok(&f.sim)
    .await;
    assert_eq!(check["oauth"]["perms"]["_content"], "write");
    assert_eq!(check["oauth"]["token"]["_content"], access.0.as_str());
    assert_eq!(check["oauth"]["user"]["nsid"], f.alice.as_str());

    // The request token is single-use.
    let mut again = token_call(
        "/services/oauth/access_token",
        &[("oauth_verifier", &verifier)],
    )
    .token(&request);
    again.nonce = "another".into();
    let (status, body) = again.send(&f.sim).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "oauth_problem=token_rejected");
}

#[tokio::test]
async fn the_authorize_page_approves_by_form_and_shows_the_code_out_of_band() {
    let f = fixture().await;
    let request = request_token(&f.sim, "http://127.0.0.1:9/cb").await;
    let page = f
        .sim
        .http
        .get(format!(
            "{}/services/oauth/authorize?oauth_token={}&perms=delete",
            f.sim.base_url, request.0
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains(&f.alice), "{html}");
    let response = f
        .sim
        .http
        .post(format!("{}/services/oauth/authorize", f.sim.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "oauth_token={}&perms=delete&user_nsid={}&decision=approve",
            enc(&request.0),
            enc(&f.alice)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/cb?oauth_token="),
        "{location}"
    );

    let oob = request_token(&f.sim, "oob").await;
    let page = f
        .sim
        .http
        .get(format!(
            "{}/services/oauth/authorize?oauth_token={}&perms=read&sim_approve_as={}",
            f.sim.base_url,
            oob.0,
            enc(&f.alice)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let code = html
        .split("<code id=\"oauth_verifier\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let digits: Vec<&str> = code.split('-').collect();
    assert_eq!(digits.len(), 3, "{code}");
    assert!(
        digits
            .iter()
            .all(|part| part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()))
    );
    let (status, body) = token_call("/services/oauth/access_token", &[("oauth_verifier", &code)])
        .token(&oob)
        .send(&f.sim)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn auto_approve_redirects_at_once_as_the_first_user_with_the_perms_asked() {
    let f = fixture_with(FlickrSimConfig {
        auto_approve: true,
        ..FlickrSimConfig::default()
    })
    .await;
    // Alice came first; a later user is never the one approved.
    f.sim.world().add_user("bob", "Bob", None);
    let request = request_token(&f.sim, "http://127.0.0.1:9/cb?state=s").await;
    let response = f
        .sim
        .http
        .get(format!(
            "{}/services/oauth/authorize?oauth_token={}&perms=delete",
            f.sim.base_url,
            enc(&request.0)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location
        .strip_prefix("http://127.0.0.1:9/cb?")
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(form_value(query, "state").as_deref(), Some("s"));
    assert_eq!(
        form_value(query, "oauth_token").as_deref(),
        Some(request.0.as_str())
    );
    let verifier = form_value(query, "oauth_verifier").unwrap();
    let (status, body) = token_call(
        "/services/oauth/access_token",
        &[("oauth_verifier", &verifier)],
    )
    .token(&request)
    .send(&f.sim)
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        form_value(&body, "user_nsid").as_deref(),
        Some(f.alice.as_str())
    );
    let access = (
        form_value(&body, "oauth_token").unwrap(),
        form_value(&body, "oauth_token_secret").unwrap(),
    );
    let check = Call::rest(
        "flickr.auth.oauth.checkToken",
        &[("oauth_token", &access.0)],
    )
    .token(&access)
    .ok(&f.sim)
    .await;
    assert_eq!(check["oauth"]["perms"]["_content"], "delete");

    // Without users there is nobody to approve as, and the page says so.
    let empty = Sim::start(FlickrSimConfig {
        auto_approve: true,
        ..FlickrSimConfig::default()
    })
    .await;
    let request = request_token(&empty, "http://127.0.0.1:9/cb").await;
    let response = empty
        .http
        .get(format!(
            "{}/services/oauth/authorize?oauth_token={}",
            empty.base_url,
            enc(&request.0)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("/__sim/users"));
}

#[tokio::test]
async fn the_oauth_endpoints_report_problems_as_oauth_problem() {
    let f = fixture().await;
    // A wrong signature: 401 with the base string the simulator computed, equal to ours.
    let wrong = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    )
    .sig(Sig::WrongSecret);
    let (status, body) = wrong.send(&f.sim).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let sbs = body
        .strip_prefix("oauth_problem=signature_invalid&debug_sbs=")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(sbs, wrong.base_string(&f.sim));
    assert!(sbs.starts_with("POST&http%3A%2F%2F127.0.0.1%3A"), "{sbs}");

    let (status, body) = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    )
    .sig(Sig::Omitted)
    .send(&f.sim)
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        "oauth_problem=parameter_absent&oauth_parameters_absent=oauth_signature"
    );

    let mut stale = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    );
    stale.timestamp -= 7_200;
    assert_eq!(
        stale.send(&f.sim).await.1,
        "oauth_problem=timestamp_refused"
    );

    let once = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    );
    assert_eq!(once.send(&f.sim).await.0, StatusCode::OK);
    assert_eq!(once.send(&f.sim).await.1, "oauth_problem=nonce_used");

    let mut unknown = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    );
    unknown.consumer_key = "nope".into();
    assert_eq!(
        unknown.send(&f.sim).await.1,
        "oauth_problem=consumer_key_unknown"
    );

    // Never authorised: token_rejected. Authorised with another verifier: verifier_invalid.
    let request = request_token(&f.sim, "http://127.0.0.1:9/cb").await;
    let (status, body) = token_call("/services/oauth/access_token", &[("oauth_verifier", "x")])
        .token(&request)
        .send(&f.sim)
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "oauth_problem=token_rejected")
    );
    approve_as(&f.sim, &request.0, &f.alice).await;
    let (status, body) = token_call(
        "/services/oauth/access_token",
        &[("oauth_verifier", "wrong")],
    )
    .token(&request)
    .send(&f.sim)
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "oauth_problem=verifier_invalid")
    );
    // An access token is no request token.
    let (_, body) = token_call("/services/oauth/access_token", &[("oauth_verifier", "x")])
        .token(&f.write)
        .send(&f.sim)
        .await;
    assert_eq!(body, "oauth_problem=token_rejected");
}

// ---------------------------------------------------------------------------------------------
// An independent implementation: Python's oauthlib.

async fn python_call(
    sim: &Sim,
    placement: &str,
    secret: &str,
    token: &(String, String),
) -> (u16, Value) {
    let has_oauthlib = tokio::process::Command::new("python3")
        .args(["-c", "import oauthlib"])
        .output()
        .await
        .map(|output| output.status.success())
        .unwrap_or(false);
    assert!(
        has_oauthlib,
        "python3 with oauthlib is needed: run `python3 -m pip install oauthlib` (.ci/run installs it)"
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/flickr_oauthlib.py"
    );
    let args = json!({
        "url": format!("http://{}/services/rest", sim.running.addr),
        "consumer_key": DEFAULT_CONSUMER_KEY,
        "consumer_secret": secret,
        "token": token.0,
        "token_secret": token.1,
        "placement": placement,
        "params": {
            "method": "flickr.test.echo",
            "format": "json",
            "nojsoncallback": "1",
            "greeting": "Grüße, Welt & more: 100%+ (ok!*)",
        },
    });
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(args.to_string())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (status, body) = stdout.split_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body.trim()).unwrap_or_else(|_| panic!("not JSON: {body}")),
    )
}

#[tokio::test]
async fn requests_signed_by_oauthlib_are_accepted() {
    let f = fixture().await;
    for placement in ["header", "body"] {
        let (status, answer) =
            python_call(&f.sim, placement, DEFAULT_CONSUMER_SECRET, &f.read).await;
        assert_eq!(status, 200);
        assert_eq!(answer["stat"], "ok", "{placement}: {answer}");
        assert_eq!(
            answer["greeting"]["_content"],
            "Grüße, Welt & more: 100%+ (ok!*)"
        );
        assert_eq!(answer["oauth_token"]["_content"], f.read.0.as_str());
    }
}

#[tokio::test]
async fn oauthlib_signing_with_a_wrong_secret_gets_96() {
    let f = fixture().await;
    let (status, answer) = python_call(&f.sim, "header", "wrong-secret", &f.read).await;
    assert_eq!(status, 200);
    assert_eq!(answer["stat"], "fail");
    assert_eq!(answer["code"], 96);
}

// ---------------------------------------------------------------------------------------------
// Limits and faults.

#[tokio::test]
async fn the_hourly_limit_answers_429_html_until_the_hour_passes() {
    let mut config = FlickrSimConfig {
        rate_limit: Some(SimHourlyLimit {
            requests: 5,
            window_ms: 3_600_000,
        }),
        ..FlickrSimConfig::default()
    };
    config
        .apps
        .push(("second-key".to_owned(), "second-secret".to_owned()));
    let f = fixture_with(config).await;
    let echo = || Call::rest("flickr.test.echo", &[]).unsigned();
    for _ in 0..5 {
        echo().ok(&f.sim).await;
    }
    let (status, body) = echo().send(&f.sim).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body.contains("<html>") && body.contains("too many requests"),
        "{body}"
    );
    // Signed calls and the OAuth endpoints count against the same key.
    let (status, _) = Call::rest("flickr.test.login", &[])
        .token(&f.read)
        .send(&f.sim)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = token_call(
        "/services/oauth/request_token",
        &[("oauth_callback", "oob")],
    )
    .send(&f.sim)
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another key has its own budget.
    let mut other = echo();
    other.params.pop();
    other.params.push(("api_key".into(), "second-key".into()));
    other.ok(&f.sim).await;
    // The admin API is never limited, and an hour later the key works again.
    f.sim
        .admin(Method::POST, "clock/advance", Some(json!({"secs": 3_600})))
        .await;
    echo().ok(&f.sim).await;
}

#[tokio::test]
async fn injected_faults_answer_html_502_503_or_error_105() {
    let f = fixture().await;
    f.sim
        .admin(
            Method::PUT,
            "faults",
            Some(json!({"error_rate": 1.0, "latency_ms": 0})),
        )
        .await;
    let mut seen = HashSet::new();
    for _ in 0..40 {
        let (status, body) = Call::rest("flickr.test.echo", &[])
            .unsigned()
            .send(&f.sim)
            .await;
        match status {
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE => {
                assert!(body.contains("<html>"), "{body}");
                seen.insert(status.as_u16());
            }
            StatusCode::OK => {
                let answer: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(answer["code"], 105, "{answer}");
                seen.insert(105);
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(seen, HashSet::from([502, 503, 105]));
    let health = f.sim.admin(Method::GET, "health", None).await;
    assert_eq!(health["ok"], true);
    f.sim
        .admin(Method::PUT, "faults", Some(json!({"error_rate": 0.0})))
        .await;
    Call::rest("flickr.test.echo", &[])
        .unsigned()
        .ok(&f.sim)
        .await;
}

// ---------------------------------------------------------------------------------------------
// Methods.

#[tokio::test]
async fn paging_reports_totals_and_pages_never_overlap() {
    let f = fixture().await;
    for n in 0..25 {
        f.sim.world().add_photo(&f.alice, &format!("p{n}"), "", &[]);
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let answer = Call::rest(
            "flickr.people.getPhotos",
            &[
                ("user_id", "me"),
                ("per_page", "10"),
                ("page", &page.to_string()),
            ],
        )
        .token(&f.read)
        .ok(&f.sim)
        .await;
        let photos = &answer["photos"];
        assert_eq!(photos["page"], page);
        assert_eq!(photos["pages"], 3);
        assert_eq!(photos["perpage"], 10);
        assert_eq!(photos["total"], "25");
        seen.extend(ids(&answer, "photos"));
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
    let past_end = Call::rest(
        "flickr.people.getPhotos",
        &[("user_id", &f.alice), ("per_page", "10"), ("page", "4")],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(past_end["photos"]["photo"], json!([]));
    let clamped = Call::rest(
        "flickr.people.getPhotos",
        &[("user_id", &f.alice), ("per_page", "5000")],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(clamped["photos"]["perpage"], 500);
    let default = Call::rest("flickr.people.getPhotos", &[("user_id", &f.alice)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(default["photos"]["perpage"], 100);
}

#[tokio::test]
async fn search_filters_by_user_tags_machine_tags_text_and_dates() {
    let f = fixture().await;
    let world = f.sim.world();
    let bob = world.add_user("bob", "Bob", None);
    let t0 = world.now();
    let rose = world.add_photo(
        &f.alice,
        "Red rose",
        "In the garden",
        &["flowers", "red", "ghl:contact=AbC123"],
    );
    world.advance_clock(1_000);
    let tulip = world.add_photo(&f.alice, "Tulip", "Spring field", &["flowers", "yellow"]);
    world.advance_clock(1_000);
    let bridge = world.add_photo(&bob, "Old bridge", "Stone", &["street", "ghl:task=7"]);
    let private = world.add_photo(&f.alice, "Secret", "", &["flowers"]);
    world
        .data
        .write()
        .photos
        .get_mut(&private)
        .unwrap()
        .is_public = false;
    let search = |args: &[(&str, &str)]| Call::rest("flickr.photos.search", args).unsigned();

    let found = ids(&search(&[("tags", "flowers")]).ok(&f.sim).await, "photos");
    assert_eq!(found, vec![tulip.clone(), rose.clone()]);
    let found = ids(
        &search(&[("tags", "flowers,red"), ("tag_mode", "all")])
            .ok(&f.sim)
            .await,
        "photos",
    );
    assert_eq!(found, vec![rose.clone()]);
    let found = ids(
        &search(&[("tags", "flowers,-red")]).ok(&f.sim).await,
        "photos",
    );
    assert_eq!(found, vec![tulip.clone()]);
    let found = ids(
        &search(&[("machine_tags", "ghl:contact=abc123")])
            .ok(&f.sim)
            .await,
        "photos",
    );
    assert_eq!(found, vec![rose.clone()]);
    let found = ids(
        &search(&[("machine_tags", "ghl:")]).ok(&f.sim).await,
        "photos",
    );
    assert_eq!(found, vec![bridge.clone(), rose.clone()]);
    let found = ids(&search(&[("text", "GARDEN")]).ok(&f.sim).await, "photos");
    assert_eq!(found, vec![rose.clone()]);
    let found = ids(
        &search(&[
            ("user_id", &f.alice),
            ("min_upload_date", &(t0 + 500).to_string()),
            ("sort", "date-posted-asc"),
        ])
        .ok(&f.sim)
        .await,
        "photos",
    );
    assert_eq!(found, vec![tulip.clone()]);
    // The owner sees her private photo with `user_id=me`; others never do.
    let mine = Call::rest(
        "flickr.photos.search",
        &[("user_id", "me"), ("tags", "flowers")],
    )
    .token(&f.read)
    .ok(&f.sim)
    .await;
    assert!(ids(&mine, "photos").contains(&private));
    let theirs = ids(
        &search(&[("user_id", &f.alice), ("tags", "flowers")])
            .ok(&f.sim)
            .await,
        "photos",
    );
    assert!(!theirs.contains(&private));
    // Extras.
    let with_extras = search(&[
        ("tags", "red"),
        (
            "extras",
            "description,tags,machine_tags,last_update,url_m,owner_name",
        ),
    ])
    .ok(&f.sim)
    .await;
    let photo = &with_extras["photos"]["photo"][0];
    assert_eq!(photo["description"]["_content"], "In the garden");
    assert_eq!(photo["tags"], "flowers red ghl:contact=abc123");
    assert_eq!(photo["machine_tags"], "ghl:contact=abc123");
    assert_eq!(photo["ownername"], "alice");
    assert!(photo["url_m"].as_str().unwrap().ends_with("_m.jpg"));
    assert_eq!(photo["farm"], 66);
    assert_eq!(photo["ispublic"], 1);
    // No criteria at all.
    assert!(
        search(&[])
            .fails(&f.sim, 3)
            .await
            .starts_with("Parameterless searches")
    );
    search(&[("user_id", "nobody@N01")]).fails(&f.sim, 2).await;
}

#[tokio::test]
async fn search_stops_at_4000_results() {
    let f = fixture().await;
    let world = f.sim.world();
    for n in 0..4_100 {
        world.add_photo(&f.alice, &format!("p{n}"), "", &[]);
    }
    let page = |n: &str| {
        Call::rest(
            "flickr.photos.search",
            &[("user_id", &f.alice), ("per_page", "500"), ("page", n)],
        )
        .unsigned()
    };
    let eighth = page("8").ok(&f.sim).await;
    let ninth = page("9").ok(&f.sim).await;
    assert_eq!(ninth["photos"]["total"], "4100");
    assert_eq!(ninth["photos"]["pages"], 9);
    assert_eq!(ids(&eighth, "photos"), ids(&ninth, "photos"));
}

#[tokio::test]
async fn metadata_and_tag_writes_show_in_get_info_and_bump_lastupdate() {
    let f = fixture().await;
    let world = f.sim.world();
    let photo = world.add_photo(&f.alice, "Old", "old text", &["one"]);
    let info = || Call::rest("flickr.photos.getInfo", &[("photo_id", &photo)]).token(&f.read);
    let before = info().ok(&f.sim).await["photo"]["dates"]["lastupdate"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    world.advance_clock(60);
    Call::rest(
        "flickr.photos.setMeta",
        &[
            ("photo_id", &photo),
            ("title", "New title"),
            ("description", "New <b>text</b>"),
        ],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let answer = info().ok(&f.sim).await;
    let got = &answer["photo"];
    assert_eq!(got["title"]["_content"], "New title");
    assert_eq!(got["description"]["_content"], "New <b>text</b>");
    let after: i64 = got["dates"]["lastupdate"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after >= before + 60, "{before} {after}");
    assert_eq!(got["owner"]["nsid"], f.alice.as_str());
    assert_eq!(got["visibility"]["ispublic"], 1);
    assert_eq!(got["comments"]["_content"], "0");
    assert_eq!(got["urls"]["url"][0]["type"], "photopage");
    Call::rest("flickr.photos.setMeta", &[("photo_id", &photo)])
        .token(&f.write)
        .fails(&f.sim, 2)
        .await;

    Call::rest(
        "flickr.photos.setTags",
        &[
            ("photo_id", &photo),
            ("tags", "alpha \"two words\" ghl:contact=XyZ"),
        ],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    Call::rest(
        "flickr.photos.addTags",
        &[("photo_id", &photo), ("tags", "beta alpha")],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let tags = &info().ok(&f.sim).await["photo"]["tags"]["tag"];
    let clean: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["_content"].as_str().unwrap())
        .collect();
    assert_eq!(clean, vec!["alpha", "twowords", "ghl:contact=xyz", "beta"]);
    assert_eq!(tags[1]["raw"], "two words");
    assert_eq!(tags[2]["raw"], "ghl:contact=XyZ");
    assert_eq!(tags[2]["machine_tag"], 1);
    assert_eq!(tags[0]["author"], f.alice.as_str());

    let listed = Call::rest("flickr.tags.getListPhoto", &[("photo_id", &photo)])
        .unsigned()
        .ok(&f.sim)
        .await;
    let tag_id = listed["photo"]["tags"]["tag"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    world.advance_clock(60);
    Call::rest("flickr.photos.removeTag", &[("tag_id", &tag_id)])
        .token(&f.write)
        .ok(&f.sim)
        .await;
    let photo_now = world.photo(&photo).unwrap();
    assert_eq!(photo_now.tags.len(), 3);
    assert!(photo_now.tags.iter().all(|tag| tag.id != tag_id));
    assert!(photo_now.lastupdate >= after + 60);
    Call::rest("flickr.photos.removeTag", &[("tag_id", &tag_id)])
        .token(&f.write)
        .fails(&f.sim, 1)
        .await;
    // Someone else's photo is "not found" for writes.
    let bob = world.add_user("bob", "Bob", None);
    let bobs = world.add_photo(&bob, "b", "", &[]);
    Call::rest(
        "flickr.photos.setMeta",
        &[("photo_id", &bobs), ("title", "x")],
    )
    .token(&f.write)
    .fails(&f.sim, 1)
    .await;
    // Delete needs delete perms, then the photo is gone.
    Call::rest("flickr.photos.delete", &[("photo_id", &photo)])
        .token(&f.delete)
        .ok(&f.sim)
        .await;
    info().fails(&f.sim, 1).await;
}

#[tokio::test]
async fn recently_updated_lists_changed_photos_newest_change_first() {
    let f = fixture().await;
    let world = f.sim.world();
    let t0 = world.now();
    let a = world.add_photo(&f.alice, "a", "", &[]);
    let b = world.add_photo(&f.alice, "b", "", &[]);
    let _c = world.add_photo(&f.alice, "c", "", &[]);
    world.advance_clock(100);
    world.edit_photo(&b, Some("b2"), None, None).unwrap();
    world.advance_clock(100);
    Call::rest(
        "flickr.photos.setMeta",
        &[("photo_id", &a), ("title", "a2")],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let since = |min: i64| {
        Call::rest(
            "flickr.photos.recentlyUpdated",
            &[("min_date", &min.to_string()), ("extras", "last_update")],
        )
        .token(&f.read)
    };
    let answer = since(t0 + 50).ok(&f.sim).await;
    assert_eq!(ids(&answer, "photos"), vec![a.clone(), b.clone()]);
    let first = &answer["photos"]["photo"][0];
    assert_eq!(
        first["lastupdate"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap(),
        world.photo(&a).unwrap().lastupdate
    );
    assert_eq!(
        ids(&since(t0 + 150).ok(&f.sim).await, "photos"),
        vec![a.clone()]
    );
    assert_eq!(ids(&since(t0 + 1_000).ok(&f.sim).await, "photos").len(), 0);
    assert_eq!(ids(&since(t0).ok(&f.sim).await, "photos").len(), 3);
    // A MySQL datetime works too; garbage does not.
    Call::rest(
        "flickr.photos.recentlyUpdated",
        &[("min_date", "2001-01-01 00:00:00")],
    )
    .token(&f.read)
    .ok(&f.sim)
    .await;
    Call::rest(
        "flickr.photos.recentlyUpdated",
        &[("min_date", "last tuesday")],
    )
    .token(&f.read)
    .fails(&f.sim, 2)
    .await;
    Call::rest("flickr.photos.recentlyUpdated", &[])
        .token(&f.read)
        .fails(&f.sim, 1)
        .await;
}

#[tokio::test]
async fn photosets_are_created_extended_edited_and_deleted() {
    let f = fixture().await;
    let world = f.sim.world();
    let first = world.add_photo(&f.alice, "first", "", &[]);
    let second = world.add_photo(&f.alice, "second", "", &[]);
    let created = Call::rest(
        "flickr.photosets.create",
        &[
            ("title", "Weddings"),
            ("primary_photo_id", &first),
            ("description", "2024"),
        ],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let set_id = created["photoset"]["id"].as_str().unwrap().to_owned();
    assert!(
        created["photoset"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/sets/{set_id}/"))
    );
    Call::rest(
        "flickr.photosets.addPhoto",
        &[("photoset_id", &set_id), ("photo_id", &second)],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    Call::rest(
        "flickr.photosets.addPhoto",
        &[("photoset_id", &set_id), ("photo_id", &second)],
    )
    .token(&f.write)
    .fails(&f.sim, 3)
    .await;
    Call::rest(
        "flickr.photosets.editMeta",
        &[("photoset_id", &set_id), ("title", "Weddings 2024")],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let photos = Call::rest(
        "flickr.photosets.getPhotos",
        &[("photoset_id", &set_id), ("user_id", &f.alice)],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(photos["photoset"]["title"], "Weddings 2024");
    assert_eq!(photos["photoset"]["total"], "2");
    assert_eq!(photos["photoset"]["perpage"], 500);
    assert_eq!(
        ids(&photos, "photoset"),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(photos["photoset"]["photo"][0]["isprimary"], "1");
    let list = Call::rest("flickr.photosets.getList", &[])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    let entry = &list["photosets"]["photoset"][0];
    assert_eq!(entry["id"], set_id.as_str());
    assert_eq!(entry["title"]["_content"], "Weddings 2024");
    assert_eq!(entry["description"]["_content"], "2024");
    assert_eq!(entry["photos"], 2);
    let info = Call::rest(
        "flickr.photosets.getInfo",
        &[("photoset_id", &set_id), ("user_id", &f.alice)],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(info["photoset"]["primary"], first.as_str());
    Call::rest(
        "flickr.photosets.removePhoto",
        &[("photoset_id", &set_id), ("photo_id", &first)],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    assert_eq!(world.photoset(&set_id).unwrap().primary, second);
    Call::rest("flickr.photosets.delete", &[("photoset_id", &set_id)])
        .token(&f.write)
        .ok(&f.sim)
        .await;
    assert!(world.photoset(&set_id).is_none());
    assert!(world.photo(&first).is_some());
    Call::rest(
        "flickr.photosets.create",
        &[("title", "x"), ("primary_photo_id", "1")],
    )
    .token(&f.write)
    .fails(&f.sim, 2)
    .await;
}

#[tokio::test]
async fn comments_are_added_edited_and_deleted() {
    let f = fixture().await;
    let world = f.sim.world();
    let photo = world.add_photo(&f.alice, "p", "", &[]);
    let bob = world.add_user("bob", "Bob B", None);
    world.add_comment(&photo, &bob, "Nice one");
    let added = Call::rest(
        "flickr.photos.comments.addComment",
        &[("photo_id", &photo), ("comment_text", "Thanks!")],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let comment_id = added["comment"]["id"].as_str().unwrap().to_owned();
    Call::rest(
        "flickr.photos.comments.addComment",
        &[("photo_id", &photo), ("comment_text", "  ")],
    )
    .token(&f.write)
    .fails(&f.sim, 8)
    .await;
    Call::rest(
        "flickr.photos.comments.editComment",
        &[
            ("comment_id", &comment_id),
            ("comment_text", "Thanks a lot!"),
        ],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let list = Call::rest("flickr.photos.comments.getList", &[("photo_id", &photo)])
        .unsigned()
        .ok(&f.sim)
        .await;
    let comments = list["comments"]["comment"].as_array().unwrap();
    assert_eq!(list["comments"]["photo_id"], photo.as_str());
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["_content"], "Nice one");
    assert_eq!(comments[0]["authorname"], "bob");
    assert_eq!(comments[0]["realname"], "Bob B");
    assert_eq!(comments[1]["_content"], "Thanks a lot!");
    assert_eq!(comments[1]["id"], comment_id.as_str());
    // Bob's comment: alice cannot edit it, but as the photo's owner she may delete it.
    let bobs = comments[0]["id"].as_str().unwrap().to_owned();
    Call::rest(
        "flickr.photos.comments.editComment",
        &[("comment_id", &bobs), ("comment_text", "x")],
    )
    .token(&f.write)
    .fails(&f.sim, 2)
    .await;
    Call::rest(
        "flickr.photos.comments.deleteComment",
        &[("comment_id", &bobs)],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    assert_eq!(world.comments(&photo).len(), 1);
    let info = Call::rest("flickr.photos.getInfo", &[("photo_id", &photo)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(info["photo"]["comments"]["_content"], "1");
}

/// A multipart body: text fields, then the file part.
fn multipart(fields: &[(String, String)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----tether-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(bytes) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"rose.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    f: &Fixture,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<&[u8]>,
    sign_photo: bool,
) -> (StatusCode, String) {
    let mut call = Call::to(
        path,
        fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .token(&f.write);
    if sign_photo {
        // The DPZFlickr bug: the file signed as if it were a text field.
        call.params.push(("photo".into(), "@/tmp/rose.png".into()));
    }
    let oauth = call.oauth_params(&f.sim.signed_url(&call));
    let mut all: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    all.extend(oauth);
    let (content_type, body) = multipart(&all, file);
    let response = f
        .sim
        .http
        .post(format!("{}{path}", f.sim.base_url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn upload_is_signed_over_text_fields_only_and_answers_xml() {
    let f = fixture().await;
    let png = b"\x89PNG\r\n\x1a\n not really a png";
    let (status, body) = upload(
        &f,
        "/services/upload/",
        &[
            ("title", "Café rose"),
            ("description", "line1\nline2"),
            ("tags", "rose \"red flower\""),
            ("is_public", "0"),
        ],
        Some(png),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<rsp stat=\"ok\">"), "{body}");
    let id = body
        .split("<photoid>")
        .nth(1)
        .and_then(|rest| rest.split("</photoid>").next())
        .unwrap()
        .to_owned();
    let photo = f.sim.world().photo(&id).unwrap();
    assert_eq!(photo.title, "Café rose");
    assert_eq!(photo.description, "line1\nline2");
    assert!(!photo.is_public);
    assert_eq!(photo.original_format, "png");
    assert_eq!(photo.size, png.len());
    let info = Call::rest("flickr.photos.getInfo", &[("photo_id", &id)])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    assert_eq!(info["photo"]["tags"]["tag"][1]["raw"], "red flower");

    let (_, body) = upload(&f, "/services/upload/", &[("title", "x")], Some(png), true).await;
    assert!(body.contains("<err code=\"96\""), "{body}");
    let (_, body) = upload(&f, "/services/upload/", &[("title", "x")], None, false).await;
    assert!(
        body.contains("<err code=\"2\" msg=\"No photo specified\" />"),
        "{body}"
    );
    // Replace: a new file for the same photo, a new secret, `lastupdate` bumped.
    f.sim.world().advance_clock(30);
    let (status, body) = upload(
        &f,
        "/services/replace/",
        &[("photo_id", &id)],
        Some(b"GIF89a"),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let replaced = f.sim.world().photo(&id).unwrap();
    assert!(
        body.contains(&format!("secret=\"{}\"", replaced.secret))
            && body.contains(&format!(">{id}</photoid>")),
        "{body}"
    );
    assert_ne!(replaced.secret, photo.secret);
    assert!(replaced.lastupdate >= photo.lastupdate + 30);
    let (_, body) = upload(
        &f,
        "/services/replace/",
        &[("photo_id", "1")],
        Some(b"GIF89a"),
        false,
    )
    .await;
    assert!(body.contains("<err code=\"1\""), "{body}");
}

#[tokio::test]
async fn jsonp_and_xml_are_answered_when_asked() {
    let f = fixture().await;
    let photo = f.sim.world().add_photo(&f.alice, "A & B", "<desc>", &["x"]);
    let mut jsonp = Call::rest("flickr.test.echo", &[]).unsigned();
    jsonp.params.retain(|(name, _)| name != "nojsoncallback");
    let (_, body) = jsonp.send(&f.sim).await;
    assert!(
        body.starts_with("jsonFlickrApi({") && body.ends_with("})"),
        "{body}"
    );
    let (_, body) = jsonp
        .clone()
        .param("jsoncallback", "myCallback")
        .send(&f.sim)
        .await;
    assert!(body.starts_with("myCallback({"), "{body}");

    let mut xml = Call::rest("flickr.photos.getInfo", &[("photo_id", &photo)]).unsigned();
    xml.params
        .retain(|(name, _)| name != "format" && name != "nojsoncallback");
    let (status, body) = xml.send(&f.sim).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rsp stat=\"ok\">"),
        "{body}"
    );
    assert!(body.contains("<title>A &amp; B</title>"), "{body}");
    assert!(
        body.contains("<description>&lt;desc&gt;</description>"),
        "{body}"
    );
    assert!(body.contains(&format!("<photo id=\"{photo}\"")), "{body}");
    let mut xml_fail = Call::rest("flickr.nope", &[]).unsigned();
    xml_fail
        .params
        .retain(|(name, _)| name != "format" && name != "nojsoncallback");
    let (_, body) = xml_fail.send(&f.sim).await;
    assert!(body.contains("<rsp stat=\"fail\">\n\t<err code=\"112\" msg=\"Method &quot;flickr.nope&quot; not found\" />"), "{body}");
}

#[tokio::test]
async fn people_contacts_favorites_galleries_urls_and_reflection() {
    let f = fixture().await;
    let world = f.sim.world();
    let bob = world.add_user("bob", "Bob B", Some("Bob@Example.com"));
    let carol = world.add_user("carol", "Carol C", None);
    world.add_contact(&f.alice, &bob);
    world.advance_clock(10);
    world.add_contact(&f.alice, &carol);
    let bobs = world.add_photo(&bob, "bob's", "", &[]);

    let found = Call::rest(
        "flickr.people.findByEmail",
        &[("find_email", "bob@example.COM")],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(found["user"]["nsid"], bob.as_str());
    assert_eq!(found["user"]["username"]["_content"], "bob");
    Call::rest(
        "flickr.people.findByEmail",
        &[("find_email", "nobody@example.com")],
    )
    .unsigned()
    .fails(&f.sim, 1)
    .await;
    let by_name = Call::rest("flickr.people.findByUsername", &[("username", "CAROL")])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(by_name["user"]["nsid"], carol.as_str());
    let person = Call::rest("flickr.people.getInfo", &[("user_id", &bob)])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    assert_eq!(person["person"]["realname"]["_content"], "Bob B");
    assert_eq!(person["person"]["photos"]["count"]["_content"], 1);
    assert_eq!(person["person"]["contact"], 1);
    assert_eq!(
        person["person"]["mbox_sha1sum"]["_content"]
            .as_str()
            .unwrap()
            .len(),
        40
    );

    let by_time = Call::rest("flickr.contacts.getList", &[("sort", "time")])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    let order: Vec<&str> = by_time["contacts"]["contact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|contact| contact["nsid"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![carol.as_str(), bob.as_str()]);
    assert_eq!(by_time["contacts"]["total"], "2");
    Call::rest("flickr.contacts.getList", &[("sort", "random")])
        .token(&f.read)
        .fails(&f.sim, 1)
        .await;
    let public = Call::rest("flickr.contacts.getPublicList", &[("user_id", &f.alice)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(public["contacts"]["contact"][0]["username"], "bob");

    Call::rest("flickr.favorites.add", &[("photo_id", &bobs)])
        .token(&f.write)
        .ok(&f.sim)
        .await;
    Call::rest("flickr.favorites.add", &[("photo_id", &bobs)])
        .token(&f.write)
        .fails(&f.sim, 3)
        .await;
    let faves = Call::rest("flickr.favorites.getList", &[])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    assert_eq!(ids(&faves, "photos"), vec![bobs.clone()]);
    assert!(faves["photos"]["photo"][0]["date_faved"].is_string());
    Call::rest("flickr.favorites.remove", &[("photo_id", &bobs)])
        .token(&f.write)
        .ok(&f.sim)
        .await;
    Call::rest("flickr.favorites.remove", &[("photo_id", &bobs)])
        .token(&f.write)
        .fails(&f.sim, 1)
        .await;

    let gallery = Call::rest(
        "flickr.galleries.create",
        &[("title", "Picks"), ("description", "d")],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let gallery_id = gallery["gallery"]["id"].as_str().unwrap().to_owned();
    Call::rest(
        "flickr.galleries.addPhoto",
        &[
            ("gallery_id", &gallery_id),
            ("photo_id", &bobs),
            ("comment", "great"),
        ],
    )
    .token(&f.write)
    .ok(&f.sim)
    .await;
    let own = world.add_photo(&f.alice, "mine", "", &[]);
    Call::rest(
        "flickr.galleries.addPhoto",
        &[("gallery_id", &gallery_id), ("photo_id", &own)],
    )
    .token(&f.write)
    .fails(&f.sim, 7)
    .await;
    let photos = Call::rest("flickr.galleries.getPhotos", &[("gallery_id", &gallery_id)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(photos["photos"]["photo"][0]["comment"]["_content"], "great");
    assert_eq!(photos["photos"]["photo"][0]["is_primary"], 1);
    let list = Call::rest(
        "flickr.galleries.getList",
        &[
            ("user_id", &f.alice),
            ("continuation", "0"),
            ("short_limit", "2"),
        ],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(list["galleries"]["gallery"][0]["id"], gallery_id.as_str());
    assert_eq!(list["galleries"]["continuation"], "-1");
    let info = Call::rest("flickr.galleries.getInfo", &[("gallery_id", &gallery_id)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(info["gallery"]["count_photos"], 1);

    let profile = Call::rest("flickr.urls.getUserProfile", &[])
        .token(&f.read)
        .ok(&f.sim)
        .await;
    let url = profile["user"]["url"].as_str().unwrap().to_owned();
    let looked_up = Call::rest("flickr.urls.lookupUser", &[("url", &url)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(looked_up["user"]["id"], f.alice.as_str());
    let photos_url = Call::rest("flickr.urls.getUserPhotos", &[("user_id", &bob)])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert!(photos_url["user"]["url"].as_str().unwrap().contains(&bob));

    let methods = Call::rest("flickr.reflection.getMethods", &[])
        .unsigned()
        .ok(&f.sim)
        .await;
    assert_eq!(methods["methods"]["method"].as_array().unwrap().len(), 222);
    let info = Call::rest(
        "flickr.reflection.getMethodInfo",
        &[("method_name", "flickr.photos.setMeta")],
    )
    .unsigned()
    .ok(&f.sim)
    .await;
    assert_eq!(info["method"]["name"], "flickr.photos.setMeta");
    assert_eq!(info["arguments"]["argument"][1]["name"], "photo_id");
    Call::rest(
        "flickr.reflection.getMethodInfo",
        &[("method_name", "flickr.nope")],
    )
    .unsigned()
    .fails(&f.sim, 1)
    .await;
}

#[tokio::test]
async fn seeding_is_deterministic_per_seed() {
    let config = |rng_seed| FlickrSimConfig {
        seed_users: 6,
        rng_seed,
        ..FlickrSimConfig::default()
    };
    let snapshot = |sim: &FlickrSim| {
        let world = sim.world();
        world
            .user_nsids()
            .into_iter()
            .map(|nsid| {
                let photos: Vec<(String, String, Vec<String>)> = world
                    .photos_of(&nsid)
                    .into_iter()
                    .map(|id| {
                        let photo = world.photo(&id).unwrap();
                        (
                            id,
                            photo.title,
                            photo.tags.into_iter().map(|tag| tag.id).collect(),
                        )
                    })
                    .collect();
                (
                    nsid.clone(),
                    world.user(&nsid).unwrap().username,
                    photos,
                    world.photosets_of(&nsid),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = FlickrSim::new(config(7));
    let again = FlickrSim::new(config(7));
    let other = FlickrSim::new(config(8));
    assert_eq!(snapshot(&first), snapshot(&again));
    assert_ne!(snapshot(&first), snapshot(&other));
    let counts = first.world().counts();
    assert_eq!(counts.users, 6);
    assert!(counts.photos >= 18, "{counts:?}");
    assert!(counts.photosets >= 6, "{counts:?}");
    assert!(counts.comments > 0, "{counts:?}");
    assert!(
        first
            .world()
            .user_nsids()
            .iter()
            .any(|nsid| !first.world().contacts_of(nsid).is_empty())
    );
    // Seeded data is served: a seeded user's public photos, albums and e-mail lookups.
    let sim = Sim::start(config(7)).await;
    let nsid = sim.world().user_nsids()[0].clone();
    let email = sim.world().user(&nsid).unwrap().email.unwrap();
    let found = Call::rest("flickr.people.findByEmail", &[("find_email", &email)])
        .unsigned()
        .ok(&sim)
        .await;
    assert_eq!(found["user"]["nsid"], nsid.as_str());
    let sets = Call::rest("flickr.photosets.getList", &[("user_id", &nsid)])
        .unsigned()
        .ok(&sim)
        .await;
    assert!(!sets["photosets"]["photoset"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_request_log_records_flickr_methods() {
    let f = fixture().await;
    Call::rest("flickr.test.echo", &[])
        .unsigned()
        .ok(&f.sim)
        .await;
    let log = f.sim.admin(Method::GET, "requests", None).await;
    let last = log["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["operation_id"], "flickr.test.echo");
    assert_eq!(last["path"], "/services/rest");
    assert_eq!(last["status"], 200);
    let token = f
        .sim
        .admin(
            Method::POST,
            "tokens",
            Some(json!({"user_nsid": f.alice, "perms": "write"})),
        )
        .await;
    let minted = (
        token["oauth_token"].as_str().unwrap().to_owned(),
        token["oauth_token_secret"].as_str().unwrap().to_owned(),
    );
    let check = Call::rest(
        "flickr.auth.oauth.checkToken",
        &[("oauth_token", &minted.0)],
    )
    .token(&minted)
    .ok(&f.sim)
    .await;
    assert_eq!(check["oauth"]["perms"]["_content"], "write");
    let added = f
        .sim
        .admin(
            Method::POST,
            "photos",
            Some(json!({"owner": f.alice, "title": "from the browser", "tags": ["a", "ghl:contact=1"]})),
        )
        .await;
    let id = added["id"].as_str().unwrap().to_owned();
    let edited = f
        .sim
        .admin(
            Method::PATCH,
            &format!("photos/{id}"),
            Some(json!({"title": "renamed"})),
        )
        .await;
    assert_eq!(edited["title"], "renamed");
    assert_eq!(edited["tags"].as_array().unwrap().len(), 2);
    let bob = f
        .sim
        .admin(
            Method::POST,
            "users",
            Some(json!({"username": "bob", "realname": "Bob", "email": "bob@example.com"})),
        )
        .await["nsid"]
        .as_str()
        .unwrap()
        .to_owned();
    f.sim
        .admin(
            Method::POST,
            "comments",
            Some(json!({"photo_id": id, "author": bob, "text": "Nice"})),
        )
        .await;
    f.sim
        .admin(
            Method::POST,
            "contacts",
            Some(json!({"user": f.alice, "contact": bob, "friend": true})),
        )
        .await;
    assert_eq!(f.sim.world().comments(&id)[0].text, "Nice");
    assert!(f.sim.world().contacts_of(&f.alice)[0].friend);
    let unknown = f
        .sim
        .http
        .post(format!("{}/__sim/photos", f.sim.base_url))
        .json(&json!({"owner": "nobody@N01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

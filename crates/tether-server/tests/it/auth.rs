//! Accounts and security over HTTP: what needs a login, first-start setup, sign-in and its
//! throttling, browser sessions and their cross-site refusals, API tokens, cookie flags,
//! security headers, and that no secret or hash ever leaves the server.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ApiHarness, OWNER_EMAIL, OWNER_PASSWORD};

/// A cross-site write: its extra headers, content type, body, and what the refusal names.
type Refusal<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);

/// Status, headers and JSON body of an answer.
async fn answer(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Signs in with a plain client; answers the `tether_session=…` pair to send as `Cookie`.
async fn session_cookie(api: &ApiHarness) -> String {
    let response = reqwest::Client::new()
        .post(api.url("/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn protected_routes_need_a_token_or_a_session_and_public_ones_do_not() {
    let api = ApiHarness::start().await;
    let anonymous = reqwest::Client::new();
    for path in ["/auth/me", "/tokens", "/no-such-route"] {
        let (status, headers, body) =
            answer(anonymous.get(api.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(body["code"], "unauthenticated");
        assert!(headers.contains_key("www-authenticate"));
    }
    let (status, _, body) = answer(
        anonymous
            .delete(api.url("/tokens/harness"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    for path in ["/health", "/openapi.json", "/auth/setup"] {
        let response = anonymous.get(api.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let (_, _, setup) = answer(anonymous.get(api.url("/auth/setup")).send().await.unwrap()).await;
    assert_eq!(setup, json!({"needed": false}));

    for authorization in [
        "Bearer tth_not-a-real-token",
        "Basic b3duZXI6cHc=",
        "Bearer ",
    ] {
        let (status, _, body) = answer(
            anonymous
                .get(api.url("/auth/me"))
                .header("authorization", authorization)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{authorization}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("Authorization:"),
            "{body}"
        );
    }
    let (status, _, body) = answer(
        anonymous
            .get(api.url("/auth/me"))
            .header("cookie", "tether_session=forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    api.cleanup().await;
}

#[tokio::test]
async fn setup_creates_the_owner_once_with_its_token_and_signs_them_in() {
    let api = ApiHarness::start_unowned().await;
    let browser = api.browser_with(&api.base, "same-origin");
    let (_, _, status) = answer(browser.get(api.url("/auth/setup")).send().await.unwrap()).await;
    assert_eq!(status, json!({"needed": true}));
    let token = api.service.issue_setup_token().await.unwrap().unwrap();
    assert_eq!(
        api.service.setup_url(&token).as_str(),
        format!("http://127.0.0.1:8800/setup?token={token}")
    );
    let setup = |body: Value| browser.post(api.url("/auth/setup")).json(&body).send();

    let (status, _, body) = answer(
        setup(json!({"token": token, "email": "ada@example.com", "password": "short"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("password: a password needs at least 12"),
        "{body}"
    );
    let (status, _, body) = answer(
        setup(json!({"token": "guessed", "email": "ada@example.com", "password": "a long enough password"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    let (status, _, body) = answer(setup(json!({"token": token})).await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("email"), "{body}");

    let (status, headers, owner) = answer(
        setup(json!({"token": token, "email": "Ada@Example.com", "password": "a long enough password"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{owner}");
    assert_eq!(owner["email"], "ada@example.com");
    assert_eq!(owner["role"], "owner");
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("tether_session=")
    );
    let (status, _, me) = answer(browser.get(api.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authenticatedBy"], "session");
    assert_eq!(me["id"], owner["id"]);

    let (status, _, body) = answer(
        setup(json!({"token": token, "email": "eve@example.com", "password": "a long enough password"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 409,
        "the token is spent and an owner exists: {body}"
    );
    assert_eq!(api.service.issue_setup_token().await.unwrap(), None);
    let (_, _, status) = answer(browser.get(api.url("/auth/setup")).send().await.unwrap()).await;
    assert_eq!(status, json!({"needed": false}));

    // The stored hash is Argon2id with OWASP's parameters: m=19456 KiB, t=2, p=1.
    let (_, hash) = api
        .service
        .store()
        .user_with_password("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    let fields: Vec<&str> = hash.split('$').collect();
    assert_eq!(fields[1], "argon2id", "{hash}");
    assert_eq!(fields[2], "v=19", "{hash}");
    assert_eq!(fields[3], "m=19456,t=2,p=1", "{hash}");
    assert!(
        fields[4].len() >= 16 && fields[5].len() >= 32,
        "salt and hash: {hash}"
    );
    api.cleanup().await;
}

#[tokio::test]
async fn wrong_passwords_get_401_then_429_after_five_and_a_success_resets_the_count() {
    let api = ApiHarness::start().await;
    let client = reqwest::Client::new();
    let login = |email: &str, password: &str| {
        client
            .post(api.url("/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    for _ in 0..4 {
        let (status, _, body) = answer(login(OWNER_EMAIL, "wrong password!").await.unwrap()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["detail"], "wrong e-mail address or password");
    }
    let (status, _, _) = answer(login(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap()).await;
    assert_eq!(status, 200, "a success after four failures");
    for attempt in 1..=5 {
        let (status, _, body) = answer(login(OWNER_EMAIL, "wrong password!").await.unwrap()).await;
        assert_eq!(status, 401, "failure {attempt} after the reset: {body}");
    }
    let (status, headers, body) = answer(login(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap()).await;
    assert_eq!(status, 429, "even the right password waits: {body}");
    assert_eq!(body["code"], "too_many_requests");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert!(
        body["detail"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
    api.cleanup().await;
}

#[tokio::test]
async fn five_failures_from_one_address_throttle_it_whatever_the_e_mail() {
    let api = ApiHarness::start().await;
    let client = reqwest::Client::new();
    for n in 0..5 {
        let response = client
            .post(api.url("/auth/login"))
            .json(&json!({"email": format!("guess{n}@example.com"), "password": "some password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let (status, headers, body) = answer(
        client
            .post(api.url("/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
    // API tokens are not sign-ins: they keep working.
    let me = api.http.get(api.url("/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    api.cleanup().await;
}

/// Behind a trusted reverse proxy every client arrives from the proxy's address: throttling
/// counts the client `X-Forwarded-For` names instead. From an untrusted peer the header is
/// ignored, since anyone can send it.
#[tokio::test]
async fn behind_a_trusted_proxy_throttling_counts_the_forwarded_client() {
    // Each attempt names another e-mail address, so only the per-address count can throttle.
    let fail = |client: &reqwest::Client, api: &ApiHarness, forwarded: &str| {
        client
            .post(api.url("/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({
                "email": format!("nobody-{}@example.com", fastrand::u32(..)),
                "password": "some password",
            }))
            .send()
    };
    let client = reqwest::Client::new();
    let behind_proxy = ApiHarness::start_with(tether_service::Settings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..tether_service::Settings::default()
    })
    .await;
    for n in 0..5 {
        // Five clients fail once each (a spoofed first entry is not believed: the proxy's own
        // entry, the last, names the client).
        let status = fail(&client, &behind_proxy, &format!("10.9.9.9, 203.0.113.{n}"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    // A sixth client is not throttled: no address failed five times.
    let status = fail(&client, &behind_proxy, "203.0.113.77")
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "clients behind the proxy are counted apart");
    behind_proxy.cleanup().await;

    let direct = ApiHarness::start().await;
    for n in 0..5 {
        let status = fail(&client, &direct, &format!("203.0.113.{n}"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    let status = fail(&client, &direct, "203.0.113.77")
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 429,
        "an untrusted peer's X-Forwarded-For is ignored"
    );
    direct.cleanup().await;
}

#[tokio::test]
async fn a_browser_session_reads_and_writes_same_origin_json_and_cross_site_writes_are_refused() {
    let api = ApiHarness::start().await;
    let browser = api.browser().await;
    let (status, _, me) = answer(browser.get(api.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authenticatedBy"], "session");
    assert_eq!(me["email"], OWNER_EMAIL);
    let (status, _, created) = answer(
        browser
            .post(api.url("/tokens"))
            .json(&json!({"name": "from-the-ui"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    let cookie = session_cookie(&api).await;
    let plain = reqwest::Client::new();
    let post = |headers: &[(&str, &str)], content_type: &str, body: &str| {
        let mut request = plain
            .post(api.url("/tokens"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let refusals: [Refusal; 5] = [
        (
            &[("sec-fetch-site", "cross-site")],
            "application/json",
            r#"{"name":"x1"}"#,
            "Sec-Fetch-Site",
        ),
        (
            &[("sec-fetch-site", "same-site")],
            "application/json",
            r#"{"name":"x2"}"#,
            "Sec-Fetch-Site",
        ),
        (
            &[("origin", "http://evil.example")],
            "application/json",
            r#"{"name":"x3"}"#,
            "Origin",
        ),
        (
            &[],
            "application/x-www-form-urlencoded",
            "name=x4",
            "Content-Type",
        ),
        (
            &[("sec-fetch-site", "same-origin")],
            "text/plain",
            r#"{"name":"x5"}"#,
            "Content-Type",
        ),
    ];
    for (headers, content_type, body, named) in refusals {
        let (status, _, problem) = answer(post(headers, content_type, body).await.unwrap()).await;
        assert_eq!(status, 403, "{headers:?} {content_type}: {problem}");
        assert_eq!(problem["code"], "forbidden");
        assert!(
            problem["detail"].as_str().unwrap().contains(named),
            "the reason names {named}: {problem}"
        );
    }
    let base = api.base.clone();
    let (status, _, body) = answer(
        post(
            &[("sec-fetch-site", "same-origin"), ("origin", &base)],
            "application/json; charset=utf-8",
            r#"{"name":"ok-1"}"#,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "same origin, JSON: {body}");
    let (status, _, body) = answer(
        post(&[], "application/json", r#"{"name":"ok-2"}"#)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 201,
        "no fetch metadata (an older client), JSON: {body}"
    );
    let listed: Value = api
        .http
        .get(api.url("/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.iter().any(|name| name.starts_with('x')),
        "no refused write happened: {names:?}"
    );

    // A bearer token is no ambient credential: the same cross-site headers pass with it.
    let (status, _, body) = answer(
        api.http
            .post(api.url("/tokens"))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "http://evil.example")
            .json(&json!({"name": "script"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Signing in from another site is refused too.
    let cross = api.browser_with("http://evil.example", "cross-site");
    let (status, _, _) = answer(
        cross
            .post(api.url("/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);

    // An empty DELETE from the page is fine; then logout ends the session.
    let (status, _, body) = answer(
        browser
            .delete(api.url("/tokens/ok-1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let response = browser.post(api.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        browser
            .get(api.url("/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    api.cleanup().await;
}

#[tokio::test]
async fn bearer_tokens_work_until_revoked_and_list_without_secrets() {
    let api = ApiHarness::start().await;
    let (status, _, me) = answer(api.http.get(api.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authenticatedBy"], "token");

    let (status, headers, created) = answer(
        api.http
            .post(api.url("/tokens"))
            .json(&json!({"name": "ci"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        headers["cache-control"], "no-store",
        "a secret is never cached"
    );
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tth_") && secret.len() > 40, "{secret}");
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    let ci = reqwest::Client::new();
    let me_with = |token: &str| {
        ci.get(api.url("/auth/me"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let (status, _, me) = answer(me_with(&secret).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["tokenId"], created["id"]);

    let (status, _, body) = answer(
        api.http
            .post(api.url("/tokens"))
            .json(&json!({"name": "ci"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = answer(
        api.http
            .post(api.url("/tokens"))
            .json(&json!({"name": "has space"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().starts_with("name:"),
        "{body}"
    );

    let listing = api
        .http
        .get(api.url("/tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listing.contains(&secret), "the list never shows a secret");
    assert!(!listing.contains(&api.token));
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let ci_listed = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap();
    assert_eq!(ci_listed["prefix"], created["prefix"]);
    assert!(ci_listed["lastUsedAt"].is_string(), "{ci_listed}");
    assert!(ci_listed.get("token").is_none());

    let response = api.http.delete(api.url("/tokens/ci")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let (status, _, body) = answer(me_with(&secret).await.unwrap()).await;
    assert_eq!(status, 401, "a revoked token: {body}");
    let (status, _, body) =
        answer(api.http.delete(api.url("/tokens/ci")).send().await.unwrap()).await;
    assert_eq!(status, 404, "{body}");
    api.cleanup().await;
}

#[tokio::test]
async fn the_token_list_pages_with_an_opaque_cursor() {
    let api = ApiHarness::start().await;
    for name in ["a", "b", "c", "d"] {
        api.service
            .create_token(&api.owner.as_ref().unwrap().id, name)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = api.http.get(api.url("/tokens")).query(&[("limit", "2")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: Value = request.send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["a", "b", "c", "d", "harness"]);
    for query in ["limit=0", "limit=201", "cursor=%%%"] {
        let (status, _, body) = answer(
            api.http
                .get(format!("{}?{query}", api.url("/tokens")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    api.cleanup().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_only_behind_https() {
    let api = ApiHarness::start().await;
    let cookie = reqwest::Client::new()
        .post(api.url("/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap()
        .headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(
        attributes[0].starts_with("tether_session=") && attributes[0].len() > 40,
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attribute} in {cookie}");
    }
    assert!(!attributes.contains(&"Secure"), "plain http: {cookie}");
    let (_, headers, _) = answer(
        reqwest::Client::new()
            .post(api.url("/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(headers["cache-control"], "no-store");
    api.cleanup().await;

    let api = ApiHarness::start_with(tether_service::Settings {
        trusted_proxies: Vec::new(),
        public_url: "https://tether.example.com/".parse().unwrap(),
        ..tether_service::Settings::default()
    })
    .await;
    let response = reqwest::Client::new()
        .post(api.url("/auth/login"))
        .header("origin", "https://tether.example.com")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the public URL's origin is this server's"
    );
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.split(';').any(|a| a.trim() == "Secure"), "{cookie}");
    api.cleanup().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let api = ApiHarness::start().await;
    let anonymous = reqwest::Client::new();
    let answers = [
        anonymous.get(api.url("/health")).send().await.unwrap(),
        anonymous.get(api.url("/auth/me")).send().await.unwrap(),
        api.http.get(api.url("/tokens")).send().await.unwrap(),
        anonymous
            .get(format!("{}/healthz", api.base))
            .send()
            .await
            .unwrap(),
        anonymous
            .post(format!("{}/hooks/ghl", api.base))
            .body("{}")
            .send()
            .await
            .unwrap(),
        anonymous
            .get(format!("{}/nothing-here", api.base))
            .send()
            .await
            .unwrap(),
    ];
    for response in answers {
        let headers = response.headers();
        let what = response.url().path().to_owned();
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'self'; connect-src 'self' http://127.0.0.1:8800; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "{what}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    }
    api.cleanup().await;
}

#[tokio::test]
async fn no_answer_holds_a_password_a_hash_or_another_tokens_secret() {
    let api = ApiHarness::start().await;
    let browser = api.browser().await;
    let mut bodies = Vec::new();
    let login = reqwest::Client::new()
        .post(api.url("/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    bodies.push(login.text().await.unwrap());
    for path in ["/auth/me", "/tokens"] {
        bodies.push(
            browser
                .get(api.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        bodies.push(
            api.http
                .get(api.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let created = api
        .http
        .post(api.url("/tokens"))
        .json(&json!({"name": "n"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    bodies.push(
        api.http
            .get(api.url("/openapi.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let (_, password_hash) = api
        .service
        .store()
        .user_with_password(OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let token_hash = tether_service::accounts::secret_hash(&api.token);
    for body in bodies.iter().chain([&created]) {
        for secret in [
            password_hash.as_str(),
            token_hash.as_str(),
            OWNER_PASSWORD,
            api.token.as_str(),
            "$argon2",
        ] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        for field in ["passwordHash", "password_hash", "secretHash", "secret_hash"] {
            assert!(!body.contains(field), "{field} in {body}");
        }
    }
    api.cleanup().await;
}

#[tokio::test]
async fn a_login_link_signs_in_once() {
    let api = ApiHarness::start().await;
    let token = api.service.create_login_link(OWNER_EMAIL).await.unwrap();
    let url = api.service.login_url(&token);
    assert_eq!(url.path(), "/login");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = format!("{}/login?token={token}", api.base);
    let response = client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = client
        .get(api.url("/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let (status, _, body) = answer(client.get(&link).send().await.unwrap()).await;
    assert_eq!(status, 401, "a spent link: {body}");
    api.cleanup().await;
}

#[tokio::test]
async fn a_member_sees_and_revokes_only_their_own_tokens() {
    let api = ApiHarness::start().await;
    let member = api
        .service
        .create_account(tether_service::accounts::NewAccount {
            email: "member@tether.test".to_owned(),
            password: "a member's password".to_owned(),
            display_name: None,
            role: tether_store::Role::Member,
        })
        .await
        .unwrap();
    assert_eq!(member.role, "member");
    let secret = api
        .service
        .create_token(&member.id, "mine")
        .await
        .unwrap()
        .token;
    let as_member = reqwest::Client::new();
    let listed: Value = as_member
        .get(api.url("/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mine"]);
    let (status, _, body) = answer(
        as_member
            .delete(api.url("/tokens/harness"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        api.http
            .get(api.url("/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let owner_view: Value = api
        .http
        .get(api.url("/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        owner_view["items"].as_array().unwrap().len(),
        2,
        "the owner sees every token"
    );

    // A public route ignores an Authorization header it does not need.
    let health = as_member
        .get(api.url("/health"))
        .header("authorization", "Basic b3duZXI6cHc=")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    api.cleanup().await;
}

//! Changing one's password over HTTP: the current one is required, other sessions end while the
//! browser that changed it stays signed in, tokens stay, the new one signs in, and wrong
//! current passwords are throttled like sign-ins. Also the health answer a browser can check
//! from another origin.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ApiHarness, OWNER_EMAIL, OWNER_PASSWORD};

const NEW_PASSWORD: &str = "a brand new long password";

async fn change(
    client: &reqwest::Client,
    api: &ApiHarness,
    current: &str,
    new: &str,
) -> (StatusCode, Value, Option<String>) {
    let response = client
        .post(api.url("/auth/password"))
        .json(&json!({"current": current, "new": new}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        cookie,
    )
}

async fn me(client: &reqwest::Client, api: &ApiHarness) -> StatusCode {
    client
        .get(api.url("/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn login(api: &ApiHarness, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(api.url("/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let api = ApiHarness::start().await;
    let browser = api.browser().await;
    let other = api.browser().await;
    assert_eq!(me(&other, &api).await, StatusCode::OK);

    // Refused without the right current password, or with an unusable new one; nothing changes.
    let (status, body, _) = change(&browser, &api, "not my password", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"].as_str().unwrap().starts_with("current: "),
        "{body}"
    );
    let (status, body, _) = change(&browser, &api, OWNER_PASSWORD, "short").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"].as_str().unwrap().starts_with("new: "),
        "{body}"
    );
    let (status, body, _) = change(&browser, &api, OWNER_PASSWORD, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(me(&other, &api).await, StatusCode::OK);

    let (status, body, cookie) = change(&browser, &api, OWNER_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let cookie = cookie.expect("the browser gets a new session");
    assert!(cookie.starts_with("tether_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // This browser goes on; the other session has ended; the API token still works.
    assert_eq!(me(&browser, &api).await, StatusCode::OK);
    assert_eq!(me(&other, &api).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&api.http, &api).await, StatusCode::OK);
    // The old password no longer signs in; the new one does.
    assert_eq!(login(&api, OWNER_PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&api, NEW_PASSWORD).await, StatusCode::OK);

    // With an API token: changed, no cookie, every session ends.
    let (status, _, cookie) = change(&api.http, &api, NEW_PASSWORD, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(cookie, None);
    assert_eq!(me(&browser, &api).await, StatusCode::UNAUTHORIZED);
    api.cleanup().await;
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_sign_ins() {
    let api = ApiHarness::start().await;
    let browser = api.browser().await;
    for _ in 0..5 {
        let (status, body, _) = change(&browser, &api, "guess guess guess", NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let response = browser
        .post(api.url("/auth/password"))
        .json(&json!({"current": OWNER_PASSWORD, "new": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // The failures count against signing in too.
    assert_eq!(
        login(&api, OWNER_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    api.cleanup().await;
}

#[tokio::test]
async fn a_cross_site_password_change_is_refused() {
    let api = ApiHarness::start().await;
    let signed_in = api.browser().await;
    drop(signed_in);
    let evil = api.browser_with("https://evil.example", "cross-site");
    let (status, body, _) = change(&evil, &api, OWNER_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(login(&api, OWNER_PASSWORD).await, StatusCode::OK);
    api.cleanup().await;
}

#[tokio::test]
async fn health_names_this_server_to_any_origin() {
    let api = ApiHarness::start().await;
    let response = reqwest::Client::new()
        .get(api.url("/health"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // The page may fetch the public URL's health (here the default public URL).
    assert!(
        csp.contains("connect-src 'self' http://127.0.0.1:8800;"),
        "{csp}"
    );
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["instance"], api.service.instance_id());
    assert_eq!(health["instance"].as_str().unwrap().len(), 16);
    assert!(health["startedAt"].as_str().unwrap().ends_with('Z'));
    let another = tether_service::Service::for_store(api.service.store().clone());
    assert_ne!(another.instance_id(), api.service.instance_id());
    api.cleanup().await;
}

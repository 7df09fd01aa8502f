//! The web UI behind the whole server: pages are the app with the security headers, the API's
//! misses stay problems, and a login link lands on the app.

use crate::support::{ApiHarness, OWNER_EMAIL};

#[tokio::test]
async fn pages_are_the_app_under_the_csp_and_api_misses_stay_problems() {
    let api = ApiHarness::start().await;
    let anonymous = reqwest::Client::new();
    for path in ["/", "/runs/5?status=dead", "/setup?token=x", "/login"] {
        let response = anonymous
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'self'"),
            "{path}"
        );
        let body = response.text().await.unwrap();
        assert!(
            tether_web::is_built() && body.contains("<div id=\"app\">"),
            "{path}: the app's page, from a build with the UI (install Node 20+ and npm): {body}"
        );
    }
    for path in ["/api/v1/nope", "/api/nope", "/hooks/nope"] {
        let response = api
            .http
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "not_found", "{path}");
    }
    api.cleanup().await;
}

#[tokio::test]
async fn a_login_link_lands_on_the_app() {
    let api = ApiHarness::start().await;
    let token = api.service.create_login_link(OWNER_EMAIL).await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/login?token={token}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("tether_session=")
    );
    api.cleanup().await;
}

//! `GET /healthz`, and no run shown to an anonymous caller.

use crate::support::{TestServer, contact_event, signed};

#[tokio::test]
async fn healthz_answers_ok_while_the_store_is_reachable() {
    let server = TestServer::default().await;
    let response = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    // A closed pool is what an unreachable database looks like to the server.
    server.store.close().await;
    let response = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    server.cleanup().await;
}

#[tokio::test]
async fn runs_are_shown_only_to_a_signed_in_caller() {
    let server = TestServer::default().await;
    let body = contact_event("a");
    assert_eq!(server.post_hook(&body, &signed(&body)).await.0, 200);
    // The first, unauthenticated list of runs is gone; `/api/v1/runs` needs a login.
    for path in ["/api/runs", "/api/v1/runs"] {
        let response = server
            .http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status == 404 || status == 401, "{path}: {status} {text}");
        assert!(
            !text.contains("contact-sync"),
            "{path} showed a run: {text}"
        );
    }
    server.cleanup().await;
}

//! `GET /healthz` and `GET /api/runs`.

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
async fn recent_runs_are_listed_newest_first_with_a_bounded_limit() {
    let server = TestServer::default().await;
    for key in ["a", "b", "c"] {
        let body = contact_event(key);
        assert_eq!(server.post_hook(&body, &signed(&body)).await.0, 200);
    }
    let runs = |query: &'static str| {
        let request = server.http.get(format!("{}/api/runs{query}", server.url));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = runs("?limit=2").await;
    assert_eq!(status, 200, "{body}");
    let listed = body["runs"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0]["id"].as_i64() > listed[1]["id"].as_i64());
    assert_eq!(listed[0]["flowId"], "contact-sync");
    // The version as its 16 hex digits, as everywhere else (it was the decimal number).
    assert_eq!(listed[0]["flowVersion"], "0000000000000003");
    assert_eq!(listed[0]["status"], "queued");
    assert_eq!(listed[0]["steps"], serde_json::json!([]));

    assert_eq!(runs("").await.1["runs"].as_array().unwrap().len(), 3);
    let (status, body) = runs("?limit=0").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["message"],
        "limit must be between 1 and 1000, got 0"
    );
    assert_eq!(runs("?limit=lots").await.0, 400);
    server.cleanup().await;
}

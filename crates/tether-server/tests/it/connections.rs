//! `/api/v1/connections` against real simulators on loopback: credentials tested before they
//! are stored, health after a revocation or an outage, rename and delete refused while flows
//! use a connection, OAuth started from the API and completed through the callback, and the
//! settings a person registers with the apps.

use std::path::Path;

use serde_json::{Value, json};
use tether_sim::details_flowers::{DetailsFlowersConfig, DetailsFlowersSim};
use tether_sim::ghl::{GhlSim, GhlSimConfig, RunningSim};
use tokio_util::sync::CancellationToken;

use crate::support::ApiHarness;

const PIT: &str = "pit-connections-test";

async fn ghl_sim(config: GhlSimConfig) -> RunningSim {
    GhlSim::new(GhlSimConfig {
        pits: vec![PIT.into()],
        ..config
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A port nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn token_connections_are_tested_before_they_are_stored() {
    let api = ApiHarness::start().await;
    let sim = ghl_sim(GhlSimConfig::default()).await;
    let location = sim.sim.world().config.location_id.clone();
    let create = |body: Value| api.http.post(api.url("/connections")).json(&body);

    // A wrong token: refused with the cause, nothing stored.
    let (status, problem) = send(create(json!({
        "app": "ghl", "name": "ghl-main", "token": "wrong-token",
        "accountId": location, "baseUrl": sim.base_url,
    })))
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "unprocessable");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("refused"), "{detail}");
    assert!(
        !detail.contains("wrong-token"),
        "the token is never echoed: {detail}"
    );

    // The right token for another location: refused, naming the location.
    let (status, problem) = send(create(json!({
        "app": "ghl", "name": "ghl-main", "token": PIT,
        "accountId": "nope", "baseUrl": sim.base_url,
    })))
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("location nope"),
        "{problem}"
    );
    assert_eq!(problem["diagnostics"][0]["path"], "accountId");

    // Not a URL: a 400 naming the field.
    let (status, problem) = send(create(json!({
        "app": "ghl", "name": "ghl-main", "token": PIT,
        "accountId": location, "baseUrl": "not a url",
    })))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "baseUrl");

    let (status, listed) = send(api.http.get(api.url("/connections"))).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"], json!([]), "nothing refused was stored");

    // The right token: stored, tested ok, no secret in the answer.
    let (status, created) = send(create(json!({
        "app": "ghl", "name": "ghl-main", "token": PIT,
        "accountId": location, "baseUrl": sim.base_url, "scopes": ["contacts.readonly"],
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["health"], "ok");
    assert_eq!(created["auth"], "private_token");
    assert_eq!(created["accountId"], location.as_str());
    assert!(created["checkedAt"].is_string());
    assert!(
        !created.to_string().contains(PIT),
        "no secret is shown: {created}"
    );

    // The same name again: a conflict.
    let (status, problem) = send(create(json!({
        "app": "ghl", "name": "ghl-main", "token": PIT,
        "accountId": location, "baseUrl": sim.base_url,
    })))
    .await;
    assert_eq!(status, 409, "{problem}");

    // Unreachable: stored, marked so, with the cause.
    let (status, unreachable) = send(create(json!({
        "app": "ghl", "name": "ghl-down", "token": PIT,
        "accountId": location, "baseUrl": closed_port_url(),
    })))
    .await;
    assert_eq!(status, 201, "{unreachable}");
    assert_eq!(unreachable["health"], "unreachable");
    assert!(
        unreachable["lastError"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{unreachable}"
    );

    // Untested on request.
    let (status, untested) = send(create(json!({
        "app": "ghl", "name": "ghl-later", "token": "anything",
        "accountId": location, "baseUrl": sim.base_url, "skipTest": true,
    })))
    .await;
    assert_eq!(status, 201, "{untested}");
    assert_eq!(untested["health"], "untested");

    // Details Flowers: an API key, tested with a listing of one.
    let flowers = DetailsFlowersSim::new(DetailsFlowersConfig::default())
        .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .unwrap();
    let (status, problem) = send(create(json!({
        "app": "details_flowers", "name": "details-flowers-main", "token": "bad-key",
        "baseUrl": flowers.base_url,
    })))
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, created) = send(create(json!({
        "app": "details_flowers", "name": "details-flowers-main",
        "token": tether_sim::details_flowers::DEFAULT_API_KEY, "baseUrl": flowers.base_url,
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["health"], "ok");

    // Paged by name.
    let (_, first) = send(api.http.get(api.url("/connections?limit=2"))).await;
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["details-flowers-main", "ghl-down"]);
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = send(
        api.http
            .get(api.url("/connections"))
            .query(&[("limit", "2"), ("cursor", cursor)]),
    )
    .await;
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ghl-later", "ghl-main"]);
    assert!(second.get("nextCursor").is_none());
    let (status, _) = send(api.http.get(api.url("/connections?cursor=%21"))).await;
    assert_eq!(status, 400);

    sim.stop().await.unwrap();
    flowers.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
async fn a_test_on_demand_reports_revocation_and_outage_as_health() {
    let api = ApiHarness::start().await;
    let sim = ghl_sim(GhlSimConfig::default()).await;
    let location = sim.sim.world().config.location_id.clone();
    let (status, created) = send(api.http.post(api.url("/connections")).json(&json!({
        "app": "ghl", "name": "ghl-main", "token": PIT,
        "accountId": location, "baseUrl": sim.base_url,
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, tested) = send(api.http.post(api.url(&format!("/connections/{id}/test")))).await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["health"], "ok");

    // Someone revokes the token at HighLevel.
    let revoked = reqwest::Client::new()
        .post(format!("{}/__sim/tokens/revoke", sim.base_url))
        .json(&json!({ "token": PIT }))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let (status, tested) = send(api.http.post(api.url("/connections/ghl-main/test"))).await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["health"], "revoked");
    let error = tested["lastError"].as_str().unwrap();
    assert!(
        error.contains("401") || error.contains("refused"),
        "{error}"
    );
    assert!(!error.contains(PIT), "{error}");
    let (_, read) = send(api.http.get(api.url(&format!("/connections/{id}")))).await;
    assert_eq!(read["health"], "revoked", "the outcome is stored");

    // The service goes away.
    sim.stop().await.unwrap();
    let (_, tested) = send(api.http.post(api.url("/connections/ghl-main/test"))).await;
    assert_eq!(tested["health"], "unreachable", "{tested}");

    let (status, problem) = send(api.http.post(api.url("/connections/ghl-mian/test"))).await;
    assert_eq!(status, 404);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean \"ghl-main\""),
        "{problem}"
    );
    api.cleanup().await;
}

fn flow(id: &str, trigger_connection: &str, action_connection: &str) -> tether_engine::flow::Flow {
    let text = format!(
        r#"id: {id}
trigger:
  webhook:
    app: ghl
    events: [ContactCreate]
    connection: {trigger_connection}
steps:
  - id: customer
    action:
      operation: details_flowers.customer.create
      connection: {action_connection}
      input:
        email: "{{{{ trigger.email }}}}"
"#
    );
    tether_engine::flow::parse_flow(&text, Path::new(&format!("{id}.yaml")), None).unwrap()
}

#[tokio::test]
async fn rename_and_delete_are_refused_while_flows_use_the_connection() {
    let api = ApiHarness::start().await;
    let sim = ghl_sim(GhlSimConfig::default()).await;
    let location = sim.sim.world().config.location_id.clone();
    for name in ["ghl-main", "spare"] {
        let (status, body) = send(api.http.post(api.url("/connections")).json(&json!({
            "app": "ghl", "name": name, "token": PIT,
            "accountId": location, "baseUrl": sim.base_url,
        })))
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let spare_id = api.service.store().connection("spare").await.unwrap().id;
    api.service
        .flows()
        .insert(flow("contacts-by-name", "ghl-main", "flowers"))
        .unwrap();
    api.service
        .flows()
        .insert(flow("contacts-by-id", &spare_id, "flowers"))
        .unwrap();

    let (_, main) = send(api.http.get(api.url("/connections/ghl-main"))).await;
    assert_eq!(main["usedBy"], json!(["contacts-by-name"]));

    // Renaming a connection a flow names by name: refused, listing the flow.
    let (status, problem) = send(
        api.http
            .patch(api.url("/connections/ghl-main"))
            .json(&json!({ "name": "main" })),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("\"contacts-by-name\""),
        "{problem}"
    );
    assert_eq!(
        problem["diagnostics"],
        json!([{ "path": "usedBy", "message": "contacts-by-name" }]),
        "each flow in the way, for the page to link: {problem}"
    );

    // A flow naming it by id does not mind.
    let (status, renamed) = send(
        api.http
            .patch(api.url("/connections/spare"))
            .json(&json!({ "name": "ghl-spare" })),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "ghl-spare");
    assert_eq!(renamed["id"], spare_id.as_str());
    assert_eq!(renamed["usedBy"], json!(["contacts-by-id"]));

    // A taken name, a bad name.
    let (status, _) = send(
        api.http
            .patch(api.url("/connections/ghl-spare"))
            .json(&json!({ "name": "ghl-main" })),
    )
    .await;
    assert_eq!(status, 409);
    let (status, problem) = send(
        api.http
            .patch(api.url("/connections/ghl-spare"))
            .json(&json!({ "name": "no spaces" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(problem["diagnostics"][0]["path"], "name");

    // Deleting: refused while used, by name or by id, listing the flows.
    let (status, problem) = send(api.http.delete(api.url("/connections/ghl-main"))).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("contacts-by-name")
    );
    let (status, problem) = send(
        api.http
            .delete(api.url(&format!("/connections/{spare_id}"))),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("contacts-by-id")
    );
    assert_eq!(problem["diagnostics"][0]["path"], "usedBy", "{problem}");
    assert_eq!(problem["diagnostics"][0]["message"], "contacts-by-id");

    // An unused connection goes.
    let (status, body) = send(api.http.post(api.url("/connections")).json(&json!({
        "app": "ghl", "name": "unused", "token": PIT,
        "accountId": location, "baseUrl": sim.base_url,
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = send(api.http.delete(api.url("/connections/unused"))).await;
    assert_eq!(status, 204);
    let (status, problem) = send(api.http.get(api.url("/connections/unused"))).await;
    assert_eq!(status, 404);
    assert_eq!(problem["code"], "not_found");

    sim.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
async fn ghl_oauth_started_from_the_api_completes_through_the_callback() {
    let api = ApiHarness::start().await;
    let sim = ghl_sim(GhlSimConfig {
        auto_approve: Some(None),
        ..GhlSimConfig::default()
    })
    .await;
    let location = sim.sim.world().config.location_id.clone();

    let (status, problem) = send(api.http.post(api.url("/connections/oauth")).json(
        &json!({ "app": "ghl", "name": "ghl-main", "apiBase": sim.base_url,
                           "clientSecret": "x", "clientId": "" }),
    ))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "clientId");

    let (status, started) = send(api.http.post(api.url("/connections/oauth")).json(&json!({
        "app": "ghl", "name": "ghl-main", "apiBase": sim.base_url,
        "clientId": "sim-client-id", "clientSecret": "sim-client-secret",
    })))
    .await;
    assert_eq!(status, 200, "{started}");
    let redirect_url = started["redirectUrl"].as_str().unwrap();
    assert_eq!(redirect_url, "http://127.0.0.1:8800/oauth/callback/ghl");
    let authorize = started["authorizeUrl"].as_str().unwrap();
    assert!(authorize.starts_with(&format!("{}/v2/oauth/chooselocation?", sim.base_url)));
    assert!(!authorize.contains("sim-client-secret"));

    // The browser: the simulator approves and redirects to the public callback URL, which here
    // is this server (the public URL is what a reverse proxy would forward to it).
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = browser.get(authorize).send().await.unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let location_header = approved.headers()["location"].to_str().unwrap().to_owned();
    let rest = location_header
        .strip_prefix("http://127.0.0.1:8800")
        .unwrap_or_else(|| panic!("redirected to {location_header}"));
    assert!(rest.starts_with("/oauth/callback/ghl?"), "{rest}");
    let page = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Connected") && html.contains("ghl-main"),
        "{html}"
    );

    assert!(
        html.contains("data-outcome=\"connected\"")
            && html.contains("data-connection=\"ghl-main\"")
            && html.contains("data-health=\"ok\"")
            && html.contains("<script src=\"../report.js\" defer></script>"),
        "the page carries the outcome for its script: {html}"
    );

    let (_, connection) = send(api.http.get(api.url("/connections/ghl-main"))).await;
    assert_eq!(connection["auth"], "oauth2", "{connection}");
    assert_eq!(connection["health"], "ok");
    assert_eq!(connection["accountId"], location.as_str());
    assert_eq!(
        connection["accountLabel"],
        format!("location {location}"),
        "{connection}"
    );
    assert!(connection["checkedAt"].is_string());
    assert!(connection["expiresAt"].is_string());

    // The callback is single use.
    let replay = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("used already"));

    // The stored OAuth connection tests ok on demand too (through the refreshing bearer).
    let (_, tested) = send(api.http.post(api.url("/connections/ghl-main/test"))).await;
    assert_eq!(tested["health"], "ok", "{tested}");

    // Reconnect: the same name and app, nothing else; the client, API base and consent page
    // come from the connection, and its id stays.
    let (status, again) = send(
        api.http
            .post(api.url("/connections/oauth"))
            .json(&json!({ "app": "ghl", "name": "ghl-main" })),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    let authorize = again["authorizeUrl"].as_str().unwrap();
    assert!(
        authorize.starts_with(&format!("{}/v2/oauth/chooselocation?", sim.base_url))
            && authorize.contains("client_id=sim-client-id"),
        "{authorize}"
    );
    let approved = browser.get(authorize).send().await.unwrap();
    let back = approved.headers()["location"].to_str().unwrap().to_owned();
    let rest = back.strip_prefix("http://127.0.0.1:8800").unwrap();
    let page = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{:?}", page.text().await);
    let (_, reconnected) = send(api.http.get(api.url("/connections/ghl-main"))).await;
    assert_eq!(reconnected["id"], connection["id"], "{reconnected}");
    assert_eq!(reconnected["health"], "ok");

    // Token reconnects are for tokens and keys.
    let (status, problem) = send(
        api.http
            .post(api.url("/connections/ghl-main/reconnect"))
            .json(&json!({ "token": "x" })),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "token");

    sim.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
async fn the_callback_page_reports_to_its_opener_with_a_script_of_our_own_origin() {
    let api = ApiHarness::start().await;
    let script = reqwest::get(format!("{}/oauth/report.js", api.base))
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let text = script.text().await.unwrap();
    assert!(
        text.contains("postMessage") && text.contains("window.location.origin"),
        "the message goes to this origin only: {text}"
    );

    // A failed callback: the page says why, for the opener too; its CSP allows no inline script.
    let page = reqwest::get(format!(
        "{}/oauth/callback/ghl?state=unknown&code=x",
        api.base
    ))
    .await
    .unwrap();
    assert_eq!(page.status(), 400);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-outcome=\"failed\"") && html.contains("used already"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "no inline script: {html}");
    api.cleanup().await;
}

#[tokio::test]
async fn an_agency_install_acts_on_its_chosen_location_and_refreshes_by_minting_again() {
    let api = ApiHarness::start().await;
    // Tokens that expire at once: every call refreshes the agency token and mints the
    // location's token again.
    let sim = ghl_sim(GhlSimConfig {
        auto_approve: Some(None),
        access_token_ttl: std::time::Duration::from_secs(1),
        ..GhlSimConfig::default()
    })
    .await;
    let world = sim.sim.world().clone();
    let (company, location) = (
        world.config.company_id.clone(),
        world.config.location_id.clone(),
    );
    let start = |body: Value| api.http.post(api.url("/connections/oauth")).json(&body);

    let (status, problem) = send(start(json!({
        "app": "ghl", "name": "ghl-agency", "apiBase": sim.base_url,
        "clientId": "sim-client-id", "clientSecret": "sim-client-secret", "userType": "Company",
    })))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "locationId");
    let (status, problem) = send(start(json!({
        "app": "ghl", "name": "ghl-agency", "apiBase": sim.base_url,
        "clientId": "sim-client-id", "clientSecret": "sim-client-secret", "userType": "reseller",
    })))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "userType");

    let (status, started) = send(start(json!({
        "app": "ghl", "name": "ghl-agency", "apiBase": sim.base_url,
        "clientId": "sim-client-id", "clientSecret": "sim-client-secret",
        "userType": "Company", "locationId": location,
    })))
    .await;
    assert_eq!(status, 200, "{started}");
    let authorize = started["authorizeUrl"].as_str().unwrap();
    assert!(
        authorize.contains("user_type=Company") && authorize.contains("oauth.write"),
        "{authorize}"
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = browser.get(authorize).send().await.unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let back = approved.headers()["location"].to_str().unwrap().to_owned();
    let rest = back.strip_prefix("http://127.0.0.1:8800").unwrap();
    let page = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "{html}");

    let (_, connection) = send(api.http.get(api.url("/connections/ghl-agency"))).await;
    assert_eq!(connection["health"], "ok", "{connection}");
    assert_eq!(connection["accountId"], location.as_str());
    assert_eq!(
        connection["accountLabel"],
        format!("location {location} of agency {company}")
    );
    let minted = || {
        world
            .log
            .since(0)
            .iter()
            .filter(|request| request.path == "/oauth/locationToken" && request.status < 300)
            .count()
    };
    let minted_at_connect = minted();
    assert_eq!(minted_at_connect, 1);
    for _ in 0..2 {
        let (_, tested) = send(api.http.post(api.url("/connections/ghl-agency/test"))).await;
        assert_eq!(tested["health"], "ok", "{tested}");
    }
    assert!(
        minted() > minted_at_connect,
        "an expired location token is minted again from the refreshed agency token"
    );
    sim.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
async fn a_token_connection_reconnects_with_a_new_key_tested_first() {
    let api = ApiHarness::start().await;
    let flowers = DetailsFlowersSim::new(DetailsFlowersConfig::default())
        .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .unwrap();
    let key = tether_sim::details_flowers::DEFAULT_API_KEY;
    let (status, created) = send(api.http.post(api.url("/connections")).json(&json!({
        "app": "details_flowers", "name": "flowers", "token": key, "baseUrl": flowers.base_url,
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    let host = flowers
        .base_url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    assert_eq!(created["accountLabel"], host, "{created}");
    let reconnect = |token: &str| {
        api.http
            .post(api.url("/connections/flowers/reconnect"))
            .json(&json!({ "token": token }))
    };

    let (status, problem) = send(reconnect("wrong-key")).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "token");
    let (_, tested) = send(api.http.post(api.url("/connections/flowers/test"))).await;
    assert_eq!(tested["health"], "ok", "the old key stays: {tested}");

    let (status, problem) = send(reconnect(" ")).await;
    assert_eq!(status, 400, "{problem}");
    let (status, reconnected) = send(reconnect(key)).await;
    assert_eq!(status, 200, "{reconnected}");
    assert_eq!(reconnected["id"], created["id"]);
    assert_eq!(reconnected["health"], "ok");
    let (status, _) = send(
        api.http
            .post(api.url("/connections/nope/reconnect"))
            .json(&json!({ "token": key })),
    )
    .await;
    assert_eq!(status, 404);
    flowers.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
async fn flickr_oauth_started_from_the_api_completes_through_the_callback() {
    use tether_sim::flickr::{
        DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSim, FlickrSimConfig,
    };
    let api = ApiHarness::start().await;
    let sim = FlickrSim::new(FlickrSimConfig {
        seed_users: 1,
        auto_approve: true,
        ..FlickrSimConfig::default()
    })
    .spawn("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
    .await
    .unwrap();

    let (status, problem) = send(api.http.post(api.url("/connections/oauth")).json(&json!({
        "app": "flickr", "name": "flickr-main", "apiBase": sim.base_url,
        "clientId": DEFAULT_CONSUMER_KEY, "clientSecret": DEFAULT_CONSUMER_SECRET,
        "perms": "everything",
    })))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["diagnostics"][0]["path"], "perms");

    let (status, started) = send(api.http.post(api.url("/connections/oauth")).json(&json!({
        "app": "flickr", "name": "flickr-main", "apiBase": sim.base_url,
        "clientId": DEFAULT_CONSUMER_KEY, "clientSecret": DEFAULT_CONSUMER_SECRET,
    })))
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(
        started["redirectUrl"],
        "http://127.0.0.1:8800/oauth/callback/flickr"
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = browser
        .get(started["authorizeUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let location_header = approved.headers()["location"].to_str().unwrap().to_owned();
    let rest = location_header
        .strip_prefix("http://127.0.0.1:8800")
        .unwrap_or_else(|| panic!("redirected to {location_header}"));
    assert!(rest.starts_with("/oauth/callback/flickr?"), "{rest}");
    let page = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("flickr-main"), "{html}");

    let (_, connection) = send(api.http.get(api.url("/connections/flickr-main"))).await;
    assert_eq!(connection["auth"], "oauth1", "{connection}");
    assert_eq!(connection["health"], "ok");
    assert_eq!(connection["scopes"], json!(["write"]));
    let (_, tested) = send(api.http.post(api.url("/connections/flickr-main/test"))).await;
    assert_eq!(tested["health"], "ok", "{tested}");

    // Replayed: refused.
    let replay = browser
        .get(format!("{}{rest}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);

    sim.stop().await.unwrap();
    api.cleanup().await;
}

#[tokio::test]
#[allow(
    clippy::field_reassign_with_default,
    reason = "the settings may grow fields this test does not care about"
)]
async fn settings_tell_the_addresses_to_register() {
    let mut settings = tether_service::Settings::default();
    settings.public_url = "https://tether.example.com/".parse().unwrap();
    let api = ApiHarness::start_with(settings).await;
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.is_empty());
    let (status, settings) = send(api.http.get(api.url("/settings"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        json!({
            "publicUrl": "https://tether.example.com/",
            "oauthRedirectUrls": {
                "flickr": "https://tether.example.com/oauth/callback/flickr",
                "ghl": "https://tether.example.com/oauth/callback/ghl",
            },
            "ghlWebhookUrl": "https://tether.example.com/hooks/ghl",
            // Whether this process has default clients (CI sets none).
            "oauthClientDefaults": {
                "flickr": set("TETHER_FLICKR_KEY") && set("TETHER_FLICKR_SECRET"),
                "ghl": set("TETHER_GHL_CLIENT_ID") && set("TETHER_GHL_CLIENT_SECRET"),
            },
        })
    );
    api.cleanup().await;
}

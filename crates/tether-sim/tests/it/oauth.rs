//! OAuth 2.0 over HTTP: the authorize page, code exchange, refresh rotation, expiry, agency
//! tokens, installed locations and uninstall, each answer checked against `oauth.openapi.json`.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tether_sim::ghl::GhlSimConfig;
use url::Url;

use crate::support::{CONTACTS_VERSION, Sim, assert_conforms, config};

const CLIENT_ID: &str = "sim-client-id";
const CLIENT_SECRET: &str = "sim-client-secret";
/// The app id GHL derives from the client id (the part before the first `-`).
const APP_ID: &str = "sim";
/// Never contacted: the test reads the redirect instead of following it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";
const SCOPES: &str = "contacts.readonly contacts.write oauth.readonly oauth.write";

/// The authorize page's query for a location install; `extra` adds or replaces parameters.
fn authorize_query(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", SCOPES),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    for (name, value) in extra {
        query.retain(|(existing, _)| existing != name);
        query.push(((*name).to_owned(), (*value).to_owned()));
    }
    query
}

/// The `code` and `state` of a 302 back to the app.
fn redirect_params(response: &reqwest::Response) -> (String, Option<String>) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let url = Url::parse(location).unwrap();
    assert_eq!(&url[..url::Position::AfterPath], REDIRECT_URI, "{location}");
    let code = url
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let state = url
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned());
    (code, state)
}

async fn token_call(sim: &Sim, form: &[(&str, &str)]) -> (StatusCode, Value) {
    sim.send(
        sim.http
            .post(format!("{}/oauth/token", sim.base_url))
            .form(form),
    )
    .await
}

async fn exchange(sim: &Sim, code: &str, user_type: &str) -> Value {
    let (status, body) = token_call(
        sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("user_type", user_type),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_conforms("get-access-token", 200, &body);
    body
}

async fn refresh(sim: &Sim, refresh_token: &str) -> (StatusCode, Value) {
    token_call(
        sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Installs the app on `location_id` through the non-interactive authorize shortcut and
/// exchanges the code.
async fn install_location(sim: &Sim, location_id: &str) -> Value {
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("location_id", location_id)]))
        .send()
        .await
        .unwrap();
    let (code, _) = redirect_params(&response);
    exchange(sim, &code, "Location").await
}

/// Installs the app on the agency (every location) and exchanges the code for a company token.
async fn install_company(sim: &Sim) -> Value {
    let company_id = sim.world().config.company_id.clone();
    let response = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[
            ("user_type", "Company"),
            ("company_id", &company_id),
        ]))
        .send()
        .await
        .unwrap();
    let (code, _) = redirect_params(&response);
    exchange(sim, &code, "Company").await
}

/// `GET /contacts/{id}` with `token`: 404 for a made-up id proves the token was accepted.
async fn get_contact_status(sim: &Sim, token: &str) -> StatusCode {
    let request = sim
        .http
        .get(format!("{}/contacts/made-up-contact-id", sim.base_url))
        .bearer_auth(token)
        .header("Version", CONTACTS_VERSION);
    sim.send(request).await.0
}

fn agency_request(sim: &Sim, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    sim.http
        .request(method, format!("{}{path}", sim.base_url))
        .bearer_auth(token)
        .header("Version", CONTACTS_VERSION)
}

fn events_of(sim: &Sim, event_type: &str) -> Vec<Value> {
    sim.world()
        .webhooks
        .events()
        .into_iter()
        .filter(|event| event["type"] == event_type)
        .collect()
}

fn extra_location_ids(sim: &Sim) -> Vec<String> {
    let main = sim.location_id();
    let mut ids: Vec<String> = sim
        .world()
        .locations
        .read()
        .keys()
        .filter(|id| **id != main)
        .cloned()
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_authorization_code_flow_through_the_page_gives_a_working_location_token() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();

    // The page lists the agency's locations and posts the approval back to itself.
    let page = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[
            ("state", "csrf-123"),
            ("loginWindowOpenMode", "self"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/v2/oauth/chooselocation">"#),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"type="radio" name="location_id" value="{location_id}""#
        )),
        "{html}"
    );
    for extra in extra_location_ids(&sim) {
        assert!(html.contains(&extra), "{html}");
    }
    assert!(html.contains("Approve"));

    // Approving answers 302 to the redirect URI with a code and the state echoed.
    let approval = sim
        .http
        .post(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .form(&authorize_query(&[
            ("state", "csrf-123"),
            ("user_type", "Location"),
            ("location_id", &location_id),
        ]))
        .send()
        .await
        .unwrap();
    let (code, state) = redirect_params(&approval);
    assert_eq!(state.as_deref(), Some("csrf-123"));

    let tokens = exchange(&sim, &code, "Location").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 86_399);
    assert_eq!(tokens["userType"], "Location");
    assert_eq!(tokens["locationId"], location_id.as_str());
    assert_eq!(tokens["companyId"], sim.world().config.company_id.as_str());
    assert_eq!(tokens["scope"], SCOPES);
    assert_eq!(tokens["approvedLocations"], json!([location_id]));
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|token| !token.is_empty())
    );

    // The token is accepted (404 for a made-up contact), a made-up token is not.
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        get_contact_status(&sim, access_token).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_contact_status(&sim, "made-up-token").await,
        StatusCode::UNAUTHORIZED
    );

    // The code is single use.
    let (status, body) = token_call(
        &sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get-access-token", 400, &body);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid grant"),
        "{body}"
    );

    // The first exchange installed the app: one INSTALL, in the AppInstall shape.
    let installs = events_of(&sim, "INSTALL");
    assert_eq!(installs.len(), 1, "{installs:?}");
    assert_eq!(installs[0]["appId"], APP_ID);
    assert_eq!(installs[0]["locationId"], location_id.as_str());
    assert_eq!(
        installs[0]["companyId"],
        sim.world().config.company_id.as_str()
    );
    assert!(installs[0]["userId"].is_string());

    // A second install of the same location sends no second INSTALL.
    install_location(&sim, &location_id).await;
    assert_eq!(events_of(&sim, "INSTALL").len(), 1);
}

#[tokio::test]
async fn the_sdk_authorize_path_works_and_state_is_only_echoed_when_sent() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("location_id", &location_id)]))
        .send()
        .await
        .unwrap();
    let (code, state) = redirect_params(&response);
    assert_eq!(state, None);
    exchange(&sim, &code, "Location").await;
}

#[tokio::test]
async fn the_authorize_page_refuses_unknown_clients_and_unregistered_redirects() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("client_id", "nobody")], "Unknown client_id"),
        (
            &[("redirect_uri", "http://evil.example/cb")],
            "not registered",
        ),
        (
            &[("redirect_uri", "https://127.0.0.1:9/cb")],
            "not registered",
        ),
        (&[("response_type", "token")], "response_type"),
        (&[("location_id", "no-such-location")], "does not exist"),
    ];
    for (overrides, expected) in cases {
        let query = authorize_query(overrides);
        let response = sim
            .http
            .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{overrides:?}");
        assert!(
            response.headers().get(header::LOCATION).is_none(),
            "an unvalidated request must not redirect"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(expected), "{overrides:?}: {html}");
    }

    // An app with registered redirect URIs accepts exactly those.
    let mut with_uris = config();
    with_uris.apps[0].redirect_uris = vec!["https://app.example/callback".into()];
    let sim = Sim::start(with_uris).await;
    let query = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", "https://app.example/callback"),
        ("scope", "contacts.readonly"),
        ("location_id", location_id.as_str()),
    ];
    let response = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("https://app.example/callback?code=")
    );
    let mut loopback = query;
    loopback[2].1 = REDIRECT_URI;
    let response = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&loopback)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_token_endpoint_checks_the_client_the_redirect_and_the_body() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let new_code = || async {
        let response = sim
            .http
            .get(format!("{}/oauth/chooselocation", sim.base_url))
            .query(&authorize_query(&[("location_id", &location_id)]))
            .send()
            .await
            .unwrap();
        redirect_params(&response).0
    };

    // A wrong client secret is a 401 and leaves the code usable.
    let code = new_code().await;
    let (status, body) = token_call(
        &sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_conforms("get-access-token", 401, &body);

    // A redirect URI other than the authorize request's is refused.
    let (status, body) = token_call(
        &sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get-access-token", 400, &body);
    assert!(
        body["message"].as_str().unwrap().contains("redirect_uri"),
        "{body}"
    );

    // Asking for a company token with a location code is refused.
    let code = new_code().await;
    let (status, body) = token_call(
        &sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("user_type", "Company"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // JSON is not the v2 endpoint's content type.
    let json_body = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token"});
    let (status, body) = sim
        .send(
            sim.http
                .post(format!("{}/oauth/token", sim.base_url))
                .json(&json_body),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_conforms("get-access-token", 422, &body);

    // Missing required fields and a bad enum are listed one per message.
    let (status, body) =
        token_call(&sim, &[("client_id", CLIENT_ID), ("user_type", "Agency")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_conforms("get-access-token", 422, &body);
    let messages: Vec<&str> = body["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages.contains(&"client_secret should not be empty"));
    assert!(messages.contains(&"grant_type should not be empty"));
    assert!(
        messages
            .iter()
            .any(|message| message.starts_with("user_type must be one of"))
    );

    // The undocumented client_credentials grant is refused.
    let (status, body) = token_call(
        &sim,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get-access-token", 400, &body);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_each_works_once() {
    let sim = Sim::default().await;
    let first = install_location(&sim, &sim.location_id()).await;
    let refresh_1 = first["refresh_token"].as_str().unwrap();

    let (status, second) = refresh(&sim, refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_conforms("get-access-token", 200, &second);
    let refresh_2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(refresh_2, refresh_1);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["locationId"], first["locationId"]);
    assert_eq!(second["scope"], first["scope"]);
    assert_eq!(
        get_contact_status(&sim, second["access_token"].as_str().unwrap()).await,
        StatusCode::NOT_FOUND
    );

    // The redeemed token is spent.
    let (status, body) = refresh(&sim, refresh_1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get-access-token", 400, &body);
    assert_eq!(body["message"], "Invalid grant: refresh token is invalid");

    // The new one works exactly once too.
    let (status, third) = refresh(&sim, refresh_2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let (status, _) = refresh(&sim, refresh_2).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = refresh(&sim, third["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_access_token_is_refused_and_a_refresh_recovers() {
    let sim = Sim::start(GhlSimConfig {
        access_token_ttl: Duration::from_secs(3_600),
        ..config()
    })
    .await;
    let tokens = install_location(&sim, &sim.location_id()).await;
    assert_eq!(tokens["expires_in"], 3_600);
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        get_contact_status(&sim, access_token).await,
        StatusCode::NOT_FOUND
    );

    let (status, _) = sim
        .send(
            sim.http
                .post(format!("{}/__sim/clock/advance", sim.base_url))
                .json(&json!({"ms": 3_600_001})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = sim
        .send(
            sim.http
                .get(format!("{}/contacts/made-up-contact-id", sim.base_url))
                .bearer_auth(access_token)
                .header("Version", CONTACTS_VERSION),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["statusCode"], 401);
    assert_eq!(body["error"], "Unauthorized");

    // The refresh token outlives the access token (a year in GHL).
    let (status, renewed) = refresh(&sim, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let renewed_token = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        get_contact_status(&sim, renewed_token).await,
        StatusCode::NOT_FOUND
    );

    // The admin API can expire one token on demand; the PIT is untouched.
    let (status, body) = sim
        .send(
            sim.http
                .post(format!("{}/__sim/tokens/expire", sim.base_url))
                .json(&json!({"token": renewed_token})),
        )
        .await;
    assert_eq!(
        (status, body["expired"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(
        get_contact_status(&sim, renewed_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_contact_status(&sim, crate::support::PIT).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_developer_uninstall_revokes_the_tokens_and_sends_uninstall() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let tokens = install_location(&sim, &location_id).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let path = format!("/marketplace/app/{APP_ID}/installations");

    // `reason` is required.
    let (status, body) = sim
        .send(
            agency_request(&sim, Method::DELETE, &path, access_token)
                .json(&json!({"locationId": location_id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["message"], json!(["reason should not be empty"]));

    // A PIT is not the app's token.
    let (status, _) = sim
        .send(
            agency_request(&sim, Method::DELETE, &path, crate::support::PIT)
                .json(&json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = sim
        .send(
            agency_request(&sim, Method::DELETE, &path, access_token)
                .json(&json!({"locationId": location_id, "reason": "customer cancelled"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"success": true}));

    assert_eq!(
        get_contact_status(&sim, access_token).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = refresh(&sim, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let uninstalls = events_of(&sim, "UNINSTALL");
    assert_eq!(uninstalls.len(), 1);
    assert_eq!(uninstalls[0]["appId"], APP_ID);
    assert_eq!(uninstalls[0]["locationId"], location_id.as_str());
    assert!(uninstalls[0].get("companyId").is_none());
}

#[tokio::test]
async fn a_company_token_mints_location_tokens_and_lists_installed_locations() {
    let sim = Sim::start(GhlSimConfig {
        extra_locations: 2,
        ..config()
    })
    .await;
    let company_id = sim.world().config.company_id.clone();
    let main = sim.location_id();
    let extras = extra_location_ids(&sim);

    let company = install_company(&sim).await;
    assert_eq!(company["userType"], "Company");
    assert!(company.get("locationId").is_none());
    assert_eq!(company["companyId"], company_id.as_str());
    assert_eq!(company["isBulkInstallation"], true);
    assert_eq!(company["approvedLocations"].as_array().unwrap().len(), 3);
    // One agency INSTALL (no locationId) and one per location.
    let installs = events_of(&sim, "INSTALL");
    assert_eq!(installs.len(), 4, "{installs:?}");
    assert_eq!(
        installs
            .iter()
            .filter(|event| event.get("locationId").is_none())
            .count(),
        1
    );
    let company_token = company["access_token"].as_str().unwrap();

    // An agency token is not a location token.
    assert_eq!(
        get_contact_status(&sim, company_token).await,
        StatusCode::UNAUTHORIZED
    );

    let query = format!("/oauth/installedLocations?companyId={company_id}&appId={APP_ID}");
    let (status, listed) = sim
        .send(agency_request(&sim, Method::GET, &query, company_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_conforms("get-installed-location", 200, &listed);
    assert_eq!(listed["count"], 3);
    assert_eq!(listed["locations"][0]["_id"], main.as_str());
    assert!(
        listed["locations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|location| location["isInstalled"] == true)
    );

    let (_, page) = sim
        .send(agency_request(
            &sim,
            Method::GET,
            &format!("{query}&skip=1&limit=1"),
            company_token,
        ))
        .await;
    assert_eq!(page["count"], 3);
    assert_eq!(page["locations"].as_array().unwrap().len(), 1);
    assert_ne!(page["locations"][0]["_id"], main.as_str());

    // A location token minted from the company token works on location operations.
    let mint = |location_id: String| {
        agency_request(&sim, Method::POST, "/oauth/locationToken", company_token).form(&[
            ("companyId", company_id.clone()),
            ("locationId", location_id),
        ])
    };
    let (status, minted) = sim.send(mint(main.clone())).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_conforms("get-location-access-token", 200, &minted);
    assert_eq!(minted["locationId"], main.as_str());
    assert!(
        minted.get("refresh_token").is_none(),
        "the v2 spec has no refresh_token here"
    );
    assert_eq!(
        get_contact_status(&sim, minted["access_token"].as_str().unwrap()).await,
        StatusCode::NOT_FOUND
    );

    // Another agency is refused; so is a location the app was removed from.
    let (status, body) = sim
        .send(
            agency_request(&sim, Method::POST, "/oauth/locationToken", company_token).form(&[
                ("companyId", "other-company"),
                ("locationId", main.as_str()),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms("get-location-access-token", 400, &body);
    let (status, _) = sim
        .send(
            sim.http
                .post(format!("{}/__sim/uninstall", sim.base_url))
                .json(&json!({"locationId": extras[0]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = sim.send(mint(extras[0].clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, not_installed) = sim
        .send(agency_request(
            &sim,
            Method::GET,
            &format!("{query}&isInstalled=false"),
            company_token,
        ))
        .await;
    assert_eq!(not_installed["count"], 1);
    assert_eq!(not_installed["locations"][0]["_id"], extras[0].as_str());
    assert_eq!(not_installed["locations"][0]["isInstalled"], false);

    // A location token cannot mint tokens.
    let (status, _) = sim
        .send(
            agency_request(
                &sim,
                Method::POST,
                "/oauth/locationToken",
                minted["access_token"].as_str().unwrap(),
            )
            .form(&[
                ("companyId", company_id.as_str()),
                ("locationId", main.as_str()),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The user uninstalls from the agency: every token of the app dies and one UNINSTALL goes out.
    let (status, body) = sim
        .send(
            sim.http
                .post(format!("{}/__sim/uninstall", sim.base_url))
                .json(&json!({"companyId": company_id})),
        )
        .await;
    assert_eq!(
        (status, body["uninstalled"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (status, _) = sim
        .send(agency_request(&sim, Method::GET, &query, company_token))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get_contact_status(&sim, minted["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = refresh(&sim, company["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let agency_uninstall: Vec<Value> = events_of(&sim, "UNINSTALL")
        .into_iter()
        .filter(|event| event.get("locationId").is_none())
        .collect();
    assert_eq!(agency_uninstall.len(), 1);
    assert_eq!(agency_uninstall[0]["companyId"], company_id.as_str());
    assert_eq!(agency_uninstall[0]["appId"], APP_ID);
}

#[tokio::test]
async fn agency_operations_check_the_version_header_and_query() {
    let sim = Sim::default().await;
    let company = install_company(&sim).await;
    let company_token = company["access_token"].as_str().unwrap();
    let company_id = sim.world().config.company_id.clone();

    let (status, body) = sim
        .send(
            sim.http
                .get(format!(
                    "{}/oauth/installedLocations?companyId={company_id}&appId={APP_ID}",
                    sim.base_url
                ))
                .bearer_auth(company_token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_conforms("get-installed-location", 400, &body);

    let (status, body) = sim
        .send(agency_request(
            &sim,
            Method::GET,
            &format!("/oauth/installedLocations?companyId={company_id}"),
            company_token,
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_conforms("get-installed-location", 422, &body);

    let (status, _) = sim
        .send(agency_request(
            &sim,
            Method::GET,
            &format!("/oauth/installedLocations?companyId={company_id}&appId=another-app"),
            company_token,
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_agency_page_installs_on_every_location() {
    let sim = Sim::default().await;
    let query = authorize_query(&[("user_type", "Company")]);
    let page = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("every location"), "{html}");
    assert!(
        !html.contains(r#"type="radio""#),
        "an agency install picks no single location"
    );
    assert!(
        html.contains(r#"name="user_type" value="Company""#),
        "{html}"
    );

    let approval = sim
        .http
        .post(format!("{}/oauth/chooselocation", sim.base_url))
        .form(&query)
        .send()
        .await
        .unwrap();
    let (code, _) = redirect_params(&approval);
    let company = exchange(&sim, &code, "Company").await;
    assert_eq!(company["userType"], "Company");
    let mut approved: Vec<String> = company["approvedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    approved.sort();
    let mut all: Vec<String> = sim.world().locations.read().keys().cloned().collect();
    all.sort();
    assert_eq!(approved, all);
}

#[tokio::test]
async fn auto_approve_redirects_at_once_to_the_configured_location() {
    // Without the option the page asks (200, a form), as GHL's does.
    let sim = Sim::default().await;
    let response = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("state", "s1")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("<form"));

    // With it, a standard client's request (no simulator parameters) gets the 302 at once.
    let sim = Sim::start(GhlSimConfig {
        auto_approve: Some(None),
        ..config()
    })
    .await;
    let response = sim
        .http
        .get(format!("{}/v2/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("state", "xyz 1")]))
        .send()
        .await
        .unwrap();
    let (code, state) = redirect_params(&response);
    assert_eq!(state.as_deref(), Some("xyz 1"));
    let tokens = exchange(&sim, &code, "Location").await;
    assert_eq!(tokens["locationId"], sim.location_id().as_str());
    // An invalid request still gets the error page, never a redirect.
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("response_type", "token")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // An agency install approves the agency.
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[("user_type", "Company")]))
        .send()
        .await
        .unwrap();
    let (code, _) = redirect_params(&response);
    let tokens = exchange(&sim, &code, "Company").await;
    assert_eq!(tokens["userType"], "Company");

    // A configured location is the one installed to.
    let probe = Sim::default().await;
    let extra = extra_location_ids(&probe)[0].clone();
    let sim = Sim::start(GhlSimConfig {
        auto_approve: Some(Some(extra.clone())),
        ..config()
    })
    .await;
    let response = sim
        .http
        .get(format!("{}/oauth/chooselocation", sim.base_url))
        .query(&authorize_query(&[]))
        .send()
        .await
        .unwrap();
    let (code, state) = redirect_params(&response);
    assert_eq!(state, None);
    let tokens = exchange(&sim, &code, "Location").await;
    assert_eq!(tokens["locationId"], extra.as_str());
}

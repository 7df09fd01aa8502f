//! The contacts family over HTTP: create / get / update / delete / upsert, duplicate rules and
//! lookup, tags, followers, campaigns, workflows, the bulk operations, the deprecated list and the
//! by-business list, and the webhooks each change queues. Every success answer is checked against
//! the official schema (through `call_ok`, or the named schema where the spec declares none).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether_sim::ghl::model::Contact;
use tether_sim::ghl::ops::SpecFile;
use tether_sim::ghl::spec;

use crate::support::Sim;

/// A compiled check of one schema: the problems of a value.
type SchemaCheck = Arc<dyn Fn(&Value) -> Vec<String> + Send + Sync>;

/// Asserts that `value` matches the contacts spec's component schema `name`. Compiled validators
/// are kept, since compiling one takes far longer than using it and searches check every contact.
pub fn assert_schema(name: &str, value: &Value) {
    static CHECKS: OnceLock<Mutex<HashMap<String, SchemaCheck>>> = OnceLock::new();
    let check = CHECKS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_insert_with(|| {
            let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
            let validator = spec::validator(SpecFile::Contacts, &schema);
            Arc::new(move |value: &Value| spec::problems(&validator, value))
        })
        .clone();
    let problems = check(value);
    assert!(problems.is_empty(), "{name}: {problems:?}\n{value:#}");
}

/// Asserts an error answer: status, GHL's `{statusCode, message}` shape, and that the message
/// (or one of the messages) mentions `needle`.
pub fn assert_error(status: StatusCode, body: &Value, expected: u16, needle: &str) {
    assert_eq!(status.as_u16(), expected, "{body}");
    assert_eq!(body["statusCode"], expected, "{body}");
    let messages: Vec<&str> = match &body["message"] {
        Value::Array(messages) => messages.iter().filter_map(Value::as_str).collect(),
        Value::String(message) => vec![message.as_str()],
        other => panic!("message is neither a string nor an array: {other}"),
    };
    assert!(
        messages.iter().any(|message| message.contains(needle)),
        "{needle:?} not in {messages:?}"
    );
}

/// The emitted webhook events of `event_type` for contact `id`, oldest first.
pub fn events_for(sim: &Sim, event_type: &str, id: &str) -> Vec<Value> {
    sim.world()
        .webhooks
        .events()
        .into_iter()
        .filter(|event| event["type"] == event_type && event["id"] == id)
        .collect()
}

/// A contact for direct insertion: id `c` + 19 digits of `n`, so ids sort like `n`.
pub fn seeded_contact(sim: &Sim, n: usize, date_added: DateTime<Utc>) -> Contact {
    Contact {
        id: format!("c{n:019}"),
        location_id: sim.location_id(),
        first_name: Some(format!("First{n:05}")),
        last_name: Some(format!("Last{:05}", n % 97)),
        email: Some(format!("person{n}@example.com")),
        date_added,
        date_updated: date_added,
        ..Contact::default()
    }
}

/// Inserts contacts straight into the main location.
pub fn insert_all(sim: &Sim, contacts: impl IntoIterator<Item = Contact>) {
    let location = sim.world().location(&sim.location_id()).unwrap();
    let mut location = location.write();
    for contact in contacts {
        location.insert_contact(contact);
    }
}

/// The id of a location the test PIT has no access to.
fn other_location(sim: &Sim) -> String {
    let own = sim.location_id();
    sim.world()
        .locations
        .read()
        .keys()
        .find(|id| **id != own)
        .expect("the default config has an extra location")
        .clone()
}

/// Creates a contact through the API and returns its id.
async fn create(sim: &Sim, fields: Value) -> String {
    let mut body = json!({ "locationId": sim.location_id() });
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let answer = sim
        .call_ok(
            "create-contact",
            Method::POST,
            "/contacts/",
            Some(body),
            201,
        )
        .await;
    answer["contact"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let created = sim
        .call_ok(
            "create-contact",
            Method::POST,
            "/contacts/",
            Some(json!({
                "locationId": location_id,
                "firstName": "Rosan",
                "lastName": "Deo",
                "email": "Rosan@Deos.com",
                "phone": "+1 888-888-8888",
                "gender": "female",
                "companyName": "DGS VolMAX",
                "address1": "3535 1st St N",
                "city": "Dolomite",
                "state": "AL",
                "postalCode": "35061",
                "country": "US",
                "website": "https://www.tesla.com",
                "timezone": "America/Chihuahua",
                "source": "public api",
                "dateOfBirth": "09/25/1990",
                "dnd": false,
                "tags": [" VIP", "vip", "New Lead"],
                "customFields": [
                    {"key": "contact.favourite_flower", "field_value": "Roses"},
                    {"id": "free-field", "field_value": ["a", "b"]},
                    {"id": "budget", "field_value": 150}
                ]
            })),
            201,
        )
        .await;
    let contact = &created["contact"];
    let id = contact["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 20);
    assert_eq!(contact["locationId"], location_id.as_str());
    assert_eq!(contact["name"], "Rosan Deo");
    assert_eq!(contact["fullNameLowerCase"], "rosan deo");
    assert_eq!(contact["emailLowerCase"], "rosan@deos.com");
    assert_eq!(contact["phone"], "+18888888888");
    assert_eq!(contact["dateOfBirth"], "1990-09-25T00:00:00.000Z");
    assert_eq!(contact["tags"], json!(["vip", "new lead"]));
    assert_eq!(contact["dateAdded"], contact["dateUpdated"]);
    let flower_id = sim
        .world()
        .location(&location_id)
        .unwrap()
        .read()
        .custom_fields[0]
        .id
        .clone();
    assert_eq!(
        contact["customFields"],
        // The spec declares `value` a string: arrays and numbers come back as their JSON text.
        json!([{"id": flower_id, "value": "Roses"}, {"id": "free-field", "value": "[\"a\",\"b\"]"}, {"id": "budget", "value": "150"}])
    );
    // Absent optional fields are omitted, not null.
    let created_again = create(&sim, json!({"firstName": "Solo"})).await;
    let (_, solo) = sim
        .call(Method::GET, &format!("/contacts/{created_again}"), None)
        .await;
    assert!(
        solo["contact"].get("email").is_none() && solo["contact"].get("lastName").is_none(),
        "{solo}"
    );

    let fetched = sim
        .call_ok(
            "get-contact",
            Method::GET,
            &format!("/contacts/{id}"),
            None,
            200,
        )
        .await;
    assert_eq!(fetched["contact"], created["contact"]);

    sim.world().advance_clock_ms(5_000);
    let updated = sim
        .call_ok(
            "update-contact",
            Method::PUT,
            &format!("/contacts/{id}"),
            Some(json!({"email": "rosan@new.com", "tags": ["Only"], "city": null, "dateOfBirth": "1991.01.02"})),
            200,
        )
        .await;
    assert_eq!(updated["succeded"], true);
    let contact = &updated["contact"];
    assert_eq!(contact["email"], "rosan@new.com");
    assert_eq!(
        contact["tags"],
        json!(["only"]),
        "tags on update replace all"
    );
    assert!(contact.get("city").is_none(), "null clears: {contact}");
    assert_eq!(contact["state"], "AL", "absent keeps");
    assert_eq!(contact["dateOfBirth"], "1991-01-02T00:00:00.000Z");
    assert_ne!(contact["dateUpdated"], contact["dateAdded"]);
    assert_eq!(contact["dateAdded"], created["contact"]["dateAdded"]);

    let deleted = sim
        .call_ok(
            "delete-contact",
            Method::DELETE,
            &format!("/contacts/{id}"),
            None,
            200,
        )
        .await;
    assert_eq!(deleted, json!({"succeded": true}));
    let (status, body) = sim
        .call(Method::GET, &format!("/contacts/{id}"), None)
        .await;
    assert_error(status, &body, 404, &id);
    // The old e-mail is free again once the contact is gone.
    create(&sim, json!({"email": "rosan@new.com"})).await;
}

#[tokio::test]
async fn unknown_contacts_answer_404_on_every_contact_route() {
    let sim = Sim::default().await;
    let missing = "NoSuchContact0000000";
    let campaign = sim
        .world()
        .location(&sim.location_id())
        .unwrap()
        .read()
        .campaigns[0]
        .clone();
    let workflow = sim
        .world()
        .location(&sim.location_id())
        .unwrap()
        .read()
        .workflows[0]
        .clone();
    let calls = [
        (Method::GET, format!("/contacts/{missing}"), None),
        (
            Method::PUT,
            format!("/contacts/{missing}"),
            Some(json!({"firstName": "x"})),
        ),
        (Method::DELETE, format!("/contacts/{missing}"), None),
        (
            Method::POST,
            format!("/contacts/{missing}/tags"),
            Some(json!({"tags": ["a"]})),
        ),
        (
            Method::DELETE,
            format!("/contacts/{missing}/tags"),
            Some(json!({"tags": ["a"]})),
        ),
        (
            Method::POST,
            format!("/contacts/{missing}/followers"),
            Some(json!({"followers": ["u"]})),
        ),
        (
            Method::DELETE,
            format!("/contacts/{missing}/followers"),
            Some(json!({"followers": ["u"]})),
        ),
        (
            Method::POST,
            format!("/contacts/{missing}/campaigns/{campaign}"),
            Some(json!({})),
        ),
        (
            Method::DELETE,
            format!("/contacts/{missing}/campaigns/{campaign}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/contacts/{missing}/campaigns/removeAll"),
            None,
        ),
        (
            Method::POST,
            format!("/contacts/{missing}/workflow/{workflow}"),
            Some(json!({})),
        ),
        (
            Method::DELETE,
            format!("/contacts/{missing}/workflow/{workflow}"),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in calls {
        let (status, answer) = sim.call(method.clone(), &path, body).await;
        assert_error(status, &answer, 404, missing);
        assert_eq!(answer["error"], "Not Found", "{method} {path}");
    }
}

#[tokio::test]
async fn another_locations_id_is_refused_with_403() {
    let sim = Sim::default().await;
    let other = other_location(&sim);
    let forbidden = "The token does not have access to this location";
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/",
            Some(json!({"locationId": other, "firstName": "x"})),
        )
        .await;
    assert_error(status, &body, 403, forbidden);
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/upsert",
            Some(json!({"locationId": other, "email": "a@b.co"})),
        )
        .await;
    assert_error(status, &body, 403, forbidden);
    let (status, body) = sim
        .call(Method::GET, &format!("/contacts/?locationId={other}"), None)
        .await;
    assert_error(status, &body, 403, forbidden);
    let (status, body) = sim
        .call(
            Method::GET,
            &format!("/contacts/search/duplicate?locationId={other}&email=a%40b.co"),
            None,
        )
        .await;
    assert_error(status, &body, 403, forbidden);
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/add",
            Some(json!({"locationId": other, "contacts": [], "tags": ["a"]})),
        )
        .await;
    assert_error(status, &body, 403, forbidden);
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/bulk/business",
            Some(json!({"locationId": other, "ids": [], "businessId": null})),
        )
        .await;
    assert_error(status, &body, 403, forbidden);
    // A contact of another location is not found from this one.
    let other_contact = Contact {
        id: "OtherLocContact00000".into(),
        location_id: other.clone(),
        ..Contact::default()
    };
    sim.world()
        .location(&other)
        .unwrap()
        .write()
        .insert_contact(other_contact);
    let (status, body) = sim
        .call(Method::GET, "/contacts/OtherLocContact00000", None)
        .await;
    assert_error(status, &body, 404, "OtherLocContact00000");
}

#[tokio::test]
async fn bad_bodies_answer_422_naming_the_field() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let cases = [
        (json!({"firstName": "x"}), "locationId"),
        (json!({"locationId": location_id, "email": 5}), "email"),
        (
            json!({"locationId": location_id, "email": "not-an-email"}),
            "email",
        ),
        (
            json!({"locationId": location_id, "phone": "call me maybe"}),
            "phone",
        ),
        (
            json!({"locationId": location_id, "dateOfBirth": "31/12/1990"}),
            "dateOfBirth",
        ),
        (json!({"locationId": location_id, "tags": "vip"}), "tags"),
        (
            json!({"locationId": location_id, "customFields": [{"field_value": "x"}]}),
            "customFields",
        ),
        (
            json!({"locationId": location_id, "shoeSize": 44}),
            "property shoeSize should not exist",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = sim
            .call(Method::POST, "/contacts/", Some(body.clone()))
            .await;
        assert_error(status, &answer, 422, field);
        assert_eq!(answer["error"], "Unprocessable Entity");
    }
    let id = create(&sim, json!({"firstName": "x"})).await;
    let (status, answer) = sim
        .call(
            Method::PUT,
            &format!("/contacts/{id}"),
            Some(json!({"companyName": "x"})),
        )
        .await;
    assert_error(
        status,
        &answer,
        422,
        "property companyName should not exist",
    );
    let (status, answer) = sim
        .call(
            Method::PUT,
            &format!("/contacts/{id}"),
            Some(json!({"dateOfBirth": "someday"})),
        )
        .await;
    assert_error(status, &answer, 422, "dateOfBirth");
    let (status, answer) = sim
        .call(
            Method::POST,
            &format!("/contacts/{id}/tags"),
            Some(json!({})),
        )
        .await;
    assert_error(status, &answer, 422, "tags");
    // A body that is not JSON at all is a 400.
    let request = sim
        .request(Method::POST, "/contacts/")
        .header("content-type", "application/json")
        .body("{oops");
    let (status, answer) = sim.send(request).await;
    assert_error(status, &answer, 400, "JSON");
}

#[tokio::test]
async fn duplicates_are_refused_unless_the_location_allows_them() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let first = create(
        &sim,
        json!({"email": "dup@example.com", "phone": "+15550001111"}),
    )
    .await;

    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/",
            Some(json!({"locationId": location_id, "email": "DUP@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body,
        json!({
            "statusCode": 400,
            "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": first, "matchingField": "email"}
        })
    );
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/",
            Some(json!({"locationId": location_id, "phone": "(555) 000-1111"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["meta"],
        json!({"contactId": first, "matchingField": "phone"})
    );

    // Updating another contact onto the same e-mail is refused too; its own e-mail is fine.
    let second = create(&sim, json!({"email": "second@example.com"})).await;
    let (status, body) = sim
        .call(
            Method::PUT,
            &format!("/contacts/{second}"),
            Some(json!({"email": "dup@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["meta"]["contactId"], first.as_str());
    sim.call_ok(
        "update-contact",
        Method::PUT,
        &format!("/contacts/{first}"),
        Some(json!({"email": "dup@example.com"})),
        200,
    )
    .await;

    sim.world()
        .location(&location_id)
        .unwrap()
        .write()
        .allow_duplicates = true;
    let third = create(&sim, json!({"email": "dup@example.com"})).await;
    assert_ne!(third, first);
}

#[tokio::test]
async fn upsert_creates_then_updates_by_the_priority_order() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let upsert = |body: Value| {
        let mut full = json!({ "locationId": location_id });
        full.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        sim.call_ok(
            "upsert-contact",
            Method::POST,
            "/contacts/upsert",
            Some(full),
            200,
        )
    };
    let created =
        upsert(json!({"email": "up@example.com", "firstName": "Up", "tags": ["a", "b"]})).await;
    assert_eq!(created["new"], true);
    assert!(
        created["traceId"]
            .as_str()
            .is_some_and(|trace| trace.len() == 36),
        "{created}"
    );
    let id = created["contact"]["id"].as_str().unwrap().to_owned();

    let updated =
        upsert(json!({"email": "UP@example.com", "lastName": "Dated", "tags": ["c"]})).await;
    assert_eq!(updated["new"], false);
    assert_eq!(updated["contact"]["id"], id.as_str());
    assert_eq!(updated["contact"]["name"], "Up Dated");
    assert_eq!(
        updated["contact"]["tags"],
        json!(["c"]),
        "tags on upsert replace all"
    );

    // E-mail matches A, phone matches B: A is updated (e-mail comes first) and the phone ignored.
    let other = create(&sim, json!({"phone": "+15550002222"})).await;
    let mixed =
        upsert(json!({"email": "up@example.com", "phone": "+15550002222", "city": "Paris"})).await;
    assert_eq!(
        (mixed["new"].as_bool(), mixed["contact"]["id"].as_str()),
        (Some(false), Some(id.as_str()))
    );
    assert!(mixed["contact"].get("phone").is_none(), "{mixed}");
    assert_eq!(mixed["contact"]["city"], "Paris");

    // With phone first in the location's order, the same body updates B.
    sim.world()
        .location(&location_id)
        .unwrap()
        .write()
        .duplicate_priority = vec![
        tether_sim::ghl::state::MatchField::Phone,
        tether_sim::ghl::state::MatchField::Email,
    ];
    let by_phone =
        upsert(json!({"email": "up@example.com", "phone": "+15550002222", "city": "Rome"})).await;
    assert_eq!(by_phone["contact"]["id"], other.as_str());
    assert!(by_phone["contact"].get("email").is_none(), "{by_phone}");

    // createNewIfDuplicateAllowed creates only when the location allows duplicates.
    let ignored =
        upsert(json!({"email": "up@example.com", "createNewIfDuplicateAllowed": true})).await;
    assert_eq!(
        (ignored["new"].as_bool(), ignored["contact"]["id"].as_str()),
        (Some(false), Some(id.as_str()))
    );
    sim.world()
        .location(&location_id)
        .unwrap()
        .write()
        .allow_duplicates = true;
    let fresh =
        upsert(json!({"email": "up@example.com", "createNewIfDuplicateAllowed": true})).await;
    assert_eq!(fresh["new"], true);
    assert_ne!(fresh["contact"]["id"], id.as_str());

    assert_eq!(events_for(&sim, "ContactCreate", &id).len(), 1);
    assert_eq!(events_for(&sim, "ContactUpdate", &id).len(), 3);
}

#[tokio::test]
async fn duplicate_lookup_finds_by_email_or_number() {
    let sim = &Sim::default().await;
    let location_id = sim.location_id();
    let id = create(
        sim,
        json!({"email": "look+up@example.com", "phone": "+15550003333"}),
    )
    .await;
    let lookup = |query: String| async move {
        let (status, body) = sim
            .call(
                Method::GET,
                &format!("/contacts/search/duplicate?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The spec declares no schema for this answer; the contact found has the get view.
        if !body["contact"].is_null() {
            assert_schema("GetContectByIdSchema", &body["contact"]);
        }
        body
    };
    let by_email = lookup(format!(
        "locationId={location_id}&email=LOOK%2Bup%40example.com"
    ))
    .await;
    assert_eq!(by_email["contact"]["id"], id.as_str());
    let by_number = lookup(format!("locationId={location_id}&number=%2B15550003333")).await;
    assert_eq!(by_number["contact"]["id"], id.as_str());
    let none = lookup(format!(
        "locationId={location_id}&email=nobody%40example.com"
    ))
    .await;
    assert_eq!(none, json!({"contact": null}));
    let (status, body) = sim
        .call(
            Method::GET,
            "/contacts/search/duplicate?email=a%40b.co",
            None,
        )
        .await;
    assert_error(status, &body, 422, "locationId");
}

#[tokio::test]
async fn tags_and_followers_are_added_and_removed() {
    let sim = Sim::default().await;
    let id = create(&sim, json!({"firstName": "Tag", "tags": ["one"]})).await;
    let added = sim
        .call_ok(
            "add-tags",
            Method::POST,
            &format!("/contacts/{id}/tags"),
            Some(json!({"tags": ["Two", " one ", "three"]})),
            201,
        )
        .await;
    assert_eq!(added, json!({"tags": ["one", "two", "three"]}));
    let removed = sim
        .call_ok(
            "remove-tags",
            Method::DELETE,
            &format!("/contacts/{id}/tags"),
            Some(json!({"tags": ["ONE", "absent"]})),
            200,
        )
        .await;
    assert_eq!(removed, json!({"tags": ["two", "three"]}));
    let tag_events = events_for(&sim, "ContactTagUpdate", &id);
    assert_eq!(tag_events.len(), 2);
    assert_eq!(tag_events[1]["tags"], json!(["two", "three"]));
    // Adding tags it already has changes nothing and sends nothing.
    sim.call_ok(
        "add-tags",
        Method::POST,
        &format!("/contacts/{id}/tags"),
        Some(json!({"tags": ["two"]})),
        201,
    )
    .await;
    assert_eq!(events_for(&sim, "ContactTagUpdate", &id).len(), 2);

    let users = sim
        .world()
        .location(&sim.location_id())
        .unwrap()
        .read()
        .users
        .clone();
    let followers = sim
        .call_ok(
            "add-followers-contact",
            Method::POST,
            &format!("/contacts/{id}/followers"),
            Some(json!({"followers": [users[0], users[1]]})),
            201,
        )
        .await;
    assert_eq!(
        followers,
        json!({"followers": [users[0], users[1]], "followersAdded": [users[0], users[1]]})
    );
    let again = sim
        .call_ok(
            "add-followers-contact",
            Method::POST,
            &format!("/contacts/{id}/followers"),
            Some(json!({"followers": [users[1], users[2]]})),
            201,
        )
        .await;
    assert_eq!(again["followersAdded"], json!([users[2]]));
    let removed = sim
        .call_ok(
            "remove-followers-contact",
            Method::DELETE,
            &format!("/contacts/{id}/followers"),
            Some(json!({"followers": [users[0], "not-a-follower"]})),
            200,
        )
        .await;
    assert_eq!(
        removed,
        json!({"followers": [users[1], users[2]], "followersRemoved": [users[0]]})
    );
}

#[tokio::test]
async fn campaigns_and_workflows() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let (campaigns, workflows) = {
        let location = sim.world().location(&location_id).unwrap();
        let location = location.read();
        (location.campaigns.clone(), location.workflows.clone())
    };
    let id = create(&sim, json!({"firstName": "Camp"})).await;
    let stored =
        |sim: &Sim| sim.world().location(&location_id).unwrap().read().contacts[&id].clone();

    for campaign in &campaigns[..2] {
        let answer = sim
            .call_ok(
                "add-contact-to-campaign",
                Method::POST,
                &format!("/contacts/{id}/campaigns/{campaign}"),
                Some(json!({})),
                201,
            )
            .await;
        assert_eq!(answer, json!({"succeded": true}));
    }
    let (status, body) = sim
        .call(
            Method::POST,
            &format!("/contacts/{id}/campaigns/NoSuchCampaign"),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, 400, "NoSuchCampaign");
    sim.call_ok(
        "remove-contact-from-campaign",
        Method::DELETE,
        &format!("/contacts/{id}/campaigns/{}", campaigns[0]),
        None,
        200,
    )
    .await;
    assert_eq!(
        stored(&sim).campaigns.iter().collect::<Vec<_>>(),
        [&campaigns[1]]
    );
    // `removeAll` is its own operation, not a campaign id.
    sim.call_ok(
        "remove-contact-from-every-campaign",
        Method::DELETE,
        &format!("/contacts/{id}/campaigns/removeAll"),
        None,
        200,
    )
    .await;
    assert!(stored(&sim).campaigns.is_empty());

    let workflow = &workflows[0];
    let answer = sim
        .call_ok(
            "add-contact-to-workflow",
            Method::POST,
            &format!("/contacts/{id}/workflow/{workflow}"),
            Some(json!({"eventStartTime": "2021-06-23T03:30:00+01:00"})),
            200,
        )
        .await;
    assert_eq!(answer, json!({"succeded": true}));
    assert_eq!(
        stored(&sim).workflows[workflow].as_deref(),
        Some("2021-06-23T03:30:00+01:00")
    );
    let (status, body) = sim
        .call(
            Method::POST,
            &format!("/contacts/{id}/workflow/{workflow}"),
            Some(json!({"eventStartTime": "tomorrow"})),
        )
        .await;
    assert_error(status, &body, 422, "eventStartTime");
    let (status, body) = sim
        .call(
            Method::POST,
            &format!("/contacts/{id}/workflow/NoSuchWorkflow"),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, 400, "NoSuchWorkflow");
    sim.call_ok(
        "delete-contact-from-workflow",
        Method::DELETE,
        &format!("/contacts/{id}/workflow/{workflow}"),
        Some(json!({})),
        200,
    )
    .await;
    assert!(stored(&sim).workflows.is_empty());
}

#[tokio::test]
async fn bulk_tags_report_each_contact() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let a = create(&sim, json!({"firstName": "A", "tags": ["keep"]})).await;
    let b = create(&sim, json!({"firstName": "B"})).await;
    let other = other_location(&sim);
    let foreign = Contact {
        id: "ForeignContact000000".into(),
        location_id: other.clone(),
        ..Contact::default()
    };
    sim.world()
        .location(&other)
        .unwrap()
        .write()
        .insert_contact(foreign);

    let answer = sim
        .call_ok(
            "create-association",
            Method::POST,
            "/contacts/bulk/tags/update/add",
            Some(json!({
                "locationId": location_id,
                "contacts": [a, b, "abcdef", "ForeignContact000000", "MissingContact000000"],
                "tags": ["Bulk", "keep"]
            })),
            201,
        )
        .await;
    assert_eq!(answer["succeded"], true);
    assert_eq!(answer["errorCount"], 3);
    let responses = answer["responses"].as_array().unwrap();
    assert_eq!(
        responses[0],
        json!({"contactId": a, "message": "Tags updated", "type": "success", "oldTags": ["keep"], "tagsAdded": ["bulk"], "tagsRemoved": []})
    );
    assert_eq!(responses[1]["tagsAdded"], json!(["bulk", "keep"]));
    let messages: Vec<&str> = responses[2..]
        .iter()
        .map(|response| response["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "contact id is not a valid firebase id",
            "contact does not belong to location",
            "contact not found"
        ]
    );
    assert_eq!(events_for(&sim, "ContactTagUpdate", &a).len(), 1);
    assert_eq!(events_for(&sim, "ContactTagUpdate", &b).len(), 1);

    let removed = sim
        .call_ok(
            "create-association",
            Method::POST,
            "/contacts/bulk/tags/update/remove",
            Some(json!({"locationId": location_id, "contacts": [a], "tags": ["bulk"]})),
            201,
        )
        .await;
    assert_eq!(removed["responses"][0]["tagsRemoved"], json!(["bulk"]));
    let cleared = sim
        .call_ok(
            "create-association",
            Method::POST,
            "/contacts/bulk/tags/update/remove",
            Some(json!({"locationId": location_id, "contacts": [a, b], "tags": [], "removeAllTags": true})),
            201,
        )
        .await;
    assert_eq!(cleared["errorCount"], 0);
    let (_, fetched) = sim.call(Method::GET, &format!("/contacts/{b}"), None).await;
    assert_eq!(fetched["contact"]["tags"], json!([]));

    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/toggle",
            Some(json!({"locationId": location_id, "contacts": [a], "tags": ["x"]})),
        )
        .await;
    assert_error(status, &body, 422, "type");
    let (status, body) = sim
        .call(
            Method::POST,
            "/contacts/bulk/tags/update/add",
            Some(json!({"locationId": location_id, "contacts": [a], "tags": ["x"], "removeAllTags": true})),
        )
        .await;
    assert_error(status, &body, 422, "removeAllTags");
}

#[tokio::test]
async fn bulk_business_attaches_and_lists_by_business() {
    let sim = Sim::default().await;
    let location_id = sim.location_id();
    let business_id = sim
        .world()
        .location(&location_id)
        .unwrap()
        .read()
        .businesses
        .keys()
        .next()
        .unwrap()
        .clone();
    let zed = create(&sim, json!({"firstName": "Zed", "lastName": "Last"})).await;
    let amy = create(&sim, json!({"firstName": "amy", "lastName": "First"})).await;
    let outside = create(&sim, json!({"firstName": "Out"})).await;

    let answer = sim
        .call_ok(
            "add-remove-contact-from-business",
            Method::POST,
            "/contacts/bulk/business",
            Some(json!({"locationId": location_id, "ids": [zed, amy, "MissingContact000000"], "businessId": business_id})),
            200,
        )
        .await;
    assert_eq!(answer, json!({"success": true, "ids": [zed, amy]}));
    assert_eq!(events_for(&sim, "ContactUpdate", &zed).len(), 1);

    let path = format!("/contacts/business/{business_id}?locationId={location_id}");
    let listed = sim
        .call_ok("get-contacts-by-businessId", Method::GET, &path, None, 200)
        .await;
    let ids: Vec<&str> = listed["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [amy.as_str(), zed.as_str()],
        "by name, case-insensitively"
    );
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["contacts"][0]["businessId"], business_id.as_str());
    let paged = sim
        .call_ok(
            "get-contacts-by-businessId",
            Method::GET,
            &format!("{path}&skip=1&limit=1"),
            None,
            200,
        )
        .await;
    assert_eq!(
        (paged["contacts"][0]["id"].as_str(), paged["count"].as_u64()),
        (Some(zed.as_str()), Some(2))
    );
    let queried = sim
        .call_ok(
            "get-contacts-by-businessId",
            Method::GET,
            &format!("{path}&query=ZED"),
            None,
            200,
        )
        .await;
    assert_eq!(queried["count"], 1);
    let (status, body) = sim
        .call(Method::GET, &format!("{path}&limit=abc"), None)
        .await;
    assert_error(status, &body, 422, "limit");

    let detached = sim
        .call_ok(
            "add-remove-contact-from-business",
            Method::POST,
            "/contacts/bulk/business",
            Some(json!({"locationId": location_id, "ids": [zed], "businessId": null})),
            200,
        )
        .await;
    assert_eq!(detached["ids"], json!([zed]));
    let listed = sim
        .call_ok("get-contacts-by-businessId", Method::GET, &path, None, 200)
        .await;
    assert_eq!(listed["count"], 1);
    let (status, body) = sim
        .call(Method::POST, "/contacts/bulk/business", Some(json!({"locationId": location_id, "ids": [outside], "businessId": "NoSuchBusiness"})))
        .await;
    assert_error(status, &body, 400, "NoSuchBusiness");
}

#[tokio::test]
async fn changes_queue_webhooks_in_the_documented_shapes() {
    let sim = Sim::default().await;
    let example_keys = |name: &str| -> HashSet<String> {
        let path = format!(
            "{}/spec/ghl/webhook-examples/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        example
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .chain(["timestamp".into(), "webhookId".into()])
            .collect()
    };
    let id = create(
        &sim,
        json!({"firstName": "Hook", "lastName": "Ed", "email": "hook@example.com", "phone": "+15550004444", "companyName": "Hooks",
               "address1": "1 Main", "city": "C", "state": "S", "postalCode": "1", "country": "US", "website": "https://h.example",
               "source": "api", "assignedTo": "u1", "dateOfBirth": "2000-01-05", "tags": ["t"],
               "customFields": [{"id": "f", "field_value": "v"}]}),
    )
    .await;
    let created = events_for(&sim, "ContactCreate", &id);
    assert_eq!(created.len(), 1);
    let keys: HashSet<String> = created[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, example_keys("ContactCreate"));
    assert_eq!(created[0]["locationId"], sim.location_id().as_str());
    assert!(
        events_for(&sim, "ContactTagUpdate", &id).is_empty(),
        "tags given at creation are no tag update"
    );

    sim.call_ok(
        "update-contact",
        Method::PUT,
        &format!("/contacts/{id}"),
        Some(json!({"dnd": true, "dndSettings": {"SMS": {"status": "active", "message": "m", "code": "101"}}})),
        200,
    )
    .await;
    let dnd = events_for(&sim, "ContactDndUpdate", &id);
    assert_eq!(dnd.len(), 1);
    let keys: HashSet<String> = dnd[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, example_keys("ContactDndUpdate"));
    assert_eq!(dnd[0]["dndSettings"]["SMS"]["status"], "active");
    assert_eq!(events_for(&sim, "ContactUpdate", &id).len(), 1);
    // The same DND again is no DND change.
    sim.call_ok(
        "update-contact",
        Method::PUT,
        &format!("/contacts/{id}"),
        Some(json!({"dnd": true})),
        200,
    )
    .await;
    assert_eq!(events_for(&sim, "ContactDndUpdate", &id).len(), 1);

    sim.call_ok(
        "delete-contact",
        Method::DELETE,
        &format!("/contacts/{id}"),
        None,
        200,
    )
    .await;
    let deleted = events_for(&sim, "ContactDelete", &id);
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["email"], "hook@example.com");
}

#[tokio::test]
async fn deprecated_list_walks_every_contact_once() {
    let sim = Sim::default().await;
    let base = Utc::now() - Duration::days(30);
    // 257 contacts over 9 distinct instants: most share their `dateAdded` with many others.
    insert_all(
        &sim,
        (0..257).map(|n| {
            seeded_contact(
                &sim,
                n,
                base + Duration::milliseconds((n % 9) as i64 * 1000),
            )
        }),
    );
    let location_id = sim.location_id();

    let mut seen = Vec::new();
    let mut path = format!("/contacts/?locationId={location_id}&limit=100");
    let mut pages = 0;
    loop {
        let page = sim
            .call_ok("get-contacts", Method::GET, &path, None, 200)
            .await;
        pages += 1;
        let meta = &page["meta"];
        assert_eq!(
            (page["count"].as_u64(), meta["total"].as_u64()),
            (Some(257), Some(257))
        );
        assert_eq!(meta["currentPage"], pages);
        let contacts = page["contacts"].as_array().unwrap();
        for contact in contacts {
            seen.push(contact["id"].as_str().unwrap().to_owned());
        }
        if meta["nextPage"].is_null() {
            assert!(
                meta["nextPageUrl"].is_null() && meta["startAfterId"].is_null(),
                "{meta}"
            );
            break;
        }
        assert_eq!(meta["startAfterId"], contacts.last().unwrap()["id"]);
        path = format!(
            "/contacts/?locationId={location_id}&limit=100&startAfter={}&startAfterId={}",
            meta["startAfter"],
            meta["startAfterId"].as_str().unwrap()
        );
        // The `nextPageUrl` leads to the same page.
        let next_url = meta["nextPageUrl"].as_str().unwrap();
        assert!(
            next_url.starts_with("http://") && next_url.contains("startAfterId="),
            "{next_url}"
        );
    }
    assert_eq!(pages, 3);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (257, 257));
    // Oldest first, ties by id.
    let mut expected: Vec<(i64, String)> = (0..257)
        .map(|n| ((n % 9) as i64, format!("c{n:019}")))
        .collect();
    expected.sort();
    assert_eq!(
        seen,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );

    let default_page = sim
        .call_ok(
            "get-contacts",
            Method::GET,
            &format!("/contacts?locationId={location_id}"),
            None,
            200,
        )
        .await;
    assert_eq!(
        default_page["contacts"].as_array().unwrap().len(),
        20,
        "default limit"
    );
    let queried = sim
        .call_ok(
            "get-contacts",
            Method::GET,
            &format!("/contacts/?locationId={location_id}&query=first00012"),
            None,
            200,
        )
        .await;
    assert_eq!(queried["count"], 1);
    let (status, body) = sim
        .call(
            Method::GET,
            &format!("/contacts/?locationId={location_id}&limit=101"),
            None,
        )
        .await;
    assert_error(status, &body, 422, "limit");
    let (status, body) = sim.call(Method::GET, "/contacts/", None).await;
    assert_error(status, &body, 422, "locationId");
}

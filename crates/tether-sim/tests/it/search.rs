//! `POST /contacts/search` over HTTP: paging by `page` and by `searchAfter` over many contacts
//! sharing their `dateAdded` (every id exactly once, in a stable order), filters and groups, the
//! free-text query, sorting, and the 422 / 403 answers.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether_sim::ghl::model::Contact;

use crate::contacts::{assert_error, assert_schema, insert_all, seeded_contact};
use tether_sim::ghl::{GhlSimConfig, RateLimitConfig};

use crate::support::{self, Sim};

const N_CONTACTS: usize = 1_234;

/// When contact `n` was added: 20 distinct instants, so about 62 contacts share each one.
fn added_at(base: DateTime<Utc>, n: usize) -> DateTime<Utc> {
    base + Duration::seconds((n % 20) as i64)
}

/// Contact `n` of the fixture; the tests compute expected results from the same rules.
fn fixture_contact(sim: &Sim, base: DateTime<Utc>, n: usize) -> Contact {
    let mut contact = seeded_contact(sim, n, added_at(base, n));
    if n.is_multiple_of(7) {
        contact.first_name = None;
    }
    contact.dnd = n.is_multiple_of(5);
    if n.is_multiple_of(3) {
        contact.tags.push("vip".into());
    }
    if n.is_multiple_of(4) {
        contact.tags.push("newsletter".into());
    }
    contact.city = n.is_multiple_of(2).then(|| "Berlin".to_owned());
    contact.date_updated = contact.date_added + Duration::milliseconds(n as i64);
    contact
}

/// A simulator without rate limits: a walk over the fixture takes more requests than a burst
/// window allows, and rate limiting is tested elsewhere.
async fn unlimited() -> Sim {
    let rate_limit = RateLimitConfig {
        enabled: false,
        ..RateLimitConfig::default()
    };
    Sim::start(GhlSimConfig {
        rate_limit,
        ..support::config()
    })
    .await
}

/// A simulator holding the fixture's contacts; returns it and the fixture's base instant.
async fn fixture() -> (Sim, DateTime<Utc>) {
    let sim = unlimited().await;
    let base = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    insert_all(
        &sim,
        (0..N_CONTACTS).map(|n| fixture_contact(&sim, base, n)),
    );
    (sim, base)
}

/// Runs a search expecting 200, checks the answer's shape, returns it.
async fn search(sim: &Sim, body: Value) -> Value {
    let (status, answer) = sim.call(Method::POST, "/contacts/search", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["total"].is_u64(), "{answer}");
    assert!(answer["traceId"].is_string(), "{answer}");
    for contact in answer["contacts"].as_array().unwrap() {
        assert_schema("ContactsSearchSchema", contact);
        assert!(contact["searchAfter"].is_array(), "{contact}");
    }
    answer
}

/// `body` with the main location and extra fields.
fn body(sim: &Sim, extra: Value) -> Value {
    let mut body = json!({ "locationId": sim.location_id() });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn ids(answer: &Value) -> Vec<String> {
    answer["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|contact| contact["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every id a search matches, walked with `searchAfter`; asserts each page's `total`.
async fn walk_search_after(sim: &Sim, extra: Value, page_limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<Value> = None;
    let mut total = None;
    loop {
        let mut request = body(sim, extra.clone());
        request["pageLimit"] = json!(page_limit);
        if let Some(cursor) = &cursor {
            request["searchAfter"] = cursor.clone();
        }
        let answer = search(sim, request).await;
        let page_total = answer["total"].as_u64().unwrap();
        assert_eq!(
            *total.get_or_insert(page_total),
            page_total,
            "total is stable while paging"
        );
        let contacts = answer["contacts"].as_array().unwrap();
        if contacts.is_empty() {
            break;
        }
        assert!(contacts.len() <= page_limit);
        seen.extend(ids(&answer));
        cursor = Some(contacts.last().unwrap()["searchAfter"].clone());
    }
    assert_eq!(
        Some(seen.len() as u64),
        total.or(Some(0)),
        "the walk reaches every match"
    );
    seen
}

/// Every id a search matches, walked with `page`.
async fn walk_pages(sim: &Sim, extra: Value, page_limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for page in 1.. {
        let mut request = body(sim, extra.clone());
        request["pageLimit"] = json!(page_limit);
        request["page"] = json!(page);
        let answer = search(sim, request).await;
        let page_ids = ids(&answer);
        if page_ids.is_empty() {
            break;
        }
        seen.extend(page_ids);
    }
    seen
}

fn assert_unique(ids: &[String], expected: usize) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        (ids.len(), unique.len()),
        (expected, expected),
        "every id exactly once"
    );
}

#[tokio::test]
async fn paging_by_page_and_by_search_after_yields_every_id_once() {
    let (sim, _) = fixture().await;
    for sort in [
        json!([]),
        json!([{"field": "dateAdded", "direction": "asc"}]),
        json!([{"field": "firstNameLowerCase", "direction": "asc"}]),
        json!([{"field": "lastNameLowerCase", "direction": "desc"}, {"field": "dateUpdated", "direction": "asc"}]),
    ] {
        let extra = json!({ "sort": sort });
        let by_cursor = walk_search_after(&sim, extra.clone(), 100).await;
        assert_unique(&by_cursor, N_CONTACTS);
        let by_page = walk_pages(&sim, extra.clone(), 100).await;
        assert_eq!(
            by_page, by_cursor,
            "page and searchAfter give one order for {sort}"
        );
        // An odd page size cuts through groups of equal sort values at other places.
        let by_odd_cursor = walk_search_after(&sim, extra, 37).await;
        assert_eq!(by_odd_cursor, by_cursor, "{sort}");
    }
}

#[tokio::test]
async fn default_sort_is_newest_first_with_ties_by_id() {
    let (sim, base) = fixture().await;
    let answer = search(&sim, body(&sim, json!({"pageLimit": 500}))).await;
    assert_eq!(answer["total"], N_CONTACTS);
    let mut expected: Vec<(DateTime<Utc>, String)> = (0..N_CONTACTS)
        .map(|n| (added_at(base, n), format!("c{n:019}")))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().take(500).map(|(_, id)| id).collect();
    assert_eq!(ids(&answer), expected);
    let first = &answer["contacts"][0];
    assert_eq!(
        first["searchAfter"],
        json!([
            added_at(base, 19).timestamp_millis(),
            "c0000000000000001219"
        ])
    );
}

#[tokio::test]
async fn sort_by_name_puts_missing_names_last_in_both_directions() {
    let (sim, _) = fixture().await;
    for direction in ["asc", "desc"] {
        let extra = json!({"sort": [{"field": "firstNameLowerCase", "direction": direction}]});
        let all = walk_search_after(&sim, extra, 500).await;
        let names: Vec<Option<String>> = all
            .iter()
            .map(|id| {
                let n: usize = id[1..].parse().unwrap();
                (!n.is_multiple_of(7)).then(|| format!("first{n:05}"))
            })
            .collect();
        let n_named = names.iter().filter(|name| name.is_some()).count();
        assert!(
            names[n_named..].iter().all(Option::is_none),
            "{direction}: unnamed last"
        );
        let named: Vec<&String> = names[..n_named].iter().flatten().collect();
        let mut sorted = named.clone();
        sorted.sort();
        if direction == "desc" {
            sorted.reverse();
        }
        assert_eq!(named, sorted, "{direction}");
    }
}

#[tokio::test]
async fn filters_groups_and_query_select_the_matching_contacts() {
    let (sim, base) = fixture().await;
    let expect = |predicate: &dyn Fn(usize) -> bool| -> HashSet<String> {
        (0..N_CONTACTS)
            .filter(|n| predicate(*n))
            .map(|n| format!("c{n:019}"))
            .collect()
    };
    let cutoff = added_at(base, 5).to_rfc3339();
    let cases: Vec<(Value, HashSet<String>)> = vec![
        (
            json!([{"field": "dnd", "operator": "eq", "value": true}]),
            expect(&|n| n % 5 == 0),
        ),
        (
            json!([{"field": "tags", "operator": "eq", "value": "VIP"}]),
            expect(&|n| n % 3 == 0),
        ),
        (
            json!([{"field": "tags", "operator": "not_eq", "value": "vip"}]),
            expect(&|n| n % 3 != 0),
        ),
        (
            json!([{"field": "tags", "operator": "eq", "value": ["vip", "newsletter"]}]),
            expect(&|n| n % 3 == 0 || n % 4 == 0),
        ),
        (
            json!([{"field": "tags", "operator": "not_exists"}]),
            expect(&|n| n % 3 != 0 && n % 4 != 0),
        ),
        (
            json!([{"field": "firstNameLowerCase", "operator": "not_exists"}]),
            expect(&|n| n % 7 == 0),
        ),
        (
            json!([{"field": "city", "operator": "eq", "value": "berlin"}]),
            expect(&|n| n % 2 == 0),
        ),
        (
            json!([{"field": "email", "operator": "contains", "value": "PERSON12"}]),
            expect(&|n| n.to_string().starts_with("12")),
        ),
        (
            json!([{"field": "email", "operator": "not_contains", "value": "person1"}]),
            expect(&|n| !n.to_string().starts_with('1')),
        ),
        (
            json!([{"field": "dateAdded", "operator": "range", "value": {"gte": cutoff, "lt": added_at(base, 8).timestamp_millis()}}]),
            expect(&|n| (5..8).contains(&(n % 20))),
        ),
        (
            json!([{"field": "dateUpdated", "operator": "range", "value": {"gt": added_at(base, 19).timestamp_millis()}}]),
            expect(&|n| added_at(base, n) + Duration::milliseconds(n as i64) > added_at(base, 19)),
        ),
        (
            json!([
                {"field": "dnd", "operator": "eq", "value": false},
                {"group": "OR", "filters": [
                    {"field": "firstNameLowerCase", "operator": "eq", "value": "first00001"},
                    {"field": "lastNameLowerCase", "operator": "eq", "value": "last00003"}
                ]}
            ]),
            expect(&|n| n % 5 != 0 && ((n == 1) || n % 97 == 3)),
        ),
        (
            json!([{"group": "AND", "filters": [
                {"field": "tags", "operator": "eq", "value": "vip"},
                {"field": "tags", "operator": "eq", "value": "newsletter"}
            ]}]),
            expect(&|n| n % 12 == 0),
        ),
    ];
    for (filters, expected) in cases {
        let found = walk_search_after(&sim, json!({ "filters": filters }), 200).await;
        let found_set: HashSet<String> = found.iter().cloned().collect();
        assert_eq!(found.len(), found_set.len(), "{filters}");
        assert_eq!(found_set.len(), expected.len(), "{filters}");
        assert_eq!(found_set, expected, "{filters}");
    }

    // Free text over names, e-mail, phone, company.
    let answer = search(
        &sim,
        body(&sim, json!({"pageLimit": 10, "query": "First0100"})),
    )
    .await;
    let named = (1000..1010).filter(|n| n % 7 != 0).count();
    assert_eq!(
        answer["total"], named,
        "first01000..first01009, those with a first name"
    );
    let answer = search(
        &sim,
        body(&sim, json!({"pageLimit": 10, "query": "person1233@"})),
    )
    .await;
    assert_eq!(ids(&answer), ["c0000000000000001233"]);
    let answer = search(
        &sim,
        body(
            &sim,
            json!({"pageLimit": 10, "query": "First01002 Last00032"}),
        ),
    )
    .await;
    assert_eq!(ids(&answer), ["c0000000000000001002"], "1002 % 97 == 32");
}

#[tokio::test]
async fn sort_by_email_descending() {
    let (sim, _) = fixture().await;
    let answer = search(
        &sim,
        body(
            &sim,
            json!({"pageLimit": 50, "sort": [{"field": "email", "direction": "desc"}]}),
        ),
    )
    .await;
    let mut emails: Vec<String> = (0..N_CONTACTS)
        .map(|n| format!("person{n}@example.com"))
        .collect();
    emails.sort();
    emails.reverse();
    let got: Vec<&str> = answer["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        emails[..50].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(answer["contacts"][0]["searchAfter"][0], emails[0].as_str());
}

#[tokio::test]
async fn new_and_changed_contacts_show_up_in_search() {
    let sim = Sim::default().await;
    let (status, created) = sim
        .call(
            Method::POST,
            "/contacts/",
            Some(json!({"locationId": sim.location_id(), "firstName": "Searchable", "email": "find@me.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["contact"]["id"].as_str().unwrap();
    let filters = json!([{"field": "firstNameLowerCase", "operator": "eq", "value": "searchable"}]);
    let answer = search(
        &sim,
        body(&sim, json!({"pageLimit": 5, "filters": filters})),
    )
    .await;
    assert_eq!(ids(&answer), [id]);
    let contact = &answer["contacts"][0];
    assert_eq!(
        (
            contact["email"].as_str(),
            contact["firstNameLowerCase"].as_str()
        ),
        (Some("find@me.com"), Some("searchable"))
    );
    sim.call(Method::DELETE, &format!("/contacts/{id}"), None)
        .await;
    let answer = search(
        &sim,
        body(&sim, json!({"pageLimit": 5, "filters": filters})),
    )
    .await;
    assert_eq!((answer["total"].as_u64(), ids(&answer).len()), (Some(0), 0));
}

#[tokio::test]
async fn bad_search_bodies_answer_422_naming_the_field() {
    let sim = Sim::default().await;
    let cases = [
        (json!({"pageLimit": 10}), "locationId"),
        (body(&sim, json!({})), "pageLimit"),
        (
            body(&sim, json!({"pageLimit": 501})),
            "pageLimit must not be greater than 500",
        ),
        (body(&sim, json!({"pageLimit": "ten"})), "pageLimit"),
        (
            body(&sim, json!({"pageLimit": 500, "page": 21})),
            "use searchAfter",
        ),
        (
            body(
                &sim,
                json!({"pageLimit": 10, "page": 2, "searchAfter": [1, "x"]}),
            ),
            "page and searchAfter",
        ),
        (
            body(&sim, json!({"pageLimit": 10, "searchAfter": "x"})),
            "searchAfter",
        ),
        (
            body(&sim, json!({"pageLimit": 10, "query": "q".repeat(76)})),
            "query",
        ),
        (
            body(
                &sim,
                json!({"pageLimit": 10, "filters": [{"field": "shoeSize", "operator": "eq", "value": 1}]}),
            ),
            "filters.0.field",
        ),
        (
            body(
                &sim,
                json!({"pageLimit": 10, "filters": [{"field": "email", "operator": "near", "value": "x"}]}),
            ),
            "filters.0.operator",
        ),
        (
            body(
                &sim,
                json!({"pageLimit": 10, "filters": [{"group": "OR", "filters": [{"field": "dnd", "operator": "eq", "value": "maybe"}]}]}),
            ),
            "filters.0.filters.0.value",
        ),
        (
            body(&sim, json!({"pageLimit": 10, "sort": [{"field": "phone"}]})),
            "sort.0.field",
        ),
        (
            body(&sim, json!({"pageLimit": 10, "limit": 10})),
            "property limit should not exist",
        ),
    ];
    for (request, needle) in cases {
        let (status, answer) = sim
            .call(Method::POST, "/contacts/search", Some(request.clone()))
            .await;
        assert_error(status, &answer, 422, needle);
    }
    // Every problem is listed, not only the first.
    let (status, answer) = sim
        .call(
            Method::POST,
            "/contacts/search",
            Some(json!({"pageLimit": 0, "query": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["message"].as_array().unwrap().len(), 3, "{answer}");

    let other = sim
        .world()
        .locations
        .read()
        .keys()
        .find(|id| **id != sim.location_id())
        .unwrap()
        .clone();
    let (status, answer) = sim
        .call(
            Method::POST,
            "/contacts/search",
            Some(json!({"locationId": other, "pageLimit": 10})),
        )
        .await;
    assert_error(
        status,
        &answer,
        403,
        "does not have access to this location",
    );
}

/// A million contacts: one search page, a `searchAfter` step and a filtered search stay fast.
/// Slow to seed in a debug build; run with `cargo test --release -- --ignored million`.
#[tokio::test]
#[ignore = "seeds a million contacts; run in release"]
async fn a_million_contacts_search_in_reasonable_time() {
    const N: usize = 1_000_000;
    let sim = unlimited().await;
    let base = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    {
        let location = sim.world().location(&sim.location_id()).unwrap();
        let mut location = location.write();
        location.reserve_contacts(N);
        for n in 0..N {
            location.insert_contact(fixture_contact(
                &sim,
                base + Duration::seconds((n / 3) as i64),
                n,
            ));
        }
    }
    let started = Instant::now();
    let first = search(&sim, body(&sim, json!({"pageLimit": 500}))).await;
    let unfiltered = started.elapsed();
    assert_eq!(first["total"], N);
    let cursor = first["contacts"][499]["searchAfter"].clone();
    let started = Instant::now();
    let next = search(
        &sim,
        body(&sim, json!({"pageLimit": 500, "searchAfter": cursor})),
    )
    .await;
    let step = started.elapsed();
    assert_eq!(next["contacts"].as_array().unwrap().len(), 500);
    let started = Instant::now();
    let filtered = search(
        &sim,
        body(&sim, json!({"pageLimit": 500, "filters": [{"field": "tags", "operator": "eq", "value": "vip"}],
                          "sort": [{"field": "firstNameLowerCase", "direction": "asc"}]})),
    )
    .await;
    let scan = started.elapsed();
    assert_eq!(filtered["total"], N.div_ceil(3));
    let started = Instant::now();
    search(&sim, body(&sim, json!({"pageLimit": 500, "filters": [{"field": "tags", "operator": "eq", "value": "vip"}]}))).await;
    let filter_only = started.elapsed();
    let started = Instant::now();
    search(&sim, body(&sim, json!({"pageLimit": 500, "sort": [{"field": "lastNameLowerCase", "direction": "desc"}]}))).await;
    let sort_only = started.elapsed();
    eprintln!(
        "1M contacts: first page {unfiltered:?}, searchAfter step {step:?}, filtered+sorted {scan:?}, \
         filtered {filter_only:?}, sorted by name {sort_only:?}"
    );
    assert!(
        scan.as_secs() < 5,
        "a filtered search over 1M contacts took {scan:?}"
    );
}

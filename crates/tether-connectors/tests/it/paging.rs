//! Paging streams against a seeded location: every contact exactly once, with each of the four
//! ways HighLevel pages, lazily.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use tether_connectors::ghl::models::{
    BusinessContactsQuery, Contact, ListContactsQuery, SearchRequest,
};
use tether_connectors::ghl::{BusinessId, ContactId, Error};
use tether_sim::ghl::GhlSimConfig;

use crate::support::{TestSim, config};

async fn seeded(n_contacts: usize) -> TestSim {
    TestSim::with_config(GhlSimConfig {
        seed_contacts: n_contacts,
        ..config()
    })
    .await
}

/// The ids of the simulator's location.
fn all_ids(sim: &TestSim) -> HashSet<String> {
    let location = sim.world().location(&sim.location_id()).unwrap();
    let location = location.read();
    location.contacts.keys().cloned().collect()
}

/// Asserts that `contacts` holds every id of the location exactly once.
fn assert_each_once(sim: &TestSim, contacts: &[Contact], what: &str) {
    let mut seen = HashSet::new();
    for contact in contacts {
        assert!(
            seen.insert(contact.id.as_str().to_owned()),
            "{what}: {} twice",
            contact.id
        );
    }
    assert_eq!(seen, all_ids(sim), "{what}");
}

#[tokio::test]
async fn search_after_and_page_streams_yield_every_contact_once() {
    let sim = seeded(1300).await;
    let contacts = sim.client.contacts();

    let mark = sim.log_mark();
    let request = SearchRequest {
        page_limit: 200,
        ..SearchRequest::default()
    };
    let found: Vec<Contact> = contacts
        .search_stream(request.clone())
        .try_collect()
        .await
        .unwrap();
    assert_each_once(&sim, &found, "searchAfter");
    // 1,300 by 200: six full pages and a short one, no extra call.
    assert_eq!(sim.log_since(mark).len(), 7);

    let found: Vec<Contact> = contacts
        .search_pages_stream(request)
        .try_collect()
        .await
        .unwrap();
    assert_each_once(&sim, &found, "page");
}

#[tokio::test]
async fn page_paging_stops_at_ten_thousand_and_search_after_goes_on() {
    let sim = seeded(10_100).await;
    let contacts = sim.client.contacts();
    let request = SearchRequest {
        page_limit: 500,
        ..SearchRequest::default()
    };
    let by_page: Vec<Contact> = contacts
        .search_pages_stream(request.clone())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_page.len(), 10_000);
    let distinct: HashSet<&ContactId> = by_page.iter().map(|contact| &contact.id).collect();
    assert_eq!(distinct.len(), 10_000);

    let by_cursor: Vec<Contact> = contacts.search_stream(request).try_collect().await.unwrap();
    assert_each_once(&sim, &by_cursor, "searchAfter past 10,000");
}

#[tokio::test]
async fn the_deprecated_list_yields_every_contact_once_for_any_page_size() {
    let sim = seeded(137).await;
    for limit in [1, 7, 20, 50, 99, 100, 136, 137, 500] {
        let query = ListContactsQuery {
            limit: Some(limit),
            ..ListContactsQuery::default()
        };
        let found: Vec<Contact> = sim
            .client
            .contacts()
            .list_stream(query)
            .try_collect()
            .await
            .unwrap();
        assert_each_once(&sim, &found, &format!("limit {limit}"));
    }
}

#[tokio::test]
async fn a_business_s_contacts_stream_by_skip_and_limit() {
    let sim = seeded(300).await;
    let business = BusinessId::new(sim.seeded().businesses[0].clone());
    // Every contact into one business, so the stream can be checked against the location.
    let ids: Vec<ContactId> = all_ids(&sim).into_iter().map(ContactId::new).collect();
    for chunk in ids.chunks(100) {
        sim.client
            .businesses()
            .set_contacts(chunk, Some(&business))
            .await
            .unwrap();
    }
    // 299 is more than the service allows; the stream asks for 100.
    for limit in [1, 25, 100, 299] {
        let query = BusinessContactsQuery {
            business_id: business.clone(),
            limit: Some(limit),
            skip: None,
            query: None,
        };
        let found: Vec<Contact> = sim
            .client
            .businesses()
            .contacts_stream(query)
            .try_collect()
            .await
            .unwrap();
        assert_each_once(&sim, &found, &format!("limit {limit}"));
    }
}

#[tokio::test]
async fn a_stream_fetches_the_next_page_only_when_needed() {
    let sim = seeded(250).await;
    let mark = sim.log_mark();
    let request = SearchRequest {
        page_limit: 100,
        ..SearchRequest::default()
    };
    let stream = sim.client.contacts().search_stream(request);
    let mut stream = std::pin::pin!(stream);
    assert!(
        sim.log_since(mark).is_empty(),
        "nothing is fetched before the first poll"
    );
    for _ in 0..100 {
        stream.next().await.unwrap().unwrap();
    }
    assert_eq!(sim.log_since(mark).len(), 1);
    stream.next().await.unwrap().unwrap();
    assert_eq!(sim.log_since(mark).len(), 2);
}

#[tokio::test]
async fn an_error_ends_a_stream() {
    let sim = seeded(10).await;
    let client = sim.client_with_token("not-a-token");
    let results: Vec<Result<Contact, Error>> = client
        .contacts()
        .list_stream(ListContactsQuery::default())
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    assert!(matches!(results[0], Err(Error::Unauthorized { .. })));
}

//! Exact wire checks, read from the simulator's request log: method, path, query, the `Version`
//! header, authorization and body of representative operations.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use tether_connectors::ghl::models::{
    CalendarEventsQuery, ContactInput, SearchRequest, TagAction, TaskInput,
};
use tether_connectors::ghl::{
    CalendarId, CampaignId, EventId, VERSION_CALENDARS, VERSION_CONTACTS,
};

use crate::support::{PIT, TestSim, body, header, only_request, query};

#[tokio::test]
async fn create_contact_sends_the_location_version_and_token() {
    let sim = TestSim::start().await;
    let mark = sim.log_mark();
    let input = ContactInput {
        first_name: Some("Wire".into()),
        email: Some("wire@example.com".into()),
        ..ContactInput::default()
    };
    sim.client.contacts().create(&input).await.unwrap();
    let request = only_request(&sim, mark, "create-contact");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/contacts/");
    assert_eq!(request.query, None);
    assert_eq!(header(&request, "version"), Some(VERSION_CONTACTS));
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {PIT}").as_str())
    );
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        body(&request),
        json!({"locationId": sim.location_id(), "firstName": "Wire", "email": "wire@example.com"})
    );
    assert_eq!(request.status, 201);
}

#[tokio::test]
async fn task_create_sends_the_required_fields() {
    let sim = TestSim::start().await;
    let contact = sim.contact("wiretask@example.com").await;
    let mark = sim.log_mark();
    let input = TaskInput {
        title: "Deliver".into(),
        body: None,
        due_date: Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
        completed: false,
        assigned_to: None,
    };
    sim.client
        .tasks()
        .create(&contact.id, &input)
        .await
        .unwrap();
    let request = only_request(&sim, mark, "create-task");
    assert_eq!(request.path, format!("/contacts/{}/tasks", contact.id));
    assert_eq!(
        body(&request),
        json!({"title": "Deliver", "dueDate": "2030-01-02T03:04:05Z", "completed": false})
    );
}

#[tokio::test]
async fn deletes_with_bodies_keep_them() {
    let sim = TestSim::start().await;
    let contact = sim.contact("wiredelete@example.com").await;
    let tags = vec!["a".to_owned(), "b".to_owned()];
    sim.client.tags().add(&contact.id, &tags).await.unwrap();
    let mark = sim.log_mark();
    sim.client
        .tags()
        .remove(&contact.id, &tags[..1])
        .await
        .unwrap();
    let request = only_request(&sim, mark, "remove-tags");
    assert_eq!(request.method, "DELETE");
    assert_eq!(request.path, format!("/contacts/{}/tags", contact.id));
    assert_eq!(body(&request), json!({"tags": ["a"]}));

    let mark = sim.log_mark();
    let _ = sim
        .client
        .calendars()
        .delete_event(&EventId::new("NoSuchEvent000000000"))
        .await;
    let request = only_request(&sim, mark, "delete-event");
    assert_eq!(request.method, "DELETE");
    assert_eq!(header(&request, "version"), Some(VERSION_CALENDARS));
    assert_eq!(body(&request), json!({}));

    let campaign = CampaignId::new(sim.seeded().campaigns[0].clone());
    let mark = sim.log_mark();
    sim.client
        .campaigns()
        .add_contact(&contact.id, &campaign)
        .await
        .unwrap();
    let request = only_request(&sim, mark, "add-contact-to-campaign");
    assert_eq!(request.method, "POST");
    assert_eq!(body(&request), json!({}));
    assert_eq!(request.status, 201);
}

#[tokio::test]
async fn calendar_events_send_epoch_milliseconds_and_the_calendars_version() {
    let sim = TestSim::start().await;
    let calendar = CalendarId::new(sim.seeded().calendars[0].clone());
    let start = Utc.with_ymd_and_hms(2030, 4, 1, 0, 0, 0).unwrap();
    let mark = sim.log_mark();
    let window = CalendarEventsQuery {
        start_time: start,
        end_time: start + Duration::days(7),
        calendar_id: Some(calendar.clone()),
        user_id: None,
        group_id: None,
    };
    sim.client.calendars().events(&window).await.unwrap();
    let request = only_request(&sim, mark, "get-calendar-events");
    assert_eq!(request.path, "/calendars/events");
    assert_eq!(header(&request, "version"), Some(VERSION_CALENDARS));
    let expected = vec![
        ("locationId".to_owned(), sim.location_id()),
        ("startTime".to_owned(), start.timestamp_millis().to_string()),
        (
            "endTime".to_owned(),
            (start + Duration::days(7)).timestamp_millis().to_string(),
        ),
        ("calendarId".to_owned(), calendar.to_string()),
    ];
    assert_eq!(query(&request), expected);
}

#[tokio::test]
async fn a_plus_in_a_duplicate_lookup_is_percent_encoded() {
    let sim = TestSim::start().await;
    let mark = sim.log_mark();
    sim.client
        .contacts()
        .find_duplicate(Some("a+b@example.com"), Some("+14155550100"))
        .await
        .unwrap();
    let request = only_request(&sim, mark, "get-duplicate-contact");
    let raw = request.query.clone().unwrap();
    assert!(raw.contains("number=%2B14155550100"), "{raw}");
    assert!(raw.contains("email=a%2Bb%40example.com"), "{raw}");
}

#[tokio::test]
async fn search_and_bulk_bodies_are_as_documented() {
    let sim = TestSim::start().await;
    let contact = sim.contact("wirebulk@example.com").await;
    let mark = sim.log_mark();
    let search = SearchRequest {
        page_limit: 50,
        search_after: Some(vec![json!(1_700_000_000_000_i64), json!("abc")]),
        ..SearchRequest::default()
    };
    sim.client.contacts().search(&search).await.unwrap();
    let request = only_request(&sim, mark, "search-contacts-advanced");
    assert_eq!(
        body(&request),
        json!({"locationId": sim.location_id(), "pageLimit": 50, "searchAfter": [1_700_000_000_000_i64, "abc"]})
    );

    let mark = sim.log_mark();
    let ids = vec![contact.id.clone()];
    sim.client
        .tags()
        .bulk_update(TagAction::Add, &ids, &["x".to_owned()], None)
        .await
        .unwrap();
    let request = only_request(&sim, mark, "create-association");
    assert_eq!(request.path, "/contacts/bulk/tags/update/add");
    assert_eq!(
        body(&request),
        json!({"contacts": [contact.id], "tags": ["x"], "locationId": sim.location_id()})
    );

    let mark = sim.log_mark();
    sim.client
        .businesses()
        .set_contacts(&ids, None)
        .await
        .unwrap();
    let request = only_request(&sim, mark, "add-remove-contact-from-business");
    assert_eq!(
        body(&request),
        json!({"locationId": sim.location_id(), "ids": [contact.id], "businessId": null})
    );
}

#[tokio::test]
async fn a_client_built_from_a_token_calls_with_it() {
    let sim = TestSim::start().await;
    let client = tether_connectors::ghl::GhlClient::with_token(
        &sim.running.base_url,
        tether_core::Secret::new(PIT),
        tether_connectors::ghl::LocationId::new(sim.location_id()),
    )
    .unwrap();
    assert_eq!(client.location_id().as_str(), sim.location_id());
    let mark = sim.log_mark();
    let calendars = client.calendars().list(&Default::default()).await.unwrap();
    assert!(!calendars.is_empty());
    let request = only_request(&sim, mark, "get-calendars");
    assert_eq!(request.path, "/calendars/");
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {PIT}").as_str())
    );
    assert_eq!(
        query(&request),
        vec![("locationId".to_owned(), sim.location_id())]
    );
}

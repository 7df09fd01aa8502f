//! Contacts: create, get, update, delete, upsert, duplicate lookup, one search page and one page
//! of the deprecated list, with their error paths.

use tether_connectors::ghl::models::{
    ContactInput, CustomFieldInput, CustomFieldValue, DndChannel, DndSettings, DndStatus,
    FilterOperator, ListContactsQuery, SearchFilter, SearchRequest,
};
use tether_connectors::ghl::{ContactId, Error};
use tether_core::ErrorKind;

use crate::support::TestSim;

#[tokio::test]
async fn a_contact_is_created_read_updated_and_deleted() {
    let sim = TestSim::start().await;
    let seeded = sim.seeded();
    let (text_field_id, _, _) = seeded
        .custom_fields
        .iter()
        .find(|(_, _, data_type)| data_type == "LARGE_TEXT")
        .unwrap()
        .clone();
    let input = ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some("ada@example.com".into()),
        phone: Some("+14155550123".into()),
        company_name: Some("Analytical Engines".into()),
        tags: Some(vec!["vip".into(), "Florist".into()]),
        dnd_settings: Some(DndSettings {
            sms: Some(DndChannel {
                status: DndStatus::Active,
                message: Some("asked by phone".into()),
                code: None,
            }),
            ..DndSettings::default()
        }),
        custom_fields: Some(vec![CustomFieldInput::by_id(
            &text_field_id,
            CustomFieldValue::Text("leave at the back door".into()),
        )]),
        ..ContactInput::default()
    };
    let created = sim.client.contacts().create(&input).await.unwrap();
    assert_eq!(created.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        created.location_id.as_ref().unwrap().as_str(),
        sim.location_id()
    );
    assert!(sim.has_contact(&created.id));

    let read = sim.client.contacts().get(&created.id).await.unwrap();
    assert_eq!(read.first_name.as_deref(), Some("Ada"));
    assert_eq!(read.phone.as_deref(), Some("+14155550123"));
    assert_eq!(read.tags.len(), 2, "{:?}", read.tags);
    let sms = read
        .dnd_settings
        .as_ref()
        .and_then(|dnd| dnd.sms.as_ref())
        .unwrap();
    assert_eq!(sms.status, DndStatus::Active);
    let field = read
        .custom_fields
        .iter()
        .find(|field| field.id == text_field_id)
        .unwrap();
    assert_eq!(
        field.value,
        Some(CustomFieldValue::Text("leave at the back door".into()))
    );

    let changes = ContactInput {
        first_name: Some("Augusta".into()),
        tags: Some(vec!["customer".into()]),
        ..ContactInput::default()
    };
    let updated = sim
        .client
        .contacts()
        .update(&created.id, &changes)
        .await
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Augusta"));
    assert_eq!(updated.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(
        updated.tags,
        vec!["customer".to_owned()],
        "tags replace on update"
    );

    let deleted = sim.client.contacts().delete(&created.id).await.unwrap();
    assert!(deleted.succeeded);
    assert!(!sim.has_contact(&created.id));
    let error = sim.client.contacts().get(&created.id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn the_server_s_validation_messages_come_back_typed() {
    let sim = TestSim::start().await;
    let input = ContactInput {
        email: Some("not-an-email".into()),
        phone: Some("call me maybe".into()),
        ..ContactInput::default()
    };
    let error = sim.client.contacts().create(&input).await.unwrap_err();
    let Error::Validation { messages, .. } = &error else {
        panic!("expected a 422: {error:?}");
    };
    assert!(messages.iter().any(|m| m.contains("email")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("phone")), "{messages:?}");
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(error.kind(), ErrorKind::Permanent);
}

#[tokio::test]
async fn update_refuses_create_only_fields_before_sending() {
    let sim = TestSim::start().await;
    let contact = sim.contact("grace@example.com").await;
    let mark = sim.log_mark();
    let changes = ContactInput {
        company_name: Some("Navy".into()),
        ..ContactInput::default()
    };
    let error = sim
        .client
        .contacts()
        .update(&contact.id, &changes)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { path, .. } if path == "companyName"),
        "{error:?}"
    );
    assert!(sim.log_since(mark).is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn upsert_creates_then_updates_the_same_contact() {
    let sim = TestSim::start().await;
    let input = ContactInput {
        email: Some("linus@example.com".into()),
        first_name: Some("Linus".into()),
        ..ContactInput::default()
    };
    let first = sim.client.contacts().upsert(&input, None).await.unwrap();
    assert!(first.new);
    let again = ContactInput {
        email: Some("LINUS@example.com".into()),
        city: Some("Helsinki".into()),
        ..ContactInput::default()
    };
    let second = sim
        .client
        .contacts()
        .upsert(&again, Some(false))
        .await
        .unwrap();
    assert!(!second.new);
    assert_eq!(second.contact.id, first.contact.id);
    assert_eq!(second.contact.city.as_deref(), Some("Helsinki"));
    assert_eq!(second.contact.first_name.as_deref(), Some("Linus"));
}

#[tokio::test]
async fn a_duplicate_is_found_by_email_or_phone() {
    let sim = TestSim::start().await;
    let input = ContactInput {
        email: Some("test+florist@example.com".into()),
        phone: Some("+14155550199".into()),
        ..ContactInput::default()
    };
    let contact = sim.client.contacts().create(&input).await.unwrap();
    let contacts = sim.client.contacts();
    let by_email = contacts
        .find_duplicate(Some("test+florist@example.com"), None)
        .await
        .unwrap();
    assert_eq!(by_email.map(|found| found.id), Some(contact.id.clone()));
    let by_phone = contacts
        .find_duplicate(None, Some("+14155550199"))
        .await
        .unwrap();
    assert_eq!(by_phone.map(|found| found.id), Some(contact.id.clone()));
    let nobody = contacts
        .find_duplicate(Some("nobody@example.com"), None)
        .await
        .unwrap();
    assert_eq!(nobody, None);
}

#[tokio::test]
async fn a_search_page_finds_contacts_by_filter() {
    let sim = TestSim::start().await;
    for n in 0..5 {
        sim.contact(&format!("searcher{n}@example.com")).await;
    }
    let wanted = sim.contact("needle@example.com").await;
    let request = SearchRequest {
        filters: vec![SearchFilter::Condition {
            field: "email".into(),
            operator: FilterOperator::Eq,
            value: Some("needle@example.com".into()),
        }],
        page_limit: 10,
        ..SearchRequest::default()
    };
    let page = sim.client.contacts().search(&request).await.unwrap();
    assert_eq!(page.total, Some(1));
    assert_eq!(page.contacts.len(), 1);
    assert_eq!(page.contacts[0].id, wanted.id);
    assert!(
        page.contacts[0].search_after.is_some(),
        "each hit carries its cursor"
    );

    let all = sim
        .client
        .contacts()
        .search(&SearchRequest {
            page_limit: 4,
            ..SearchRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(all.contacts.len(), 4);
    assert_eq!(all.total, Some(6));
}

#[tokio::test]
async fn the_deprecated_list_answers_a_page_and_refuses_an_unknown_cursor() {
    let sim = TestSim::start().await;
    for n in 0..3 {
        sim.contact(&format!("lister{n}@example.com")).await;
    }
    let page = sim
        .client
        .contacts()
        .list(&ListContactsQuery {
            limit: Some(2),
            ..ListContactsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.contacts.len(), 2);
    assert_eq!(page.total, Some(3));

    let error = sim
        .client
        .contacts()
        .list(&ListContactsQuery {
            start_after_id: Some(ContactId::new("NoSuchContact0000000")),
            ..ListContactsQuery::default()
        })
        .await
        .unwrap_err();
    let Error::Validation { messages, .. } = &error else {
        panic!("expected a 422: {error:?}");
    };
    assert!(messages[0].contains("NoSuchContact0000000"), "{messages:?}");
}

//! Notes of a contact: every operation.

use tether_connectors::ghl::models::{NoteInput, NoteUpdate};
use tether_connectors::ghl::{Error, UserId};

use crate::support::TestSim;

#[tokio::test]
async fn a_note_is_created_listed_read_updated_and_deleted() {
    let sim = TestSim::start().await;
    let user = UserId::new(sim.seeded().users[1].clone());
    let contact = sim.contact("notes@example.com").await;
    let notes = sim.client.notes();

    let input = NoteInput {
        body: "Prefers white lilies.".into(),
        user_id: Some(user.clone()),
        title: Some("Preferences".into()),
        color: None,
        pinned: Some(true),
    };
    let note = notes.create(&contact.id, &input).await.unwrap();
    assert_eq!(note.body.as_deref(), Some("Prefers white lilies."));
    assert_eq!(note.user_id.as_ref(), Some(&user));
    assert_eq!(note.contact_id.as_ref(), Some(&contact.id));

    let listed = notes.list(&contact.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|n| &n.id).collect::<Vec<_>>(),
        vec![&note.id]
    );

    let read = notes.get(&contact.id, &note.id).await.unwrap();
    assert_eq!(read.title.as_deref(), Some("Preferences"));

    let changes = NoteUpdate {
        body: Some("Prefers white lilies, no roses.".into()),
        ..NoteUpdate::default()
    };
    let updated = notes.update(&contact.id, &note.id, &changes).await.unwrap();
    assert_eq!(
        updated.body.as_deref(),
        Some("Prefers white lilies, no roses.")
    );

    assert!(notes.delete(&contact.id, &note.id).await.unwrap().succeeded);
    let error = notes.get(&contact.id, &note.id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

//! Tasks of a contact: every operation, and a task that does not exist.

use chrono::{TimeZone, Utc};
use tether_connectors::ghl::models::{TaskInput, TaskUpdate};
use tether_connectors::ghl::{Error, TaskId, UserId};

use crate::support::TestSim;

#[tokio::test]
async fn a_task_is_created_listed_read_updated_completed_and_deleted() {
    let sim = TestSim::start().await;
    let user = UserId::new(sim.seeded().users[0].clone());
    let contact = sim.contact("tasks@example.com").await;
    let tasks = sim.client.tasks();

    let input = TaskInput {
        title: "Call back".into(),
        body: Some("About the wedding flowers".into()),
        due_date: Utc.with_ymd_and_hms(2030, 5, 1, 9, 30, 0).unwrap(),
        completed: false,
        assigned_to: Some(user.clone()),
    };
    let task = tasks.create(&contact.id, &input).await.unwrap();
    assert_eq!(task.title.as_deref(), Some("Call back"));
    assert!(!task.completed);
    assert_eq!(task.assigned_to.as_ref(), Some(&user));
    assert!(
        task.due_date
            .as_deref()
            .unwrap()
            .starts_with("2030-05-01T09:30:00")
    );

    let listed = tasks.list(&contact.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, task.id);

    let read = tasks.get(&contact.id, &task.id).await.unwrap();
    assert_eq!(read.body.as_deref(), Some("About the wedding flowers"));

    let changes = TaskUpdate {
        title: Some("Call back before noon".into()),
        ..TaskUpdate::default()
    };
    let updated = tasks.update(&contact.id, &task.id, &changes).await.unwrap();
    assert_eq!(updated.title.as_deref(), Some("Call back before noon"));
    assert_eq!(updated.body.as_deref(), Some("About the wedding flowers"));

    let done = tasks.complete(&contact.id, &task.id, true).await.unwrap();
    assert!(done.completed);
    let undone = tasks.complete(&contact.id, &task.id, false).await.unwrap();
    assert!(!undone.completed);

    assert!(tasks.delete(&contact.id, &task.id).await.unwrap().succeeded);
    assert!(tasks.list(&contact.id).await.unwrap().is_empty());
    let error = tasks.get(&contact.id, &task.id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn a_task_of_an_unknown_contact_or_id_is_not_found() {
    let sim = TestSim::start().await;
    let contact = sim.contact("tasks404@example.com").await;
    let missing = TaskId::new("NoSuchTask0000000000");
    let error = sim
        .client
        .tasks()
        .complete(&contact.id, &missing, true)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    let input = TaskInput {
        title: "x".into(),
        body: None,
        due_date: Utc::now(),
        completed: false,
        assigned_to: Some(UserId::new("NoSuchUser0000000000")),
    };
    let error = sim
        .client
        .tasks()
        .create(&contact.id, &input)
        .await
        .unwrap_err();
    let Error::Validation { messages, .. } = &error else {
        panic!("expected a 422: {error:?}");
    };
    assert!(messages[0].contains("NoSuchUser0000000000"), "{messages:?}");
}

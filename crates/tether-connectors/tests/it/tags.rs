//! Tags: add and remove on one contact, and the bulk update of many.

use tether_connectors::ghl::models::TagAction;

use crate::support::TestSim;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[tokio::test]
async fn tags_are_added_and_removed() {
    let sim = TestSim::start().await;
    let contact = sim.contact("tags@example.com").await;
    let tags = sim.client.tags();
    let added = tags
        .add(&contact.id, &strings(&["vip", "wedding"]))
        .await
        .unwrap();
    assert_eq!(added.tags, strings(&["vip", "wedding"]));
    let again = tags.add(&contact.id, &strings(&["vip"])).await.unwrap();
    assert_eq!(
        again.tags,
        strings(&["vip", "wedding"]),
        "adding twice changes nothing"
    );
    let removed = tags.remove(&contact.id, &strings(&["vip"])).await.unwrap();
    assert_eq!(removed.tags, strings(&["wedding"]));
}

#[tokio::test]
async fn tags_of_many_contacts_are_updated_at_once() {
    let sim = TestSim::start().await;
    let first = sim.contact("bulk1@example.com").await;
    let second = sim.contact("bulk2@example.com").await;
    let ids = vec![first.id.clone(), second.id.clone()];
    let tags = sim.client.tags();
    let result = tags
        .bulk_update(
            TagAction::Add,
            &ids,
            &strings(&["newsletter", "spring"]),
            None,
        )
        .await
        .unwrap();
    assert!(result.succeeded, "{result:?}");
    assert_eq!(result.error_count, 0);
    for id in &ids {
        let contact = sim.client.contacts().get(id).await.unwrap();
        assert_eq!(contact.tags, strings(&["newsletter", "spring"]));
    }
    let result = tags
        .bulk_update(TagAction::Remove, &ids, &strings(&["spring"]), None)
        .await
        .unwrap();
    assert!(result.succeeded);
    let contact = sim.client.contacts().get(&second.id).await.unwrap();
    assert_eq!(contact.tags, strings(&["newsletter"]));
    tags.bulk_update(TagAction::Remove, &ids, &[], Some(true))
        .await
        .unwrap();
    let contact = sim.client.contacts().get(&first.id).await.unwrap();
    assert!(contact.tags.is_empty(), "{:?}", contact.tags);
}

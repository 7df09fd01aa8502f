//! Followers of a contact.

use tether_connectors::ghl::UserId;

use crate::support::TestSim;

#[tokio::test]
async fn followers_are_added_and_removed() {
    let sim = TestSim::start().await;
    let users: Vec<UserId> = sim
        .seeded()
        .users
        .into_iter()
        .take(2)
        .map(UserId::new)
        .collect();
    let contact = sim.contact("followers@example.com").await;
    let followers = sim.client.followers();
    let added = followers.add(&contact.id, &users).await.unwrap();
    assert_eq!(added.followers, users);
    assert_eq!(added.followers_added, users);
    let removed = followers.remove(&contact.id, &users[..1]).await.unwrap();
    assert_eq!(removed.followers, users[1..].to_vec());
    assert_eq!(removed.followers_removed, users[..1].to_vec());
}

//! Businesses: put contacts in one, list them, take them out.

use tether_connectors::ghl::BusinessId;
use tether_connectors::ghl::models::BusinessContactsQuery;

use crate::support::TestSim;

#[tokio::test]
async fn contacts_join_a_business_are_listed_and_leave_it() {
    let sim = TestSim::start().await;
    let business = BusinessId::new(sim.seeded().businesses[0].clone());
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(sim.contact(&format!("biz{n}@example.com")).await.id);
    }
    let client = sim.client.businesses();
    let result = client.set_contacts(&ids, Some(&business)).await.unwrap();
    assert!(result.success);
    assert_eq!(result.ids, ids);

    let query = BusinessContactsQuery {
        business_id: business.clone(),
        limit: Some(2),
        skip: None,
        query: None,
    };
    let page = client.contacts(&query).await.unwrap();
    assert_eq!(page.contacts.len(), 2);
    assert_eq!(page.total, Some(3));
    assert!(
        page.contacts
            .iter()
            .all(|c| c.business_id.as_ref() == Some(&business))
    );

    client.set_contacts(&ids[..1], None).await.unwrap();
    let contact = sim.client.contacts().get(&ids[0]).await.unwrap();
    assert_eq!(contact.business_id, None);
    let page = client
        .contacts(&BusinessContactsQuery {
            limit: None,
            ..query
        })
        .await
        .unwrap();
    assert_eq!(page.total, Some(2));
}

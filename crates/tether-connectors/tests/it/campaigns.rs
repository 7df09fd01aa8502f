//! A contact's campaigns.

use tether_connectors::ghl::CampaignId;

use crate::support::TestSim;

#[tokio::test]
async fn a_contact_joins_and_leaves_campaigns() {
    let sim = TestSim::start().await;
    let campaigns: Vec<CampaignId> = sim
        .seeded()
        .campaigns
        .into_iter()
        .take(2)
        .map(CampaignId::new)
        .collect();
    let contact = sim.contact("campaigns@example.com").await;
    let client = sim.client.campaigns();
    for campaign in &campaigns {
        assert!(
            client
                .add_contact(&contact.id, campaign)
                .await
                .unwrap()
                .succeeded
        );
    }
    let in_campaigns = |sim: &TestSim| {
        let location = sim.world().location(&sim.location_id()).unwrap();
        let location = location.read();
        location.contacts[contact.id.as_str()].campaigns.len()
    };
    assert_eq!(in_campaigns(&sim), 2);
    assert!(
        client
            .remove_contact(&contact.id, &campaigns[0])
            .await
            .unwrap()
            .succeeded
    );
    assert_eq!(in_campaigns(&sim), 1);
    assert!(
        client
            .remove_contact_from_all(&contact.id)
            .await
            .unwrap()
            .succeeded
    );
    assert_eq!(in_campaigns(&sim), 0);
}

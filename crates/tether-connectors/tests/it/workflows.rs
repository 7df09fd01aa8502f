//! A contact's workflows.

use chrono::DateTime;
use tether_connectors::ghl::WorkflowId;

use crate::support::TestSim;

#[tokio::test]
async fn a_contact_is_enrolled_in_and_removed_from_a_workflow() {
    let sim = TestSim::start().await;
    let workflow = WorkflowId::new(sim.seeded().workflows[0].clone());
    let contact = sim.contact("workflows@example.com").await;
    let start = DateTime::parse_from_rfc3339("2030-06-23T03:30:00+01:00").unwrap();
    let client = sim.client.workflows();
    assert!(
        client
            .add_contact(&contact.id, &workflow, Some(start))
            .await
            .unwrap()
            .succeeded
    );
    let enrolled = |sim: &TestSim| {
        let location = sim.world().location(&sim.location_id()).unwrap();
        let location = location.read();
        location.contacts[contact.id.as_str()]
            .workflows
            .contains_key(workflow.as_str())
    };
    assert!(enrolled(&sim));
    assert!(
        client
            .remove_contact(&contact.id, &workflow, None)
            .await
            .unwrap()
            .succeeded
    );
    assert!(!enrolled(&sim));
}

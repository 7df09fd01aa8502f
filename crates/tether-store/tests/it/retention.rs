//! Retention: old finished runs and their journals are swept in batches; everything that is
//! still work, or still referenced, stays.

use serde_json::json;
use tether_store::{RunId, StepStatus, Store, now_ms};

use crate::both;

/// Runs a fresh run of `flow` on a new event to completion, with a journaled step.
/// The run is indexed by its trigger's e-mail and records the link it wrote.
async fn done_run(store: &Store, flow: &str) -> RunId {
    let (_, runs) = store
        .record_event_with_runs(
            "test",
            flow,
            "contact",
            &json!({"flow": flow, "email": format!("{flow}@example.com")}),
            now_ms(),
            &[(flow, 1)],
        )
        .await
        .unwrap();
    let run_id = runs[0];
    let link = tether_store::Link {
        flow_id: flow.to_owned(),
        source_app: "ghl".into(),
        source_type: "contact".into(),
        source_id: format!("{flow}-contact"),
        target_app: "details_flowers".into(),
        target_type: "customer".into(),
        target_id: format!("{flow}-customer"),
        content_hash: String::new(),
        source_version: None,
        updated_at_ms: now_ms(),
        sync_state: None,
    };
    store.record_run_link(run_id, "map", &link).await.unwrap();
    let leased = store
        .lease_run(run_id, "w", now_ms(), 60_000)
        .await
        .unwrap();
    assert!(leased.is_some());
    store
        .journal_step(run_id, "map", 1, StepStatus::Ok, &json!({"ok": true}))
        .await
        .unwrap();
    store.complete_run(run_id, "w").await.unwrap();
    run_id
}

both!(
    the_sweep_deletes_old_done_runs_and_their_journals_in_batches,
    |store: Store| async move {
        let mut swept = Vec::new();
        for n in 0..5 {
            swept.push(done_run(&store, &format!("done-{n}")).await);
        }
        // A dead run stays with its dead letter; its replay, done, stays while the letter
        // points to it.
        let dead = {
            let event_id = store
                .record_event("test", "dead", "contact", &json!({}), now_ms())
                .await
                .unwrap()
                .id();
            let run_id = store.enqueue_run("dead", 1, event_id).await.unwrap();
            store
                .lease_run(run_id, "w", now_ms(), 60_000)
                .await
                .unwrap();
            store
                .fail_run_to_dlq(run_id, "w", Some("map"), "refused")
                .await
                .unwrap()
        };
        let dead_run = store.dlq_get(dead).await.unwrap().run_id;
        let replay = match store
            .dlq_replay(
                dead,
                &tether_store::dlq::ReplayPlan {
                    flow_version: 1,
                    keep_finished_steps: false,
                    key: None,
                },
            )
            .await
            .unwrap()
        {
            tether_store::dlq::Replayed::Queued(run_id) => run_id,
            other => panic!("the replay was not queued: {other:?}"),
        };
        store
            .lease_run(replay, "w", now_ms(), 60_000)
            .await
            .unwrap();
        store.complete_run(replay, "w").await.unwrap();
        // A queued run is work still to do.
        let queued = {
            let event_id = store
                .record_event("test", "queued", "contact", &json!({}), now_ms())
                .await
                .unwrap()
                .id();
            store.enqueue_run("queued", 1, event_id).await.unwrap()
        };

        // Nothing is older than an hour ago.
        let hour_ago = now_ms() - 3_600_000;
        assert_eq!(store.sweep_finished_runs(hour_ago, 2).await.unwrap(), 0);
        assert_eq!(store.journal(swept[0]).await.unwrap().len(), 1);
        let by_email = |email: &str| tether_store::RunFilter {
            record: Some(email.to_owned()),
            ..tether_store::RunFilter::default()
        };
        assert_eq!(
            store
                .search_runs(&by_email("done-0@example.com"), 10)
                .await
                .unwrap()
                .len(),
            1
        );

        // Everything finished before now + 1 ms is old enough: five done runs, in three batches.
        let later = now_ms() + 1;
        assert_eq!(store.sweep_finished_runs(later, 2).await.unwrap(), 5);
        for run_id in &swept {
            assert!(store.run(*run_id).await.is_err(), "run {run_id} was swept");
            assert!(store.journal(*run_id).await.unwrap().is_empty());
            // Its search entries and its record of links go with it; the link itself stays.
            assert!(store.run_links(*run_id).await.unwrap().is_empty());
        }
        assert!(
            store
                .search_runs(&by_email("done-0@example.com"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        for kept in [dead_run, replay, queued] {
            assert_eq!(store.run(kept).await.unwrap().id, kept, "run {kept} stays");
        }
        assert_eq!(store.dlq_get(dead).await.unwrap().run_id, dead_run);
        // The events stay, so a redelivery is still a duplicate.
        let again = store
            .record_event("test", "done-0", "contact", &json!({}), now_ms())
            .await
            .unwrap();
        assert!(
            matches!(again, tether_store::EventInsert::Duplicate(_)),
            "the event of a swept run still deduplicates"
        );
        assert_eq!(store.sweep_finished_runs(later, 2).await.unwrap(), 0);
    }
);

//! Retention: old finished runs and their journals are swept in batches; everything that is
//! still work, or still referenced, stays.

use serde_json::json;
use tether_store::{RunId, StepStatus, Store, now_ms};

use crate::both;

/// Runs a fresh run of `flow` on a new event to completion, with a journaled step.
async fn done_run(store: &Store, flow: &str) -> RunId {
    let event_id = store
        .record_event("test", flow, "contact", &json!({"flow": flow}), now_ms())
        .await
        .unwrap()
        .id();
    let run_id = store.enqueue_run(flow, 1, event_id).await.unwrap();
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
        let replay = store.dlq_replay(dead, None).await.unwrap();
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

        // Everything finished before now + 1 ms is old enough: five done runs, in three batches.
        let later = now_ms() + 1;
        assert_eq!(store.sweep_finished_runs(later, 2).await.unwrap(), 5);
        for run_id in &swept {
            assert!(store.run(*run_id).await.is_err(), "run {run_id} was swept");
            assert!(store.journal(*run_id).await.unwrap().is_empty());
        }
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

//! The flows list's statistics (last run, runs of a window by outcome, open dead letters) for a
//! page of flows, and deleting a flow while its history stays.

use serde_json::json;
use tether_store::{Error, RunId, RunStatus, Store, now_ms};

use crate::both;

const YAML: &str = "id: x\nname: X\nsteps: []\n";

/// One event per `n` with a run of each of `flows`; answers the runs, flow by flow per event.
async fn runs(store: &Store, n: usize, flows: &[(&str, i64)], key: &str) -> Vec<RunId> {
    let mut made = Vec::new();
    for index in 0..n {
        let (_, ids) = store
            .record_event_with_runs(
                "ghl.webhook",
                &format!("{key}-{index}"),
                "ContactCreate",
                &json!({"id": format!("c{index}")}),
                1,
                flows,
            )
            .await
            .unwrap();
        made.extend(ids);
    }
    made
}

async fn finish(store: &Store, run: RunId) {
    let leased = store.lease_run(run, "w", now_ms(), 30_000).await.unwrap();
    assert!(leased.is_some(), "run {run} leases");
    store.complete_run(run, "w").await.unwrap();
}

async fn kill(store: &Store, run: RunId) -> tether_store::DeadLetterId {
    store.lease_run(run, "w", now_ms(), 30_000).await.unwrap();
    store
        .fail_run_to_dlq(run, "w", Some("step"), "it broke")
        .await
        .unwrap()
}

both!(
    a_page_of_flows_gets_its_last_run_window_counts_and_open_dead_letters,
    |store: Store| async move {
        for id in ["a", "b", "c", "d"] {
            store.create_flow(id, id, YAML, 1).await.unwrap();
        }
        // Old runs of a and b, then the window starts.
        let old = runs(&store, 2, &[("a", 1), ("b", 1)], "old").await;
        for run in &old {
            finish(&store, *run).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let since = now_ms();
        let new = runs(&store, 3, &[("a", 1), ("b", 1)], "new").await;
        // a: done, done, dead (open); b: done, dead (replayed later), queued.
        let [a0, b0, a1, b1, a2, b2] = new[..] else {
            panic!("six runs")
        };
        for run in [a0, b0, a1] {
            finish(&store, run).await;
        }
        kill(&store, a2).await;
        let replayed = kill(&store, b1).await;
        let plan = tether_store::ReplayPlan {
            flow_version: 1,
            keep_finished_steps: false,
            key: None,
        };
        store.dlq_replay(replayed, &plan).await.unwrap();
        // c never ran; d is outside the page asked for.
        let d_run = runs(&store, 1, &[("d", 1)], "d").await;
        kill(&store, d_run[0]).await;

        let stats = store.flow_run_stats("a", "c", since).await.unwrap();
        let ids: Vec<&str> = stats.iter().map(|s| s.flow_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let (a, b, c) = (&stats[0], &stats[1], &stats[2]);
        assert_eq!((a.done_since, a.dead_since, a.open_dead_letters), (2, 1, 1));
        let last = a.last_run.as_ref().unwrap();
        assert_eq!((last.id, last.status), (a2, RunStatus::Dead));
        assert!(last.created_at_ms >= since);
        // b's replay is its newest run, queued; its dead letter is replayed, so not open.
        assert_eq!((b.done_since, b.dead_since, b.open_dead_letters), (1, 1, 0));
        let b_last = b.last_run.as_ref().unwrap();
        assert_eq!(b_last.status, RunStatus::Queued);
        assert!(
            b_last.id > b2,
            "the replay is newer than every run of the event"
        );
        assert_eq!((c.done_since, c.dead_since, c.open_dead_letters), (0, 0, 0));
        assert_eq!(c.last_run, None);

        // A window after every run counts nothing, but the last run stays.
        let later = store
            .flow_run_stats("a", "a", now_ms() + 60_000)
            .await
            .unwrap();
        assert_eq!((later[0].done_since, later[0].dead_since), (0, 0));
        assert_eq!(later[0].last_run.as_ref().unwrap().id, a2);
        assert_eq!(later[0].open_dead_letters, 1);

        // A deleted flow is left out of the statistics.
        store.delete_flow("b", now_ms()).await.unwrap();
        let ids: Vec<String> = store
            .flow_run_stats("a", "z", since)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.flow_id)
            .collect();
        assert_eq!(ids, ["a", "c", "d"]);
    }
);

both!(
    a_deleted_flow_is_hidden_and_retired_and_its_id_can_be_used_again,
    |store: Store| async move {
        store.create_flow("f", "F", YAML, 1).await.unwrap();
        store.create_flow("g", "G", YAML, 1).await.unwrap();
        store
            .publish_flow("f", YAML, "00000000000000aa", 170, "first", 2)
            .await
            .unwrap();
        let before = store.flow_change_counter().await.unwrap();

        let deleted = store.delete_flow("f", 10).await.unwrap();
        assert_eq!(deleted.deleted_at_ms, Some(10));
        assert!(!deleted.enabled);
        assert!(matches!(
            store.delete_flow("f", 11).await,
            Err(Error::NotFound { what: "flow", .. })
        ));
        assert_eq!(store.flow("f").await.unwrap(), None);
        let listed: Vec<String> = store
            .all_flows()
            .await
            .unwrap()
            .into_iter()
            .map(|flow| flow.id)
            .collect();
        assert_eq!(listed, ["g"]);
        assert!(matches!(
            store.save_flow_draft("f", "F", YAML, None, 12).await,
            Err(Error::NotFound { what: "flow", .. })
        ));
        assert!(matches!(
            store.set_flow_enabled("f", true).await,
            Err(Error::NotFound { what: "flow", .. })
        ));
        // Other processes learn of it through the change counter.
        let changed = store.flows_changed_since(before).await.unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].id, "f");
        assert_eq!(changed[0].deleted_at_ms, Some(10));
        // Its versions stay for the runs that name them.
        assert_eq!(
            store
                .flow_version_by_number("f", 170)
                .await
                .unwrap()
                .unwrap()
                .seq,
            1
        );

        // The id is free again: a new draft, nothing current, enabled, older versions kept.
        let revived = store
            .create_flow("f", "F again", "id: f\nname: F again\n", 20)
            .await
            .unwrap();
        assert_eq!(revived.deleted_at_ms, None);
        assert_eq!(revived.name, "F again");
        assert!(revived.enabled);
        assert_eq!(revived.current, None);
        assert!(revived.draft_revision > 1, "no old ETag matches");
        let next = store
            .publish_flow(
                "f",
                "id: f\nname: F again\n",
                "00000000000000bb",
                187,
                "",
                21,
            )
            .await
            .unwrap();
        assert_eq!(next.version.seq, 2, "version numbers go on");
        assert!(matches!(
            store.create_flow("f", "F", YAML, 22).await,
            Err(Error::Conflict { what: "flow", .. })
        ));
    }
);

//! The dead-letter queue: failed runs with reason, step and payload; replay enqueues a fresh run.

use serde_json::json;
use tether_store::{DeadLetterId, Error, RunStatus, Store, now_ms};

use crate::both;

both!(
    a_run_that_failed_for_good_is_dead_lettered_and_replayed_once,
    |store: Store| async move {
        let payload = json!({"contact": {"id": "c1", "email": "not-an-email"}});
        let event_id = store
            .record_event("ghl.webhook", "wh-1", "ContactCreate", &payload, 1_000)
            .await
            .unwrap()
            .id();
        let run_id = store.enqueue_run("sync", 2, event_id).await.unwrap();
        let t = now_ms();
        store.lease_runs("w", 10, t, 60_000).await.unwrap();
        assert!(matches!(
            store
                .fail_run_to_dlq(run_id, "intruder", Some("map"), "x")
                .await,
            Err(Error::LeaseLost { .. })
        ));
        assert!(
            store.dlq_list(10).await.unwrap().is_empty(),
            "a refused move leaves no entry"
        );

        let dead_id = store
            .fail_run_to_dlq(run_id, "w", Some("map"), "email: not an email address")
            .await
            .unwrap();
        let run = store.run(run_id).await.unwrap();
        assert_eq!(run.status, RunStatus::Dead);
        assert!(
            store
                .lease_runs("w", 10, t + 86_400_000, 1_000)
                .await
                .unwrap()
                .is_empty()
        );

        let entry = store.dlq_get(dead_id).await.unwrap();
        assert_eq!((entry.run_id, entry.event_id), (run_id, event_id));
        assert_eq!(
            (entry.flow_id.as_str(), entry.flow_version, entry.attempts),
            ("sync", 2, 1)
        );
        assert_eq!(entry.payload, payload);
        assert_eq!(entry.failed_step.as_deref(), Some("map"));
        assert_eq!(entry.reason, "email: not an email address");
        assert_eq!(
            (entry.event_source.as_str(), entry.event_kind.as_str()),
            ("ghl.webhook", "ContactCreate")
        );
        assert_eq!(entry.replay_run_id, None);
        assert_eq!(store.dlq_list(10).await.unwrap(), [entry]);

        let replay_id = store.dlq_replay(dead_id, Some(3)).await.unwrap();
        assert_ne!(replay_id, run_id);
        assert_eq!(
            store.dlq_replay(dead_id, None).await.unwrap(),
            replay_id,
            "replay is idempotent"
        );
        let replay = store.run(replay_id).await.unwrap();
        assert_eq!(
            (replay.status, replay.flow_version, replay.event_id),
            (RunStatus::Queued, 3, event_id)
        );
        assert_eq!(replay.replay_of, Some(dead_id.0));
        let entry = store.dlq_get(dead_id).await.unwrap();
        assert_eq!(entry.replay_run_id, Some(replay_id));
        assert!(entry.replayed_at_ms.is_some());
        let leased = store.lease_runs("w", 10, now_ms(), 1_000).await.unwrap();
        assert_eq!(
            leased.iter().map(|run| run.id).collect::<Vec<_>>(),
            [replay_id]
        );
    }
);

both!(
    the_list_is_newest_first_and_unknown_entries_are_not_found,
    |store: Store| async move {
        let mut dead = Vec::new();
        for key in ["e1", "e2", "e3"] {
            let event_id = store
                .record_event("poll", key, "contact", &json!({"key": key}), 1)
                .await
                .unwrap()
                .id();
            let run_id = store.enqueue_run("sync", 1, event_id).await.unwrap();
            store.lease_runs("w", 10, now_ms(), 60_000).await.unwrap();
            dead.push(
                store
                    .fail_run_to_dlq(run_id, "w", None, "retries exhausted")
                    .await
                    .unwrap(),
            );
        }
        let listed: Vec<DeadLetterId> = store
            .dlq_list(2)
            .await
            .unwrap()
            .iter()
            .map(|entry| entry.id)
            .collect();
        assert_eq!(listed, [dead[2], dead[1]]);
        assert_eq!(store.dlq_get(dead[0]).await.unwrap().failed_step, None);
        let missing = DeadLetterId(dead[2].0 + 100);
        assert!(matches!(
            store.dlq_get(missing).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            store.dlq_replay(missing, None).await,
            Err(Error::NotFound { .. })
        ));
    }
);

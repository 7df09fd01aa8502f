//! The dead-letter queue: failed runs with reason, step and payload; replay enqueues a fresh run.

use serde_json::json;
use tether_store::{
    DeadLetterFilter, DeadLetterId, DeadLetterState, Error, ReplayPlan, Replayed, RunStatus,
    StepStatus, Store, now_ms,
};

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

        let plan = |version: i64, key: Option<&str>| ReplayPlan {
            flow_version: version,
            keep_finished_steps: false,
            key: key.map(str::to_owned),
        };
        let Replayed::Queued(replay_id) = store
            .dlq_replay(dead_id, &plan(3, Some("k1")))
            .await
            .unwrap()
        else {
            panic!("the first replay queues a run")
        };
        assert_ne!(replay_id, run_id);
        assert_eq!(
            store
                .dlq_replay(dead_id, &plan(3, Some("k1")))
                .await
                .unwrap(),
            Replayed::Again(replay_id),
            "the same request again answers the same run"
        );
        // Before 0011 a second replay with another version answered the first run as if it
        // had replayed, and the other version was silently ignored.
        let again = store.dlq_replay(dead_id, &plan(4, None)).await.unwrap();
        assert!(
            matches!(again, Replayed::Before { run_id, .. } if run_id == replay_id),
            "{again:?}"
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
        let plan = ReplayPlan {
            flow_version: 1,
            keep_finished_steps: false,
            key: None,
        };
        assert!(matches!(
            store.dlq_replay(missing, &plan).await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    a_replay_from_the_failed_step_keeps_the_finished_steps_and_resolving_closes_an_entry,
    |store: Store| async move {
        let mut dead = Vec::new();
        let mut runs = Vec::new();
        for (key, reason) in [
            ("e1", "HTTP 422: email invalid"),
            ("e2", "timeout 50%_done"),
        ] {
            let (_, run_ids) = store
                .record_event_with_runs(
                    "ghl.webhook",
                    key,
                    "ContactCreate",
                    &json!({"id": key, "email": "Ada@Example.com"}),
                    1,
                    &[("sync", 7)],
                )
                .await
                .unwrap();
            let run_id = run_ids[0];
            store.lease_runs("w", 10, now_ms(), 60_000).await.unwrap();
            store
                .journal_step(run_id, "map", 1, StepStatus::Ok, &json!({"a": 1}))
                .await
                .unwrap();
            store
                .journal_step(
                    run_id,
                    "push",
                    1,
                    StepStatus::Failed,
                    &json!({"error": "x"}),
                )
                .await
                .unwrap();
            dead.push(
                store
                    .fail_run_to_dlq(run_id, "w", Some("push"), reason)
                    .await
                    .unwrap(),
            );
            runs.push(run_id);
        }
        let found = |filter: DeadLetterFilter| {
            let store = store.clone();
            async move {
                store
                    .dlq_search(&filter, 10)
                    .await
                    .unwrap()
                    .iter()
                    .map(|entry| entry.id)
                    .collect::<Vec<_>>()
            }
        };
        let reason = |text: &str| DeadLetterFilter {
            reason_contains: Some(text.into()),
            ..DeadLetterFilter::default()
        };
        assert_eq!(found(reason("EMAIL")).await, [dead[0]]);
        assert_eq!(found(reason("50%_")).await, [dead[1]]);
        assert_eq!(
            found(reason("5%")).await,
            Vec::<DeadLetterId>::new(),
            "% is literal"
        );

        let Replayed::Queued(replay) = store
            .dlq_replay(
                dead[0],
                &ReplayPlan {
                    flow_version: 8,
                    keep_finished_steps: true,
                    key: None,
                },
            )
            .await
            .unwrap()
        else {
            panic!("queued")
        };
        let journal = store.journal(replay).await.unwrap();
        assert_eq!(
            journal
                .iter()
                .map(|step| (step.step_id.as_str(), step.status))
                .collect::<Vec<_>>(),
            [("map", StepStatus::Ok)],
            "the finished step is kept, the failed one is not"
        );
        let by_email = store
            .search_runs(
                &tether_store::RunFilter {
                    record: Some("ada@example.COM".into()),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            by_email.iter().map(|run| run.id).collect::<Vec<_>>(),
            [replay, runs[1], runs[0]],
            "the replay is about the same record"
        );

        let resolved = store
            .dlq_resolve(dead[1], "customer deleted")
            .await
            .unwrap();
        assert_eq!(
            resolved.resolution_note.as_deref(),
            Some("customer deleted")
        );
        assert!(resolved.resolved_at_ms.is_some());
        let replay_resolved = store
            .dlq_replay(
                dead[1],
                &ReplayPlan {
                    flow_version: 7,
                    keep_finished_steps: false,
                    key: None,
                },
            )
            .await
            .unwrap();
        assert!(matches!(replay_resolved, Replayed::Resolved { .. }));
        let state = |state| DeadLetterFilter {
            state: Some(state),
            ..DeadLetterFilter::default()
        };
        assert_eq!(
            found(state(DeadLetterState::Open)).await,
            Vec::<DeadLetterId>::new()
        );
        assert_eq!(found(state(DeadLetterState::Replayed)).await, [dead[0]]);
        assert_eq!(found(state(DeadLetterState::Resolved)).await, [dead[1]]);
        assert_eq!(
            found(DeadLetterFilter {
                before: Some(dead[1]),
                ..DeadLetterFilter::default()
            })
            .await,
            [dead[0]]
        );
    }
);

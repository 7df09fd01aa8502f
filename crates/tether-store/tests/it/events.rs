//! Events: stored once per `(source, key)`, even when deliveries race.

use std::sync::Arc;

use serde_json::json;
use tether_store::{Error, EventId, EventInsert, Store};

use crate::both;

both!(
    a_redelivered_event_is_a_duplicate_of_the_first,
    |store: Store| async move {
        let payload = json!({"type": "ContactCreate", "id": "c1", "tags": ["vip"]});
        let first = store
            .record_event("ghl.webhook", "wh-1", "ContactCreate", &payload, 1_000)
            .await
            .unwrap();
        let EventInsert::New(id) = first else {
            panic!("the first delivery is new: {first:?}");
        };
        let again = store
            .record_event(
                "ghl.webhook",
                "wh-1",
                "ContactCreate",
                &json!({"other": 1}),
                2_000,
            )
            .await
            .unwrap();
        assert_eq!(again, EventInsert::Duplicate(id));
        let other_source = store
            .record_event("ghl.poll.contacts", "wh-1", "contact", &payload, 3_000)
            .await
            .unwrap();
        assert!(matches!(other_source, EventInsert::New(other) if other != id));

        let stored = store.event(id).await.unwrap();
        assert_eq!(
            stored.payload, payload,
            "the first delivery's payload stands"
        );
        assert_eq!(
            (
                stored.source.as_str(),
                stored.event_key.as_str(),
                stored.kind.as_str()
            ),
            ("ghl.webhook", "wh-1", "ContactCreate")
        );
        assert_eq!(stored.received_at_ms, 1_000);
        assert!(matches!(
            store.event(EventId(id.0 + 1_000)).await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    of_concurrent_deliveries_exactly_one_is_new,
    |store: Store| async move {
        let store = Arc::new(store);
        let mut deliveries = tokio::task::JoinSet::new();
        for delivery in 0..20 {
            let store = store.clone();
            deliveries.spawn(async move {
                store
                    .record_event(
                        "ghl.webhook",
                        "wh-race",
                        "ContactUpdate",
                        &json!({"delivery": delivery}),
                        delivery,
                    )
                    .await
                    .unwrap()
            });
        }
        let mut outcomes = Vec::new();
        while let Some(outcome) = deliveries.join_next().await {
            outcomes.push(outcome.unwrap());
        }
        let n_new = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, EventInsert::New(_)))
            .count();
        assert_eq!(n_new, 1, "{outcomes:?}");
        let id = outcomes[0].id();
        assert!(outcomes.iter().all(|outcome| outcome.id() == id));
    }
);

both!(
    an_event_and_its_runs_are_recorded_together_once,
    |store: Store| async move {
        let store = Arc::new(store);
        let mut deliveries = tokio::task::JoinSet::new();
        for delivery in 0..10 {
            let store = store.clone();
            deliveries.spawn(async move {
                store
                    .record_event_with_runs(
                        "ghl.webhook",
                        "wh-1",
                        "NoteCreate",
                        &json!({"delivery": delivery}),
                        delivery,
                        &[("notes", 2), ("contacts", 5)],
                    )
                    .await
                    .unwrap()
            });
        }
        let mut outcomes = Vec::new();
        while let Some(outcome) = deliveries.join_next().await {
            outcomes.push(outcome.unwrap());
        }
        assert_eq!(
            outcomes
                .iter()
                .filter(|(event, _)| matches!(event, EventInsert::New(_)))
                .count(),
            1
        );
        let (event, run_ids) = outcomes[0].clone();
        assert!(outcomes.iter().all(|outcome| outcome.1 == run_ids));
        let counts = store.run_counts().await.unwrap();
        assert_eq!((counts.queued, counts.pending()), (2, 2));
        let notes = store.run(run_ids[0]).await.unwrap();
        assert_eq!(
            (notes.flow_id.as_str(), notes.flow_version, notes.event_id),
            ("notes", 2, event.id())
        );
    }
);

both!(
    a_redelivery_enqueues_runs_an_earlier_intake_missed,
    |store: Store| async move {
        let first = store
            .record_event("ghl.webhook", "wh-1", "ContactCreate", &json!({}), 1)
            .await
            .unwrap();
        assert_eq!(store.run_counts().await.unwrap().pending(), 0);
        let (again, run_ids) = store
            .record_event_with_runs(
                "ghl.webhook",
                "wh-1",
                "ContactCreate",
                &json!({}),
                2,
                &[("sync", 1)],
            )
            .await
            .unwrap();
        assert_eq!(again, EventInsert::Duplicate(first.id()));
        assert_eq!(run_ids.len(), 1);
        assert_eq!(store.run(run_ids[0]).await.unwrap().event_id, first.id());
    }
);

both!(
    events_recorded_together_are_new_once_and_keep_their_runs,
    |store: Store| async move {
        use tether_store::NewEvent;
        let event = |key: &str, flows: &[&str]| NewEvent {
            source: "ghl.sync".into(),
            event_key: key.into(),
            kind: "ContactCreate".into(),
            payload: json!({"id": key, "email": format!("{key}@example.com")}),
            received_at_ms: 1_000,
            flows: flows.iter().map(|flow| ((*flow).to_owned(), 7)).collect(),
        };
        // One batch: a key given twice, and an event starting two flows.
        let first = store
            .record_events(vec![
                event("c1", &["a"]),
                event("c2", &["a", "b"]),
                event("c1", &["a"]),
                event("c3", &[]),
            ])
            .await
            .unwrap();
        assert_eq!(first.len(), 4);
        assert!(matches!(first[0].0, EventInsert::New(_)));
        assert!(matches!(first[1].0, EventInsert::New(_)));
        assert_eq!(first[2].0, EventInsert::Duplicate(first[0].0.id()));
        assert_eq!(first[2].1, first[0].1, "the same key's run is the same run");
        assert_eq!(first[1].1.len(), 2);
        assert_ne!(first[1].1[0], first[1].1[1]);
        assert!(first[3].1.is_empty());
        // A redelivery in a later batch finds the event and its runs, and starts a run for a
        // flow added since.
        let again = store
            .record_events(vec![event("c4", &["a"]), event("c2", &["a", "b", "c"])])
            .await
            .unwrap();
        assert!(matches!(again[0].0, EventInsert::New(_)));
        assert_eq!(again[1].0, EventInsert::Duplicate(first[1].0.id()));
        assert_eq!(&again[1].1[..2], &first[1].1[..]);
        let counts = store.run_counts().await.unwrap();
        assert_eq!(counts.queued, 5, "a, a+b, c for c2, a for c4: {counts:?}");
        let leased = store.lease_runs("w", 10, 2_000, 30_000).await.unwrap();
        let of_c2: Vec<_> = leased
            .iter()
            .filter(|run| run.event_id == first[1].0.id())
            .map(|run| (run.flow_id.as_str(), run.flow_version))
            .collect();
        assert_eq!(of_c2, [("a", 7), ("b", 7), ("c", 7)]);
    }
);

both!(
    concurrent_intake_commits_every_event_with_its_run,
    |store: Store| async move {
        // Many callers at once share commits; each is answered with its own event and run.
        let store = Arc::new(store);
        let mut callers = tokio::task::JoinSet::new();
        for caller in 0..200 {
            let store = store.clone();
            callers.spawn(async move {
                let key = format!("wh-{}", caller % 150);
                let (inserted, runs) = store
                    .record_event_with_runs(
                        "ghl.webhook",
                        &key,
                        "ContactCreate",
                        &json!({"id": key}),
                        caller,
                        &[("flow", 1)],
                    )
                    .await
                    .unwrap();
                (key, inserted, runs)
            });
        }
        let mut by_key = std::collections::HashMap::<String, Vec<_>>::new();
        while let Some(joined) = callers.join_next().await {
            let (key, inserted, runs) = joined.unwrap();
            by_key.entry(key).or_default().push((inserted, runs));
        }
        assert_eq!(by_key.len(), 150);
        for (key, outcomes) in &by_key {
            let new = outcomes
                .iter()
                .filter(|(inserted, _)| matches!(inserted, EventInsert::New(_)))
                .count();
            assert_eq!(new, 1, "{key}: {outcomes:?}");
            assert!(
                outcomes
                    .iter()
                    .all(|(inserted, runs)| inserted.id() == outcomes[0].0.id()
                        && runs == &outcomes[0].1),
                "{key}: {outcomes:?}"
            );
        }
        assert_eq!(store.run_counts().await.unwrap().queued, 150);
    }
);

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

//! Leases: exclusive while held, taken over once expired, given back by their owner only.

use std::sync::Arc;

use tether_store::Store;

use crate::both;

both!(
    a_lease_is_exclusive_until_it_expires,
    |store: Store| async move {
        assert!(
            store
                .try_lease("refresh:c1", "worker-a", 1_000, 2_000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .try_lease("refresh:c1", "worker-b", 1_500, 2_500)
                .await
                .unwrap()
        );
        assert!(
            store
                .try_lease("refresh:c1", "worker-a", 1_500, 2_500)
                .await
                .unwrap(),
            "the owner renews"
        );
        assert!(
            store
                .try_lease("refresh:c2", "worker-b", 1_500, 2_500)
                .await
                .unwrap(),
            "other keys are free"
        );
        assert!(
            store
                .try_lease("refresh:c1", "worker-b", 2_600, 3_600)
                .await
                .unwrap(),
            "expired leases are taken over"
        );
        store.release_lease("refresh:c1", "worker-a").await.unwrap();
        assert!(
            !store
                .try_lease("refresh:c1", "worker-a", 2_700, 3_700)
                .await
                .unwrap(),
            "a former owner cannot release it"
        );
        store.release_lease("refresh:c1", "worker-b").await.unwrap();
        assert!(
            store
                .try_lease("refresh:c1", "worker-a", 2_800, 3_800)
                .await
                .unwrap()
        );
    }
);

both!(
    of_many_concurrent_takers_exactly_one_wins,
    |store: Store| async move {
        let store = Arc::new(store);
        let mut takers = tokio::task::JoinSet::new();
        for worker in 0..20 {
            let store = store.clone();
            takers.spawn(async move {
                store
                    .try_lease("schedule:tick", &format!("worker-{worker}"), 10, 10_000)
                    .await
                    .unwrap()
            });
        }
        let mut n_winners = 0;
        while let Some(won) = takers.join_next().await {
            n_winners += usize::from(won.unwrap());
        }
        assert_eq!(n_winners, 1);
    }
);

both!(
    a_heartbeat_extends_what_its_worker_holds_and_nothing_else,
    |store: Store| async move {
        for (key, owner) in [
            ("link:a", "worker_1/run-7"),
            ("match:b", "worker_1"),
            ("link:c", "worker_10/run-8"),
            ("link:d", "worker-1/run-9"),
        ] {
            assert!(store.try_lease(key, owner, 1_000, 2_000).await.unwrap());
        }
        let renewed = store.renew_leases("worker_1", 60_000).await.unwrap();
        assert_eq!(renewed, 2);
        // Renewed ones stay held past their first expiry; the others (another worker whose name
        // merely starts alike, or differs only where `_` would be a LIKE wildcard) expired.
        for (key, held) in [
            ("link:a", true),
            ("match:b", true),
            ("link:c", false),
            ("link:d", false),
        ] {
            let taken = store
                .try_lease(key, "worker-2", 30_000, 90_000)
                .await
                .unwrap();
            assert_eq!(taken, !held, "{key}");
        }
    }
);

both!(
    leases_asked_for_together_are_each_taken_or_not_on_its_own,
    |store: Store| async move {
        assert!(
            store
                .try_lease("match:busy", "run-b", 1_000, 5_000)
                .await
                .unwrap()
        );
        let held = store
            .try_leases(
                &["link:free", "match:busy", "link:free-too"],
                "run-a",
                2_000,
                6_000,
            )
            .await
            .unwrap();
        assert_eq!(held, [true, false, true], "only the busy key is refused");
        assert!(
            !store
                .try_lease("link:free", "run-b", 2_100, 6_100)
                .await
                .unwrap(),
            "what was taken together is held"
        );
        // Many callers at once share batches; every key goes to exactly one of them, even when
        // one batch asks for a key twice.
        let store = Arc::new(store);
        let mut takers = tokio::task::JoinSet::new();
        for worker in 0..30 {
            let store = store.clone();
            takers.spawn(async move {
                let keys = [
                    format!("record:{}", worker % 10),
                    "record:shared".to_owned(),
                ];
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let held = store
                    .try_leases(&keys, &format!("run-{worker}"), 3_000, 9_000)
                    .await
                    .unwrap();
                (worker, held)
            });
        }
        let mut winners = std::collections::HashMap::new();
        while let Some(joined) = takers.join_next().await {
            let (worker, held) = joined.unwrap();
            for (key, held) in [
                (format!("record:{}", worker % 10), held[0]),
                ("shared".into(), held[1]),
            ] {
                if held {
                    assert!(
                        winners.insert(key.clone(), worker).is_none(),
                        "{key} taken twice"
                    );
                }
            }
        }
        assert_eq!(
            winners.len(),
            11,
            "every key has its one holder: {winners:?}"
        );
    }
);

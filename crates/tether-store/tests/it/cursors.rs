//! Poll cursors: absent until first set, moved only by compare-and-set.

use serde_json::json;
use tether_store::Store;

use crate::both;

both!(
    a_cursor_moves_only_from_the_expected_value,
    |store: Store| async move {
        assert_eq!(store.get_cursor("f1", "poll").await.unwrap(), None);
        let first = json!({"updated_at": "2026-01-01T00:00:00Z", "id": "c-1"});
        assert!(
            !store
                .set_cursor("f1", "poll", Some(&first), &first)
                .await
                .unwrap(),
            "nothing stored yet, so an expected value does not match"
        );
        assert!(store.set_cursor("f1", "poll", None, &first).await.unwrap());
        assert!(
            !store
                .set_cursor("f1", "poll", None, &json!("other"))
                .await
                .unwrap(),
            "a second first writer loses"
        );
        let read = store.get_cursor("f1", "poll").await.unwrap().unwrap();
        assert_eq!(read, first);

        let second = json!({"updated_at": "2026-01-02T00:00:00Z", "id": "c-9"});
        assert!(
            store
                .set_cursor("f1", "poll", Some(&read), &second)
                .await
                .unwrap()
        );
        // A slow poller that started from `first` would move the cursor back: refused.
        let back = json!({"updated_at": "2026-01-01T12:00:00Z", "id": "c-5"});
        assert!(
            !store
                .set_cursor("f1", "poll", Some(&first), &back)
                .await
                .unwrap()
        );
        assert_eq!(store.get_cursor("f1", "poll").await.unwrap(), Some(second));
        // Cursors are per flow and per trigger key.
        assert_eq!(store.get_cursor("f2", "poll").await.unwrap(), None);
        assert_eq!(store.get_cursor("f1", "other").await.unwrap(), None);
    }
);

both!(
    of_concurrent_advances_from_one_cursor_exactly_one_wins,
    |store: Store| async move {
        let start = json!({"n": 0});
        assert!(store.set_cursor("f", "k", None, &start).await.unwrap());
        let mut tasks = Vec::new();
        for n in 1..=8 {
            let store = store.clone();
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .set_cursor("f", "k", Some(&start), &json!({"n": n}))
                    .await
                    .unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            if task.await.unwrap() {
                wins += 1;
            }
        }
        assert_eq!(wins, 1);
        let stored = store.get_cursor("f", "k").await.unwrap().unwrap();
        assert_ne!(stored, start);
    }
);

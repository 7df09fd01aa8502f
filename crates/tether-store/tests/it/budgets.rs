//! Shared rate-limit budgets: who spends one is counted, a newcomer among others is told so, a
//! process that stopped renewing no longer counts, and two processes starting at once are counted
//! one after the other.

use tether_store::Store;
use tether_store::budgets::{BudgetCount, BudgetToCount};

use crate::both;

fn budget(scope: &str, counts_since_ms: i64) -> Vec<BudgetToCount> {
    vec![BudgetToCount {
        scope: scope.into(),
        counts_since_ms,
    }]
}

fn count(processes: u32, rank: u32, joined_others: bool) -> Vec<BudgetCount> {
    vec![BudgetCount {
        processes,
        rank,
        joined_others,
    }]
}

both!(
    processes_spending_a_budget_are_counted_while_they_renew,
    |store: Store| async move {
        let spenders = |instance: &'static str, now: i64| {
            let store = store.clone();
            async move {
                store
                    .count_budget_spenders(instance, now, &budget("connection:c1", now - 15_000))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(spenders("a", 100_000).await, count(1, 0, false), "alone");
        assert_eq!(spenders("b", 101_000).await, count(2, 1, true), "b joins a");
        assert_eq!(spenders("a", 102_000).await, count(2, 0, false), "a sees b");
        assert_eq!(
            spenders("b", 103_000).await,
            count(2, 1, false),
            "b is no newcomer now"
        );
        // a stops renewing: 15 s after its last renewal it no longer counts.
        assert_eq!(spenders("b", 117_001).await, count(1, 0, false));
        // When it spends again it is a newcomer among others.
        assert_eq!(spenders("a", 118_000).await, count(2, 0, true));
        // Other budgets are counted apart, several in one call, answered in the order asked.
        let both = store
            .count_budget_spenders(
                "a",
                119_000,
                &[
                    BudgetToCount {
                        scope: "connection:c2".into(),
                        counts_since_ms: 104_000,
                    },
                    BudgetToCount {
                        scope: "connection:c1".into(),
                        counts_since_ms: 104_000,
                    },
                ],
            )
            .await
            .unwrap();
        assert_eq!(both[0], count(1, 0, false)[0]);
        assert_eq!(both[1], count(2, 0, false)[0]);
    }
);

both!(
    two_processes_starting_at_once_never_both_count_alone,
    |store: Store| async move {
        for round in 0..20 {
            let scope = format!("connection:race-{round}");
            let start = |instance: &'static str| {
                let (store, scope) = (store.clone(), scope.clone());
                tokio::spawn(async move {
                    store
                        .count_budget_spenders(instance, 50_000, &budget(&scope, 40_000))
                        .await
                        .unwrap()[0]
                })
            };
            let (a, b) = (start("a"), start("b"));
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            let (first, second) = if a.processes == 1 { (a, b) } else { (b, a) };
            assert_eq!(
                (
                    first.processes,
                    first.joined_others,
                    second.processes,
                    second.joined_others
                ),
                (1, false, 2, true),
                "round {round}: the second to count sees the first and waits"
            );
        }
    }
);

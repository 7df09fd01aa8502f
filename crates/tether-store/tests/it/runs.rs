//! Runs: one per flow per event, each due run leased to exactly one worker, expired leases taken
//! over, finished runs left alone; and the step journal a retried run resumes from.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use tether_store::{
    Error, EventId, Link, NewStep, RunCounts, RunStatus, StepCommit, StepStatus, Store, now_ms,
};

use crate::both;

async fn event(store: &Store, key: &str) -> EventId {
    store
        .record_event("test", key, "contact", &json!({"key": key}), now_ms())
        .await
        .unwrap()
        .id()
}

both!(a_flow_runs_once_per_event, |store: Store| async move {
    let event_id = event(&store, "e1").await;
    let run_id = store.enqueue_run("sync", 3, event_id).await.unwrap();
    assert_eq!(
        store.enqueue_run("sync", 3, event_id).await.unwrap(),
        run_id
    );
    let other_flow = store.enqueue_run("notes", 1, event_id).await.unwrap();
    assert_ne!(other_flow, run_id);
    let run = store.run(run_id).await.unwrap();
    assert_eq!(
        (run.flow_id.as_str(), run.flow_version, run.event_id),
        ("sync", 3, event_id)
    );
    assert_eq!(
        (run.status, run.attempts, run.replay_of),
        (RunStatus::Queued, 0, None)
    );
});

both!(
    concurrent_enqueues_of_one_run_agree,
    |store: Store| async move {
        let event_id = event(&store, "e1").await;
        let store = Arc::new(store);
        let mut enqueuers = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let store = store.clone();
            enqueuers.spawn(async move { store.enqueue_run("sync", 1, event_id).await.unwrap() });
        }
        let mut run_ids = HashSet::new();
        while let Some(run_id) = enqueuers.join_next().await {
            run_ids.insert(run_id.unwrap());
        }
        assert_eq!(run_ids.len(), 1);
        assert_eq!(store.run_counts().await.unwrap().pending(), 1);
    }
);

both!(
    concurrent_workers_lease_each_run_exactly_once,
    |store: Store| async move {
        let event_id = event(&store, "e1").await;
        let mut enqueued = HashSet::new();
        for flow in 0..200 {
            enqueued.insert(
                store
                    .enqueue_run(&format!("flow-{flow}"), 1, event_id)
                    .await
                    .unwrap(),
            );
        }
        let store = Arc::new(store);
        let now = now_ms();
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..4 {
            let store = store.clone();
            workers.spawn(async move {
                let name = format!("worker-{worker}");
                let mut leased = Vec::new();
                loop {
                    let batch = store.lease_runs(&name, 7, now, 60_000).await.unwrap();
                    if batch.is_empty() {
                        return leased;
                    }
                    for run in batch {
                        assert_eq!(run.lease_owner.as_deref(), Some(name.as_str()));
                        assert_eq!((run.status, run.attempts), (RunStatus::Running, 1));
                        // Completing half of them mixes writes of another kind into the race.
                        if run.id.0 % 2 == 0 {
                            store.complete_run(run.id, &name).await.unwrap();
                        }
                        leased.push(run.id);
                    }
                }
            });
        }
        let mut all = Vec::new();
        while let Some(leased) = workers.join_next().await {
            all.extend(leased.unwrap());
        }
        assert_eq!(all.len(), 200, "no run leased twice, none left out");
        assert_eq!(all.into_iter().collect::<HashSet<_>>(), enqueued);
        assert_eq!(
            store.run_counts().await.unwrap(),
            RunCounts {
                running: 100,
                done: 100,
                ..RunCounts::default()
            }
        );
    }
);

both!(an_expired_lease_is_taken_over, |store: Store| async move {
    let run_id = store
        .enqueue_run("sync", 1, event(&store, "e1").await)
        .await
        .unwrap();
    let t = now_ms();
    let leased = store.lease_runs("a", 10, t, 1_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].lease_expires_at_ms, Some(t + 1_000));
    assert!(
        store
            .lease_runs("b", 10, t + 500, 1_000)
            .await
            .unwrap()
            .is_empty()
    );
    store.extend_lease(run_id, "a", t + 2_000).await.unwrap();
    assert!(
        store
            .lease_runs("b", 10, t + 1_500, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "an extended lease holds"
    );
    let taken = store.lease_runs("b", 10, t + 2_000, 1_000).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempts), (run_id, 2));
    assert_eq!(taken[0].lease_owner.as_deref(), Some("b"));
    assert!(matches!(
        store.complete_run(run_id, "a").await,
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        store.retry_run(run_id, "a", t, "late").await,
        Err(Error::LeaseLost { .. })
    ));
    store.complete_run(run_id, "b").await.unwrap();
});

both!(
    retries_wait_and_finished_runs_are_never_leased_again,
    |store: Store| async move {
        let run_id = store
            .enqueue_run("sync", 1, event(&store, "e1").await)
            .await
            .unwrap();
        let t = now_ms();
        store.lease_runs("a", 10, t, 1_000).await.unwrap();
        store
            .retry_run(run_id, "a", t + 5_000, "503 from details-flowers")
            .await
            .unwrap();
        let waiting = store.run(run_id).await.unwrap();
        assert_eq!(waiting.status, RunStatus::Retry);
        assert_eq!(
            waiting.last_error.as_deref(),
            Some("503 from details-flowers")
        );
        assert_eq!(waiting.lease_owner, None);
        assert!(
            store
                .lease_runs("a", 10, t + 4_999, 1_000)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store.lease_runs("a", 10, t + 5_000, 1_000).await.unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 2));
        store.complete_run(run_id, "a").await.unwrap();
        assert_eq!(store.run(run_id).await.unwrap().status, RunStatus::Done);
        // Far in the future, past every lease and retry time: nothing is due.
        assert!(
            store
                .lease_runs("b", 10, t + 86_400_000, 1_000)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store.complete_run(run_id, "a").await,
            Err(Error::LeaseLost { .. })
        ));
    }
);

both!(
    a_finished_step_is_journaled_once,
    |store: Store| async move {
        let run_id = store
            .enqueue_run("sync", 1, event(&store, "e1").await)
            .await
            .unwrap();
        store
            .journal_step(run_id, "filter", 1, StepStatus::Ok, &json!(true))
            .await
            .unwrap();
        store
            .journal_step(
                run_id,
                "create",
                1,
                StepStatus::Failed,
                &json!({"error": "503"}),
            )
            .await
            .unwrap();
        let created = store
            .journal_step(
                run_id,
                "create",
                2,
                StepStatus::Ok,
                &json!({"id": "cust-1"}),
            )
            .await
            .unwrap();
        assert_eq!(created.output, json!({"id": "cust-1"}));
        // A worker that lost its lease finishes the same step: the first result stands.
        let late = store
            .journal_step(
                run_id,
                "create",
                2,
                StepStatus::Ok,
                &json!({"id": "cust-2"}),
            )
            .await
            .unwrap();
        assert_eq!(late.output, json!({"id": "cust-1"}));
        let journal = store.journal(run_id).await.unwrap();
        let summary: Vec<(&str, i64, StepStatus)> = journal
            .iter()
            .map(|step| (step.step_id.as_str(), step.attempt, step.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("filter", 1, StepStatus::Ok),
                ("create", 1, StepStatus::Failed),
                ("create", 2, StepStatus::Ok),
            ]
        );
        let finished: Vec<&str> = journal
            .iter()
            .filter(|step| step.status.is_finished())
            .map(|step| step.step_id.as_str())
            .collect();
        assert_eq!(finished, ["filter", "create"], "what a retry skips");
    }
);

both!(
    recent_runs_come_with_their_own_steps,
    |store: Store| async move {
        let event_id = event(&store, "e1").await;
        let mut run_ids = Vec::new();
        for flow in ["a", "b", "c"] {
            run_ids.push(store.enqueue_run(flow, 1, event_id).await.unwrap());
        }
        for (position, run_id) in run_ids.iter().enumerate() {
            for step in 0..=position {
                store
                    .journal_step(
                        *run_id,
                        &format!("step-{step}"),
                        1,
                        StepStatus::Ok,
                        &json!(step),
                    )
                    .await
                    .unwrap();
            }
        }
        let t = now_ms();
        let leased = store.lease_runs("w", 1, t, 1_000).await.unwrap();
        store.complete_run(leased[0].id, "w").await.unwrap();

        let recent = store.runs_recent(2).await.unwrap();
        let shape: Vec<(&str, usize)> = recent
            .iter()
            .map(|summary| (summary.run.flow_id.as_str(), summary.steps.len()))
            .collect();
        assert_eq!(shape, [("c", 3), ("b", 2)], "newest first, limited");
        assert!(recent[0].steps.iter().all(|step| step.run_id == run_ids[2]));
        let all = store.runs_recent(10).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            (all[2].run.id, all[2].run.status),
            (run_ids[0], RunStatus::Done)
        );
        assert_eq!(all[2].steps[0].output, json!(0));
    }
);

both!(
    a_runs_steps_link_leases_and_completion_commit_together,
    |store: Store| async move {
        let run_id = store
            .enqueue_run("sync", 1, event(&store, "e1").await)
            .await
            .unwrap();
        let t = now_ms();
        store.lease_runs("w", 1, t, 30_000).await.unwrap();
        let owner = format!("w/run-{run_id}");
        for key in [
            "link:sync/upsert:ghl:contact:c1",
            "match:df.customer.email=a@b.c",
        ] {
            assert!(store.try_lease(key, &owner, t, t + 30_000).await.unwrap());
        }
        let link = Link {
            flow_id: "sync/upsert".into(),
            source_app: "ghl".into(),
            source_type: "contact".into(),
            source_id: "c1".into(),
            target_app: "details_flowers".into(),
            target_type: "customer".into(),
            target_id: "7".into(),
            content_hash: "h1".into(),
            source_version: Some(5),
            updated_at_ms: t,
            sync_state: None,
        };
        let steps = [
            new_step("has_email", StepStatus::Ok, json!({"passed": true})),
            new_step("customer", StepStatus::Ok, json!({"email": "a@b.c"})),
            NewStep {
                input: Some(json!({"email": "a@b.c"})),
                duration_ms: Some(4),
                ..new_step("upsert", StepStatus::Ok, json!({"id": 7}))
            },
        ];
        let release = [
            "link:sync/upsert:ghl:contact:c1".to_owned(),
            "match:df.customer.email=a@b.c".to_owned(),
        ];
        let committed = store
            .commit_steps(
                run_id,
                1,
                StepCommit {
                    steps: steps.to_vec(),
                    link: Some((link.clone(), Some("upsert".into()))),
                    release: release.to_vec(),
                    lease_owner: owner.clone(),
                    complete: Some("w".into()),
                },
            )
            .await
            .unwrap();
        assert!(!committed.lease_lost);
        let outputs: Vec<&serde_json::Value> =
            committed.steps.iter().map(|step| &step.output).collect();
        assert_eq!(
            outputs,
            [
                &json!({"passed": true}),
                &json!({"email": "a@b.c"}),
                &json!({"id": 7})
            ]
        );
        let journal = store.journal(run_id).await.unwrap();
        let shape: Vec<(&str, i64, StepStatus)> = journal
            .iter()
            .map(|step| (step.step_id.as_str(), step.attempt, step.status))
            .collect();
        assert_eq!(
            shape,
            [
                ("has_email", 1, StepStatus::Ok),
                ("customer", 1, StepStatus::Ok),
                ("upsert", 1, StepStatus::Ok),
            ],
            "in step order"
        );
        assert_eq!(
            (journal[2].input.clone(), journal[2].duration_ms),
            (Some(json!({"email": "a@b.c"})), Some(4))
        );
        assert_eq!(
            store
                .get_link("sync/upsert", "ghl", "contact", "c1")
                .await
                .unwrap(),
            Some(link.clone())
        );
        let written = store.run_links(run_id).await.unwrap();
        assert_eq!(
            written
                .iter()
                .map(|row| (row.step_id.as_str(), row.target_id.as_str()))
                .collect::<Vec<_>>(),
            [("upsert", "7")]
        );
        // The leases were given back: another run takes them at once.
        for key in &release {
            assert!(
                store
                    .try_lease(key, "x/run-9", t, t + 30_000)
                    .await
                    .unwrap()
            );
        }
        assert_eq!(store.run(run_id).await.unwrap().status, RunStatus::Done);

        // A worker that lost the run still leaves its rows, but hears it lost the run; a finished
        // step journaled before stands.
        let late = store
            .commit_steps(
                run_id,
                2,
                StepCommit {
                    steps: vec![
                        new_step("upsert", StepStatus::Ok, json!({"id": 8})),
                        new_step("after", StepStatus::Ok, json!(1)),
                    ],
                    complete: Some("w".into()),
                    ..StepCommit::default()
                },
            )
            .await
            .unwrap();
        assert!(late.lease_lost);
        assert_eq!(
            (late.steps[0].output.clone(), late.steps[0].attempt),
            (json!({"id": 7}), 1)
        );
        assert_eq!(late.steps[1].output, json!(1));
        assert_eq!(store.journal(run_id).await.unwrap().len(), 4);
        // One row alone commits too.
        let one = store
            .commit_steps(
                run_id,
                2,
                StepCommit {
                    steps: vec![new_step(
                        "upsert",
                        StepStatus::Failed,
                        json!({"error": "x"}),
                    )],
                    ..StepCommit::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(one.steps[0].status, StepStatus::Failed);
        assert_eq!(store.journal(run_id).await.unwrap().len(), 5);
    }
);

both!(
    step_commits_of_many_runs_at_once_each_hear_their_own_outcome,
    |store: Store| async move {
        let t = now_ms();
        let mut runs = Vec::new();
        for n in 0..40 {
            let event_id = event(&store, &format!("many-{n}")).await;
            runs.push(store.enqueue_run("sync", 1, event_id).await.unwrap());
        }
        assert_eq!(
            store.lease_runs("w", 40, t, 60_000).await.unwrap().len(),
            40
        );
        for run_id in &runs {
            let owner = format!("w/run-{run_id}");
            assert!(
                store
                    .try_lease(&format!("link:{run_id}"), &owner, t, t + 30_000)
                    .await
                    .unwrap()
            );
        }
        // Someone else holds the key run 9 names: giving back is only for its holder.
        assert!(
            store
                .try_lease("shared-key", "x/run-1", t, t + 30_000)
                .await
                .unwrap()
        );
        let mut commits = tokio::task::JoinSet::new();
        for (n, run_id) in runs.iter().copied().enumerate() {
            let store = store.clone();
            commits.spawn(async move {
                let mut release = vec![format!("link:{run_id}")];
                if n == 9 {
                    release.push("shared-key".into());
                }
                let committed = store
                    .commit_steps(
                        run_id,
                        1,
                        StepCommit {
                            steps: vec![
                                new_step("filter", StepStatus::Ok, json!({"n": n})),
                                new_step("action", StepStatus::Ok, json!({"id": n})),
                            ],
                            // Every other run keeps a link its action wrote.
                            link: (n % 2 == 0).then(|| (many_link(n), Some("action".to_owned()))),
                            release,
                            lease_owner: format!("w/run-{run_id}"),
                            // Run 7's completion names a worker that does not hold it.
                            complete: Some(if n == 7 { "other" } else { "w" }.into()),
                        },
                    )
                    .await
                    .unwrap();
                (n, run_id, committed)
            });
        }
        while let Some(joined) = commits.join_next().await {
            let (n, run_id, committed) = joined.unwrap();
            assert_eq!(committed.lease_lost, n == 7, "run {n}");
            let outputs: Vec<(&str, &serde_json::Value, RunIdOf)> = committed
                .steps
                .iter()
                .map(|step| {
                    (
                        step.step_id.as_str(),
                        &step.output,
                        RunIdOf(step.run_id == run_id),
                    )
                })
                .collect();
            assert_eq!(
                outputs,
                [
                    ("filter", &json!({"n": n}), RunIdOf(true)),
                    ("action", &json!({"id": n}), RunIdOf(true))
                ],
                "run {n} hears its own rows"
            );
            let journal = store.journal(run_id).await.unwrap();
            assert_eq!(journal.len(), 2, "run {n}");
            assert_eq!(
                journal.iter().map(|step| step.row).collect::<Vec<_>>(),
                committed
                    .steps
                    .iter()
                    .map(|step| step.row)
                    .collect::<Vec<_>>()
            );
            let links: Vec<String> = store
                .run_links(run_id)
                .await
                .unwrap()
                .iter()
                .map(|row| format!("{} {}", row.step_id, row.target_id))
                .collect();
            if n % 2 == 0 {
                assert_eq!(links, [format!("action d{n}")], "run {n}");
                assert_eq!(
                    store
                        .get_link("sync", "ghl", "contact", &format!("c{n}"))
                        .await
                        .unwrap(),
                    Some(many_link(n))
                );
            } else {
                assert!(links.is_empty(), "run {n}");
            }
            let status = store.run(run_id).await.unwrap().status;
            assert_eq!(
                status,
                if n == 7 {
                    RunStatus::Running
                } else {
                    RunStatus::Done
                },
                "run {n}"
            );
            assert!(
                store
                    .try_lease(&format!("link:{run_id}"), "y/run-1", t, t + 30_000)
                    .await
                    .unwrap(),
                "run {n} gave its lease back"
            );
        }
        assert!(
            !store
                .try_lease("shared-key", "y/run-1", t, t + 30_000)
                .await
                .unwrap(),
            "a lease another holds stays held"
        );
    }
);

/// The link run `n` of the many keeps.
fn many_link(n: usize) -> Link {
    Link {
        flow_id: "sync".into(),
        source_app: "ghl".into(),
        source_type: "contact".into(),
        source_id: format!("c{n}"),
        target_app: "details_flowers".into(),
        target_type: "customer".into(),
        target_id: format!("d{n}"),
        content_hash: format!("h{n}"),
        source_version: Some(1),
        updated_at_ms: 1_000,
        sync_state: None,
    }
}

/// Whether a row is of the run expected (compared as a whole with the rest of a row).
#[derive(Debug, PartialEq)]
struct RunIdOf(bool);

fn new_step(step_id: &str, status: StepStatus, output: serde_json::Value) -> NewStep {
    NewStep {
        step_id: step_id.into(),
        status,
        output,
        input: None,
        duration_ms: None,
    }
}

both!(
    runs_given_back_are_due_again_with_their_attempts_uncounted,
    |store: Store| async move {
        let first = store
            .enqueue_run("sync", 1, event(&store, "e1").await)
            .await
            .unwrap();
        let second = store
            .enqueue_run("sync", 1, event(&store, "e2").await)
            .await
            .unwrap();
        let now = now_ms();
        // `second` was tried once before: it goes back to retry, `first` to queued.
        let leased = store.lease_runs("w1", 2, now, 30_000).await.unwrap();
        assert_eq!(leased.len(), 2);
        store.retry_run(second, "w1", now, "boom").await.unwrap();
        store
            .lease_run(second, "w1", now, 30_000)
            .await
            .unwrap()
            .unwrap();
        // Another worker's run is not given back by w1.
        let third = store
            .enqueue_run("sync", 1, event(&store, "e3").await)
            .await
            .unwrap();
        store
            .lease_run(third, "w2", now, 30_000)
            .await
            .unwrap()
            .unwrap();

        let given = store
            .give_back_runs("w1", &[first, second, third])
            .await
            .unwrap();
        assert_eq!(given, 2);
        let first = store.run(first).await.unwrap();
        assert_eq!((first.status, first.attempts), (RunStatus::Queued, 0));
        assert_eq!(first.lease_owner, None);
        let second = store.run(second).await.unwrap();
        assert_eq!((second.status, second.attempts), (RunStatus::Retry, 1));
        let third = store.run(third).await.unwrap();
        assert_eq!(third.lease_owner.as_deref(), Some("w2"));
        // Due at once, for any worker.
        let again = store.lease_runs("w3", 5, now_ms(), 30_000).await.unwrap();
        let ids: HashSet<_> = again.iter().map(|run| run.id).collect();
        assert_eq!(ids, HashSet::from([first.id, second.id]));
        assert_eq!(store.give_back_runs("w1", &[]).await.unwrap(), 0);
    }
);

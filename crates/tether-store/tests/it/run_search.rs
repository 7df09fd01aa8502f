//! Finding runs: by flow, status, time and record, newest first, page by page; what a run wrote;
//! the runs changed since a point.

use serde_json::json;
use tether_store::{
    Link, LinkExpect, RunFilter, RunId, RunStatus, StepDetail, StepStatus, Store, now_ms,
};

use crate::both;

/// Records one event per `(key, email)` with a run of each flow; answers the runs in order.
async fn arrange(store: &Store) -> Vec<RunId> {
    let mut runs = Vec::new();
    for (n, email) in ["ada@example.com", "Bob@Example.com", "ada@example.com"]
        .iter()
        .enumerate()
    {
        let (_, ids) = store
            .record_event_with_runs(
                "ghl.webhook",
                &format!("wh-{n}"),
                "ContactCreate",
                &json!({"id": format!("c{n}"), "email": email}),
                1,
                &[("a", 1), ("b", 1)],
            )
            .await
            .unwrap();
        runs.extend(ids);
    }
    runs
}

async fn ids(store: &Store, filter: RunFilter, limit: usize) -> Vec<RunId> {
    store
        .search_runs(&filter, limit)
        .await
        .unwrap()
        .iter()
        .map(|run| run.id)
        .collect()
}

both!(
    runs_are_found_by_flow_status_time_and_record_newest_first,
    |store: Store| async move {
        let runs = arrange(&store).await;
        let [a0, b0, a1, b1, a2, b2] = runs[..] else {
            panic!("six runs")
        };
        assert_eq!(
            ids(&store, RunFilter::default(), 10).await,
            [b2, a2, b1, a1, b0, a0]
        );
        let flow_a = RunFilter {
            flow_id: Some("a".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, flow_a.clone(), 10).await, [a2, a1, a0]);
        // Keyset pages: the last id of a page is the cursor of the next.
        assert_eq!(ids(&store, flow_a.clone(), 2).await, [a2, a1]);
        let next = RunFilter {
            before: Some(a1),
            ..flow_a.clone()
        };
        assert_eq!(ids(&store, next, 2).await, [a0]);

        let by_email = RunFilter {
            record: Some("ADA@example.com".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, by_email.clone(), 10).await, [b2, a2, b0, a0]);
        let by_email_in_b = RunFilter {
            flow_id: Some("b".into()),
            before: Some(b2),
            ..by_email
        };
        assert_eq!(ids(&store, by_email_in_b, 10).await, [b0]);
        let by_id = RunFilter {
            record: Some("c1".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, by_id, 10).await, [b1, a1]);

        store
            .lease_run(a1, "w", now_ms(), 60_000)
            .await
            .unwrap()
            .unwrap();
        store.complete_run(a1, "w").await.unwrap();
        let done = RunFilter {
            status: Some(RunStatus::Done),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, done, 10).await, [a1]);

        let created = store.run(a1).await.unwrap().created_at_ms;
        let future = RunFilter {
            since_ms: Some(now_ms() + 60_000),
            ..RunFilter::default()
        };
        assert!(ids(&store, future, 10).await.is_empty());
        let past = RunFilter {
            until_ms: Some(created - 60_000),
            ..RunFilter::default()
        };
        assert!(ids(&store, past, 10).await.is_empty());
        let around = RunFilter {
            since_ms: Some(created - 60_000),
            until_ms: Some(now_ms() + 60_000),
            flow_id: Some("b".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, around, 10).await, [b2, b1, b0]);
    }
);

both!(
    a_run_keeps_its_steps_inputs_durations_and_the_links_it_wrote,
    |store: Store| async move {
        let runs = arrange(&store).await;
        let run = runs[0];
        let input = json!({"email": "ada@example.com"});
        let step = store
            .journal_step_with(
                run,
                "push",
                1,
                StepStatus::Ok,
                &json!({"id": "df-9"}),
                StepDetail {
                    input: Some(&input),
                    duration_ms: Some(12),
                },
            )
            .await
            .unwrap();
        let read = store.journal_row(run, step.row).await.unwrap();
        assert_eq!(read, step);
        assert_eq!((read.input, read.duration_ms), (Some(input), Some(12)));
        assert!(store.journal_row(runs[1], step.row).await.is_err());

        let link = Link {
            flow_id: "a/push".into(),
            source_app: "ghl".into(),
            source_type: "contact".into(),
            source_id: "c0".into(),
            target_app: "details_flowers".into(),
            target_type: "customer".into(),
            target_id: "df-9".into(),
            content_hash: "h".into(),
            source_version: None,
            updated_at_ms: 1,
            sync_state: None,
        };
        store.record_run_link(run, "push", &link).await.unwrap();
        let links = store.run_links(run).await.unwrap();
        assert_eq!(
            links
                .iter()
                .map(|link| (link.step_id.as_str(), link.target_id.as_str()))
                .collect::<Vec<_>>(),
            [("push", "df-9")]
        );
        let by_target = RunFilter {
            record: Some("df-9".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, by_target, 10).await, [run]);
    }
);

both!(
    changed_runs_are_read_in_the_order_they_changed,
    |store: Store| async move {
        let runs = arrange(&store).await;
        let all = store.runs_changed_since(0, 0, 100).await.unwrap();
        assert_eq!(all.len(), runs.len());
        let last = all.last().unwrap();
        assert!(
            store
                .runs_changed_since(last.updated_at_ms, last.id.0, 100)
                .await
                .unwrap()
                .is_empty()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        store
            .lease_run(runs[2], "w", now_ms(), 60_000)
            .await
            .unwrap()
            .unwrap();
        let changed = store
            .runs_changed_since(last.updated_at_ms, last.id.0, 100)
            .await
            .unwrap();
        assert_eq!(
            changed
                .iter()
                .map(|run| (run.id, run.status))
                .collect::<Vec<_>>(),
            [(runs[2], RunStatus::Running)]
        );
    }
);

both!(
    a_run_list_shows_each_runs_email_and_its_failed_step,
    |store: Store| async move {
        let runs = arrange(&store).await;
        let [a0, b0, a1, ..] = runs[..] else {
            panic!("six runs")
        };
        store
            .journal_step_with(
                a0,
                "push",
                1,
                StepStatus::Failed,
                &json!({"error": "refused"}),
                StepDetail::default(),
            )
            .await
            .unwrap();
        store
            .journal_step_with(
                a1,
                "check",
                1,
                StepStatus::Ok,
                &json!({}),
                StepDetail::default(),
            )
            .await
            .unwrap();
        let facts = store.run_facts(&[a0, b0, a1]).await.unwrap();
        // The e-mail address is preferred to the record id (`c0`), lowercased as recorded.
        assert_eq!(facts[&a0].record.as_deref(), Some("ada@example.com"));
        assert_eq!(facts[&b0].record.as_deref(), Some("ada@example.com"));
        assert_eq!(facts[&a1].record.as_deref(), Some("bob@example.com"));
        assert_eq!(facts[&a0].failed_step.as_deref(), Some("push"));
        assert_eq!(facts[&a1].failed_step, None, "an ok step is no failure");
        assert!(store.run_facts(&[]).await.unwrap().is_empty());
    }
);

both!(
    a_link_and_the_runs_record_of_it_commit_together,
    |store: Store| async move {
        let runs = arrange(&store).await;
        let run = runs[0];
        let link = Link {
            flow_id: "a/push".into(),
            source_app: "ghl".into(),
            source_type: "contact".into(),
            source_id: "c0".into(),
            target_app: "details_flowers".into(),
            target_type: "customer".into(),
            target_id: "df-1".into(),
            content_hash: "h1".into(),
            source_version: None,
            updated_at_ms: 1,
            sync_state: None,
        };
        assert!(
            store
                .upsert_link_for_run(&link, LinkExpect::Absent, run, "push")
                .await
                .unwrap()
        );
        // A write the link refuses (another hash expected) records nothing for the run.
        let refused = Link {
            target_id: "df-2".into(),
            ..link.clone()
        };
        assert!(
            !store
                .upsert_link_for_run(&refused, LinkExpect::Hash("other"), runs[1], "push")
                .await
                .unwrap()
        );
        let written: Vec<String> = store
            .run_links(run)
            .await
            .unwrap()
            .into_iter()
            .map(|link| link.target_id)
            .collect();
        assert_eq!(written, ["df-1"]);
        assert!(store.run_links(runs[1]).await.unwrap().is_empty());
        let by_target = RunFilter {
            record: Some("df-1".into()),
            ..RunFilter::default()
        };
        assert_eq!(ids(&store, by_target, 10).await, [run]);
        let stored = store
            .get_link("a/push", "ghl", "contact", "c0")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.target_id, "df-1");
    }
);

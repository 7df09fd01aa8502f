//! Samples for building flows: kept per flow apart from runs, paged newest first; a webhook
//! capture takes the first matching event after its start, once.

use serde_json::json;
use tether_store::samples::TRIGGER_STEP;
use tether_store::{CaptureId, Error, SampleId, SampleSource, Store};

use crate::both;

both!(
    samples_are_kept_per_flow_and_paged_newest_first,
    |store: Store| async move {
        let mut ids = Vec::new();
        for n in 0..5 {
            let sample = store
                .add_sample(
                    "df-to-ghl",
                    TRIGGER_STEP,
                    SampleSource::Poll,
                    &json!({"id": format!("c{n}"), "tags": ["vip"], "n": n}),
                    1_000 + n,
                )
                .await
                .unwrap();
            ids.push(sample.id);
        }
        store
            .add_sample("other", "lookup", SampleSource::Run, &json!({"x": 1}), 7)
            .await
            .unwrap();

        let first = store.samples("df-to-ghl", None, 3).await.unwrap();
        assert_eq!(
            first.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![ids[4], ids[3], ids[2]]
        );
        assert_eq!(
            first[0].record,
            json!({"id": "c4", "tags": ["vip"], "n": 4})
        );
        assert_eq!(first[0].source, SampleSource::Poll);
        assert_eq!(first[0].step_id, "trigger");
        assert_eq!(first[0].taken_at_ms, 1_004);
        let rest = store
            .samples("df-to-ghl", Some(first[2].id), 3)
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![ids[1], ids[0]]
        );
        assert_eq!(store.samples("nobody", None, 10).await.unwrap(), vec![]);
        assert_eq!(store.sample(ids[2]).await.unwrap(), first[2]);
        assert!(matches!(
            store.sample(SampleId(ids[4].0 + 100)).await,
            Err(Error::NotFound { what: "sample", .. })
        ));
    }
);

both!(
    the_first_event_after_a_time_matches_source_and_kind,
    |store: Store| async move {
        let kinds = vec!["ContactCreate".to_owned(), "ContactUpdate".to_owned()];
        for (key, source, kind, at) in [
            ("a", "ghl.webhook", "ContactCreate", 100),
            ("b", "ghl.webhook", "NoteCreate", 200),
            ("c", "other", "ContactCreate", 210),
            ("d", "ghl.webhook", "ContactUpdate", 300),
            ("e", "ghl.webhook", "ContactCreate", 400),
        ] {
            store
                .record_event(source, key, kind, &json!({"key": key}), at)
                .await
                .unwrap();
        }
        let found = |since, until| {
            let store = store.clone();
            let kinds = kinds.clone();
            async move {
                store
                    .first_event_after("ghl.webhook", &kinds, since, until)
                    .await
                    .unwrap()
                    .map(|event| event.event_key)
            }
        };
        assert_eq!(found(0, 1_000).await.as_deref(), Some("a"));
        assert_eq!(found(101, 1_000).await.as_deref(), Some("d"));
        assert_eq!(found(300, 1_000).await.as_deref(), Some("d"), "inclusive");
        assert_eq!(found(301, 400).await, None, "the end is exclusive");
        assert_eq!(found(401, 1_000).await, None);
        assert_eq!(
            store
                .first_event_after("ghl.webhook", &[], 0, 1_000)
                .await
                .unwrap(),
            None
        );
    }
);

both!(a_capture_is_filled_once, |store: Store| async move {
    let kinds = vec!["ContactCreate".to_owned()];
    let capture = store
        .start_capture("ghl-to-df", "ghl.webhook", &kinds, 500, 60_500)
        .await
        .unwrap();
    assert_eq!(capture.sample_id, None);
    assert_eq!(store.capture(capture.id).await.unwrap(), capture);

    let filled = store
        .finish_capture(capture.id, &json!({"email": "ada@example.com"}), 900)
        .await
        .unwrap();
    let sample_id = filled.sample_id.expect("filled");
    let again = store
        .finish_capture(capture.id, &json!({"email": "other@example.com"}), 950)
        .await
        .unwrap();
    assert_eq!(again.sample_id, Some(sample_id), "the first sample stands");
    let sample = store.sample(sample_id).await.unwrap();
    assert_eq!(sample.record, json!({"email": "ada@example.com"}));
    assert_eq!(
        (
            sample.flow_id.as_str(),
            sample.step_id.as_str(),
            sample.source
        ),
        ("ghl-to-df", "trigger", SampleSource::Webhook)
    );
    assert_eq!(
        store.samples("ghl-to-df", None, 10).await.unwrap().len(),
        1,
        "the losing sample was rolled back"
    );
    assert!(matches!(
        store.capture(CaptureId(capture.id.0 + 10)).await,
        Err(Error::NotFound {
            what: "capture",
            ..
        })
    ));
});

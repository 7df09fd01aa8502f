//! Links: one per source record and flow, compare-and-set on the content hash, found by target.

use tether_store::{Link, LinkExpect, Store};

use crate::both;

fn link(flow: &str, source_id: &str, target_id: &str, hash: &str) -> Link {
    Link {
        flow_id: flow.into(),
        source_app: "ghl".into(),
        source_type: "contact".into(),
        source_id: source_id.into(),
        target_app: "details-flowers".into(),
        target_type: "customer".into(),
        target_id: target_id.into(),
        content_hash: hash.into(),
        updated_at_ms: 1_000,
        source_version: Some(42),
        sync_state: None,
    }
}

both!(
    a_link_exists_once_and_writes_compare_the_hash,
    |store: Store| async move {
        assert_eq!(
            store
                .get_link("sync", "ghl", "contact", "c1")
                .await
                .unwrap(),
            None
        );
        let first = link("sync", "c1", "d1", "h1");
        assert!(store.upsert_link(&first, LinkExpect::Absent).await.unwrap());
        assert!(
            !store
                .upsert_link(&link("sync", "c1", "d9", "h9"), LinkExpect::Absent)
                .await
                .unwrap(),
            "a second create loses"
        );
        assert_eq!(
            store
                .get_link("sync", "ghl", "contact", "c1")
                .await
                .unwrap(),
            Some(first.clone())
        );
        let mut second = link("sync", "c1", "d1", "h2");
        second.updated_at_ms = 2_000;
        assert!(
            !store
                .upsert_link(&second, LinkExpect::Hash("h0"))
                .await
                .unwrap(),
            "a stale hash loses"
        );
        assert!(
            store
                .upsert_link(&second, LinkExpect::Hash("h1"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .upsert_link(&link("sync", "c2", "d2", "h"), LinkExpect::Hash("h"))
                .await
                .unwrap(),
            "compare-and-set never creates"
        );
        let third = link("sync", "c1", "d3", "h3");
        assert!(store.upsert_link(&third, LinkExpect::Any).await.unwrap());
        assert_eq!(
            store
                .get_link("sync", "ghl", "contact", "c1")
                .await
                .unwrap(),
            Some(third)
        );
        assert_eq!(
            store
                .get_link("other", "ghl", "contact", "c1")
                .await
                .unwrap(),
            None,
            "links belong to their flow"
        );
    }
);

both!(
    links_are_found_by_target_across_flows,
    |store: Store| async move {
        assert!(
            store
                .upsert_link(&link("sync", "c1", "d1", "h1"), LinkExpect::Any)
                .await
                .unwrap()
        );
        let mut reverse = Link {
            flow_id: "reverse".into(),
            source_app: "ghl".into(),
            source_type: "contact".into(),
            source_id: "c7".into(),
            ..link("reverse", "c7", "d1", "h2")
        };
        reverse.updated_at_ms = 5_000;
        assert!(store.upsert_link(&reverse, LinkExpect::Any).await.unwrap());
        let found = store
            .find_link_by_target("details-flowers", "customer", "d1")
            .await
            .unwrap();
        let flows: Vec<&str> = found.iter().map(|link| link.flow_id.as_str()).collect();
        assert_eq!(flows, ["reverse", "sync"], "most recent first");
        assert_eq!(found[1].content_hash, "h1");
        // Retargeting moves the link: the old target no longer finds it.
        assert!(
            store
                .upsert_link(&link("sync", "c1", "d2", "h1"), LinkExpect::Any)
                .await
                .unwrap()
        );
        let found = store
            .find_link_by_target("details-flowers", "customer", "d1")
            .await
            .unwrap();
        assert_eq!(found, [reverse]);
        assert!(
            store
                .find_link_by_target("ghl", "contact", "d1")
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both!(
    a_links_sync_state_round_trips_and_links_are_found_by_source,
    |store: Store| async move {
        let mut first = link("forward/upsert", "c1", "d1", "h1");
        first.sync_state = Some(serde_json::json!({"seen": {"email": ["a@example.com", 7]}}));
        assert!(store.upsert_link(&first, LinkExpect::Absent).await.unwrap());
        let mut other = link("notes/customer", "c1", "d1", "h2");
        other.updated_at_ms = 2_000;
        assert!(store.upsert_link(&other, LinkExpect::Any).await.unwrap());
        assert!(
            store
                .upsert_link(&link("forward/upsert", "c2", "d2", "h3"), LinkExpect::Any)
                .await
                .unwrap()
        );
        let found = store
            .find_links_by_source("ghl", "contact", "c1")
            .await
            .unwrap();
        assert_eq!(
            found,
            [other, first.clone()],
            "most recent first, only c1's"
        );
        let mut updated = first.clone();
        updated.sync_state =
            Some(serde_json::json!({"seen": {}, "written": {"full_name": ["Ann", 9]}}));
        assert!(
            store
                .upsert_link(&updated, LinkExpect::Hash("h1"))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .get_link("forward/upsert", "ghl", "contact", "c1")
                .await
                .unwrap(),
            Some(updated)
        );
    }
);

both!(
    a_records_own_link_and_the_links_into_it_come_in_one_read,
    |store: Store| async move {
        assert_eq!(
            store
                .links_of_record("sync", "ghl", "contact", "c1")
                .await
                .unwrap(),
            (None, Vec::new())
        );
        // c1 → d1 by `sync`; two flows wrote into the GHL contact c1 from Details Flowers.
        let own = link("sync", "c1", "d1", "h1");
        store.upsert_link(&own, LinkExpect::Absent).await.unwrap();
        let mut back = Vec::new();
        for (flow, at) in [("back-a", 2_000), ("back-b", 3_000)] {
            let written = Link {
                flow_id: flow.into(),
                source_app: "details-flowers".into(),
                source_type: "customer".into(),
                source_id: "d1".into(),
                target_app: "ghl".into(),
                target_type: "contact".into(),
                target_id: "c1".into(),
                updated_at_ms: at,
                ..link(flow, "d1", "c1", "h2")
            };
            store
                .upsert_link(&written, LinkExpect::Absent)
                .await
                .unwrap();
            back.push(written);
        }
        // Another flow's link from c1 is not this flow's.
        store
            .upsert_link(&link("other", "c1", "d7", "h3"), LinkExpect::Absent)
            .await
            .unwrap();
        let (from, into) = store
            .links_of_record("sync", "ghl", "contact", "c1")
            .await
            .unwrap();
        assert_eq!(from, Some(own));
        back.reverse();
        assert_eq!(into, back, "the latest write first, as find_link_by_target");
        assert_eq!(
            into,
            store
                .find_link_by_target("ghl", "contact", "c1")
                .await
                .unwrap()
        );
    }
);

both!(
    reads_at_the_same_moment_share_a_query_and_each_gets_its_own_record,
    |store: Store| async move {
        for n in 0..40 {
            if n % 4 != 0 {
                store
                    .upsert_link(
                        &link("sync", &format!("c{n}"), &format!("d{n}"), "h"),
                        LinkExpect::Absent,
                    )
                    .await
                    .unwrap();
            }
        }
        let store = std::sync::Arc::new(store);
        let mut readers = tokio::task::JoinSet::new();
        for n in 0..40 {
            let store = store.clone();
            readers.spawn(async move {
                let read = store
                    .links_of_record("sync", "ghl", "contact", &format!("c{n}"))
                    .await
                    .unwrap();
                (n, read)
            });
        }
        while let Some(joined) = readers.join_next().await {
            let (n, (from, into)) = joined.unwrap();
            let expected =
                (n % 4 != 0).then(|| link("sync", &format!("c{n}"), &format!("d{n}"), "h"));
            assert_eq!(from, expected, "c{n}'s own link");
            assert!(into.is_empty(), "nothing wrote into c{n}");
        }
    }
);

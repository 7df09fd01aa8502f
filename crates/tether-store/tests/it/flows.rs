//! Flows: drafts kept byte for byte with a revision, immutable published versions, the change
//! counter other processes poll.

use tether_store::{DraftSave, Error, Store};

use crate::both;

const V1: &str = "# first\nid: f1\nname: One\nsteps: [] # {{ trigger.x }}\n";
const V2: &str = "id: f1\nname: One, again\nsteps: []\n";

both!(
    a_draft_keeps_its_text_and_refuses_a_stale_revision,
    |store: Store| async move {
        let created = store.create_flow("f1", "One", V1, 1_000).await.unwrap();
        assert_eq!(created.draft_yaml, V1);
        assert_eq!(created.draft_revision, 1);
        assert!(created.enabled);
        assert_eq!(created.current, None);
        assert!(matches!(
            store.create_flow("f1", "One", V1, 1_001).await,
            Err(Error::Conflict { what: "flow", .. })
        ));

        let DraftSave::Saved(saved) = store
            .save_flow_draft("f1", "One, again", V2, Some(1), 2_000)
            .await
            .unwrap()
        else {
            panic!("revision 1 is current")
        };
        assert_eq!(saved.draft_revision, 2);
        assert_eq!(saved.draft_yaml, V2);
        assert_eq!(saved.name, "One, again");
        assert_eq!(saved.draft_updated_at_ms, 2_000);
        assert_eq!(
            store
                .save_flow_draft("f1", "One", V1, Some(1), 3_000)
                .await
                .unwrap(),
            DraftSave::Stale {
                current_revision: 2
            }
        );
        assert_eq!(store.flow("f1").await.unwrap().unwrap().draft_yaml, V2);
        assert!(matches!(
            store.save_flow_draft("nope", "x", V1, None, 3_000).await,
            Err(Error::NotFound { what: "flow", .. })
        ));
        assert_eq!(store.flow("nope").await.unwrap(), None);
    }
);

both!(
    publishing_adds_immutable_versions_and_moves_the_counter,
    |store: Store| async move {
        store.create_flow("f1", "One", V1, 1_000).await.unwrap();
        let start = store.flow_change_counter().await.unwrap();
        assert!(store.flows_changed_since(start).await.unwrap().is_empty());

        let first = store
            .publish_flow("f1", V1, "00000000000000a1", 0xa, "first", 2_000)
            .await
            .unwrap();
        assert!(first.created);
        assert_eq!(first.version.seq, 1);
        let after_first = store.flow_change_counter().await.unwrap();
        assert!(after_first > start);

        let again = store
            .publish_flow("f1", V1, "00000000000000a1", 0xa, "again", 3_000)
            .await
            .unwrap();
        assert!(!again.created, "the same text is no new version");
        assert_eq!(again.version, first.version);
        assert_eq!(store.flow_change_counter().await.unwrap(), after_first);

        let second = store
            .publish_flow("f1", V2, "00000000000000b2", 0xb, "second", 4_000)
            .await
            .unwrap();
        assert!(second.created);
        assert_eq!(second.version.seq, 2);
        let changed = store.flows_changed_since(after_first).await.unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].current.as_ref().unwrap().yaml, V2);

        let versions = store.flow_versions("f1", None, 10).await.unwrap();
        assert_eq!(
            versions.iter().map(|v| v.seq).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(versions[1].yaml, V1, "byte for byte");
        assert_eq!(versions[1].message, "first");
        assert_eq!(
            store.flow_versions("f1", Some(2), 10).await.unwrap()[0].seq,
            1
        );
        assert_eq!(
            store.flow_version("f1", 1).await.unwrap().unwrap().hash,
            "00000000000000a1"
        );
        assert_eq!(
            store
                .flow_version_by_hash("f1", "00000000000000b2")
                .await
                .unwrap()
                .unwrap()
                .seq,
            2
        );
        assert_eq!(
            store
                .flow_version_by_number("f1", 0xa)
                .await
                .unwrap()
                .unwrap()
                .yaml,
            V1
        );
        assert_eq!(store.flow_version("f1", 3).await.unwrap(), None);
        assert!(matches!(
            store.publish_flow("nope", V1, "a", 1, "", 0).await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    enabling_and_disabling_move_the_counter_only_on_change,
    |store: Store| async move {
        store.create_flow("f1", "One", V1, 1_000).await.unwrap();
        store.create_flow("f2", "Two", V2, 1_000).await.unwrap();
        let start = store.flow_change_counter().await.unwrap();
        assert!(!store.set_flow_enabled("f1", true).await.unwrap());
        assert_eq!(store.flow_change_counter().await.unwrap(), start);
        assert!(store.set_flow_enabled("f1", false).await.unwrap());
        assert!(!store.flow("f1").await.unwrap().unwrap().enabled);
        let changed = store.flows_changed_since(start).await.unwrap();
        assert_eq!(
            changed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["f1"]
        );
        assert!(matches!(
            store.set_flow_enabled("nope", false).await,
            Err(Error::NotFound { .. })
        ));

        let page = store.flows_page(None, 1).await.unwrap();
        assert_eq!(page[0].id, "f1");
        let next = store.flows_page(Some("f1"), 1).await.unwrap();
        assert_eq!(next[0].id, "f2");
        assert!(store.flows_page(Some("f2"), 1).await.unwrap().is_empty());
        assert_eq!(store.all_flows().await.unwrap().len(), 2);
    }
);

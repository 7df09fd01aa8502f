//! Connections: create, read, compare-and-set credentials, health, delete.

use tether_core::Secret;
use tether_store::{AuthKind, ConnectionStatus, Error, NewConnection, Store};

use crate::both;

fn new_connection(name: &str) -> NewConnection {
    NewConnection {
        name: name.into(),
        app: "ghl".into(),
        auth_kind: AuthKind::OAuth2,
        account_id: Some("loc-1".into()),
        base_url: "http://127.0.0.1:1".into(),
        scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
        credentials: Secret::new(r#"{"access_token":"at-1","refresh_token":"rt-1"}"#),
        expires_at_ms: Some(1_000),
    }
}

both!(
    created_connections_read_back_with_their_credentials,
    |store: Store| async move {
        let created = store
            .create_connection(new_connection("main"))
            .await
            .unwrap();
        assert!(created.id.starts_with("conn_"));
        let by_name = store.connection("main").await.unwrap();
        let by_id = store.connection(&created.id).await.unwrap();
        for connection in [&by_name, &by_id] {
            assert_eq!(connection.id, created.id);
            assert_eq!(connection.scopes, ["contacts.readonly", "contacts.write"]);
            assert_eq!(
                connection.credentials.expose(),
                r#"{"access_token":"at-1","refresh_token":"rt-1"}"#
            );
            assert_eq!(connection.status, ConnectionStatus::Ok);
            assert_eq!(connection.version, 1);
        }
        assert!(matches!(
            store.create_connection(new_connection("main")).await,
            Err(Error::Conflict { .. })
        ));
        assert!(matches!(
            store.connection("nope").await,
            Err(Error::NotFound { .. })
        ));
        store
            .create_connection(new_connection("another"))
            .await
            .unwrap();
        let names: Vec<String> = store
            .connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["another", "main"]);
    }
);

both!(
    settings_start_empty_and_change_without_touching_credentials,
    |store: Store| async move {
        let created = store
            .create_connection(new_connection("main"))
            .await
            .unwrap();
        assert_eq!(created.settings, serde_json::json!({}));
        let settings = serde_json::json!({"rate_limit": {"requests": 6000, "window_secs": 60}});
        store
            .set_connection_settings("main", &settings)
            .await
            .unwrap();
        let read = store.connection(&created.id).await.unwrap();
        assert_eq!(read.settings, settings);
        // The credentials' version guards token refreshes; a settings change must not move it.
        assert_eq!(read.version, created.version);
        assert_eq!(read.credentials.expose(), created.credentials.expose());
        assert!(matches!(
            store.set_connection_settings("nope", &settings).await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    credential_writes_compare_the_version,
    |store: Store| async move {
        let created = store
            .create_connection(new_connection("main"))
            .await
            .unwrap();
        store
            .set_connection_status(
                &created.id,
                ConnectionStatus::RefreshFailed,
                Some("reconnect"),
            )
            .await
            .unwrap();
        let rotated = Secret::new(r#"{"access_token":"at-2","refresh_token":"rt-2"}"#);
        assert!(
            store
                .update_credentials(&created.id, 1, &rotated, Some(2_000))
                .await
                .unwrap()
        );
        // A second writer that read version 1 loses: its refresh token is stale.
        let stale = Secret::new(r#"{"access_token":"at-x","refresh_token":"rt-x"}"#);
        assert!(
            !store
                .update_credentials(&created.id, 1, &stale, Some(3_000))
                .await
                .unwrap()
        );
        let stored = store.connection("main").await.unwrap();
        assert_eq!(stored.credentials.expose(), rotated.expose());
        assert_eq!((stored.version, stored.expires_at_ms), (2, Some(2_000)));
        assert_eq!(
            stored.status,
            ConnectionStatus::Ok,
            "fresh credentials clear a needs-reauth mark"
        );
        store.delete_connection("main").await.unwrap();
        assert!(matches!(
            store.delete_connection("main").await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    health_states_round_trip_with_their_message_and_checked_time,
    |store: Store| async move {
        let created = store
            .create_connection(new_connection("main"))
            .await
            .unwrap();
        assert_eq!(created.checked_at_ms, Some(created.created_at_ms));
        for status in ConnectionStatus::ALL {
            let before = tether_store::now_ms();
            let message = format!("because {status}");
            store
                .set_connection_status("main", status, Some(&message))
                .await
                .unwrap();
            let stored = store.connection(&created.id).await.unwrap();
            assert_eq!(stored.status, status);
            assert_eq!(stored.status_message.as_deref(), Some(message.as_str()));
            assert!(stored.checked_at_ms.unwrap() >= before);
            assert_eq!(ConnectionStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(matches!(
            store
                .set_connection_status("nope", ConnectionStatus::Ok, None)
                .await,
            Err(Error::NotFound { .. })
        ));
        let untested = store
            .create_connection_with_status(
                new_connection("later"),
                ConnectionStatus::Untested,
                Some("stored without a test"),
            )
            .await
            .unwrap();
        assert_eq!(untested.status, ConnectionStatus::Untested);
        assert_eq!(untested.checked_at_ms, None, "never checked");
        assert!(ConnectionStatus::RefreshFailed.blocks_use());
        assert!(ConnectionStatus::Revoked.blocks_use());
        assert!(!ConnectionStatus::Unreachable.blocks_use());
        assert!(!ConnectionStatus::Untested.blocks_use());
    }
);

both!(
    a_rename_keeps_id_and_credentials_and_refuses_a_taken_name,
    |store: Store| async move {
        let main = store
            .create_connection(new_connection("main"))
            .await
            .unwrap();
        store
            .create_connection(new_connection("other"))
            .await
            .unwrap();
        let renamed = store.rename_connection("main", "ghl-main").await.unwrap();
        assert_eq!(renamed.id, main.id);
        assert_eq!(renamed.name, "ghl-main");
        assert_eq!(renamed.version, main.version);
        assert_eq!(renamed.credentials.expose(), main.credentials.expose());
        assert!(matches!(
            store.connection("main").await,
            Err(Error::NotFound { .. })
        ));
        // By id works too, and a taken name is a conflict that changes nothing.
        assert!(matches!(
            store.rename_connection(&main.id, "other").await,
            Err(Error::Conflict { name, .. }) if name == "other"
        ));
        assert_eq!(store.connection(&main.id).await.unwrap().name, "ghl-main");
        assert!(matches!(
            store.rename_connection("nope", "x").await,
            Err(Error::NotFound { .. })
        ));
    }
);

both!(
    oauth_states_are_single_use_expiring_and_bound_to_their_app,
    |store: Store| async move {
        let request = Secret::new(r#"{"name":"ghl-main","client_secret":"cs"}"#);
        let later = tether_store::now_ms() + 600_000;
        let state = store
            .create_oauth_state("ghl", &request, later)
            .await
            .unwrap();
        assert_eq!(state.len(), 64);
        let other = store
            .create_oauth_state("ghl", &request, later)
            .await
            .unwrap();
        assert_ne!(state, other);
        let taken = store
            .take_oauth_state("ghl", &state)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.app, "ghl");
        assert_eq!(taken.request.expose(), request.expose());
        assert!(
            store
                .take_oauth_state("ghl", &state)
                .await
                .unwrap()
                .is_none(),
            "a state is single use"
        );
        assert!(
            store
                .take_oauth_state("flickr", &other)
                .await
                .unwrap()
                .is_none(),
            "a state is for its app only"
        );
        assert!(
            store
                .take_oauth_state("ghl", &other)
                .await
                .unwrap()
                .is_none()
        );
        let expired = store
            .create_oauth_state("ghl", &request, tether_store::now_ms() - 1)
            .await
            .unwrap();
        assert!(
            store
                .take_oauth_state("ghl", &expired)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .take_oauth_state("ghl", "unknown")
                .await
                .unwrap()
                .is_none()
        );
        // A state the caller chose (an OAuth 1.0a request token).
        store
            .put_oauth_state("request-token-1", "flickr", &request, later)
            .await
            .unwrap();
        let taken = store
            .take_oauth_state("flickr", "request-token-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.request.expose(), request.expose());
        assert!(
            store
                .take_oauth_state("flickr", "request-token-1")
                .await
                .unwrap()
                .is_none()
        );
    }
);

#[tokio::test]
async fn credentials_are_not_in_the_database_file_in_clear() {
    let test = crate::support::sqlite().await;
    test.store
        .create_connection(new_connection("main"))
        .await
        .unwrap();
    test.store.close().await;
    let path = test.sqlite_file.unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("sqlite-wal")) {
        bytes.extend(wal);
    }
    assert!(
        bytes.windows(4).any(|w| w == b"main"),
        "the file holds the connection"
    );
    assert!(
        !bytes.windows(4).any(|w| w == b"rt-1"),
        "the refresh token must be sealed"
    );
    assert!(
        !bytes.windows(12).any(|w| w == b"access_token"),
        "the credentials JSON must be sealed"
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn another_key_cannot_open_the_credentials() {
    let test = crate::support::sqlite().await;
    test.store
        .create_connection(new_connection("main"))
        .await
        .unwrap();
    test.store.close().await;
    let path = test.sqlite_file.unwrap();
    let other = Store::open_sqlite(&path, tether_store::Vault::from_key(&[2; 32]))
        .await
        .unwrap();
    let error = other.connection("main").await.unwrap_err();
    assert!(matches!(error, Error::Unseal { .. }), "{error:?}");
    // The message names the connection (not its internal id) and how to recover.
    let message = error.to_string();
    assert!(
        message.contains("connection `main` cannot be decrypted")
            && message.contains("restore the original key")
            && message.contains("--name main"),
        "{message}"
    );
    // Names are readable without the key, so a command can say which connections it sealed.
    assert_eq!(other.connection_names().await.unwrap(), ["main"]);
    other.close().await;
    let _ = std::fs::remove_file(path);
}

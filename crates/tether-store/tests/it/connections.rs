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
                ConnectionStatus::NeedsReauth,
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

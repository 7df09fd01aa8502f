//! Flickr connections from the store: the registry builds a signing client from the sealed
//! credentials `tether connect flickr` stores, and refuses connections it cannot use without
//! quoting their secrets.

use serde_json::json;
use tether_connectors::flickr::StoredCredentials;
use tether_connectors::registry::{Registry, RegistryError};
use tether_core::Secret;
use tether_sim::flickr::{DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET};
use tether_store::{AuthKind, NewConnection, Store, Vault};

use crate::flickr_support::FlickrTest;

async fn store() -> Store {
    let path = std::env::temp_dir().join(format!(
        "tether-flickr-{}-{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    Store::open_sqlite(&path, Vault::from_key(&[4; 32]))
        .await
        .unwrap()
}

fn connection(name: &str, app: &str, base_url: &str, credentials: Secret) -> NewConnection {
    NewConnection {
        name: name.into(),
        app: app.into(),
        auth_kind: AuthKind::OAuth1,
        account_id: None,
        base_url: base_url.into(),
        scopes: vec!["write".into()],
        credentials,
        expires_at_ms: None,
    }
}

#[tokio::test]
async fn stored_connections_become_signing_clients() {
    let test = FlickrTest::start().await;
    let store = store().await;
    let stored = StoredCredentials {
        consumer_key: DEFAULT_CONSUMER_KEY.into(),
        consumer_secret: Secret::new(DEFAULT_CONSUMER_SECRET),
        token: Secret::new(test.token.0.clone()),
        token_secret: Secret::new(test.token.1.clone()),
        user_nsid: test.user.clone(),
        username: "tess".into(),
        fullname: "Tess Tether".into(),
        perms: "write".into(),
    };
    store
        .create_connection(connection(
            "fl",
            "flickr",
            &test.running.base_url,
            stored.to_secret(),
        ))
        .await
        .unwrap();
    let registry = Registry::new(store.clone());
    let client = registry.flickr("fl").await.unwrap();
    assert_eq!(
        client.user().map(|user| user.as_str()),
        Some(test.user.as_str())
    );
    let output =
        tether_connectors::flickr::catalog::invoke(&client, "flickr.test.login", json!({}))
            .await
            .unwrap();
    assert_eq!(output["id"], test.user.as_str());

    // Not a Flickr connection.
    store
        .create_connection(connection(
            "other",
            "details_flowers",
            &test.running.base_url,
            Secret::new("k"),
        ))
        .await
        .unwrap();
    assert!(matches!(
        registry.flickr("other").await,
        Err(RegistryError::WrongApp { .. })
    ));

    // Credentials that are not Flickr's: refused, naming the field but not quoting the value.
    let broken = Secret::new(r#"{"consumer_key":"k","consumer_secret":"very-secret-value"}"#);
    store
        .create_connection(connection(
            "broken",
            "flickr",
            &test.running.base_url,
            broken,
        ))
        .await
        .unwrap();
    let error = registry.flickr("broken").await.unwrap_err();
    let message = format!("{error}");
    assert!(
        matches!(error, RegistryError::Misconfigured { .. }),
        "{message}"
    );
    assert!(!message.contains("very-secret-value"), "{message}");
}

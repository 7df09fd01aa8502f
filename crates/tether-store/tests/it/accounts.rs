//! Accounts: users unique by e-mail in any case, setup spends its token once and only while no
//! owner exists, sessions and tokens found by their hashes only while live, password resets end
//! sessions, failed sign-ins counted per subject.

use tether_store::{Error, NewApiToken, NewUser, OneTimePurpose, Role, Store};

use crate::both;

fn owner(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        display_name: "Ada".to_owned(),
        role: Role::Owner,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    }
}

both!(
    setup_spends_its_token_once_and_only_while_no_owner_exists,
    |store: Store| async move {
        assert!(!store.has_owner().await.unwrap());
        store
            .create_one_time_token("old", OneTimePurpose::Setup, None, 1_000, 10_000)
            .await
            .unwrap();
        store
            .create_one_time_token("setup-hash", OneTimePurpose::Setup, None, 1_000, 10_000)
            .await
            .unwrap();
        assert!(
            store
                .setup_owner("old", owner("x@example.com"), 2_000)
                .await
                .unwrap()
                .is_none(),
            "a newer setup token replaces the older one"
        );
        assert!(
            store
                .setup_owner("setup-hash", owner("ada@example.com"), 20_000)
                .await
                .unwrap()
                .is_none(),
            "an expired setup token is refused"
        );
        let user = store
            .setup_owner("setup-hash", owner("Ada@Example.COM"), 2_000)
            .await
            .unwrap()
            .expect("a fresh token creates the owner");
        assert_eq!(user.email, "ada@example.com");
        assert_eq!(user.role, Role::Owner);
        assert!(user.id.starts_with("usr_"));
        assert!(store.has_owner().await.unwrap());
        assert!(
            store
                .setup_owner("setup-hash", owner("eve@example.com"), 2_000)
                .await
                .unwrap()
                .is_none(),
            "the token is spent"
        );
        store
            .create_one_time_token("again", OneTimePurpose::Setup, None, 3_000, 10_000)
            .await
            .unwrap();
        assert!(
            store
                .setup_owner("again", owner("eve@example.com"), 3_000)
                .await
                .unwrap()
                .is_none(),
            "no second owner through setup"
        );
        assert_eq!(store.users().await.unwrap(), vec![user.clone()]);
        let (found, hash) = store
            .user_with_password(" ADA@example.com ")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, user);
        assert!(hash.starts_with("$argon2id$"));
        let duplicate = store
            .create_user(owner("ada@EXAMPLE.com"), 4_000)
            .await
            .unwrap_err();
        assert!(
            matches!(duplicate, Error::Conflict { what: "user", .. }),
            "{duplicate}"
        );
    }
);

both!(
    sessions_live_until_they_expire_or_a_password_reset,
    |store: Store| async move {
        let user = store
            .create_user(owner("ada@example.com"), 1_000)
            .await
            .unwrap();
        store
            .create_session("s1", &user.id, 1_000, 100_000)
            .await
            .unwrap();
        store
            .create_session("s2", &user.id, 1_000, 100_000)
            .await
            .unwrap();
        assert_eq!(
            store.session_user("s1", 50_000).await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(store.session_user("unknown", 50_000).await.unwrap(), None);
        assert_eq!(
            store.session_user("s1", 100_000).await.unwrap(),
            None,
            "expired"
        );
        store.delete_session("s1").await.unwrap();
        assert_eq!(store.session_user("s1", 50_000).await.unwrap(), None);
        assert!(store.session_user("s2", 50_000).await.unwrap().is_some());
        let updated = store
            .set_password("ADA@example.com", "$argon2id$new", 60_000)
            .await
            .unwrap();
        assert_eq!(updated.updated_at_ms, 60_000);
        assert_eq!(
            store.session_user("s2", 60_001).await.unwrap(),
            None,
            "a reset ends every session"
        );
        assert_eq!(
            store
                .user_with_password("ada@example.com")
                .await
                .unwrap()
                .unwrap()
                .1,
            "$argon2id$new"
        );
        let missing = store
            .set_password("nobody@example.com", "x", 1)
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
    }
);

both!(
    api_tokens_authenticate_until_revoked_and_names_are_unique_among_live_ones,
    |store: Store| async move {
        let user = store
            .create_user(owner("ada@example.com"), 1_000)
            .await
            .unwrap();
        let new = |name: &str, hash: &str| NewApiToken {
            user_id: user.id.clone(),
            name: name.to_owned(),
            prefix: "tth_abcd".to_owned(),
            secret_hash: hash.to_owned(),
        };
        let ci = store
            .create_api_token(new("ci", "h1"), 1_000)
            .await
            .unwrap();
        let taken = store
            .create_api_token(new("ci", "h2"), 2_000)
            .await
            .unwrap_err();
        assert!(
            matches!(taken, Error::Conflict { what: "token", .. }),
            "{taken}"
        );
        let (found_user, token) = store.api_token_user("h1", 5_000).await.unwrap().unwrap();
        assert_eq!(found_user, user);
        assert_eq!(token.id, ci.id);
        assert_eq!(
            store.api_tokens(false).await.unwrap()[0].last_used_at_ms,
            Some(5_000)
        );
        assert!(store.api_token_user("h2", 5_000).await.unwrap().is_none());

        let revoked = store.revoke_api_token("ci", 6_000).await.unwrap();
        assert_eq!(revoked.revoked_at_ms, Some(6_000));
        assert!(store.api_token_user("h1", 7_000).await.unwrap().is_none());
        assert!(store.revoke_api_token(&ci.id, 7_000).await.is_err());
        let again = store
            .create_api_token(new("ci", "h3"), 8_000)
            .await
            .unwrap();
        assert!(
            store
                .api_tokens(false)
                .await
                .unwrap()
                .iter()
                .all(|t| t.id == again.id)
        );
        assert_eq!(store.api_tokens(true).await.unwrap().len(), 2);
        store.revoke_api_token(&again.id, 9_000).await.unwrap();
        assert!(store.api_tokens(false).await.unwrap().is_empty());
    }
);

both!(
    a_login_token_signs_in_once_before_it_expires,
    |store: Store| async move {
        let user = store
            .create_user(owner("ada@example.com"), 1_000)
            .await
            .unwrap();
        store
            .create_one_time_token("l1", OneTimePurpose::Login, Some(&user.id), 1_000, 5_000)
            .await
            .unwrap();
        store
            .create_one_time_token("l2", OneTimePurpose::Login, Some(&user.id), 1_000, 5_000)
            .await
            .unwrap();
        assert_eq!(
            store.redeem_login_token("l2", 6_000).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            store.redeem_login_token("l1", 2_000).await.unwrap(),
            Some(user)
        );
        assert_eq!(
            store.redeem_login_token("l1", 2_000).await.unwrap(),
            None,
            "spent"
        );
    }
);

both!(
    failed_logins_are_counted_per_subject_and_cleared,
    |store: Store| async move {
        for at in [1_000, 2_000, 3_000] {
            store
                .record_login_failure(&["email:ada@example.com", "addr:127.0.0.1"], at)
                .await
                .unwrap();
        }
        store
            .record_login_failure(&["addr:127.0.0.2"], 3_000)
            .await
            .unwrap();
        assert_eq!(
            store
                .login_failures("email:ada@example.com", 0)
                .await
                .unwrap(),
            (3, Some(1_000))
        );
        assert_eq!(
            store.login_failures("addr:127.0.0.1", 1_500).await.unwrap(),
            (2, Some(2_000))
        );
        store
            .clear_login_failures(&["email:ada@example.com", "addr:127.0.0.1"])
            .await
            .unwrap();
        assert_eq!(
            store
                .login_failures("email:ada@example.com", 0)
                .await
                .unwrap(),
            (0, None)
        );
        assert_eq!(
            store.login_failures("addr:127.0.0.2", 0).await.unwrap().0,
            1
        );
    }
);

//! OAuth authorizations in flight: the `state` a person's browser carries to the app's consent
//! page and back, with the pending request sealed beside it. Single use and expiring, so a
//! replayed or stale callback finds nothing.

use rand_core::{OsRng, RngCore};
use sqlx::Row;
use tether_core::Secret;

use crate::{Error, Store, now_ms};

/// A pending authorization, taken back by its state.
#[derive(Debug, Clone)]
pub struct OAuthState {
    /// The app (`ghl`, `flickr`).
    pub app: String,
    /// What the caller kept to complete it (JSON; sealed at rest).
    pub request: Secret,
}

impl Store {
    /// Keeps `request` for an authorization of `app` until `expires_at_ms` and answers its new
    /// state: 32 random bytes, URL-safe. Forgets expired states on the way.
    pub async fn create_oauth_state(
        &self,
        app: &str,
        request: &Secret,
        expires_at_ms: i64,
    ) -> Result<String, Error> {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let state: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.put_oauth_state(&state, app, request, expires_at_ms)
            .await?;
        Ok(state)
    }

    /// Keeps `request` under a state the caller chose: an OAuth 1.0a request token, which the
    /// app echoes to the callback and which is random and single use at the app already.
    pub async fn put_oauth_state(
        &self,
        state: &str,
        app: &str,
        request: &Secret,
        expires_at_ms: i64,
    ) -> Result<(), Error> {
        let now = now_ms();
        sqlx::query("DELETE FROM oauth_states WHERE expires_at_ms <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let sealed = self.vault.seal(&format!("oauth:{state}"), request)?;
        sqlx::query(
            "INSERT INTO oauth_states (state, app, sealed_request, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state)
        .bind(app)
        .bind(sealed)
        .bind(expires_at_ms)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the pending authorization of `state` for `app`: answers it once, and `None` when
    /// it is unknown, used already, expired, or for another app.
    pub async fn take_oauth_state(
        &self,
        app: &str,
        state: &str,
    ) -> Result<Option<OAuthState>, Error> {
        let row = sqlx::query(
            "DELETE FROM oauth_states WHERE state = $1 RETURNING app, sealed_request, expires_at_ms",
        )
        .bind(state)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored_app: String = row.try_get("app")?;
        let expires_at_ms: i64 = row.try_get("expires_at_ms")?;
        if stored_app != app || expires_at_ms <= now_ms() {
            return Ok(None);
        }
        let sealed: Vec<u8> = row.try_get("sealed_request")?;
        let request = self.vault.open(&format!("oauth:{state}"), &sealed)?;
        Ok(Some(OAuthState {
            app: stored_app,
            request,
        }))
    }
}

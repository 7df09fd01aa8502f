//! Tokens the simulator issued, and the authenticated caller a handler sees.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};

use super::error::{GhlError, GhlResult};

/// The kinds of bearer token GHL issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Sub-account OAuth access token.
    Location,
    /// Agency OAuth access token.
    Company,
    /// Private integration token of a sub-account.
    Pit,
}

/// What an access token grants.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// The token kind.
    pub kind: TokenKind,
    /// The Marketplace app (client id) it was issued to; `pit` for private integration tokens.
    pub app_id: String,
    /// The location, for location tokens and PITs.
    pub location_id: Option<String>,
    /// The agency.
    pub company_id: String,
    /// The installing user.
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When it stops working; `None` for PITs.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AccessGrant {
    /// The resource rate limits are counted against: the location, else the agency.
    pub fn resource_id(&self) -> &str {
        self.location_id.as_deref().unwrap_or(&self.company_id)
    }
}

/// A refresh token's grant (single use: redeeming it removes it).
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    /// The access grant a refresh re-issues.
    pub grant: AccessGrant,
    /// The client secret's owner, checked on redemption.
    pub client_id: String,
}

/// An authorization code's grant (single use, short-lived).
#[derive(Debug, Clone)]
pub struct CodeGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// `Location` or `Company`.
    pub user_type: TokenKind,
    /// The chosen location (location installs).
    pub location_id: Option<String>,
    /// The agency.
    pub company_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry of the code itself.
    pub expires_at: DateTime<Utc>,
}

/// A Marketplace app installed on a location or an agency: what `GET /oauth/installedLocations`
/// lists, what `/oauth/locationToken` requires and what routes events to the app's webhook URL.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The app's client id.
    pub client_id: String,
    /// The agency of the location.
    pub company_id: String,
    /// The location; `None` for the agency-level record of a company install.
    pub location_id: Option<String>,
    /// The user who installed it.
    pub user_id: String,
    /// Whether an agency-level (bulk) install put it there.
    pub by_company: bool,
    /// When it was installed.
    pub installed_at: DateTime<Utc>,
}

/// Every credential the simulator issued.
#[derive(Debug, Default)]
pub struct Tokens {
    /// Access tokens and PITs → what they grant.
    pub access: RwLock<HashMap<String, AccessGrant>>,
    /// Refresh tokens → what they re-issue.
    pub refresh: Mutex<HashMap<String, RefreshGrant>>,
    /// Authorization codes → what they exchange for.
    pub codes: Mutex<HashMap<String, CodeGrant>>,
    /// App installations by `(client id, location id)`; agency installs by `(client id, company id)`.
    pub installs: RwLock<HashMap<(String, String), Installation>>,
}

impl Tokens {
    /// Registers a private integration token with every scope the simulator serves, on `location_id`.
    pub fn add_pit(&self, token: &str, location_id: &str, company_id: &str) {
        self.access.write().insert(
            token.to_owned(),
            AccessGrant {
                kind: TokenKind::Pit,
                app_id: format!("pit:{token}"),
                location_id: Some(location_id.to_owned()),
                company_id: company_id.to_owned(),
                user_id: "sim-user-owner".into(),
                scopes: super::ops::all_location_scopes(),
                expires_at: None,
            },
        );
    }

    /// The grant of a presented access token, or the 401 the API answers.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> GhlResult<AccessGrant> {
        let grant = self.access.read().get(token).cloned().ok_or_else(|| {
            GhlError::Unauthorized("Invalid token: access token is invalid".into())
        })?;
        if grant.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(GhlError::Unauthorized("Invalid JWT".into()));
        }
        Ok(grant)
    }

    /// Revokes every access and refresh token of an app on a resource (uninstall).
    pub fn revoke_app(&self, app_id: &str, resource_id: &str) -> usize {
        let matches = |grant: &AccessGrant| {
            grant.app_id == app_id
                && (grant.location_id.as_deref() == Some(resource_id)
                    || grant.company_id == resource_id)
        };
        let mut access = self.access.write();
        let before = access.len();
        access.retain(|_, grant| !matches(grant));
        let n_revoked = before - access.len();
        self.refresh
            .lock()
            .retain(|_, refresh| !matches(&refresh.grant));
        n_revoked
    }
}

/// The authenticated caller of an operation, put in the request's extensions by the gate.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The presented token.
    pub token: String,
    /// What it grants.
    pub grant: AccessGrant,
}

impl Caller {
    /// The location the token is for, or 403 for an agency token on a location route.
    pub fn location_id(&self) -> GhlResult<&str> {
        self.grant.location_id.as_deref().ok_or_else(|| {
            GhlError::Forbidden("The token does not have access to this location".into())
        })
    }

    /// Checks that a `locationId` given in a query or body is the token's own.
    pub fn check_location(&self, location_id: &str) -> GhlResult<()> {
        if self.location_id()? == location_id {
            Ok(())
        } else {
            Err(GhlError::Forbidden(
                "The token does not have access to this location".into(),
            ))
        }
    }
}

//! Accounts and sign-in: first-start setup, e-mail + password sessions, API tokens, password
//! resets, and throttling of password guessing.
//!
//! - **Setup.** While no owner exists, [`Service::issue_setup_token`] makes a single-use token
//!   (printed by `tether serve` as `{public_url}/setup?token=…`); [`Service::complete_setup`]
//!   spends it to create the owner and sign them in. There is never a default password.
//! - **Passwords** are hashed with Argon2id at OWASP's parameters ([`ARGON2_MEMORY_KIB`],
//!   [`ARGON2_ITERATIONS`], [`ARGON2_PARALLELISM`]) and verified in constant time; shorter than
//!   [`MIN_PASSWORD_CHARS`] characters is refused.
//! - **Sessions and tokens** are random 256-bit values handed out once; the store keeps only their
//!   SHA-256, so a copy of the database opens nothing.
//! - **Throttling.** After [`MAX_FAILURES`] failed sign-ins within [`FAILURE_WINDOW`] for one
//!   e-mail address or one client address, sign-in answers `too_many_requests` with a
//!   [`RetryAfter`] in the error's source until the window has passed; a success clears both.
//!   A wrong current password given to [`Service::change_password`] counts as a failed sign-in.

use std::net::IpAddr;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tether_store::{ApiToken, NewApiToken, NewUser, OneTimePurpose, Role, User, now_ms};
use utoipa::ToSchema;

use crate::error::Result;
use crate::{Error, ErrorCode, Page, Service};

/// Argon2id memory cost, KiB (OWASP: 19 MiB).
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
/// Argon2id iterations (OWASP: 2).
pub const ARGON2_ITERATIONS: u32 = 2;
/// Argon2id parallelism (OWASP: 1).
pub const ARGON2_PARALLELISM: u32 = 1;
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Failed sign-ins tolerated per e-mail address and per client address within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: i64 = 5;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long a setup token is valid.
pub const SETUP_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a one-time login link (`tether demo`) is valid.
pub const LOGIN_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// What every API token starts with.
pub const TOKEN_PREFIX: &str = "tth_";

/// A person, as the API shows them: never their password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// `usr_` and 16 hex digits.
    pub id: String,
    /// Lowercased e-mail address.
    pub email: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// `owner` or `member`.
    pub role: String,
    /// When the account was created (RFC 3339).
    pub created_at: String,
}

impl From<User> for UserInfo {
    fn from(user: User) -> Self {
        UserInfo {
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: user.role.as_str().to_owned(),
            created_at: time(user.created_at_ms),
        }
    }
}

/// An API token as listed: its name and the first characters of the token, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// `tok_` and 16 hex digits.
    pub id: String,
    /// Its name, unique among live tokens.
    pub name: String,
    /// The token's first characters (`tth_AbCdEfGh`), to tell tokens apart.
    pub prefix: String,
    /// The id of the user it acts as.
    pub user_id: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last authenticated a request (RFC 3339), to the minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// When it was revoked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenInfo {
    fn from(token: ApiToken) -> Self {
        TokenInfo {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            user_id: token.user_id,
            created_at: time(token.created_at_ms),
            last_used_at: token.last_used_at_ms.map(time),
            revoked_at: token.revoked_at_ms.map(time),
        }
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// The token (`tth_…`): send it as `Authorization: Bearer …`. It cannot be shown again.
    pub token: String,
    /// The token as listed.
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// A session just started. `secret` goes into the session cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The random session id, handed to the client once.
    pub secret: String,
    /// Who is signed in.
    pub user: UserInfo,
    /// How long the session lasts.
    pub lifetime: Duration,
}

/// Who a request acts as, and how it proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user: UserInfo,
    /// How the request authenticated.
    pub method: AuthMethod,
}

impl Principal {
    /// Whose tokens this principal may list and revoke: everyone's for an owner (`None`),
    /// their own for a member.
    pub fn scope(&self) -> Option<&str> {
        (self.user.role != Role::Owner.as_str()).then_some(self.user.id.as_str())
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A session cookie (a browser): unsafe requests get CSRF checks.
    Session,
    /// An API token (`Authorization: Bearer`), with its id.
    Token(String),
}

/// Attached as the [`Error::source`] of a throttled sign-in: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("retry after {0:?}")]
pub struct RetryAfter(pub Duration);

/// Whether first-start setup is still to be done.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// `true` while no owner exists: `POST /auth/setup` with the printed token creates one.
    pub needed: bool,
}

/// The owner to create at first start.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupRequest {
    /// The setup token from the URL `tether serve` printed.
    pub token: String,
    /// The owner's e-mail address.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// The name shown in the UI; defaults to the e-mail address's local part.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A person to create (CLI, tests, the demo).
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// E-mail address.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// Shown in the UI; defaults to the e-mail address's local part.
    pub display_name: Option<String>,
    /// Owner or member.
    pub role: Role,
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// 32 random bytes, URL-safe base64 (43 characters).
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 of a secret: what the store keeps and looks up by.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .unwrap_or_else(|_| unreachable!("OWASP's parameters are valid Argon2 parameters"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password shorter than [`MIN_PASSWORD_CHARS`] characters, naming the field.
fn check_password(field: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "{field}: a password needs at least {MIN_PASSWORD_CHARS} characters, this one has \
             {chars}"
        )));
    }
    Ok(())
}

/// Refuses what is not an e-mail address, naming the field.
fn check_email(field: &str, email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if !valid {
        return Err(Error::invalid(format!(
            "{field}: {email:?} is not an e-mail address (expected name@domain)"
        )));
    }
    Ok(email.to_lowercase())
}

/// At most this many Argon2 computations run at once: each holds 19 MiB, so a flood of
/// sign-ins queues here instead of exhausting memory.
const CONCURRENT_HASHES: usize = 4;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);

async fn hashing_permit() -> Result<tokio::sync::SemaphorePermit<'static>> {
    HASHING.acquire().await.map_err(Error::internal)
}

/// The Argon2id PHC string of `password` (on a blocking thread: it takes tens of ms by design).
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| Error::internal(error.to_string()))
    })
    .await
    .map_err(Error::internal)?
}

/// Whether `password` matches the PHC string `stored` (constant-time comparison, parameters from
/// the string).
async fn verify_password(password: &str, stored: String) -> Result<bool> {
    let password = password.to_owned();
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|error| Error::internal(format!("stored password hash: {error}")))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(Error::internal)?
}

/// A hash of no one's password, verified against when the e-mail address is unknown so that
/// answering takes as long as for a known one.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn unauthenticated_login() -> Error {
    Error::new(
        ErrorCode::Unauthenticated,
        "wrong e-mail address or password",
    )
}

impl Service {
    /// Whether setup is still to be done (no owner exists).
    pub async fn setup_needed(&self) -> Result<bool> {
        Ok(!self.store().has_owner().await?)
    }

    /// While no owner exists, a new single-use setup token (valid [`SETUP_TOKEN_LIFETIME`];
    /// it replaces any earlier one); `None` once setup is done.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        if !self.setup_needed().await? {
            return Ok(None);
        }
        let token = random_secret();
        let now = now_ms();
        self.store()
            .create_one_time_token(
                &secret_hash(&token),
                OneTimePurpose::Setup,
                None,
                now,
                now + ms(SETUP_TOKEN_LIFETIME),
            )
            .await?;
        Ok(Some(token))
    }

    /// Where a person completes setup with `token`: `{public_url}/setup?token=…`.
    pub fn setup_url(&self, token: &str) -> url::Url {
        self.page_url("setup", token)
    }

    /// Where a person signs in once with a login link's `token`: `{public_url}/login?token=…`.
    pub fn login_url(&self, token: &str) -> url::Url {
        self.page_url("login", token)
    }

    fn page_url(&self, page: &str, token: &str) -> url::Url {
        let mut url = self.settings().public_url.clone();
        let path = format!("{}/{page}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().clear().append_pair("token", token);
        url
    }

    /// Creates the owner with a setup token and signs them in. Refused when setup is done
    /// (`conflict`), the token is unknown, spent or expired (`forbidden`), or the e-mail address
    /// or password is unusable (`invalid`, naming the field).
    pub async fn complete_setup(&self, request: SetupRequest) -> Result<NewSession> {
        let email = check_email("email", &request.email)?;
        check_password("password", &request.password)?;
        if !self.setup_needed().await? {
            return Err(Error::conflict(
                "setup is done: an owner exists; sign in instead",
            ));
        }
        let new = NewUser {
            display_name: display_name(request.display_name, &email),
            email,
            role: Role::Owner,
            password_hash: hash_password(&request.password).await?,
        };
        let user = self
            .store()
            .setup_owner(&secret_hash(request.token.trim()), new, now_ms())
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::Forbidden,
                    "token: the setup token is unknown, used or expired; restart `tether serve` \
                     for a new setup URL",
                )
            })?;
        tracing::info!(user = %user.id, "Setup done: the owner exists.");
        self.start_session(user).await
    }

    /// Creates a person directly (CLI, tests, the demo): no token needed, since whoever runs
    /// this has the data folder already.
    pub async fn create_account(&self, account: NewAccount) -> Result<UserInfo> {
        let email = check_email("email", &account.email)?;
        check_password("password", &account.password)?;
        let new = NewUser {
            display_name: display_name(account.display_name, &email),
            email,
            role: account.role,
            password_hash: hash_password(&account.password).await?,
        };
        match self.store().create_user(new, now_ms()).await {
            Ok(user) => Ok(user.into()),
            Err(tether_store::Error::Conflict { name, .. }) => Err(Error::conflict(format!(
                "email: a user with the e-mail address {name} exists already"
            ))),
            Err(error) => Err(error.into()),
        }
    }

    /// Signs in with e-mail and password from `client` (the peer's address, for throttling).
    /// Wrong credentials answer `unauthenticated` without saying which was wrong; too many
    /// failures answer `too_many_requests` with a [`RetryAfter`] source.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<NewSession> {
        let email = email.trim().to_lowercase();
        let subjects = throttle_subjects(&email, client);
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let now = now_ms();
        self.refuse_when_throttled(&subjects).await?;
        let found = self.store().user_with_password(&email).await?;
        let verified = match found {
            Some((user, hash)) => verify_password(password, hash).await?.then_some(user),
            None => {
                let dummy = DUMMY_HASH
                    .get_or_try_init(|| hash_password("no one's password, never valid"))
                    .await?;
                verify_password(password, dummy.clone()).await?;
                None
            }
        };
        match verified {
            Some(user) => {
                self.store().clear_login_failures(&subjects).await?;
                self.start_session(user).await
            }
            None => {
                self.store().record_login_failure(&subjects, now).await?;
                tracing::warn!(client = ?client, "A sign-in failed: wrong e-mail address or password.");
                Err(unauthenticated_login())
            }
        }
    }

    async fn start_session(&self, user: User) -> Result<NewSession> {
        let secret = random_secret();
        let now = now_ms();
        self.store()
            .create_session(
                &secret_hash(&secret),
                &user.id,
                now,
                now + ms(SESSION_LIFETIME),
            )
            .await?;
        Ok(NewSession {
            secret,
            user: user.into(),
            lifetime: SESSION_LIFETIME,
        })
    }

    /// Ends the session with this secret (a no-op for an unknown one).
    pub async fn logout(&self, session_secret: &str) -> Result<()> {
        self.store()
            .delete_session(&secret_hash(session_secret))
            .await?;
        Ok(())
    }

    /// Who the session with this secret belongs to; `None` when unknown or expired.
    pub async fn authenticate_session(&self, session_secret: &str) -> Result<Option<Principal>> {
        let user = self
            .store()
            .session_user(&secret_hash(session_secret), now_ms())
            .await?;
        Ok(user.map(|user| Principal {
            user: user.into(),
            method: AuthMethod::Session,
        }))
    }

    /// Who the API token acts as; `None` when unknown or revoked.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Principal>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let found = self
            .store()
            .api_token_user(&secret_hash(token), now_ms())
            .await?;
        Ok(found.map(|(user, token)| Principal {
            user: user.into(),
            method: AuthMethod::Token(token.id),
        }))
    }

    /// A single-use login link token for the user with this e-mail address, valid
    /// [`LOGIN_LINK_LIFETIME`] (`tether demo` prints it as [`Service::login_url`]).
    pub async fn create_login_link(&self, email: &str) -> Result<String> {
        let (user, _) = self
            .store()
            .user_with_password(email)
            .await?
            .ok_or_else(|| Error::not_found(format!("user with the e-mail address {email}")))?;
        let token = random_secret();
        let now = now_ms();
        self.store()
            .create_one_time_token(
                &secret_hash(&token),
                OneTimePurpose::Login,
                Some(&user.id),
                now,
                now + ms(LOGIN_LINK_LIFETIME),
            )
            .await?;
        Ok(token)
    }

    /// Spends a login link's token and signs its user in; `unauthenticated` when it is unknown,
    /// used or expired.
    pub async fn login_with_link(&self, token: &str) -> Result<NewSession> {
        let user = self
            .store()
            .redeem_login_token(&secret_hash(token.trim()), now_ms())
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::Unauthenticated,
                    "token: the login link is unknown, used or expired",
                )
            })?;
        self.start_session(user).await
    }

    /// Creates an API token named `name` acting as the user with the id `user_id`; the answer
    /// holds the secret, which is never shown again.
    pub async fn create_token(&self, user_id: &str, name: &str) -> Result<CreatedToken> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(Error::invalid(format!(
                "name: {name:?} is not a token name (1 to 64 letters, digits, `-`, `_` or `.`)"
            )));
        }
        if self.store().user(user_id).await?.is_none() {
            return Err(Error::not_found(format!("user {user_id}")));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_secret());
        let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 8).collect();
        let stored = self
            .store()
            .create_api_token(
                NewApiToken {
                    user_id: user_id.to_owned(),
                    name: name.to_owned(),
                    prefix,
                    secret_hash: secret_hash(&token),
                },
                now_ms(),
            )
            .await
            .map_err(|error| match error {
                tether_store::Error::Conflict { name, .. } => Error::conflict(format!(
                    "name: a live token named {name:?} exists already; revoke it or pick another \
                     name"
                )),
                other => other.into(),
            })?;
        Ok(CreatedToken {
            token,
            info: stored.into(),
        })
    }

    /// Creates an API token for the user with this e-mail address (the CLI's `--user`), or for
    /// the only owner when `email` is `None`.
    pub async fn create_token_for(&self, email: Option<&str>, name: &str) -> Result<CreatedToken> {
        let user = match email {
            Some(email) => self
                .store()
                .user_with_password(email)
                .await?
                .map(|(user, _)| user)
                .ok_or_else(|| Error::not_found(format!("user with the e-mail address {email}")))?,
            None => {
                let owners: Vec<User> = self
                    .store()
                    .users()
                    .await?
                    .into_iter()
                    .filter(|user| user.role == Role::Owner)
                    .collect();
                match owners.as_slice() {
                    [owner] => owner.clone(),
                    [] => {
                        return Err(Error::conflict(
                            "no owner exists yet: finish setup first (the URL `tether serve` \
                             prints)",
                        ));
                    }
                    _ => {
                        return Err(Error::invalid(
                            "user: several owners exist; name one with --user EMAIL",
                        ));
                    }
                }
            }
        };
        self.create_token(&user.id, name).await
    }

    /// Live API tokens, newest first, `limit` (1 to 200) at a time from `cursor`: every user's,
    /// or only those of the user with the id `owned_by`.
    pub async fn tokens(
        &self,
        limit: usize,
        cursor: Option<&str>,
        owned_by: Option<&str>,
    ) -> Result<Page<TokenInfo>> {
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit: must be between 1 and 200, got {limit}"
            )));
        }
        let mut all = self.store().api_tokens(false).await?;
        if let Some(user_id) = owned_by {
            all.retain(|token| token.user_id == user_id);
        }
        let start = match cursor {
            None => 0,
            Some(cursor) => {
                let after = URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| Error::invalid("cursor: not a cursor this API gave out"))?;
                // A cursor names the last token seen; a revoked one ends the list early, never
                // repeats an item.
                all.iter()
                    .position(|token| token.id == after)
                    .map_or(all.len(), |at| at + 1)
            }
        };
        let items: Vec<TokenInfo> = all
            .iter()
            .skip(start)
            .take(limit)
            .cloned()
            .map(Into::into)
            .collect();
        let next_cursor = (start + items.len() < all.len())
            .then(|| items.last().map(|last| URL_SAFE_NO_PAD.encode(&last.id)))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// Revokes the live token with this id or name (among those of the user with the id
    /// `owned_by`, when given); it authenticates nothing from now on.
    pub async fn revoke_token(
        &self,
        id_or_name: &str,
        owned_by: Option<&str>,
    ) -> Result<TokenInfo> {
        if let Some(user_id) = owned_by {
            let owns = self.store().api_tokens(false).await?.iter().any(|token| {
                (token.id == id_or_name || token.name == id_or_name) && token.user_id == user_id
            });
            if !owns {
                return Err(Error::not_found(format!(
                    "live token {id_or_name:?} of yours"
                )));
            }
        }
        match self.store().revoke_api_token(id_or_name, now_ms()).await {
            Ok(token) => Ok(token.into()),
            Err(tether_store::Error::NotFound { .. }) => {
                Err(Error::not_found(format!("live token {id_or_name:?}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Changes the password of the person `principal` acts as, given their `current` one, from
    /// `client` (for throttling). Every session of theirs ends; when the request came with a
    /// session (`by_session`), a new one is answered for it, so only the *other* sessions end.
    /// API tokens stay. A wrong current password counts as a failed sign-in of that person and
    /// address, and is throttled like one (`too_many_requests` with a [`RetryAfter`] source).
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        client: Option<IpAddr>,
        by_session: bool,
    ) -> Result<Option<NewSession>> {
        check_password("new", new)?;
        if new == current {
            return Err(Error::invalid(
                "new: the new password is the current one; choose another",
            ));
        }
        let email = principal.user.email.clone();
        let subjects = throttle_subjects(&email, client);
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        self.refuse_when_throttled(&subjects).await?;
        let (user, hash) = self
            .store()
            .user_with_password(&email)
            .await?
            .ok_or_else(|| Error::not_found(format!("user {}", principal.user.id)))?;
        if !verify_password(current, hash).await? {
            self.store()
                .record_login_failure(&subjects, now_ms())
                .await?;
            tracing::warn!(user = %user.id, client = ?client, "A password change gave a wrong current password.");
            return Err(Error::new(
                ErrorCode::Forbidden,
                "current: the current password is wrong",
            ));
        }
        self.store().clear_login_failures(&subjects).await?;
        let hash = hash_password(new).await?;
        let user = self.store().set_password(&email, &hash, now_ms()).await?;
        tracing::info!(user = %user.id, "A password was changed; the other sessions ended.");
        if by_session {
            Ok(Some(self.start_session(user).await?))
        } else {
            Ok(None)
        }
    }

    /// `too_many_requests` when any of `subjects` failed [`MAX_FAILURES`] times within
    /// [`FAILURE_WINDOW`], with how long to wait.
    async fn refuse_when_throttled(&self, subjects: &[&str]) -> Result<()> {
        let now = now_ms();
        let window = ms(FAILURE_WINDOW);
        let mut retry_after: Option<i64> = None;
        for subject in subjects {
            let (failures, oldest) = self.store().login_failures(subject, now - window).await?;
            if failures >= MAX_FAILURES {
                let wait = oldest
                    .map_or(window, |oldest| oldest + window - now)
                    .max(1_000);
                retry_after = Some(retry_after.map_or(wait, |other| other.max(wait)));
            }
        }
        if let Some(wait) = retry_after {
            let secs = u64::try_from(wait).unwrap_or(1).div_ceil(1000);
            return Err(Error {
                source: Some(Box::new(RetryAfter(Duration::from_secs(secs)))),
                ..Error::new(
                    ErrorCode::TooManyRequests,
                    format!(
                        "too many failed sign-ins for this e-mail address or from this address; \
                         try again in {secs} s"
                    ),
                )
            });
        }
        Ok(())
    }

    /// Sets a new password for the user with this e-mail address (recovery from the CLI) and
    /// ends their sessions.
    pub async fn reset_password(&self, email: &str, password: &str) -> Result<UserInfo> {
        check_password("password", password)?;
        let hash = hash_password(password).await?;
        match self.store().set_password(email, &hash, now_ms()).await {
            Ok(user) => Ok(user.into()),
            Err(tether_store::Error::NotFound { .. }) => Err(Error::not_found(format!(
                "user with the e-mail address {}",
                email.trim()
            ))),
            Err(error) => Err(error.into()),
        }
    }
}

/// What failed sign-ins are counted by: the e-mail address, and the client's address when known.
fn throttle_subjects(email: &str, client: Option<IpAddr>) -> Vec<String> {
    std::iter::once(format!("email:{email}"))
        .chain(client.map(|address| format!("addr:{address}")))
        .collect()
}

fn display_name(given: Option<String>, email: &str) -> String {
    given
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned())
}

/// A random password of 20 URL-safe characters (`tether admin reset-password` without input).
pub fn generate_password() -> String {
    let mut bytes = [0u8; 15];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_and_non_addresses_are_refused_by_field() {
        let error = check_password("password", "elevenchars").unwrap_err();
        assert_eq!(error.code, ErrorCode::Invalid);
        assert!(error.message.starts_with("password: "), "{}", error.message);
        assert!(error.message.contains("at least 12"), "{}", error.message);
        assert!(check_password("password", "twelve chars").is_ok());
        assert!(
            check_password("password", "ééééééééééé").is_err(),
            "characters, not bytes"
        );
        assert!(check_email("email", "ada").is_err());
        assert!(check_email("email", "a da@x").is_err());
        assert_eq!(check_email("email", " Ada@X.org ").unwrap(), "ada@x.org");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse battery").await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
        assert!(
            verify_password("correct horse battery", hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password("correct horse batterY", hash)
                .await
                .unwrap()
        );
    }

    #[test]
    fn secrets_are_random_and_hashes_are_hex_sha256() {
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_secret().len(), 43);
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

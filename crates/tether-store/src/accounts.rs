//! Accounts: users, their server-side sessions and API tokens, single-use tokens (first-start
//! setup, a demo's sign-in link) and failed sign-ins, which the service counts to throttle
//! guessing.
//!
//! The store keeps no secret in the clear and computes no hash: the service hands it Argon2id
//! PHC strings for passwords and the hex SHA-256 of every random value it gives out (session ids,
//! API token secrets, one-time tokens), and looks rows up by those hashes. A leaked database
//! therefore opens no session and no token.

use rand_core::{OsRng, RngCore};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store};

/// What a user may do. The first user, created by setup, is the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created at setup; may do everything, including managing people.
    Owner,
    /// Everything but managing people.
    Member,
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    fn parse(text: &str) -> Result<Role, Error> {
        match text {
            "owner" => Ok(Role::Owner),
            "member" => Ok(Role::Member),
            other => Err(Error::Corrupt {
                field: "users.role",
                reason: format!("unknown role {other:?}"),
            }),
        }
    }
}

/// A user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `usr_` and 16 hex digits.
    pub id: String,
    /// Lowercased e-mail address; unique.
    pub email: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// Owner or member.
    pub role: Role,
    /// When created (ms since the epoch).
    pub created_at_ms: i64,
    /// When last changed (a password reset counts).
    pub updated_at_ms: i64,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The e-mail address; stored lowercased.
    pub email: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// Owner or member.
    pub role: Role,
    /// The Argon2id PHC string of the password.
    pub password_hash: String,
}

/// An API token as listed: never its secret, nor the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// `tok_` and 16 hex digits.
    pub id: String,
    /// Its owner.
    pub user_id: String,
    /// Its name, unique among live tokens.
    pub name: String,
    /// The first characters of the token (`tth_AbCd`), to tell tokens apart.
    pub prefix: String,
    /// When created.
    pub created_at_ms: i64,
    /// When last used to authenticate a request.
    pub last_used_at_ms: Option<i64>,
    /// When revoked; a revoked token authenticates nothing.
    pub revoked_at_ms: Option<i64>,
}

/// An API token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Its owner.
    pub user_id: String,
    /// Its name, unique among live tokens.
    pub name: String,
    /// Its first characters, for display.
    pub prefix: String,
    /// The hex SHA-256 of the whole token.
    pub secret_hash: String,
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimePurpose {
    /// Creating the owner on first start.
    Setup,
    /// Signing a given user in once (the demo's login link).
    Login,
}

impl OneTimePurpose {
    fn as_str(self) -> &'static str {
        match self {
            OneTimePurpose::Setup => "setup",
            OneTimePurpose::Login => "login",
        }
    }
}

fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

macro_rules! user_columns {
    () => {
        "id, email, display_name, role, created_at_ms, updated_at_ms"
    };
}
/// The user columns in a join where `u` is `users`.
macro_rules! joined_user_columns {
    () => {
        "u.id, u.email, u.display_name, u.role, u.created_at_ms, u.updated_at_ms"
    };
}
macro_rules! token_columns {
    () => {
        "id, user_id, name, prefix, created_at_ms, last_used_at_ms, revoked_at_ms"
    };
}

fn user_from_row(row: &AnyRow) -> Result<User, Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&row.try_get::<String, _>("role")?)?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<ApiToken, Error> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
    })
}

/// A session's `last_seen_at_ms` is written at most this often, so reads do not each write.
const TOUCH_EVERY_MS: i64 = 60_000;

impl Store {
    /// Stores a new user; [`Error::Conflict`] when the e-mail address is taken.
    pub async fn create_user(&self, new: NewUser, now_ms: i64) -> Result<User, Error> {
        let mut connection = self.pool.acquire().await?;
        insert_user(&mut connection, new, now_ms).await
    }

    /// Creates the owner with the setup token whose hash is `token_hash`, in one transaction: the
    /// token is spent and the user created, or neither. Answers `None` (and changes nothing)
    /// when no such unexpired setup token exists or an owner exists already.
    pub async fn setup_owner(
        &self,
        token_hash: &str,
        new: NewUser,
        now_ms: i64,
    ) -> Result<Option<User>, Error> {
        let mut transaction = self.pool.begin().await?;
        let spent = sqlx::query(
            "DELETE FROM one_time_tokens WHERE token_hash = $1 AND purpose = 'setup' \
             AND expires_at_ms > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .execute(&mut *transaction)
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(None);
        }
        let owners: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'owner'")
            .fetch_one(&mut *transaction)
            .await?
            .try_get("n")?;
        if owners > 0 {
            return Ok(None);
        }
        let user = insert_user(&mut transaction, new, now_ms).await?;
        transaction.commit().await?;
        Ok(Some(user))
    }

    /// Whether any owner exists (setup is done).
    pub async fn has_owner(&self) -> Result<bool, Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'owner'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The user with this id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user with this e-mail address (any case) and the PHC string of their password.
    pub async fn user_with_password(&self, email: &str) -> Result<Option<(User, String)>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
        }
    }

    /// Every user, oldest first.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY created_at_ms, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces the password of the user with this e-mail address and ends all their sessions
    /// (whoever knew the old password is signed out). [`Error::NotFound`] without such a user.
    pub async fn set_password(
        &self,
        email: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<User, Error> {
        let email = email.trim().to_lowercase();
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "UPDATE users SET password_hash = $2, updated_at_ms = $3 WHERE email = $1 RETURNING ",
            user_columns!()
        ))
        .bind(&email)
        .bind(password_hash)
        .bind(now_ms)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                what: "user",
                name: email,
            });
        };
        let user = user_from_row(&row)?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user.id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(user)
    }

    /// Stores a session of `user_id` under the hash of its id, valid until `expires_at_ms`.
    /// Expired sessions of every user are removed on the way.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at_ms, last_seen_at_ms, \
             expires_at_ms) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user of the unexpired session whose id hashes to `id_hash`; records that it was seen.
    pub async fn session_user(&self, id_hash: &str, now_ms: i64) -> Result<Option<User>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            joined_user_columns!(),
            ", s.last_seen_at_ms FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at_ms > $2"
        ))
        .bind(id_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen_at_ms")?;
        if now_ms - last_seen >= TOUCH_EVERY_MS {
            sqlx::query("UPDATE sessions SET last_seen_at_ms = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
        }
        user_from_row(&row).map(Some)
    }

    /// Ends the session whose id hashes to `id_hash` (nothing when there is none).
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores an API token; [`Error::Conflict`] when a live token has that name.
    pub async fn create_api_token(&self, new: NewApiToken, now_ms: i64) -> Result<ApiToken, Error> {
        let id = new_id("tok");
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, prefix, secret_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&new.user_id)
        .bind(&new.name)
        .bind(&new.prefix)
        .bind(&new.secret_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(ApiToken {
                id,
                user_id: new.user_id,
                name: new.name,
                prefix: new.prefix,
                created_at_ms: now_ms,
                last_used_at_ms: None,
                revoked_at_ms: None,
            }),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(Error::Conflict {
                    what: "token",
                    name: new.name,
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// API tokens, newest first: live ones only, or revoked ones too.
    pub async fn api_tokens(&self, include_revoked: bool) -> Result<Vec<ApiToken>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE revoked_at_ms IS NULL OR $1 = 1 \
             ORDER BY created_at_ms DESC, id DESC"
        ))
        .bind(i64::from(include_revoked))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// The user and token of the live API token whose secret hashes to `secret_hash`; records
    /// that it was used (at most once a minute).
    pub async fn api_token_user(
        &self,
        secret_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(User, ApiToken)>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            joined_user_columns!(),
            ", t.id AS token_id, t.name, t.prefix, \
             t.created_at_ms AS token_created_at_ms, t.last_used_at_ms \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = $1 AND t.revoked_at_ms IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let last_used: Option<i64> = row.try_get("last_used_at_ms")?;
        let token = ApiToken {
            id: row.try_get("token_id")?,
            user_id: user.id.clone(),
            name: row.try_get("name")?,
            prefix: row.try_get("prefix")?,
            created_at_ms: row.try_get("token_created_at_ms")?,
            last_used_at_ms: Some(now_ms),
            revoked_at_ms: None,
        };
        if last_used.is_none_or(|at| now_ms - at >= TOUCH_EVERY_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at_ms = $2 WHERE id = $1")
                .bind(&token.id)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some((user, token)))
    }

    /// Revokes the live token with this id or name; [`Error::NotFound`] when there is none.
    pub async fn revoke_api_token(&self, id_or_name: &str, now_ms: i64) -> Result<ApiToken, Error> {
        let row = sqlx::query(concat!(
            "UPDATE api_tokens SET revoked_at_ms = $2 \
             WHERE (id = $1 OR name = $1) AND revoked_at_ms IS NULL RETURNING ",
            token_columns!()
        ))
        .bind(id_or_name)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => token_from_row(&row),
            None => Err(Error::NotFound {
                what: "live token",
                name: id_or_name.to_owned(),
            }),
        }
    }

    /// Stores a single-use token for `purpose` (and `user_id`, for a login token) under its
    /// hash, valid until `expires_at_ms`. A new setup token replaces any earlier one, so only
    /// the last printed setup URL works.
    pub async fn create_one_time_token(
        &self,
        token_hash: &str,
        purpose: OneTimePurpose,
        user_id: Option<&str>,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), Error> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM one_time_tokens WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *transaction)
            .await?;
        if purpose == OneTimePurpose::Setup {
            sqlx::query("DELETE FROM one_time_tokens WHERE purpose = 'setup'")
                .execute(&mut *transaction)
                .await?;
        }
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at_ms, \
             expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Spends the unexpired login token whose hash is `token_hash`: answers its user once, and
    /// `None` ever after (and for an unknown or expired token).
    pub async fn redeem_login_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, Error> {
        let row = sqlx::query(
            "DELETE FROM one_time_tokens WHERE token_hash = $1 AND purpose = 'login' \
             AND expires_at_ms > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: Option<String> = row.try_get("user_id")?;
        match user_id {
            Some(id) => self.user(&id).await,
            None => Ok(None),
        }
    }

    /// Records one failed sign-in against each subject (`email:…`, `addr:…`); failures older
    /// than a day are forgotten on the way.
    pub async fn record_login_failure(&self, subjects: &[&str], now_ms: i64) -> Result<(), Error> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_failures WHERE at_ms < $1")
            .bind(now_ms - 24 * 60 * 60 * 1000)
            .execute(&mut *transaction)
            .await?;
        for subject in subjects {
            sqlx::query("INSERT INTO login_failures (subject, at_ms) VALUES ($1, $2)")
                .bind(*subject)
                .bind(now_ms)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// How many sign-ins failed for `subject` at or after `since_ms`, and when the oldest of
    /// them was.
    pub async fn login_failures(
        &self,
        subject: &str,
        since_ms: i64,
    ) -> Result<(i64, Option<i64>), Error> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at_ms) AS oldest FROM login_failures \
             WHERE subject = $1 AND at_ms >= $2",
        )
        .bind(subject)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    /// Forgets the failed sign-ins of `subjects` (after a success).
    pub async fn clear_login_failures(&self, subjects: &[&str]) -> Result<(), Error> {
        for subject in subjects {
            sqlx::query("DELETE FROM login_failures WHERE subject = $1")
                .bind(*subject)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

async fn insert_user(
    connection: &mut sqlx::AnyConnection,
    new: NewUser,
    now_ms: i64,
) -> Result<User, Error> {
    let user = User {
        id: new_id("usr"),
        email: new.email.trim().to_lowercase(),
        display_name: new.display_name,
        role: new.role,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, display_name, role, password_hash, created_at_ms, \
         updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(user.role.as_str())
    .bind(&new.password_hash)
    .bind(now_ms)
    .execute(&mut *connection)
    .await;
    match inserted {
        Ok(_) => Ok(user),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(Error::Conflict {
            what: "user",
            name: user.email,
        }),
        Err(error) => Err(error.into()),
    }
}

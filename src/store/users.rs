//! Accounts (argon2id password hashes), offices and login sessions. Session
//! tokens are stored hashed, so a copy of the database cannot log anyone in.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sqlx::SqliteConnection;

use super::{db, now, now_unix, random_hex, sha256_hex, Store};
use crate::review::Role;
use crate::{Error, Result};

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub office_id: Option<i64>,
    pub office: Option<String>,
}

/// The user behind a valid session.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub office_id: Option<i64>,
    pub office: Option<String>,
    #[serde(skip)]
    pub csrf: String,
}

const USER_SELECT: &str =
    "SELECT u.id, u.username, u.password_hash, u.role, u.office_id, o.name AS office
     FROM users u LEFT JOIN offices o ON o.id = u.office_id";

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Store(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Store(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Store(format!("hashing password: {e}")))
}

/// Checks a password against a stored hash. CPU-heavy by design: call off the
/// async threads.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password generated for a new user: 20 hex characters (80 bits).
pub fn generate_password() -> Result<String> {
    random_hex(10)
}

impl Store {
    /// Adds a user; the office is created on first mention. Refuses a taken name.
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        office: Option<&str>,
    ) -> Result<i64> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(Error::Invalid(
                "user names are 1-64 letters, digits and . _ - @".into(),
            ));
        }
        if password.chars().count() < 8 {
            return Err(Error::Invalid(
                "passwords need at least 8 characters".into(),
            ));
        }
        if role != Role::Admin && office.is_none() {
            return Err(Error::Invalid(format!(
                "a {role} belongs to an office: give --office NAME"
            )));
        }
        let hash = hash_password(password)?;
        let mut w = self.begin().await?;
        let office_id = match office {
            Some(name) => Some(office_id(&mut w.tx, name).await?),
            None => None,
        };
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(db("find user"))?;
        if taken.is_some() {
            return Err(Error::Conflict(format!("user {username} exists already")));
        }
        let id = sqlx::query(
            "INSERT INTO users (username, password_hash, role, office_id, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(username)
        .bind(&hash)
        .bind(role.as_str())
        .bind(office_id)
        .bind(now())
        .execute(&mut *w.tx)
        .await
        .map_err(db("add user"))?
        .last_insert_rowid();
        super::audit::append(
            &mut w.tx,
            &super::AuditEntry::system("user_add", None, format!("user={id} role={role}")),
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
        sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.username = ?"))
            .bind(username.trim())
            .fetch_optional(self.pool())
            .await
            .map_err(db("find user"))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db("find user"))
    }

    /// Starts a session for `user`; returns (token, csrf token). Audited as a login.
    pub async fn create_session(&self, user: &UserRow, from: &str) -> Result<(String, String)> {
        let token = random_hex(32)?;
        let csrf = random_hex(16)?;
        let token_hash = sha256_hex(token.as_bytes());
        let entry = super::AuditEntry::by(
            user.id,
            &user.username,
            "login",
            None,
            format!("from={from}"),
        );
        let (user_id, session_csrf) = (user.id, csrf.clone());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf, created_unix, last_seen_unix) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&token_hash)
                .bind(user_id)
                .bind(&session_csrf)
                .bind(now_unix())
                .bind(now_unix())
                .execute(&mut *c)
                .await
                .map_err(db("create session"))?;
                super::audit::append(c, &entry).await
            })
        })
        .await?;
        Ok((token, csrf))
    }

    /// The user of a session token unless it was idle longer than `idle_s`.
    /// One query for session and user, nothing cached: a logout, revocation
    /// or idle timeout counts from the next request. Refreshes the session's
    /// last-seen time (at most once a minute).
    pub async fn session_user(&self, token: &str, idle_s: i64) -> Result<Option<SessionUser>> {
        let hash = sha256_hex(token.as_bytes());
        #[allow(clippy::type_complexity)]
        let row: Option<(
            String,
            i64,
            i64,
            String,
            String,
            Option<i64>,
            Option<String>,
        )> = sqlx::query_as(
            "SELECT s.csrf, s.last_seen_unix, u.id, u.username, u.role, u.office_id, o.name
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 LEFT JOIN offices o ON o.id = u.office_id
                 WHERE s.token_hash = ?",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db("find session"))?;
        let Some((csrf, last_seen, id, username, role, office_id, office)) = row else {
            return Ok(None);
        };
        let now = now_unix();
        if now - last_seen > idle_s {
            self.end_session(token, None).await?;
            return Ok(None);
        }
        if now - last_seen >= 60 {
            self.write(move |c| {
                Box::pin(async move {
                    sqlx::query("UPDATE sessions SET last_seen_unix = ? WHERE token_hash = ?")
                        .bind(now)
                        .bind(&hash)
                        .execute(&mut *c)
                        .await
                        .map_err(db("touch session"))?;
                    Ok(())
                })
            })
            .await?;
        }
        Ok(Some(SessionUser {
            id,
            username,
            role: role.parse().map_err(Error::Store)?,
            office_id,
            office,
            csrf,
        }))
    }

    /// Ends a session; audited as a logout when `user` is given.
    pub async fn end_session(&self, token: &str, user: Option<&SessionUser>) -> Result<()> {
        let hash = sha256_hex(token.as_bytes());
        let entry =
            user.map(|u| super::AuditEntry::by(u.id, &u.username, "logout", None, String::new()));
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
                    .bind(&hash)
                    .execute(&mut *c)
                    .await
                    .map_err(db("end session"))?;
                if let Some(entry) = &entry {
                    super::audit::append(c, entry).await?;
                }
                Ok(())
            })
        })
        .await
    }
}

async fn office_id(conn: &mut SqliteConnection, name: &str) -> Result<i64> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("office names cannot be empty".into()));
    }
    sqlx::query("INSERT INTO offices (name) VALUES (?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(db("add office"))?;
    sqlx::query_scalar("SELECT id FROM offices WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(db("find office"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[tokio::test]
    async fn idle_sessions_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store
            .add_user("mt", "long enough", Role::Transcriptionist, Some("Main St"))
            .await
            .unwrap();
        let user = store.user_by_name("MT").await.unwrap().unwrap();
        let (token, csrf) = store.create_session(&user, "127.0.0.1").await.unwrap();
        let live = store.session_user(&token, 60).await.unwrap().unwrap();
        assert_eq!(
            (live.username.as_str(), live.csrf.as_str()),
            ("mt", csrf.as_str())
        );
        assert!(store.session_user("forged", 60).await.unwrap().is_none());
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert!(store.session_user(&token, 0).await.unwrap().is_none());
        // Ended for good, even with a longer allowance afterwards.
        assert!(store.session_user(&token, 60).await.unwrap().is_none());
        let dup = store
            .add_user("Mt", "long enough", Role::Qa, Some("Main St"))
            .await;
        assert!(matches!(dup, Err(Error::Conflict(_))));
    }
}

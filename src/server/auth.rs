//! Login sessions: an HttpOnly, SameSite=Strict cookie holding a random token
//! (stored hashed), a per-session CSRF token that every state-changing request
//! must echo in `X-CSRF-Token`, idle logout, and login throttling.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::store::{users, AuditEntry, SessionUser};

pub const COOKIE: &str = "medscribe_session";
const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins allowed per user name in a window.
const MAX_FAILURES: u32 = 5;
/// Per client address: higher, since a whole office may share one address.
const MAX_FAILURES_ADDR: u32 = 50;
const WINDOW: Duration = Duration::from_secs(15 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
}

/// Counts failed logins per key (user name, client address).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// Seconds to wait if `key` has failed `max` times in the window.
    fn locked(&self, key: &str, max: u32) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (n, since) = map.get(key)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*n >= max).then(|| left.as_secs().max(1))
    }

    fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The logged-in user of a request. Rejects with 401 without a live session
/// and with 403 when a state-changing request lacks the CSRF token.
pub struct CurrentUser(pub SessionUser);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = session_token(&parts.headers)
            .ok_or_else(|| ApiError::unauthenticated("log in first"))?;
        let user = state
            .store
            .session_user(&token, state.config.idle_s)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("session ended; log in again"))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), user.csrf.as_bytes()) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header (reload the page)",
                ));
            }
        }
        Ok(CurrentUser(user))
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

fn user_json(u: &SessionUser) -> serde_json::Value {
    json!({ "id": u.id, "username": u.username, "role": u.role, "office": u.office })
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<LoginBody>,
) -> ApiResult<Response> {
    let name_key = format!("user:{}", body.username.trim().to_lowercase());
    let addr_key = format!("addr:{}", peer.ip());
    for (key, max) in [(&name_key, MAX_FAILURES), (&addr_key, MAX_FAILURES_ADDR)] {
        if let Some(wait) = state.throttle.locked(key, max) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "too many failed logins; try again in {} minute(s)",
                    wait.div_ceil(60)
                ),
            );
            e.retry_after = Some(wait);
            return Err(e);
        }
    }
    let user = state.store.user_by_name(&body.username).await?;
    // Verify against a dummy hash for unknown names so timing does not tell
    // which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(u) if ok => u,
        _ => {
            state.throttle.fail(&name_key);
            state.throttle.fail(&addr_key);
            state
                .store
                .audit(AuditEntry {
                    user_id: None,
                    username: body.username.chars().take(64).collect(),
                    action: "login_failed",
                    dictation_id: None,
                    detail: format!("from={}", peer.ip()),
                })
                .await?;
            return Err(ApiError::unauthenticated("wrong user name or password"));
        }
    };
    state.throttle.clear(&name_key);
    let (token, csrf) = state
        .store
        .create_session(&user, &peer.ip().to_string())
        .await?;
    let session = state
        .store
        .session_user(&token, state.config.idle_s)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("session could not start"))?;
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let mut resp = Json(json!({ "user": user_json(&session), "csrf": csrf })).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// argon2id hash of a random string nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0q1yPZP+XEBmMt4bH4m3ScxX1zKQ3r9u3TYi0S7q8rU";

async fn logout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = session_token(&headers) {
        state.store.end_session(&token, Some(&user)).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "medscribe_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    Ok(resp)
}

async fn me(CurrentUser(user): CurrentUser) -> Json<serde_json::Value> {
    Json(json!({ "user": user_json(&user), "csrf": user.csrf }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_locks_after_failures_and_clears() {
        let t = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.fail("user:a");
        }
        assert!(t.locked("user:a", MAX_FAILURES).is_none());
        t.fail("user:a");
        assert!(t.locked("user:a", MAX_FAILURES).unwrap() > 0);
        t.clear("user:a");
        assert!(t.locked("user:a", MAX_FAILURES).is_none());
    }

    #[test]
    fn reads_the_session_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; medscribe_session=abc; b=2"),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(!users::verify_password("x", DUMMY_HASH));
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}

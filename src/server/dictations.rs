//! `/api/dictations`: upload, worklist, details, and the workflow actions
//! (flags, transitions, signing). Transcript reads and saves are in
//! [`super::transcript`]-style handlers below the workflow ones.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::review::{self, FlagKind, Role, State as DocState};
use crate::store::{AuditEntry, DictationRow, SessionUser};

mod edit;
mod upload;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dictations",
            get(list)
                .post(upload::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/dictations/{id}", get(details))
        .route(
            "/dictations/{id}/transcript",
            get(edit::get_transcript).put(edit::put_transcript),
        )
        .route(
            "/dictations/{id}/corrections/{index}",
            post(edit::decide_correction),
        )
        .route("/dictations/{id}/addenda", post(edit::add_addendum))
        .route("/dictations/{id}/flags", post(add_flag))
        .route("/dictations/{id}/flags/{flag}/resolve", post(resolve_flag))
        .route("/dictations/{id}/transition", post(transition))
        .route("/dictations/{id}/sign", post(sign))
        // JSON bodies: a 60-minute transcript is about 1 MB. Uploads set their own limit.
        .layer(axum::extract::DefaultBodyLimit::max(16 << 20))
}

/// The worklist row of a dictation.
pub(super) fn item(d: &DictationRow) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let age_s = crate::store::parse_rfc3339(&d.created_at).map_or(0, |t| (now - t).whole_seconds());
    let overdue = d.state() != DocState::Signed
        && crate::store::parse_rfc3339(&d.due_at).is_some_and(|due| now > due);
    json!({
        "id": d.id,
        "patient_name": d.patient_name,
        "mrn": d.mrn,
        "work_type": d.work_type,
        "priority": d.priority,
        "state": d.state,
        "physician": d.physician,
        "office": d.office,
        "created_at": d.created_at,
        "due_at": d.due_at,
        "age_s": age_s,
        "overdue": overdue,
        "duration_s": d.duration_s,
        "unresolved_flags": d.unresolved_flags,
        "revision": d.current_revision,
    })
}

pub(super) fn read(
    user: &SessionUser,
    action: &'static str,
    id: i64,
    detail: String,
) -> AuditEntry {
    AuditEntry::by(user.id, &user.username, action, Some(id), detail)
}

/// Refuses (403) users who may not read the audio and text of `d`.
pub(super) fn require_text_access(user: &SessionUser, d: &DictationRow) -> ApiResult<()> {
    if review::can_read_text(user.role, d.is_own(user)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "a {} may not open the audio or text of dictations",
            user.role
        )))
    }
}

/// Refuses (403) roles that may never change this dictation's text; state
/// rules (409) are checked by the store inside the write.
pub(super) fn require_editor(user: &SessionUser, d: &DictationRow) -> ApiResult<()> {
    let may = match user.role {
        Role::Office => false,
        Role::Physician => d.is_own(user),
        _ => true,
    };
    if may {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "a {} may not change this dictation",
            user.role
        )))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let filter = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<DocState>().map_err(ApiError::bad_request)?),
    };
    let (rows, items) = state.store.worklist_json(&user, filter).await?;
    state
        .store
        .audit(AuditEntry::by(
            user.id,
            &user.username,
            "worklist",
            None,
            format!("rows={rows}"),
        ))
        .await?;
    let body = format!("{{\"items\":{items}}}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn details(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    let own = d.is_own(&user);
    let doc_state = d.state();
    let flags = state.store.flags(id).await?;
    let revisions = state.store.revisions(id).await?;
    let signatures = state.store.signatures(id).await?;
    let job = state.store.job_status(id).await?;
    state
        .store
        .audit(read(&user, "view", id, String::new()))
        .await?;
    let mut v = item(&d);
    v["dob"] = json!(d.dob);
    v["uploaded_by"] = json!(d.uploaded_by);
    v["reject_reason"] = json!(d.reject_reason);
    v["content_type"] = json!(d.content_type);
    v["job"] = json!(job);
    v["flags"] = json!(flags);
    v["revisions"] = json!(revisions);
    v["signatures"] = json!(signatures);
    v["can"] = json!({
        "read": review::can_read_text(user.role, own),
        "edit": review::can_edit(user.role, doc_state, own),
        "sign": review::check_sign(user.role, own, doc_state, 0).is_none(),
        "addendum": user.role == Role::Physician && own && doc_state == DocState::Signed,
        "transition": review::possible_transitions(user.role, own, doc_state),
    });
    Ok(Json(v))
}

#[derive(Deserialize)]
struct FlagBody {
    kind: String,
    time_s: f64,
    #[serde(default)]
    note: String,
}

async fn add_flag(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<FlagBody>,
) -> ApiResult<impl IntoResponse> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_editor(&user, &d)?;
    let kind: FlagKind = body.kind.parse().map_err(ApiError::bad_request)?;
    if !body.time_s.is_finite() || body.time_s < 0.0 || body.time_s > d.duration_s + 1.0 {
        return Err(ApiError::bad_request(format!(
            "time_s must be within the audio (0 to {:.1} s)",
            d.duration_s
        )));
    }
    if body.note.chars().count() > 2000 {
        return Err(ApiError::bad_request(
            "flag notes are at most 2000 characters",
        ));
    }
    let fid = state
        .store
        .add_flag(&user, id, kind, body.time_s, body.note.trim())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": fid }))))
}

#[derive(Deserialize, Default)]
struct ResolveBody {
    #[serde(default)]
    note: String,
}

async fn resolve_flag(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, flag)): Path<(i64, i64)>,
    body: Option<Json<ResolveBody>>,
) -> ApiResult<StatusCode> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_editor(&user, &d)?;
    let note = body.map(|b| b.0.note).unwrap_or_default();
    if note.chars().count() > 2000 {
        return Err(ApiError::bad_request("notes are at most 2000 characters"));
    }
    state
        .store
        .resolve_flag(&user, id, flag, note.trim())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TransitionBody {
    to: String,
    reason: Option<String>,
}

async fn transition(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<TransitionBody>,
) -> ApiResult<Json<Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    let to: DocState = body.to.parse().map_err(ApiError::bad_request)?;
    if matches!(user.role, Role::Office) || (user.role == Role::Physician && !d.is_own(&user)) {
        return Err(ApiError::forbidden(format!(
            "a {} may not move dictations through the workflow",
            user.role
        )));
    }
    let reason = body
        .reason
        .as_deref()
        .map(|r| r.chars().take(2000).collect::<String>());
    let now = state
        .store
        .transition(&user, id, to, reason.as_deref())
        .await?;
    if now == DocState::Uploaded {
        state.jobs_ready.notify_one();
    }
    Ok(Json(json!({ "state": now })))
}

#[derive(Deserialize)]
struct SignBody {
    revision: i64,
}

async fn sign(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<SignBody>,
) -> ApiResult<Json<Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    if user.role != Role::Physician || !d.is_own(&user) {
        return Err(ApiError::forbidden("only the dictating physician may sign"));
    }
    let (version, sha256) = state.store.sign(&user, id, body.revision).await?;
    Ok(Json(json!({
        "state": DocState::Signed,
        "revision": body.revision,
        "version": version,
        "sha256": sha256,
    })))
}

//! Dictations, their immutable revisions, flags and signatures. Every change
//! commits together with its audit entry; every save names the revision it was
//! based on and is refused if that is no longer the current one.

use sqlx::SqliteConnection;

use super::audit::{append, AuditEntry};
use super::users::SessionUser;
use super::{db, now, sha256_hex, Store};
use crate::review::{self, FlagKind, Priority, Role, State, WorkType};
use crate::{Error, Result};

/// What an upload records besides the audio.
#[derive(Debug, Clone)]
pub struct NewDictation {
    pub office_id: i64,
    pub physician_id: i64,
    pub patient_name: String,
    pub mrn: String,
    pub dob: String,
    pub work_type: WorkType,
    pub priority: Priority,
    /// File name inside the store's audio folder.
    pub audio_file: String,
    pub audio_sha256: String,
    pub audio_bytes: i64,
    pub content_type: String,
    pub duration_s: f64,
    /// Comma-separated terms to lead the recogniser's prompt (may be empty).
    pub expected_terms: String,
}

/// A dictation as stored, with names joined in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DictationRow {
    pub id: i64,
    pub office_id: i64,
    pub office: String,
    pub uploaded_by: String,
    pub physician_id: i64,
    pub physician: String,
    pub patient_name: String,
    pub mrn: String,
    pub dob: String,
    pub work_type: String,
    pub priority: String,
    pub state: String,
    pub audio_file: String,
    pub audio_bytes: i64,
    pub content_type: String,
    pub duration_s: f64,
    pub current_revision: Option<i64>,
    pub reject_reason: Option<String>,
    pub created_at: String,
    pub due_at: String,
    pub unresolved_flags: i64,
}

impl DictationRow {
    pub fn state(&self) -> State {
        self.state.parse().unwrap_or(State::Failed)
    }

    /// Whether `user` is this dictation's physician.
    pub fn is_own(&self, user: &SessionUser) -> bool {
        self.physician_id == user.id
    }
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RevisionRow {
    pub id: i64,
    pub parent: Option<i64>,
    pub author: String,
    pub kind: String,
    pub created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct FlagRow {
    pub id: i64,
    pub kind: String,
    pub time_s: f64,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct SignatureRow {
    pub revision: i64,
    pub signer: String,
    pub signed_at: String,
    pub sha256: String,
    pub version: i64,
}

const DICTATION_SELECT: &str = "SELECT d.id, d.office_id, o.name AS office, up.username AS uploaded_by,
        d.physician_id, ph.username AS physician, d.patient_name, d.mrn, d.dob, d.work_type,
        d.priority, d.state, d.audio_file, d.audio_bytes, d.content_type, d.duration_s,
        d.current_revision, d.reject_reason, d.created_at, d.due_at,
        (SELECT COUNT(*) FROM flags f WHERE f.dictation_id = d.id AND f.resolved_at IS NULL) AS unresolved_flags
     FROM dictations d
     JOIN offices o ON o.id = d.office_id
     JOIN users up ON up.id = d.uploaded_by
     JOIN users ph ON ph.id = d.physician_id";

fn entry(user: &SessionUser, action: &'static str, id: i64, detail: String) -> AuditEntry {
    AuditEntry::by(user.id, &user.username, action, Some(id), detail)
}

impl Store {
    /// Records an upload and queues its transcription.
    pub async fn create_dictation(&self, by: &SessionUser, d: &NewDictation) -> Result<i64> {
        let created = time::OffsetDateTime::now_utc();
        let due = created + time::Duration::hours(d.priority.turnaround_hours());
        let by = by.clone();
        let d = d.clone();
        self.write(move |c| {
            Box::pin(async move {
                let id = sqlx::query(
                    "INSERT INTO dictations (office_id, uploaded_by, physician_id, patient_name, mrn, dob,
                        work_type, priority, state, audio_file, audio_sha256, audio_bytes, content_type,
                        duration_s, created_at, due_at, updated_at, expected_terms)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'uploaded', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(d.office_id)
                .bind(by.id)
                .bind(d.physician_id)
                .bind(&d.patient_name)
                .bind(&d.mrn)
                .bind(&d.dob)
                .bind(d.work_type.as_str())
                .bind(d.priority.as_str())
                .bind(&d.audio_file)
                .bind(&d.audio_sha256)
                .bind(d.audio_bytes)
                .bind(&d.content_type)
                .bind(d.duration_s)
                .bind(super::rfc3339(created))
                .bind(super::rfc3339(due))
                .bind(super::rfc3339(created))
                .bind(&d.expected_terms)
                .execute(&mut *c)
                .await
                .map_err(db("add dictation"))?
                .last_insert_rowid();
                super::jobs::enqueue(c, id, d.priority.rank()).await?;
                append(
                    c,
                    &entry(&by, "upload", id, format!("priority={}", d.priority)),
                )
                .await?;
                Ok(id)
            })
        })
        .await
    }

    pub async fn dictation(&self, id: i64) -> Result<Option<DictationRow>> {
        sqlx::query_as::<_, DictationRow>(&format!("{DICTATION_SELECT} WHERE d.id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db("read dictation"))
    }

    /// The dictation if `user` may see it at all (same office, or admin);
    /// otherwise "not found", so ids of other offices do not leak.
    pub async fn visible_dictation(&self, user: &SessionUser, id: i64) -> Result<DictationRow> {
        let d = self.dictation(id).await?;
        match d {
            Some(d)
                if user.role == Role::Admin
                    || (Some(d.office_id) == user.office_id
                        && (user.role != Role::Physician || d.physician_id == user.id)) =>
            {
                Ok(d)
            }
            _ => Err(Error::NotFound(format!("no dictation {id}"))),
        }
    }

    /// The worklist for `user`: what their role works on, STAT first, oldest first.
    pub async fn worklist(
        &self,
        user: &SessionUser,
        state: Option<State>,
    ) -> Result<Vec<DictationRow>> {
        let Some(filter) = worklist_filter(user, state) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{DICTATION_SELECT} WHERE {filter}
             ORDER BY CASE d.priority WHEN 'stat' THEN 0 ELSE 1 END, d.created_at, d.id LIMIT 1000"
        );
        sqlx::query_as::<_, DictationRow>(&sql)
            .bind(user.office_id)
            .bind(user.id)
            .fetch_all(self.pool())
            .await
            .map_err(db("worklist"))
    }

    /// The worklist as the JSON array the API serves, and its length. SQLite
    /// builds the JSON: one row crosses into Rust instead of one per item,
    /// which is most of the cost of a worklist. Same fields as the server's
    /// `item()`; `age_s` and `overdue` are computed against SQLite's clock.
    pub async fn worklist_json(
        &self,
        user: &SessionUser,
        state: Option<State>,
    ) -> Result<(i64, String)> {
        let Some(filter) = worklist_filter(user, state) else {
            return Ok((0, "[]".into()));
        };
        let sql = format!(
            "SELECT COUNT(*), json_group_array(json_object(
                'id', id, 'patient_name', patient_name, 'mrn', mrn, 'work_type', work_type,
                'priority', priority, 'state', state, 'physician', physician, 'office', office,
                'created_at', created_at, 'due_at', due_at,
                'age_s', COALESCE(unixepoch('now') - unixepoch(created_at), 0),
                'overdue', json(CASE WHEN state != 'signed' AND unixepoch('now') > unixepoch(due_at)
                                THEN 'true' ELSE 'false' END),
                'duration_s', duration_s, 'unresolved_flags', unresolved_flags,
                'revision', current_revision) ORDER BY rank, created_at, id)
             FROM (SELECT d.id, d.patient_name, d.mrn, d.work_type, d.priority, d.state,
                     ph.username AS physician, o.name AS office, d.created_at, d.due_at,
                     d.duration_s, d.current_revision,
                     (SELECT COUNT(*) FROM flags f WHERE f.dictation_id = d.id AND f.resolved_at IS NULL) AS unresolved_flags,
                     CASE d.priority WHEN 'stat' THEN 0 ELSE 1 END AS rank
                   FROM dictations d
                   JOIN offices o ON o.id = d.office_id
                   JOIN users ph ON ph.id = d.physician_id
                   WHERE {filter}
                   ORDER BY rank, d.created_at, d.id LIMIT 1000)"
        );
        sqlx::query_as(&sql)
            .bind(user.office_id)
            .bind(user.id)
            .fetch_one(self.pool())
            .await
            .map_err(db("worklist"))
    }

    pub async fn revisions(&self, dictation_id: i64) -> Result<Vec<RevisionRow>> {
        sqlx::query_as(
            "SELECT r.id, r.parent_id AS parent, COALESCE(u.username, 'medscribe') AS author, r.kind, r.created_at
             FROM revisions r LEFT JOIN users u ON u.id = r.author_id
             WHERE r.dictation_id = ? ORDER BY r.id",
        )
        .bind(dictation_id)
        .fetch_all(self.pool())
        .await
        .map_err(db("read revisions"))
    }

    /// A revision's canonical document JSON.
    pub async fn revision_document(&self, dictation_id: i64, revision: i64) -> Result<String> {
        sqlx::query_scalar("SELECT document FROM revisions WHERE id = ? AND dictation_id = ?")
            .bind(revision)
            .bind(dictation_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db("read revision"))?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no revision {revision} of dictation {dictation_id}"
                ))
            })
    }

    pub async fn flags(&self, dictation_id: i64) -> Result<Vec<FlagRow>> {
        sqlx::query_as(
            "SELECT f.id, f.kind, f.time_s, f.note, c.username AS created_by, f.created_at,
                    r.username AS resolved_by, f.resolved_at, f.resolution
             FROM flags f JOIN users c ON c.id = f.created_by LEFT JOIN users r ON r.id = f.resolved_by
             WHERE f.dictation_id = ? ORDER BY f.time_s, f.id",
        )
        .bind(dictation_id)
        .fetch_all(self.pool())
        .await
        .map_err(db("read flags"))
    }

    pub async fn signatures(&self, dictation_id: i64) -> Result<Vec<SignatureRow>> {
        sqlx::query_as(
            "SELECT s.revision_id AS revision, u.username AS signer, s.signed_at, s.sha256, s.version
             FROM signatures s JOIN users u ON u.id = s.signer_id
             WHERE s.dictation_id = ? ORDER BY s.version",
        )
        .bind(dictation_id)
        .fetch_all(self.pool())
        .await
        .map_err(db("read signatures"))
    }

    /// Saves `document` as a new revision on top of `base`. Refused (409) when
    /// `base` is not the current revision or the user may not edit now. The
    /// first save of a draft moves it to `in_edit`.
    pub async fn save_revision(
        &self,
        user: &SessionUser,
        id: i64,
        base: i64,
        kind: &'static str,
        document: String,
    ) -> Result<i64> {
        let user = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                let (state, current, physician_id) = current_of(c, id).await?;
                let own = physician_id == user.id;
                if state == State::Signed {
                    return Err(Error::Conflict(
                        "the report is signed; its text cannot change: add an addendum".into(),
                    ));
                }
                if !review::can_edit(user.role, state, own) {
                    return Err(Error::Conflict(format!(
                        "a {} cannot edit a dictation in state {state}",
                        user.role
                    )));
                }
                if current != Some(base) {
                    return Err(stale(base, current));
                }
                let rev =
                    insert_revision(c, id, Some(base), Some(user.id), kind, &document).await?;
                let to = if state == State::Draft {
                    State::InEdit
                } else {
                    state
                };
                set_state(c, id, to, Some(rev), None).await?;
                append(
                    c,
                    &entry(
                        &user,
                        "edit",
                        id,
                        format!("revision={rev} base={base} kind={kind}"),
                    ),
                )
                .await?;
                if to != state {
                    append(c, &entry(&user, "transition", id, format!("{state}->{to}"))).await?;
                }
                Ok(rev)
            })
        })
        .await
    }

    /// Moves a dictation to `to` if the workflow allows it for `user`.
    pub async fn transition(
        &self,
        user: &SessionUser,
        id: i64,
        to: State,
        reason: Option<&str>,
    ) -> Result<State> {
        let user = user.clone();
        let reason = reason.map(str::to_string);
        self.write(move |c| {
            Box::pin(async move {
                let (from, current, physician_id) = current_of(c, id).await?;
                let flags = unresolved(c, id).await?;
                if let Some(why) = review::check_transition(
                    user.role,
                    physician_id == user.id,
                    from,
                    to,
                    flags,
                    reason.as_deref(),
                ) {
                    return Err(Error::Conflict(why));
                }
                let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
                set_state(c, id, to, current, reason).await?;
                if to == State::Uploaded {
                    super::jobs::requeue(c, id).await?;
                }
                append(
                    c,
                    &entry(
                        &user,
                        "transition",
                        id,
                        format!(
                            "{from}->{to}{}",
                            if reason.is_some() { " with reason" } else { "" }
                        ),
                    ),
                )
                .await?;
                Ok(to)
            })
        })
        .await
    }

    /// Signs revision `revision` (must be current): freezes it with the SHA-256
    /// of its canonical document. Returns (version, sha256).
    pub async fn sign(&self, user: &SessionUser, id: i64, revision: i64) -> Result<(i64, String)> {
        let user = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                let (state, current, physician_id) = current_of(c, id).await?;
                let flags = unresolved(c, id).await?;
                if let Some(why) = review::check_sign(user.role, physician_id == user.id, state, flags) {
                    return Err(Error::Conflict(why));
                }
                if current != Some(revision) {
                    return Err(stale(revision, current));
                }
                let sha256: String = sqlx::query_scalar("SELECT sha256 FROM revisions WHERE id = ?")
                    .bind(revision)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(db("read revision"))?;
                let version: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) + 1 FROM signatures WHERE dictation_id = ?")
                        .bind(id)
                        .fetch_one(&mut *c)
                        .await
                        .map_err(db("count signatures"))?;
                sqlx::query(
                    "INSERT INTO signatures (dictation_id, revision_id, signer_id, signed_at, sha256, version)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(revision)
                .bind(user.id)
                .bind(now())
                .bind(&sha256)
                .bind(version)
                .execute(&mut *c)
                .await
                .map_err(db("sign"))?;
                set_state(c, id, State::Signed, current, None).await?;
                append(
                    c,
                    &entry(
                        &user,
                        "sign",
                        id,
                        format!("revision={revision} version={version} sha256={sha256}"),
                    ),
                )
                .await?;
                Ok((version, sha256))
            })
        })
        .await
    }

    /// Adds an addendum to a signed report: `document` (the signed document plus
    /// the addendum) becomes a new revision awaiting signature.
    pub async fn add_addendum(&self, user: &SessionUser, id: i64, document: String) -> Result<i64> {
        let user = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                let (state, current, physician_id) = current_of(c, id).await?;
                if user.role != Role::Physician || physician_id != user.id {
                    return Err(Error::Conflict(
                        "only the dictating physician may add an addendum".into(),
                    ));
                }
                if state != State::Signed {
                    return Err(Error::Conflict(format!(
                        "addenda are for signed reports; this one is {state}"
                    )));
                }
                let rev =
                    insert_revision(c, id, current, Some(user.id), "addendum", &document).await?;
                set_state(c, id, State::AwaitingSignature, Some(rev), None).await?;
                append(c, &entry(&user, "addendum", id, format!("revision={rev}"))).await?;
                Ok(rev)
            })
        })
        .await
    }

    pub async fn add_flag(
        &self,
        user: &SessionUser,
        id: i64,
        kind: FlagKind,
        time_s: f64,
        note: &str,
    ) -> Result<i64> {
        let user = user.clone();
        let note = note.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let (state, _, physician_id) = current_of(c, id).await?;
                if !review::can_edit(user.role, state, physician_id == user.id) {
                    return Err(Error::Conflict(format!(
                        "a {} cannot flag a dictation in state {state}",
                        user.role
                    )));
                }
                let fid = sqlx::query(
                    "INSERT INTO flags (dictation_id, kind, time_s, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(kind.as_str())
                .bind(time_s)
                .bind(note)
                .bind(user.id)
                .bind(now())
                .execute(&mut *c)
                .await
                .map_err(db("add flag"))?
                .last_insert_rowid();
                append(
                    c,
                    &entry(&user, "flag", id, format!("flag={fid} kind={kind}")),
                )
                .await?;
                Ok(fid)
            })
        })
        .await
    }

    pub async fn resolve_flag(
        &self,
        user: &SessionUser,
        id: i64,
        flag: i64,
        resolution: &str,
    ) -> Result<()> {
        let user = user.clone();
        let resolution = resolution.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let (state, _, physician_id) = current_of(c, id).await?;
                if !review::can_edit(user.role, state, physician_id == user.id) {
                    return Err(Error::Conflict(format!(
                        "a {} cannot resolve flags of a dictation in state {state}",
                        user.role
                    )));
                }
                let done = sqlx::query(
                    "UPDATE flags SET resolved_by = ?, resolved_at = ?, resolution = ?
                     WHERE id = ? AND dictation_id = ? AND resolved_at IS NULL",
                )
                .bind(user.id)
                .bind(now())
                .bind(resolution)
                .bind(flag)
                .bind(id)
                .execute(&mut *c)
                .await
                .map_err(db("resolve flag"))?;
                if done.rows_affected() == 0 {
                    return Err(Error::NotFound(format!(
                        "no unresolved flag {flag} on dictation {id}"
                    )));
                }
                append(c, &entry(&user, "flag_resolve", id, format!("flag={flag}"))).await
            })
        })
        .await
    }
}

/// The worklist's WHERE clause for `user` (binds ?1 office, ?2 user), or None
/// when the asked-for state is outside the role's worklist.
fn worklist_filter(user: &SessionUser, state: Option<State>) -> Option<String> {
    let (scope, states): (&str, &[State]) = match user.role {
        Role::Admin => ("1 = 1", &[]),
        Role::Office => ("d.office_id = ?1", &[]),
        Role::Transcriptionist => ("d.office_id = ?1", &[State::Draft, State::InEdit]),
        Role::Qa => ("d.office_id = ?1", &[State::Qa]),
        Role::Physician => ("d.office_id = ?1 AND d.physician_id = ?2", &[]),
    };
    let mut filter: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    if let Some(s) = state {
        if !filter.is_empty() && !filter.contains(&s.as_str()) {
            return None;
        }
        filter = vec![s.as_str()];
    }
    if filter.is_empty() {
        return Some(scope.to_string());
    }
    // States are our own constants, not user text.
    let list: Vec<String> = filter.iter().map(|s| format!("'{s}'")).collect();
    Some(format!("{scope} AND d.state IN ({})", list.join(", ")))
}

fn stale(base: i64, current: Option<i64>) -> Error {
    Error::Conflict(format!(
        "revision {base} is not the current one ({}): someone saved in between; reload and merge",
        current.map_or("none".to_string(), |c| c.to_string())
    ))
}

/// (state, current revision, physician) of a dictation, inside a transaction.
pub(crate) async fn current_of(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<(State, Option<i64>, i64)> {
    let row: Option<(String, Option<i64>, i64)> =
        sqlx::query_as("SELECT state, current_revision, physician_id FROM dictations WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("read dictation"))?;
    let (state, current, physician) =
        row.ok_or_else(|| Error::NotFound(format!("no dictation {id}")))?;
    Ok((state.parse().map_err(Error::Store)?, current, physician))
}

async fn unresolved(conn: &mut SqliteConnection, id: i64) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM flags WHERE dictation_id = ? AND resolved_at IS NULL")
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db("count flags"))
}

pub(crate) async fn insert_revision(
    conn: &mut SqliteConnection,
    id: i64,
    parent: Option<i64>,
    author: Option<i64>,
    kind: &str,
    document: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO revisions (dictation_id, parent_id, author_id, kind, document, sha256, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(parent)
    .bind(author)
    .bind(kind)
    .bind(document)
    .bind(sha256_hex(document.as_bytes()))
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(db("save revision"))?
    .last_insert_rowid())
}

pub(crate) async fn set_state(
    conn: &mut SqliteConnection,
    id: i64,
    state: State,
    current: Option<i64>,
    reject_reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE dictations SET state = ?, current_revision = ?, reject_reason = ?, updated_at = ? WHERE id = ?",
    )
    .bind(state.as_str())
    .bind(current)
    .bind(reject_reason)
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(db("update dictation"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn session(store: &Store, name: &str, role: Role) -> SessionUser {
        store
            .add_user(name, "long enough", role, Some("Main St"))
            .await
            .unwrap();
        let row = store.user_by_name(name).await.unwrap().unwrap();
        let (token, _) = store.create_session(&row, "127.0.0.1").await.unwrap();
        store.session_user(&token, 60).await.unwrap().unwrap()
    }

    /// A dictation with a drafted revision; returns (id, draft revision).
    async fn drafted(store: &Store, front: &SessionUser, physician: i64, stat: bool) -> (i64, i64) {
        let d = NewDictation {
            office_id: front.office_id.unwrap(),
            physician_id: physician,
            patient_name: "Test \"Patient\"".into(),
            mrn: "1".into(),
            dob: "2000-01-01".into(),
            work_type: WorkType::Letter,
            priority: if stat {
                Priority::Stat
            } else {
                Priority::Routine
            },
            audio_file: "a.wav".into(),
            audio_sha256: String::new(),
            audio_bytes: 1,
            content_type: "audio/wav".into(),
            duration_s: 12.5,
            expected_terms: String::new(),
        };
        let id = store.create_dictation(front, &d).await.unwrap();
        let mut w = store.begin().await.unwrap();
        let rev = insert_revision(&mut w.tx, id, None, None, "draft", "{}")
            .await
            .unwrap();
        set_state(&mut w.tx, id, State::Draft, Some(rev), None)
            .await
            .unwrap();
        w.commit().await.unwrap();
        (id, rev)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_saves_on_one_base_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let front = session(&store, "front", Role::Office).await;
        let dr = session(&store, "drlee", Role::Physician).await;
        let mt = session(&store, "mt", Role::Transcriptionist).await;
        let (id, base) = drafted(&store, &front, dr.id, false).await;
        let (other, other_base) = drafted(&store, &front, dr.id, false).await;
        // 20 saves on the same base, plus reads and a save elsewhere, all at once:
        // they land in the same group-commit batches.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (store, mt) = (store.clone(), mt.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .save_revision(&mt, id, base, "edit", format!("{{\"n\":{i}}}"))
                    .await
            }));
        }
        let reads: Vec<_> = (0..10)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .audit(AuditEntry::system("read_test", Some(id), format!("n={i}")))
                        .await
                })
            })
            .collect();
        let elsewhere = store
            .save_revision(&mt, other, other_base, "edit", "{}".into())
            .await;
        let mut won = Vec::new();
        let mut conflicts = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(rev) => won.push(rev),
                Err(Error::Conflict(_)) => conflicts += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        for r in reads {
            r.await.unwrap().unwrap();
        }
        assert!(elsewhere.is_ok());
        assert_eq!((won.len(), conflicts), (1, 19));
        let d = store.dictation(id).await.unwrap().unwrap();
        assert_eq!(d.current_revision, Some(won[0]));
        assert_eq!(d.state(), State::InEdit);
        assert_eq!(store.revisions(id).await.unwrap().len(), 2);
        // One edit and one transition entry for the winner, none for the losers;
        // the chain still verifies.
        let log = store.audit_of(id).await.unwrap();
        assert_eq!(log.iter().filter(|e| e.2 == "edit").count(), 1);
        assert_eq!(log.iter().filter(|e| e.2 == "read_test").count(), 10);
        assert_eq!(store.verify_audit().await.unwrap().first_broken, None);
        // A stale save after the fact is refused too.
        let stale = store
            .save_revision(&mt, id, base, "edit", "{}".into())
            .await;
        assert!(matches!(stale, Err(Error::Conflict(_))));
    }

    #[tokio::test]
    async fn worklist_json_matches_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let front = session(&store, "front", Role::Office).await;
        let dr = session(&store, "drlee", Role::Physician).await;
        let mt = session(&store, "mt", Role::Transcriptionist).await;
        for i in 0..5 {
            drafted(&store, &front, dr.id, i == 3).await;
        }
        for (user, state) in [
            (&mt, None),
            (&front, None),
            (&dr, Some(State::Draft)),
            (&mt, Some(State::Qa)),
        ] {
            let rows = store.worklist(user, state).await.unwrap();
            let (n, json) = store.worklist_json(user, state).await.unwrap();
            let items: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
            assert_eq!(n as usize, rows.len());
            let ids: Vec<i64> = items.iter().map(|v| v["id"].as_i64().unwrap()).collect();
            assert_eq!(ids, rows.iter().map(|r| r.id).collect::<Vec<_>>());
            for (v, r) in items.iter().zip(&rows) {
                assert_eq!(v["patient_name"], r.patient_name.as_str());
                assert_eq!(v["physician"], "drlee");
                assert_eq!(v["office"], "Main St");
                assert_eq!(v["revision"].as_i64(), r.current_revision);
                assert_eq!(v["duration_s"].as_f64(), Some(12.5));
                assert_eq!(v["unresolved_flags"], 0);
                assert_eq!(v["overdue"], false);
                assert!(v["age_s"].as_i64().unwrap() >= 0);
            }
        }
        assert_eq!(store.worklist_json(&mt, None).await.unwrap().0, 5);
        assert_eq!(
            store.worklist_json(&mt, Some(State::Qa)).await.unwrap(),
            (0, "[]".to_string())
        );
    }
}

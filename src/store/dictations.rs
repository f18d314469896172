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
        let mut w = self.begin().await?;
        let id = sqlx::query(
            "INSERT INTO dictations (office_id, uploaded_by, physician_id, patient_name, mrn, dob,
                work_type, priority, state, audio_file, audio_sha256, audio_bytes, content_type,
                duration_s, created_at, due_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'uploaded', ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *w.tx)
        .await
        .map_err(db("add dictation"))?
        .last_insert_rowid();
        super::jobs::enqueue(&mut w.tx, id, d.priority.rank()).await?;
        append(
            &mut w.tx,
            &entry(by, "upload", id, format!("priority={}", d.priority)),
        )
        .await?;
        w.commit().await?;
        Ok(id)
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
                return Ok(Vec::new());
            }
            filter = vec![s.as_str()];
        }
        let in_states = if filter.is_empty() {
            String::new()
        } else {
            format!(
                " AND d.state IN ({})",
                filter
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let sql = format!(
            "{DICTATION_SELECT} WHERE {scope}{in_states}
             ORDER BY CASE d.priority WHEN 'stat' THEN 0 ELSE 1 END, d.created_at, d.id LIMIT 1000"
        );
        sqlx::query_as::<_, DictationRow>(&sql)
            .bind(user.office_id)
            .bind(user.id)
            .fetch_all(self.pool())
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
        document: &str,
    ) -> Result<i64> {
        let mut w = self.begin().await?;
        let (state, current, physician_id) = current_of(&mut w.tx, id).await?;
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
        let rev = insert_revision(&mut w.tx, id, Some(base), Some(user.id), kind, document).await?;
        let to = if state == State::Draft {
            State::InEdit
        } else {
            state
        };
        set_state(&mut w.tx, id, to, Some(rev), None).await?;
        append(
            &mut w.tx,
            &entry(
                user,
                "edit",
                id,
                format!("revision={rev} base={base} kind={kind}"),
            ),
        )
        .await?;
        if to != state {
            append(
                &mut w.tx,
                &entry(user, "transition", id, format!("{state}->{to}")),
            )
            .await?;
        }
        w.commit().await?;
        Ok(rev)
    }

    /// Moves a dictation to `to` if the workflow allows it for `user`.
    pub async fn transition(
        &self,
        user: &SessionUser,
        id: i64,
        to: State,
        reason: Option<&str>,
    ) -> Result<State> {
        let mut w = self.begin().await?;
        let (from, current, physician_id) = current_of(&mut w.tx, id).await?;
        let flags = unresolved(&mut w.tx, id).await?;
        if let Some(why) =
            review::check_transition(user.role, physician_id == user.id, from, to, flags, reason)
        {
            return Err(Error::Conflict(why));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        set_state(&mut w.tx, id, to, current, reason).await?;
        if to == State::Uploaded {
            super::jobs::requeue(&mut w.tx, id).await?;
        }
        append(
            &mut w.tx,
            &entry(
                user,
                "transition",
                id,
                format!(
                    "{from}->{to}{}",
                    if reason.is_some() { " with reason" } else { "" }
                ),
            ),
        )
        .await?;
        w.commit().await?;
        Ok(to)
    }

    /// Signs revision `revision` (must be current): freezes it with the SHA-256
    /// of its canonical document. Returns (version, sha256).
    pub async fn sign(&self, user: &SessionUser, id: i64, revision: i64) -> Result<(i64, String)> {
        let mut w = self.begin().await?;
        let (state, current, physician_id) = current_of(&mut w.tx, id).await?;
        let flags = unresolved(&mut w.tx, id).await?;
        if let Some(why) = review::check_sign(user.role, physician_id == user.id, state, flags) {
            return Err(Error::Conflict(why));
        }
        if current != Some(revision) {
            return Err(stale(revision, current));
        }
        let sha256: String = sqlx::query_scalar("SELECT sha256 FROM revisions WHERE id = ?")
            .bind(revision)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(db("read revision"))?;
        let version: i64 =
            sqlx::query_scalar("SELECT COUNT(*) + 1 FROM signatures WHERE dictation_id = ?")
                .bind(id)
                .fetch_one(&mut *w.tx)
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
        .execute(&mut *w.tx)
        .await
        .map_err(db("sign"))?;
        set_state(&mut w.tx, id, State::Signed, current, None).await?;
        append(
            &mut w.tx,
            &entry(
                user,
                "sign",
                id,
                format!("revision={revision} version={version} sha256={sha256}"),
            ),
        )
        .await?;
        w.commit().await?;
        Ok((version, sha256))
    }

    /// Adds an addendum to a signed report: `document` (the signed document plus
    /// the addendum) becomes a new revision awaiting signature.
    pub async fn add_addendum(&self, user: &SessionUser, id: i64, document: &str) -> Result<i64> {
        let mut w = self.begin().await?;
        let (state, current, physician_id) = current_of(&mut w.tx, id).await?;
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
            insert_revision(&mut w.tx, id, current, Some(user.id), "addendum", document).await?;
        set_state(&mut w.tx, id, State::AwaitingSignature, Some(rev), None).await?;
        append(
            &mut w.tx,
            &entry(user, "addendum", id, format!("revision={rev}")),
        )
        .await?;
        w.commit().await?;
        Ok(rev)
    }

    pub async fn add_flag(
        &self,
        user: &SessionUser,
        id: i64,
        kind: FlagKind,
        time_s: f64,
        note: &str,
    ) -> Result<i64> {
        let mut w = self.begin().await?;
        let (state, _, physician_id) = current_of(&mut w.tx, id).await?;
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
        .execute(&mut *w.tx)
        .await
        .map_err(db("add flag"))?
        .last_insert_rowid();
        append(
            &mut w.tx,
            &entry(user, "flag", id, format!("flag={fid} kind={kind}")),
        )
        .await?;
        w.commit().await?;
        Ok(fid)
    }

    pub async fn resolve_flag(
        &self,
        user: &SessionUser,
        id: i64,
        flag: i64,
        resolution: &str,
    ) -> Result<()> {
        let mut w = self.begin().await?;
        let (state, _, physician_id) = current_of(&mut w.tx, id).await?;
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
        .execute(&mut *w.tx)
        .await
        .map_err(db("resolve flag"))?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "no unresolved flag {flag} on dictation {id}"
            )));
        }
        append(
            &mut w.tx,
            &entry(user, "flag_resolve", id, format!("flag={flag}")),
        )
        .await?;
        w.commit().await
    }
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

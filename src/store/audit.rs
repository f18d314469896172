//! The audit log: append-only (triggers refuse UPDATE and DELETE) and
//! tamper-evident: each entry's hash covers its fields and the previous
//! entry's hash, so changing, removing or reordering any row breaks the chain
//! from there on. Entries name users, actions and record ids, never patient
//! data or text.

use sqlx::SqliteConnection;

use super::{db, now, sha256_hex, Store};
use crate::Result;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, by whom, to which dictation.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub user_id: Option<i64>,
    pub username: String,
    pub action: &'static str,
    pub dictation_id: Option<i64>,
    /// Ids, states, formats: never patient data or transcript text.
    pub detail: String,
}

impl AuditEntry {
    pub fn by(
        user_id: i64,
        username: &str,
        action: &'static str,
        dictation_id: Option<i64>,
        detail: String,
    ) -> Self {
        AuditEntry {
            user_id: Some(user_id),
            username: username.to_string(),
            action,
            dictation_id,
            detail,
        }
    }

    /// Done by medscribe itself (the transcription worker, the CLI).
    pub fn system(action: &'static str, dictation_id: Option<i64>, detail: String) -> Self {
        AuditEntry {
            user_id: None,
            username: "medscribe".into(),
            action,
            dictation_id,
            detail,
        }
    }
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChainReport {
    pub entries: i64,
    /// The id of the first entry whose hash does not match, if any.
    pub first_broken: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    id: i64,
    at: &str,
    user_id: Option<i64>,
    username: &str,
    action: &str,
    dictation_id: Option<i64>,
    detail: &str,
) -> String {
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let line = [
        prev,
        &id.to_string(),
        at,
        &opt(user_id),
        username,
        action,
        &opt(dictation_id),
        detail,
    ]
    .join("\u{1f}");
    sha256_hex(line.as_bytes())
}

/// Appends `entry` inside the caller's write transaction, so the entry and the
/// change it records commit together.
pub async fn append(conn: &mut SqliteConnection, entry: &AuditEntry) -> Result<()> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("read audit"))?;
    let (id, prev) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at = now();
    let hash = entry_hash(
        &prev,
        id,
        &at,
        entry.user_id,
        &entry.username,
        entry.action,
        entry.dictation_id,
        &entry.detail,
    );
    sqlx::query(
        "INSERT INTO audit (id, at, user_id, username, action, dictation_id, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&at)
    .bind(entry.user_id)
    .bind(&entry.username)
    .bind(entry.action)
    .bind(entry.dictation_id)
    .bind(&entry.detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map_err(db("append audit"))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    user_id: Option<i64>,
    username: String,
    action: String,
    dictation_id: Option<i64>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl Store {
    /// Records `entry` on its own (reads of patient data, exports); returns
    /// once it is on disk, so no read is answered before it is logged. Reads
    /// waiting at the same moment share one transaction and one disk sync.
    pub async fn audit(&self, entry: AuditEntry) -> Result<()> {
        self.write(move |c| Box::pin(async move { append(c, &entry).await }))
            .await
    }

    /// Walks the whole chain in order and reports the first entry that does not
    /// hash to its recorded value or does not follow its predecessor.
    pub async fn verify_audit(&self) -> Result<ChainReport> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, user_id, username, action, dictation_id, detail, prev_hash, hash
             FROM audit ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db("read audit"))?;
        let mut prev = GENESIS.to_string();
        for (expected_id, r) in (1..).zip(rows.iter()) {
            let hash = entry_hash(
                &prev,
                r.id,
                &r.at,
                r.user_id,
                &r.username,
                &r.action,
                r.dictation_id,
                &r.detail,
            );
            if r.id != expected_id || r.prev_hash != prev || r.hash != hash {
                return Ok(ChainReport {
                    entries: rows.len() as i64,
                    first_broken: Some(r.id),
                });
            }
            prev = r.hash.clone();
        }
        Ok(ChainReport {
            entries: rows.len() as i64,
            first_broken: None,
        })
    }

    /// Audit entries of one dictation, oldest first: (at, username, action, detail).
    pub async fn audit_of(
        &self,
        dictation_id: i64,
    ) -> Result<Vec<(String, String, String, String)>> {
        sqlx::query_as(
            "SELECT at, username, action, detail FROM audit WHERE dictation_id = ? ORDER BY id",
        )
        .bind(dictation_id)
        .fetch_all(self.pool())
        .await
        .map_err(db("read audit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chain_verifies_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for i in 0..5 {
            store
                .audit(AuditEntry::system("test", Some(i), format!("n={i}")))
                .await
                .unwrap();
        }
        let ok = store.verify_audit().await.unwrap();
        assert_eq!(
            ok,
            ChainReport {
                entries: 5,
                first_broken: None
            }
        );

        // Updates are refused outright...
        let refused = sqlx::query("UPDATE audit SET detail = 'x' WHERE id = 3")
            .execute(store.pool())
            .await;
        assert!(refused.unwrap_err().to_string().contains("append-only"));
        // ...and a row changed behind the triggers' back is found.
        sqlx::query("DROP TRIGGER audit_no_update")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE audit SET detail = 'n=9' WHERE id = 3")
            .execute(store.pool())
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap();
        assert_eq!(broken.first_broken, Some(3));
    }
}

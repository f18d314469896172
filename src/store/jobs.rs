//! The persistent transcription queue. A job is claimed (queued -> running)
//! and completed (running -> done, with the draft revision) in separate
//! transactions; a crash in between leaves it `running`, and [`Store::recover_jobs`]
//! queues it again at the next start. Completion only counts while the job is
//! still `running`, so a job can never complete twice.

use sqlx::SqliteConnection;

use super::audit::{append, AuditEntry};
use super::dictations::{insert_revision, set_state};
use super::{db, now, Store};
use crate::review::State;
use crate::Result;

/// A job that crashed the process this many times is given up on.
pub const MAX_ATTEMPTS: i64 = 3;

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub dictation_id: i64,
    pub attempts: i64,
    pub audio_file: String,
    /// The dictation's expected terms, comma-separated (may be empty).
    pub expected_terms: String,
}

/// The latest job of a dictation, for its details page.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct JobStatus {
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
}

pub(crate) async fn enqueue(
    conn: &mut SqliteConnection,
    dictation_id: i64,
    rank: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (dictation_id, rank, state, created_at) VALUES (?, ?, 'queued', ?)",
    )
    .bind(dictation_id)
    .bind(rank)
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(db("queue job"))?;
    Ok(())
}

/// Queues a failed dictation again (admin retry).
pub(crate) async fn requeue(conn: &mut SqliteConnection, dictation_id: i64) -> Result<()> {
    let rank: i64 = sqlx::query_scalar(
        "SELECT CASE priority WHEN 'stat' THEN 0 ELSE 1 END FROM dictations WHERE id = ?",
    )
    .bind(dictation_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("read dictation"))?;
    enqueue(conn, dictation_id, rank).await
}

impl Store {
    /// Queues again the jobs a crash or kill left running; gives up on those
    /// that have crashed [`MAX_ATTEMPTS`] times. Returns how many were requeued.
    pub async fn recover_jobs(&self) -> Result<u64> {
        let mut w = self.begin().await?;
        let stuck: Vec<(i64, i64, i64)> =
            sqlx::query_as("SELECT id, dictation_id, attempts FROM jobs WHERE state = 'running'")
                .fetch_all(&mut *w.tx)
                .await
                .map_err(db("read jobs"))?;
        let mut requeued = 0;
        for (job, dictation, attempts) in stuck {
            if attempts >= MAX_ATTEMPTS {
                let msg = format!("transcription stopped the server {attempts} times; giving up");
                finish_failed(&mut w.tx, job, dictation, &msg).await?;
            } else {
                sqlx::query("UPDATE jobs SET state = 'queued' WHERE id = ?")
                    .bind(job)
                    .execute(&mut *w.tx)
                    .await
                    .map_err(db("requeue job"))?;
                set_state(&mut w.tx, dictation, State::Uploaded, None, None).await?;
                append(
                    &mut w.tx,
                    &AuditEntry::system(
                        "transcribe_retry",
                        Some(dictation),
                        format!("job={job} attempts={attempts}"),
                    ),
                )
                .await?;
                requeued += 1;
            }
        }
        w.commit().await?;
        Ok(requeued)
    }

    /// Takes the next job, STAT before routine, oldest first.
    pub async fn claim_job(&self) -> Result<Option<Job>> {
        let mut w = self.begin().await?;
        let job: Option<Job> = sqlx::query_as(
            "SELECT j.id, j.dictation_id, j.attempts + 1 AS attempts, d.audio_file, d.expected_terms
             FROM jobs j JOIN dictations d ON d.id = j.dictation_id
             WHERE j.state = 'queued' ORDER BY j.rank, j.id LIMIT 1",
        )
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(db("read queue"))?;
        let Some(job) = job else {
            return Ok(None);
        };
        sqlx::query("UPDATE jobs SET state = 'running', attempts = ?, started_at = ? WHERE id = ?")
            .bind(job.attempts)
            .bind(now())
            .bind(job.id)
            .execute(&mut *w.tx)
            .await
            .map_err(db("claim job"))?;
        set_state(&mut w.tx, job.dictation_id, State::Transcribing, None, None).await?;
        append(
            &mut w.tx,
            &AuditEntry::system(
                "transcribe_start",
                Some(job.dictation_id),
                format!("job={} attempt={}", job.id, job.attempts),
            ),
        )
        .await?;
        w.commit().await?;
        Ok(Some(job))
    }

    /// Records the draft of a running job. Returns false (and changes nothing)
    /// if the job is no longer running, e.g. already completed.
    pub async fn complete_job(&self, job: &Job, document: &str) -> Result<bool> {
        let mut w = self.begin().await?;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM jobs WHERE id = ?")
            .bind(job.id)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(db("read job"))?;
        if state.as_deref() != Some("running") {
            return Ok(false);
        }
        let rev =
            insert_revision(&mut w.tx, job.dictation_id, None, None, "draft", document).await?;
        set_state(&mut w.tx, job.dictation_id, State::Draft, Some(rev), None).await?;
        sqlx::query("UPDATE jobs SET state = 'done', finished_at = ?, error = NULL WHERE id = ?")
            .bind(now())
            .bind(job.id)
            .execute(&mut *w.tx)
            .await
            .map_err(db("finish job"))?;
        append(
            &mut w.tx,
            &AuditEntry::system(
                "transcribed",
                Some(job.dictation_id),
                format!("job={} revision={rev}", job.id),
            ),
        )
        .await?;
        w.commit().await?;
        Ok(true)
    }

    /// Puts a job interrupted by a clean shutdown back in the queue, without
    /// counting the attempt.
    pub async fn release_job(&self, job: &Job) -> Result<()> {
        let mut w = self.begin().await?;
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1 WHERE id = ? AND state = 'running'",
        )
        .bind(job.id)
        .execute(&mut *w.tx)
        .await
        .map_err(db("release job"))?;
        set_state(&mut w.tx, job.dictation_id, State::Uploaded, None, None).await?;
        w.commit().await
    }

    /// Records that a job failed for good; `message` must not hold patient data.
    pub async fn fail_job(&self, job: &Job, message: &str) -> Result<()> {
        let mut w = self.begin().await?;
        finish_failed(&mut w.tx, job.id, job.dictation_id, message).await?;
        w.commit().await
    }

    /// (queued, running) job counts.
    pub async fn queue_counts(&self) -> Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'running'), 0) FROM jobs",
        )
        .fetch_one(self.pool())
        .await
        .map_err(db("count jobs"))
    }

    pub async fn job_status(&self, dictation_id: i64) -> Result<Option<JobStatus>> {
        sqlx::query_as(
            "SELECT state, attempts, error FROM jobs WHERE dictation_id = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(dictation_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db("read job"))
    }

    /// How many jobs of a dictation completed: for tests and checks.
    pub async fn completed_jobs(&self, dictation_id: i64) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE dictation_id = ? AND state = 'done'")
            .bind(dictation_id)
            .fetch_one(self.pool())
            .await
            .map_err(db("count jobs"))
    }
}

async fn finish_failed(
    conn: &mut SqliteConnection,
    job: i64,
    dictation: i64,
    message: &str,
) -> Result<()> {
    sqlx::query("UPDATE jobs SET state = 'failed', finished_at = ?, error = ? WHERE id = ?")
        .bind(now())
        .bind(message)
        .bind(job)
        .execute(&mut *conn)
        .await
        .map_err(db("fail job"))?;
    set_state(conn, dictation, State::Failed, None, None).await?;
    append(
        conn,
        &AuditEntry::system("transcribe_failed", Some(dictation), format!("job={job}")),
    )
    .await
}

//! The review server's durable state: an embedded SQLite database (through
//! sqlx, so PostgreSQL can follow) and the uploaded audio, under one data
//! folder readable by its owner only.
//!
//! Writes are serialised in the process: SQLite has one writer anyway, and
//! one writer at a time makes "check the revision, then save" and the audit
//! hash chain race-free without retry loops. Request-path writes go through
//! [`Store::write`] (group commit: every write waiting at that moment runs in
//! one transaction, each in its own savepoint, with one disk sync for all);
//! rare ones (accounts, the transcription queue) through [`Store::begin`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection, Transaction};
use tokio::sync::{mpsc, oneshot, Mutex, MutexGuard};

use crate::{fsutil, Error, Result};

pub mod audit;
pub mod dictations;
pub mod jobs;
pub mod users;

pub use audit::{AuditEntry, ChainReport};
pub use dictations::{DictationRow, FlagRow, NewDictation, RevisionRow, SignatureRow};
pub use users::{SessionUser, UserRow};

/// Numbered SQL migrations in `migrations/`, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Handle to the database and the data folder; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    write: Arc<Mutex<()>>,
    dir: PathBuf,
    writer: mpsc::UnboundedSender<Op>,
}

/// The future of one write, borrowing the batch's connection.
pub type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// After its batch commits (None) or fails (Some), an op answers its caller.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// A queued write: runs inside the batch transaction; Ok keeps its changes.
type Op = Box<
    dyn for<'c> FnOnce(
            &'c mut SqliteConnection,
        ) -> Pin<Box<dyn Future<Output = (bool, Finish)> + Send + 'c>>
        + Send,
>;

/// Most writes joined in one transaction.
const BATCH: usize = 256;

/// A write transaction holding the store's write turn.
pub struct WriteTx<'a> {
    _turn: MutexGuard<'a, ()>,
    pub tx: Transaction<'static, Sqlite>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(db("commit"))
    }
}

/// Maps a database error to [`Error::Store`], naming the operation only.
pub(crate) fn db(op: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| Error::Store(format!("{op}: {e}"))
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: `medscribe.db` and `audio/`.
    /// New files and folders are readable by the owner only.
    pub async fn open(dir: &Path) -> Result<Store> {
        fsutil::create_private_dir(dir)?;
        fsutil::create_private_dir(&dir.join("audio"))?;
        let db_path = dir.join("medscribe.db");
        // Created here with mode 0600 so that SQLite's journal files, which
        // copy the database file's mode, are private too.
        fsutil::touch_private(&db_path)?;
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db("options"))?
            .filename(&db_path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // Checkpoints run in their own task (start_checkpointer), not in commits.
            .pragma("wal_autocheckpoint", "0")
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(|e| {
                Error::Store(format!(
                    "cannot open {}: {e}; check the --data folder",
                    db_path.display()
                ))
            })?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            Error::Store(format!(
                "migrating {}: {e}; was it made by a newer medscribe?",
                db_path.display()
            ))
        })?;
        let write = Arc::new(Mutex::new(()));
        let writer = start_writer(pool.clone(), write.clone());
        start_checkpointer(pool.clone());
        Ok(Store {
            pool,
            write,
            dir: dir.to_path_buf(),
            writer,
        })
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where uploaded audio lives.
    pub fn audio_dir(&self) -> PathBuf {
        self.dir.join("audio")
    }

    /// For reads.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction; waits for the previous writer to finish.
    pub async fn begin(&self) -> Result<WriteTx<'_>> {
        let turn = self.write.lock().await;
        let tx = self.pool.begin().await.map_err(db("begin"))?;
        Ok(WriteTx { _turn: turn, tx })
    }

    /// Runs `f` as one write with group commit: it joins the writes waiting at
    /// that moment in one transaction, in its own savepoint, in arrival order
    /// (so audit entries chain in order). An `Err` from `f` undoes only its own
    /// changes. Returns once the batch is committed: with synchronous=FULL the
    /// commit has reached the disk, so a write reported done survives a crash.
    /// If the commit fails, every write of the batch gets the error.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (reply, done) = oneshot::channel::<Result<T>>();
        let op: Op = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let finish: Finish = Box::new(move |failed| {
                    let _ = reply.send(match failed {
                        None => result,
                        Some(e) => Err(Error::Store(e.to_string())),
                    });
                });
                (ok, finish)
            })
        });
        let stopped = || Error::Store("the database writer has stopped".into());
        self.writer.send(op).map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The single writer task: takes every write waiting, runs them in one
/// transaction (one savepoint each), commits once, then answers them all.
fn start_writer(pool: SqlitePool, write: Arc<Mutex<()>>) -> mpsc::UnboundedSender<Op> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Op>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.push(more),
                    Err(_) => break,
                }
            }
            let _turn = write.lock().await;
            let mut finished = Vec::with_capacity(batch.len());
            let failed = run_batch(&pool, batch, &mut finished).await.err();
            for finish in finished {
                finish(failed.as_ref().map(|e| e.to_string()).as_deref());
            }
        }
    });
    tx
}

/// Copies committed WAL frames into the database file a few times a second.
/// Done inside a commit (SQLite's auto-checkpoint) it doubled the disk work
/// every waiting write sat behind. Durability is unchanged: a commit is on
/// disk once its WAL frames are synced (synchronous=FULL), and a checkpoint
/// syncs the database before the WAL is reused; after a crash SQLite replays
/// the WAL. PASSIVE: never waits for, nor blocks, readers or the writer.
fn start_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    break;
                }
                eprintln!("medscribe: checkpoint failed (will retry): {e}");
            }
        }
    });
}

async fn run_batch(pool: &SqlitePool, batch: Vec<Op>, finished: &mut Vec<Finish>) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db("begin"))?;
    for op in batch {
        sqlx::query("SAVEPOINT op")
            .execute(&mut *tx)
            .await
            .map_err(db("savepoint"))?;
        let (ok, finish) = op(&mut tx).await;
        finished.push(finish);
        if !ok {
            sqlx::query("ROLLBACK TO op")
                .execute(&mut *tx)
                .await
                .map_err(db("rollback to savepoint"))?;
        }
        sqlx::query("RELEASE op")
            .execute(&mut *tx)
            .await
            .map_err(db("release savepoint"))?;
    }
    tx.commit().await.map_err(db("commit"))
}

/// Now as RFC 3339 UTC, to the second.
pub fn now() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn parse_rfc3339(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::models::store::hex(&sha2::Sha256::digest(bytes))
}

/// `n` random bytes from the OS, hex: session tokens, CSRF tokens, file names.
pub fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Store(format!("no randomness from the OS: {e}")))?;
    Ok(crate::models::store::hex(&buf))
}

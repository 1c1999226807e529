//! One guest connection (the `connection` resource), and how a reused connection is
//! made to look fresh.
//!
//! A fresh rusqlite connection has: `synchronous` at the build's default, a 5 s busy
//! timeout, no open transaction, no TEMP objects, `last_insert_rowid() = 0` and
//! `changes() = total_changes() = 0`. Before a connection goes back to the pool the
//! host ends nothing on the guest's behalf: a connection left inside a transaction, or
//! with any pragma other than `synchronous`/`busy_timeout` set, or with a TEMP object,
//! is closed instead. The two pragmas are reset. At each checkout `last_insert_rowid`
//! is set to 0, and `changes()`/`total_changes()` are replaced by functions that count
//! only this checkout's changes.

use super::classify::{self, Residue};
use super::{values, Database, WRITER_QUEUE_TIMEOUT};
use crate::bindings::spin::fermyon::spin2_0_0::sqlite::{QueryResult, Value};
use rusqlite::functions::FunctionFlags;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// rusqlite's busy timeout on a new connection.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A raw connection with what it takes to hand it to another guest.
pub struct Pooled {
    conn: rusqlite::Connection,
    /// `total_changes` of the raw connection when this checkout began.
    baseline: Arc<AtomicU64>,
    default_synchronous: i64,
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled").finish_non_exhaustive()
    }
}

impl Pooled {
    fn open(database: &Database) -> rusqlite::Result<Pooled> {
        let conn = database.open_raw()?;
        let baseline = Arc::new(AtomicU64::new(0));
        let mut default_synchronous = 0;
        if database.reuses() {
            install_change_counters(&conn, &baseline)?;
            default_synchronous = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        }
        Ok(Pooled {
            conn,
            baseline,
            default_synchronous,
        })
    }

    /// Starts a checkout: the guest sees no earlier inserts or changes.
    fn checkout(&self) {
        self.baseline
            .store(self.conn.total_changes(), Ordering::Relaxed);
        // SAFETY: the handle is this open connection's, used on this thread only.
        unsafe { rusqlite::ffi::sqlite3_set_last_insert_rowid(self.conn.handle(), 0) };
    }

    fn reset_pragmas(&self) -> rusqlite::Result<()> {
        self.conn
            .pragma_update(None, "synchronous", self.default_synchronous)?;
        self.conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
    }
}

/// `changes()` and `total_changes()` as a fresh connection would answer them.
fn install_change_counters(
    conn: &rusqlite::Connection,
    baseline: &Arc<AtomicU64>,
) -> rusqlite::Result<()> {
    let since = baseline.clone();
    conn.create_scalar_function("total_changes", 0, FunctionFlags::SQLITE_UTF8, move |ctx| {
        // SAFETY: the function runs inside a statement of the connection it was added to.
        let conn = unsafe { ctx.get_connection()? };
        Ok(conn
            .total_changes()
            .saturating_sub(since.load(Ordering::Relaxed)) as i64)
    })?;
    let since = baseline.clone();
    conn.create_scalar_function("changes", 0, FunctionFlags::SQLITE_UTF8, move |ctx| {
        // SAFETY: as above.
        let conn = unsafe { ctx.get_connection()? };
        // No change since the checkout means every write of this guest changed nothing.
        Ok(if conn.total_changes() == since.load(Ordering::Relaxed) {
            0
        } else {
            conn.changes() as i64
        })
    })
}

/// Why a statement or an `open` failed: SQLite's answer, or the blocking task that ran
/// it died (`new` mode).
#[derive(Debug)]
pub enum Failure {
    Sqlite(rusqlite::Error),
    Task(tokio::task::JoinError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sqlite(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Sqlite(e) => e.fmt(f),
            Failure::Task(e) => write!(f, "the SQLite task failed: {e}"),
        }
    }
}

/// The `connection` resource.
pub struct SqliteConnection {
    database: Arc<Database>,
    /// `None` only while a statement runs on the blocking pool (`new` mode).
    conn: Option<Pooled>,
    /// The database's writer permit, held from the first write until the transaction ends.
    writer: Option<tokio::sync::OwnedSemaphorePermit>,
    residue: Residue,
}

impl SqliteConnection {
    pub async fn open(database: Arc<Database>) -> Result<SqliteConnection, Failure> {
        let pooled = match database.reuses().then(|| database.take_idle()).flatten() {
            Some(pooled) => pooled,
            None if database.reuses() => Pooled::open(&database)?,
            None => {
                let db = database.clone();
                tokio::task::spawn_blocking(move || Pooled::open(&db))
                    .await
                    .map_err(Failure::Task)??
            }
        };
        pooled.checkout();
        Ok(SqliteConnection {
            database,
            conn: Some(pooled),
            writer: None,
            residue: Residue::None,
        })
    }

    pub async fn execute(
        &mut self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<QueryResult, Failure> {
        if !self.database.reuses() {
            return self.execute_blocking(sql, params).await;
        }
        let pooled = self.conn.as_ref().ok_or(rusqlite::Error::InvalidQuery)?;
        if self.writer.is_none()
            && (classify::begins_write_transaction(&sql) || values::may_write(&pooled.conn, &sql))
        {
            let queue = self.database.writer.clone();
            self.writer = tokio::time::timeout(WRITER_QUEUE_TIMEOUT, queue.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok);
        }
        let pooled = self.conn.as_ref().ok_or(rusqlite::Error::InvalidQuery)?;
        let result = values::execute(&pooled.conn, &sql, params);
        self.residue = self.residue.max(classify::residue(&sql));
        if pooled.conn.is_autocommit() {
            self.writer = None;
        }
        Ok(result?)
    }

    /// Spin's way: the statement runs on the blocking pool, where SQLite's busy handler
    /// may sleep without holding up other requests.
    async fn execute_blocking(
        &mut self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<QueryResult, Failure> {
        let pooled = self.conn.take().ok_or(rusqlite::Error::InvalidQuery)?;
        let (pooled, result) = tokio::task::spawn_blocking(move || {
            let result = values::execute(&pooled.conn, &sql, params);
            (pooled, result)
        })
        .await
        .map_err(Failure::Task)?;
        self.conn = Some(pooled);
        Ok(result?)
    }
}

impl Drop for SqliteConnection {
    fn drop(&mut self) {
        let Some(pooled) = self.conn.take() else {
            return;
        };
        let reusable = self.database.reuses()
            && self.residue != Residue::Unresettable
            && pooled.conn.is_autocommit()
            && pooled.reset_pragmas().is_ok();
        if reusable {
            self.database.put_idle(pooled);
        }
    }
}

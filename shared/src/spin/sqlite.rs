//! `fermyon:spin/sqlite` as the storage port.

use crate::storage::busy::{is_busy, Backoff};
use crate::storage::{Backend, DbError, Rows, SqlExecutor, SqlValue};
use spin_sdk::sqlite::{Connection, Error as SqliteError, QueryResult, Value};
use std::cell::Cell;

/// The default SQLite database, with the connection settings the app relies on.
pub struct SpinSqlite {
    conn: Connection,
    /// Whether a writer waits for the lock here ([`Backoff`]) rather than in SQLite's
    /// busy handler.
    waits_for_lock: bool,
    /// Inside `BEGIN` … `COMMIT`/`ROLLBACK`, where a refused statement must not be tried
    /// again on its own.
    in_transaction: Cell<bool>,
}

/// The writers' durability (`sqlite_synchronous`, see README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Normal,
    Full,
}

impl Synchronous {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "FULL" => Ok(Synchronous::Full),
            "NORMAL" => Ok(Synchronous::Normal),
            other => {
                anyhow::bail!("variable sqlite_synchronous must be NORMAL or FULL, not `{other}`")
            }
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "PRAGMA synchronous = NORMAL",
            Synchronous::Full => "PRAGMA synchronous = FULL",
        }
    }
}

impl SpinSqlite {
    /// Opens the `default` database for writing. SQLite's busy handler is off: a statement
    /// that meets another writer's lock is tried again after a short wait (see
    /// [`crate::storage::busy`]), for at most the 5 s the handler would have waited.
    pub fn open_default(synchronous: Synchronous) -> anyhow::Result<Self> {
        let conn = Connection::open_default()?;
        conn.execute(synchronous.pragma(), &[])?;
        conn.execute("PRAGMA busy_timeout = 0", &[])?;
        Ok(Self {
            conn,
            waits_for_lock: true,
            in_transaction: Cell::new(false),
        })
    }

    /// Opens the `default` database for reads only, with no statement of its own: a WAL
    /// reader never waits for writers, and for the brief lock it can meet while another
    /// connection resets the WAL, Spin's connections come with rusqlite's 5 s busy
    /// timeout (DESIGN.md §15), as ours do.
    pub fn open_reader() -> anyhow::Result<Self> {
        Ok(Self {
            conn: Connection::open_default()?,
            waits_for_lock: false,
            in_transaction: Cell::new(false),
        })
    }

    /// Runs one statement; outside a transaction, one refused for another writer's lock
    /// is tried again (a refused statement has done nothing).
    fn run(&self, statement: &str, params: &[Value]) -> Result<QueryResult, SqliteError> {
        let mut backoff: Option<Backoff> = None;
        loop {
            match self.conn.execute(statement, params) {
                Err(SqliteError::Io(message))
                    if self.waits_for_lock && !self.in_transaction.get() && is_busy(&message) =>
                {
                    let wait = backoff
                        .get_or_insert_with(|| Backoff::new(uuid::Uuid::new_v4().as_u64_pair().0))
                        .next_wait()
                        .ok_or(SqliteError::Io(message))?;
                    std::thread::sleep(wait);
                }
                result => {
                    self.track_transaction(statement, result.is_ok());
                    return result;
                }
            }
        }
    }

    fn track_transaction(&self, statement: &str, succeeded: bool) {
        let word = statement.split_whitespace().next().unwrap_or("");
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if is("ROLLBACK") || (succeeded && (is("COMMIT") || is("END"))) {
            self.in_transaction.set(false);
        } else if succeeded && is("BEGIN") {
            self.in_transaction.set(true);
        }
    }
}

fn to_spin(v: &SqlValue) -> Value {
    match v {
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_spin(v: &Value) -> Result<SqlValue, DbError> {
    Ok(match v {
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
        Value::Null => SqlValue::Null,
        Value::Real(r) => {
            return Err(DbError::Decode(format!(
                "floating-point value {r} in result"
            )))
        }
    })
}

fn db_error(e: SqliteError) -> DbError {
    match e {
        SqliteError::Io(m) if m.contains("constraint") || m.contains("UNIQUE") => {
            DbError::Constraint(m)
        }
        other => DbError::Other(other.to_string()),
    }
}

impl SqlExecutor for SpinSqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    /// Spin's SQLite has one call for every statement.
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), DbError> {
        self.query(statement, params).map(drop)
    }

    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        let params: Vec<Value> = params.iter().map(to_spin).collect();
        let result = self.run(statement, &params).map_err(db_error)?;
        let rows = result
            .rows
            .iter()
            .map(|r| {
                r.values
                    .iter()
                    .map(from_spin)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rows {
            columns: result.columns,
            rows,
        })
    }
}

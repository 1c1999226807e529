//! `fermyon:spin/sqlite` as the storage port.

use crate::storage::{Backend, DbError, Rows, SqlExecutor, SqlValue};
use spin_sdk::sqlite::{Connection, Error as SqliteError, Value};

/// The default SQLite database, with the connection settings the app relies on.
pub struct SpinSqlite(Connection);

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
    /// Opens the `default` database for writing.
    pub fn open_default(synchronous: Synchronous) -> anyhow::Result<Self> {
        let conn = Connection::open_default()?;
        conn.execute(synchronous.pragma(), &[])?;
        conn.execute("PRAGMA busy_timeout = 5000", &[])?;
        Ok(Self(conn))
    }

    /// Opens the `default` database for reads only, with no statement of its own: a WAL
    /// reader never waits for writers, and for the brief lock it can meet while another
    /// connection resets the WAL, Spin's connections come with rusqlite's 5 s busy
    /// timeout (DESIGN.md §15), as ours do.
    pub fn open_reader() -> anyhow::Result<Self> {
        Ok(Self(Connection::open_default()?))
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
        let result = self.0.execute(statement, &params).map_err(db_error)?;
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

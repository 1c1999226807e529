//! Native test support: the storage port on real SQLite files through rusqlite.
#![allow(dead_code)]

use careforall::storage::migrations::SQLITE;
use careforall::storage::{Backend, DbError, Rows, SqlExecutor, SqlValue};
use std::path::{Path, PathBuf};

pub struct Rusqlite(pub rusqlite::Connection);

impl Rusqlite {
    pub fn open(path: &Path) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
        Rusqlite(conn)
    }
}

impl SqlExecutor for Rusqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use rusqlite::types::{Value, ValueRef};
        let classify = |e: rusqlite::Error| {
            let m = e.to_string();
            if m.contains("constraint") || m.contains("UNIQUE") {
                DbError::Constraint(m)
            } else {
                DbError::Other(m)
            }
        };
        let mut stmt = self.0.prepare_cached(sql).map_err(classify)?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
        let params: Vec<Value> = params
            .iter()
            .map(|p| match p {
                SqlValue::Integer(i) => Value::Integer(*i),
                SqlValue::Text(t) => Value::Text(t.clone()),
                SqlValue::Blob(b) => Value::Blob(b.clone()),
                SqlValue::Null => Value::Null,
            })
            .collect();
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            out.push(
                (0..columns.len())
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Integer(v) => SqlValue::Integer(v),
                        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into()),
                        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Real(r) => panic!("unexpected real {r}"),
                    })
                    .collect(),
            );
        }
        Ok(Rows { columns, rows: out })
    }
}

/// A throw-away folder holding a migrated database file.
pub struct TempDb {
    pub dir: PathBuf,
}

impl TempDb {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("cfa-shared-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Rusqlite::open(&dir.join("t.db"));
        for (_, sql) in SQLITE {
            conn.0.execute_batch(sql).unwrap();
        }
        TempDb { dir }
    }

    /// Another connection to the same file (as another instance would have).
    pub fn connect(&self) -> Rusqlite {
        Rusqlite::open(&self.dir.join("t.db"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn db() -> (TempDb, Rusqlite) {
    let temp = TempDb::new();
    let conn = temp.connect();
    (temp, conn)
}

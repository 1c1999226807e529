//! `fermyon:spin/sqlite@2.0.0` on real SQLite files through rusqlite, opened the way Spin
//! opens them (rusqlite defaults): each `open` is its own connection, so a transaction
//! spans several `execute` calls on one connection.

use crate::bindings::spin::fermyon::spin2_0_0::sqlite::{
    Error, Host, HostConnection, QueryResult, RowResult, Value,
};
use crate::config::runtime_config::SqliteLocation;
use crate::state::InstanceState;
use anyhow::{Context, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wasmtime::component::Resource;

/// The app's databases by label.
#[derive(Debug, Clone)]
pub struct SqliteDatabases(Arc<BTreeMap<String, SqliteLocation>>);

impl SqliteDatabases {
    pub fn new(databases: BTreeMap<String, SqliteLocation>) -> Result<Self> {
        for location in databases.values() {
            let SqliteLocation::File(path) = location else {
                continue;
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "cannot create folder for SQLite database {}",
                        path.display()
                    )
                })?;
            }
        }
        Ok(Self(Arc::new(databases)))
    }

    pub fn location(&self, label: &str) -> Option<&SqliteLocation> {
        self.0.get(label)
    }

    /// Runs SQL statements (`spin up --sqlite`) against a database before serving.
    pub fn run_script(&self, label: &str, sql: &str) -> Result<()> {
        let location = self
            .location(label)
            .with_context(|| format!("no SQLite database `{label}`"))?;
        let conn = open(location)?;
        conn.execute_batch(sql)
            .with_context(|| format!("running SQL against database `{label}` ({location:?})"))
    }
}

fn open(location: &SqliteLocation) -> rusqlite::Result<rusqlite::Connection> {
    match location {
        SqliteLocation::File(path) => rusqlite::Connection::open(path),
        SqliteLocation::InMemory => rusqlite::Connection::open_in_memory(),
    }
}

/// An open connection resource.
pub struct SqliteConnection(Arc<Mutex<rusqlite::Connection>>);

fn to_sql(v: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Integer(i) => V::Integer(i),
        Value::Real(r) => V::Real(r),
        Value::Text(t) => V::Text(t),
        Value::Blob(b) => V::Blob(b),
        Value::Null => V::Null,
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: Vec<Value>,
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let params: Vec<ToSqlOutput<'static>> = params
        .into_iter()
        .map(|v| ToSqlOutput::Owned(to_sql(v)))
        .collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(from_sql))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

impl Host for InstanceState {}

impl HostConnection for InstanceState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, Error>> {
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(location) = self.app.sqlite.location(&database).cloned() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        let opened = tokio::task::spawn_blocking(move || open(&location)).await?;
        match opened {
            Ok(conn) => Ok(Ok(self
                .table
                .push(SqliteConnection(Arc::new(Mutex::new(conn))))?)),
            Err(e) => Ok(Err(Error::Io(e.to_string()))),
        }
    }

    async fn execute(
        &mut self,
        conn: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let conn = match self.table.get(&conn) {
            Ok(c) => c.0.clone(),
            Err(_) => return Ok(Err(Error::InvalidConnection)),
        };
        let result = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            execute(&conn, &statement, parameters)
        })
        .await?;
        Ok(result.map_err(|e| Error::Io(e.to_string())))
    }

    async fn drop(&mut self, conn: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

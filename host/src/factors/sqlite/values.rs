//! Running one statement: the interface's values to rusqlite's and back.

use crate::bindings::spin::fermyon::spin2_0_0::sqlite::{QueryResult, RowResult, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};

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

/// Runs `sql` with `params` (through the connection's statement cache, as Spin does)
/// and collects every row.
pub fn execute(
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

/// Whether `sql` may write (SQLite's own reading of the prepared statement); a statement
/// that does not prepare is left to [`execute`] to report.
pub fn may_write(conn: &rusqlite::Connection, sql: &str) -> bool {
    conn.prepare_cached(sql).is_ok_and(|stmt| !stmt.readonly())
}

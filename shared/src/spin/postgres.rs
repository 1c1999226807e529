//! `spin:postgres/postgres@4.0.0` as the storage port: `?N` placeholders become `$N`,
//! integers travel as BIGINT, and a connection is one session, so transactions work.
//! Statements without result rows go through `execute`, never `query`: Spin 4.0.0–4.0.2
//! never return from a `query` that yields no rows.

use crate::storage::{postgres_placeholders, Backend, DbError, Rows, SqlExecutor, SqlValue};
use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError};

pub struct SpinPostgres(Connection);

impl SpinPostgres {
    /// Opens `address` (`postgres://user@host:port/db` or a key=value string).
    pub fn open(address: &str) -> anyhow::Result<Self> {
        Connection::open(address)
            .map(Self)
            .map_err(|e| anyhow::anyhow!("cannot open the Postgres database: {}", pg_message(&e)))
    }
}

fn pg_message(e: &PgError) -> String {
    match e {
        PgError::ConnectionFailed(m)
        | PgError::BadParameter(m)
        | PgError::ValueConversionFailed(m)
        | PgError::Other(m)
        | PgError::QueryFailed(QueryError::Text(m)) => m.clone(),
        PgError::QueryFailed(QueryError::DbError(db)) => db.as_text.clone(),
    }
}

fn db_error(e: PgError) -> DbError {
    match &e {
        // SQLSTATE class 23: integrity constraint violation.
        PgError::QueryFailed(QueryError::DbError(db)) if db.code.starts_with("23") => {
            DbError::Constraint(db.as_text.clone())
        }
        _ => DbError::Other(pg_message(&e)),
    }
}

fn to_pg(v: &SqlValue) -> ParameterValue {
    match v {
        SqlValue::Integer(i) => ParameterValue::Int64(*i),
        SqlValue::Text(s) => ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => ParameterValue::Binary(b.clone()),
        SqlValue::Null => ParameterValue::DbNull,
    }
}

fn from_pg(v: &DbValue) -> Result<SqlValue, DbError> {
    Ok(match v {
        DbValue::Boolean(b) => SqlValue::Integer(i64::from(*b)),
        DbValue::Int8(i) => SqlValue::Integer(i64::from(*i)),
        DbValue::Int16(i) => SqlValue::Integer(i64::from(*i)),
        DbValue::Int32(i) => SqlValue::Integer(i64::from(*i)),
        DbValue::Int64(i) => SqlValue::Integer(*i),
        DbValue::Str(s) => SqlValue::Text(s.clone()),
        DbValue::Binary(b) => SqlValue::Blob(b.clone()),
        DbValue::DbNull => SqlValue::Null,
        // SUM over BIGINT is NUMERIC: whole numbers only, never floats.
        DbValue::Decimal(d) => {
            SqlValue::Integer(d.parse().map_err(|_| {
                DbError::Decode(format!("NUMERIC {d} is not a whole 64-bit number"))
            })?)
        }
        other => {
            return Err(DbError::Decode(format!(
                "unsupported Postgres value in result: {other:?}"
            )))
        }
    })
}

impl SqlExecutor for SpinPostgres {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), DbError> {
        let params: Vec<ParameterValue> = params.iter().map(to_pg).collect();
        self.0
            .execute(&postgres_placeholders(statement), &params)
            .map(drop)
            .map_err(db_error)
    }

    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        let params: Vec<ParameterValue> = params.iter().map(to_pg).collect();
        let result = self
            .0
            .query(&postgres_placeholders(statement), &params)
            .map_err(db_error)?;
        let rows = result
            .rows
            .iter()
            .map(|r| r.iter().map(from_pg).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rows {
            columns: result.columns.into_iter().map(|c| c.name).collect(),
            rows,
        })
    }
}

//! `spin:postgres/postgres@4.0.0` on tokio-postgres with one deadpool pool per address.
//! Like Spin, an address may be opened only when the component's
//! `allowed_outbound_hosts` allows its `postgres://host:port`.

// The interface's own `error` variant is what every helper here returns to the guest;
// boxing it would only be unboxed again at the boundary.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::spin::postgres4_0_0::postgres::{
    Column, DbDataType, DbError, DbValue, Error, Host, HostConnection, ParameterValue, QueryError,
    RowSet,
};
use crate::state::InstanceState;
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use wasmtime::component::Resource;

/// Spin's pool size per address.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Connection pools by address, shared by every instance of the app.
#[derive(Clone)]
pub struct PgPools {
    pools: Arc<Mutex<HashMap<String, deadpool_postgres::Pool>>>,
    max_connections: usize,
}

impl PgPools {
    pub fn new(max_connections: usize) -> Self {
        PgPools {
            pools: Arc::default(),
            max_connections,
        }
    }

    fn pool(&self, address: &str) -> Result<deadpool_postgres::Pool, Error> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let config: tokio_postgres::Config = address
            .parse()
            .map_err(|e| Error::ConnectionFailed(format!("invalid address: {e}")))?;
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(self.max_connections)
            .build()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        pools.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

/// An open connection resource: one pooled client, held for the resource's lifetime so
/// a transaction can span several statements.
pub struct PgConnection(deadpool_postgres::Object);

/// A typed SQL NULL that binds to a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn parameter(p: ParameterValue) -> Result<Box<dyn ToSql + Send + Sync>, Error> {
    Ok(match p {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(&v)
                .map_err(|e| Error::BadParameter(format!("jsonb parameter is not JSON: {e}")))?,
        ),
        ParameterValue::Uuid(v) => Box::new(
            uuid::Uuid::parse_str(&v)
                .map_err(|e| Error::BadParameter(format!("uuid parameter: {e}")))?,
        ),
        ParameterValue::Timestamp(v) => Box::new(
            chrono::DateTime::from_timestamp(v, 0)
                .ok_or_else(|| Error::BadParameter(format!("timestamp {v} out of range")))?
                .naive_utc(),
        ),
        ParameterValue::DbNull => Box::new(Null),
        other => {
            return Err(Error::BadParameter(format!(
                "parameter type {other:?} is not supported by this host"
            )))
        }
    })
}

fn data_type(t: &Type) -> DbDataType {
    match *t {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Timestamp,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB | Type::JSON => DbDataType::Jsonb,
        _ => DbDataType::Other(t.name().to_string()),
    }
}

fn value(row: &tokio_postgres::Row, i: usize, t: &Type) -> Result<DbValue, Error> {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
    ) -> Result<Option<T>, Error> {
        row.try_get(i)
            .map_err(|e| Error::ValueConversionFailed(e.to_string()))
    }
    let v = match *t {
        Type::BOOL => get::<bool>(row, i)?.map(DbValue::Boolean),
        Type::CHAR => get::<i8>(row, i)?.map(DbValue::Int8),
        Type::INT2 => get::<i16>(row, i)?.map(DbValue::Int16),
        Type::INT4 => get::<i32>(row, i)?.map(DbValue::Int32),
        Type::INT8 => get::<i64>(row, i)?.map(DbValue::Int64),
        Type::FLOAT4 => get::<f32>(row, i)?.map(DbValue::Floating32),
        Type::FLOAT8 => get::<f64>(row, i)?.map(DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            get::<String>(row, i)?.map(DbValue::Str)
        }
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(DbValue::Binary),
        Type::UUID => get::<uuid::Uuid>(row, i)?.map(|u| DbValue::Uuid(u.to_string())),
        Type::JSONB | Type::JSON => get::<serde_json::Value>(row, i)?
            .map(|j| DbValue::Jsonb(serde_json::to_vec(&j).unwrap_or_default())),
        Type::TIMESTAMP => get::<chrono::NaiveDateTime>(row, i)?
            .map(|d| DbValue::Timestamp(d.and_utc().timestamp())),
        Type::TIMESTAMPTZ => {
            get::<chrono::DateTime<chrono::Utc>>(row, i)?.map(|d| DbValue::Timestamp(d.timestamp()))
        }
        _ => Some(DbValue::Unsupported(Vec::new())),
    };
    Ok(v.unwrap_or(DbValue::DbNull))
}

fn query_failed(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(QueryError::DbError(DbError {
            as_text: db.to_string(),
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            extras: Vec::new(),
        })),
        None => Error::QueryFailed(QueryError::Text(e.to_string())),
    }
}

fn params(params: Vec<ParameterValue>) -> Result<Vec<Box<dyn ToSql + Send + Sync>>, Error> {
    params.into_iter().map(parameter).collect()
}

fn refs(params: &[Box<dyn ToSql + Send + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PgConnection {
    async fn query(
        &self,
        statement: &str,
        parameters: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let bound = params(parameters)?;
        let prepared = self
            .0
            .prepare_cached(statement)
            .await
            .map_err(query_failed)?;
        let rows = self
            .0
            .query(&prepared, &refs(&bound))
            .await
            .map_err(query_failed)?;
        let columns = prepared
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().into(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let rows = rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| value(row, i, row.columns()[i].type_()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RowSet { columns, rows })
    }

    async fn execute(
        &self,
        statement: &str,
        parameters: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        let bound = params(parameters)?;
        let prepared = self
            .0
            .prepare_cached(statement)
            .await
            .map_err(query_failed)?;
        self.0
            .execute(&prepared, &refs(&bound))
            .await
            .map_err(query_failed)
    }
}

impl Host for InstanceState {}

impl HostConnection for InstanceState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        if !self.component.outbound.allows_url(&address) {
            return Ok(Err(Error::ConnectionFailed(format!(
                "address {address} is not permitted by allowed_outbound_hosts of component `{}`",
                self.component.id
            ))));
        }
        let pool = match self.app.postgres.pool(&address) {
            Ok(pool) => pool,
            Err(e) => return Ok(Err(e)),
        };
        match pool.get().await {
            Ok(client) => Ok(Ok(self.table.push(PgConnection(client))?)),
            Err(e) => Ok(Err(Error::ConnectionFailed(e.to_string()))),
        }
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        Ok(self.table.get(&conn)?.query(&statement, parameters).await)
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        Ok(self.table.get(&conn)?.execute(&statement, parameters).await)
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

//! `spin:postgres/postgres@4.0.0` on tokio-postgres with one deadpool pool per address.
//! Like Spin, an address may be opened only when the component's
//! `allowed_outbound_hosts` allows its `postgres://host:port`.

// The interface's own `error` variant is what every helper here returns to the guest;
// boxing it would only be unboxed again at the boundary.
#![allow(clippy::result_large_err)]

mod session;
mod values;

use crate::bindings::spin::spin::postgres4_0_0::postgres::{
    Column, Error, Host, HostConnection, ParameterValue, RowSet,
};
use crate::observe::log;
use crate::state::InstanceState;
use session::Session;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::ToSql;
use values::{data_type, params, query_failed, refs, value};
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
pub struct PgConnection {
    client: Option<deadpool_postgres::Object>,
    session: Session,
}

impl PgConnection {
    fn client(&self) -> &deadpool_postgres::Object {
        self.client
            .as_ref()
            .expect("a connection keeps its client until it is dropped")
    }

    async fn query(
        &mut self,
        statement: &str,
        parameters: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let bound = params(parameters)?;
        let sent = self.session.sending(statement);
        let result = rows(self.client(), statement, &bound).await;
        self.session.answered(sent, result.is_ok());
        result
    }

    async fn execute(
        &mut self,
        statement: &str,
        parameters: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        let bound = params(parameters)?;
        let sent = self.session.sending(statement);
        let result = affected(self.client(), statement, &bound).await;
        self.session.answered(sent, result.is_ok());
        result
    }
}

type Bound = [Box<dyn ToSql + Send + Sync>];

async fn rows(
    client: &deadpool_postgres::Object,
    statement: &str,
    bound: &Bound,
) -> Result<RowSet, Error> {
    let prepared = client
        .prepare_cached(statement)
        .await
        .map_err(query_failed)?;
    let rows = client
        .query(&prepared, &refs(bound))
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

async fn affected(
    client: &deadpool_postgres::Object,
    statement: &str,
    bound: &Bound,
) -> Result<u64, Error> {
    let prepared = client
        .prepare_cached(statement)
        .await
        .map_err(query_failed)?;
    client
        .execute(&prepared, &refs(bound))
        .await
        .map_err(query_failed)
}

impl Drop for PgConnection {
    /// Returns the client to its pool only outside a transaction: one the guest left
    /// open (or may have) is rolled back first, and discarded if that fails.
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if !self.session.needs_rollback() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            drop(deadpool_postgres::Object::take(client));
            return;
        };
        runtime.spawn(async move {
            if let Err(e) = client.batch_execute("ROLLBACK").await {
                log::warn(
                    "discarding a Postgres connection that would not roll back",
                    &[("error", &e.to_string())],
                );
                drop(deadpool_postgres::Object::take(client));
            }
        });
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
            Ok(client) => Ok(Ok(self.table.push(PgConnection {
                client: Some(client),
                session: Session::default(),
            })?)),
            Err(e) => Ok(Err(Error::ConnectionFailed(e.to_string()))),
        }
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        Ok(self
            .table
            .get_mut(&conn)?
            .query(&statement, parameters)
            .await)
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        Ok(self
            .table
            .get_mut(&conn)?
            .execute(&statement, parameters)
            .await)
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

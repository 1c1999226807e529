//! `spin:postgres/postgres@4.0.0` on tokio-postgres with one deadpool pool per address.
//! Like Spin, an address may be opened only when the component's
//! `allowed_outbound_hosts` allows its `postgres://host:port`, and TLS follows its
//! `sslmode` (see `tls`). Which call each statement took, and whether it has result
//! rows, is counted: on Spin 4.0.0–4.0.2 a `query` without result rows never returns.

// The interface's own `error` variant is what every helper here returns to the guest;
// boxing it would only be unboxed again at the boundary.
#![allow(clippy::result_large_err)]

mod session;
mod tls;
mod values;

use crate::bindings::spin::spin::postgres4_0_0::postgres::{
    Column, Error, Host, HostConnection, ParameterValue, RowSet,
};
use crate::config::component::ComponentConfig;
use crate::observe::log;
use crate::observe::trace::TraceScope;
use session::Session;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::ToSql;
use values::{data_type, params, query_failed, refs, value};
use wasmtime::component::{Resource, ResourceTable};

/// Spin's pool size per address.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Connection pools by address, shared by every instance of the app.
#[derive(Clone)]
pub struct PgPools {
    pools: Arc<Mutex<HashMap<String, deadpool_postgres::Pool>>>,
    max_connections: usize,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// Guest statements by the call they took and whether they have result rows.
    statements: prometheus::IntCounterVec,
}

impl PgPools {
    pub fn new(
        max_connections: usize,
        statements: prometheus::IntCounterVec,
    ) -> anyhow::Result<Self> {
        Ok(PgPools {
            pools: Arc::default(),
            max_connections,
            tls: tls::connector()?,
            statements,
        })
    }

    /// The factor's state for one instance of `component`.
    pub fn instance(&self, component: Arc<ComponentConfig>, trace: TraceScope) -> PgInstance {
        PgInstance {
            pools: self.clone(),
            component,
            connections: ResourceTable::new(),
            trace,
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
        let manager = deadpool_postgres::Manager::new(config, self.tls.clone());
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(self.max_connections)
            .build()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        pools.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

/// One instance's Postgres: the addresses its component may reach (its
/// `allowed_outbound_hosts`) and its open connections.
pub struct PgInstance {
    pools: PgPools,
    component: Arc<ComponentConfig>,
    connections: ResourceTable,
    trace: TraceScope,
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
    ) -> Result<(u64, Shape), Error> {
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
) -> Result<(u64, Shape), Error> {
    let prepared = client
        .prepare_cached(statement)
        .await
        .map_err(query_failed)?;
    let changed = client
        .execute(&prepared, &refs(bound))
        .await
        .map_err(query_failed)?;
    Ok((changed, Shape::with_columns(prepared.columns().len())))
}

/// Whether a statement has result rows, as the server described it when preparing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Rows,
    NoRows,
}

impl Shape {
    fn with_columns(count: usize) -> Shape {
        if count == 0 {
            Shape::NoRows
        } else {
            Shape::Rows
        }
    }

    fn label(self) -> &'static str {
        match self {
            Shape::Rows => "rows",
            Shape::NoRows => "no_rows",
        }
    }
}

impl PgInstance {
    fn count_statement(&self, call: &str, shape: Shape, statement: &str) {
        self.pools
            .statements
            .with_label_values(&[call, shape.label()])
            .inc();
        if call == "query" && shape == Shape::NoRows {
            log::warn(
                "a Postgres statement without result rows went through query: Spin 4.0.0-4.0.2 never return from it; send it through execute",
                &[
                    ("component", &self.component.id),
                    (
                        "statement",
                        &crate::factors::sql_words::leading_words(statement, 2).join(" "),
                    ),
                ],
            );
        }
    }
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

/// The error and what caused it (a TLS failure says which certificate check failed only
/// in its source).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

impl Host for PgInstance {}

impl HostConnection for PgInstance {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        let _span = self
            .trace
            .store_call("spin_outbound_pg.open", "postgresql", None);
        if !self.component.outbound.allows_url(&address) {
            return Ok(Err(Error::ConnectionFailed(format!(
                "address {address} is not permitted by allowed_outbound_hosts of component `{}`",
                self.component.id
            ))));
        }
        let pool = match self.pools.pool(&address) {
            Ok(pool) => pool,
            Err(e) => return Ok(Err(e)),
        };
        match pool.get().await {
            Ok(client) => Ok(Ok(self.connections.push(PgConnection {
                client: Some(client),
                session: Session::default(),
            })?)),
            Err(e) => Ok(Err(Error::ConnectionFailed(with_causes(&e)))),
        }
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        let span = self
            .trace
            .store_call("spin_outbound_pg.query", "postgresql", Some(&statement));
        let result = self
            .connections
            .get_mut(&conn)?
            .query(&statement, parameters)
            .await;
        match &result {
            Ok(rows) => {
                self.count_statement("query", Shape::with_columns(rows.columns.len()), &statement)
            }
            Err(e) => span.set_error(format!("{e:?}")),
        }
        Ok(result)
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        parameters: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let span =
            self.trace
                .store_call("spin_outbound_pg.execute", "postgresql", Some(&statement));
        let result = self
            .connections
            .get_mut(&conn)?
            .execute(&statement, parameters)
            .await;
        if let Err(e) = &result {
            span.set_error(format!("{e:?}"));
        }
        Ok(result.map(|(changed, shape)| {
            self.count_statement("execute", shape, &statement);
            changed
        }))
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.connections.delete(conn)?;
        Ok(())
    }
}

//! Per-instance store data: WASI and wasi:http, and each factor's own instance state.
//! Nothing here reaches back to the app or the trigger.

use crate::config::component::ComponentConfig;
use crate::factors::key_value::KeyValueInstance;
use crate::factors::outbound_http::{OutboundHttp, OutboundHttpInterceptor};
use crate::factors::postgres::PgInstance;
use crate::factors::sqlite::SqliteInstance;
use crate::factors::variables::VariablesInstance;
use crate::factors::AppFactors;
use crate::observe::trace::TraceScope;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct InstanceState {
    /// WASI's and wasi:http's resources (each factor keeps its own).
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub limits: StoreLimits,
    pub outbound_http: OutboundHttp,
    pub sqlite: SqliteInstance,
    pub key_value: KeyValueInstance,
    pub postgres: PgInstance,
    pub variables: VariablesInstance,
}

impl InstanceState {
    /// One instance of `component`: each factor's state for it, its calls traced under
    /// `trace`, its outbound requests offered to `interceptor` first.
    pub fn new(
        factors: &AppFactors,
        component: Arc<ComponentConfig>,
        interceptor: Arc<dyn OutboundHttpInterceptor>,
        trace: TraceScope,
        max_memory_bytes: usize,
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout()
            .inherit_stderr()
            .envs(&component.environment);
        InstanceState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(max_memory_bytes)
                .build(),
            outbound_http: OutboundHttp::new(
                component.clone(),
                interceptor,
                factors.outbound_http.clone(),
                trace.clone(),
            ),
            sqlite: factors.sqlite.instance(component.clone(), trace.clone()),
            key_value: factors.key_value.instance(component.clone(), trace.clone()),
            postgres: factors.postgres.instance(component.clone(), trace),
            variables: VariablesInstance::new(component),
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

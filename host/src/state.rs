//! Per-instance store data: WASI, wasi:http and the Spin factors' state, plus references
//! to the app-wide and component-wide configuration resolved at startup.

use crate::app::AppRuntime;
use crate::config::allowed_hosts::OutboundRules;
use crate::factors::outbound_http::OutboundHttp;
use crate::observe::trace::TraceScope;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What a component may use, resolved from `spin.toml` once at startup.
#[derive(Debug)]
pub struct ComponentConfig {
    pub id: String,
    pub sqlite_databases: HashSet<String>,
    pub key_value_stores: HashSet<String>,
    pub variables: HashMap<String, String>,
    pub outbound: OutboundRules,
    pub environment: Vec<(String, String)>,
}

pub struct InstanceState {
    pub app: Arc<AppRuntime>,
    pub component: Arc<ComponentConfig>,
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound_http: OutboundHttp,
    pub limits: StoreLimits,
    /// The request's (or scheduled run's) span; each factor's calls are traced under it.
    pub trace: TraceScope,
}

impl InstanceState {
    pub fn new(app: Arc<AppRuntime>, component: Arc<ComponentConfig>, trace: TraceScope) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout()
            .inherit_stderr()
            .envs(&component.environment);
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(app.limits.max_memory_bytes)
            .build();
        InstanceState {
            outbound_http: OutboundHttp::new(app.clone(), component.clone(), trace.clone()),
            app,
            component,
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            limits,
            trace,
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

//! A loaded application: every component compiled and pre-instantiated once
//! (`InstancePre`), stores and variables resolved, routes built. Startup fails with a
//! message naming the culprit if anything in the manifest cannot be honoured.

use crate::bindings::cron::SpinCronPre;
use crate::bindings::spin::fermyon::spin2_0_0::{key_value, sqlite, variables};
use crate::bindings::spin::spin::postgres4_0_0::postgres;
use crate::config::allowed_hosts::OutboundRules;
use crate::config::component::ComponentConfig;
use crate::config::manifest::{Manifest, Route};
use crate::config::runtime_config::RuntimeConfig;
use crate::engine::{self, EngineLimits};
use crate::factors::key_value::{KeyValueInstance, KeyValueStores};
use crate::factors::outbound_http::{OutboundHttpInterceptor, OutboundPool};
use crate::factors::postgres::{PgInstance, PgPools};
use crate::factors::sqlite::{ConnectionMode, SqliteDatabases, SqliteInstance};
use crate::factors::variables::{AppVariables, VariablesInstance};
use crate::factors::{self, AppFactors};
use crate::observe::metrics::Metrics;
use crate::observe::trace::{TraceScope, Tracing};
use crate::routes::Router;
use crate::state::InstanceState;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// Why an instance was stopped: its request ran past the host's deadline. The one
/// error both deadline mechanisms (the epoch callback inside the guest, the wall-clock
/// timeout around it) raise, recognised by type rather than by message.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline exceeded")
    }
}

impl std::error::Error for DeadlineExceeded {}

impl DeadlineExceeded {
    /// Whether `e`, or anything it wraps, is a deadline.
    pub fn caused(e: &anyhow::Error) -> bool {
        e.chain().any(|cause| cause.is::<DeadlineExceeded>())
    }
}

pub struct HostLimits {
    pub request_timeout: Duration,
    pub max_request_body_bytes: usize,
    pub max_memory_bytes: usize,
}

pub struct LoadOptions {
    pub manifest: PathBuf,
    pub state_dir: Option<PathBuf>,
    pub runtime_config: Option<PathBuf>,
    pub sqlite_statements: Vec<String>,
    pub sqlite_connections: ConnectionMode,
    pub max_postgres_connections: usize,
    pub environment: Vec<(String, String)>,
    pub limits: HostLimits,
    pub tracing: Arc<Tracing>,
}

pub struct LoadedComponent {
    pub config: Arc<ComponentConfig>,
    pub http: Option<ProxyPre<InstanceState>>,
    pub cron: Option<SpinCronPre<InstanceState>>,
}

pub struct AppRuntime {
    pub name: String,
    pub engine: Engine,
    pub components: HashMap<String, LoadedComponent>,
    pub router: Router,
    pub cron: Vec<(String, String)>,
    pub factors: AppFactors,
    pub limits: HostLimits,
    pub metrics: Metrics,
    pub tracing: Arc<Tracing>,
}

impl AppRuntime {
    pub async fn load(options: LoadOptions) -> Result<Arc<Self>> {
        let manifest_path = if options.manifest.is_dir() {
            options.manifest.join("spin.toml")
        } else {
            options.manifest.clone()
        };
        let manifest = Manifest::load(&manifest_path)?;
        let manifest_dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let manifest_dir = if manifest_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            manifest_dir
        };
        let runtime = RuntimeConfig::load(
            options.runtime_config.as_deref(),
            options.state_dir.as_deref(),
            &manifest_dir.join(".spin"),
        )?;
        let variables = AppVariables::resolve(&manifest, |k| std::env::var(k).ok())?;

        factors::check_labels(&manifest, &runtime)?;
        let sqlite = SqliteDatabases::new(runtime.sqlite.clone(), options.sqlite_connections)?;
        for statement in &options.sqlite_statements {
            let sql = match statement.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file)
                    .with_context(|| format!("--sqlite: cannot read {file}"))?,
                None => statement.clone(),
            };
            sqlite.run_script("default", &sql)?;
        }
        let key_value =
            KeyValueStores::open(&runtime.key_value, options.sqlite_connections).await?;

        let engine = engine::build(&EngineLimits {
            max_instances: 1000,
            max_memory_bytes: options.limits.max_memory_bytes,
        })?;
        let mut linker = Linker::<InstanceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        // Each interface is linked to its own factor's instance state.
        sqlite::add_to_linker::<_, HasSelf<SqliteInstance>>(&mut linker, |s| &mut s.sqlite)?;
        key_value::add_to_linker::<_, HasSelf<KeyValueInstance>>(&mut linker, |s| {
            &mut s.key_value
        })?;
        postgres::add_to_linker::<_, HasSelf<PgInstance>>(&mut linker, |s| &mut s.postgres)?;
        variables::add_to_linker::<_, HasSelf<VariablesInstance>>(&mut linker, |s| {
            &mut s.variables
        })?;

        let http_ids: Vec<&str> = manifest
            .trigger
            .http
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        let cron_ids: Vec<&str> = manifest
            .trigger
            .cron
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        let mut components = HashMap::new();
        for (id, decl) in &manifest.component {
            let source = manifest.source_path(&manifest_dir, id);
            let component = Component::from_file(&engine, &source)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component `{id}`: cannot load {}", source.display()))?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component `{id}` imports something this host does not provide")
                })?;
            let http = if http_ids.contains(&id.as_str()) {
                Some(ProxyPre::new(pre.clone()).map_err(anyhow::Error::from).with_context(|| {
                    format!("component `{id}` has an HTTP trigger but does not export wasi:http/incoming-handler")
                })?)
            } else {
                None
            };
            let cron = if cron_ids.contains(&id.as_str()) {
                Some(SpinCronPre::new(pre).map_err(anyhow::Error::from).with_context(|| {
                    format!("component `{id}` has a cron trigger but does not export handle-cron-event")
                })?)
            } else {
                None
            };
            let outbound = decl
                .allowed_outbound_hosts
                .iter()
                .map(|rule| variables.render(rule))
                .collect::<Result<Vec<_>>>()
                .and_then(|rules| OutboundRules::parse(&rules))
                .with_context(|| format!("allowed_outbound_hosts of component `{id}`"))?;
            let mut environment: Vec<(String, String)> = decl
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            environment.extend(options.environment.iter().cloned());
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                sqlite_databases: decl.sqlite_databases.iter().cloned().collect(),
                key_value_stores: decl.key_value_stores.iter().cloned().collect(),
                variables: variables.for_component(&manifest, id)?,
                outbound,
                environment,
            });
            components.insert(id.clone(), LoadedComponent { config, http, cron });
        }

        let mut router = Router::default();
        for trigger in &manifest.trigger.http {
            if let Route::Path(route) = &trigger.route {
                router.add(route, &trigger.component)?;
            }
        }
        let cron = manifest
            .trigger
            .cron
            .iter()
            .map(|t| (t.component.clone(), t.cron_expression.clone()))
            .collect();
        let metrics = Metrics::new()?;
        Ok(Arc::new(AppRuntime {
            name: manifest.application.name.clone(),
            engine,
            components,
            router,
            cron,
            factors: AppFactors {
                sqlite,
                key_value,
                postgres: PgPools::new(
                    options.max_postgres_connections,
                    metrics.postgres_statements.clone(),
                )?,
                outbound_http: OutboundPool::new(runtime.outbound_connection_pooling),
            },
            limits: options.limits,
            metrics,
            tracing: options.tracing,
        }))
    }

    pub fn component(&self, id: &str) -> Option<&LoadedComponent> {
        self.components.get(id)
    }

    /// A store for one instance of a component: memory limited, interrupted by the
    /// epoch ticker once `deadline` passes (yielding to other tasks at every tick before),
    /// its host calls traced under `trace`, its outbound requests offered to the
    /// trigger's `interceptor` first.
    pub fn new_store(
        &self,
        component: Arc<ComponentConfig>,
        deadline: Instant,
        trace: TraceScope,
        interceptor: Arc<dyn OutboundHttpInterceptor>,
    ) -> Store<InstanceState> {
        let mut store = Store::new(
            &self.engine,
            InstanceState::new(
                &self.factors,
                component,
                interceptor,
                trace,
                self.limits.max_memory_bytes,
            ),
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }
}

impl AppRuntime {
    /// `route=component` pairs for the startup log line.
    pub fn router_summary(&self) -> String {
        self.router.summary()
    }
}

//! `spin-host up`: runs a Spin application's components on wasmtime with Spin's
//! semantics, taking `spin up`'s flag names where they overlap.

mod app;
mod bindings;
mod config;
mod engine;
mod factors;
mod observe;
mod routes;
mod state;
mod trigger;

use anyhow::{Context, Result};
use app::{AppRuntime, HostLimits, LoadOptions};
use clap::{Parser, Subcommand};
use factors::sqlite::ConnectionMode;
use observe::trace::Tracing;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "spin-host",
    version,
    about = "A Spin-compatible host on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the application, like `spin up`.
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// The application manifest, or a folder holding spin.toml.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    from: PathBuf,
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Folder for default stores; defaults to `.spin` beside the manifest.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Spin runtime config file (stores, databases).
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// SQL to run against the default database before serving; `@file` reads a file.
    #[arg(long = "sqlite")]
    sqlite: Vec<String>,
    /// `new`: a new SQLite connection per `open`, as Spin does. `reuse`: connections
    /// reused across requests (reset so a guest cannot tell) and the writers of one
    /// database file queued instead of sleeping in SQLite's busy handler.
    #[arg(long, value_enum, default_value_t = ConnectionMode::Reuse)]
    sqlite_connections: ConnectionMode,
    /// Pooled connections per Postgres address (Spin's pool holds 64). Lower it where
    /// several hosts share a server with few `max_connections`.
    #[arg(long, default_value_t = factors::postgres::DEFAULT_MAX_CONNECTIONS)]
    max_postgres_connections: usize,
    /// Environment variables for components, `KEY=VALUE`.
    #[arg(short = 'e', long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Longest a request may run before the host answers 504.
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Largest request body the host passes to a component; larger ones get 413.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_request_body_bytes: usize,
    /// Largest linear memory one instance may grow to.
    #[arg(long, default_value_t = 128 * 1024 * 1024)]
    max_instance_memory_bytes: usize,
    /// How long SIGTERM waits for in-flight requests before closing connections.
    #[arg(long, default_value_t = 30_000)]
    drain_timeout_ms: u64,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn up(args: UpArgs, tracing: Arc<Tracing>) -> Result<()> {
    let app = AppRuntime::load(LoadOptions {
        manifest: args.from,
        state_dir: args.state_dir,
        runtime_config: args.runtime_config_file,
        sqlite_statements: args.sqlite,
        sqlite_connections: args.sqlite_connections,
        max_postgres_connections: args.max_postgres_connections,
        environment: args.env,
        limits: HostLimits {
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            max_request_body_bytes: args.max_request_body_bytes,
            max_memory_bytes: args.max_instance_memory_bytes,
        },
        tracing,
    })
    .await?;
    let schedules = trigger::cron::schedules(&app)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let routes = app.router_summary();
    observe::log::info(
        "serving",
        &[
            ("app", &app.name),
            ("url", &format!("http://{addr}")),
            ("routes", &routes),
        ],
    );
    let cron_tasks: Vec<_> = schedules
        .into_iter()
        .map(|(component, schedule)| {
            tokio::spawn(trigger::cron::run(app.clone(), component, schedule))
        })
        .collect();
    trigger::http::serve(
        app,
        listener,
        shutdown_signal(),
        Duration::from_millis(args.drain_timeout_ms),
    )
    .await?;
    for task in cron_tasks {
        task.abort();
    }
    Ok(())
}

fn main() -> Result<()> {
    // RUST_BACKTRACE=1 (set on our machines) makes every anyhow error capture a
    // backtrace, costly on paths where errors are routine (a guest's failed call, a
    // closed stream). Panics keep their backtraces; errors capture one only when
    // RUST_LIB_BACKTRACE asks.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let cli = Cli::parse();
    // Built and shut down outside the runtime: the OTLP exporter's blocking client may
    // not live inside it.
    let tracing = Arc::new(Tracing::from_env("spin")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up(args, tracing.clone()).await,
        }
    });
    drop(runtime);
    tracing.shutdown();
    if let Err(e) = &result {
        observe::log::error("startup failed", &[("error", &format!("{e:#}"))]);
    }
    result
}

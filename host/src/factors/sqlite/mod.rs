//! `fermyon:spin/sqlite@2.0.0` on real SQLite files through rusqlite. The factor owns
//! its databases, their connections and the writer queue; each instance has its own
//! [`SqliteInstance`] (the labels its component may open, its open connections).
//!
//! Two connection modes ([`ConnectionMode`]):
//! - `new` is Spin's behaviour: every `open` is a fresh connection (rusqlite defaults),
//!   closed on drop, statements run on the blocking pool, and concurrent writers meet in
//!   SQLite's busy handler, which sleeps.
//! - `reuse` (the default) keeps closed connections of a database file for the next
//!   `open`, reset so that a guest cannot tell it from a fresh one (see [`connection`]),
//!   runs statements on the calling thread, and queues the writers of one file in
//!   process: a connection that starts a write waits (asynchronously) for the file's
//!   writer permit instead of sleeping in the busy handler, and gives it back when its
//!   transaction ends.

mod classify;
mod connection;
mod guest;
mod values;

use crate::config::component::ComponentConfig;
use crate::config::runtime_config::SqliteLocation;
use crate::observe::trace::TraceScope;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::ResourceTable;

pub use connection::SqliteConnection;

/// How `open` gets its connection; `--sqlite-connections new|reuse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConnectionMode {
    /// Spin's behaviour: a new connection per `open`, no queueing.
    New,
    /// Connections reused across instances, writers of one file queued.
    Reuse,
}

/// The longest a writer waits in the queue before leaving the wait to SQLite's own busy
/// handling (rusqlite's default busy timeout), so a queue can never hang a request
/// that SQLite would have answered `database is locked`.
const WRITER_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Closed connections kept per database file, at most.
const MAX_IDLE: usize = 64;

/// One database label: where it lives, its idle connections and its writer queue.
#[derive(Debug)]
pub struct Database {
    location: SqliteLocation,
    mode: ConnectionMode,
    idle: Mutex<Vec<connection::Pooled>>,
    writer: Arc<tokio::sync::Semaphore>,
}

impl Database {
    /// Whether this database's connections are reused (only files are: each in-memory
    /// connection is a database of its own).
    fn reuses(&self) -> bool {
        self.mode == ConnectionMode::Reuse && matches!(self.location, SqliteLocation::File(_))
    }

    fn open_raw(&self) -> rusqlite::Result<rusqlite::Connection> {
        match &self.location {
            SqliteLocation::File(path) => rusqlite::Connection::open(path),
            SqliteLocation::InMemory => rusqlite::Connection::open_in_memory(),
        }
    }

    fn take_idle(&self) -> Option<connection::Pooled> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put_idle(&self, conn: connection::Pooled) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// A message for each of `labels` (a component's `sqlite_databases`) not in `defined`.
pub fn undefined_labels(
    defined: &BTreeMap<String, SqliteLocation>,
    component: &str,
    labels: &[String],
) -> Vec<String> {
    super::undefined(
        defined,
        labels,
        component,
        ("SQLite database", "sqlite_database"),
    )
}

/// One instance's SQLite: the databases its component may open and its open connections.
pub struct SqliteInstance {
    databases: SqliteDatabases,
    component: Arc<ComponentConfig>,
    connections: ResourceTable,
    trace: TraceScope,
}

/// The app's databases by label.
#[derive(Debug, Clone)]
pub struct SqliteDatabases(Arc<BTreeMap<String, Arc<Database>>>);

impl SqliteDatabases {
    pub fn new(databases: BTreeMap<String, SqliteLocation>, mode: ConnectionMode) -> Result<Self> {
        let mut by_label = BTreeMap::new();
        for (label, location) in databases {
            if let SqliteLocation::File(path) = &location {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!(
                            "cannot create folder for SQLite database {}",
                            path.display()
                        )
                    })?;
                }
            }
            let database = Database {
                location,
                mode,
                idle: Mutex::new(Vec::new()),
                writer: Arc::new(tokio::sync::Semaphore::new(1)),
            };
            by_label.insert(label, Arc::new(database));
        }
        Ok(Self(Arc::new(by_label)))
    }

    fn get(&self, label: &str) -> Option<&Arc<Database>> {
        self.0.get(label)
    }

    /// The factor's state for one instance of `component`.
    pub fn instance(&self, component: Arc<ComponentConfig>, trace: TraceScope) -> SqliteInstance {
        SqliteInstance {
            databases: self.clone(),
            component,
            connections: ResourceTable::new(),
            trace,
        }
    }

    /// Runs SQL statements (`spin up --sqlite`) against a database before serving.
    pub fn run_script(&self, label: &str, sql: &str) -> Result<()> {
        let database = self
            .get(label)
            .with_context(|| format!("no SQLite database `{label}`"))?;
        let conn = database.open_raw()?;
        conn.execute_batch(sql).with_context(|| {
            format!(
                "running SQL against database `{label}` ({:?})",
                database.location
            )
        })
    }
}

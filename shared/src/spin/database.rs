//! The database a component talks to, chosen by configuration rather than by build:
//! the `database_backend` variable is `sqlite` (Spin's `default` database) or `postgres`
//! (at `postgres_url`).

use super::sqlite::Synchronous;
use super::{spin_response, variables, SpinPostgres, SpinSqlite};
use crate::api::{ApiRequest, Problem};
use crate::relay::totals_cache;
use crate::storage::{Backend, DbError, Rows, SqlExecutor, SqlValue};
use spin_sdk::http::Response;

/// What a request will do with its connection. A reader skips the writers' durability
/// setting (`sqlite_synchronous`): one variable and one statement less per read, which
/// counts on Spin, where every request opens a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// `Read` for `GET` and `HEAD`, which change nothing; `Write` otherwise.
    pub fn of(req: &ApiRequest) -> Self {
        match req.method.as_str() {
            "GET" | "HEAD" => Access::Read,
            _ => Access::Write,
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A variable is missing or wrong: the operator's to fix, retrying will not help.
    #[error("{0:#}")]
    Misconfigured(anyhow::Error),
    /// The database refused or did not answer (a full Postgres, a locked file): worth
    /// retrying, here or on another instance.
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
}

impl OpenError {
    /// The client's answer; the cause goes to the log, not to the client.
    pub fn problem(&self) -> Problem {
        match self {
            OpenError::Misconfigured(_) => Problem::new(
                500,
                "misconfigured",
                "the service is misconfigured; its log says how",
            ),
            OpenError::Unavailable(_) => Problem::new(
                503,
                "storage_unavailable",
                "the database cannot take the request right now; retry shortly",
            )
            .with_header("retry-after", "1"),
        }
    }
}

pub fn open_database(access: Access) -> Result<Box<dyn SqlExecutor>, OpenError> {
    let setting = |name: &str| variables::get(name).map_err(|e| OpenError::Misconfigured(e.into()));
    let backend = setting("database_backend")?.to_ascii_lowercase();
    let opened: anyhow::Result<Box<dyn SqlExecutor>> = match backend.as_str() {
        "sqlite" => match access {
            Access::Read => SpinSqlite::open_reader().map(|db| Box::new(db) as _),
            Access::Write => {
                let synchronous = Synchronous::parse(&setting("sqlite_synchronous")?)
                    .map_err(OpenError::Misconfigured)?;
                SpinSqlite::open_default(synchronous).map(|db| Box::new(db) as _)
            }
        },
        "postgres" => SpinPostgres::open(&setting("postgres_url")?).map(|db| Box::new(db) as _),
        other => {
            return Err(OpenError::Misconfigured(anyhow::anyhow!(
                "variable database_backend must be sqlite or postgres, not `{other}`"
            )))
        }
    };
    let opened = opened.map_err(OpenError::Unavailable)?;
    Ok(match access {
        Access::Read => opened,
        Access::Write => Box::new(Writer(opened)),
    })
}

/// A writer's connection. When it closes, the request's transactions are over: if they
/// appended outbox events, the key-value marker of waiting events is set (see
/// [`totals_cache`]) so that cached totals report their lag.
struct Writer(Box<dyn SqlExecutor>);

impl SqlExecutor for Writer {
    fn backend(&self) -> Backend {
        self.0.backend()
    }

    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        self.0.query(statement, params)
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), DbError> {
        self.0.execute(statement, params)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Err(e) = totals_cache::mark_appended(&super::DefaultStore::default()) {
            eprintln!("marking the outbox as waiting: {e}");
        }
    }
}

/// The database for a request, or the answer to give when it cannot be had: 503 with
/// Retry-After while it is unavailable (the balancer then tries another instance, and a
/// donor's retry with the same key is safe), 500 when it is misconfigured.
pub fn open_for_request(access: Access) -> Result<Box<dyn SqlExecutor>, Response> {
    open_or_problem(access).map_err(|p| spin_response(p.into_response()))
}

/// As [`open_for_request`], with the refusal as a problem for a handler that opens its
/// database only when it needs one.
pub fn open_or_problem(access: Access) -> Result<Box<dyn SqlExecutor>, Problem> {
    open_database(access).map_err(|e| {
        eprintln!("opening the database: {e}");
        e.problem()
    })
}

/// The request read within `limit` with its database opened for what it does (a
/// reader for GET and HEAD), or the answer that refuses it: 413 for a body past the
/// limit, 503/500 when the database cannot be had.
pub async fn read_with_database(
    req: spin_sdk::http::IncomingRequest,
    limit: crate::api::body_limit::BodyLimit,
) -> Result<(ApiRequest, Box<dyn SqlExecutor>), Response> {
    let req = super::read_request(req, limit)
        .await
        .map_err(spin_response)?;
    let db = open_for_request(Access::of(&req))?;
    Ok((req, db))
}

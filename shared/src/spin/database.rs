//! The database a component talks to, chosen by configuration rather than by build:
//! the `database_backend` variable is `sqlite` (Spin's `default` database) or `postgres`
//! (at `postgres_url`).

use super::{variables, SpinPostgres, SpinSqlite};
use crate::api::ApiRequest;
use crate::storage::SqlExecutor;

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

pub fn open_database(access: Access) -> anyhow::Result<Box<dyn SqlExecutor>> {
    match variables::get("database_backend")?
        .to_ascii_lowercase()
        .as_str()
    {
        "sqlite" => Ok(Box::new(match access {
            Access::Read => SpinSqlite::open_reader()?,
            Access::Write => SpinSqlite::open_default(&variables::get("sqlite_synchronous")?)?,
        })),
        "postgres" => Ok(Box::new(SpinPostgres::open(&variables::get(
            "postgres_url",
        )?)?)),
        other => {
            anyhow::bail!("variable database_backend must be sqlite or postgres, not `{other}`")
        }
    }
}

//! The database a component talks to, chosen by configuration rather than by build:
//! the `database_backend` variable is `sqlite` (Spin's `default` database) or `postgres`
//! (at `postgres_url`).

use super::{variables, SpinPostgres, SpinSqlite};
use crate::storage::SqlExecutor;

pub fn open_database() -> anyhow::Result<Box<dyn SqlExecutor>> {
    match variables::get("database_backend")?
        .to_ascii_lowercase()
        .as_str()
    {
        "sqlite" => Ok(Box::new(SpinSqlite::open_default(&variables::get(
            "sqlite_synchronous",
        )?)?)),
        "postgres" => Ok(Box::new(SpinPostgres::open(&variables::get(
            "postgres_url",
        )?)?)),
        other => {
            anyhow::bail!("variable database_backend must be sqlite or postgres, not `{other}`")
        }
    }
}

//! Transactions over a [`SqlExecutor`]: one connection, `BEGIN` … `COMMIT`, rolled back
//! on any error. SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so two writers
//! never deadlock upgrading a read lock; Postgres locks rows with `FOR UPDATE`.

use super::{Backend, DbError, SqlExecutor};

pub fn transaction<T, E: From<DbError>>(
    db: &dyn SqlExecutor,
    body: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let begin = match db.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    db.execute(begin, &[])?;
    match body() {
        Ok(value) => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(value),
            Err(e) => {
                let _ = db.execute("ROLLBACK", &[]);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

/// The row-lock suffix for a `SELECT` inside a transaction (SQLite already holds the
/// database write lock).
pub fn for_update(db: &dyn SqlExecutor) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// The suffix that makes a claiming `SELECT` skip rows another transaction holds, so
/// concurrent workers take different rows (Postgres); SQLite's single writer never
/// meets a held row.
pub fn skip_locked(db: &dyn SqlExecutor) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}

//! Accounts and their sessions (migration 0008).

use super::outbox;
use super::{DbError, Row, SqlExecutor};
use crate::domain::donor::Email;
use crate::domain::password::StoredHash;
use serde::Serialize;

/// The outbox event of a new account, from which the relay sends its confirmation email.
pub const ACCOUNT_CREATED_EVENT: &str = "account.created";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: Email,
    pub password_hash: StoredHash,
    pub confirmed: bool,
}

const COLUMNS: &str = "id, email, password_hash, confirmed_at_ms";

fn decode(row: Row<'_>) -> Result<Account, DbError> {
    let email = row.text("email")?;
    let hash = row.text("password_hash")?;
    Ok(Account {
        id: row.text("id")?,
        email: Email::parse(&email)
            .map_err(|e| DbError::Decode(format!("account email `{email}`: {e}")))?,
        password_hash: StoredHash::from_stored(hash)
            .ok_or_else(|| DbError::Decode("account password hash is not a PHC string".into()))?,
        confirmed: row.opt_i64("confirmed_at_ms")?.is_some(),
    })
}

#[derive(Serialize)]
struct Created<'a> {
    account_id: &'a str,
    email: &'a str,
}

/// Creates an account and its `account.created` event, in one transaction the caller
/// holds; `false` if the email already has one (nothing is written then).
pub fn create(
    db: &dyn SqlExecutor,
    id: &str,
    email: &Email,
    hash: &StoredHash,
    now_ms: i64,
) -> Result<bool, DbError> {
    let inserted = db.query(
        "INSERT INTO accounts (id, email, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (email) DO NOTHING RETURNING id",
        &[
            id.into(),
            email.as_str().into(),
            hash.as_str().into(),
            now_ms.into(),
        ],
    )?;
    if inserted.rows.is_empty() {
        return Ok(false);
    }
    outbox::append(
        db,
        id,
        ACCOUNT_CREATED_EVENT,
        &Created {
            account_id: id,
            email: email.as_str(),
        },
        now_ms,
    )?;
    Ok(true)
}

pub fn by_email(db: &dyn SqlExecutor, email: &Email) -> Result<Option<Account>, DbError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM accounts WHERE email = ?1"),
        &[email.as_str().into()],
    )?
    .iter()
    .next()
    .map(decode)
    .transpose()
}

/// Marks the account's email confirmed (again is harmless); `false` if there is no such
/// account.
pub fn confirm(db: &dyn SqlExecutor, id: &str, now_ms: i64) -> Result<bool, DbError> {
    let updated = db.query(
        "UPDATE accounts SET confirmed_at_ms = COALESCE(confirmed_at_ms, ?2) WHERE id = ?1 RETURNING id",
        &[id.into(), now_ms.into()],
    )?;
    Ok(!updated.rows.is_empty())
}

pub fn open_session(
    db: &dyn SqlExecutor,
    session_id: &str,
    account_id: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO account_sessions (id, account_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        &[
            session_id.into(),
            account_id.into(),
            now_ms.into(),
            expires_at_ms.into(),
        ],
    )
}

/// The account of a session that is neither expired nor revoked.
pub fn session_account(
    db: &dyn SqlExecutor,
    session_id: &str,
    now_ms: i64,
) -> Result<Option<Account>, DbError> {
    db.query(
        "SELECT a.id, a.email, a.password_hash, a.confirmed_at_ms FROM account_sessions s \
         JOIN accounts a ON a.id = s.account_id \
         WHERE s.id = ?1 AND s.revoked_at_ms IS NULL AND s.expires_at_ms > ?2",
        &[session_id.into(), now_ms.into()],
    )?
    .iter()
    .next()
    .map(decode)
    .transpose()
}

/// Ends a session now (signing out); ending one already ended is harmless.
pub fn revoke_session(db: &dyn SqlExecutor, session_id: &str, now_ms: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE account_sessions SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
        &[session_id.into(), now_ms.into()],
    )
}

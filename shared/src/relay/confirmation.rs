//! The confirmation email of a new account: on its `account.created` event, a message to
//! the account's address carrying a signed token that confirms it (and nothing else).

use super::event::OutboxEvent;
use super::notify::{enqueue, Kind, Message, NotifySettings};
use crate::domain::donor_token::{self, TokenSubject, CONFIRMATION_TOKEN_TTL_SECS};
use crate::storage::accounts::ACCOUNT_CREATED_EVENT;
use crate::storage::{DbError, SqlExecutor};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Created {
    account_id: String,
    email: String,
}

#[derive(Serialize)]
struct ConfirmationDetails<'a> {
    account_id: &'a str,
    /// Sent back in `POST /api/v1/accounts/confirmations`.
    confirmation_token: String,
    /// The donor page, which sends the token back (a URL fragment never reaches a
    /// server log).
    confirm_url: String,
    expires_at: i64,
}

/// Queues the confirmation email if `event` is a new account's (inside the apply
/// transaction).
pub fn consume(
    db: &dyn SqlExecutor,
    event: &OutboxEvent,
    settings: &NotifySettings,
    new_id: &dyn Fn() -> String,
    now_ms: i64,
) -> Result<(), DbError> {
    if event.event_type != ACCOUNT_CREATED_EVENT {
        return Ok(());
    }
    let created: Created = serde_json::from_str(&event.payload)
        .map_err(|e| DbError::Decode(format!("outbox event {}: {e}", event.id)))?;
    let expires_at = now_ms / 1000 + CONFIRMATION_TOKEN_TTL_SECS;
    let token = donor_token::issue(
        &settings.donor_token_secret,
        &TokenSubject::Confirmation(created.account_id.clone()),
        expires_at,
    );
    let id = new_id();
    let message = Message {
        id: &id,
        kind: Kind::AccountConfirmation,
        to: &created.email,
        subject: "Confirm your email for CareForAll".into(),
        details: ConfirmationDetails {
            account_id: &created.account_id,
            confirm_url: format!(
                "{}/#confirm={token}",
                settings.public_base_url.trim_end_matches('/')
            ),
            confirmation_token: token,
            expires_at,
        },
    };
    enqueue(db, &message, &created.account_id, settings, now_ms)
}

//! The external event feed consumer: every outbox event becomes one delivery per
//! subscriber, carrying a public view of the event (no donor e-mail), sent by `deliver`
//! signed like the provider's webhooks.

use super::event::OutboxEvent;
use crate::storage::accounts::ACCOUNT_CREATED_EVENT;
use crate::storage::provider_events::ADMIN_EVENT_PREFIX;
use crate::storage::{row_placeholders, rows_per_statement, DbError, SqlExecutor, SqlValue};
use serde::Serialize;
use serde_json::Value;

/// The header carrying the feed signature: `t=<unix>,v1=<hex hmac-sha256 of "t.body">`.
pub const SIGNATURE_HEADER: &str = "careforall-signature";

#[derive(Debug, Clone, Default)]
pub struct FeedSettings {
    pub subscribers: Vec<String>,
    /// Signs every delivery; subscribers verify with the same secret.
    pub signing_secret: Vec<u8>,
}

#[derive(Serialize)]
struct PublicEvent<'a> {
    id: i64,
    #[serde(rename = "type")]
    event_type: &'a str,
    aggregate_id: &'a str,
    created_at_ms: i64,
    data: Value,
}

/// The event as subscribers see it: the payload without personal data.
pub fn public_body(event: &OutboxEvent) -> Result<String, DbError> {
    let mut data: Value = serde_json::from_str(&event.payload)
        .map_err(|e| DbError::Decode(format!("outbox event {}: {e}", event.id)))?;
    if let Some(fields) = data.as_object_mut() {
        fields.remove("donor_email");
    }
    serde_json::to_string(&PublicEvent {
        id: event.id,
        event_type: &event.event_type,
        aggregate_id: &event.aggregate_id,
        created_at_ms: event.created_at_ms,
        data,
    })
    .map_err(|e| DbError::Decode(e.to_string()))
}

/// Queues the batch's events for every subscriber (inside the apply transaction), in as
/// few statements as the backends' parameter limits allow, whatever the subscriber count.
pub fn consume(
    db: &dyn SqlExecutor,
    events: &[&OutboxEvent],
    settings: &FeedSettings,
    new_id: &dyn Fn() -> String,
    now_ms: i64,
) -> Result<(), DbError> {
    if settings.subscribers.is_empty() || events.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<[SqlValue; 5]> = Vec::new();
    // Admin alerts are for the operators and accounts for their owners, not for the
    // public feed.
    let public = events.iter().filter(|e| {
        !e.event_type.starts_with(ADMIN_EVENT_PREFIX) && e.event_type != ACCOUNT_CREATED_EVENT
    });
    for event in public {
        let body = public_body(event)?;
        for subscriber in &settings.subscribers {
            rows.push([
                new_id().into(),
                event.id.into(),
                subscriber.as_str().into(),
                body.as_str().into(),
                now_ms.into(),
            ]);
        }
    }
    for chunk in rows.chunks(rows_per_statement(5)) {
        let values: Vec<String> = row_placeholders(chunk.len(), 5)
            .map(|p| {
                format!(
                    "({}, {}, {}, {}, 'pending', {}, {})",
                    p[0], p[1], p[2], p[3], p[4], p[4]
                )
            })
            .collect();
        let params: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
        db.execute(
            &format!(
                "INSERT INTO feed_deliveries (id, event_id, destination, body, status, next_attempt_ms, created_at_ms) \
                 VALUES {} ON CONFLICT (event_id, destination) DO NOTHING",
                values.join(", ")
            ),
            &params,
        )?;
    }
    Ok(())
}

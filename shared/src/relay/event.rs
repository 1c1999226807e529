//! Outbox events as the relay reads them back.

use crate::domain::pledge::{PledgeState, PledgeStatus};
use crate::domain::totals::Snapshot;
use crate::storage::{DbError, Row};
use serde::Deserialize;

/// One outbox row.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: i64,
    pub aggregate_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at_ms: i64,
    /// Times a relay has claimed the event, this claim included.
    pub attempts: u32,
}

pub(super) const EVENT_COLUMNS: &str =
    "id, aggregate_id, event_type, payload, created_at_ms, attempts";

impl OutboxEvent {
    pub(super) fn decode(row: Row<'_>) -> Result<OutboxEvent, DbError> {
        Ok(OutboxEvent {
            id: row.i64("id")?,
            aggregate_id: row.text("aggregate_id")?,
            event_type: row.text("event_type")?,
            payload: row.text("payload")?,
            created_at_ms: row.i64("created_at_ms")?,
            attempts: u32::try_from(row.i64("attempts")?).unwrap_or(u32::MAX),
        })
    }

    /// The pledge change this event carries, if it is a pledge event.
    pub fn pledge_change(&self) -> Result<Option<PledgeEvent>, DbError> {
        if !self.event_type.starts_with("pledge.") {
            return Ok(None);
        }
        serde_json::from_str(&self.payload)
            .map(Some)
            .map_err(|e| DbError::Decode(format!("outbox event {}: {e}", self.id)))
    }
}

/// The payload of `pledge.*` events (written by `storage::pledges`).
#[derive(Debug, Clone, Deserialize)]
pub struct PledgeEvent {
    pub pledge_id: String,
    pub campaign_id: String,
    pub currency: String,
    pub from: Option<PledgeStatus>,
    pub to: PledgeStatus,
    pub amount_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    /// Absent in events written before disputes were recorded.
    #[serde(default)]
    pub disputed_minor: u64,
    pub version: u64,
    pub donor_email: String,
}

impl PledgeEvent {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: self.version,
            state: PledgeState {
                status: self.to,
                amount_minor: self.amount_minor,
                captured_minor: self.captured_minor,
                refunded_minor: self.refunded_minor,
                disputed_minor: self.disputed_minor,
            },
        }
    }
}

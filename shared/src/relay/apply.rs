//! Applies one claimed batch: in a single transaction, locks those of its events that are
//! still unpublished (a relay whose lease expired may have lost them to another relay),
//! feeds them to every consumer and marks them published. Effects and the published mark
//! commit together, so each event takes effect exactly once; a crash before the commit
//! leaves the events unpublished for the next run.

use super::event::OutboxEvent;
use super::totals::Positioned;
use super::{feed, notify, totals, Relay, RelayError};
use crate::storage::tx::{for_update, transaction};
use crate::storage::{placeholders, trace_context, SqlValue};
use crate::telemetry::TraceParent;
use std::collections::{BTreeSet, HashMap};

pub struct Applied {
    pub published: u64,
    pub applied: u64,
    /// The trace contexts of the published events written under one, by event id.
    pub traces: HashMap<i64, TraceParent>,
}

pub fn apply_batch(relay: &Relay<'_>, claimed: &[OutboxEvent]) -> Result<Applied, RelayError> {
    let db = relay.db;
    let ids: Vec<SqlValue> = claimed.iter().map(|e| e.id.into()).collect();
    transaction(db, || {
        let unpublished = db
            .query(
                &format!(
                    "SELECT id FROM outbox WHERE id IN ({}) AND published_at_ms IS NULL ORDER BY id{}",
                    placeholders(1, ids.len()),
                    for_update(db)
                ),
                &ids,
            )?
            .iter()
            .map(|r| r.i64("id"))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let events: Vec<&OutboxEvent> = claimed
            .iter()
            .filter(|e| unpublished.contains(&e.id))
            .collect();
        if events.is_empty() {
            return Ok(Applied {
                published: 0,
                applied: 0,
                traces: HashMap::new(),
            });
        }
        let now = (relay.clock)();
        let changes = events
            .iter()
            .map(|e| e.pledge_change().map(|c| (e, c)))
            .collect::<Result<Vec<_>, _>>()?;
        let positioned: Vec<Positioned<'_>> = changes
            .iter()
            .filter_map(|(e, c)| {
                c.as_ref().map(|change| Positioned {
                    event_id: e.id,
                    created_at_ms: e.created_at_ms,
                    change,
                })
            })
            .collect();
        let effects = totals::consume(db, &positioned, now)?;
        let published: Vec<i64> = unpublished.iter().copied().collect();
        let traces = trace_context::of_events(db, &published)?;
        notify::consume(
            db,
            &events,
            &effects,
            &traces,
            &relay.settings.notify,
            relay.new_id,
            now,
        )?;
        feed::consume(db, &events, &relay.settings.feed, relay.new_id, now)?;
        let mut params = vec![SqlValue::Integer(now)];
        params.extend(unpublished.iter().map(|id| SqlValue::Integer(*id)));
        db.execute(
            &format!(
                "UPDATE outbox SET published_at_ms = ?1, claimed_until_ms = NULL WHERE id IN ({})",
                placeholders(2, unpublished.len())
            ),
            &params,
        )?;
        Ok(Applied {
            published: events.len() as u64,
            applied: effects.applied as u64,
            traces,
        })
    })
}

//! Campaign totals kept in the key-value store, so `GET …/totals` answers without opening
//! the database (on Spin, a new connection and a schema parse per request; the `spin`
//! key-value store is one shared connection per process, Redis one connection manager).
//!
//! Two kinds of keys:
//! - `totals/<campaign>`: a campaign's read model as the relay last committed it. After
//!   each publish the relay compares the stored totals of every campaign that moved in
//!   the last [`RECENT_MS`] with the database and stores those that differ, pass after
//!   pass until one pass finds nothing to store. Relays that run at once may store an
//!   older snapshot over a newer one, but the one that stores last then reads the
//!   database again and puts it right; a relay that died between its commit and the
//!   store is made good by the next run.
//! - `outbox/pending-since`: when the oldest event the relay has not applied was written,
//!   present exactly while events wait (up to the short races below). A handler that
//!   appended events sets it after its commit when it is absent; the relay deletes it
//!   after publishing, then looks at the outbox and sets it again if events still wait.
//!   Either order of a handler and the relay leaves it set while an event waits. A
//!   handler that dies between its commit and the marker leaves the lag reading 0 until
//!   the next scheduled run (at most a relay interval); the marker can also name a
//!   slightly newer event than the oldest waiting one when a handler and the relay meet.
//!   A marker left by an append that was rolled back only overstates the lag until the
//!   next run.
//!
//! A new campaign is stored by the handler that creates it, before it answers (so before
//! anyone can pledge to it), and again by the one that changes its goal. A campaign whose
//! snapshot is missing or a store that does not answer sends the reader to the database,
//! which is exact.

use super::totals::{CampaignTotals, TotalsRead};
use crate::domain::campaign::Campaign;
use crate::domain::totals::Totals;
use crate::storage::key_value::{get_json, set_json, KeyValue, KvError};
use crate::storage::{DbError, SqlExecutor};
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// How far back a relay looks for campaigns whose stored totals may differ.
pub const RECENT_MS: i64 = 10 * 60 * 1000;
/// Passes before a relay leaves the rest to the next run (only relays racing each other
/// over the same campaigns need more than two).
const MAX_PASSES: usize = 8;
const PENDING_SINCE: &str = "outbox/pending-since";

fn campaign_key(campaign_id: &str) -> String {
    format!("totals/{campaign_id}")
}

/// A campaign's totals as stored in the key-value store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedTotals {
    pub campaign_id: String,
    pub currency: String,
    pub goal_minor: u64,
    pub totals: Totals,
    /// The newest outbox event these totals reflect; `None` before the campaign's first.
    pub last_event_id: Option<i64>,
    pub updated_at_ms: Option<i64>,
}

impl From<&CampaignTotals> for CachedTotals {
    fn from(row: &CampaignTotals) -> Self {
        CachedTotals {
            campaign_id: row.campaign_id.clone(),
            currency: row.currency.clone(),
            goal_minor: row.goal_minor,
            totals: row.totals,
            last_event_id: Some(row.last_event_id),
            updated_at_ms: Some(row.updated_at_ms),
        }
    }
}

/// What the database read gives a reader, in the same shape.
impl From<TotalsRead> for CachedTotals {
    fn from(read: TotalsRead) -> Self {
        CachedTotals {
            totals: read.relayed.as_ref().map(|r| r.totals).unwrap_or_default(),
            last_event_id: read.relayed.as_ref().map(|r| r.last_event_id),
            updated_at_ms: read.relayed.as_ref().map(|r| r.updated_at_ms),
            campaign_id: read.campaign_id,
            currency: read.currency,
            goal_minor: read.goal_minor,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Kv(#[from] KvError),
}

/// A campaign's stored totals and the age of the oldest waiting event (0 when none
/// waits), or `None` when the reader must ask the database.
pub fn read(
    kv: &dyn KeyValue,
    campaign_id: &str,
    now_ms: i64,
) -> Result<Option<(CachedTotals, i64)>, KvError> {
    let Some(cached) = get_json::<CachedTotals>(kv, &campaign_key(campaign_id))? else {
        return Ok(None);
    };
    let lag = get_json::<i64>(kv, PENDING_SINCE)?.map_or(0, |since| (now_ms - since).max(0));
    Ok(Some((cached, lag)))
}

/// Stores the totals of every campaign that moved in the last [`RECENT_MS`] and differs
/// from what is stored, then the marker of waiting events as the outbox now has it.
/// Returns the snapshots stored.
pub fn sync(db: &dyn SqlExecutor, kv: &dyn KeyValue, now_ms: i64) -> Result<usize, CacheError> {
    let mut stored = 0;
    for _ in 0..MAX_PASSES {
        let mut changed = 0;
        for row in super::totals::read_moved_since(db, now_ms - RECENT_MS)? {
            let key = campaign_key(&row.campaign_id);
            let fresh = CachedTotals::from(&row);
            // A value that does not parse is stored over, like one that differs.
            let held = kv
                .get(&key)?
                .and_then(|raw| serde_json::from_slice::<CachedTotals>(&raw).ok());
            if held.as_ref() != Some(&fresh) {
                set_json(kv, &key, &fresh)?;
                changed += 1;
            }
        }
        stored += changed;
        if changed == 0 {
            break;
        }
    }
    if kv.get(PENDING_SINCE)?.is_some() {
        kv.delete(PENDING_SINCE)?;
    }
    APPENDED_AT.with(|a| a.set(None));
    if let Some(oldest) = super::health::oldest_unpublished_at(db)? {
        set_json(kv, PENDING_SINCE, &oldest)?;
    }
    Ok(stored)
}

/// Stores a campaign the relay has not seen yet, with totals of zero. Only for a campaign
/// no event can name yet: one being created, before its id is given out.
pub fn store_new(kv: &dyn KeyValue, campaign: &Campaign) -> Result<(), KvError> {
    let cached = CachedTotals {
        campaign_id: campaign.id.clone(),
        currency: campaign.currency.code().into(),
        goal_minor: campaign.goal_minor,
        totals: Totals::default(),
        last_event_id: None,
        updated_at_ms: None,
    };
    set_json(kv, &campaign_key(&campaign.id), &cached)
}

/// Forgets a campaign's stored totals (its goal changed): readers go to the database
/// until the relay stores the campaign again.
pub fn forget(kv: &dyn KeyValue, campaign_id: &str) -> Result<(), KvError> {
    kv.delete(&campaign_key(campaign_id))
}

thread_local! {
    /// When this request first appended an outbox event (a component instance serves
    /// one request, so one value per thread is exact).
    static APPENDED_AT: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Called by the outbox writer for every event it appends.
pub fn note_append(at_ms: i64) {
    APPENDED_AT.with(|a| {
        if a.get().is_none() {
            a.set(Some(at_ms));
        }
    });
}

/// After the request's transactions are over: sets the marker of waiting events if this
/// request appended one and the marker is absent.
pub fn mark_appended(kv: &dyn KeyValue) -> Result<(), KvError> {
    let Some(at) = APPENDED_AT.with(|a| a.take()) else {
        return Ok(());
    };
    if kv.get(PENDING_SINCE)?.is_none() {
        set_json(kv, PENDING_SINCE, &at)?;
    }
    Ok(())
}

//! The campaign totals consumer: folds a batch of pledge events into the per-pledge
//! projection and then into `campaign_totals` with one update per campaign per batch.
//! Runs inside the relay's apply transaction.

use super::event::PledgeEvent;
use crate::domain::pledge::PledgeStatus;
use crate::domain::totals::{advance, Contribution, ImpossibleTotals, Snapshot, Totals};
use crate::storage::metric_counts::{self, Deltas};
use crate::storage::tx::for_update;
use crate::storage::{placeholders, row_placeholders, DbError, Row, SqlExecutor, SqlValue};
use std::collections::{BTreeMap, BTreeSet};

/// A pledge event with where it sits in the outbox.
pub struct Positioned<'a> {
    pub event_id: i64,
    pub created_at_ms: i64,
    pub change: &'a PledgeEvent,
}

/// What the batch changed that other consumers react to.
#[derive(Debug, Default)]
pub struct Effects {
    /// Pledges whose money was captured for the first time, with the id of the event
    /// that said so.
    pub first_captures: Vec<(i64, PledgeEvent)>,
    /// When each newly failed pledge's failure was recorded.
    pub failures_at_ms: Vec<i64>,
    /// Campaigns whose raised total is now at or above their goal.
    pub at_goal: Vec<CampaignTotals>,
    /// Snapshots that were applied (newer than what the projection held).
    pub applied: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("campaign {campaign_id}: {source}")]
    Impossible {
        campaign_id: String,
        source: ImpossibleTotals,
    },
}

/// One campaign's totals row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignTotals {
    pub campaign_id: String,
    pub currency: String,
    pub totals: Totals,
    pub goal_minor: u64,
    /// The newest outbox event applied to this campaign.
    pub last_event_id: i64,
    pub updated_at_ms: i64,
}

const TOTALS_COLUMNS: &str = "t.campaign_id, t.currency, t.pledged_minor, t.captured_minor, t.refunded_minor, \
     t.disputed_minor, t.pledge_count, t.captured_count, t.donor_count, t.last_event_id, t.updated_at_ms, c.goal_minor";

/// The counters of [`Totals`] from a row whose columns are named after them.
pub(super) fn decode_counts(row: &Row<'_>) -> Result<Totals, DbError> {
    Ok(Totals {
        pledged_minor: row.u64("pledged_minor")?,
        captured_minor: row.u64("captured_minor")?,
        refunded_minor: row.u64("refunded_minor")?,
        disputed_minor: row.u64("disputed_minor")?,
        pledge_count: row.u64("pledge_count")?,
        captured_count: row.u64("captured_count")?,
        donor_count: row.u64("donor_count")?,
    })
}

fn decode_totals(row: Row<'_>) -> Result<CampaignTotals, DbError> {
    Ok(CampaignTotals {
        campaign_id: row.text("campaign_id")?,
        currency: row.text("currency")?,
        totals: decode_counts(&row)?,
        goal_minor: row.u64("goal_minor")?,
        last_event_id: row.i64("last_event_id")?,
        updated_at_ms: row.i64("updated_at_ms")?,
    })
}

/// What `GET …/totals` shows of one campaign, read in one statement (one snapshot):
/// the campaign, its read model once the relay has applied one of its events, and when
/// the oldest event the relay has not applied yet was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsRead {
    pub campaign_id: String,
    pub currency: String,
    pub goal_minor: u64,
    /// `None` until the relay applies the campaign's first event.
    pub relayed: Option<Relayed>,
    pub oldest_unpublished_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    pub totals: Totals,
    pub last_event_id: i64,
    pub updated_at_ms: i64,
}

/// `None` when there is no such campaign.
pub fn read(db: &dyn SqlExecutor, campaign_id: &str) -> Result<Option<TotalsRead>, DbError> {
    let rows = db.query(
        "SELECT c.id AS campaign_id, c.currency, c.goal_minor, t.pledged_minor, t.captured_minor, \
         t.refunded_minor, t.disputed_minor, t.pledge_count, t.captured_count, t.donor_count, t.last_event_id, \
         t.updated_at_ms, (SELECT created_at_ms FROM outbox WHERE published_at_ms IS NULL ORDER BY id LIMIT 1) AS oldest_unpublished_at_ms \
         FROM campaigns c LEFT JOIN campaign_totals t ON t.campaign_id = c.id WHERE c.id = ?1",
        &[campaign_id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let relayed = match row.opt_i64("last_event_id")? {
        None => None,
        Some(last_event_id) => Some(Relayed {
            totals: decode_counts(&row)?,
            last_event_id,
            updated_at_ms: row.i64("updated_at_ms")?,
        }),
    };
    Ok(Some(TotalsRead {
        campaign_id: row.text("campaign_id")?,
        currency: row.text("currency")?,
        goal_minor: row.u64("goal_minor")?,
        relayed,
        oldest_unpublished_at_ms: row.opt_i64("oldest_unpublished_at_ms")?,
    }))
}

/// The read model of every campaign the relay moved at or after `since_ms`.
pub fn read_moved_since(
    db: &dyn SqlExecutor,
    since_ms: i64,
) -> Result<Vec<CampaignTotals>, DbError> {
    db.query(
        &format!(
            "SELECT {TOTALS_COLUMNS} FROM campaign_totals t JOIN campaigns c ON c.id = t.campaign_id \
             WHERE t.updated_at_ms >= ?1"
        ),
        &[since_ms.into()],
    )?
    .iter()
    .map(decode_totals)
    .collect()
}

/// Every campaign's read model, for reconciliation.
pub fn read_all(db: &dyn SqlExecutor) -> Result<Vec<CampaignTotals>, DbError> {
    db.query(
        &format!(
            "SELECT {TOTALS_COLUMNS} FROM campaign_totals t JOIN campaigns c ON c.id = t.campaign_id \
             ORDER BY t.campaign_id"
        ),
        &[],
    )?
    .iter()
    .map(decode_totals)
    .collect()
}

#[derive(Default)]
struct CampaignDelta {
    currency: String,
    delta: Contribution,
    donors: BTreeSet<String>,
    last_event_id: i64,
}

pub fn consume(
    db: &dyn SqlExecutor,
    events: &[Positioned<'_>],
    now_ms: i64,
) -> Result<Effects, ConsumeError> {
    // Only each pledge's newest snapshot in the batch matters.
    let mut newest: BTreeMap<&str, &Positioned<'_>> = BTreeMap::new();
    let mut last_event: BTreeMap<&str, i64> = BTreeMap::new();
    for e in events {
        let id = e.change.pledge_id.as_str();
        if newest
            .get(id)
            .is_none_or(|n| n.change.version < e.change.version)
        {
            newest.insert(id, e);
        }
        let last = last_event.entry(e.change.campaign_id.as_str()).or_default();
        *last = (*last).max(e.event_id);
    }
    let mut effects = Effects::default();
    if newest.is_empty() {
        return Ok(effects);
    }
    let applied = lock_projection(db, &newest)?;

    let mut campaigns: BTreeMap<&str, CampaignDelta> = BTreeMap::new();
    let mut moved: Vec<&PledgeEvent> = Vec::new();
    let mut by_status = Deltas::default();
    for (pledge_id, e) in &newest {
        let before = applied.get(*pledge_id);
        let Some(step) = advance(before, &e.change.snapshot()) else {
            continue;
        };
        let was = before.map(|s| s.state.status);
        if was != Some(e.change.to) {
            if let Some(was) = was {
                by_status.add(metric_counts::PLEDGES, was.as_str(), -1);
            }
            by_status.add(metric_counts::PLEDGES, e.change.to.as_str(), 1);
        }
        let c = campaigns.entry(e.change.campaign_id.as_str()).or_default();
        c.currency.clone_from(&e.change.currency);
        c.delta = c.delta + step.delta;
        if step.first_capture {
            c.donors.insert(e.change.donor_email.clone());
            effects.first_captures.push((e.event_id, e.change.clone()));
        }
        if step.failed {
            effects.failures_at_ms.push(e.created_at_ms);
        }
        moved.push(e.change);
    }
    effects.applied = moved.len();
    if moved.is_empty() {
        return Ok(effects);
    }
    store_projection(db, &moved)?;
    by_status.apply(db)?;
    for (campaign_id, c) in &mut campaigns {
        c.last_event_id = last_event[campaign_id];
    }
    let new_donors = insert_donors(db, &campaigns)?;
    effects.at_goal = update_campaigns(db, &campaigns, &new_donors, now_ms)?;
    Ok(effects)
}

/// Locks (creating if needed, in pledge-id order so two relays never deadlock) the
/// projection rows of the batch's pledges and returns the snapshots already applied.
fn lock_projection(
    db: &dyn SqlExecutor,
    newest: &BTreeMap<&str, &Positioned<'_>>,
) -> Result<BTreeMap<String, Snapshot>, DbError> {
    let mut params: Vec<SqlValue> = Vec::with_capacity(newest.len() * 3);
    for e in newest.values() {
        params.extend([
            e.change.pledge_id.as_str().into(),
            e.change.campaign_id.as_str().into(),
            SqlValue::Integer(e.change.amount_minor as i64),
        ]);
    }
    let values: Vec<String> = row_placeholders(newest.len(), 3)
        .map(|p| format!("({}, {}, 0, 'PENDING', {}, 0, 0, 0)", p[0], p[1], p[2]))
        .collect();
    db.execute(
        &format!(
            "INSERT INTO pledge_projection (pledge_id, campaign_id, version, status, amount_minor, captured_minor, \
             refunded_minor, disputed_minor) VALUES {} ON CONFLICT (pledge_id) DO NOTHING",
            values.join(", ")
        ),
        &params,
    )?;
    let ids: Vec<SqlValue> = newest.keys().map(|id| (*id).into()).collect();
    let rows = db.query(
        &format!(
            "SELECT pledge_id, version, status, amount_minor, captured_minor, refunded_minor, disputed_minor \
             FROM pledge_projection \
             WHERE pledge_id IN ({}) ORDER BY pledge_id{}",
            placeholders(1, ids.len()),
            for_update(db)
        ),
        &ids,
    )?;
    let mut applied = BTreeMap::new();
    for row in rows.iter() {
        let version = row.u64("version")?;
        if version == 0 {
            continue; // the placeholder: nothing applied yet
        }
        let status = row.text("status")?;
        let snapshot = Snapshot {
            version,
            state: crate::domain::pledge::PledgeState {
                status: PledgeStatus::parse(&status)
                    .ok_or_else(|| DbError::Decode(format!("projection status `{status}`")))?,
                amount_minor: row.u64("amount_minor")?,
                captured_minor: row.u64("captured_minor")?,
                refunded_minor: row.u64("refunded_minor")?,
                disputed_minor: row.u64("disputed_minor")?,
            },
        };
        applied.insert(row.text("pledge_id")?, snapshot);
    }
    Ok(applied)
}

fn store_projection(db: &dyn SqlExecutor, moved: &[&PledgeEvent]) -> Result<(), DbError> {
    let mut params: Vec<SqlValue> = Vec::with_capacity(moved.len() * 8);
    for e in moved {
        params.extend([
            e.pledge_id.as_str().into(),
            e.campaign_id.as_str().into(),
            SqlValue::Integer(e.version as i64),
            e.to.as_str().into(),
            SqlValue::Integer(e.amount_minor as i64),
            SqlValue::Integer(e.captured_minor as i64),
            SqlValue::Integer(e.refunded_minor as i64),
            SqlValue::Integer(e.disputed_minor as i64),
        ]);
    }
    let values: Vec<String> = row_placeholders(moved.len(), 8)
        .map(|p| format!("({})", p.join(", ")))
        .collect();
    db.execute(
        &format!(
            "INSERT INTO pledge_projection (pledge_id, campaign_id, version, status, amount_minor, captured_minor, \
             refunded_minor, disputed_minor) VALUES {} ON CONFLICT (pledge_id) DO UPDATE SET version = excluded.version, \
             status = excluded.status, captured_minor = excluded.captured_minor, refunded_minor = excluded.refunded_minor, \
             disputed_minor = excluded.disputed_minor",
            values.join(", ")
        ),
        &params,
    )
}

/// Records first-time donors; returns how many are new per campaign.
fn insert_donors(
    db: &dyn SqlExecutor,
    campaigns: &BTreeMap<&str, CampaignDelta>,
) -> Result<BTreeMap<String, u64>, DbError> {
    let mut params: Vec<SqlValue> = Vec::new();
    for (campaign_id, c) in campaigns {
        for email in &c.donors {
            params.push((*campaign_id).into());
            params.push(email.as_str().into());
        }
    }
    let mut new = BTreeMap::new();
    if params.is_empty() {
        return Ok(new);
    }
    let values: Vec<String> = row_placeholders(params.len() / 2, 2)
        .map(|p| format!("({})", p.join(", ")))
        .collect();
    let rows = db.query(
        &format!(
            "INSERT INTO campaign_donors (campaign_id, donor_email) VALUES {} \
             ON CONFLICT (campaign_id, donor_email) DO NOTHING RETURNING campaign_id",
            values.join(", ")
        ),
        &params,
    )?;
    for row in rows.iter() {
        *new.entry(row.text("campaign_id")?).or_insert(0) += 1;
    }
    Ok(new)
}

/// One locked read and one update per campaign; returns the campaigns at their goal.
fn update_campaigns(
    db: &dyn SqlExecutor,
    campaigns: &BTreeMap<&str, CampaignDelta>,
    new_donors: &BTreeMap<String, u64>,
    now_ms: i64,
) -> Result<Vec<CampaignTotals>, ConsumeError> {
    let mut params: Vec<SqlValue> = Vec::new();
    for (campaign_id, c) in campaigns {
        params.extend([
            (*campaign_id).into(),
            c.currency.as_str().into(),
            now_ms.into(),
        ]);
    }
    let values: Vec<String> = row_placeholders(campaigns.len(), 3)
        .map(|p| format!("({}, {}, 0, 0, 0, 0, 0, 0, 0, 0, {})", p[0], p[1], p[2]))
        .collect();
    db.execute(
        &format!(
            "INSERT INTO campaign_totals (campaign_id, currency, pledged_minor, captured_minor, refunded_minor, \
             disputed_minor, pledge_count, captured_count, donor_count, last_event_id, updated_at_ms) VALUES {} \
             ON CONFLICT (campaign_id) DO NOTHING",
            values.join(", ")
        ),
        &params,
    )?;
    let ids: Vec<SqlValue> = campaigns.keys().map(|id| (*id).into()).collect();
    let lock = match for_update(db) {
        "" => "",
        _ => " FOR UPDATE OF t",
    };
    let current = db
        .query(
            &format!(
                "SELECT {TOTALS_COLUMNS} FROM campaign_totals t JOIN campaigns c ON c.id = t.campaign_id \
                 WHERE t.campaign_id IN ({}) ORDER BY t.campaign_id{lock}",
                placeholders(1, ids.len())
            ),
            &ids,
        )?
        .iter()
        .map(decode_totals)
        .collect::<Result<Vec<_>, _>>()?;
    let mut at_goal = Vec::new();
    for row in current {
        let c = &campaigns[row.campaign_id.as_str()];
        let donors = new_donors.get(&row.campaign_id).copied().unwrap_or(0);
        let totals =
            row.totals
                .with(c.delta, donors)
                .map_err(|source| ConsumeError::Impossible {
                    campaign_id: row.campaign_id.clone(),
                    source,
                })?;
        let last_event_id = row.last_event_id.max(c.last_event_id);
        db.execute(
            "UPDATE campaign_totals SET pledged_minor = ?2, captured_minor = ?3, refunded_minor = ?4, \
             disputed_minor = ?5, pledge_count = ?6, captured_count = ?7, donor_count = ?8, last_event_id = ?9, \
             updated_at_ms = ?10 WHERE campaign_id = ?1",
            &[
                row.campaign_id.as_str().into(),
                SqlValue::Integer(totals.pledged_minor as i64),
                SqlValue::Integer(totals.captured_minor as i64),
                SqlValue::Integer(totals.refunded_minor as i64),
                SqlValue::Integer(totals.disputed_minor as i64),
                SqlValue::Integer(totals.pledge_count as i64),
                SqlValue::Integer(totals.captured_count as i64),
                SqlValue::Integer(totals.donor_count as i64),
                last_event_id.into(),
                now_ms.into(),
            ],
        )?;
        if row.goal_minor > 0 && totals.raised_minor() >= row.goal_minor {
            at_goal.push(CampaignTotals {
                totals,
                last_event_id,
                updated_at_ms: now_ms,
                ..row
            });
        }
    }
    Ok(at_goal)
}

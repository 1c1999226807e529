//! Reconciliation: recomputes every campaign's totals from the pledges themselves and
//! compares them with the read model, and compares each pledge's captured and refunded
//! amounts with the payment provider's record, and lists every provider event that
//! contradicted its pledge (e.g. a success reported for a cancelled pledge: money the
//! books do not hold). Every difference is reported; none is corrected here (a drift is
//! a bug or an incident to resolve, not a number to overwrite).

use super::health;
use super::totals::{decode_counts, read_all};
use crate::domain::totals::Totals;
use crate::payments::provider::{PaymentProvider, ProviderError};
use crate::storage::{DbError, SqlExecutor};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// The read model disagrees with the pledges.
    Totals {
        campaign_id: String,
        field: &'static str,
        read_model: u64,
        from_pledges: u64,
    },
    /// A pledge disagrees with the provider's charge.
    Provider {
        pledge_id: String,
        payment_id: String,
        field: &'static str,
        app: u64,
        provider: u64,
    },
    /// The provider holds money for a payment no pledge records.
    UnknownPayment {
        payment_id: String,
        pledge_id: Option<String>,
        captured_minor: u64,
    },
    /// The provider reported a change the pledge cannot take (recorded `invalid`, not
    /// applied), such as a payment succeeding after the pledge was cancelled.
    ContradictoryEvent {
        pledge_id: String,
        provider_event_id: Option<String>,
        event_kind: String,
        detail: Option<String>,
    },
}

/// Provider events recorded `invalid` against their pledge, oldest first (a partial
/// index holds only those rows).
fn contradictory_events(db: &dyn SqlExecutor, drift: &mut Vec<Drift>) -> Result<(), DbError> {
    for r in db
        .query(
            "SELECT pledge_id, provider_event_id, kind, detail FROM pledge_events \
             WHERE outcome = 'invalid' ORDER BY seq",
            &[],
        )?
        .iter()
    {
        drift.push(Drift::ContradictoryEvent {
            pledge_id: r.text("pledge_id")?,
            provider_event_id: r.opt_text("provider_event_id")?,
            event_kind: r.text("kind")?,
            detail: r.opt_text("detail")?,
        });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checked_at_ms: i64,
    /// Unpublished events: totals drift is expected until the relay has caught up.
    pub relay_backlog: u64,
    pub campaigns_checked: u64,
    pub pledges_checked: u64,
    /// `None` when the provider was not consulted.
    pub provider_charges_checked: Option<u64>,
    pub drift: Vec<Drift>,
    pub ok: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading the provider's charges: {0}")]
    Provider(#[from] ProviderError),
}

/// Totals computed straight from the pledges, per campaign.
fn totals_from_pledges(db: &dyn SqlExecutor) -> Result<(BTreeMap<String, Totals>, u64), DbError> {
    let rows = db.query(
        "SELECT campaign_id, \
         CAST(SUM(CASE WHEN status = 'CANCELED' THEN 0 ELSE amount_minor END) AS BIGINT) AS pledged_minor, \
         CAST(SUM(CASE WHEN status = 'CANCELED' THEN 0 ELSE 1 END) AS BIGINT) AS pledge_count, \
         CAST(SUM(captured_minor) AS BIGINT) AS captured_minor, CAST(SUM(refunded_minor) AS BIGINT) AS refunded_minor, \
         CAST(SUM(disputed_minor) AS BIGINT) AS disputed_minor, \
         CAST(SUM(CASE WHEN captured_minor > 0 THEN 1 ELSE 0 END) AS BIGINT) AS captured_count, \
         COUNT(DISTINCT CASE WHEN captured_minor > 0 THEN donor_email END) AS donor_count, COUNT(*) AS all_pledges \
         FROM pledges GROUP BY campaign_id",
        &[],
    )?;
    let mut all = 0;
    let totals = rows
        .iter()
        .map(|r| {
            all += r.u64("all_pledges")?;
            Ok((r.text("campaign_id")?, decode_counts(&r)?))
        })
        .collect::<Result<_, DbError>>()?;
    Ok((totals, all))
}

fn compare_totals(campaign_id: &str, model: &Totals, truth: &Totals, drift: &mut Vec<Drift>) {
    let fields: [(&'static str, u64, u64); 8] = [
        ("raised_minor", model.raised_minor(), truth.raised_minor()),
        ("pledged_minor", model.pledged_minor, truth.pledged_minor),
        ("captured_minor", model.captured_minor, truth.captured_minor),
        ("refunded_minor", model.refunded_minor, truth.refunded_minor),
        ("disputed_minor", model.disputed_minor, truth.disputed_minor),
        ("pledge_count", model.pledge_count, truth.pledge_count),
        ("captured_count", model.captured_count, truth.captured_count),
        ("donor_count", model.donor_count, truth.donor_count),
    ];
    for (field, read_model, from_pledges) in fields {
        if read_model != from_pledges {
            drift.push(Drift::Totals {
                campaign_id: campaign_id.to_string(),
                field,
                read_model,
                from_pledges,
            });
        }
    }
}

struct PledgeMoney {
    pledge_id: String,
    captured_minor: u64,
    refunded_minor: u64,
}

fn compare_provider(
    db: &dyn SqlExecutor,
    provider: &dyn PaymentProvider,
    drift: &mut Vec<Drift>,
) -> Result<u64, ReconcileError> {
    let mut pledges: BTreeMap<String, PledgeMoney> = db
        .query(
            "SELECT id, provider_payment_id, captured_minor, refunded_minor FROM pledges \
             WHERE provider_payment_id IS NOT NULL",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.text("provider_payment_id")?,
                PledgeMoney {
                    pledge_id: r.text("id")?,
                    captured_minor: r.u64("captured_minor")?,
                    refunded_minor: r.u64("refunded_minor")?,
                },
            ))
        })
        .collect::<Result<_, DbError>>()?;
    let mut checked = 0;
    let mut after: Option<String> = None;
    loop {
        let page = provider.list_charges(after.as_deref())?;
        for charge in page.charges {
            checked += 1;
            let Some(pledge) = pledges.remove(&charge.payment_id) else {
                if charge.captured_minor > 0 {
                    drift.push(Drift::UnknownPayment {
                        payment_id: charge.payment_id,
                        pledge_id: charge.pledge_id,
                        captured_minor: charge.captured_minor,
                    });
                }
                continue;
            };
            for (field, app, provider) in [
                (
                    "captured_minor",
                    pledge.captured_minor,
                    charge.captured_minor,
                ),
                (
                    "refunded_minor",
                    pledge.refunded_minor,
                    charge.refunded_minor,
                ),
            ] {
                if app != provider {
                    drift.push(Drift::Provider {
                        pledge_id: pledge.pledge_id.clone(),
                        payment_id: charge.payment_id.clone(),
                        field,
                        app,
                        provider,
                    });
                }
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // Pledges whose payment the provider does not list at all.
    for (payment_id, pledge) in pledges {
        if pledge.captured_minor > 0 {
            drift.push(Drift::Provider {
                pledge_id: pledge.pledge_id,
                payment_id,
                field: "captured_minor",
                app: pledge.captured_minor,
                provider: 0,
            });
        }
    }
    Ok(checked)
}

/// Runs every check; `provider` is consulted when given.
pub fn reconcile(
    db: &dyn SqlExecutor,
    provider: Option<&dyn PaymentProvider>,
    now_ms: i64,
) -> Result<Report, ReconcileError> {
    let relay_backlog = health::backlog(db, now_ms)?.0;
    let (truth, pledges_checked) = totals_from_pledges(db)?;
    let model: BTreeMap<String, Totals> = read_all(db)?
        .into_iter()
        .map(|t| (t.campaign_id, t.totals))
        .collect();
    let mut drift = Vec::new();
    let empty = Totals::default();
    let campaigns: std::collections::BTreeSet<&String> = truth.keys().chain(model.keys()).collect();
    for campaign_id in &campaigns {
        compare_totals(
            campaign_id,
            model.get(*campaign_id).unwrap_or(&empty),
            truth.get(*campaign_id).unwrap_or(&empty),
            &mut drift,
        );
    }
    contradictory_events(db, &mut drift)?;
    let provider_charges_checked = provider
        .map(|p| compare_provider(db, p, &mut drift))
        .transpose()?;
    Ok(Report {
        checked_at_ms: now_ms,
        relay_backlog,
        campaigns_checked: campaigns.len() as u64,
        pledges_checked,
        provider_charges_checked,
        ok: drift.is_empty(),
        drift,
    })
}

/// Keeps what a run found for `GET /metrics`: the number of drifts and when it ran.
pub fn remember(db: &dyn SqlExecutor, report: &Report) -> Result<(), DbError> {
    use crate::storage::metric_counts::{set, RECONCILIATION};
    crate::storage::tx::transaction(db, || {
        set(db, RECONCILIATION, "drift", report.drift.len() as i64)?;
        set(db, RECONCILIATION, "checked_at_ms", report.checked_at_ms)
    })
}

//! The notifications consumer: turns a batch's effects into donor receipts and admin
//! alerts, written as rows once per (kind, subject) and sent later by `deliver`.

use super::confirmation;
use super::event::{OutboxEvent, PledgeEvent};
use super::totals::{CampaignTotals, Effects};
use crate::domain::donor::Email;
use crate::domain::donor_token::{self, TokenSubject, GUEST_TOKEN_TTL_SECS};
use crate::storage::provider_events::{DISPUTE_EVENT, REFUND_FAILED_EVENT};
use crate::storage::{trace_context, DbError, SqlExecutor};
use crate::telemetry::TraceParent;
use serde::Serialize;
use std::collections::HashMap;

/// Where notifications go and what they say.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// The notification gateway (an e-mail/SMS sender) every message is POSTed to.
    pub gateway_url: String,
    /// Who receives admin alerts.
    pub admin_email: String,
    /// The base URL donors reach the API at, for the history link in receipts.
    pub public_base_url: String,
    pub donor_token_secret: Vec<u8>,
    /// This many payment failures within one window raise a failure-spike alert.
    pub failure_spike_threshold: u64,
    pub failure_window_ms: i64,
}

/// The kinds of notification, each sent at most once per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// To the donor, when a pledge's money is first captured; subject: the pledge.
    Receipt,
    /// To the admins, when a campaign's raised total reaches its goal; subject: the campaign.
    GoalReached,
    /// To the admins, when payment failures in one window reach the threshold; subject:
    /// the window's start.
    FailureSpike,
    /// To the admins, when an outbox event is dead-lettered; subject: the event.
    DeadLetter,
    /// To the admins, when the provider reports a refund failed (possibly after it had
    /// succeeded: the money is back on the platform); subject: the refund.
    RefundFailed,
    /// To the admins, when a dispute opens (evidence is due) and when it is decided;
    /// subject: the dispute and its status.
    Dispute,
    /// To a new account's email, with the token that confirms it; subject: the account.
    AccountConfirmation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Receipt => "receipt",
            Kind::GoalReached => "goal_reached",
            Kind::FailureSpike => "failure_spike",
            Kind::DeadLetter => "dead_letter",
            Kind::RefundFailed => "refund_failed",
            Kind::Dispute => "dispute",
            Kind::AccountConfirmation => "account_confirmation",
        }
    }
}

#[derive(Serialize)]
pub(super) struct Message<'a, T: Serialize> {
    pub id: &'a str,
    pub kind: Kind,
    pub to: &'a str,
    pub subject: String,
    #[serde(flatten)]
    pub details: T,
}

#[derive(Serialize)]
struct ReceiptDetails<'a> {
    pledge_id: &'a str,
    campaign_id: &'a str,
    amount_minor: u64,
    currency: &'a str,
    /// The donor's signed link to their own history (valid 30 days), as JSON.
    history_url: String,
    /// The same history on the donor page; the token rides in the fragment, which
    /// browsers never send to a server.
    history_page_url: String,
}

#[derive(Serialize)]
struct GoalDetails<'a> {
    campaign_id: &'a str,
    goal_minor: u64,
    raised_minor: u64,
    currency: &'a str,
}

#[derive(Serialize)]
struct SpikeDetails {
    window_start_ms: i64,
    window_ms: i64,
    failures: u64,
    threshold: u64,
}

#[derive(Serialize)]
struct DeadLetterDetails<'a> {
    event_id: i64,
    event_type: &'a str,
    aggregate_id: &'a str,
    attempts: u32,
    error: &'a str,
}

/// The admins' alert for a dead-lettered outbox event (inside the dead-letter transaction).
pub fn dead_letter_alert(
    db: &dyn SqlExecutor,
    event: &OutboxEvent,
    error: &str,
    settings: &NotifySettings,
    id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    let message = Message {
        id,
        kind: Kind::DeadLetter,
        to: &settings.admin_email,
        subject: format!(
            "outbox event {} ({}) dead-lettered after {} attempts",
            event.id, event.event_type, event.attempts
        ),
        details: DeadLetterDetails {
            event_id: event.id,
            event_type: &event.event_type,
            aggregate_id: &event.aggregate_id,
            attempts: event.attempts,
            error,
        },
    };
    enqueue(db, &message, &event.id.to_string(), settings, now_ms)
}

/// Writes the notifications a batch calls for (inside the apply transaction).
/// A receipt keeps the trace context of the event that captured its pledge (`traces`,
/// by event id), so its delivery joins the donation's trace.
pub fn consume(
    db: &dyn SqlExecutor,
    events: &[&OutboxEvent],
    effects: &Effects,
    traces: &HashMap<i64, TraceParent>,
    settings: &NotifySettings,
    new_id: &dyn Fn() -> String,
    now_ms: i64,
) -> Result<(), DbError> {
    for (event_id, change) in &effects.first_captures {
        let id = new_id();
        receipt(db, change, settings, &id, now_ms)?;
        if let Some(context) = traces.get(event_id) {
            trace_context::record_notification(db, &id, context)?;
        }
    }
    for campaign in &effects.at_goal {
        goal_reached(db, campaign, settings, &new_id(), now_ms)?;
    }
    for (window_start_ms, failures) in count_failures(db, &effects.failures_at_ms, settings)? {
        if failures >= settings.failure_spike_threshold {
            failure_spike(db, window_start_ms, failures, settings, &new_id(), now_ms)?;
        }
    }
    for event in events {
        money_back_alert(db, event, settings, new_id, now_ms)?;
        confirmation::consume(db, event, settings, new_id, now_ms)?;
    }
    Ok(())
}

/// The admins' alert for an `admin.*` event about a pledge's refund or dispute.
fn money_back_alert(
    db: &dyn SqlExecutor,
    event: &OutboxEvent,
    settings: &NotifySettings,
    new_id: &dyn Fn() -> String,
    now_ms: i64,
) -> Result<(), DbError> {
    let kind = match event.event_type.as_str() {
        REFUND_FAILED_EVENT => Kind::RefundFailed,
        DISPUTE_EVENT => Kind::Dispute,
        _ => return Ok(()),
    };
    let details: serde_json::Value = serde_json::from_str(&event.payload)
        .map_err(|e| DbError::Decode(format!("outbox event {}: {e}", event.id)))?;
    let text = |field: &str| details[field].as_str().unwrap_or("?").to_string();
    let (subject, subject_id) = match kind {
        Kind::RefundFailed => (
            format!(
                "Refund {} of {} {} on pledge {} failed: {}",
                text("id"),
                details["amount_minor"],
                text("currency"),
                text("pledge_id"),
                details["failure"].as_str().unwrap_or("no reason given")
            ),
            text("id"),
        ),
        _ => (
            format!(
                "Dispute {} of {} {} on pledge {} is {} (funds {})",
                text("id"),
                details["amount_minor"],
                text("currency"),
                text("pledge_id"),
                text("status"),
                text("funds")
            ),
            format!("{}:{}", text("id"), text("status")),
        ),
    };
    let id = new_id();
    let message = Message {
        id: &id,
        kind,
        to: &settings.admin_email,
        subject,
        details,
    };
    enqueue(db, &message, &subject_id, settings, now_ms)
}

fn failure_spike(
    db: &dyn SqlExecutor,
    window_start_ms: i64,
    failures: u64,
    settings: &NotifySettings,
    id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    let message = Message {
        id,
        kind: Kind::FailureSpike,
        to: &settings.admin_email,
        subject: format!(
            "{failures} payment failures in {} s",
            settings.failure_window_ms / 1000
        ),
        details: SpikeDetails {
            window_start_ms,
            window_ms: settings.failure_window_ms,
            failures,
            threshold: settings.failure_spike_threshold,
        },
    };
    enqueue(db, &message, &window_start_ms.to_string(), settings, now_ms)
}

fn receipt(
    db: &dyn SqlExecutor,
    change: &PledgeEvent,
    settings: &NotifySettings,
    id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    let email = Email::parse(&change.donor_email)
        .map_err(|e| DbError::Decode(format!("pledge {} donor email: {e}", change.pledge_id)))?;
    let token = donor_token::issue(
        &settings.donor_token_secret,
        &TokenSubject::Email(email),
        now_ms / 1000 + GUEST_TOKEN_TTL_SECS,
    );
    let base = settings.public_base_url.trim_end_matches('/');
    let message = Message {
        id,
        kind: Kind::Receipt,
        to: &change.donor_email,
        subject: "Thank you for your donation".into(),
        details: ReceiptDetails {
            pledge_id: &change.pledge_id,
            campaign_id: &change.campaign_id,
            amount_minor: change.captured_minor,
            currency: &change.currency,
            history_url: format!("{base}/api/v1/donors/me/pledges?token={token}"),
            history_page_url: format!("{base}/#history={token}"),
        },
    };
    enqueue(db, &message, &change.pledge_id, settings, now_ms)
}

fn goal_reached(
    db: &dyn SqlExecutor,
    campaign: &CampaignTotals,
    settings: &NotifySettings,
    id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    let message = Message {
        id,
        kind: Kind::GoalReached,
        to: &settings.admin_email,
        subject: format!("Campaign {} reached its goal", campaign.campaign_id),
        details: GoalDetails {
            campaign_id: &campaign.campaign_id,
            goal_minor: campaign.goal_minor,
            raised_minor: campaign.totals.raised_minor(),
            currency: &campaign.currency,
        },
    };
    enqueue(db, &message, &campaign.campaign_id, settings, now_ms)
}

/// Adds the batch's failures to their windows; returns each touched window's new count.
fn count_failures(
    db: &dyn SqlExecutor,
    failures_at_ms: &[i64],
    settings: &NotifySettings,
) -> Result<Vec<(i64, u64)>, DbError> {
    let window = settings.failure_window_ms.max(1);
    let mut per_window: std::collections::BTreeMap<i64, i64> = Default::default();
    for at in failures_at_ms {
        *per_window.entry(at - at.rem_euclid(window)).or_default() += 1;
    }
    let mut counts = Vec::new();
    for (start, n) in per_window {
        let row = db.query(
            "INSERT INTO failure_windows (window_start_ms, failures) VALUES (?1, ?2) \
             ON CONFLICT (window_start_ms) DO UPDATE SET failures = failure_windows.failures + excluded.failures \
             RETURNING failures",
            &[start.into(), n.into()],
        )?;
        let failures = row
            .first()
            .ok_or_else(|| DbError::Other("failure window upsert returned no row".into()))?
            .u64("failures")?;
        counts.push((start, failures));
    }
    Ok(counts)
}

/// Stores a message once per (kind, subject); a second one for the same pair is dropped.
pub(super) fn enqueue<T: Serialize>(
    db: &dyn SqlExecutor,
    message: &Message<'_, T>,
    subject_id: &str,
    settings: &NotifySettings,
    now_ms: i64,
) -> Result<(), DbError> {
    let body = serde_json::to_string(message).map_err(|e| DbError::Decode(e.to_string()))?;
    db.execute(
        "INSERT INTO notifications (id, kind, subject_id, recipient, destination, body, status, next_attempt_ms, \
         created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7) ON CONFLICT (kind, subject_id) DO NOTHING",
        &[
            message.id.into(),
            message.kind.as_str().into(),
            subject_id.into(),
            message.to.into(),
            settings.gateway_url.as_str().into(),
            body.into(),
            now_ms.into(),
        ],
    )
}

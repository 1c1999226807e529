//! Stripe's webhook events, read as the app's reports. Payment intents report the
//! payment; refund objects (`refund.*`, `charge.refund.updated`, and the refunds a
//! `charge.refunded` charge lists) report each refund with its own status; dispute
//! objects (`charge.dispute.*`) report review steps and, in `funds_withdrawn` and
//! `funds_reinstated`, the money. A charge's cumulative `amount_refunded` is never used:
//! it goes down again when a refund fails, so only the refund objects say what happened.

use super::report::{DisputeUpdate, RefundReport, Report};
use crate::domain::dispute::{DisputeFunds, DisputeReport, DisputeStatus};
use crate::domain::pledge::PaymentEvent;
use crate::domain::refund::RefundStatus;
use serde_json::Value;

/// A verified webhook body, read as the app's view of a provider event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub kind: String,
    pub payment_id: String,
    pub pledge_id: Option<String>,
    /// One event may carry several reports (a charge lists all its refunds).
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedWebhook {
    Event(WebhookEvent),
    /// A well-formed event of a type the app does not act on.
    Ignored {
        event_id: String,
        kind: String,
    },
}

fn text(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("missing {what}"))
}

fn amount(v: &Value, what: &str) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("missing or non-integer {what}"))
}

fn refund(object: &Value, at: &str) -> Result<RefundReport, String> {
    let status = text(&object["status"], &format!("{at}.status"))?;
    Ok(RefundReport {
        provider_refund_id: text(&object["id"], &format!("{at}.id"))?,
        refund_id: object["metadata"]["refund_id"].as_str().map(str::to_string),
        amount_minor: amount(&object["amount"], &format!("{at}.amount"))?,
        status: RefundStatus::from_provider(&status)
            .ok_or_else(|| format!("unknown refund status `{status}` in {at}.status"))?,
        failure: object["failure_reason"].as_str().map(str::to_string),
    })
}

fn dispute(object: &Value, funds: Option<DisputeFunds>) -> Result<DisputeUpdate, String> {
    let status = text(&object["status"], "data.object.status")?;
    Ok(DisputeUpdate {
        dispute_id: text(&object["id"], "data.object.id")?,
        amount_minor: amount(&object["amount"], "data.object.amount")?,
        reason: object["reason"].as_str().map(str::to_string),
        report: DisputeReport {
            status: Some(
                DisputeStatus::from_provider(&status)
                    .ok_or_else(|| format!("unknown dispute status `{status}`"))?,
            ),
            funds,
        },
    })
}

/// Reads a Stripe event. `Err` names what is missing or malformed.
pub fn parse_webhook(body: &[u8]) -> Result<ParsedWebhook, String> {
    let json: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let event_id = text(&json["id"], "id")?;
    let kind = text(&json["type"], "type")?;
    let object = &json["data"]["object"];
    let payment = |event: PaymentEvent| -> Result<(String, Vec<Report>), String> {
        Ok((
            text(&object["id"], "data.object.id")?,
            vec![Report::Payment(event)],
        ))
    };
    let (payment_id, reports): (String, Vec<Report>) = match kind.as_str() {
        "payment_intent.amount_capturable_updated" => payment(PaymentEvent::Authorized),
        "payment_intent.succeeded" => payment(PaymentEvent::Captured {
            captured_minor: amount(&object["amount_received"], "data.object.amount_received")?,
        }),
        "payment_intent.payment_failed" => payment(PaymentEvent::Failed),
        "payment_intent.canceled" => payment(PaymentEvent::Canceled),
        "charge.refunded" => match object["refunds"]["data"].as_array() {
            // Without its refunds listed, the charge says only a cumulative amount: the
            // refund objects' own events carry what the app needs.
            None => return Ok(ParsedWebhook::Ignored { event_id, kind }),
            Some(refunds) => Ok((
                text(&object["payment_intent"], "data.object.payment_intent")?,
                refunds
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        refund(r, &format!("data.object.refunds.data[{i}]")).map(Report::Refund)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )),
        },
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => Ok((
            text(&object["payment_intent"], "data.object.payment_intent")?,
            vec![Report::Refund(refund(object, "data.object")?)],
        )),
        "charge.dispute.created"
        | "charge.dispute.updated"
        | "charge.dispute.closed"
        | "charge.dispute.funds_withdrawn"
        | "charge.dispute.funds_reinstated" => {
            let funds = match kind.as_str() {
                "charge.dispute.funds_withdrawn" => Some(DisputeFunds::Withdrawn),
                "charge.dispute.funds_reinstated" => Some(DisputeFunds::Reinstated),
                _ => None,
            };
            Ok((
                text(&object["payment_intent"], "data.object.payment_intent")?,
                vec![Report::Dispute(dispute(object, funds)?)],
            ))
        }
        _ => return Ok(ParsedWebhook::Ignored { event_id, kind }),
    }?;
    Ok(ParsedWebhook::Event(WebhookEvent {
        event_id,
        kind,
        payment_id,
        pledge_id: object["metadata"]["pledge_id"].as_str().map(str::to_string),
        reports,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &[u8]) -> WebhookEvent {
        match parse_webhook(body).unwrap() {
            ParsedWebhook::Event(e) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn reads_the_payment_events_the_app_acts_on() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":500,"metadata":{"pledge_id":"p1"}}}}"#;
        assert_eq!(
            event(body),
            WebhookEvent {
                event_id: "evt_1".into(),
                kind: "payment_intent.succeeded".into(),
                payment_id: "pi_1".into(),
                pledge_id: Some("p1".into()),
                reports: vec![Report::Payment(PaymentEvent::Captured {
                    captured_minor: 500
                })],
            }
        );
        let other = br#"{"id":"evt_3","type":"customer.created","data":{"object":{}}}"#;
        assert!(matches!(
            parse_webhook(other).unwrap(),
            ParsedWebhook::Ignored { .. }
        ));
        assert!(parse_webhook(b"{").is_err());
        assert!(parse_webhook(br#"{"id":"evt_4","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":1.5}}}"#).is_err());
    }

    #[test]
    fn refunds_are_read_from_refund_objects_never_from_the_cumulative_amount() {
        let charge = br#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"payment_intent":"pi_1","amount_refunded":200,
            "refunds":{"data":[{"id":"re_1","amount":200,"status":"pending","metadata":{"refund_id":"r1"}}]}}}}"#;
        assert_eq!(
            event(charge).reports,
            vec![Report::Refund(RefundReport {
                provider_refund_id: "re_1".into(),
                refund_id: Some("r1".into()),
                amount_minor: 200,
                status: RefundStatus::Pending,
                failure: None,
            })]
        );
        let bare = br#"{"id":"evt_5","type":"charge.refunded","data":{"object":{"payment_intent":"pi_1","amount_refunded":200}}}"#;
        assert!(matches!(
            parse_webhook(bare).unwrap(),
            ParsedWebhook::Ignored { .. }
        ));
        let failed = br#"{"id":"evt_6","type":"charge.refund.updated","data":{"object":{"id":"re_1","payment_intent":"pi_1","amount":200,"status":"failed","failure_reason":"expired_or_canceled_card"}}}"#;
        let Report::Refund(r) = &event(failed).reports[0] else {
            panic!("not a refund")
        };
        assert_eq!(
            (r.status, r.failure.as_deref()),
            (RefundStatus::Failed, Some("expired_or_canceled_card"))
        );
        let unknown = br#"{"id":"evt_7","type":"refund.updated","data":{"object":{"id":"re_1","payment_intent":"pi_1","amount":200,"status":"refunded"}}}"#;
        assert!(parse_webhook(unknown).unwrap_err().contains("`refunded`"));
    }

    #[test]
    fn disputes_report_their_review_and_their_money_apart() {
        let withdrawn = br#"{"id":"evt_8","type":"charge.dispute.funds_withdrawn","data":{"object":{"id":"dp_1","payment_intent":"pi_1","amount":500,"status":"needs_response","reason":"fraudulent"}}}"#;
        assert_eq!(
            event(withdrawn).reports,
            vec![Report::Dispute(DisputeUpdate {
                dispute_id: "dp_1".into(),
                amount_minor: 500,
                reason: Some("fraudulent".into()),
                report: DisputeReport {
                    status: Some(DisputeStatus::Open),
                    funds: Some(DisputeFunds::Withdrawn)
                },
            })]
        );
        let closed = br#"{"id":"evt_9","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","payment_intent":"pi_1","amount":500,"status":"lost"}}}"#;
        let Report::Dispute(d) = &event(closed).reports[0] else {
            panic!("not a dispute")
        };
        assert_eq!(
            d.report,
            DisputeReport {
                status: Some(DisputeStatus::Lost),
                funds: None
            }
        );
    }
}

//! The pledge state machine. Order comes from the lattice, never from timestamps:
//!
//! ```text
//! PENDING ──► PAYMENT_FAILED ──► AUTHORIZED ──► CAPTURED
//! PENDING | PAYMENT_FAILED | AUTHORIZED ──► CANCELED   (terminal; releases "pledged")
//! CAPTURED ◄──► PARTIALLY_REFUNDED ◄──► REFUNDED       (what the refunds now add up to)
//! ```
//!
//! A declined card is not the end: the donor may try another card on the same payment,
//! so PAYMENT_FAILED sits below AUTHORIZED and a later success applies, while a failure
//! reported after the success is stale. A payment event at or behind the current state
//! is stale; one that skips ahead is applied and the skipped states it implies are
//! recorded (a capture implies an authorization, never a failure); one that contradicts
//! a cancellation is invalid and kept for an operator.
//!
//! Money going back out of a captured payment is not a step on that path: each refund
//! and each dispute keeps its own forward-only order (`refund`, `dispute`), and the
//! pledge shows their sum as it stands ([`settle`]). A refund that fails after it
//! succeeded therefore moves a REFUNDED pledge back to CAPTURED, and reports of any
//! refund or dispute still commute.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PledgeStatus {
    Pending,
    Authorized,
    Captured,
    PartiallyRefunded,
    Refunded,
    PaymentFailed,
    Canceled,
}

impl PledgeStatus {
    pub const ALL: [PledgeStatus; 7] = [
        Self::Pending,
        Self::Authorized,
        Self::Captured,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::PaymentFailed,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Authorized => "AUTHORIZED",
            Self::Captured => "CAPTURED",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
            Self::Refunded => "REFUNDED",
            Self::PaymentFailed => "PAYMENT_FAILED",
            Self::Canceled => "CANCELED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Position on the money path; `None` for a cancellation, which is off it.
    fn rank(self) -> Option<u8> {
        match self {
            Self::Pending => Some(0),
            Self::PaymentFailed => Some(1),
            Self::Authorized => Some(2),
            Self::Captured => Some(3),
            Self::PartiallyRefunded => Some(4),
            Self::Refunded => Some(5),
            Self::Canceled => None,
        }
    }

    /// Whether money was taken (and so counts towards a campaign's raised total).
    pub fn is_captured(self) -> bool {
        self.rank().is_some_and(|r| r >= 3)
    }

    /// Whether the payment is still open: nothing taken yet and not canceled, so it
    /// may still succeed (a declined card can be retried).
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::Pending | Self::PaymentFailed | Self::Authorized)
    }

    /// Nothing moves a canceled pledge; even a fully refunded one moves back if a
    /// refund fails afterwards.
    pub fn is_terminal(self) -> bool {
        self == Self::Canceled
    }
}

impl fmt::Display for PledgeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the payment provider reports about a pledge's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentEvent {
    Authorized,
    Captured { captured_minor: u64 },
    Failed,
    Canceled,
}

/// The money-relevant state of one pledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PledgeState {
    pub status: PledgeStatus,
    pub amount_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    /// Taken back by disputes whose funds are withdrawn.
    pub disputed_minor: u64,
}

impl PledgeState {
    pub fn new(amount_minor: u64) -> Self {
        PledgeState {
            status: PledgeStatus::Pending,
            amount_minor,
            captured_minor: 0,
            refunded_minor: 0,
            disputed_minor: 0,
        }
    }

    /// What this pledge contributes to its campaign's raised total.
    pub fn net_minor(&self) -> u64 {
        self.captured_minor - self.refunded_minor - self.disputed_minor
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The event moves the pledge forward; `skipped` lists states it implies but that
    /// were never reported (capture implies authorization).
    Applied {
        next: PledgeState,
        skipped: Vec<PledgeStatus>,
    },
    /// The event is at or behind the current state: acknowledged, recorded, not applied.
    Stale,
    /// The same provider event was already processed.
    Duplicate,
    /// The event contradicts the pledge (e.g. a capture after a failure, or amounts the
    /// pledge cannot have): acknowledged, recorded for an operator, not applied.
    Invalid { reason: String },
}

impl Transition {
    pub fn outcome(&self) -> &'static str {
        match self {
            Transition::Applied { .. } => "applied",
            Transition::Stale => "stale",
            Transition::Duplicate => "duplicate",
            Transition::Invalid { .. } => "invalid",
        }
    }
}

fn invalid(reason: impl Into<String>) -> Transition {
    Transition::Invalid {
        reason: reason.into(),
    }
}

/// Decides what `event` does to a pledge in `state`. `already_processed` is whether this
/// provider event id was seen before.
pub fn decide(state: &PledgeState, event: &PaymentEvent, already_processed: bool) -> Transition {
    use PledgeStatus::*;
    if already_processed {
        return Transition::Duplicate;
    }
    let current = state.status;
    let forward = |status: PledgeStatus, next: PledgeState| {
        let from = current.rank().unwrap_or(0);
        let to = status.rank().unwrap_or(0);
        let skipped = PledgeStatus::ALL
            .into_iter()
            .filter(|s| s.rank().is_some_and(|r| r > from && r < to))
            .filter(|s| !matches!(s, PartiallyRefunded | PaymentFailed))
            .collect();
        Transition::Applied {
            next: PledgeState { status, ..next },
            skipped,
        }
    };
    match *event {
        PaymentEvent::Authorized => match current {
            Pending | PaymentFailed => forward(Authorized, *state),
            Canceled => invalid("authorization reported for a CANCELED pledge"),
            _ => Transition::Stale,
        },
        PaymentEvent::Failed => match current {
            Pending => forward(PaymentFailed, *state),
            // Another declined attempt, a failure reported after the payment went
            // through, or after it was canceled: nothing changes.
            _ => Transition::Stale,
        },
        PaymentEvent::Canceled => match current {
            Pending | PaymentFailed | Authorized => forward(Canceled, *state),
            Canceled => Transition::Stale,
            _ => invalid(format!("cancellation reported for a {current} pledge")),
        },
        PaymentEvent::Captured { captured_minor } => {
            if captured_minor == 0 || captured_minor > state.amount_minor {
                return invalid(format!(
                    "captured {captured_minor} of a pledge of {}",
                    state.amount_minor
                ));
            }
            match current {
                Pending | PaymentFailed | Authorized => forward(
                    Captured,
                    PledgeState {
                        captured_minor,
                        ..*state
                    },
                ),
                Canceled => invalid("capture reported for a CANCELED pledge"),
                _ => Transition::Stale,
            }
        }
    }
}

/// What has gone back out of a captured payment, summed over its refunds that succeeded
/// and its disputes whose funds are withdrawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoneyBack {
    pub refunded_minor: u64,
    pub disputed_minor: u64,
}

/// The pledge with its refunds and disputes as they now stand. A pledge not captured
/// (yet) is returned as it is: a refund report may overtake the capture, and the
/// capture settles it. `Err` names amounts the pledge cannot have.
pub fn settle(state: &PledgeState, back: MoneyBack) -> Result<PledgeState, String> {
    use PledgeStatus::*;
    if !state.status.is_captured() {
        return Ok(*state);
    }
    let out = back.refunded_minor.checked_add(back.disputed_minor);
    if out.is_none_or(|out| out > state.captured_minor) {
        return Err(format!(
            "refunds of {} and disputes of {} exceed the {} captured",
            back.refunded_minor, back.disputed_minor, state.captured_minor
        ));
    }
    let status = match back.refunded_minor {
        0 => Captured,
        r if r == state.captured_minor => Refunded,
        _ => PartiallyRefunded,
    };
    Ok(PledgeState {
        status,
        refunded_minor: back.refunded_minor,
        disputed_minor: back.disputed_minor,
        ..*state
    })
}

#[cfg(test)]
mod tests {
    use super::PaymentEvent as E;
    use super::PledgeStatus as S;
    use super::*;
    use crate::domain::dispute::{
        DisputeChange, DisputeFunds, DisputeReport, DisputeState, DisputeStatus,
    };
    use crate::domain::refund::RefundStatus;
    use proptest::prelude::*;

    fn run(amount: u64, events: &[PaymentEvent]) -> (PledgeState, Vec<Transition>) {
        let mut state = PledgeState::new(amount);
        let mut outcomes = Vec::new();
        for e in events {
            let t = decide(&state, e, false);
            if let Transition::Applied { next, .. } = &t {
                state = *next;
            }
            outcomes.push(t);
        }
        (state, outcomes)
    }

    #[test]
    fn capture_before_authorization_is_applied_and_the_late_authorization_is_stale() {
        let (state, outcomes) = run(
            500,
            &[
                E::Captured {
                    captured_minor: 500,
                },
                E::Authorized,
            ],
        );
        assert_eq!(state.status, S::Captured);
        assert_eq!(
            outcomes[0],
            Transition::Applied {
                next: state,
                skipped: vec![S::Authorized]
            }
        );
        assert_eq!(outcomes[1], Transition::Stale);
    }

    #[test]
    fn refunds_and_disputes_settle_a_captured_pledge_and_never_exceed_the_capture() {
        let (captured, _) = run(
            1000,
            &[E::Captured {
                captured_minor: 1000,
            }],
        );
        let back = |refunded_minor, disputed_minor| MoneyBack {
            refunded_minor,
            disputed_minor,
        };
        let partly = settle(&captured, back(300, 0)).unwrap();
        assert_eq!(
            (partly.status, partly.net_minor()),
            (S::PartiallyRefunded, 700)
        );
        let all = settle(&partly, back(1000, 0)).unwrap();
        assert_eq!((all.status, all.net_minor()), (S::Refunded, 0));
        // A refund that fails after succeeding gives the money back to the campaign.
        let failed = settle(&all, back(0, 0)).unwrap();
        assert_eq!((failed.status, failed.net_minor()), (S::Captured, 1000));
        let disputed = settle(&captured, back(200, 800)).unwrap();
        assert_eq!(
            (disputed.status, disputed.net_minor()),
            (S::PartiallyRefunded, 0)
        );
        assert!(settle(&captured, back(201, 800)).is_err());
        assert!(settle(&captured, back(u64::MAX, 1)).is_err());
        // An unpaid pledge waits for its capture.
        let pending = PledgeState::new(1000);
        assert_eq!(settle(&pending, back(300, 0)), Ok(pending));
    }

    #[test]
    fn a_declined_card_can_be_retried_and_a_late_decline_is_stale() {
        let (state, outcomes) = run(
            100,
            &[
                E::Failed,
                E::Failed,
                E::Captured {
                    captured_minor: 100,
                },
                E::Failed,
            ],
        );
        assert_eq!((state.status, state.captured_minor), (S::Captured, 100));
        assert_eq!(
            outcomes[0],
            Transition::Applied {
                next: PledgeState {
                    status: S::PaymentFailed,
                    ..PledgeState::new(100)
                },
                skipped: vec![]
            }
        );
        assert_eq!(outcomes[1], Transition::Stale);
        assert_eq!(
            outcomes[2],
            Transition::Applied {
                next: state,
                skipped: vec![S::Authorized]
            }
        );
        assert_eq!(outcomes[3], Transition::Stale);
    }

    #[test]
    fn a_cancellation_is_terminal_and_contradictions_are_kept_for_an_operator() {
        let (state, outcomes) = run(
            100,
            &[
                E::Failed,
                E::Canceled,
                E::Captured {
                    captured_minor: 100,
                },
                E::Authorized,
                E::Canceled,
            ],
        );
        assert_eq!(state.status, S::Canceled);
        assert!(matches!(outcomes[2], Transition::Invalid { .. }));
        assert!(matches!(outcomes[3], Transition::Invalid { .. }));
        assert_eq!(outcomes[4], Transition::Stale);
        let (state, outcomes) = run(
            100,
            &[
                E::Captured {
                    captured_minor: 100,
                },
                E::Failed,
                E::Canceled,
            ],
        );
        assert_eq!(state.status, S::Captured);
        assert_eq!(outcomes[1], Transition::Stale);
        assert!(matches!(outcomes[2], Transition::Invalid { .. }));
    }

    #[test]
    fn a_seen_event_is_a_duplicate_whatever_it_says() {
        assert_eq!(
            decide(&PledgeState::new(5), &E::Authorized, true),
            Transition::Duplicate
        );
    }

    /// One report from the provider about a payment: a step of the payment itself, of
    /// one of its refunds, or of its dispute.
    #[derive(Debug, Clone, Copy)]
    enum Report {
        Payment(PaymentEvent),
        Refund(usize, RefundStatus),
        Dispute(DisputeReport),
    }

    /// What the app knows of one payment after the reports so far.
    #[derive(Debug, Clone, PartialEq)]
    struct Known {
        state: PledgeState,
        refunds: Vec<(u64, RefundStatus)>,
        dispute: Option<(u64, DisputeState)>,
    }

    impl Known {
        fn new(amount: u64, refunds: &[u64], dispute: Option<u64>) -> Known {
            Known {
                state: PledgeState::new(amount),
                refunds: refunds
                    .iter()
                    .map(|a| (*a, RefundStatus::Requested))
                    .collect(),
                dispute: dispute.map(|a| (a, DisputeState::NEW)),
            }
        }

        fn apply(&mut self, report: &Report) {
            match *report {
                Report::Payment(event) => {
                    if let Transition::Applied { next, .. } = decide(&self.state, &event, false) {
                        self.state = next;
                    }
                }
                Report::Refund(i, reported) => {
                    let status = &mut self.refunds[i].1;
                    *status = status.advance(reported).unwrap_or(*status);
                }
                Report::Dispute(reported) => {
                    let (_, dispute) = self
                        .dispute
                        .as_mut()
                        .expect("dispute report without a dispute");
                    if let DisputeChange::Applied(next) = dispute.apply(reported) {
                        *dispute = next;
                    }
                }
            }
            let back = MoneyBack {
                refunded_minor: self
                    .refunds
                    .iter()
                    .filter(|(_, s)| s.is_refunded())
                    .map(|(a, _)| a)
                    .sum(),
                disputed_minor: self.dispute.map_or(0, |(a, d)| d.withdrawn_minor(a)),
            };
            self.state =
                settle(&self.state, back).expect("a provider's amounts always fit the capture");
        }
    }

    /// A history a real provider can produce for one payment, in causal order, with the
    /// refund amounts and the dispute amount it involves.
    fn provider_history() -> impl Strategy<Value = (Known, Vec<Report>)> {
        let refund = (1u64..=100, 0usize..4);
        (
            1u64..1_000_000,
            0usize..5,
            prop::collection::vec(refund, 0..4),
            prop::option::of((any::<bool>(), any::<bool>())),
        )
            .prop_map(|(amount, outcome, refund_plan, dispute_plan)| {
                use DisputeFunds::*;
                use DisputeStatus::*;
                let payment =
                    |events: &[PaymentEvent]| events.iter().map(|e| Report::Payment(*e)).collect();
                let mut reports: Vec<Report> = match outcome {
                    0 => payment(&[E::Failed, E::Failed, E::Canceled]),
                    1 => payment(&[E::Authorized, E::Canceled]),
                    2 => payment(&[E::Failed]),
                    // Possibly declined first, then paid with another card.
                    _ => payment(&[E::Failed, E::Authorized][outcome - 3..]),
                };
                if outcome < 3 {
                    return (Known::new(amount, &[], None), reports);
                }
                reports.push(Report::Payment(E::Captured {
                    captured_minor: amount,
                }));
                let mut refunds = Vec::new();
                let mut remaining = amount;
                for (i, (step, fate)) in refund_plan.into_iter().enumerate() {
                    if remaining == 0 {
                        break;
                    }
                    let refund = (remaining * step / 100).max(1);
                    remaining -= refund;
                    refunds.push(refund);
                    let steps: &[RefundStatus] = match fate {
                        0 => &[RefundStatus::Succeeded],
                        1 => &[RefundStatus::Pending, RefundStatus::Succeeded],
                        2 => &[RefundStatus::Succeeded, RefundStatus::Failed],
                        _ => &[RefundStatus::Pending, RefundStatus::Failed],
                    };
                    reports.extend(steps.iter().map(|s| Report::Refund(i, *s)));
                }
                let dispute = match dispute_plan {
                    Some((withdrawn, won)) if remaining > 0 => {
                        let step = |status, funds| Report::Dispute(DisputeReport { status, funds });
                        reports.push(step(Some(Open), None));
                        if withdrawn {
                            reports.push(step(None, Some(Withdrawn)));
                        }
                        reports.push(step(Some(UnderReview), None));
                        reports.push(step(Some(if won { Won } else { Lost }), None));
                        if won && withdrawn {
                            reports.push(step(None, Some(Reinstated)));
                        }
                        Some(remaining)
                    }
                    _ => None,
                };
                (Known::new(amount, &refunds, dispute), reports)
            })
    }

    proptest! {
        #[test]
        fn any_delivery_order_converges_to_the_providers_final_state(
            (start, history, delivery) in provider_history().prop_flat_map(|(start, history)| {
                let extra = prop::collection::vec(prop::sample::select(history.clone()), 0..6);
                let delivered = extra
                    .prop_map({
                        let history = history.clone();
                        move |extra| history.iter().copied().chain(extra).collect::<Vec<_>>()
                    })
                    .prop_shuffle();
                (Just(start), Just(history), delivered)
            })
        ) {
            let mut expected = start.clone();
            for report in &history {
                expected.apply(report);
            }
            let mut known = start;
            for report in &delivery {
                let before = known.state;
                known.apply(report);
                let state = known.state;
                // The payment never goes back; money out never exceeds money in.
                prop_assert!(state.captured_minor >= before.captured_minor);
                prop_assert!(state.refunded_minor + state.disputed_minor <= state.captured_minor);
                prop_assert!(state.captured_minor <= state.amount_minor);
                if before.status.is_captured() {
                    prop_assert!(state.status.is_captured());
                }
                if before.status.is_terminal() {
                    prop_assert_eq!(state.status, before.status);
                }
            }
            prop_assert_eq!(known, expected);
        }

        #[test]
        fn decide_never_applies_an_impossible_amount(status in prop::sample::select(PledgeStatus::ALL.to_vec()), amount in 1u64..1000, captured in 0u64..2000) {
            let state = PledgeState { captured_minor: if status.is_captured() { amount } else { 0 }, status, ..PledgeState::new(amount) };
            if let Transition::Applied { next, .. } = decide(&state, &E::Captured { captured_minor: captured }, false) {
                prop_assert!(next.captured_minor <= amount && next.captured_minor > 0);
            }
        }

        #[test]
        fn settle_never_shows_more_out_than_in(amount in 1u64..1000, refunded in 0u64..2000, disputed in 0u64..2000) {
            let captured = PledgeState { status: PledgeStatus::Captured, captured_minor: amount, ..PledgeState::new(amount) };
            match settle(&captured, MoneyBack { refunded_minor: refunded, disputed_minor: disputed }) {
                Ok(next) => prop_assert!(next.refunded_minor + next.disputed_minor <= next.captured_minor && next.status.is_captured()),
                Err(_) => prop_assert!(refunded + disputed > amount),
            }
        }
    }
}

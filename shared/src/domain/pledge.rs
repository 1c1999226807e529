//! The pledge state machine. Order comes from the lattice, never from timestamps:
//!
//! ```text
//! PENDING ──► PAYMENT_FAILED ──► AUTHORIZED ──► CAPTURED ──► PARTIALLY_REFUNDED ──► REFUNDED
//! PENDING | PAYMENT_FAILED | AUTHORIZED ──► CANCELED   (terminal; releases "pledged")
//! ```
//!
//! A declined card is not the end: the donor may try another card on the same payment,
//! so PAYMENT_FAILED sits below AUTHORIZED and a later success applies, while a failure
//! reported after the success is stale. An event at or behind the current state is
//! stale; one that skips ahead is applied and the skipped states it implies are recorded
//! (a capture implies an authorization, never a failure); one that contradicts a
//! cancellation is invalid and kept for an operator. Refund events carry the cumulative
//! refunded amount, so they commute.

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

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Refunded | Self::Canceled)
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
    Captured {
        captured_minor: u64,
    },
    Failed,
    Canceled,
    /// `refunded_minor` is the cumulative amount refunded so far.
    Refunded {
        captured_minor: u64,
        refunded_minor: u64,
    },
}

/// The money-relevant state of one pledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PledgeState {
    pub status: PledgeStatus,
    pub amount_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
}

impl PledgeState {
    pub fn new(amount_minor: u64) -> Self {
        PledgeState {
            status: PledgeStatus::Pending,
            amount_minor,
            captured_minor: 0,
            refunded_minor: 0,
        }
    }

    /// What this pledge contributes to its campaign's raised total.
    pub fn net_minor(&self) -> u64 {
        self.captured_minor - self.refunded_minor
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
        PaymentEvent::Refunded {
            captured_minor,
            refunded_minor,
        } => {
            if captured_minor == 0
                || captured_minor > state.amount_minor
                || refunded_minor == 0
                || refunded_minor > captured_minor
            {
                return invalid(format!(
                    "refunded {refunded_minor} of {captured_minor} captured on a pledge of {}",
                    state.amount_minor
                ));
            }
            if current.is_captured() && captured_minor != state.captured_minor {
                return invalid(format!(
                    "refund reports {captured_minor} captured, the pledge has {}",
                    state.captured_minor
                ));
            }
            match current {
                Canceled => invalid("refund reported for a CANCELED pledge"),
                _ if refunded_minor <= state.refunded_minor => Transition::Stale,
                _ => {
                    let status = if refunded_minor == captured_minor {
                        Refunded
                    } else {
                        PartiallyRefunded
                    };
                    let next = PledgeState {
                        captured_minor,
                        refunded_minor,
                        ..*state
                    };
                    if current == PartiallyRefunded && status == PartiallyRefunded {
                        // Same state, more money back: applied without a status change.
                        Transition::Applied {
                            next: PledgeState { status, ..next },
                            skipped: Vec::new(),
                        }
                    } else {
                        forward(status, next)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentEvent as E;
    use super::PledgeStatus as S;
    use super::*;
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
    fn refunds_accumulate_and_never_exceed_the_capture() {
        let captured = E::Captured {
            captured_minor: 1000,
        };
        let (state, _) = run(
            1000,
            &[
                captured,
                E::Refunded {
                    captured_minor: 1000,
                    refunded_minor: 300,
                },
            ],
        );
        assert_eq!(
            (state.status, state.net_minor()),
            (S::PartiallyRefunded, 700)
        );
        let (state, outcomes) = run(
            1000,
            &[
                captured,
                E::Refunded {
                    captured_minor: 1000,
                    refunded_minor: 1000,
                },
                E::Refunded {
                    captured_minor: 1000,
                    refunded_minor: 300,
                },
            ],
        );
        assert_eq!((state.status, state.net_minor()), (S::Refunded, 0));
        assert_eq!(outcomes[2], Transition::Stale);
        let over = decide(
            &state,
            &E::Refunded {
                captured_minor: 1000,
                refunded_minor: 1001,
            },
            false,
        );
        assert!(matches!(over, Transition::Invalid { .. }));
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

    /// A history a real provider can produce for one payment, in causal order.
    fn provider_history() -> impl Strategy<Value = (u64, Vec<PaymentEvent>)> {
        (
            1u64..1_000_000,
            0usize..5,
            prop::collection::vec(1u64..=100, 0..4),
        )
            .prop_map(|(amount, outcome, refund_steps)| {
                let events = match outcome {
                    0 => vec![E::Failed, E::Failed, E::Canceled],
                    1 => vec![E::Authorized, E::Canceled],
                    2 => vec![E::Failed],
                    _ => {
                        // Possibly declined first, then paid with another card.
                        let mut events = vec![E::Failed, E::Authorized][outcome - 3..].to_vec();
                        events.push(E::Captured {
                            captured_minor: amount,
                        });
                        let mut refunded = 0u64;
                        for step in refund_steps {
                            let remaining = amount - refunded;
                            if remaining == 0 {
                                break;
                            }
                            refunded += (remaining * step / 100).max(1);
                            events.push(E::Refunded {
                                captured_minor: amount,
                                refunded_minor: refunded,
                            });
                        }
                        events
                    }
                };
                (amount, events)
            })
    }

    /// The history delivered with duplicates and in a shuffled order.
    fn delivered() -> impl Strategy<Value = (u64, Vec<PaymentEvent>, Vec<PaymentEvent>)> {
        provider_history().prop_flat_map(|(amount, events)| {
            let with_dups = prop::collection::vec(prop::sample::select(events.clone()), 0..6)
                .prop_map({
                    let events = events.clone();
                    move |extra| events.iter().copied().chain(extra).collect::<Vec<_>>()
                })
                .prop_shuffle();
            (Just(amount), Just(events), with_dups)
        })
    }

    proptest! {
        #[test]
        fn any_delivery_order_converges_to_the_providers_final_state((amount, history, delivery) in delivered()) {
            let (expected, _) = run(amount, &history);
            let mut state = PledgeState::new(amount);
            for event in &delivery {
                let before = state;
                if let Transition::Applied { next, .. } = decide(&state, event, false) {
                    state = next;
                }
                // Never backwards: rank, capture and refund only grow.
                prop_assert!(state.status.rank() >= before.status.rank() || before.status.rank().is_some() && state.status.rank().is_none());
                prop_assert!(state.captured_minor >= before.captured_minor);
                prop_assert!(state.refunded_minor >= before.refunded_minor);
                prop_assert!(state.refunded_minor <= state.captured_minor && state.captured_minor <= amount);
                if before.status.is_terminal() && !matches!(before.status, S::PartiallyRefunded) {
                    prop_assert_eq!(state.status, before.status);
                }
            }
            prop_assert_eq!(state, expected);
        }

        #[test]
        fn decide_never_applies_an_impossible_amount(status in prop::sample::select(PledgeStatus::ALL.to_vec()), amount in 1u64..1000, captured in 0u64..2000, refunded in 0u64..2000) {
            let state = PledgeState { status, amount_minor: amount, captured_minor: if status.is_captured() { amount } else { 0 }, refunded_minor: 0 };
            for event in [E::Captured { captured_minor: captured }, E::Refunded { captured_minor: captured, refunded_minor: refunded }] {
                if let Transition::Applied { next, .. } = decide(&state, &event, false) {
                    prop_assert!(next.refunded_minor <= next.captured_minor && next.captured_minor <= amount);
                }
            }
        }
    }
}

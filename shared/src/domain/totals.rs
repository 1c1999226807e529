//! Campaign totals as the relay keeps them. Each pledge contributes according to its
//! newest known state; a newer snapshot of a pledge moves the totals by the difference
//! between what the old and the new snapshot contribute. Applying snapshots this way is
//! idempotent and order-independent: a duplicate or a late (reordered) event is older
//! than what is already applied and changes nothing, and the totals always equal the sum
//! over real pledge states, so `raised` can never go negative.

use super::pledge::{PledgeState, PledgeStatus};
use serde::Serialize;

/// A pledge's state at one version, as an outbox event reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub version: u64,
    pub state: PledgeState,
}

/// What one pledge adds to its campaign's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contribution {
    pub pledged_minor: i128,
    pub pledge_count: i128,
    pub captured_minor: i128,
    pub refunded_minor: i128,
    pub disputed_minor: i128,
    pub captured_count: i128,
}

impl Contribution {
    /// Canceled pledges promise nothing; every other pledge counts as pledged, a
    /// declined one too (its donor may still pay with another card).
    pub fn of(state: &PledgeState) -> Contribution {
        let open = state.status != PledgeStatus::Canceled;
        Contribution {
            pledged_minor: if open { state.amount_minor.into() } else { 0 },
            pledge_count: open.into(),
            captured_minor: state.captured_minor.into(),
            refunded_minor: state.refunded_minor.into(),
            disputed_minor: state.disputed_minor.into(),
            captured_count: (state.captured_minor > 0).into(),
        }
    }

    fn minus(self, other: Contribution) -> Contribution {
        Contribution {
            pledged_minor: self.pledged_minor - other.pledged_minor,
            pledge_count: self.pledge_count - other.pledge_count,
            captured_minor: self.captured_minor - other.captured_minor,
            refunded_minor: self.refunded_minor - other.refunded_minor,
            disputed_minor: self.disputed_minor - other.disputed_minor,
            captured_count: self.captured_count - other.captured_count,
        }
    }
}

impl std::ops::Add for Contribution {
    type Output = Contribution;

    fn add(self, other: Contribution) -> Contribution {
        Contribution {
            pledged_minor: self.pledged_minor + other.pledged_minor,
            pledge_count: self.pledge_count + other.pledge_count,
            captured_minor: self.captured_minor + other.captured_minor,
            refunded_minor: self.refunded_minor + other.refunded_minor,
            disputed_minor: self.disputed_minor + other.disputed_minor,
            captured_count: self.captured_count + other.captured_count,
        }
    }
}

/// The effect of applying a snapshot over the one already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advance {
    pub delta: Contribution,
    /// The pledge has money captured for the first time (receipt, donor count).
    pub first_capture: bool,
    /// A payment attempt of the pledge has just been declined (for the first time).
    pub failed: bool,
}

/// `Some` when `next` is newer than `applied` (None: nothing applied yet), else `None`:
/// the event is a duplicate or arrived after a newer one and must change nothing.
pub fn advance(applied: Option<&Snapshot>, next: &Snapshot) -> Option<Advance> {
    if applied.is_some_and(|a| a.version >= next.version) {
        return None;
    }
    let before = applied.map(|a| a.state);
    let was_captured = before.is_some_and(|s| s.captured_minor > 0);
    let was_failed = before.is_some_and(|s| s.status == PledgeStatus::PaymentFailed);
    Some(Advance {
        delta: Contribution::of(&next.state).minus(
            before
                .as_ref()
                .map_or_else(Contribution::default, Contribution::of),
        ),
        first_capture: !was_captured && next.state.captured_minor > 0,
        failed: !was_failed && next.state.status == PledgeStatus::PaymentFailed,
    })
}

/// One campaign's totals, all in minor units of the campaign's currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Totals {
    pub pledged_minor: u64,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    /// Withdrawn by disputes (chargebacks) not reinstated.
    pub disputed_minor: u64,
    pub pledge_count: u64,
    pub captured_count: u64,
    pub donor_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("totals would become impossible ({field} = {value}): an event was applied twice or lost")]
pub struct ImpossibleTotals {
    pub field: &'static str,
    pub value: i128,
}

impl Totals {
    /// Σ captured − Σ refunded − Σ disputed.
    pub fn raised_minor(&self) -> u64 {
        self.captured_minor - self.refunded_minor - self.disputed_minor
    }

    /// The totals after adding `delta` and `new_donors`; refuses any result no set of
    /// real pledges could have.
    pub fn with(&self, delta: Contribution, new_donors: u64) -> Result<Totals, ImpossibleTotals> {
        let now = Contribution {
            pledged_minor: self.pledged_minor.into(),
            pledge_count: self.pledge_count.into(),
            captured_minor: self.captured_minor.into(),
            refunded_minor: self.refunded_minor.into(),
            disputed_minor: self.disputed_minor.into(),
            captured_count: self.captured_count.into(),
        } + delta;
        let field = |field: &'static str, value: i128| {
            u64::try_from(value).map_err(|_| ImpossibleTotals { field, value })
        };
        let totals = Totals {
            pledged_minor: field("pledged_minor", now.pledged_minor)?,
            captured_minor: field("captured_minor", now.captured_minor)?,
            refunded_minor: field("refunded_minor", now.refunded_minor)?,
            disputed_minor: field("disputed_minor", now.disputed_minor)?,
            pledge_count: field("pledge_count", now.pledge_count)?,
            captured_count: field("captured_count", now.captured_count)?,
            donor_count: self.donor_count + new_donors,
        };
        let raised = now.captured_minor - now.refunded_minor - now.disputed_minor;
        if raised < 0 {
            return Err(ImpossibleTotals {
                field: "raised_minor",
                value: raised,
            });
        }
        Ok(totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A pledge's life as the versions it goes through, following the state machine.
    fn life() -> impl Strategy<Value = Vec<Snapshot>> {
        (
            1u64..10_000,
            0u8..6,
            prop::collection::vec(1u64..10_000, 0..4),
        )
            .prop_map(|(amount, path, refunds)| {
                let mut states = vec![PledgeState::new(amount)];
                let with = |status, captured, refunded| PledgeState {
                    status,
                    captured_minor: captured,
                    refunded_minor: refunded,
                    ..PledgeState::new(amount)
                };
                match path {
                    0 => states.push(with(PledgeStatus::PaymentFailed, 0, 0)),
                    1 => states.push(with(PledgeStatus::Authorized, 0, 0)),
                    2 => states.push(with(PledgeStatus::Canceled, 0, 0)),
                    _ => {
                        states.push(with(PledgeStatus::Captured, amount, 0));
                        if path == 4 {
                            // Disputed and lost, then the dispute's funds stay withdrawn.
                            states.push(PledgeState {
                                disputed_minor: amount,
                                ..with(PledgeStatus::Captured, amount, 0)
                            });
                            return snapshots(states);
                        }
                        let mut refunded = 0;
                        for r in refunds {
                            refunded = (refunded + r).min(amount);
                            let status = if refunded == amount {
                                PledgeStatus::Refunded
                            } else {
                                PledgeStatus::PartiallyRefunded
                            };
                            states.push(with(status, amount, refunded));
                            if refunded == amount {
                                break;
                            }
                        }
                    }
                }
                snapshots(states)
            })
    }

    fn snapshots(states: Vec<PledgeState>) -> Vec<Snapshot> {
        states
            .into_iter()
            .enumerate()
            .map(|(i, state)| Snapshot {
                version: i as u64 + 1,
                state,
            })
            .collect()
    }

    proptest! {
        /// Every snapshot delivered once or twice, in any order: after all are applied the
        /// totals equal the final states' sum, and at every moment they equal the sum of
        /// real states (so raised is never negative).
        #[test]
        fn any_order_and_duplicates_give_exact_totals(
            lives in prop::collection::vec(life(), 1..6),
            copies in prop::collection::vec(1usize..3, 30),
            seed in any::<u64>(),
        ) {
            let mut deliveries: Vec<(usize, Snapshot)> = Vec::new();
            for (pledge, life) in lives.iter().enumerate() {
                for (i, snap) in life.iter().enumerate() {
                    for _ in 0..copies[(pledge * 7 + i) % copies.len()] {
                        deliveries.push((pledge, *snap));
                    }
                }
            }
            let mut rng = seed;
            for i in (1..deliveries.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                deliveries.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let mut applied: Vec<Option<Snapshot>> = vec![None; lives.len()];
            let mut totals = Totals::default();
            for (pledge, snap) in deliveries {
                if let Some(step) = advance(applied[pledge].as_ref(), &snap) {
                    totals = totals.with(step.delta, 0).expect("totals stay possible");
                    applied[pledge] = Some(snap);
                }
                let expected = applied.iter().flatten().fold(Contribution::default(), |sum, s| sum + Contribution::of(&s.state));
                prop_assert_eq!(i128::from(totals.raised_minor()), expected.captured_minor - expected.refunded_minor - expected.disputed_minor);
                prop_assert_eq!(i128::from(totals.pledged_minor), expected.pledged_minor);
            }
            let finals: Vec<PledgeState> = lives.iter().map(|l| l.last().unwrap().state).collect();
            prop_assert_eq!(totals.raised_minor(), finals.iter().map(PledgeState::net_minor).sum::<u64>());
            prop_assert_eq!(totals.captured_count, finals.iter().filter(|s| s.captured_minor > 0).count() as u64);
        }
    }

    #[test]
    fn the_same_version_twice_is_a_duplicate() {
        let snap = Snapshot {
            version: 2,
            state: PledgeState::new(500),
        };
        assert!(advance(Some(&snap), &snap).is_none());
    }

    #[test]
    fn a_capture_counts_once_even_when_its_refund_came_first() {
        let captured = PledgeState {
            status: PledgeStatus::Captured,
            captured_minor: 1000,
            ..PledgeState::new(1000)
        };
        let refunded = PledgeState {
            status: PledgeStatus::PartiallyRefunded,
            refunded_minor: 400,
            ..captured
        };
        let late = advance(
            None,
            &Snapshot {
                version: 3,
                state: refunded,
            },
        )
        .unwrap();
        assert!(late.first_capture);
        let totals = Totals::default().with(late.delta, 1).unwrap();
        assert_eq!(totals.raised_minor(), 600);
        let applied = Snapshot {
            version: 3,
            state: refunded,
        };
        assert!(advance(
            Some(&applied),
            &Snapshot {
                version: 2,
                state: captured
            }
        )
        .is_none());
    }

    #[test]
    fn impossible_totals_name_the_field() {
        let delta = Contribution {
            refunded_minor: 5,
            ..Contribution::default()
        };
        let err = Totals::default().with(delta, 0).unwrap_err();
        assert_eq!(err.field, "raised_minor");
    }
}

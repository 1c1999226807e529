//! A dispute (chargeback) on a captured payment. The provider reports its review and,
//! separately, the money: it withdraws the disputed amount from the platform, and
//! reinstates it if the dispute is won. The books follow the money, not the review: a
//! dispute counts against a campaign's raised total exactly while its funds are
//! withdrawn. Both parts only move forward, so late and repeated reports change nothing.
//!
//! ```text
//! review: OPEN ──► UNDER_REVIEW ──► WON | LOST
//! funds:  HELD ──► WITHDRAWN ──► REINSTATED
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// The platform has to answer with evidence.
    Open,
    UnderReview,
    Won,
    Lost,
}

impl DisputeStatus {
    pub const ALL: [DisputeStatus; 4] = [Self::Open, Self::UnderReview, Self::Won, Self::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::UnderReview => "under_review",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Reads a Stripe dispute's `status` (inquiries, `warning_*`, map to the same steps;
    /// a closed inquiry took no money, like a won dispute).
    pub fn from_provider(s: &str) -> Option<Self> {
        match s {
            "needs_response" | "warning_needs_response" => Some(Self::Open),
            "under_review" | "warning_under_review" => Some(Self::UnderReview),
            "won" | "warning_closed" => Some(Self::Won),
            "lost" => Some(Self::Lost),
            _ => None,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Open => 0,
            Self::UnderReview => 1,
            Self::Won | Self::Lost => 2,
        }
    }

    pub fn is_closed(self) -> bool {
        self.rank() == 2
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeFunds {
    /// Nothing has been taken from the platform (yet).
    Held,
    Withdrawn,
    Reinstated,
}

impl DisputeFunds {
    pub const ALL: [DisputeFunds; 3] = [Self::Held, Self::Withdrawn, Self::Reinstated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Withdrawn => "withdrawn",
            Self::Reinstated => "reinstated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What is known of one dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DisputeState {
    pub status: DisputeStatus,
    pub funds: DisputeFunds,
}

/// One report from the provider: a review step, a money movement, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisputeReport {
    pub status: Option<DisputeStatus>,
    pub funds: Option<DisputeFunds>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisputeChange {
    Applied(DisputeState),
    /// At or behind what is known.
    Stale,
    /// A won dispute reported lost, or the other way round: kept for an operator.
    Contradicts(String),
}

impl DisputeState {
    pub const NEW: DisputeState = DisputeState {
        status: DisputeStatus::Open,
        funds: DisputeFunds::Held,
    };

    pub fn apply(self, report: DisputeReport) -> DisputeChange {
        let status = match report.status {
            Some(s) if self.status.is_closed() && s.is_closed() && s != self.status => {
                return DisputeChange::Contradicts(format!(
                    "dispute reported {} after it was {}",
                    s.as_str(),
                    self.status.as_str()
                ))
            }
            Some(s) if s.rank() > self.status.rank() => s,
            _ => self.status,
        };
        let funds = report.funds.map_or(self.funds, |f| f.max(self.funds));
        let next = DisputeState { status, funds };
        if next == self {
            DisputeChange::Stale
        } else {
            DisputeChange::Applied(next)
        }
    }

    /// What this dispute takes from the raised total now.
    pub fn withdrawn_minor(self, amount_minor: u64) -> u64 {
        if self.funds == DisputeFunds::Withdrawn {
            amount_minor
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn report(status: Option<DisputeStatus>, funds: Option<DisputeFunds>) -> DisputeReport {
        DisputeReport { status, funds }
    }

    #[test]
    fn a_lost_dispute_keeps_the_money_withdrawn_and_a_won_one_gives_it_back() {
        let opened = DisputeState::NEW;
        let DisputeChange::Applied(withdrawn) =
            opened.apply(report(None, Some(DisputeFunds::Withdrawn)))
        else {
            panic!("withdrawal not applied")
        };
        assert_eq!(withdrawn.withdrawn_minor(700), 700);
        let DisputeChange::Applied(lost) = withdrawn.apply(report(Some(DisputeStatus::Lost), None))
        else {
            panic!("loss not applied")
        };
        assert_eq!(lost.withdrawn_minor(700), 700);
        let DisputeChange::Applied(won) = withdrawn.apply(report(
            Some(DisputeStatus::Won),
            Some(DisputeFunds::Reinstated),
        )) else {
            panic!("win not applied")
        };
        assert_eq!(won.withdrawn_minor(700), 0);
        assert!(matches!(
            won.apply(report(Some(DisputeStatus::Lost), None)),
            DisputeChange::Contradicts(_)
        ));
        assert_eq!(
            won.apply(report(
                Some(DisputeStatus::Open),
                Some(DisputeFunds::Withdrawn)
            )),
            DisputeChange::Stale
        );
    }

    /// A dispute's reports in the order a provider sends them.
    fn history() -> impl Strategy<Value = Vec<DisputeReport>> {
        (any::<bool>(), any::<bool>()).prop_map(|(withdrawn, won)| {
            let mut reports = vec![report(Some(DisputeStatus::Open), None)];
            if withdrawn {
                reports.push(report(None, Some(DisputeFunds::Withdrawn)));
            }
            reports.push(report(Some(DisputeStatus::UnderReview), None));
            if won {
                reports.push(report(Some(DisputeStatus::Won), None));
                if withdrawn {
                    reports.push(report(None, Some(DisputeFunds::Reinstated)));
                }
            } else {
                reports.push(report(Some(DisputeStatus::Lost), None));
            }
            reports
        })
    }

    fn fold(reports: &[DisputeReport]) -> DisputeState {
        reports
            .iter()
            .fold(DisputeState::NEW, |s, r| match s.apply(*r) {
                DisputeChange::Applied(next) => next,
                _ => s,
            })
    }

    proptest! {
        #[test]
        fn any_delivery_order_ends_where_the_provider_did(
            (ordered, delivered) in history().prop_flat_map(|h| {
                let copies = h.iter().chain(h.iter()).copied().collect::<Vec<_>>();
                (Just(h), Just(copies).prop_shuffle())
            })
        ) {
            prop_assert_eq!(fold(&delivered), fold(&ordered));
        }
    }
}

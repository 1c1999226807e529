//! Campaigns: what donors give to. Created and changed by admins only.

use super::money::{Currency, PositiveAmount};
use super::text::BoundedText;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub type CampaignTitle = BoundedText<200, false>;
pub type CampaignDescription = BoundedText<5000, true>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    Active,
    Paused,
    Closed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Paused => "PAUSED",
            Self::Closed => "CLOSED",
        }
    }

    /// Whether an admin may move a campaign from `self` to `next`. Closing is final:
    /// a closed campaign has settled its donations and cannot reopen.
    pub fn can_become(self, next: CampaignStatus) -> bool {
        self == next || self != CampaignStatus::Closed
    }

    /// Whether the campaign takes new pledges.
    pub fn accepts_pledges(self) -> bool {
        self == CampaignStatus::Active
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ACTIVE" => Ok(Self::Active),
            "PAUSED" => Ok(Self::Paused),
            "CLOSED" => Ok(Self::Closed),
            other => Err(format!("unknown campaign status `{other}`")),
        }
    }
}

/// A campaign as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub description: String,
    pub goal_minor: u64,
    pub currency: Currency,
    pub status: CampaignStatus,
    pub version: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A validated request to create a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub title: CampaignTitle,
    pub description: CampaignDescription,
    pub goal: PositiveAmount,
    pub currency: Currency,
    pub status: CampaignStatus,
}

/// A validated partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CampaignPatch {
    pub title: Option<CampaignTitle>,
    pub description: Option<CampaignDescription>,
    pub goal: Option<PositiveAmount>,
    pub status: Option<CampaignStatus>,
}

impl CampaignPatch {
    pub fn is_empty(&self) -> bool {
        self == &CampaignPatch::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus::*;

    #[test]
    fn closed_is_final_and_others_move_freely() {
        for from in [Active, Paused] {
            for to in [Active, Paused, Closed] {
                assert!(from.can_become(to), "{from} -> {to}");
            }
        }
        assert!(Closed.can_become(Closed));
        assert!(!Closed.can_become(Active));
        assert!(!Closed.can_become(Paused));
    }

    #[test]
    fn only_active_campaigns_take_pledges() {
        assert!(Active.accepts_pledges());
        assert!(!Paused.accepts_pledges());
        assert!(!Closed.accepts_pledges());
    }
}

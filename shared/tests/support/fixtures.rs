//! Data the store tests start from: a USD campaign, pledges with an attached payment,
//! counts, and a reproducible shuffle.

use careforall::domain::campaign::{
    CampaignDescription, CampaignStatus, CampaignTitle, NewCampaign,
};
use careforall::domain::donor::{Donor, Email};
use careforall::domain::money::{Currency, PositiveAmount};
use careforall::storage::pledges::{self, NewPledge};
use careforall::storage::{campaigns, tx::transaction, SqlExecutor};

/// An ACTIVE USD campaign with this id and goal; returns its id.
pub fn campaign(db: &dyn SqlExecutor, id: &str, goal: u64) -> String {
    let new = NewCampaign {
        title: CampaignTitle::parse("Clinic").unwrap(),
        description: CampaignDescription::parse("").unwrap(),
        goal: PositiveAmount::new(goal).unwrap(),
        currency: Currency::parse("USD").unwrap(),
        status: CampaignStatus::Active,
    };
    campaigns::insert(db, id, &new, 1).unwrap().id
}

/// A named-by-email, non-anonymous donor.
pub fn donor(email: &str) -> Donor {
    Donor {
        email: Email::parse(email).unwrap(),
        name: None,
        anonymous: false,
    }
}

/// A PENDING pledge of `email` with its provider payment `pi_<id>` attached.
pub fn pledge(db: &dyn SqlExecutor, campaign_id: &str, id: &str, amount: u64, email: &str) {
    let donor = donor(email);
    transaction(db, || {
        pledges::insert(
            db,
            &NewPledge {
                id,
                campaign_id,
                amount: PositiveAmount::new(amount).unwrap(),
                currency: Currency::parse("USD").unwrap(),
                donor: &donor,
            },
            10,
        )?;
        pledges::attach_payment(db, id, &format!("pi_{id}"), 11)
    })
    .unwrap();
}

/// The `n` column of a `SELECT COUNT(*) AS n ...`.
pub fn count(db: &dyn SqlExecutor, sql: &str) -> i64 {
    db.query(sql, &[])
        .unwrap()
        .first()
        .unwrap()
        .i64("n")
        .unwrap()
}

/// A deterministic shuffle (xorshift), so a failure names a reproducible order.
pub fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

//! Pledge lists, newest first with keyset pagination on `seq`: a donor's own pledges,
//! every pledge (admin), and a campaign's public donation feed.

use super::pledges::{decode, Pledge, COLUMNS};
use super::{DbError, SqlExecutor, SqlValue};
use crate::domain::pledge::PledgeStatus;

/// One page, newest first: `before` is the `seq` the page starts below (`None`: newest).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub before: Option<i64>,
    pub limit: u32,
}

impl Page {
    fn bound(self) -> SqlValue {
        SqlValue::Integer(self.before.unwrap_or(i64::MAX))
    }

    /// Fetches one row more than asked to learn whether another page follows.
    fn fetch(self) -> SqlValue {
        SqlValue::Integer(i64::from(self.limit) + 1)
    }
}

fn page_of(
    db: &dyn SqlExecutor,
    filter: &str,
    params: &[SqlValue],
    page: Page,
) -> Result<(Vec<Pledge>, bool), DbError> {
    let n = params.len();
    let mut all: Vec<SqlValue> = params.to_vec();
    all.push(page.bound());
    all.push(page.fetch());
    let mut pledges = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM pledges WHERE {filter} seq < ?{} ORDER BY seq DESC LIMIT ?{}",
                n + 1,
                n + 2
            ),
            &all,
        )?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let more = pledges.len() > page.limit as usize;
    pledges.truncate(page.limit as usize);
    Ok((pledges, more))
}

pub fn for_email(
    db: &dyn SqlExecutor,
    email: &str,
    page: Page,
) -> Result<(Vec<Pledge>, bool), DbError> {
    page_of(db, "donor_email = ?1 AND", &[email.into()], page)
}

pub fn all(db: &dyn SqlExecutor, page: Page) -> Result<(Vec<Pledge>, bool), DbError> {
    page_of(db, "", &[], page)
}

/// A campaign's pledges whose money arrived (captured, possibly refunded since).
pub fn campaign_donations(
    db: &dyn SqlExecutor,
    campaign_id: &str,
    page: Page,
) -> Result<(Vec<Pledge>, bool), DbError> {
    let statuses = [
        PledgeStatus::Captured,
        PledgeStatus::PartiallyRefunded,
        PledgeStatus::Refunded,
    ]
    .map(|s| format!("'{}'", s.as_str()))
    .join(", ");
    page_of(
        db,
        &format!("campaign_id = ?1 AND status IN ({statuses}) AND"),
        &[campaign_id.into()],
        page,
    )
}

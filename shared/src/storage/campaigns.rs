//! Campaign repository over any [`SqlExecutor`].

use super::{DbError, Row, SqlExecutor, SqlValue};
use crate::domain::campaign::{Campaign, CampaignPatch, CampaignStatus, NewCampaign};
use crate::domain::money::Currency;

const COLUMNS: &str =
    "seq, id, title, description, goal_minor, currency, status, version, created_at_ms, updated_at_ms";

/// A campaign plus its position in the list, which pagination cursors refer to.
#[derive(Debug, Clone)]
pub struct Listed {
    pub seq: i64,
    pub campaign: Campaign,
}

fn decode(row: Row<'_>) -> Result<Listed, DbError> {
    let currency = row.text("currency")?;
    let status = row.text("status")?;
    Ok(Listed {
        seq: row.i64("seq")?,
        campaign: Campaign {
            id: row.text("id")?,
            title: row.text("title")?,
            description: row.text("description")?,
            goal_minor: row.u64("goal_minor")?,
            currency: Currency::parse(&currency).map_err(|e| DbError::Decode(e.to_string()))?,
            status: status.parse().map_err(DbError::Decode)?,
            version: row.u64("version")?,
            created_at_ms: row.i64("created_at_ms")?,
            updated_at_ms: row.i64("updated_at_ms")?,
        },
    })
}

fn single(
    db: &dyn SqlExecutor,
    sql: &str,
    params: &[SqlValue],
) -> Result<Option<Campaign>, DbError> {
    let rows = db.query(sql, params)?;
    rows.first()
        .map(decode)
        .transpose()
        .map(|l| l.map(|l| l.campaign))
}

pub fn insert(
    db: &dyn SqlExecutor,
    id: &str,
    new: &NewCampaign,
    now_ms: i64,
) -> Result<Campaign, DbError> {
    let sql = format!(
        "INSERT INTO campaigns (id, title, description, goal_minor, currency, status, version, created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7) RETURNING {COLUMNS}"
    );
    single(
        db,
        &sql,
        &[
            id.into(),
            new.title.as_str().into(),
            new.description.as_str().into(),
            SqlValue::Integer(new.goal.minor_units() as i64),
            new.currency.code().into(),
            new.status.as_str().into(),
            now_ms.into(),
        ],
    )?
    .ok_or_else(|| DbError::Other("INSERT ... RETURNING returned no row".into()))
}

pub fn get(db: &dyn SqlExecutor, id: &str) -> Result<Option<Campaign>, DbError> {
    single(
        db,
        &format!("SELECT {COLUMNS} FROM campaigns WHERE id = ?1"),
        &[id.into()],
    )
}

/// Up to `limit` campaigns after list position `after_seq` (oldest first), and whether
/// more follow.
pub fn list(
    db: &dyn SqlExecutor,
    after_seq: i64,
    limit: u32,
) -> Result<(Vec<Listed>, bool), DbError> {
    let rows = db.query(
        &format!("SELECT {COLUMNS} FROM campaigns WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
        &[after_seq.into(), SqlValue::Integer(i64::from(limit) + 1)],
    )?;
    let mut listed = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    let more = listed.len() > limit as usize;
    listed.truncate(limit as usize);
    Ok((listed, more))
}

/// Outcome of applying a patch.
#[derive(Debug)]
pub enum PatchOutcome {
    Updated(Campaign),
    NotFound,
    /// The requested status change is not allowed from the current status.
    InvalidTransition {
        from: CampaignStatus,
        to: CampaignStatus,
    },
    /// Someone else changed the campaign between our read and our write.
    Conflict,
}

pub fn patch(
    db: &dyn SqlExecutor,
    id: &str,
    patch: &CampaignPatch,
    now_ms: i64,
) -> Result<PatchOutcome, DbError> {
    let Some(current) = get(db, id)? else {
        return Ok(PatchOutcome::NotFound);
    };
    if let Some(to) = patch.status {
        if !current.status.can_become(to) {
            return Ok(PatchOutcome::InvalidTransition {
                from: current.status,
                to,
            });
        }
    }
    let sql = format!(
        "UPDATE campaigns SET title = ?1, description = ?2, goal_minor = ?3, status = ?4, \
         version = version + 1, updated_at_ms = ?5 WHERE id = ?6 AND version = ?7 RETURNING {COLUMNS}"
    );
    let updated = single(
        db,
        &sql,
        &[
            patch
                .title
                .as_ref()
                .map_or(current.title.as_str(), |t| t.as_str())
                .into(),
            patch
                .description
                .as_ref()
                .map_or(current.description.as_str(), |d| d.as_str())
                .into(),
            SqlValue::Integer(patch.goal.map_or(current.goal_minor, |g| g.minor_units()) as i64),
            patch.status.unwrap_or(current.status).as_str().into(),
            now_ms.into(),
            id.into(),
            SqlValue::Integer(current.version as i64),
        ],
    )?;
    Ok(updated.map_or(PatchOutcome::Conflict, PatchOutcome::Updated))
}

//! The relay's health as numbers: backlog, the age of the oldest unpublished event (the
//! relay lag), recent run durations, and the state of the outgoing queues.

use super::RunReport;
use crate::storage::{DbError, SqlExecutor, SqlValue};
use serde::Serialize;

/// Runs kept for the duration figures.
const RUNS_KEPT: i64 = 1000;
/// Runs the duration percentiles are taken over.
const RUNS_SAMPLED: i64 = 200;

/// Stores a run that did something (idle runs every second would only add noise).
pub fn record_run(db: &dyn SqlExecutor, run: &RunReport) -> Result<(), DbError> {
    let delivered = run.notifications.sent + run.feed.sent;
    let retried = run.notifications.retried + run.feed.retried;
    if run.claimed == 0 && delivered == 0 && retried == 0 {
        return Ok(());
    }
    let int = |v: u64| SqlValue::Integer(v as i64);
    let row = db.query(
        "INSERT INTO relay_runs (started_at_ms, duration_ms, events, applied, delivered, retried) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            run.started_at_ms.into(),
            run.duration_ms.into(),
            int(run.published),
            int(run.applied),
            int(delivered),
            int(retried),
        ],
    )?;
    let id = row.first().map(|r| r.i64("id")).transpose()?.unwrap_or(0);
    if id % 100 == 0 {
        db.execute(
            "DELETE FROM relay_runs WHERE id <= ?1",
            &[(id - RUNS_KEPT).into()],
        )?;
    }
    Ok(())
}

/// How far behind the relay is: the age of the oldest unpublished event (0 when idle).
pub fn lag_ms(db: &dyn SqlExecutor, now_ms: i64) -> Result<i64, DbError> {
    Ok(oldest_unpublished_at(db)?.map_or(0, |created| (now_ms - created).max(0)))
}

/// When the oldest unpublished event was written, if one waits: one index lookup.
pub fn oldest_unpublished_at(db: &dyn SqlExecutor) -> Result<Option<i64>, DbError> {
    db.query(
        "SELECT created_at_ms FROM outbox WHERE published_at_ms IS NULL ORDER BY id LIMIT 1",
        &[],
    )?
    .first()
    .map(|r| r.i64("created_at_ms"))
    .transpose()
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RelayHealth {
    /// Unpublished events.
    pub backlog: u64,
    /// Of those, how many a live lease currently holds.
    pub claimed: u64,
    pub oldest_unpublished_age_ms: i64,
    pub last_published_at_ms: Option<i64>,
    /// Events no consumer could apply within their attempts, set aside for an operator.
    pub dead_letters: u64,
    pub runs: RunStats,
    pub notifications: QueueStats,
    pub feed: QueueStats,
}

/// Durations of the most recent runs that did work.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunStats {
    pub sampled: u64,
    pub last_run_at_ms: Option<i64>,
    pub duration_p50_ms: i64,
    pub duration_p99_ms: i64,
    pub duration_max_ms: i64,
    pub events: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub oldest_pending_age_ms: i64,
}

/// Unpublished events, and how many of them a live lease holds.
pub fn backlog(db: &dyn SqlExecutor, now_ms: i64) -> Result<(u64, u64), DbError> {
    let rows = db.query(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN claimed_until_ms >= ?1 THEN 1 ELSE 0 END), 0) AS claimed \
         FROM outbox WHERE published_at_ms IS NULL",
        &[now_ms.into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?;
    Ok((row.u64("n")?, row.u64("claimed")?))
}

pub fn read(db: &dyn SqlExecutor, now_ms: i64) -> Result<RelayHealth, DbError> {
    let (backlog, claimed) = backlog(db, now_ms)?;
    // Newest ids first through the primary key, not a scan of every published event.
    let last_published = db.query(
        "SELECT published_at_ms AS at FROM outbox WHERE published_at_ms IS NOT NULL ORDER BY id DESC LIMIT 1",
        &[],
    )?;
    Ok(RelayHealth {
        backlog,
        claimed,
        oldest_unpublished_age_ms: lag_ms(db, now_ms)?,
        last_published_at_ms: last_published
            .first()
            .map(|r| r.opt_i64("at"))
            .transpose()?
            .flatten(),
        dead_letters: super::dead_letter::count(db)?,
        runs: run_stats(db)?,
        notifications: queue_stats(db, "notifications", now_ms)?,
        feed: queue_stats(db, "feed_deliveries", now_ms)?,
    })
}

pub fn run_stats(db: &dyn SqlExecutor) -> Result<RunStats, DbError> {
    let rows = db.query(
        "SELECT started_at_ms, duration_ms, events FROM relay_runs ORDER BY id DESC LIMIT ?1",
        &[RUNS_SAMPLED.into()],
    )?;
    let mut durations = Vec::new();
    let mut stats = RunStats::default();
    for row in rows.iter() {
        if stats.last_run_at_ms.is_none() {
            stats.last_run_at_ms = Some(row.i64("started_at_ms")?);
        }
        durations.push(row.i64("duration_ms")?);
        stats.events += row.u64("events")?;
    }
    durations.sort_unstable();
    let at = |q: f64| durations[((durations.len() - 1) as f64 * q).round() as usize];
    if !durations.is_empty() {
        stats.sampled = durations.len() as u64;
        stats.duration_p50_ms = at(0.5);
        stats.duration_p99_ms = at(0.99);
        stats.duration_max_ms = at(1.0);
    }
    Ok(stats)
}

fn queue_stats(db: &dyn SqlExecutor, table: &str, now_ms: i64) -> Result<QueueStats, DbError> {
    let rows = db.query(
        &format!("SELECT status, COUNT(*) AS n, MIN(created_at_ms) AS oldest FROM {table} GROUP BY status"),
        &[],
    )?;
    let mut stats = QueueStats::default();
    for row in rows.iter() {
        let n = row.u64("n")?;
        match row.text("status")?.as_str() {
            "pending" => {
                stats.pending = n;
                stats.oldest_pending_age_ms =
                    row.opt_i64("oldest")?.map_or(0, |t| (now_ms - t).max(0));
            }
            "sent" => stats.sent = n,
            _ => stats.failed = n,
        }
    }
    Ok(stats)
}

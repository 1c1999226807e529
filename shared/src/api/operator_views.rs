//! The operators' views (admin only, paginated): `GET /api/v1/admin/stuck-pledges`
//! (pending or authorized for longer than `older_than_secs`, default 15 minutes),
//! `GET /api/v1/admin/webhooks` (the provider's recent events, newest first, with what
//! each did) and `GET /api/v1/admin/dead-letters`.

use super::pagination::{encode_cursor, parse_page, parse_page_with};
use super::{ApiRequest, ApiResponse, ApiResult, Problem};
use crate::storage::operator_views::{self, Page};
use crate::storage::SqlExecutor;
use serde::Serialize;

pub const DEFAULT_STUCK_AFTER_SECS: i64 = 900;
/// Thirty days: beyond that, nothing is "recently" stuck and the provider has long given up.
pub const MAX_STUCK_AFTER_SECS: i64 = 30 * 24 * 3600;

/// The views this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    StuckPledges,
    Webhooks,
    DeadLetters,
}

impl View {
    /// The view named by the page after `/api/v1/admin/`.
    pub fn parse(page: &str) -> Option<Self> {
        match page {
            "stuck-pledges" => Some(View::StuckPledges),
            "webhooks" => Some(View::Webhooks),
            "dead-letters" => Some(View::DeadLetters),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct Listing<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

fn listing<T: Serialize>((items, more): Page<T>, position: impl Fn(&T) -> i64) -> ApiResponse {
    let next_cursor = if more {
        items.last().map(|last| encode_cursor(position(last)))
    } else {
        None
    };
    ApiResponse::json(200, &Listing { items, next_cursor })
}

/// Answers `view` for an admin's GET.
pub fn answer(view: View, req: &ApiRequest, db: &dyn SqlExecutor, now_ms: i64) -> ApiResult {
    match view {
        View::StuckPledges => {
            let (at, own) = parse_page_with(&req.query, &["older_than_secs"])?;
            let older_than_secs = match own.first() {
                None => DEFAULT_STUCK_AFTER_SECS,
                Some((_, raw)) => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|s| (0..=MAX_STUCK_AFTER_SECS).contains(s))
                    .ok_or_else(|| {
                        Problem::new(
                            400,
                            "invalid_query",
                            format!(
                                "older_than_secs must be a whole number of seconds from 0 to \
                                 {MAX_STUCK_AFTER_SECS}, got `{raw}`"
                            ),
                        )
                    })?,
            };
            let before = now_ms - older_than_secs * 1000;
            let found = operator_views::stuck_pledges(db, before, now_ms, at.after, at.limit)?;
            Ok(listing(found, |p| p.seq))
        }
        View::Webhooks => {
            let at = parse_page(&req.query)?;
            let found = operator_views::provider_events(db, at.after, at.limit)?;
            Ok(listing(found, |e| e.seq))
        }
        View::DeadLetters => {
            let at = parse_page(&req.query)?;
            let found = operator_views::dead_letters(db, at.after, at.limit)?;
            Ok(listing(found, |d| d.event_id))
        }
    }
}

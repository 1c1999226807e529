//! The relay's heartbeat: every scheduled run, idle or not, leaves when it ended and how
//! it went in the key-value store. The database keeps only runs that did work, so without
//! this a relay that stopped looks the same as one with nothing to do. With Redis as the
//! store every instance reads the same heartbeat, whichever instance the relay runs beside.

use super::{RelayError, RunReport};
use crate::storage::key_value::{get_json, set_json, KeyValue, KvError};
use serde::{Deserialize, Serialize};

pub const KEY: &str = "relay/heartbeat";

/// The last run, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at_ms: i64,
    pub published: u64,
    /// Why the run stopped, when it failed.
    pub error: Option<String>,
}

impl Heartbeat {
    pub fn of(outcome: &Result<RunReport, RelayError>, at_ms: i64) -> Self {
        match outcome {
            Ok(report) => Heartbeat {
                at_ms,
                published: report.published,
                error: None,
            },
            Err(e) => Heartbeat {
                at_ms,
                published: 0,
                error: Some(e.to_string()),
            },
        }
    }
}

/// The heartbeat as the admin relay figures show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HeartbeatView {
    /// A run ended `age_ms` ago.
    Seen {
        at_ms: i64,
        age_ms: i64,
        ok: bool,
        published: u64,
        error: Option<String>,
    },
    /// No scheduled run has ended since the store was created.
    Never,
    /// The store did not answer or holds something else under the key.
    Unreadable { error: String },
}

pub fn record(kv: &dyn KeyValue, beat: &Heartbeat) -> Result<(), KvError> {
    set_json(kv, KEY, beat)
}

pub fn read(kv: &dyn KeyValue) -> Result<Option<Heartbeat>, KvError> {
    get_json(kv, KEY)
}

pub fn view(kv: &dyn KeyValue, now_ms: i64) -> HeartbeatView {
    match read(kv) {
        Ok(Some(beat)) => HeartbeatView::Seen {
            at_ms: beat.at_ms,
            age_ms: (now_ms - beat.at_ms).max(0),
            ok: beat.error.is_none(),
            published: beat.published,
            error: beat.error,
        },
        Ok(None) => HeartbeatView::Never,
        Err(e) => HeartbeatView::Unreadable {
            error: e.to_string(),
        },
    }
}

//! Every event the provider emitted, for Stripe's `GET /v1/events`: a provider keeps its
//! events so a merchant can fetch what a webhook missed (and a load test can replay them).

use serde_json::Value;
use std::collections::VecDeque;

/// The newest events, oldest first; beyond [`EventLog::CAPACITY`] the oldest are dropped
/// (Stripe keeps 30 days).
#[derive(Default)]
pub struct EventLog {
    events: VecDeque<Value>,
}

impl EventLog {
    pub const CAPACITY: usize = 200_000;

    pub fn record(&mut self, event: Value) {
        if self.events.len() == Self::CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Stripe's paging: newest first, at most `limit`, after the event `starting_after`
    /// (in that order). `None` when `starting_after` names no kept event.
    pub fn page(&self, limit: usize, starting_after: Option<&str>) -> Option<(Vec<Value>, bool)> {
        let newest_first = self.events.iter().rev();
        let mut rest: Box<dyn Iterator<Item = &Value>> = match starting_after {
            None => Box::new(newest_first),
            Some(id) => {
                let skip = newest_first.clone().position(|e| e["id"] == id)? + 1;
                Box::new(newest_first.skip(skip))
            }
        };
        let page: Vec<Value> = rest.by_ref().take(limit).cloned().collect();
        Some((page, rest.next().is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(n: usize) -> EventLog {
        let mut log = EventLog::default();
        for i in 0..n {
            log.record(json!({ "id": format!("evt_{i}") }));
        }
        log
    }

    fn ids(page: &[Value]) -> Vec<&str> {
        page.iter().map(|e| e["id"].as_str().unwrap()).collect()
    }

    #[test]
    fn pages_run_newest_first_and_say_when_more_remain() {
        let log = log(5);
        let (first, more) = log.page(2, None).unwrap();
        assert_eq!((ids(&first), more), (vec!["evt_4", "evt_3"], true));
        let (last, more) = log.page(10, Some("evt_2")).unwrap();
        assert_eq!((ids(&last), more), (vec!["evt_1", "evt_0"], false));
        assert!(log.page(10, Some("evt_9")).is_none());
    }
}

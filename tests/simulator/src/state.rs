//! The simulator's books: payment intents, idempotency keys, knobs.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub api_key: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    /// Chance that an event is delivered more than once (each extra copy independently).
    pub duplicate_rate: f64,
    /// Most extra copies of one event.
    pub max_duplicates: u32,
    /// Each copy waits a random 0..=`max_delay_ms` before its first attempt, which
    /// reorders events of the same payment.
    pub max_delay_ms: u64,
    /// Chance that a copy's first attempt is lost on the way (the app never sees it).
    pub first_failure_rate: f64,
    /// Attempts per copy until a 2xx, with exponential backoff from `backoff_ms`.
    pub max_attempts: u32,
    pub backoff_ms: u64,
    /// Chance that a POST to an inbox (notification gateway, feed subscriber) is refused
    /// with 503, so the sender has to retry.
    pub inbox_failure_rate: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: "sk_test_simulator".into(),
            webhook_url: None,
            webhook_secret: "whsec_simulator".into(),
            duplicate_rate: 0.0,
            max_duplicates: 4,
            max_delay_ms: 0,
            first_failure_rate: 0.0,
            max_attempts: 12,
            backoff_ms: 50,
            inbox_failure_rate: 0.0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Intent {
    pub id: String,
    pub amount: u64,
    pub currency: String,
    pub capture_method: String,
    pub status: String,
    pub amount_received: u64,
    /// What succeeded refunds gave back.
    pub amount_refunded: u64,
    /// What disputes withdrew and did not reinstate.
    pub amount_disputed: u64,
    pub client_secret: String,
    pub metadata: BTreeMap<String, String>,
    /// Payment attempts so far (the first at creation, more by confirming again).
    pub attempts: u32,
    pub cancellation_reason: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct DeliveryStats {
    pub events: u64,
    pub copies: u64,
    pub attempts: u64,
    pub delivered: u64,
    pub lost_on_purpose: u64,
    pub failed_responses: u64,
    pub gave_up: u64,
    pub in_flight: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub payments: Vec<Intent>,
    pub captured_minor: u64,
    pub refunded_minor: u64,
    pub disputed_minor: u64,
}

#[derive(Default)]
pub struct Books {
    pub intents: BTreeMap<String, Intent>,
    /// (key) -> (request fingerprint, status, response body)
    pub idempotency: HashMap<String, (String, u16, String)>,
    pub deliveries: DeliveryStats,
    /// What each inbox channel received, in order.
    pub inbox: BTreeMap<String, Vec<crate::inbox::InboxEntry>>,
    pub events: crate::events::EventLog,
    pub refunds: BTreeMap<String, crate::refunds::Refund>,
    pub disputes: BTreeMap<String, crate::disputes::Dispute>,
}

#[derive(Clone)]
pub struct Simulator {
    pub books: Arc<Mutex<Books>>,
    pub config: Arc<Mutex<Config>>,
    pub http: reqwest::Client,
}

impl Simulator {
    pub fn new(config: Config) -> Self {
        Simulator {
            books: Arc::default(),
            config: Arc::new(Mutex::new(config)),
            http: reqwest::Client::new(),
        }
    }

    pub fn config(&self) -> Config {
        self.config.lock().unwrap().clone()
    }

    pub fn ledger(&self) -> Ledger {
        let books = self.books.lock().unwrap();
        let payments: Vec<Intent> = books.intents.values().cloned().collect();
        Ledger {
            captured_minor: payments.iter().map(|p| p.amount_received).sum(),
            refunded_minor: payments.iter().map(|p| p.amount_refunded).sum(),
            disputed_minor: payments.iter().map(|p| p.amount_disputed).sum(),
            payments,
        }
    }
}

//! What the scenarios share: the run's campaigns (picked with a skew), the pledges the
//! app acknowledged (for the books), tokens for the readers, and the work queues of the
//! webhook replays and the refunds. Goose transactions are plain functions, so it lives
//! in one process-wide cell, set once before the attack.

use rand::distr::Distribution;
use rand_distr::Zipf;
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

/// One pledge the app answered 201 for: it must be in the books afterwards.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub pledge_id: String,
    pub campaign_id: String,
    pub amount_minor: u64,
    pub donor_token: String,
}

/// One payment's provider events, in the order the provider emitted them.
pub type EventGroup = Vec<String>;

pub struct World {
    pub admin_token: String,
    pub webhook_secret: Vec<u8>,
    pub campaigns: Vec<String>,
    skew: Zipf<f64>,
    pub acknowledged: Mutex<Vec<Acknowledged>>,
    /// Email tokens from the receipts (a donor's whole history).
    pub email_tokens: Vec<String>,
    pub webhook_queue: Mutex<VecDeque<EventGroup>>,
    /// Groups already replayed once, replayed again when the queue runs dry (a provider
    /// retrying what it already delivered).
    pub webhook_replayed: Mutex<Vec<EventGroup>>,
    /// Captured pledges waiting for an admin's refund: (pledge id, captured amount).
    pub refundable: Mutex<VecDeque<(String, u64)>>,
    pub refunded: Mutex<Vec<String>>,
    /// Writes a donor sent again with the same key after a 409 (in progress), 429 or
    /// 502/503 answered with `Retry-After`, as a well-behaved client does.
    pub donor_retries: std::sync::atomic::AtomicU64,
}

static WORLD: OnceLock<World> = OnceLock::new();

impl World {
    pub fn new(admin_token: String, webhook_secret: Vec<u8>, campaigns: Vec<String>) -> Self {
        // s = 1.1: the first campaign draws about a quarter of the traffic out of 20.
        let skew = Zipf::new(campaigns.len() as f64, 1.1).expect("at least one campaign");
        World {
            admin_token,
            webhook_secret,
            campaigns,
            skew,
            acknowledged: Mutex::default(),
            email_tokens: Vec::new(),
            webhook_queue: Mutex::default(),
            webhook_replayed: Mutex::default(),
            refundable: Mutex::default(),
            donor_retries: Default::default(),
            refunded: Mutex::default(),
        }
    }

    pub fn install(self) -> &'static World {
        assert!(WORLD.set(self).is_ok(), "the world is installed once");
        get()
    }

    /// A campaign, the popular ones far more often.
    pub fn campaign(&self) -> &str {
        let rank = self.skew.sample(&mut rand::rng()) as usize;
        &self.campaigns[rank.clamp(1, self.campaigns.len()) - 1]
    }

    pub fn acknowledge(&self, pledge: Acknowledged) {
        self.acknowledged.lock().unwrap().push(pledge);
    }

    /// A pledge some donor holds the token of.
    pub fn known_pledge(&self) -> Option<Acknowledged> {
        let known = self.acknowledged.lock().unwrap();
        (!known.is_empty()).then(|| known[rand::random_range(0..known.len())].clone())
    }

    pub fn admin_auth(&self) -> String {
        format!("Bearer {}", self.admin_token)
    }
}

pub fn get() -> &'static World {
    WORLD
        .get()
        .expect("the world is installed before the attack")
}

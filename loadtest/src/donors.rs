//! Donors as they come on donation night: returning donors (the same email pledging
//! again), a share of anonymous gifts, round amounts mostly and odd ones sometimes.

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

const FIRST: &[&str] = &[
    "Amara", "Jonas", "Li", "Fatima", "Mateo", "Sofia", "Noah", "Aisha", "Lukas", "Mei", "Omar",
    "Elena", "Kwame", "Ingrid", "Ravi", "Chloé", "Tomás", "Yuki", "Zanele", "Pavel",
];
const LAST: &[&str] = &[
    "Okafor", "Schmidt", "Chen", "Haddad", "García", "Rossi", "Smith", "Khan", "Novak", "Tanaka",
    "Dubois", "Mensah", "Larsen", "Patel", "Silva", "Kowalski",
];
/// Most gifts are round; the simulator declines amounts ending in 13 and only authorizes
/// those ending in 77, so odd amounts bring a few of each.
const ROUND_MINOR: &[u64] = &[500, 1_000, 2_000, 2_500, 5_000, 10_000, 25_000, 50_000];

/// How many distinct donors there are: emails repeat, so histories hold several pledges.
const DONORS: u32 = 5_000;

pub fn amount_minor() -> u64 {
    let mut rng = rand::rng();
    if rng.random_bool(0.8) {
        *ROUND_MINOR.choose(&mut rng).unwrap()
    } else {
        rng.random_range(100..100_000)
    }
}

/// The JSON body of a pledge to `campaign_id` (USD campaigns).
pub fn pledge_body(campaign_id: &str) -> Value {
    let mut rng = rand::rng();
    let donor = rng.random_range(0..DONORS);
    let first = FIRST[donor as usize % FIRST.len()];
    let last = LAST[donor as usize / FIRST.len() % LAST.len()];
    let anonymous = rng.random_bool(0.1);
    json!({
        "campaign_id": campaign_id,
        "amount_minor": amount_minor(),
        "currency": "USD",
        "donor": {
            "email": format!("{}.{}.{donor}@donors.example", ascii(first), ascii(last)),
            "name": format!("{first} {last}"),
            "anonymous": anonymous,
        },
    })
}

fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

//! Chaos over real HTTP, on SQLite and on Postgres: 200 pledges whose webhooks each
//! arrive five times in shuffled order, and a host SIGKILLed in the middle of a burst of
//! pledges and webhooks, restarted, and caught up by the simulator's retries.

use futures::stream::{self, StreamExt};
use harness::{both_backends, pledge_body, App, Backend};
use payment_simulator::Config;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

both_backends! {
    shuffled_webhooks => every_pledge_ends_in_the_providers_final_state,
    crash => sigkill_during_a_burst_loses_nothing_acknowledged,
}

/// The order of the lattice in DESIGN §6; a change may only move up.
fn rank(status: &str) -> u8 {
    match status {
        "PENDING" => 0,
        "PAYMENT_FAILED" => 1,
        "AUTHORIZED" => 2,
        "CAPTURED" => 3,
        "PARTIALLY_REFUNDED" => 4,
        "REFUNDED" => 5,
        "CANCELED" => 6,
        other => panic!("unknown status {other}"),
    }
}

/// What the pledge of a simulator payment must end as.
fn expected_status(intent: &Value) -> &'static str {
    match intent["status"].as_str().unwrap() {
        "succeeded" => "CAPTURED",
        "requires_capture" => "AUTHORIZED",
        "requires_payment_method" => "PAYMENT_FAILED",
        other => panic!("unexpected simulator status {other}"),
    }
}

/// Amounts chosen so that some payments are declined (…13) and some only authorized (…77).
fn amount(i: u64) -> u64 {
    match i % 10 {
        3 => 1_013 + i * 100,
        7 => 1_077 + i * 100,
        _ => 1_000 + i * 100,
    }
}

/// Every pledge the simulator has a payment for is in the provider's final state; every
/// provider event was applied at most once; no change moved a status backwards; and the
/// outbox holds exactly one event per applied change.
async fn assert_converged(app: &App) -> HashMap<String, usize> {
    let ledger = app.ledger().await.unwrap();
    let pledges: HashMap<String, Value> = app
        .all_pledges()
        .await
        .into_iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p))
        .collect();
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for intent in ledger["payments"].as_array().unwrap() {
        let pledge_id = intent["metadata"]["pledge_id"].as_str().unwrap();
        let pledge = pledges.get(pledge_id).unwrap_or_else(|| {
            panic!("the provider has a payment for pledge {pledge_id}, which does not exist")
        });
        assert_eq!(
            pledge["status"],
            expected_status(intent),
            "{pledge} vs {intent}"
        );
        assert_eq!(
            pledge["captured_minor"], intent["amount_received"],
            "{pledge}"
        );
        let detail = app.admin_get(&format!("/api/v1/pledges/{pledge_id}")).await;
        let mut applied = HashSet::new();
        for entry in detail.body["history"].as_array().unwrap() {
            let outcome = entry["outcome"].as_str().unwrap();
            *outcomes.entry(outcome.to_string()).or_default() += 1;
            if outcome == "applied" {
                if let Some(event) = entry["provider_event_id"].as_str() {
                    assert!(
                        applied.insert(event.to_string()),
                        "event {event} applied twice"
                    );
                }
                if let (Some(from), Some(to)) =
                    (entry["from_status"].as_str(), entry["to_status"].as_str())
                {
                    assert!(
                        rank(to) > rank(from),
                        "{pledge_id} moved from {from} back to {to}"
                    );
                }
            }
        }
    }
    let mismatched = app
        .count(
            "SELECT COUNT(*) FROM pledges p WHERE \
             (SELECT COUNT(*) FROM outbox o WHERE o.aggregate_id = p.id) <> \
             (SELECT COUNT(*) FROM pledge_events e WHERE e.pledge_id = p.id AND e.outcome = 'applied')",
        )
        .await;
    assert_eq!(
        mismatched, 0,
        "pledges whose outbox events differ from their applied changes"
    );
    outcomes
}

async fn every_pledge_ends_in_the_providers_final_state(backend: Backend) {
    let config = Config {
        duplicate_rate: 1.0,
        max_duplicates: 4,
        max_delay_ms: 400,
        first_failure_rate: 0.2,
        ..Config::default()
    };
    let app = App::start(backend, config).await.unwrap();
    let campaign = app.campaign("USD").await;
    let started = Instant::now();
    let created: Vec<u16> = stream::iter(0..200u64)
        .map(|i| {
            let body = pledge_body(&campaign, amount(i), &format!("donor{i}@example.org"));
            let app = &app;
            async move { app.pledge(Some(&format!("pledge-{i}")), &body).await.status }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let deliveries = app
        .deliveries_settled(Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(
        deliveries["copies"],
        deliveries["events"].as_u64().unwrap() * 5,
        "{deliveries}"
    );
    assert_eq!(deliveries["gave_up"], 0, "{deliveries}");
    let outcomes = assert_converged(&app).await;
    let processed = app
        .count("SELECT COUNT(*) FROM processed_provider_events")
        .await;
    assert_eq!(
        processed,
        deliveries["events"].as_i64().unwrap(),
        "each provider event recorded once"
    );
    assert_eq!(
        app.ledger().await.unwrap()["payments"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    for visible in ["duplicate", "stale", "implied"] {
        assert!(
            outcomes.get(visible).copied().unwrap_or(0) > 0,
            "no {visible} rows in any history: {outcomes:?}"
        );
    }
    println!(
        "{backend:?}: 200 pledges, {} events x5 copies in {:.1} s; history outcomes {outcomes:?}",
        deliveries["events"],
        started.elapsed().as_secs_f64()
    );
}

async fn sigkill_during_a_burst_loses_nothing_acknowledged(backend: Backend) {
    let config = Config {
        duplicate_rate: 0.5,
        max_duplicates: 2,
        max_delay_ms: 300,
        first_failure_rate: 0.1,
        max_attempts: 20,
        backoff_ms: 100,
        ..Config::default()
    };
    let mut app = App::start(backend, config).await.unwrap();
    let campaign = app.campaign("USD").await;
    let acknowledged = std::sync::Mutex::new(Vec::<String>::new());
    let answered = |i: u64, answer: harness::Answer| {
        if answer.status == 201 {
            let id = answer.body["pledge"]["id"].as_str().unwrap().to_string();
            acknowledged.lock().unwrap().push(id);
        }
        (i, answer.status)
    };
    let burst = stream::iter(0..300u64)
        .map(|i| {
            let body = pledge_body(&campaign, amount(i), &format!("donor{i}@example.org"));
            let app = &app;
            async move { answered(i, app.pledge(Some(&format!("burst-{i}")), &body).await) }
        })
        .buffer_unordered(16)
        .collect::<Vec<(u64, u16)>>();
    // SIGKILL once 100 pledges are acknowledged, with requests and webhooks in flight.
    let killer = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while acknowledged.lock().unwrap().len() < 100 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        app.crash();
    };
    let (statuses, ()) = futures::join!(burst, killer);
    let crashed_at = Instant::now();
    let before_crash = acknowledged.lock().unwrap().len();
    let lost: Vec<u64> = statuses
        .iter()
        .filter(|(_, s)| *s != 201)
        .map(|(i, _)| *i)
        .collect();
    assert!(
        before_crash >= 100 && !lost.is_empty(),
        "the crash hit the burst: {before_crash} acknowledged, {} not",
        lost.len()
    );

    app.restart().await.unwrap();
    // Donors whose request died retry with the same key; a key the crash left locked
    // answers 409 until its lock times out, never a second pledge.
    let mut retried = HashMap::new();
    let mut locked = Vec::new();
    for i in &lost {
        let body = pledge_body(&campaign, amount(*i), &format!("donor{i}@example.org"));
        let (_, status) = answered(*i, app.pledge(Some(&format!("burst-{i}")), &body).await);
        *retried.entry(status).or_insert(0) += 1;
        if status == 409 {
            locked.push(*i);
        }
    }
    assert!(
        retried.keys().all(|s| *s == 201 || *s == 409),
        "{retried:?}"
    );
    // Once the lock of a request that died with the host has timed out, its key resumes.
    if !locked.is_empty() {
        let unlock = careforall::domain::idempotency::LOCK_TIMEOUT_MS as u64 + 1_000;
        tokio::time::sleep(Duration::from_millis(unlock).saturating_sub(crashed_at.elapsed()))
            .await;
        for i in &locked {
            let body = pledge_body(&campaign, amount(*i), &format!("donor{i}@example.org"));
            let (_, status) = answered(*i, app.pledge(Some(&format!("burst-{i}")), &body).await);
            assert_eq!(
                status, 201,
                "key burst-{i} is stuck after its lock timed out"
            );
        }
    }

    app.deliveries_settled(Duration::from_secs(120))
        .await
        .unwrap();
    let ids: Vec<String> = acknowledged.lock().unwrap().clone();
    assert_eq!(ids.len(), 300, "every donor's key ends acknowledged");
    assert_eq!(
        app.all_pledges().await.len(),
        300,
        "one pledge per key, none doubled"
    );
    for id in &ids {
        let detail = app.admin_get(&format!("/api/v1/pledges/{id}")).await;
        assert_eq!(
            detail.status, 200,
            "acknowledged pledge {id} is gone: {}",
            detail.raw
        );
    }
    assert_converged(&app).await;
    let keys: HashSet<&String> = ids.iter().collect();
    assert_eq!(keys.len(), ids.len(), "no pledge acknowledged twice");
    println!(
        "{backend:?}: {before_crash} pledges acknowledged before SIGKILL, {} requests cut off, retried after restart: {retried:?}",
        lost.len()
    );
}

//! Randomized chaos around the outbox relay, on both backends: concurrent pledges, the
//! simulator duplicating, delaying (reordering) and dropping webhooks, partial and full
//! refunds, a flaky notification gateway, two cron relays plus on-demand runs at once,
//! and one relay SIGKILLed while it works. Totals are watched the whole time; at the end
//! they must equal the provider's ledger exactly, every notification must have gone out
//! under one id per (kind, subject), every event must have reached the feed subscriber,
//! and reconciliation must find no drift.

use futures::future::join_all;
use harness::{both_backends, pledge_body, App, Backend};
use payment_simulator::Config;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

both_backends! {
    relay_chaos => totals_stay_exact_through_relay_chaos,
}

/// xorshift64*, seeded per run and printed, so a failing order can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORKERS: u64 = 4;
const PLEDGES_PER_WORKER: u64 = 40;

/// Creates pledges (some declined by their amount) and asks for refunds of earlier ones.
async fn worker(
    app: &App,
    campaigns: &[String],
    worker: u64,
    seed: u64,
    pledged: &Mutex<Vec<String>>,
) {
    let mut rng = Rng(seed ^ (worker + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    for i in 0..PLEDGES_PER_WORKER {
        let campaign = &campaigns[rng.below(campaigns.len() as u64) as usize];
        // 1 in 8 ends in 13: the simulator declines it.
        let amount = 100 * (5 + rng.below(200)) + if rng.below(8) == 0 { 13 } else { 0 };
        let email = format!("donor{}@example.org", rng.below(30));
        let answer = app
            .pledge(
                Some(&format!("w{worker}-{i}")),
                &pledge_body(campaign, amount, &email),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        pledged
            .lock()
            .unwrap()
            .push(answer.body["pledge"]["id"].as_str().unwrap().to_string());
        if rng.below(3) == 0 {
            let target = {
                let all = pledged.lock().unwrap();
                all[rng.below(all.len() as u64) as usize].clone()
            };
            let body = match rng.below(3) {
                0 => json!({}),
                _ => json!({ "amount_minor": 100 + rng.below(900) }),
            };
            let answer = app.refund(&target, &format!("w{worker}-r{i}"), &body).await;
            // Refused while not captured yet, after a full refund, or above what is left;
            // pending at the provider (202) for amounts the simulator keeps pending.
            assert!(
                matches!(answer.status, 201 | 202 | 409 | 422),
                "refund of {target}: {}",
                answer.raw
            );
        }
    }
}

async fn totals_stay_exact_through_relay_chaos(backend: Backend) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("chaos seed {seed:#x}");
    let sim = Config {
        duplicate_rate: 0.5,
        max_duplicates: 3,
        max_delay_ms: 300,
        first_failure_rate: 0.2,
        inbox_failure_rate: 0.2,
        ..Config::default()
    };
    let app = App::start(backend, sim).await.unwrap();
    let campaigns = vec![
        app.campaign_with_goal("USD", 20_000).await,
        app.campaign("USD").await,
        app.campaign("USD").await,
    ];
    let doomed = app.start_cron_relay().await.unwrap();
    let _second = app.start_cron_relay().await.unwrap();

    let stop = AtomicBool::new(false);
    let observations = AtomicU64::new(0);
    let pledged = Mutex::new(Vec::new());
    let watch = async {
        while !stop.load(Ordering::SeqCst) {
            for campaign in &campaigns {
                let t = app.totals(campaign).await;
                let raised = t["raised_minor"]
                    .as_i64()
                    .expect("raised is a whole number");
                assert!(raised >= 0, "raised went negative: {t}");
                assert_eq!(
                    raised,
                    t["captured_minor"].as_i64().unwrap() - t["refunded_minor"].as_i64().unwrap(),
                    "{t}"
                );
                observations.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    let on_demand = async {
        while !stop.load(Ordering::SeqCst) {
            app.relay_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    };
    let load = async {
        let killer = async {
            // Kill one relay while the burst keeps it busy.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            doomed.signal(libc::SIGKILL);
        };
        let work = join_all((0..WORKERS).map(|w| worker(&app, &campaigns, w, seed, &pledged)));
        let (_, _) = tokio::join!(killer, work);
        app.deliveries_settled(Duration::from_secs(120))
            .await
            .unwrap();
        // Leases of the killed relay expire; the survivors finish everything.
        app.relay_idle(Duration::from_secs(90), false)
            .await
            .unwrap();
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(watch, on_demand, load);
    assert!(
        observations.load(Ordering::SeqCst) > 30,
        "totals were watched throughout"
    );

    // Every campaign's totals against the provider's own books.
    let pledges = app.all_pledges().await;
    let campaign_of: BTreeMap<&str, &str> = pledges
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["campaign_id"].as_str().unwrap(),
            )
        })
        .collect();
    let ledger = app.ledger().await.unwrap();
    let mut expected: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut captured_pledges = BTreeSet::new();
    for payment in ledger["payments"].as_array().unwrap() {
        let pledge = payment["metadata"]["pledge_id"].as_str().unwrap();
        let e = expected.entry(campaign_of[pledge]).or_default();
        e.0 += payment["amount_received"].as_u64().unwrap();
        e.1 += payment["amount_refunded"].as_u64().unwrap();
        if payment["amount_received"].as_u64().unwrap() > 0 {
            captured_pledges.insert(pledge.to_string());
        }
    }
    let refunded_somewhere = expected.values().any(|(_, r)| *r > 0);
    assert!(refunded_somewhere, "the run refunded something");
    for campaign in &campaigns {
        let t = app.totals(campaign).await;
        let (captured, refunded) = expected.get(campaign.as_str()).copied().unwrap_or_default();
        assert_eq!(t["captured_minor"], captured, "{campaign}: {t}");
        assert_eq!(t["refunded_minor"], refunded, "{campaign}: {t}");
        assert_eq!(t["raised_minor"], captured - refunded, "{campaign}: {t}");
        assert_eq!(t["relay_lag_ms"], 0, "{t}");
    }

    let report = app.reconciliation().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["drift"], json!([]));

    // Each notification went out under one id per (kind, subject), however often sent.
    let inbox = app.inbox("notifications").await.unwrap();
    let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for entry in &inbox {
        let body = &entry["body"];
        let kind = body["kind"].as_str().unwrap().to_string();
        let subject = match kind.as_str() {
            "receipt" => body["pledge_id"].as_str().unwrap().to_string(),
            "goal_reached" => body["campaign_id"].as_str().unwrap().to_string(),
            _ => body["window_start_ms"].to_string(),
        };
        assert_eq!(entry["idempotency_key"], body["id"], "{entry}");
        ids.entry((kind, subject))
            .or_default()
            .insert(body["id"].as_str().unwrap().to_string());
    }
    for (key, set) in &ids {
        assert_eq!(
            set.len(),
            1,
            "{key:?} was notified under several ids: {set:?}"
        );
    }
    let receipts: BTreeSet<String> = ids
        .keys()
        .filter(|(k, _)| k == "receipt")
        .map(|(_, s)| s.clone())
        .collect();
    assert_eq!(
        receipts, captured_pledges,
        "one receipt per captured pledge"
    );
    let goal = ids.keys().filter(|(k, _)| k == "goal_reached").count();
    assert_eq!(goal, 1, "only the first campaign has a reachable goal");
    let unsent = app
        .count("SELECT COUNT(*) FROM notifications WHERE status <> 'sent'")
        .await;
    assert_eq!(unsent, 0);

    // The event feed: every outbox event reached the subscriber under one id.
    let mut feed: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for entry in app.inbox("feed").await.unwrap() {
        feed.entry(entry["body"]["id"].as_i64().unwrap())
            .or_default()
            .insert(entry["idempotency_key"].as_str().unwrap().to_string());
    }
    assert!(
        feed.values().all(|keys| keys.len() == 1),
        "an event went out under several ids"
    );
    assert_eq!(
        feed.len() as i64,
        app.count("SELECT COUNT(*) FROM outbox").await
    );
}

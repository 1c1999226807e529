//! The outbox relay natively on both backends: exact totals from shuffled and duplicated
//! provider events, leases that outlive a dead relay, a late relay that lost its batch,
//! two relays at once, and notifications written once and retried until delivered.

mod support;

use careforall::domain::pledge::PaymentEvent;
use careforall::domain::refund::RefundStatus;
use careforall::payments::report::{RefundReport, Report};
use careforall::payments::stripe::{HttpRequest, HttpResponse, HttpSend};
use careforall::relay::claim::claim_batch;
use careforall::relay::feed::FeedSettings;
use careforall::relay::heartbeat::{self, Heartbeat, HeartbeatView};
use careforall::relay::notify::NotifySettings;
use careforall::relay::{apply, health, reconcile, totals, totals_cache, Relay, RelaySettings};
use careforall::storage::business_metrics;
use careforall::storage::key_value::{KeyValue, KvError};
use careforall::storage::metric_counts;
use careforall::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use careforall::storage::SqlExecutor;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use support::fixtures::{campaign, count, pledge, shuffle};
use support::TestDb;

/// The notification gateway and feed subscribers as seen from the relay: records every
/// request and refuses the first `refuse_first` of them.
#[derive(Default)]
struct Gateway {
    received: Mutex<Vec<HttpRequest>>,
    refuse_first: AtomicU64,
}

impl HttpSend for Gateway {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let refuse = self
            .refuse_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refuse {
            return Ok(HttpResponse {
                status: 503,
                body: Vec::new(),
            });
        }
        self.received.lock().unwrap().push(request);
        Ok(HttpResponse {
            status: 202,
            body: Vec::new(),
        })
    }
}

/// Spin's key-value store as the relay sees it, in memory.
type MemoryKv = careforall::storage::key_value::InMemory;

fn beating<'a>(relay: Relay<'a>, kv: &'a dyn KeyValue) -> Relay<'a> {
    Relay {
        heartbeat: Some(kv),
        ..relay
    }
}

/// A store that is down (Redis unreachable).
struct Unreachable;

impl KeyValue for Unreachable {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>, KvError> {
        Err(KvError("connection refused".into()))
    }
    fn set(&self, _: &str, _: &[u8]) -> Result<(), KvError> {
        Err(KvError("connection refused".into()))
    }
    fn delete(&self, _: &str) -> Result<(), KvError> {
        Err(KvError("connection refused".into()))
    }
}

fn settings(subscribers: Vec<String>) -> RelaySettings {
    RelaySettings {
        batch_size: 7,
        lease_ms: 10_000,
        time_budget_ms: 60_000,
        deliveries_per_run: 1000,
        notify: NotifySettings {
            gateway_url: "http://gateway.test/notify".into(),
            admin_email: "ops@example.org".into(),
            public_base_url: "https://give.example.org".into(),
            donor_token_secret: b"secret".to_vec(),
            failure_spike_threshold: 3,
            failure_window_ms: 60_000,
        },
        feed: FeedSettings {
            subscribers,
            signing_secret: b"feed-secret".to_vec(),
        },
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn event(db: &dyn SqlExecutor, pledge_id: &str, event_id: &str, report: Report) {
    let payment_id = format!("pi_{pledge_id}");
    apply_provider_event(
        db,
        &ProviderEvent {
            event_id,
            kind: "test",
            payment_id: &payment_id,
            pledge_id: Some(pledge_id),
            reports: &[report],
            via: Via::Webhook,
        },
        &|| 20,
    )
    .unwrap();
}

fn relay<'a>(
    db: &'a dyn SqlExecutor,
    http: &'a dyn HttpSend,
    settings: &'a RelaySettings,
    clock: &'a dyn Fn() -> i64,
) -> Relay<'a> {
    Relay {
        db,
        http,
        settings,
        clock,
        new_id: &new_id,
        sweep: None,
        heartbeat: None,
        spans: None,
        totals_cache: None,
    }
}

/// Twelve pledges in two campaigns: captured, partly and fully refunded, failed, pending.
fn donation_day(db: &dyn SqlExecutor) {
    campaign(db, "c1", 1_500);
    campaign(db, "c2", 1_000_000);
    let mut events = Vec::new();
    for i in 0..12u64 {
        let id = format!("p{i}");
        let campaign_id = if i % 2 == 0 { "c1" } else { "c2" };
        let amount = 100 * (i + 1);
        pledge(
            db,
            campaign_id,
            &id,
            amount,
            &format!("donor{}@example.org", i % 5),
        );
        let captured = Report::Payment(PaymentEvent::Captured {
            captured_minor: amount,
        });
        let refund = |amount_minor| {
            Report::Refund(RefundReport {
                provider_refund_id: format!("re_{id}"),
                refund_id: None,
                amount_minor,
                status: RefundStatus::Succeeded,
                failure: None,
            })
        };
        match i % 4 {
            0 => events.push((id.clone(), captured)),
            1 => {
                events.push((id.clone(), captured));
                events.push((id.clone(), refund(amount / 2)));
            }
            // Declined and not paid (yet): still pledged, the donor may retry.
            2 => events.push((id.clone(), Report::Payment(PaymentEvent::Failed))),
            _ => {
                events.push((id.clone(), captured));
                events.push((id.clone(), refund(amount)));
            }
        }
    }
    let mut deliveries: Vec<(String, String, Report)> = events
        .iter()
        .enumerate()
        .flat_map(|(n, (id, e))| {
            let copy = (id.clone(), format!("evt_{n}"), e.clone());
            [copy.clone(), copy]
        })
        .collect();
    shuffle(&mut deliveries, 0x5eed);
    for (pledge_id, event_id, e) in &deliveries {
        event(db, pledge_id, event_id, e.clone());
    }
}

both_backends! {
fn a_poison_event_is_dead_lettered_and_full_batches_reach_twenty_subscribers(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db, "c1", 1_000_000);
    for i in 0..1_500u64 {
        pledge(db, "c1", &format!("p{i}"), 1_000 + i, "donor@example.org");
    }
    // An event no consumer can read, in the second batch.
    db.execute(
        "INSERT INTO outbox (aggregate_id, event_type, payload, created_at_ms) \
         VALUES ('p-poison', 'pledge.changed', 'not json', 10)",
        &[],
    )
    .unwrap();
    pledge(db, "c1", "p-last", 999, "donor@example.org");
    let subscribers = (0..20).map(|n| format!("http://subscriber-{n}.test/events")).collect();
    // A full batch of 1,500 events for 20 subscribers: 150,000 parameters if the feed's
    // rows went in one statement, past both backends' limits.
    let settings = RelaySettings {
        batch_size: 1_500,
        deliveries_per_run: 0,
        ..settings(subscribers)
    };
    let gateway = Gateway::default();
    let now = AtomicI64::new(1_000);
    let clock = || now.load(Ordering::SeqCst);
    let first = relay(db, &gateway, &settings, &clock).run().unwrap();
    assert_eq!((first.published, first.failed, first.dead_lettered), (1_501, 1, 0), "{first:?}");
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM feed_deliveries"), 1_501 * 20);
    assert!(reconcile::reconcile(db, None, clock()).unwrap().ok);

    // Tried again once per lease; dead-lettered on its fifth claim, with an alert.
    for attempt in 2..=5 {
        now.fetch_add(settings.lease_ms + 1, Ordering::SeqCst);
        let run = relay(db, &gateway, &settings, &clock).run().unwrap();
        let expected = if attempt < 5 { (1, 0) } else { (0, 1) };
        assert_eq!((run.failed, run.dead_lettered), expected, "attempt {attempt}: {run:?}");
    }
    let health = health::read(db, clock()).unwrap();
    assert_eq!((health.backlog, health.dead_letters), (0, 1), "{health:?}");
    assert_eq!(
        count(db, "SELECT COUNT(*) AS n FROM outbox_dead_letters WHERE aggregate_id = 'p-poison' AND attempts = 5"),
        1
    );
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM notifications WHERE kind = 'dead_letter'"), 1);
    let later = relay(db, &gateway, &settings, &clock).run().unwrap();
    assert_eq!((later.claimed, later.dead_lettered), (0, 0));
    assert!(reconcile::reconcile(db, None, clock()).unwrap().ok);
}

fn relayed_totals_equal_the_pledges_and_each_notification_is_written_once(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    donation_day(db);
    let gateway = Gateway::default();
    gateway.refuse_first.store(2, Ordering::SeqCst);
    let settings = settings(vec!["http://subscriber.test/events".into()]);
    let now = AtomicI64::new(1_000);
    let clock = || now.load(Ordering::SeqCst);
    let first = relay(db, &gateway, &settings, &clock).run().unwrap();
    assert!(first.batches > 1, "batch size 7 splits the outbox: {first:?}");
    assert_eq!(first.published, first.claimed);
    assert_eq!(first.notifications.retried + first.feed.retried, 2, "{first:?}");
    assert_eq!(health::read(db, clock()).unwrap().backlog, 0);

    let report = reconcile::reconcile(db, None, clock()).unwrap();
    assert!(report.ok, "{report:?}");
    let c1 = totals::read(db, "c1").unwrap().unwrap().relayed.unwrap();
    // c1: p0 captured 100, p2 declined, p4 captured 500, p6 declined, p8 captured 900, p10
    // declined; a declined pledge stays pledged (its donor may pay with another card).
    assert_eq!(c1.totals.raised_minor(), 1_500);
    assert_eq!(c1.totals.pledge_count, 6);
    assert_eq!(c1.totals.captured_count, 3);
    let c2 = totals::read(db, "c2").unwrap().unwrap().relayed.unwrap();
    // c2: p1 200-100, p3 refunded, p5 600-300, p7 refunded, p9 1000-500, p11 refunded.
    assert_eq!(c2.totals.raised_minor(), 900);
    assert_eq!(c2.totals.captured_count, 6);

    // Retries wait for their backoff; once due, everything is delivered exactly once.
    now.fetch_add(60_000, Ordering::SeqCst);
    relay(db, &gateway, &settings, &clock).run().unwrap();
    let received = gateway.received.lock().unwrap();
    let notifications: Vec<&HttpRequest> = received.iter().filter(|r| r.url.contains("gateway")).collect();
    // Receipts for the 9 captured pledges, the goal alert for c1, one failure spike.
    let kinds = |kind: &str| {
        notifications
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(&format!("\"kind\":\"{kind}\"")))
            .count()
    };
    assert_eq!((kinds("receipt"), kinds("goal_reached"), kinds("failure_spike")), (9, 1, 1));
    let events = count(db, "SELECT COUNT(*) AS n FROM outbox");
    let feed: Vec<&HttpRequest> = received.iter().filter(|r| r.url.contains("subscriber")).collect();
    assert_eq!(feed.len() as i64, events);
    assert!(feed.iter().all(|r| r.headers.iter().any(|(n, v)| n == "careforall-signature" && v.starts_with("t="))));
    assert!(feed.iter().all(|r| !String::from_utf8_lossy(&r.body).contains("@example.org")));
    let receipt = notifications.iter().find(|r| String::from_utf8_lossy(&r.body).contains("receipt")).unwrap();
    assert!(String::from_utf8_lossy(&receipt.body).contains("https://give.example.org/api/v1/donors/me/pledges?token=cfa1."));
}

fn a_batch_held_by_a_dead_relay_waits_for_its_lease_then_applies_once(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    donation_day(db);
    let gateway = Gateway::default();
    let settings = settings(Vec::new());
    // A relay claims the first batch and dies before applying it.
    let held = claim_batch(db, 7, settings.lease_ms, 1_000).unwrap();
    assert_eq!(held.len(), 7);
    let now = AtomicI64::new(2_000);
    let clock = || now.load(Ordering::SeqCst);
    relay(db, &gateway, &settings, &clock).run().unwrap();
    assert_eq!(health::read(db, clock()).unwrap().backlog, 7, "the leased batch waits");
    // The totals are exact anyway: every later event carries its pledge's whole state.
    assert!(reconcile::reconcile(db, None, clock()).unwrap().ok);

    now.store(1_000 + settings.lease_ms + 1, Ordering::SeqCst);
    relay(db, &gateway, &settings, &clock).run().unwrap();
    assert_eq!(health::read(db, clock()).unwrap().backlog, 0);
    assert!(reconcile::reconcile(db, None, clock()).unwrap().ok);

    // The dead relay comes back and applies its old claim: nothing is applied twice.
    let late = Relay { db, http: &gateway, settings: &settings, clock: &clock, new_id: &new_id, sweep: None, heartbeat: None, spans: None, totals_cache: None };
    let applied = apply::apply_batch(&late, &held).unwrap();
    assert_eq!((applied.published, applied.applied), (0, 0));
    assert!(reconcile::reconcile(db, None, clock()).unwrap().ok);
}

fn two_relays_at_once_apply_every_event_once(test_db: &TestDb) {
    let setup = test_db.connect();
    donation_day(setup.as_ref());
    let settings = settings(vec!["http://subscriber.test/events".into()]);
    let gateway = Gateway::default();
    // Both keep the totals for readers in one store, and race to store them.
    let kv = MemoryKv::default();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let db = test_db.connect();
                let clock = || 5_000;
                for _ in 0..20 {
                    Relay {
                        totals_cache: Some(&kv),
                        ..relay(db.as_ref(), &gateway, &settings, &clock)
                    }
                    .run()
                    .unwrap();
                }
            });
        }
    });
    let db = setup.as_ref();
    assert!(reconcile::reconcile(db, None, 5_000).unwrap().ok);
    for campaign in ["c1", "c2"] {
        let (cached, lag) = totals_cache::read(&kv, campaign, 5_000).unwrap().unwrap();
        let relayed = totals::read(db, campaign).unwrap().unwrap().relayed.unwrap();
        assert_eq!((cached.totals, cached.last_event_id, lag), (relayed.totals, Some(relayed.last_event_id), 0));
    }
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM outbox WHERE published_at_ms IS NULL"), 0);
    let received = gateway.received.lock().unwrap();
    let mut keys: Vec<&str> = received
        .iter()
        .flat_map(|r| r.headers.iter().filter(|(n, _)| n == "idempotency-key").map(|(_, v)| v.as_str()))
        .collect();
    let sent = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), sent, "no message was sent twice");
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM notifications WHERE kind = 'receipt'"), 9);
}

fn every_run_leaves_a_heartbeat_and_a_failing_store_does_not_fail_the_run(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    let kv = MemoryKv::default();
    let settings = settings(Vec::new());
    let gateway = Gateway::default();
    let clock = || 9_000;
    let with_kv = |kv| beating(relay(db, &gateway, &settings, &clock), kv);
    assert_eq!(heartbeat::view(&kv, 9_500), HeartbeatView::Never);

    donation_day(db);
    let busy = with_kv(&kv).run().unwrap();
    let beat = heartbeat::read(&kv).unwrap().expect("a heartbeat after a run");
    assert_eq!(beat, Heartbeat { at_ms: 9_000, published: busy.published, error: None });

    // An idle run keeps no row in relay_runs, but it does beat.
    kv.delete(heartbeat::KEY).unwrap();
    let idle = with_kv(&kv).run().unwrap();
    assert_eq!(idle.claimed, 0);
    assert!(matches!(heartbeat::view(&kv, 9_250), HeartbeatView::Seen { age_ms: 250, ok: true, published: 0, .. }));

    let down = Unreachable;
    assert!(with_kv(&down).run().is_ok(), "the run does not depend on its heartbeat");
    assert!(matches!(heartbeat::view(&down, 9_000), HeartbeatView::Unreadable { .. }));
    kv.set(heartbeat::KEY, b"not json").unwrap();
    let HeartbeatView::Unreadable { error } = heartbeat::view(&kv, 9_000) else { panic!("garbage read as a heartbeat") };
    assert!(error.contains("relay/heartbeat"), "{error}");
}

fn the_metrics_counts_follow_the_books_and_a_new_table_starts_from_them(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    donation_day(db);
    let settings = settings(vec!["http://subscriber.test/events".into()]);
    // The first sends are refused: a retried delivery is not a finished one.
    let gateway = Gateway { refuse_first: AtomicU64::new(3), ..Gateway::default() };
    let now = AtomicI64::new(5_000);
    let clock = || now.load(Ordering::SeqCst);
    for _ in 0..4 {
        relay(db, &gateway, &settings, &clock).run().unwrap();
        now.fetch_add(10_000, Ordering::SeqCst);
    }
    let m = business_metrics::read(db, clock()).unwrap();
    assert_eq!(m.relay_backlog, 0);
    for (status, n) in &m.pledges {
        let stored = count(db, &format!("SELECT COUNT(*) AS n FROM pledges WHERE status = '{}'", status.as_str()));
        assert_eq!(*n, stored, "{status:?}");
    }
    assert!(m.pledges.iter().filter(|(_, n)| *n > 0).count() >= 3, "{:?}", m.pledges);
    let usd = &m.money["USD"];
    let sum = |column: &str| count(db, &format!("SELECT CAST(SUM({column}) AS BIGINT) AS n FROM pledges")) as u64;
    assert_eq!(usd.captured_minor, sum("captured_minor"));
    assert_eq!(usd.refunded_minor, sum("refunded_minor"));
    assert_eq!(usd.raised_minor(), sum("captured_minor") - sum("refunded_minor"));
    for (queue, table) in [(&m.notifications, "notifications"), (&m.feed, "feed_deliveries")] {
        let by = |state: &str| count(db, &format!("SELECT COUNT(*) AS n FROM {table} WHERE status = '{state}'")) as u64;
        assert_eq!((queue.pending, queue.sent, queue.failed), (by("pending"), by("sent"), by("failed")), "{table}");
        assert!(queue.sent > 0, "{table}");
    }
    // Every delivery counted once by its outcome: each event was delivered twice.
    let outcome = |o: &str| m.webhooks.iter().find(|(l, _)| l == o).map_or(0, |(_, n)| *n);
    let processed = count(db, "SELECT COUNT(*) AS n FROM processed_provider_events");
    let applied = count(db, "SELECT COUNT(*) AS n FROM processed_provider_events WHERE outcome = 'applied'");
    assert_eq!(outcome("applied"), applied);
    assert_eq!(outcome("duplicate"), processed, "{:?}", m.webhooks);
    assert_eq!(m.webhooks.iter().map(|(_, n)| n).sum::<i64>(), 2 * processed, "{:?}", m.webhooks);
    let text = careforall::api::metrics::render(&m);
    assert!(text.contains(&format!("careforall_captured_minor{{currency=\"USD\"}} {}", usd.captured_minor)), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");

    // The migration that makes the table starts it from what the relay already did.
    let non_zero = || {
        let mut counts = metric_counts::read_all(db).unwrap();
        counts.retain(|_, n| *n != 0);
        counts
    };
    let kept = non_zero();
    db.execute("DELETE FROM metric_counts", &[]).unwrap();
    let statements = test_db.migration_statements("0006_metrics");
    for run in ["first", "again (every start)"] {
        for statement in &statements {
            db.execute(statement, &[]).unwrap();
        }
        assert_eq!(non_zero(), kept, "migration applied {run}");
    }
}
}

both_backends! {
fn cached_totals_equal_the_database_and_say_how_far_behind_they_are(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    let kv = MemoryKv::default();
    donation_day(db);
    // What a writing component does once its transactions are over.
    totals_cache::mark_appended(&kv).unwrap();
    assert_eq!(totals_cache::read(&kv, "c1", 0).unwrap(), None, "not stored: ask the database");
    // A campaign stored as it was created: zero, nothing relayed, the waiting events' lag.
    let c2 = careforall::storage::campaigns::get(db, "c2").unwrap().unwrap();
    totals_cache::store_new(&kv, &c2).unwrap();
    let (new, lag) = totals_cache::read(&kv, "c2", 1_010).unwrap().unwrap();
    assert_eq!((new.totals.pledge_count, new.last_event_id, new.goal_minor, lag), (0, None, 1_000_000, 1_000));

    let gateway = Gateway::default();
    let settings = settings(Vec::new());
    let now = AtomicI64::new(50_000);
    let clock = || now.load(Ordering::SeqCst);
    // A relay that committed and died before it stored the totals: the next run catches up.
    relay(db, &gateway, &settings, &clock).run().unwrap();
    assert_eq!(totals_cache::read(&kv, "c1", clock()).unwrap(), None);
    let caching = Relay {
        totals_cache: Some(&kv),
        ..relay(db, &gateway, &settings, &clock)
    };
    caching.run().unwrap();
    let agree = |campaign: &str| {
        let (cached, lag) = totals_cache::read(&kv, campaign, clock()).unwrap().unwrap();
        let read = totals::read(db, campaign).unwrap().unwrap();
        let relayed = read.relayed.unwrap();
        assert_eq!(
            (cached.totals, cached.last_event_id, cached.updated_at_ms),
            (relayed.totals, Some(relayed.last_event_id), Some(relayed.updated_at_ms))
        );
        assert_eq!((cached.goal_minor, cached.currency), (read.goal_minor, read.currency));
        (cached.totals, lag)
    };
    let (c1, lag) = agree("c1");
    assert_eq!(lag, 0, "nothing waits");
    agree("c2");

    // A new pledge waits for the relay: the stored totals are the old ones, and their lag
    // is the age of the waiting event.
    pledge(db, "c1", "p-new", 700, "new@example.org");
    totals_cache::mark_appended(&kv).unwrap();
    now.store(60_000, Ordering::SeqCst);
    let (stale, lag) = totals_cache::read(&kv, "c1", clock()).unwrap().unwrap();
    assert_eq!((stale.totals, lag), (c1, 60_000 - 10));

    caching.run().unwrap();
    let (fresh, lag) = agree("c1");
    assert_eq!((fresh.pledge_count, fresh.pledged_minor, lag), (c1.pledge_count + 1, c1.pledged_minor + 700, 0));

    // A relay that stops with events still waiting (here: a lease another relay holds)
    // leaves the marker set from the outbox itself.
    pledge(db, "c2", "p-held", 500, "held@example.org");
    claim_batch(db, 100, 1_000_000, clock()).unwrap();
    caching.run().unwrap();
    let (_, lag) = totals_cache::read(&kv, "c2", clock()).unwrap().unwrap();
    assert_eq!(lag, 60_000 - 10);

    // A campaign whose goal changed is read from the database until it moves again.
    totals_cache::forget(&kv, "c1").unwrap();
    assert_eq!(totals_cache::read(&kv, "c1", clock()).unwrap(), None);
}
}

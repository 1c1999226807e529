//! The donation store natively on real SQLite files: idempotency keys under concurrency,
//! and provider events delivered many times in shuffled order.

mod support;

use careforall::domain::idempotency::{KeyDecision, RecoveryPoint, LOCK_TIMEOUT_MS};
use careforall::domain::money::{Currency, PositiveAmount};
use careforall::domain::pledge::{PaymentEvent, PledgeStatus};
use careforall::domain::refund::RefundStatus;
use careforall::payments::report::{RefundReport, Report};
use careforall::storage::pledges::{self, NewPledge};
use careforall::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use careforall::storage::{idempotency, tx::transaction, DbError, SqlExecutor};
use support::fixtures::{self, count, shuffle};
use support::TestDb;

fn campaign(db: &dyn SqlExecutor) -> String {
    fixtures::campaign(db, "camp-1", 1_000_000)
}

fn pledge(db: &dyn SqlExecutor, id: &str, amount: u64) {
    fixtures::pledge(db, "camp-1", id, amount, "ana@example.org");
}

both_backends! {
fn a_key_is_in_flight_then_replayed_and_refuses_another_request(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    assert_eq!(idempotency::acquire(db, "guest", "k1", "h1", 0).unwrap(), KeyDecision::Start);
    assert_eq!(idempotency::acquire(db, "guest", "k1", "h1", 5).unwrap(), KeyDecision::InFlight);
    assert_eq!(idempotency::acquire(db, "guest", "k1", "h2", 5).unwrap(), KeyDecision::Mismatch);
    idempotency::finish(db, "guest", "k1", 201, r#"{"id":"p"}"#).unwrap();
    assert_eq!(
        idempotency::acquire(db, "guest", "k1", "h1", 6).unwrap(),
        KeyDecision::Replay { status: 201, body: r#"{"id":"p"}"#.into() }
    );
    assert_eq!(idempotency::acquire(db, "other-scope", "k1", "h2", 6).unwrap(), KeyDecision::Start);
}

fn a_crashed_request_is_resumed_from_its_recovery_point_after_the_lock_times_out(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db);
    assert_eq!(idempotency::acquire(db, "guest", "k", "h", 0).unwrap(), KeyDecision::Start);
    pledge(db, "p1", 500);
    idempotency::mark_pledge_created(db, "guest", "k", "p1").unwrap();
    // ...the process dies here, before the provider call and the answer.
    assert_eq!(idempotency::acquire(db, "guest", "k", "h", 1000).unwrap(), KeyDecision::InFlight);
    assert_eq!(
        idempotency::acquire(db, "guest", "k", "h", LOCK_TIMEOUT_MS).unwrap(),
        KeyDecision::Resume { point: RecoveryPoint::PledgeCreated, pledge_id: Some("p1".into()) }
    );
}

fn concurrent_first_uses_of_one_key_start_exactly_once(test_db: &TestDb) {
    let decisions: Vec<KeyDecision> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| idempotency::acquire(test_db.connect().as_ref(), "guest", "same", "h", 100).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(decisions.iter().filter(|d| **d == KeyDecision::Start).count(), 1, "{decisions:?}");
    assert!(decisions.iter().all(|d| matches!(d, KeyDecision::Start | KeyDecision::InFlight)));
}

fn two_hundred_pledges_with_every_event_delivered_five_times_in_shuffled_order(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db);
    // Each pledge's provider history; the final state is the last event's.
    let mut deliveries = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200u64 {
        let id = format!("p{i}");
        let amount = 1000 + i;
        pledge(db, &id, amount);
        let pay = |e| Report::Payment(e);
        let history: Vec<(&str, Report)> = match i % 4 {
            0 => vec![("payment_intent.amount_capturable_updated", pay(PaymentEvent::Authorized)), ("payment_intent.succeeded", pay(PaymentEvent::Captured { captured_minor: amount }))],
            // Declined, then paid with another card on the same payment.
            1 => vec![("payment_intent.payment_failed", pay(PaymentEvent::Failed)), ("payment_intent.succeeded", pay(PaymentEvent::Captured { captured_minor: amount }))],
            2 => vec![
                ("payment_intent.amount_capturable_updated", pay(PaymentEvent::Authorized)),
                ("payment_intent.succeeded", pay(PaymentEvent::Captured { captured_minor: amount })),
                ("charge.refund.updated", Report::Refund(RefundReport { provider_refund_id: format!("re_{id}"), refund_id: None, amount_minor: 100, status: RefundStatus::Succeeded, failure: None })),
            ],
            _ => vec![("payment_intent.amount_capturable_updated", pay(PaymentEvent::Authorized)), ("payment_intent.canceled", pay(PaymentEvent::Canceled))],
        };
        let last = match i % 4 {
            0 => PledgeStatus::Captured,
            1 => PledgeStatus::Captured,
            2 => PledgeStatus::PartiallyRefunded,
            _ => PledgeStatus::Canceled,
        };
        expected.push((id.clone(), last, history.len()));
        for (n, (kind, event)) in history.into_iter().enumerate() {
            for _ in 0..5 {
                deliveries.push((format!("evt_{i}_{n}"), kind, id.clone(), event.clone()));
            }
        }
    }
    shuffle(&mut deliveries, 0x5eed);
    let mut first_answers = std::collections::HashMap::new();
    for (event_id, kind, pledge_id, event) in &deliveries {
        let processed = apply_provider_event(
            db,
            &ProviderEvent { event_id, kind, payment_id: &format!("pi_{pledge_id}"), pledge_id: None, reports: std::slice::from_ref(event), via: Via::Webhook },
            &|| 20,
        )
        .unwrap();
        let first = first_answers.entry(event_id.clone()).or_insert_with(|| processed.response_body.clone());
        assert_eq!(*first, processed.response_body, "a redelivery gets the first answer");
    }
    for (id, status, events) in &expected {
        let p = pledges::get(db, id).unwrap().unwrap();
        assert_eq!(p.status, *status, "{id}");
        let history = pledges::history(db, id).unwrap();
        let by = |outcome: &str| history.iter().filter(|h| h.outcome == outcome).count();
        assert_eq!(by("duplicate"), events * 4, "{id}: each redelivery recorded as a duplicate");
        assert_eq!(by("applied") + by("recorded") + by("stale") + by("invalid"), events + 1, "{id}: each event decided once (+ created)");
    }
    // Exactly one outbox event per state change: creations plus applied transitions.
    let changes = count(db, "SELECT COUNT(*) AS n FROM pledge_events WHERE outcome = 'applied'");
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM outbox"), changes);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM processed_provider_events"), deliveries.len() as i64 / 5);
    // Captures that outran authorizations are applied, with the skipped state recorded.
    assert!(count(db, "SELECT COUNT(*) AS n FROM pledge_events WHERE outcome = 'implied'") > 0);
}

fn an_event_for_an_unknown_payment_is_recorded_and_answered_the_same_way_again(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    let reports = [Report::Payment(PaymentEvent::Captured { captured_minor: 5 })];
    let input = ProviderEvent { event_id: "evt_x", kind: "payment_intent.succeeded", payment_id: "pi_nobody", pledge_id: None, reports: &reports, via: Via::Webhook };
    let first = apply_provider_event(db, &input, &|| 1).unwrap();
    assert_eq!(first.outcome, "unknown_payment");
    let again = apply_provider_event(db, &input, &|| 2).unwrap();
    assert!(again.replayed);
    assert_eq!(again.response_body, first.response_body);
}

fn a_failed_transaction_leaves_nothing_behind(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db);
    let donor = fixtures::donor("ana@example.org");
    let result: Result<(), DbError> = transaction(db, || {
        pledges::insert(db, &NewPledge { id: "p", campaign_id: "camp-1", amount: PositiveAmount::new(5).unwrap(), currency: Currency::parse("USD").unwrap(), donor: &donor }, 1)?;
        Err(DbError::Other("crash before commit".into()))
    });
    assert!(result.is_err());
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM pledges"), 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM outbox"), 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM pledge_events"), 0);
}
}

both_backends! {
    fn concurrent_deliveries_of_one_event_apply_it_once(test_db: &TestDb) {
        {
            let db = test_db.connect();
            campaign(db.as_ref());
            pledge(db.as_ref(), "p1", 700);
        }
        let answers: Vec<(String, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let db = test_db.connect();
                        let reports = [Report::Payment(PaymentEvent::Captured { captured_minor: 700 })];
                        let input = ProviderEvent { event_id: "evt_same", kind: "payment_intent.succeeded", payment_id: "pi_p1", pledge_id: None, reports: &reports, via: Via::Webhook };
                        let p = apply_provider_event(db.as_ref(), &input, &|| 30).unwrap();
                        (p.response_body, p.replayed)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(answers.iter().filter(|(_, replayed)| !replayed).count(), 1);
        assert!(answers.windows(2).all(|w| w[0].0 == w[1].0), "every delivery got the first answer");
        let db = test_db.connect();
        let db = db.as_ref();
        assert_eq!(pledges::get(db, "p1").unwrap().unwrap().status, PledgeStatus::Captured);
        assert_eq!(count(db, "SELECT COUNT(*) AS n FROM outbox WHERE event_type = 'pledge.status_changed'"), 1);
    }
}

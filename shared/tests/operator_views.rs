//! The operators' views through the admin handler, on both backends: which pledges count
//! as stuck and from when, the provider's events newest first with their outcomes (a
//! replayed event shows as a duplicate), dead letters, pagination, and bad queries.

mod support;

use careforall::api::admin::{handle, Context};
use careforall::api::ApiRequest;
use careforall::domain::pledge::PaymentEvent;
use careforall::payments::provider::{
    CancelPayment, CapturePayment, ChargePage, CreatePayment, CreateRefund, Payment,
    PaymentProvider, ProviderError, ProviderRefund,
};
use careforall::payments::report::Report;
use careforall::storage::key_value::{KeyValue, KvError};
use careforall::storage::provider_events::{apply_provider_event, ProviderEvent, Via};
use careforall::storage::SqlExecutor;
use serde_json::Value;
use support::fixtures::{campaign, pledge};
use support::TestDb;

const ADMIN: &str = "admin-token";
/// The pledges were made at 10 and 11 ms (the fixtures' clock); "now" is an hour on.
const NOW_MS: i64 = 3_600_000;

struct NoProvider;

impl PaymentProvider for NoProvider {
    fn create_payment(&self, _: &CreatePayment<'_>) -> Result<Payment, ProviderError> {
        unreachable!("the views never call the provider")
    }
    fn capture(&self, _: &CapturePayment<'_>) -> Result<u64, ProviderError> {
        unreachable!()
    }
    fn cancel(&self, _: &CancelPayment<'_>) -> Result<(), ProviderError> {
        unreachable!()
    }
    fn refund(&self, _: &CreateRefund<'_>) -> Result<ProviderRefund, ProviderError> {
        unreachable!()
    }
    fn list_charges(&self, _: Option<&str>) -> Result<ChargePage, ProviderError> {
        unreachable!()
    }
}

struct NoStore;

impl KeyValue for NoStore {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(None)
    }
    fn set(&self, _: &str, _: &[u8]) -> Result<(), KvError> {
        Ok(())
    }
    fn delete(&self, _: &str) -> Result<(), KvError> {
        Ok(())
    }
}

fn get(db: &dyn SqlExecutor, path_and_query: &str, token: Option<&str>) -> (u16, Value) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut headers = Vec::new();
    if let Some(token) = token {
        headers.push(("authorization".to_string(), format!("Bearer {token}")));
    }
    let req = ApiRequest {
        method: "GET".into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: Vec::new(),
    };
    let ctx = Context {
        db,
        kv: &NoStore,
        admin_token: ADMIN,
        provider: &NoProvider,
        now_ms: NOW_MS,
    };
    let resp = handle(&req, &ctx);
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

fn event(db: &dyn SqlExecutor, pledge_id: &str, event_id: &str, report: PaymentEvent, at: i64) {
    let payment_id = format!("pi_{pledge_id}");
    apply_provider_event(
        db,
        &ProviderEvent {
            event_id,
            kind: "payment_intent.test",
            payment_id: &payment_id,
            pledge_id: Some(pledge_id),
            reports: &[Report::Payment(report)],
            via: Via::Webhook,
        },
        &|| at,
    )
    .unwrap();
}

fn ids(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
fn stuck_pledges_are_the_unsettled_ones_older_than_the_threshold(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db, "c1", 1_000_000);
    for id in ["p1", "p2", "p3", "p4", "p5"] {
        pledge(db, "c1", id, 1_000, "donor@example.org");
    }
    event(db, "p2", "evt_auth", PaymentEvent::Authorized, 20);
    event(db, "p3", "evt_cap", PaymentEvent::Captured { captured_minor: 1_000 }, 30);
    event(db, "p4", "evt_fail", PaymentEvent::Failed, 40);
    // p5 moved a minute ago: not stuck for 15 minutes, stuck for 30 seconds.
    event(db, "p5", "evt_auth5", PaymentEvent::Authorized, NOW_MS - 60_000);

    let (status, page) = get(db, "/api/v1/admin/stuck-pledges", Some(ADMIN));
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page, "id"), ["p1", "p2"], "pending and authorized, not captured or failed");
    assert_eq!(page["items"][0]["status"], "PENDING");
    assert_eq!(page["items"][1]["status"], "AUTHORIZED");
    assert_eq!(page["items"][1]["stuck_for_ms"], NOW_MS - 20);
    assert_eq!(page["items"][0]["provider_payment_id"], "pi_p1");
    assert!(page["items"][0].get("donor_email").is_none(), "no donor data in the view");

    let (_, recent) = get(db, "/api/v1/admin/stuck-pledges?older_than_secs=30", Some(ADMIN));
    assert_eq!(ids(&recent, "id"), ["p1", "p2", "p5"]);

    let (_, first) = get(db, "/api/v1/admin/stuck-pledges?older_than_secs=30&limit=2", Some(ADMIN));
    assert_eq!(ids(&first, "id"), ["p1", "p2"]);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = get(db, &format!("/api/v1/admin/stuck-pledges?older_than_secs=30&limit=2&cursor={cursor}"), Some(ADMIN));
    assert_eq!(ids(&second, "id"), ["p5"]);
    assert!(second["next_cursor"].is_null());

    for bad in ["older_than_secs=-1", "older_than_secs=x", "older_than_secs=1&older_than_secs=2", "older_than_secs=99999999", "status=PENDING"] {
        let (status, problem) = get(db, &format!("/api/v1/admin/stuck-pledges?{bad}"), Some(ADMIN));
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")), "{bad}");
    }
}

fn webhooks_list_the_providers_events_newest_first_with_their_outcomes(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    campaign(db, "c1", 1_000_000);
    pledge(db, "c1", "p1", 1_000, "donor@example.org");
    event(db, "p1", "evt_1", PaymentEvent::Captured { captured_minor: 1_000 }, 20);
    event(db, "p1", "evt_2", PaymentEvent::Authorized, 30);
    let (status, page) = get(db, "/api/v1/admin/webhooks", Some(ADMIN));
    assert_eq!(status, 200, "{page}");
    let events = ids(&page, "event_id");
    assert_eq!(events.first().map(String::as_str), Some("evt_2"), "newest first: {page}");
    assert!(events.contains(&"evt_1".to_string()));
    let late = &page["items"][0];
    assert_eq!(late["outcome"], "stale", "an authorization after the capture changes nothing");
    assert_eq!(late["pledge_id"], "p1");

    let (_, first) = get(db, "/api/v1/admin/webhooks?limit=1", Some(ADMIN));
    assert_eq!(ids(&first, "event_id"), ["evt_2"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = get(db, &format!("/api/v1/admin/webhooks?cursor={cursor}"), Some(ADMIN));
    assert!(!ids(&rest, "event_id").contains(&"evt_2".to_string()));
    assert!(ids(&rest, "event_id").contains(&"evt_1".to_string()));
}

fn dead_letters_page_and_every_view_is_for_admins_only(test_db: &TestDb) {
    let db = test_db.connect();
    let db = db.as_ref();
    let (status, page) = get(db, "/api/v1/admin/dead-letters", Some(ADMIN));
    assert_eq!((status, page["items"].as_array().map(Vec::len)), (200, Some(0)));
    for id in 1..=3 {
        db.execute(
            "INSERT INTO outbox_dead_letters (event_id, event_type, aggregate_id, attempts, error, dead_at_ms) \
             VALUES (?1, 'pledge.captured', 'p1', 5, 'no such campaign', 99)",
            &[id.into()],
        )
        .unwrap();
    }
    let (_, first) = get(db, "/api/v1/admin/dead-letters?limit=2", Some(ADMIN));
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][0]["error"], "no such campaign");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = get(db, &format!("/api/v1/admin/dead-letters?limit=2&cursor={cursor}"), Some(ADMIN));
    assert_eq!(rest["items"][0]["event_id"], 3);

    for view in ["stuck-pledges", "webhooks", "dead-letters"] {
        let path = format!("/api/v1/admin/{view}");
        assert_eq!(get(db, &path, None).0, 401, "{view} anonymous");
        assert_eq!(get(db, &path, Some("not-the-token")).0, 403, "{view} wrong token");
    }
}
}

//! `POST /api/v1/pledges` and the webhook handler natively, on both backends, with the
//! payment simulator as the provider over real HTTP.

mod support;

use careforall::api::pledges::{self, Context};
use careforall::api::webhooks;
use careforall::api::ApiRequest;
use careforall::domain::campaign::{
    CampaignDescription, CampaignStatus, CampaignTitle, NewCampaign,
};
use careforall::domain::money::{Currency, PositiveAmount};
use careforall::domain::pledge::PledgeStatus;
use careforall::payments::actions;
use careforall::payments::provider::{
    CancelReason, CaptureMode, CapturePayment, CreatePayment, CreateRefund, PaymentProvider,
    ProviderError,
};
use careforall::payments::signature::sign;
use careforall::payments::stripe::{HttpRequest, HttpResponse, HttpSend, Stripe};
use careforall::storage::{campaigns, SqlExecutor};
use serde_json::{json, Value};
use std::sync::OnceLock;
use support::TestDb;

/// A real HTTP client for the adapter.
struct Ureq;

impl HttpSend for Ureq {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let mut call =
            ureq::request(request.method, &request.url).timeout(std::time::Duration::from_secs(5));
        for (name, value) in &request.headers {
            call = call.set(name, value);
        }
        match call.send_bytes(&request.body) {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
                let status = resp.status();
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)
                    .map_err(|e| e.to_string())?;
                Ok(HttpResponse { status, body })
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// One simulator for the whole test binary, on its own runtime thread.
fn simulator() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let addr = payment_simulator::spawn(
                    "127.0.0.1:0".parse().unwrap(),
                    payment_simulator::Config::default(),
                )
                .await
                .unwrap();
                tx.send(format!("http://{addr}")).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
}

fn ledger_payments() -> Vec<Value> {
    let text = ureq::get(&format!("{}/_sim/ledger", simulator()))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let ledger: Value = serde_json::from_str(&text).unwrap();
    ledger["payments"].as_array().unwrap().clone()
}

fn ledger_payments_for(pledge_id: &str) -> usize {
    ledger_payments()
        .iter()
        .filter(|p| p["metadata"]["pledge_id"] == pledge_id)
        .count()
}

fn campaign(db: &dyn SqlExecutor, id: &str, status: CampaignStatus) {
    let new = NewCampaign {
        title: CampaignTitle::parse("Clinic").unwrap(),
        description: CampaignDescription::parse("").unwrap(),
        goal: PositiveAmount::new(1_000_000).unwrap(),
        currency: Currency::parse("USD").unwrap(),
        status,
    };
    campaigns::insert(db, id, &new, 1).unwrap();
}

fn request(key: Option<&str>, body: &Value) -> ApiRequest {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(k) = key {
        headers.push(("idempotency-key".into(), k.into()));
    }
    ApiRequest {
        method: "POST".into(),
        path: pledges::PATH.into(),
        headers,
        body: body.to_string().into_bytes(),
        ..Default::default()
    }
}

fn body(amount: u64) -> Value {
    json!({ "campaign_id": "camp", "amount_minor": amount, "currency": "USD", "donor": { "email": "ana@example.org", "name": "Ana" } })
}

fn create(db: &dyn SqlExecutor, base_url: &str, req: &ApiRequest) -> (u16, Value) {
    let stripe = Stripe {
        http: &Ureq,
        base_url,
        api_key: "sk_test_simulator",
    };
    let ctx = Context {
        db,
        provider: &stripe,
        capture: CaptureMode::Automatic,
        token_secret: b"test-token-secret",
        clock: &|| 1_000,
        new_id: &|| uuid::Uuid::new_v4().to_string(),
    };
    let resp = pledges::handle(req, &ctx);
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

fn intent(payment_id: &str) -> Value {
    ledger_payments()
        .into_iter()
        .find(|p| p["id"] == payment_id)
        .unwrap()
}

#[test]
fn manual_capture_then_partial_refunds_through_the_adapter_each_exactly_once() {
    let stripe = Stripe {
        http: &Ureq,
        base_url: simulator(),
        api_key: "sk_test_simulator",
    };
    let pledge_id = uuid::Uuid::new_v4().to_string();
    let payment = stripe
        .create_payment(&CreatePayment {
            pledge_id: &pledge_id,
            amount_minor: 5_000,
            currency: Currency::parse("USD").unwrap(),
            capture: CaptureMode::Manual,
        })
        .unwrap();
    assert_eq!(intent(&payment.id)["status"], "requires_capture");
    let capture = CapturePayment {
        pledge_id: &pledge_id,
        payment_id: &payment.id,
        amount_minor: Some(4_000),
    };
    assert_eq!(stripe.capture(&capture), Ok(4_000));
    assert_eq!(
        stripe.capture(&capture),
        Ok(4_000),
        "a retried capture replays"
    );
    assert_eq!(intent(&payment.id)["amount_received"], 4_000);

    let refund = |refund_id: &str, amount_minor| {
        stripe.refund(&CreateRefund {
            refund_id,
            payment_id: &payment.id,
            amount_minor,
        })
    };
    let first = refund("r-1", 1_500).unwrap();
    assert_eq!(
        refund("r-1", 1_500).unwrap(),
        first,
        "a retried refund replays"
    );
    assert_eq!(intent(&payment.id)["amount_refunded"], 1_500);
    assert!(matches!(
        refund("r-2", 3_000),
        Err(ProviderError::Rejected { status: 400, .. })
    ));
    refund("r-3", 2_500).unwrap();
    assert_eq!(intent(&payment.id)["amount_refunded"], 4_000);
}

fn count(db: &dyn SqlExecutor, table: &str) -> i64 {
    db.query(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
        .unwrap()
        .first()
        .unwrap()
        .i64("n")
        .unwrap()
}

both_backends! {
    fn a_pledge_gets_one_payment_and_replays_get_the_identical_answer(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        campaign(db, "camp", CampaignStatus::Active);
        let key = uuid::Uuid::new_v4().to_string();
        let (status, first) = create(db, simulator(), &request(Some(&key), &body(2500)));
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["pledge"]["status"], "PENDING");
        assert!(first["payment"]["client_secret"].as_str().unwrap().starts_with("pi_"));
        let (status, again) = create(db, simulator(), &request(Some(&key), &body(2500)));
        assert_eq!((status, &again), (201, &first));
        let pledge_id = first["pledge"]["id"].as_str().unwrap();
        assert_eq!(ledger_payments_for(pledge_id), 1);
        assert_eq!(count(db, "pledges"), 1);
        let counts = careforall::storage::metric_counts::read_all(db).unwrap();
        assert_eq!(counts.get(&("idempotency".into(), "replay".into())), Some(&1), "{counts:?}");
    }

    fn the_same_key_with_another_body_is_refused_and_writes_nothing(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        campaign(db, "camp", CampaignStatus::Active);
        let key = uuid::Uuid::new_v4().to_string();
        assert_eq!(create(db, simulator(), &request(Some(&key), &body(2500))).0, 201);
        let (status, problem) = create(db, simulator(), &request(Some(&key), &body(9900)));
        assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
        assert_eq!(count(db, "pledges"), 1);
    }

    fn refused_requests_leave_nothing_behind(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        campaign(db, "camp", CampaignStatus::Active);
        campaign(db, "closed", CampaignStatus::Closed);
        let (status, p) = create(db, simulator(), &request(None, &body(100)));
        assert_eq!((status, p["code"].as_str()), (400, Some("idempotency_key_missing")));
        let cases = [
            (json!({ "campaign_id": "camp", "amount_minor": 0, "currency": "USD", "donor": { "email": "a@b.org" } }), 422, "validation_failed"),
            (json!({ "campaign_id": "camp", "amount_minor": 100, "currency": "USD", "donor": { "email": "nope" } }), 422, "validation_failed"),
            (json!({ "campaign_id": "camp", "amount_minor": 100, "currency": "USD", "donor": { "email": "a@b.org", "vip": true } }), 400, "unknown_field"),
            (json!({ "campaign_id": "camp", "amount_minor": 100, "currency": "EUR", "donor": { "email": "a@b.org" } }), 422, "currency_mismatch"),
            (json!({ "campaign_id": "ghost", "amount_minor": 100, "currency": "USD", "donor": { "email": "a@b.org" } }), 404, "campaign_not_found"),
            (json!({ "campaign_id": "closed", "amount_minor": 100, "currency": "USD", "donor": { "email": "a@b.org" } }), 409, "campaign_not_accepting_pledges"),
        ];
        for (payload, status, code) in cases {
            let (got, p) = create(db, simulator(), &request(Some(&uuid::Uuid::new_v4().to_string()), &payload));
            assert_eq!((got, p["code"].as_str()), (status, Some(code)), "{payload}");
        }
        assert_eq!(count(db, "pledges"), 0);
        assert_eq!(count(db, "idempotency_keys"), 0);
        assert_eq!(count(db, "outbox"), 0);
    }

    fn a_provider_outage_leaves_the_key_resumable_and_never_doubles_the_payment(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        campaign(db, "camp", CampaignStatus::Active);
        let key = uuid::Uuid::new_v4().to_string();
        let dead = "http://127.0.0.1:9"; // nothing listens on the discard port
        let (status, p) = create(db, dead, &request(Some(&key), &body(4200)));
        assert_eq!((status, p["code"].as_str()), (502, Some("payment_provider_unavailable")));
        assert_eq!(count(db, "pledges"), 1, "the pledge exists, PENDING, waiting for its payment");
        let (status, created) = create(db, simulator(), &request(Some(&key), &body(4200)));
        assert_eq!(status, 201, "{created}");
        let (_, replay) = create(db, simulator(), &request(Some(&key), &body(4200)));
        assert_eq!(replay, created);
        assert_eq!(count(db, "pledges"), 1);
        assert_eq!(ledger_payments_for(created["pledge"]["id"].as_str().unwrap()), 1);
    }

    fn a_pledge_cancelled_before_its_payment_started_is_never_paid_on_resume(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        campaign(db, "camp", CampaignStatus::Active);
        let key = uuid::Uuid::new_v4().to_string();
        let dead = "http://127.0.0.1:9"; // nothing listens on the discard port
        let (status, _) = create(db, dead, &request(Some(&key), &body(4300)));
        assert_eq!(status, 502);
        let id = db
            .query("SELECT id FROM pledges", &[])
            .unwrap()
            .first()
            .unwrap()
            .text("id")
            .unwrap();
        // Abandoned: cancelled here only, since no payment exists at the provider.
        let stripe = Stripe { http: &Ureq, base_url: dead, api_key: "sk_test_simulator" };
        let canceled = actions::cancel(db, &stripe, &id, CancelReason::Abandoned, &|| 2_000).unwrap();
        assert_eq!(canceled.status, PledgeStatus::Canceled);
        let (status, p) = create(db, simulator(), &request(Some(&key), &body(4300)));
        assert_eq!((status, p["code"].as_str()), (409, Some("pledge_canceled")), "{p}");
        assert_eq!(ledger_payments_for(&id), 0, "no payment was started for the cancelled pledge");
    }

    fn fifty_concurrent_requests_with_one_key_make_one_pledge_and_one_payment(test_db: &TestDb) {
        {
            let db = test_db.connect();
            campaign(db.as_ref(), "camp", CampaignStatus::Active);
        }
        let key = uuid::Uuid::new_v4().to_string();
        let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|_| s.spawn(|| create(test_db.connect().as_ref(), simulator(), &request(Some(&key), &body(3100)))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
        assert!(!created.is_empty());
        assert!(answers.iter().all(|(s, b)| *s == 201 || (*s == 409 && b["code"] == "idempotency_request_in_progress")), "{answers:?}");
        assert!(created.windows(2).all(|w| w[0] == w[1]));
        let db = test_db.connect();
        let (status, retried) = create(db.as_ref(), simulator(), &request(Some(&key), &body(3100)));
        assert_eq!((status, &retried), (201, created[0]), "a 409 followed by a retry gets the original answer");
        assert_eq!(count(db.as_ref(), "pledges"), 1);
        assert_eq!(ledger_payments_for(retried["pledge"]["id"].as_str().unwrap()), 1);
    }

    fn webhooks_with_bad_signatures_are_refused_and_write_nothing(test_db: &TestDb) {
        let db = test_db.connect();
        let db = db.as_ref();
        let secret: &[u8] = b"whsec_test";
        let now_ms = 1_800_000_000_000i64;
        let event = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":5}}}"#;
        let call = |signature: Option<String>, body: &[u8]| {
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            if let Some(s) = signature {
                headers.push(("stripe-signature".into(), s));
            }
            let req = ApiRequest { method: "POST".into(), path: webhooks::PATH.into(), headers, body: body.to_vec(), ..Default::default() };
            let resp = webhooks::handle(&req, &webhooks::Context { db, secrets: &[secret], clock: &|| now_ms });
            let json: Value = serde_json::from_slice(&resp.body).unwrap();
            (resp.status, json["code"].as_str().map(str::to_string))
        };
        let t = now_ms / 1000;
        assert_eq!(call(None, event), (400, Some("invalid_signature_header".into())));
        assert_eq!(call(Some("t=x".into()), event), (400, Some("invalid_signature_header".into())));
        assert_eq!(call(Some(sign(&[b"wrong"], t, event)), event), (401, Some("invalid_signature".into())));
        assert_eq!(call(Some(sign(&[secret], t - 301, event)), event), (401, Some("invalid_signature".into())));
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":9}}}"#;
        assert_eq!(call(Some(sign(&[secret], t, event)), tampered), (401, Some("invalid_signature".into())));
        assert_eq!(count(db, "processed_provider_events"), 0);
        assert_eq!(count(db, "pledge_events"), 0);
        assert_eq!(call(Some(sign(&[secret], t, event)), event).0, 200, "a good signature is accepted");
    }
}

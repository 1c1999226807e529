//! One donation, one trace: with a real OTLP/HTTP receiver on 127.0.0.1, a pledge goes
//! through the provider (the simulator), its signed webhooks, the relay on its cron
//! schedule and the receipt; every step's span carries the same trace id. Done twice at
//! once: a donor whose request starts the trace (the host makes one), and a donor whose
//! browser sent a `traceparent` (the trace is theirs).

use harness::{both_backends, pledge_body, App, Backend, OtlpReceiver, ReceivedSpan};
use payment_simulator::Config;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

both_backends! {
    one_trace_per_donation => a_donation_is_one_trace_from_pledge_to_receipt,
}

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

struct Donation {
    pledge_id: String,
    payment_id: String,
}

async fn donate(app: &App, campaign: &str, key: &str, traceparent: Option<&str>) -> Donation {
    let body = pledge_body(campaign, 2_500, &format!("{key}@example.org"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("idempotency-key", key),
    ];
    if let Some(tp) = traceparent {
        headers.push(("traceparent", tp));
    }
    let answer = app
        .call(
            Method::POST,
            "/api/v1/pledges",
            &headers,
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.raw);
    Donation {
        pledge_id: answer.body["pledge"]["id"].as_str().unwrap().to_string(),
        payment_id: answer.body["payment"]["provider_payment_id"]
            .as_str()
            .unwrap()
            .to_string(),
    }
}

/// The spans of one donation's trace, and what they must show.
fn check_trace(
    spans: &[ReceivedSpan],
    donation: &Donation,
    receipt_id: &str,
    db: &str,
) -> Result<String, String> {
    let pledge_request = spans
        .iter()
        .filter(|s| s.name == "POST /api/v1/pledges" && s.kind == SERVER)
        .find(|s| {
            spans.iter().any(|c| {
                c.parent_span_id == s.span_id
                    && c.name == "spin_outbound_http.send_request"
                    && c.attribute("url.full")
                        .is_some_and(|u| u.contains("/v1/payment_intents"))
            }) && spans.iter().any(|a| {
                a.trace_id == s.trace_id
                    && a.attribute("pledge.id") == Some(donation.pledge_id.as_str())
            })
        })
        .ok_or("no pledge request span with its provider call and a relay apply in its trace")?;
    let trace = pledge_request.trace_id.clone();
    if pledge_request.attribute("http.response.status_code") != Some("201") {
        return Err(format!(
            "pledge span status {:?}",
            pledge_request.attribute("http.response.status_code")
        ));
    }
    let store_calls = spans
        .iter()
        .filter(|s| {
            s.parent_span_id == pledge_request.span_id && s.attribute("db.system.name") == Some(db)
        })
        .count();
    if store_calls == 0 {
        return Err(format!("no {db} span under the pledge request"));
    }
    let webhooks: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| {
            s.trace_id == trace && s.name == "POST /api/v1/payments/webhook" && s.kind == SERVER
        })
        .collect();
    if webhooks.is_empty() {
        return Err("no webhook request in the trace".into());
    }
    let applies: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| {
            s.trace_id == trace
                && s.name.starts_with("outbox_relay.apply pledge.")
                && s.attribute("pledge.id") == Some(donation.pledge_id.as_str())
        })
        .collect();
    if applies.is_empty() {
        return Err("no relay apply of this pledge in the trace".into());
    }
    // Each apply belongs with the relay batch that did it (a span of the relay's own trace).
    for apply in &applies {
        let batch = apply
            .links
            .first()
            .ok_or("an apply span without its batch link")?;
        if !spans.iter().any(|s| {
            s.name == "outbox_relay.batch" && (&s.trace_id, &s.span_id) == (&batch.0, &batch.1)
        }) {
            return Err(format!(
                "apply span links to a batch span never received: {batch:?}"
            ));
        }
    }
    let delivered = spans.iter().any(|s| {
        s.trace_id == trace
            && s.name == "outbox_relay.deliver"
            && s.kind == CLIENT
            && s.attribute("notification.id") == Some(receipt_id)
            && !s.error
    });
    if !delivered {
        return Err(format!(
            "no delivery span of receipt {receipt_id} in the trace"
        ));
    }
    Ok(trace)
}

async fn a_donation_is_one_trace_from_pledge_to_receipt(backend: Backend) {
    let otlp = OtlpReceiver::start().await.unwrap();
    let endpoint = otlp.url().to_string();
    let app = App::start_with(
        backend,
        Config::default(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            (
                "SPIN_VARIABLE_OTEL_EXPORTER_OTLP_ENDPOINT",
                endpoint.as_str(),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await
    .unwrap();
    let cron = app.start_cron_relay().await.unwrap();
    let campaign = app.campaign_with_goal("USD", 1_000_000).await;

    let started_here = donate(&app, &campaign, "trace-a", None).await;
    let client_parent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let from_browser = donate(&app, &campaign, "trace-b", Some(&client_parent)).await;

    app.deliveries_settled(Duration::from_secs(30))
        .await
        .unwrap();
    let deliveries = app.sim_get("/_sim/deliveries").await.unwrap();
    app.relay_idle(Duration::from_secs(30), false)
        .await
        .unwrap();
    let receipt_of = |inbox: &[Value], pledge: &str| {
        inbox
            .iter()
            .find(|n| n["body"]["pledge_id"] == pledge)
            .and_then(|n| n["idempotency_key"].as_str())
            .map(str::to_string)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (receipt_a, receipt_b) = loop {
        let inbox = app.inbox("notifications").await.unwrap();
        if let (Some(a), Some(b)) = (
            receipt_of(&inbox, &started_here.pledge_id),
            receipt_of(&inbox, &from_browser.pledge_id),
        ) {
            break (a, b);
        }
        assert!(Instant::now() < deadline, "receipts not sent: {inbox:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let db = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (trace_a, trace_b, spans) = loop {
        let spans = otlp.spans();
        match (
            check_trace(&spans, &started_here, &receipt_a, db),
            check_trace(&spans, &from_browser, &receipt_b, db),
        ) {
            (Ok(a), Ok(b)) => break (a, b, spans),
            (a, b) => assert!(
                Instant::now() < deadline,
                "traces incomplete after 30 s: started here {a:?}, from the browser {b:?}; \
                 {} spans: {:#?}",
                spans.len(),
                spans
                    .iter()
                    .map(|s| (&s.service, &s.name, &s.trace_id))
                    .collect::<Vec<_>>()
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    assert_ne!(trace_a, trace_b, "two donations, two traces");
    assert_eq!(trace_b, CLIENT_TRACE, "a browser's traceparent is kept");
    let browser_pledge = spans
        .iter()
        .find(|s| s.trace_id == CLIENT_TRACE && s.name == "POST /api/v1/pledges")
        .unwrap();
    assert_eq!(browser_pledge.parent_span_id, CLIENT_SPAN);

    // Every webhook the app received belongs to one of the two donations' traces.
    let webhook_spans: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "POST /api/v1/payments/webhook")
        .collect();
    assert_eq!(
        webhook_spans.len() as u64,
        deliveries["delivered"].as_u64().unwrap(),
        "one span per webhook delivered: {deliveries}"
    );
    for span in &webhook_spans {
        assert!(
            [&trace_a, &trace_b].contains(&&span.trace_id),
            "webhook outside the donations' traces: {span:?}"
        );
    }
    for (donation, trace) in [(&started_here, &trace_a), (&from_browser, &trace_b)] {
        let ledger = app.ledger().await.unwrap();
        assert!(
            ledger.to_string().contains(&donation.payment_id),
            "{ledger}"
        );
        let per_trace = webhook_spans
            .iter()
            .filter(|s| &s.trace_id == trace)
            .count();
        assert!(
            per_trace >= 1,
            "no webhook of payment {} in its trace",
            donation.payment_id
        );
    }

    // The logs name the same ids: the request line of each pledge, the relay's batch line.
    let app_log = app.host.log();
    let relay_log = cron.log();
    for trace in [&trace_a, &trace_b] {
        assert!(
            app_log
                .lines()
                .any(|l| l.contains("\"path\":\"/api/v1/pledges\"")
                    && l.contains(&format!("\"trace_id\":\"{trace}\""))),
            "no request line with trace {trace}"
        );
    }
    for pledge in [&started_here.pledge_id, &from_browser.pledge_id] {
        assert!(
            relay_log
                .lines()
                .any(|l| l.contains("\"msg\":\"relay batch\"")
                    && l.contains(pledge.as_str())
                    && l.contains("\"trace_id\"")),
            "no relay batch line names pledge {pledge}"
        );
    }
}

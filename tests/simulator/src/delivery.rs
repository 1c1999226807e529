//! Signed webhook delivery with chaos: duplicates, random delays (hence reordering), lost
//! first attempts, and retries with exponential backoff until the app answers 2xx.

use crate::state::Simulator;
use careforall::payments::signature::sign;
use careforall::telemetry::TraceParent;
use rand::Rng;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The metadata key (and header) of the trace context a payment's webhooks carry.
pub const TRACEPARENT: &str = "traceparent";

/// Emits one event of `kind` about `object`: kept for `GET /v1/events` and delivered
/// per the current knobs (not at all while no webhook URL is set), with the trace
/// context in the object's metadata as `traceparent`.
pub fn dispatch(sim: &Simulator, kind: &str, object: Value) {
    let config = sim.config();
    let trace = object["metadata"][TRACEPARENT]
        .as_str()
        .and_then(TraceParent::parse);
    let event = json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": kind,
        "created": now(),
        "data": { "object": object },
    });
    sim.books.lock().unwrap().events.record(event.clone());
    let Some(url) = config.webhook_url.clone() else {
        return;
    };
    let event = event.to_string();
    let mut rng = rand::rng();
    let extra = (0..config.max_duplicates)
        .filter(|_| rng.random_bool(config.duplicate_rate.clamp(0.0, 1.0)))
        .count() as u64;
    {
        let mut books = sim.books.lock().unwrap();
        books.deliveries.events += 1;
        books.deliveries.copies += 1 + extra;
        books.deliveries.in_flight += 1 + extra;
    }
    for _ in 0..=extra {
        let delay = if config.max_delay_ms == 0 {
            0
        } else {
            rng.random_range(0..=config.max_delay_ms)
        };
        let lose_first = rng.random_bool(config.first_failure_rate.clamp(0.0, 1.0));
        tokio::spawn(deliver(
            sim.clone(),
            Delivery {
                url: url.clone(),
                event: event.clone(),
                trace,
            },
            delay,
            lose_first,
        ));
    }
}

struct Delivery {
    url: String,
    event: String,
    trace: Option<TraceParent>,
}

async fn deliver(sim: Simulator, delivery: Delivery, delay_ms: u64, lose_first: bool) {
    let Delivery { url, event, trace } = delivery;
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    let config = sim.config();
    let mut backoff = config.backoff_ms;
    let mut outcome = "gave_up";
    for attempt in 0..config.max_attempts.max(1) {
        sim.books.lock().unwrap().deliveries.attempts += 1;
        if attempt == 0 && lose_first {
            sim.books.lock().unwrap().deliveries.lost_on_purpose += 1;
        } else {
            // Signed at send time, as a provider re-signs each retry.
            let signature = sign(&[config.webhook_secret.as_bytes()], now(), event.as_bytes());
            let mut request = sim
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("stripe-signature", signature);
            if let Some(trace) = &trace {
                request = request.header(TRACEPARENT, trace.to_string());
            }
            let sent = request
                .body(event.clone())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => {
                    outcome = "delivered";
                    break;
                }
                _ => sim.books.lock().unwrap().deliveries.failed_responses += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(backoff)).await;
        backoff = (backoff * 2).min(2_000);
    }
    let mut books = sim.books.lock().unwrap();
    books.deliveries.in_flight -= 1;
    match outcome {
        "delivered" => books.deliveries.delivered += 1,
        _ => books.deliveries.gave_up += 1,
    }
}

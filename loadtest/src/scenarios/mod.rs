//! One Goose scenario per function, and the donation-day mix of them. Each transaction
//! names its requests by route (`POST /api/v1/pledges`), so the figures come per kind.

mod campaigns;
mod donor_history;
mod payment_webhook;
mod pledge;
mod refunds;
mod totals;

pub use payment_webhook::signature;

use crate::cli::Scenario as Chosen;
use crate::world;
use goose::goose::GooseResponse;
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use serde_json::Value;

/// The donation-day mix, as Goose user weights: of every 20 users, 12 read (totals,
/// campaigns, histories), 5 pledge, 2 are the provider retrying its webhooks and 1 is an
/// admin refunding. Each user loops its transactions without pause.
/// Makes one scenario.
type Make = fn() -> Result<Scenario, GooseError>;

const DONATION_DAY: [(Make, usize); 6] = [
    (totals::scenario, 6),
    (campaigns::scenario, 3),
    (donor_history::scenario, 3),
    (pledge::scenario, 5),
    (payment_webhook::scenario, 2),
    (refunds::scenario, 1),
];

pub fn register(attack: GooseAttack, chosen: Chosen) -> Result<GooseAttack, GooseError> {
    let single: Make = match chosen {
        Chosen::CreatePledge => pledge::scenario,
        Chosen::PaymentWebhook => payment_webhook::scenario,
        Chosen::GetTotals => totals::scenario,
        Chosen::Campaigns => campaigns::scenario,
        Chosen::DonorHistory => donor_history::scenario,
        Chosen::Refunds => refunds::scenario,
        Chosen::DonationDay => {
            return DONATION_DAY
                .iter()
                .try_fold(attack, |attack, (make, weight)| {
                    Ok(attack.register_scenario(make()?.set_weight(*weight)?))
                })
        }
    };
    Ok(attack.register_scenario(single()?))
}

/// What a call answered: whether it was an idempotent replay, its JSON body (`Null` when
/// it has none), and the request's metric, to mark it failed when the body is wrong.
pub struct Answer {
    pub replayed: bool,
    pub body: Value,
    pub request: GooseRequestMetric,
}

/// How long a donor's client keeps sending a write again with the same key when told to
/// wait: past the 60 s a crashed request's key stays in progress.
const DONOR_PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

/// One named request: `expect` is the status that counts as success in the figures. A
/// write with an `Idempotency-Key` answered 409 (in progress), 429 or 502/503 with
/// `Retry-After` is sent again with the same key after that wait, as a donor's client
/// does; only the answer it ends with counts.
pub async fn call(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    expect: u16,
) -> Result<Answer, Box<TransactionError>> {
    let keyed = headers
        .iter()
        .any(|(h, _)| h.eq_ignore_ascii_case("idempotency-key"));
    let started = std::time::Instant::now();
    loop {
        let mut builder = user.get_request_builder(&method, path)?;
        for (header, value) in headers {
            builder = builder.header(*header, *value);
        }
        if let Some(body) = &body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let request = GooseRequest::builder()
            .method(method)
            .path(path)
            .name(name)
            .expect_status_code(expect)
            .set_request_builder(builder)
            .build();
        let GooseResponse {
            mut request,
            response,
        } = user.request(request).await?;
        let response = response.map_err(|e| format!("{name}: {e}"))?;
        let status = response.status().as_u16();
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let (true, Some(wait), 409 | 429 | 502 | 503) = (keyed, wait, status) {
            if started.elapsed() < DONOR_PATIENCE {
                user.set_success(&mut request)?;
                world::get()
                    .donor_retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_secs(wait.clamp(1, 5))).await;
                continue;
            }
        }
        return answer(name, expect, status, response, request).await;
    }
}

async fn answer(
    name: &str,
    expect: u16,
    status: u16,
    response: reqwest::Response,
    request: GooseRequestMetric,
) -> Result<Answer, Box<TransactionError>> {
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let text = response.text().await.unwrap_or_default();
    if status != expect {
        return Err(format!("{name}: expected {expect}, got {status}: {text}").into());
    }
    Ok(Answer {
        replayed,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        request,
    })
}

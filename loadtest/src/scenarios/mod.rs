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

/// One named request: `expect` is the status that counts as success in the figures.
pub async fn call(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    expect: u16,
) -> Result<Answer, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, path)?;
    for (header, value) in headers {
        builder = builder.header(*header, *value);
    }
    if let Some(body) = body {
        builder = builder
            .header("content-type", "application/json")
            .body(body);
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(path)
        .name(name)
        .expect_status_code(expect)
        .set_request_builder(builder)
        .build();
    let GooseResponse { request, response } = user.request(request).await?;
    let response = response.map_err(|e| format!("{name}: {e}"))?;
    let status = response.status().as_u16();
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

//! create-pledge: donors pledging to campaigns drawn with a skew, each with a fresh
//! `Idempotency-Key`; one in ten retries with the same key (the answer was lost on the
//! way) and must get the same pledge back, marked as a replay.

use super::call;
use crate::donors;
use crate::world::{self, Acknowledged};
use goose::prelude::*;

const ROUTE: &str = "/api/v1/pledges";
const RETRY_SHARE: f64 = 0.1;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("CreatePledge").register_transaction(transaction!(create_pledge)))
}

async fn create_pledge(user: &mut GooseUser) -> TransactionResult {
    let world = world::get();
    let campaign_id = world.campaign().to_string();
    let body = donors::pledge_body(&campaign_id);
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("idempotency-key", key.as_str())];
    let raw = body.to_string();
    let mut created = call(
        user,
        GooseMethod::Post,
        ROUTE,
        "/api/v1/pledges",
        &headers,
        Some(raw.clone()),
        201,
    )
    .await?;
    let (Some(id), Some(token)) = (
        created.body["pledge"]["id"].as_str().map(str::to_string),
        created.body["donor_token"].as_str().map(str::to_string),
    ) else {
        return user.set_failure(
            "a 201 without the pledge id or donor token",
            &mut created.request,
            None,
            None,
        );
    };
    world.acknowledge(Acknowledged {
        pledge_id: id.clone(),
        campaign_id,
        amount_minor: body["amount_minor"].as_u64().unwrap_or_default(),
        donor_token: token,
    });
    if rand::random_bool(RETRY_SHARE) {
        let mut again = call(
            user,
            GooseMethod::Post,
            ROUTE,
            "/api/v1/pledges (same key again)",
            &headers,
            Some(raw),
            201,
        )
        .await?;
        if !again.replayed || again.body["pledge"]["id"] != id.as_str() {
            return user.set_failure(
                "a retry with the same key was not the first answer replayed",
                &mut again.request,
                None,
                None,
            );
        }
    }
    Ok(())
}

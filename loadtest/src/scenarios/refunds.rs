//! refunds: an admin refunding captured pledges, half first and (one time in two) the
//! rest later; one refund in five is sent twice with the same key and must be replayed.
//! With nothing left to refund, the admin reads refunded pledges.

use super::call;
use crate::world;
use goose::prelude::*;
use serde_json::json;
use std::time::Duration;

const RETRY_SHARE: f64 = 0.2;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("Refunds").register_transaction(transaction!(refund_pledge)))
}

/// About half of `captured`, nudged so that neither it nor the rest is one of the
/// simulator's refund amounts that stay pending or fail later (ending in 91 to 93): this
/// scenario counts on refunds that succeed at once (`tests/money_back.rs` plays the rest).
fn half_that_succeeds(captured: u64) -> u64 {
    let later = |amount: u64| (91..=93).contains(&(amount % 100));
    let mut half = (captured / 2).max(1);
    while half > 1 && (later(half) || later(captured - half)) {
        half -= 1;
    }
    half
}

async fn refund_pledge(user: &mut GooseUser) -> TransactionResult {
    let world = world::get();
    let auth = world.admin_auth();
    let next = world.refundable.lock().unwrap().pop_front();
    let Some((pledge_id, captured)) = next else {
        return read_refunded(user, &auth).await;
    };
    let path = format!("/api/v1/pledges/{pledge_id}/refund");
    let name = "/api/v1/pledges/{id}/refund";
    let partial = json!({ "amount_minor": half_that_succeeds(captured), "reason": "donor asked for half back" })
        .to_string();
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", key.as_str()),
    ];
    let first = call(
        user,
        GooseMethod::Post,
        &path,
        name,
        &headers,
        Some(partial.clone()),
        201,
    )
    .await?;
    if rand::random_bool(RETRY_SHARE) {
        let mut again = call(
            user,
            GooseMethod::Post,
            &path,
            "/api/v1/pledges/{id}/refund (same key again)",
            &headers,
            Some(partial),
            201,
        )
        .await?;
        if !again.replayed || again.body["refund"]["id"] != first.body["refund"]["id"] {
            return user.set_failure(
                "a retried refund was not the first answer replayed",
                &mut again.request,
                None,
                None,
            );
        }
    }
    if captured > 1 && rand::random_bool(0.5) {
        let key = uuid::Uuid::new_v4().to_string();
        let headers = [
            ("authorization", auth.as_str()),
            ("idempotency-key", key.as_str()),
        ];
        let rest = json!({ "reason": "donor asked for the rest" }).to_string();
        call(
            user,
            GooseMethod::Post,
            &path,
            name,
            &headers,
            Some(rest),
            201,
        )
        .await?;
    }
    world.refunded.lock().unwrap().push(pledge_id);
    Ok(())
}

async fn read_refunded(user: &mut GooseUser, auth: &str) -> TransactionResult {
    let picked = {
        let refunded = world::get().refunded.lock().unwrap();
        (!refunded.is_empty()).then(|| refunded[rand::random_range(0..refunded.len())].clone())
    };
    let Some(pledge_id) = picked else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    };
    let path = format!("/api/v1/pledges/{pledge_id}");
    let mut read = call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/pledges/{id} (admin)",
        &[("authorization", auth)],
        None,
        200,
    )
    .await?;
    if read.body["refunds"].as_array().is_none_or(Vec::is_empty) {
        return user.set_failure(
            "a refunded pledge lists no refund",
            &mut read.request,
            None,
            None,
        );
    }
    Ok(())
}

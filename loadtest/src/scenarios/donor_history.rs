//! donor-history: donors reading their pledge (its own token), their whole history (the
//! email token from a receipt), and visitors reading a campaign's public feed.

use super::call;
use crate::world;
use goose::prelude::*;
use std::time::Duration;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("DonorHistory")
        .register_transaction(transaction!(read_own_pledge))
        .register_transaction(transaction!(read_history))
        .register_transaction(transaction!(read_public_feed)))
}

async fn read_own_pledge(user: &mut GooseUser) -> TransactionResult {
    let Some(pledge) = world::get().known_pledge() else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    };
    let path = format!("/api/v1/pledges/{}", pledge.pledge_id);
    let auth = format!("Bearer {}", pledge.donor_token);
    let mut read = call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/pledges/{id}",
        &[("authorization", &auth)],
        None,
        200,
    )
    .await?;
    if read.body["pledge"]["id"] != pledge.pledge_id.as_str() {
        return user.set_failure(
            "a pledge token read another pledge",
            &mut read.request,
            None,
            None,
        );
    }
    Ok(())
}

async fn read_history(user: &mut GooseUser) -> TransactionResult {
    let tokens = &world::get().email_tokens;
    if tokens.is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    }
    let path = format!(
        "/api/v1/donors/me/pledges?token={}",
        tokens[rand::random_range(0..tokens.len())]
    );
    let mut read = call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/donors/me/pledges",
        &[],
        None,
        200,
    )
    .await?;
    if read.body["items"].as_array().is_none_or(Vec::is_empty) {
        return user.set_failure(
            "an email token's history is empty",
            &mut read.request,
            None,
            None,
        );
    }
    Ok(())
}

async fn read_public_feed(user: &mut GooseUser) -> TransactionResult {
    let path = format!("/api/v1/campaigns/{}/donations", world::get().campaign());
    call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/campaigns/{id}/donations",
        &[],
        None,
        200,
    )
    .await?;
    Ok(())
}

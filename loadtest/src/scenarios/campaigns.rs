//! campaigns: visitors browsing the campaign list (a third of them turn the page) and
//! opening one campaign.

use super::call;
use crate::world;
use goose::prelude::*;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("Campaigns")
        .register_transaction(transaction!(browse_list))
        .register_transaction(transaction!(open_campaign)))
}

async fn browse_list(user: &mut GooseUser) -> TransactionResult {
    let mut first = call(
        user,
        GooseMethod::Get,
        "/api/v1/campaigns",
        "/api/v1/campaigns",
        &[],
        None,
        200,
    )
    .await?;
    if !first.body["items"].is_array() {
        return user.set_failure(
            "a campaign list without items",
            &mut first.request,
            None,
            None,
        );
    }
    if let Some(cursor) = first.body["next_cursor"].as_str() {
        if rand::random_bool(1.0 / 3.0) {
            let path = format!("/api/v1/campaigns?cursor={cursor}");
            call(
                user,
                GooseMethod::Get,
                &path,
                "/api/v1/campaigns?cursor",
                &[],
                None,
                200,
            )
            .await?;
        }
    }
    Ok(())
}

async fn open_campaign(user: &mut GooseUser) -> TransactionResult {
    let path = format!("/api/v1/campaigns/{}", world::get().campaign());
    call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/campaigns/{id}",
        &[],
        None,
        200,
    )
    .await?;
    Ok(())
}

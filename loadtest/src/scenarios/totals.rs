//! get-totals: readers watching the campaigns' totals, the popular campaigns most.

use super::call;
use crate::world;
use goose::prelude::*;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("GetTotals").register_transaction(transaction!(read_totals)))
}

async fn read_totals(user: &mut GooseUser) -> TransactionResult {
    let path = format!("/api/v1/campaigns/{}/totals", world::get().campaign());
    let mut read = call(
        user,
        GooseMethod::Get,
        &path,
        "/api/v1/campaigns/{id}/totals",
        &[],
        None,
        200,
    )
    .await?;
    if !read.body["raised_minor"].is_u64() {
        return user.set_failure("totals without raised_minor", &mut read.request, None, None);
    }
    Ok(())
}

//! payment-webhook: the provider delivering the events of real payments (held back when
//! the pledges were made), signed as it signs them, in a shuffled order with some events
//! twice, as parallel deliveries and retries bring them. When every payment has had its
//! events, deliveries already made are repeated (a provider retrying).

use super::call;
use crate::world::{self, World};
use careforall::payments::signature::sign;
use goose::prelude::*;
use rand::seq::SliceRandom;
use std::time::Duration;

const ROUTE: &str = "/api/v1/payments/webhook";
const DUPLICATE_SHARE: f64 = 0.3;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("PaymentWebhook").register_transaction(transaction!(deliver_payment_events)))
}

/// A payment's events as the provider delivers them: shuffled, some twice.
fn delivery_order(group: &[String]) -> Vec<&String> {
    let mut sends: Vec<&String> = group.iter().collect();
    sends.extend(group.iter().filter(|_| rand::random_bool(DUPLICATE_SHARE)));
    sends.shuffle(&mut rand::rng());
    sends
}

/// The `Stripe-Signature` header for `event`, stamped now.
pub fn signature(world: &World, event: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    sign(&[&world.webhook_secret], now, event.as_bytes())
}

async fn deliver_payment_events(user: &mut GooseUser) -> TransactionResult {
    let world = world::get();
    let fresh = world.webhook_queue.lock().unwrap().pop_front();
    let group = match &fresh {
        Some(group) => Some(group.clone()),
        None => {
            let replayed = world.webhook_replayed.lock().unwrap();
            (!replayed.is_empty()).then(|| replayed[rand::random_range(0..replayed.len())].clone())
        }
    };
    let Some(group) = group else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    };
    for event in delivery_order(&group) {
        let signed = signature(world, event);
        call(
            user,
            GooseMethod::Post,
            ROUTE,
            "/api/v1/payments/webhook",
            &[("stripe-signature", &signed)],
            Some(event.clone()),
            200,
        )
        .await?;
    }
    if let Some(group) = fresh {
        world.webhook_replayed.lock().unwrap().push(group);
    }
    Ok(())
}

//! A Stripe-compatible payment provider, small enough to read, chaotic enough to matter.
//!
//! API (form-encoded like Stripe, `Authorization: Bearer <api key>`, `Idempotency-Key`
//! honoured with Stripe's rules): `POST /v1/payment_intents`, `GET
//! /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/confirm` (another card after
//! a decline: `payment_method=pm_card_visa` pays, `pm_card_chargeDeclined` is declined
//! again), `POST /v1/payment_intents/{id}/cancel`, `POST /v1/payment_intents/{id}/capture`,
//! `POST /v1/refunds` (its fate by amount, see `refunds`). The first attempt is decided by the amount, like Stripe's test
//! cards: minor units ending in `13` are declined (the intent returns to
//! `requires_payment_method` and may be confirmed again), ending in `77` are authorized
//! and held for a manual capture, anything else is authorized and captured. Every state change is delivered as a signed webhook (`Stripe-Signature`)
//! to the configured URL, with knobs for duplicates, reordering (random delays), failed
//! first deliveries and retries with backoff.
//!
//! Control: `GET/POST /_sim/config` (the knobs), `GET /_sim/ledger` (what was charged and
//! refunded, per payment, for reconciliation), `GET /_sim/deliveries` (webhook counts).
//! `GET /v1/charges` lists charges (Stripe's list format) for the app's reconciliation.
//! `POST/GET /_sim/inbox/{channel}` plays the notification gateway and feed subscribers.
//! `POST /_sim/refunds/{id}/settle` gives a pending or failing refund its outcome;
//! `POST /_sim/payment_intents/{id}/dispute` and `POST /_sim/disputes/{id}/close` play a
//! dispute (see `disputes`). `GET /pay/{id}` is the hosted payment page a browser is sent
//! to for another card (see `hosted_page`).

mod api;
mod delivery;
mod disputes;
mod events;
mod hosted_page;
mod inbox;
mod intents;
mod refunds;
mod state;

pub use state::{Config, Ledger, Simulator};

use std::net::SocketAddr;

/// Serves the simulator on `addr` until the process ends; returns the bound address.
pub async fn spawn(addr: SocketAddr, config: Config) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = api::router(Simulator::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(bound)
}

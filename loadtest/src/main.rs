//! `loadtest <scenario>`: makes the run's data through the API, runs the Goose attack,
//! lets the webhooks and the relay settle, then checks the books. Exits 1 when a request
//! failed or the books are not exact.

mod books;
mod cli;
mod donors;
mod http;
mod scenarios;
mod settle;
mod setup;
mod summary;
mod world;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Scenario, MAX_RUN_SECS};
use goose::prelude::*;
use http::Http;
use setup::Endpoints;
use std::sync::Mutex;
use world::World;

#[tokio::main]
async fn main() {
    match run(Cli::parse()).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Needs of each scenario beyond the campaigns.
fn needs(scenario: Scenario) -> (bool, bool) {
    let seeded = !matches!(scenario, Scenario::CreatePledge | Scenario::PaymentWebhook);
    let held_back = matches!(scenario, Scenario::PaymentWebhook | Scenario::DonationDay);
    (seeded, held_back)
}

async fn run(mut cli: Cli) -> anyhow::Result<bool> {
    let app = cli
        .goose
        .host
        .clone()
        .context("the app's base URL is Goose's --host, e.g. --host http://127.0.0.1:3000")?;
    bound_the_run(&mut cli)?;
    let at = Endpoints {
        app: app.trim_end_matches('/').to_string(),
        provider: cli.provider_url.trim_end_matches('/').to_string(),
        provider_auth: format!("Bearer {}", cli.provider_api_key),
        admin_auth: format!("Bearer {}", cli.admin_token),
    };
    let http = Http::new();
    let secret = cli
        .webhook_secrets
        .split(',')
        .next()
        .unwrap_or_default()
        .trim();

    println!("setup: {} campaigns", cli.campaigns);
    let campaigns = setup::campaigns(&http, &at, cli.campaigns.max(1)).await?;
    let mut world = World::new(
        cli.admin_token.clone(),
        secret.as_bytes().to_vec(),
        campaigns.clone(),
    );
    let (seeded, held_back) = needs(cli.scenario);
    if seeded {
        println!(
            "setup: {} pledges for the readers and the refunds",
            cli.seed_pledges
        );
        let made = setup::pledges(&http, &at, &campaigns, cli.seed_pledges).await?;
        settle::wait(&http, &at, cli.settle_secs).await?;
        world.refundable = Mutex::new(setup::captured(&http, &at, &made).await?.into());
        world.email_tokens = setup::email_tokens(&http, &at).await;
        world.acknowledged = Mutex::new(made);
    }
    if held_back {
        println!(
            "setup: {} pledges whose webhooks the load test delivers",
            cli.seed_pledges
        );
        let (made, groups) =
            setup::held_back_events(&http, &at, &campaigns, cli.seed_pledges).await?;
        world.acknowledged.get_mut().unwrap().extend(made);
        world.webhook_queue = Mutex::new(groups.into());
    }
    let world = world.install();

    let attack = GooseAttack::initialize_with_config(cli.goose.clone())?;
    let metrics = scenarios::register(attack, cli.scenario)?.execute().await?;

    deliver_the_rest(&http, &at, world).await?;
    println!("settling: waiting for webhooks in flight and the relay's backlog");
    settle::wait(&http, &at, cli.settle_secs).await?;
    let rows = summary::rows(&metrics);
    summary::print(cli.scenario.name(), &metrics, &rows);
    let verdict = books::check(&http, &at, world).await?;
    println!("books: {}", verdict.summary);
    println!(
        "donor retries (same key, after a 409 in progress, 429 or 502/503 with Retry-After): {}",
        world
            .donor_retries
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    for finding in &verdict.findings {
        println!("books: {finding}");
    }
    let errors: usize = rows.iter().map(|r| r.errors).sum();
    Ok(errors == 0 && verdict.exact())
}

/// Every load loop stops on its own: a run time is set when none is, and none above
/// [`MAX_RUN_SECS`] is taken.
fn bound_the_run(cli: &mut Cli) -> anyhow::Result<()> {
    let goose = &mut cli.goose;
    if goose.iterations.is_none() && goose.run_time.is_none() {
        goose.run_time = Some("30s".into());
    }
    if let Some(run_time) = &goose.run_time {
        let secs = goose::util::parse_timespan(run_time).unwrap_or(0) as u64;
        anyhow::ensure!(
            (1..=MAX_RUN_SECS).contains(&secs),
            "--run-time {run_time} is outside 1 s..{MAX_RUN_SECS} s"
        );
    }
    Ok(())
}

/// The held-back events no user delivered during the run, delivered now in the order
/// the provider emitted them, so every payment reaches the app before the books are read.
async fn deliver_the_rest(http: &Http, at: &Endpoints, world: &World) -> anyhow::Result<()> {
    let rest: Vec<_> = world.webhook_queue.lock().unwrap().drain(..).collect();
    let url = format!("{}/api/v1/payments/webhook", at.app);
    for event in rest.iter().flatten() {
        let signature = scenarios::signature(world, event);
        http.post_raw(&url, &[("stripe-signature", &signature)], event.clone())
            .await?;
    }
    Ok(())
}

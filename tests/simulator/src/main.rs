//! `payment-simulator --listen 127.0.0.1:4242 --webhook-url http://127.0.0.1:3000/api/v1/payments/webhook`

use clap::Parser;
use payment_simulator::Config;

#[derive(Parser)]
#[command(about = "A Stripe-compatible payment provider simulator")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:4242")]
    listen: std::net::SocketAddr,
    #[arg(long, env = "SIM_API_KEY", default_value = "sk_test_simulator")]
    api_key: String,
    #[arg(long, env = "SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    #[arg(long, env = "SIM_WEBHOOK_SECRET", default_value = "whsec_simulator")]
    webhook_secret: String,
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    #[arg(long, default_value_t = 0)]
    max_delay_ms: u64,
    #[arg(long, default_value_t = 0.0)]
    first_failure_rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config {
        api_key: args.api_key,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        duplicate_rate: args.duplicate_rate,
        max_delay_ms: args.max_delay_ms,
        first_failure_rate: args.first_failure_rate,
        ..Config::default()
    };
    let addr = payment_simulator::spawn(args.listen, config).await?;
    println!("{{\"msg\":\"payment simulator listening\",\"url\":\"http://{addr}\"}}");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

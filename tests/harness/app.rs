//! The whole app under test: the root spin.toml on the host, on SQLite or a throw-away
//! Postgres database, with the payment simulator (in this process, over real HTTP) as its
//! provider, delivering webhooks to the host.

use super::host::free_port;
use super::{Host, HostBuilder, TempPgDatabase};
use anyhow::{Context, Result};
use payment_simulator::Config;
use serde_json::Value;
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const DONOR_TOKEN_SECRET: &str = "test-donor-token-secret";
pub const WEBHOOK_SECRET: &str = "whsec_simulator";
pub const PROVIDER_API_KEY: &str = "sk_test_simulator";
pub const RELAY_SECRET: &str = "test-relay-secret";
pub const FEED_SIGNING_SECRET: &str = "test-feed-secret";
/// Leases short enough that a test sees a dead relay's batch taken over.
pub const RELAY_LEASE_MS: i64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct App {
    pub host: Host,
    pub backend: Backend,
    pub sim_url: String,
    builder: HostBuilder,
    state: tempfile::TempDir,
    pg: Option<TempPgDatabase>,
}

/// The variables every run of the real app needs, for a provider at `sim_url`.
pub fn app_builder(sim_url: &str) -> HostBuilder {
    HostBuilder::new("spin.toml")
        .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SPIN_VARIABLE_DONOR_TOKEN_SECRET", DONOR_TOKEN_SECRET)
        .env("SPIN_VARIABLE_WEBHOOK_SECRETS", WEBHOOK_SECRET)
        .env("SPIN_VARIABLE_PAYMENT_PROVIDER_API_KEY", PROVIDER_API_KEY)
        .env("SPIN_VARIABLE_PAYMENT_PROVIDER_URL", sim_url)
        .env("SPIN_VARIABLE_RELAY_SECRET", RELAY_SECRET)
        .env("SPIN_VARIABLE_RELAY_LEASE_MS", RELAY_LEASE_MS.to_string())
        .env(
            "SPIN_VARIABLE_NOTIFICATION_URL",
            format!("{sim_url}/_sim/inbox/notifications"),
        )
        .env("SPIN_VARIABLE_FAILURE_SPIKE_THRESHOLD", "5")
        .env(
            "SPIN_VARIABLE_FEED_SUBSCRIBERS",
            format!("{sim_url}/_sim/inbox/feed"),
        )
        .env("SPIN_VARIABLE_FEED_SIGNING_SECRET", FEED_SIGNING_SECRET)
}

impl App {
    /// Starts the simulator with `sim` (its webhook URL pointed at the host) and the app.
    pub async fn start(backend: Backend, sim: Config) -> Result<App> {
        Self::start_with(backend, sim, &[]).await
    }

    /// As [`App::start`], with extra environment (`SPIN_VARIABLE_*`) for the app.
    pub async fn start_with(
        backend: Backend,
        mut sim: Config,
        env: &[(&str, &str)],
    ) -> Result<App> {
        let port = free_port();
        sim.webhook_url = Some(format!("http://127.0.0.1:{port}/api/v1/payments/webhook"));
        let sim_addr = payment_simulator::spawn("127.0.0.1:0".parse()?, sim).await?;
        let sim_url = format!("http://{sim_addr}");
        let state = tempfile::tempdir()?;
        // Links in emails and the way back from the provider's payment page lead here.
        let mut builder = app_builder(&sim_url)
            .port(port)
            .state_dir(state.path())
            .sqlite_migrations()
            .env(
                "SPIN_VARIABLE_PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{port}"),
            )
            .env("SPIN_VARIABLE_PAYMENT_PAGE_URL", format!("{sim_url}/pay"));
        for (key, value) in env {
            builder = builder.env(key, *value);
        }
        let mut pg = None;
        if backend == Backend::Postgres {
            let db = TempPgDatabase::create().await?;
            db.migrate().await?;
            // Tests run side by side against one server (max_connections 100).
            builder = builder
                .arg("--max-postgres-connections")
                .arg("12")
                .env("SPIN_VARIABLE_DATABASE_BACKEND", "postgres")
                .env("SPIN_VARIABLE_POSTGRES_URL", db.url());
            pg = Some(db);
        }
        let host = builder.clone().start().await?;
        Ok(App {
            host,
            backend,
            sim_url,
            builder,
            state,
            pg,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.host.url(path)
    }

    /// Starts the host again on the same port and data (after a crash or a stop).
    pub async fn restart(&mut self) -> Result<()> {
        self.host.kill();
        self.host = self.builder.clone().start().await?;
        Ok(())
    }

    /// Another host running the relay on Spin's cron trigger (spin-cron.toml, every
    /// second) over the same data, as deployed beside the app.
    pub async fn start_cron_relay(&self) -> Result<Host> {
        self.builder
            .clone()
            .manifest("spin-cron.toml")
            .port(free_port())
            .start()
            .await
    }

    /// One relay run through `POST /internal/outbox/relay`; returns its report.
    pub async fn relay_once(&self) -> Result<Value> {
        let response = reqwest::Client::new()
            .post(self.url("/internal/outbox/relay"))
            .bearer_auth(RELAY_SECRET)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status == 200, "relay run answered {status}: {body}");
        Ok(body)
    }

    /// An admin route's JSON answer; anything but 200 is an error.
    async fn admin_json(&self, path: &str) -> Result<Value> {
        let answer = self.admin_get(path).await;
        anyhow::ensure!(answer.status == 200, "GET {path}: {}", answer.raw);
        Ok(answer.body)
    }

    /// How many guest Postgres statements took each call, from the host's metrics:
    /// `(call, result)` → count, e.g. `("query", "no_rows")`.
    pub async fn postgres_statements(
        &self,
    ) -> Result<std::collections::BTreeMap<(String, String), u64>> {
        let text = reqwest::get(self.url("/.well-known/spin-host/metrics"))
            .await?
            .text()
            .await?;
        let mut counts = std::collections::BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("spin_host_postgres_statements_total{") else {
                continue;
            };
            let (labels, value) = rest.split_once("} ").context("a metric line")?;
            let label = |name: &str| {
                labels
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                    .map(|v| v.trim_end_matches('"').to_string())
                    .unwrap_or_default()
            };
            counts.insert((label("call"), label("result")), value.trim().parse()?);
        }
        Ok(counts)
    }

    /// On Postgres, asserts that every statement without result rows went through
    /// `execute`: on Spin 4.0.0–4.0.2 a `query` of one never returns (DESIGN.md §15).
    pub async fn no_rowless_queries(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let counts = self.postgres_statements().await.unwrap();
        let count = |call: &str, result: &str| {
            counts
                .get(&(call.to_string(), result.to_string()))
                .copied()
                .unwrap_or(0)
        };
        assert_eq!(count("query", "no_rows"), 0, "{counts:?}");
        assert!(
            count("execute", "no_rows") > 0 && count("query", "rows") > 0,
            "{counts:?}"
        );
    }

    /// The relay's health figures (`GET /api/v1/admin/relay`).
    pub async fn relay_health(&self) -> Result<Value> {
        self.admin_json("/api/v1/admin/relay").await
    }

    /// Waits until nothing is left to publish or send, running the relay through its
    /// route on each round when `drive` (otherwise the cron relays are doing it).
    pub async fn relay_idle(&self, within: Duration, drive: bool) -> Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            if drive {
                self.relay_once().await?;
            }
            let health = self.relay_health().await?;
            if health["backlog"] == 0
                && health["notifications"]["pending"] == 0
                && health["feed"]["pending"] == 0
            {
                return Ok(health);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "relay not idle after {within:?}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// What the simulator's inbox `channel` received (the notification gateway is
    /// `notifications`).
    pub async fn inbox(&self, channel: &str) -> Result<Vec<Value>> {
        Ok(serde_json::from_value(
            self.sim_get(&format!("/_sim/inbox/{channel}")).await?,
        )?)
    }

    /// Reconciliation (`GET /api/v1/admin/reconciliation`), provider included.
    pub async fn reconciliation(&self) -> Result<Value> {
        self.admin_json("/api/v1/admin/reconciliation").await
    }

    /// SIGKILL: no drain, no cleanup, as a machine crash looks to the process.
    pub fn crash(&self) {
        self.host.signal(libc::SIGKILL);
    }

    pub async fn sim_get(&self, path: &str) -> Result<Value> {
        Ok(reqwest::get(format!("{}{path}", self.sim_url))
            .await?
            .json()
            .await?)
    }

    /// What the simulator charged and refunded, per payment.
    pub async fn ledger(&self) -> Result<Value> {
        self.sim_get("/_sim/ledger").await
    }

    /// Waits until the simulator has no webhook copy left to deliver.
    pub async fn deliveries_settled(&self, within: Duration) -> Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let stats = self.sim_get("/_sim/deliveries").await?;
            if stats["in_flight"] == 0 {
                return Ok(stats);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "webhook deliveries still in flight after {within:?}: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `sql` (no parameters) against the app's database; every value as text.
    pub async fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        match &self.pg {
            Some(db) => db.query_text(sql).await,
            None => {
                // `--state-dir` holds Spin's default database directly.
                let path = self.state.path().join("sqlite_db.db");
                let sql = sql.to_string();
                tokio::task::spawn_blocking(move || sqlite_query(&path, &sql)).await?
            }
        }
    }
}

fn sqlite_query(path: &std::path::Path, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let conn =
        rusqlite::Connection::open(path).with_context(|| format!("open {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => None,
                        rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                        rusqlite::types::ValueRef::Text(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                        other => Some(format!("{other:?}")),
                    })
                })
                .collect()
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

impl Drop for App {
    fn drop(&mut self) {
        self.host.kill();
        if let Some(db) = self.pg.take() {
            // A thread of its own: drop may run inside a runtime that cannot block.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(db.drop_now()))
            })
            .join();
        }
    }
}

//! The README's run command as a newcomer meets it: `scripts/up` from an empty state
//! folder, several times in a row. Each time the app must answer, a pledge must reach
//! the campaign's totals (so the relay started beside the app is alive too), and
//! stopping `scripts/up` (SIGTERM, or Ctrl-C to its process group) must stop every
//! process it started.

use anyhow::{bail, Context, Result};
use harness::{free_port, pledge_body, repo_root};
use reqwest::Client;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "first-run-admin-token";
const STARTS: usize = 5;

/// One scripts/up at a time: each builds first, and two would wait on cargo's lock.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One `scripts/up` run in a process group of its own (as a terminal would start it).
struct Up {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Up {
    fn start(state: &Path) -> Result<Up> {
        let (app, sim) = (free_port(), free_port());
        let log = state.with_extension("log");
        let out = std::fs::File::create(&log)?;
        let mut cmd = Command::new(repo_root().join("scripts/up"));
        // The environment of the shell that ran the tests, not the one cargo gives a test
        // binary: cargo's own variables would make the builds in scripts/up rebuild the host.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if (name.starts_with("CARGO") && name != "CARGO_HOME")
                || name.starts_with("RUSTUP_TOOLCHAIN")
                || name == "LD_LIBRARY_PATH"
                || name == "RUST_RECURSION_COUNT"
            {
                cmd.env_remove(name.as_ref());
            }
        }
        let child = cmd
            .current_dir(repo_root())
            .args(["--state-dir", &state.display().to_string()])
            .args(["--listen", &format!("127.0.0.1:{app}")])
            .args(["--simulator-listen", &format!("127.0.0.1:{sim}")])
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("SPIN_VARIABLE_DATABASE_BACKEND")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .context("spawn scripts/up")?;
        Ok(Up {
            child,
            base: format!("http://127.0.0.1:{app}"),
            log,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn group(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether any process of the run's group is still alive.
    fn group_alive(&self) -> bool {
        unsafe { libc::kill(-self.group(), 0) == 0 }
    }

    async fn wait_ready(&mut self, client: &Client) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "scripts/up exited with {status} before serving:\n{}",
                    self.log()
                );
            }
            if self.log().contains("CareForAll is up") {
                let health = client.get(format!("{}/health", self.base)).send().await;
                if health.is_ok_and(|r| r.status().is_success()) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("scripts/up did not serve within 300 s:\n{}", self.log())
    }

    /// Signals the run and waits until every process of its group is gone.
    async fn stop(mut self, signal: i32, to_group: bool) -> Result<()> {
        let target = if to_group {
            -self.group()
        } else {
            self.group()
        };
        unsafe { libc::kill(target, signal) };
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let exited = self.child.try_wait()?.is_some();
            if exited && !self.group_alive() {
                return Ok(());
            }
            if Instant::now() > deadline {
                unsafe { libc::kill(-self.group(), libc::SIGKILL) };
                let _ = self.child.wait();
                bail!(
                    "after signal {signal}, scripts/up exited: {exited}, processes left in its group: {}\n{}",
                    self.group_alive(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.group_alive() {
            unsafe { libc::kill(-self.group(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

async fn post(client: &Client, url: String, headers: &[(&str, &str)], body: Value) -> Value {
    let mut req = client.post(url).json(&body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.expect("request reaches the app");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// A campaign, a pledge the simulator settles, and the totals showing it: only the
/// relay moves totals, so this proves both processes run.
async fn pledge_reaches_totals(client: &Client, base: &str, round: usize) -> Result<()> {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let campaign = post(
        client,
        format!("{base}/api/v1/campaigns"),
        &[("authorization", &auth)],
        json!({"title": "Clean water", "goal_minor": 100_000, "currency": "USD"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = format!("first-run-{round}");
    post(
        client,
        format!("{base}/api/v1/pledges"),
        &[("idempotency-key", &key)],
        pledge_body(&campaign, 2_500, "ada@example.org"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut totals = Value::Null;
    while Instant::now() < deadline {
        totals = client
            .get(format!("{base}/api/v1/campaigns/{campaign}/totals"))
            .send()
            .await?
            .json()
            .await?;
        if totals["raised_minor"] == 2_500 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the pledge never reached the totals within 30 s: {totals}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_up_starts_from_an_empty_state_folder_every_time() {
    let _serial = SERIAL.lock().await;
    let client = Client::new();
    let root = tempfile::tempdir().unwrap();
    for round in 0..STARTS {
        let state = root.path().join(format!("state-{round}"));
        let mut up = Up::start(&state).unwrap();
        up.wait_ready(&client)
            .await
            .unwrap_or_else(|e| panic!("start {round}: {e:#}"));
        pledge_reaches_totals(&client, &up.base, round)
            .await
            .unwrap_or_else(|e| panic!("start {round}: {e:#}\n{}", up.log()));
        assert!(
            !up.log().contains("database is locked"),
            "start {round}:\n{}",
            up.log()
        );
        // Alternate the ways a user stops it: SIGTERM to the script, Ctrl-C to the group.
        let (signal, to_group) = if round % 2 == 0 {
            (libc::SIGTERM, false)
        } else {
            (libc::SIGINT, true)
        };
        up.stop(signal, to_group)
            .await
            .unwrap_or_else(|e| panic!("start {round}: {e:#}"));
    }
}

/// A relay that dies is not a silent failure: scripts/up stops everything and exits
/// non-zero, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_up_stops_when_the_relay_dies() {
    let _serial = SERIAL.lock().await;
    let client = Client::new();
    let root = tempfile::tempdir().unwrap();
    let mut up = Up::start(&root.path().join("state")).unwrap();
    up.wait_ready(&client).await.unwrap();
    let relay = Command::new("pgrep")
        .args(["-g", &up.group().to_string(), "-f", "spin-cron.toml"])
        .output()
        .unwrap();
    let pid: i32 = String::from_utf8_lossy(&relay.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no relay process in the group:\n{}", up.log()));
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = up.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "scripts/up kept running:\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "{}", up.log());
    assert!(up.log().contains("relay stopped"), "{}", up.log());
    let deadline = Instant::now() + Duration::from_secs(40);
    while up.group_alive() {
        assert!(Instant::now() < deadline, "processes left:\n{}", up.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

use super::{host_binary, repo_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How to start a host: manifest, environment, extra flags.
#[derive(Clone)]
pub struct HostBuilder {
    manifest: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
    runtime_config: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    port: Option<u16>,
}

/// A running host process; killed when dropped.
pub struct Host {
    child: Option<Child>,
    pub base_url: String,
    pub port: u16,
    pub state_dir: PathBuf,
    log_path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl HostBuilder {
    /// `manifest` is relative to the repository root.
    pub fn new(manifest: &str) -> Self {
        HostBuilder {
            manifest: repo_root().join(manifest),
            env: Vec::new(),
            args: Vec::new(),
            runtime_config: None,
            state_dir: None,
            port: None,
        }
    }

    /// The same settings with another manifest (relative to the repository root).
    pub fn manifest(mut self, manifest: &str) -> Self {
        self.manifest = repo_root().join(manifest);
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// A runtime config file (relative to the repository root), copied into the state
    /// folder so relative paths in it land there.
    pub fn runtime_config(mut self, path: &str) -> Self {
        self.runtime_config = Some(repo_root().join(path));
        self
    }

    /// Share a state folder with another host (several instances on one SQLite file).
    pub fn state_dir(mut self, dir: &Path) -> Self {
        self.state_dir = Some(dir.to_path_buf());
        self
    }

    /// Listen on this loopback port (e.g. to restart on the port webhooks are sent to).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Starts the host and waits until it serves, or fails with what it printed.
    pub async fn start(self) -> Result<Host> {
        let (temp, state_dir) = match self.state_dir {
            Some(dir) => (None, dir),
            None => {
                let t = tempfile::tempdir()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let port = self.port.unwrap_or_else(free_port);
        let log_path = state_dir.join(format!("host-{port}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(host_binary());
        cmd.arg("up")
            .arg("-f")
            .arg(&self.manifest)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state-dir")
            .arg(&state_dir);
        if let Some(rc) = &self.runtime_config {
            let copy = state_dir.join("runtime-config.toml");
            std::fs::copy(rc, &copy).with_context(|| format!("copy {}", rc.display()))?;
            cmd.arg("--runtime-config-file").arg(copy);
        }
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn().context("spawn the host")?;
        let mut host = Host {
            child: Some(child),
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            state_dir,
            log_path,
            _temp: temp,
        };
        host.wait_ready().await?;
        Ok(host)
    }
}

impl Host {
    async fn wait_ready(&mut self) -> Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait()? {
                bail!("host exited with {status} before serving:\n{}", self.log());
            }
            if let Ok(resp) = client
                .get(self.url("/.well-known/spin/health"))
                .send()
                .await
            {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("host did not serve within 120 s:\n{}", self.log())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Everything the host printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("host is running").id()
    }

    pub fn signal(&self, signal: i32) {
        unsafe {
            libc::kill(self.pid() as i32, signal);
        }
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&mut self, within: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("host still running after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a host expecting it to fail; returns what it printed.
pub async fn start_failure(builder: HostBuilder) -> String {
    match builder.start().await {
        Ok(_) => panic!("host started but was expected to fail"),
        Err(e) => format!("{e:#}"),
    }
}

impl HostBuilder {
    /// Applies every `migrations/sqlite/*.sql` script in order, as `scripts/up` does.
    pub fn sqlite_migrations(mut self) -> Self {
        let dir = repo_root().join("migrations/sqlite");
        let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("migrations/sqlite exists")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        scripts.sort();
        for script in scripts {
            self.args.push("--sqlite".into());
            self.args.push(format!("@{}", script.display()));
        }
        self
    }
}

//! `runtime-config.toml` in Spin's format: where each SQLite database and key-value store
//! lives. Labels not named here fall back to Spin's defaults in the state folder.
//!
//! Path rules follow Spin: a relative key-value `path` resolves against the runtime config
//! file's folder, a relative SQLite `path` against the working directory, and a SQLite
//! database without a `path` is in memory.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfigFile {
    state_dir: Option<PathBuf>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, SqliteDecl>,
    #[serde(default)]
    key_value_store: BTreeMap<String, KvDecl>,
    outbound_http: Option<OutboundHttpDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundHttpDecl {
    connection_pooling: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum SqliteDecl {
    Spin { path: Option<PathBuf> },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum KvDecl {
    Spin { path: Option<PathBuf> },
    Redis { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvBackend {
    /// A SQLite file holding Spin's `spin_key_value` table.
    Sqlite(PathBuf),
    Redis(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    File(PathBuf),
    /// A fresh in-memory database for each connection, as Spin does without a `path`.
    InMemory,
}

/// Where every label resolves to, after defaults.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub sqlite: BTreeMap<String, SqliteLocation>,
    pub key_value: BTreeMap<String, KvBackend>,
    /// `[outbound_http] connection_pooling`: keep outbound connections for reuse (Spin's
    /// default, on).
    pub outbound_connection_pooling: bool,
}

impl RuntimeConfig {
    /// Reads `file` (if any). The `default` labels fall back to `<state_dir>/sqlite_db.db`
    /// and `<state_dir>/sqlite_key_value.db` as in Spin. `state_dir` is the folder given
    /// on the command line, else the file's `state_dir`, else `default_state_dir`.
    pub fn load(
        file: Option<&Path>,
        state_dir: Option<&Path>,
        default_state_dir: &Path,
    ) -> Result<Self> {
        let (decl, base) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read runtime config {}", path.display()))?;
                let decl: RuntimeConfigFile = toml::from_str(&text)
                    .with_context(|| format!("{} is not a runtime config this host understands (supported: [sqlite_database.*] type \"spin\", [key_value_store.*] types \"spin\" and \"redis\", [outbound_http] connection_pooling)", path.display()))?;
                (
                    decl,
                    path.parent().map(Path::to_path_buf).unwrap_or_default(),
                )
            }
            None => (RuntimeConfigFile::default(), PathBuf::new()),
        };
        let state_dir = state_dir
            .map(Path::to_path_buf)
            .or(decl.state_dir.clone())
            .unwrap_or_else(|| default_state_dir.to_path_buf());
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let cwd = std::env::current_dir()?;
        let mut sqlite = BTreeMap::new();
        for (label, SqliteDecl::Spin { path }) in decl.sqlite_database {
            let location = match path {
                Some(p) => SqliteLocation::File(cwd.join(p)),
                None => SqliteLocation::InMemory,
            };
            sqlite.insert(label, location);
        }
        sqlite
            .entry("default".into())
            .or_insert_with(|| SqliteLocation::File(state_dir.join("sqlite_db.db")));
        let mut key_value = BTreeMap::new();
        for (label, kv) in decl.key_value_store {
            let backend = match kv {
                KvDecl::Spin { path } => KvBackend::Sqlite(
                    path.map(resolve)
                        .unwrap_or_else(|| state_dir.join("sqlite_key_value.db")),
                ),
                KvDecl::Redis { url } => {
                    if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                        bail!("key_value_store.{label}: url `{url}` must start with redis:// or rediss://");
                    }
                    KvBackend::Redis(url)
                }
            };
            key_value.insert(label, backend);
        }
        key_value
            .entry("default".into())
            .or_insert_with(|| KvBackend::Sqlite(state_dir.join("sqlite_key_value.db")));
        let outbound_connection_pooling = decl
            .outbound_http
            .and_then(|o| o.connection_pooling)
            .unwrap_or(true);
        Ok(RuntimeConfig {
            sqlite,
            key_value,
            outbound_connection_pooling,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_live_in_the_state_dir() {
        let rc = RuntimeConfig::load(None, None, Path::new("/s")).unwrap();
        assert_eq!(
            rc.sqlite["default"],
            SqliteLocation::File("/s/sqlite_db.db".into())
        );
        assert_eq!(
            rc.key_value["default"],
            KvBackend::Sqlite("/s/sqlite_key_value.db".into())
        );
        assert!(rc.outbound_connection_pooling, "Spin pools by default");
    }

    #[test]
    fn outbound_connection_pooling_can_be_turned_off_as_in_spin() {
        let dir = std::env::temp_dir().join(format!("rc-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rc.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            RuntimeConfig::load(Some(&file), None, Path::new("/s"))
        };
        assert!(
            !load("[outbound_http]\nconnection_pooling = false\n")
                .unwrap()
                .outbound_connection_pooling
        );
        assert!(
            load("[outbound_http]\n")
                .unwrap()
                .outbound_connection_pooling
        );
        let err = load("[outbound_http]\nmax_pool = 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("max_pool"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_spin_and_redis_stores_and_refuses_unknown_types() {
        let dir = std::env::temp_dir().join(format!("rc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rc.toml");
        std::fs::write(
            &file,
            "state_dir = \"/from-file\"\n[sqlite_database.default]\ntype = \"spin\"\npath = \"data/app.db\"\n[sqlite_database.scratch]\ntype = \"spin\"\n[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n[key_value_store.local]\ntype = \"spin\"\npath = \"kv.db\"\n",
        )
        .unwrap();
        let rc = RuntimeConfig::load(Some(&file), None, Path::new("/s")).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            rc.sqlite["default"],
            SqliteLocation::File(cwd.join("data/app.db"))
        );
        assert_eq!(rc.sqlite["scratch"], SqliteLocation::InMemory);
        assert_eq!(
            rc.key_value["cache"],
            KvBackend::Redis("redis://127.0.0.1:6379".into())
        );
        assert_eq!(rc.key_value["local"], KvBackend::Sqlite(dir.join("kv.db")));
        assert_eq!(
            rc.key_value["default"],
            KvBackend::Sqlite("/from-file/sqlite_key_value.db".into())
        );
        let rc =
            RuntimeConfig::load(Some(&file), Some(Path::new("/flag")), Path::new("/s")).unwrap();
        assert_eq!(
            rc.key_value["default"],
            KvBackend::Sqlite("/flag/sqlite_key_value.db".into()),
            "--state-dir wins over the file"
        );
        std::fs::write(&file, "[key_value_store.x]\ntype = \"azure_cosmos\"\n").unwrap();
        let err = RuntimeConfig::load(Some(&file), None, Path::new("/s")).unwrap_err();
        assert!(format!("{err:#}").contains("azure_cosmos"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `fermyon:spin/key-value@2.0.0` on Spin's two store types: a SQLite file holding the
//! `spin_key_value` table (Spin's default), and Redis.

use crate::bindings::spin::fermyon::spin2_0_0::key_value::{Error, Host, HostStore};
use crate::config::component::ComponentConfig;
use crate::config::runtime_config::KvBackend;
use crate::factors::sqlite::ConnectionMode;
use crate::observe::trace::TraceScope;
use anyhow::{Context, Result};
use redis::AsyncCommands;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Resource, ResourceTable};

/// One opened backend, shared by every instance that opens its label.
pub enum Backend {
    Sqlite(SqliteStore),
    Redis(Box<redis::aio::ConnectionManager>),
}

/// A `spin` store: one connection for the whole process, as in Spin.
pub struct SqliteStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
    /// `ConnectionMode::Reuse` runs each call on the calling thread, on a file in WAL
    /// mode (a reader never waits for the relay's writes in another process, a write
    /// commits without waiting for the disk); `New` does as Spin does: each call on the
    /// blocking pool, the file in whatever journal mode it has.
    inline: bool,
}

/// The app's key-value stores by label.
#[derive(Clone)]
pub struct KeyValueStores(Arc<BTreeMap<String, Arc<Backend>>>);

impl KeyValueStores {
    pub async fn open(stores: &BTreeMap<String, KvBackend>, mode: ConnectionMode) -> Result<Self> {
        let inline = mode == ConnectionMode::Reuse;
        let mut opened = BTreeMap::new();
        for (label, decl) in stores {
            let backend = match decl {
                KvBackend::Sqlite(path) => {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let conn = rusqlite::Connection::open(path).with_context(|| {
                        format!("key-value store `{label}`: cannot open {}", path.display())
                    })?;
                    conn.execute_batch(
                        "CREATE TABLE IF NOT EXISTS spin_key_value (
                             store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                             PRIMARY KEY (store, key))",
                    )?;
                    if inline {
                        conn.pragma_update(None, "journal_mode", "WAL")?;
                        conn.pragma_update(None, "synchronous", "NORMAL")?;
                    }
                    Backend::Sqlite(SqliteStore {
                        conn: Arc::new(Mutex::new(conn)),
                        inline,
                    })
                }
                KvBackend::Redis(url) => {
                    let client = redis::Client::open(url.as_str())
                        .with_context(|| format!("key-value store `{label}`: bad redis url"))?;
                    let manager = client.get_connection_manager().await.with_context(|| {
                        format!("key-value store `{label}`: cannot reach redis")
                    })?;
                    Backend::Redis(Box::new(manager))
                }
            };
            opened.insert(label.clone(), Arc::new(backend));
        }
        Ok(Self(Arc::new(opened)))
    }
}

impl KeyValueStores {
    /// The factor's state for one instance of `component`.
    pub fn instance(&self, component: Arc<ComponentConfig>, trace: TraceScope) -> KeyValueInstance {
        KeyValueInstance {
            stores: self.clone(),
            component,
            open_stores: ResourceTable::new(),
            trace,
        }
    }
}

/// A message for each of `labels` (a component's `key_value_stores`) not in `defined`.
pub fn undefined_labels(
    defined: &BTreeMap<String, KvBackend>,
    component: &str,
    labels: &[String],
) -> Vec<String> {
    super::undefined(
        defined,
        labels,
        component,
        ("key-value store", "key_value_store"),
    )
}

/// One instance's key-value access: the stores its component may open, those it has open.
pub struct KeyValueInstance {
    stores: KeyValueStores,
    component: Arc<ComponentConfig>,
    open_stores: ResourceTable,
    trace: TraceScope,
}

/// An open store resource.
pub struct KvStore {
    label: String,
    backend: Arc<Backend>,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl KvStore {
    async fn sqlite<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let Backend::Sqlite(store) = &*self.backend else {
            unreachable!()
        };
        if store.inline {
            let conn = store.conn.lock().unwrap_or_else(|p| p.into_inner());
            return f(&conn, &self.label).map_err(other);
        }
        let (conn, label) = (store.conn.clone(), self.label.clone());
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn, &label)
        })
        .await
        .map_err(other)?
        .map_err(other)
    }

    fn redis(&self) -> redis::aio::ConnectionManager {
        let Backend::Redis(manager) = &*self.backend else {
            unreachable!()
        };
        (**manager).clone()
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                self.sqlite(move |c, store| {
                    use rusqlite::OptionalExtension;
                    c.prepare_cached(
                        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    )?
                    .query_row((store, &key), |r| r.get(0))
                    .optional()
                })
                .await
            }
            Backend::Redis(_) => self.redis().get(key).await.map_err(other),
        }
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                self.sqlite(move |c, store| {
                    c.prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((store, &key, &value))
                    .map(drop)
                })
                .await
            }
            Backend::Redis(_) => self.redis().set(key, value).await.map_err(other),
        }
    }

    async fn delete(&self, key: String) -> Result<(), Error> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                self.sqlite(move |c, store| {
                    c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .execute((store, &key))
                        .map(drop)
                })
                .await
            }
            Backend::Redis(_) => self.redis().del::<_, ()>(key).await.map_err(other),
        }
    }

    async fn exists(&self, key: String) -> Result<bool, Error> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                self.sqlite(move |c, store| {
                    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)")?
                        .query_row((store, &key), |r| r.get(0))
                })
                .await
            }
            Backend::Redis(_) => self.redis().exists(key).await.map_err(other),
        }
    }

    async fn get_keys(&self) -> Result<Vec<String>, Error> {
        match &*self.backend {
            Backend::Sqlite(_) => {
                self.sqlite(|c, store| {
                    c.prepare_cached(
                        "SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key",
                    )?
                    .query_map([store], |r| r.get(0))?
                    .collect()
                })
                .await
            }
            Backend::Redis(_) => self.redis().keys("*").await.map_err(other),
        }
    }
}

impl Host for KeyValueInstance {}

impl HostStore for KeyValueInstance {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<KvStore>, Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.open", "spin_key_value", None);
        if !self.component.key_value_stores.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(backend) = self.stores.0.get(&label).cloned() else {
            return Ok(Err(Error::NoSuchStore));
        };
        Ok(Ok(self.open_stores.push(KvStore { label, backend })?))
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.get", "spin_key_value", None);
        Ok(self.open_stores.get(&store)?.get(key).await)
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.set", "spin_key_value", None);
        Ok(self.open_stores.get(&store)?.set(key, value).await)
    }

    async fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.delete", "spin_key_value", None);
        Ok(self.open_stores.get(&store)?.delete(key).await)
    }

    async fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.exists", "spin_key_value", None);
        Ok(self.open_stores.get(&store)?.exists(key).await)
    }

    async fn get_keys(
        &mut self,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let _span = self
            .trace
            .store_call("spin_key_value.get_keys", "spin_key_value", None);
        Ok(self.open_stores.get(&store)?.get_keys().await)
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.open_stores.delete(store)?;
        Ok(())
    }
}

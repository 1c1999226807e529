//! The key-value port on Spin's key-value store, label `default` (whatever the runtime
//! config makes it: Spin's SQLite file or Redis).

use crate::storage::key_value::{KeyValue, KvError};
use spin_sdk::key_value::Store;
use std::cell::OnceCell;

/// The `default` store, opened on first use, so a request that never touches it pays
/// nothing. A store that cannot be opened answers every call with why, so a caller that
/// can do without it (the admin figures, the relay's heartbeat) still works.
#[derive(Default)]
pub struct DefaultStore(OnceCell<Result<Store, KvError>>);

impl DefaultStore {
    fn store(&self) -> Result<&Store, KvError> {
        self.0
            .get_or_init(|| {
                Store::open_default()
                    .map_err(|e| KvError(format!("cannot open store `default`: {e}")))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl KeyValue for DefaultStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store()?
            .get(key)
            .map_err(|e| KvError(format!("get `{key}`: {e}")))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.store()?
            .set(key, value)
            .map_err(|e| KvError(format!("set `{key}`: {e}")))
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store()?
            .delete(key)
            .map_err(|e| KvError(format!("delete `{key}`: {e}")))
    }
}

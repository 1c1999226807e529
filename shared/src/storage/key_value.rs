//! The key-value port: what the app keeps beside its database, in Spin's key-value store
//! (a SQLite file by default, Redis at scale, chosen by the runtime config alone). Nothing
//! about money lives here: only figures every instance should see the same.

/// A key-value store failed (unreachable, refused, or a value that does not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

pub trait KeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Removes `key`; removing a key that is not there is not an error.
    fn delete(&self, key: &str) -> Result<(), KvError>;
}

/// The value at `key` read as JSON; one that does not parse is an error naming the key.
pub fn get_json<T: serde::de::DeserializeOwned>(
    kv: &dyn KeyValue,
    key: &str,
) -> Result<Option<T>, KvError> {
    kv.get(key)?
        .map(|raw| {
            serde_json::from_slice(&raw)
                .map_err(|e| KvError(format!("`{key}` does not hold a valid value: {e}")))
        })
        .transpose()
}

/// Stores `value` at `key` as JSON.
pub fn set_json(
    kv: &dyn KeyValue,
    key: &str,
    value: &impl serde::Serialize,
) -> Result<(), KvError> {
    let raw = serde_json::to_vec(value).map_err(|e| KvError(format!("`{key}`: {e}")))?;
    kv.set(key, &raw)
}

/// A store in memory, for native tests and tools.
#[derive(Debug, Default)]
pub struct InMemory(std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>);

impl InMemory {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyValue for InMemory {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.map().insert(key.into(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        self.map().remove(key);
        Ok(())
    }
}

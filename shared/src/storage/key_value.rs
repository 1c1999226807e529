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
}

//! One module per Spin interface the host implements, in the style of Spin's factors:
//! app-level configuration validated at startup, per-instance state, the interface impl.

pub mod key_value;
pub mod outbound_http;
pub mod postgres;
mod sql_words;
pub mod sqlite;
pub mod variables;

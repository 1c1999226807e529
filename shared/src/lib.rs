//! CareForAll's domain, storage port and API handlers as plain Rust.
//!
//! Everything here builds and tests natively; the `spin` module (wasm only) adapts the
//! Spin SDK's request, SQLite and variables types to the plain interfaces used here.

pub mod api;
pub mod domain;
pub mod payments;
pub mod relay;
pub mod storage;
pub mod telemetry;

#[cfg(target_arch = "wasm32")]
pub mod spin;

/// Names the calling component (its crate's name and version) in every response it
/// sends; the first line of each component's handler.
#[cfg(target_arch = "wasm32")]
#[macro_export]
macro_rules! identify_component {
    () => {
        $crate::spin::identify(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
    };
}

//! The two files a Spin app is described by: `spin.toml` and `runtime-config.toml`.

pub mod allowed_hosts;
pub mod component;
pub mod manifest;
pub mod runtime_config;
pub mod template;

//! What one component may use, resolved from `spin.toml` once at startup; each factor
//! reads its part.

use crate::config::allowed_hosts::OutboundRules;
use std::collections::{HashMap, HashSet};

/// What a component may use, resolved from `spin.toml` once at startup.
#[derive(Debug)]
pub struct ComponentConfig {
    pub id: String,
    pub sqlite_databases: HashSet<String>,
    pub key_value_stores: HashSet<String>,
    pub variables: HashMap<String, String>,
    pub outbound: OutboundRules,
    pub environment: Vec<(String, String)>,
}

//! The wasmtime engine as `wasmtime serve` sets it up: pooling allocator, epoch
//! interruption for deadlines, and an on-disk compilation cache; plus slots that keep the
//! pages a request touched, where the kernel supports it.

use anyhow::Result;
use std::time::Duration;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

/// How often the epoch advances; deadlines are measured in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per pooled slot, the most of a linear memory (and of a table) kept mapped between
/// requests. Only the pages a guest touched are resident.
const KEEP_RESIDENT_MEMORY_BYTES: usize = 16 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 1 << 20;

pub struct EngineLimits {
    /// Concurrent component instances the pool holds.
    pub max_instances: u32,
    pub max_memory_bytes: usize,
}

pub fn build(limits: &EngineLimits) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // For profiling only: `perf` then names the guests' compiled functions.
    if std::env::var_os("SPIN_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances * 4)
        .total_memories(limits.max_instances * 2)
        .total_tables(limits.max_instances * 4)
        .total_stacks(limits.max_instances)
        .max_memory_size(limits.max_memory_bytes);
    // Where the kernel can say which pages an instance dirtied (PAGEMAP_SCAN, Linux 6.7+),
    // a freed slot gets only those pages reset with memset, and they stay mapped for the
    // next request: no madvise, no TLB shootdown, no page faults on reuse. Without it,
    // keeping memory resident would memset the whole span, so the default (madvise)
    // stays. Measured in BENCHMARKS.md ("fifth session").
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY_BYTES)
            .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // A cache that cannot be set up only costs compile time; never fail startup over it.
    if let Ok(cache) = Cache::new(CacheConfig::new()) {
        config.cache(Some(cache));
    }
    let engine = Engine::new(&config)?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}

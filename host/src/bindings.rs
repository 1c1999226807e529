//! Host bindings generated at build time from the pinned spin-sdk's WIT (see build.rs).
#![allow(clippy::all)]
include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

//! Any `Stripe-Signature` header over any body at any clock: never a panic, and never
//! accepted, since the input cannot know the secret. Input: 8 bytes of clock (unix
//! seconds, little-endian), the header up to the first newline, then the body.
#![no_main]

use careforall::payments::signature::{verify, DEFAULT_TOLERANCE_SECS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((clock, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let now = i64::from_le_bytes(*clock);
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (header, body) = rest.split_at(split);
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    let accepted = verify(
        Some(header),
        body,
        &[b"whsec_fuzz"],
        now,
        DEFAULT_TOLERANCE_SECS,
    );
    assert!(
        accepted.is_err(),
        "a header made without the secret was accepted"
    );
});

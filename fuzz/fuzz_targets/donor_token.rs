//! Any donor token at any clock: never a panic, and never valid, since the input cannot
//! know the secret. Input: 8 bytes of clock (unix seconds, little-endian), then the token.
#![no_main]

use careforall::domain::donor_token::verify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((clock, token)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    assert!(
        verify(
            b"donor-token-fuzz-secret",
            token,
            i64::from_le_bytes(*clock)
        )
        .is_err(),
        "a token made without the secret was accepted"
    );
});

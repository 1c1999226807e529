//! Any webhook body (as if its signature were valid): read as an event or refused with
//! a reason, never a panic.
#![no_main]

use careforall::payments::stripe_events::parse_webhook;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = parse_webhook(body);
});

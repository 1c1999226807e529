//! Any query string of a paginated list: a page or a 4xx problem, never a panic; and a
//! cursor the app issued reads back as the position it encodes. Input: the query.
#![no_main]

use careforall::api::pagination::{encode_cursor, parse_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    match parse_page(&query) {
        Err(problem) => {
            let status = problem.into_response().status;
            assert!(
                (400..500).contains(&status),
                "a bad query answered {status}"
            );
        }
        Ok(page) if page.after > 0 => {
            let again = parse_page(&format!("cursor={}", encode_cursor(page.after)))
                .expect("the app's own cursor reads back");
            assert_eq!(again.after, page.after);
        }
        Ok(_) => {}
    }
});

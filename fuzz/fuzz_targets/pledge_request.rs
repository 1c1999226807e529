//! Any `POST /api/v1/pledges` key and body: accepted or refused with a 4xx problem, never
//! a panic or a server error. Input: the Idempotency-Key up to the first newline, then
//! the body.
#![no_main]

use careforall::api::pledges::read_request;
use careforall::api::ApiRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (key, body) = data.split_at(split);
    let req = ApiRequest {
        method: "POST".into(),
        path: "/api/v1/pledges".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (
                "idempotency-key".into(),
                String::from_utf8_lossy(key).into_owned(),
            ),
        ],
        body: body.get(1..).unwrap_or_default().to_vec(),
    };
    if let Err(problem) = read_request(&req) {
        let status = problem.into_response().status;
        assert!((400..500).contains(&status), "bad input answered {status}");
    }
});

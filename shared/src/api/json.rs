//! Strict JSON request bodies: right content type, bounded size, no unknown fields.

use super::problem::{FieldError, Problem};
use super::ApiRequest;
use crate::domain::money::PositiveAmount;
use serde::de::DeserializeOwned;

/// The largest JSON body any API route accepts.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// Parses the body as `T`, answering 415/413/400/422 problems for each way it can fail.
pub fn parse_body<T: DeserializeOwned>(req: &ApiRequest) -> Result<T, Problem> {
    parse_body_and_value(req).map(|(typed, _)| typed)
}

/// Like [`parse_body`], also returning the body as a JSON value (for fingerprints),
/// parsing the bytes only once.
pub fn parse_body_and_value<T: DeserializeOwned>(
    req: &ApiRequest,
) -> Result<(T, serde_json::Value), Problem> {
    let content_type = req.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Problem::new(
            415,
            "unsupported_media_type",
            format!("expected content-type application/json, got `{content_type}`"),
        ));
    }
    if req.body.len() > MAX_JSON_BODY_BYTES {
        return Err(Problem::new(
            413,
            "payload_too_large",
            format!(
                "body is {} bytes; the limit is {MAX_JSON_BODY_BYTES}",
                req.body.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&req.body).map_err(|e| classify(&e))?;
    let typed = T::deserialize(&value).map_err(|e| classify(&e))?;
    Ok((typed, value))
}

fn classify(err: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    let message = err.to_string();
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => Problem::new(
            400,
            "malformed_json",
            format!("request body is not valid JSON: {message}"),
        ),
        Category::Data if message.starts_with("unknown field") => {
            Problem::new(400, "unknown_field", message)
        }
        Category::Data => Problem::validation(vec![FieldError {
            field: "body".into(),
            message,
        }]),
    }
}

/// An amount field: a JSON integer of minor units. Fractions, exponents and values
/// beyond the limit are refused with a message saying which.
pub fn positive_amount(n: &serde_json::Number) -> Result<PositiveAmount, String> {
    if let Some(units) = n.as_u64() {
        return PositiveAmount::new(units).map_err(|e| e.to_string());
    }
    if n.as_i64().is_some() {
        return Err(format!("must be a positive number of minor units, got {n}"));
    }
    Err(format!(
        "must be a whole number of minor units within range, got {n}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> serde_json::Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn amounts_are_whole_positive_minor_units() {
        assert_eq!(positive_amount(&number("250")).unwrap().minor_units(), 250);
        for bad in [
            "0",
            "-5",
            "12.5",
            "1e20",
            "100000000000000000000000",
            "1000000000001",
        ] {
            assert!(positive_amount(&number(bad)).is_err(), "{bad}");
        }
    }
}

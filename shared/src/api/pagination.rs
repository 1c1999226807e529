//! Cursor pagination: opaque cursors naming the last item seen, bounded page sizes.

use super::Problem;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// List position after which the page starts (0: from the beginning).
    pub after: i64,
    pub limit: u32,
}

pub fn encode_cursor(position: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("p1:{position}"))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("p1:")?
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
}

/// Parses `limit` and `cursor` from a query string; any other parameter is an error.
pub fn parse_page(query: &str) -> Result<PageRequest, Problem> {
    parse_page_with(query, &[]).map(|(page, _)| page)
}

/// As [`parse_page`], also taking the parameters named in `own` (a route's filters),
/// returned as given, each at most once.
pub fn parse_page_with(
    query: &str,
    own: &[&str],
) -> Result<(PageRequest, Vec<(String, String)>), Problem> {
    let bad = |detail: String| Problem::new(400, "invalid_query", detail);
    let mut taken: Vec<(String, String)> = Vec::new();
    let mut page = PageRequest {
        after: 0,
        limit: DEFAULT_LIMIT,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "limit" => {
                page.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        bad(format!(
                            "limit must be an integer from 1 to {MAX_LIMIT}, got `{value}`"
                        ))
                    })?;
            }
            "cursor" => {
                page.after = decode_cursor(&value)
                    .ok_or_else(|| bad(format!("cursor `{value}` is not one this API issued")))?;
            }
            name if own.contains(&name) => {
                if taken.iter().any(|(n, _)| n == name) {
                    return Err(bad(format!("query parameter `{name}` is given twice")));
                }
                taken.push((name.to_string(), value.into_owned()));
            }
            other => return Err(bad(format!("unknown query parameter `{other}`"))),
        }
    }
    Ok((page, taken))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_limits_and_rejections() {
        assert_eq!(
            parse_page("").unwrap(),
            PageRequest {
                after: 0,
                limit: DEFAULT_LIMIT
            }
        );
        assert_eq!(parse_page("limit=5").unwrap().limit, 5);
        for bad in [
            "limit=0",
            "limit=101",
            "limit=x",
            "cursor=zzz",
            "sort=name",
            "cursor=cDE6LTE",
        ] {
            assert_eq!(parse_page(bad).unwrap_err().code, "invalid_query", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip(position in 0i64..i64::MAX) {
            let page = parse_page(&format!("cursor={}", encode_cursor(position))).unwrap();
            prop_assert_eq!(page.after, position);
        }
    }
}

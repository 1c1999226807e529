//! The first page of the public campaign list in the key-value store, so the busiest
//! read of a donation night (the list on the donor page) seldom opens the database. Only
//! first pages are kept (one per `limit`, at most 100 keys): a key per cursor would let
//! anyone fill the store by asking for pages that do not exist.
//!
//! A page is kept with the time its reader began reading the database. Creating or
//! changing a campaign stamps `campaigns/changed-at` after its commit, and a page read
//! before that stamp is not served again. A page is also served for at most
//! [`FRESH_FOR_MS`], which bounds what a writer that died between its commit and its
//! stamp can leave behind (and what clocks of different instances can disagree on).

use super::pagination::PageRequest;
use super::ApiResponse;
use crate::storage::key_value::{get_json, set_json, KeyValue, KvError};
use serde::{Deserialize, Serialize};

/// The longest a stored page is served.
pub const FRESH_FOR_MS: i64 = 1_000;

const CHANGED_AT: &str = "campaigns/changed-at";

/// The key of a page that is kept, `None` for one that is not (past the first).
fn page_key(page: &PageRequest) -> Option<String> {
    (page.after == 0).then(|| format!("campaigns/first-page/{}", page.limit))
}

#[derive(Serialize, Deserialize)]
struct Entry {
    read_at_ms: i64,
    body: String,
}

/// The stored page, if it is still good at `now_ms`.
pub fn read(
    kv: &dyn KeyValue,
    page: &PageRequest,
    now_ms: i64,
) -> Result<Option<ApiResponse>, KvError> {
    let Some(key) = page_key(page) else {
        return Ok(None);
    };
    let Some(entry) = get_json::<Entry>(kv, &key)? else {
        return Ok(None);
    };
    if now_ms - entry.read_at_ms >= FRESH_FOR_MS || entry.read_at_ms > now_ms {
        return Ok(None);
    }
    let changed_at = get_json::<i64>(kv, CHANGED_AT)?;
    if changed_at.is_some_and(|changed| entry.read_at_ms <= changed) {
        return Ok(None);
    }
    Ok(Some(ApiResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: entry.body.into_bytes(),
    }))
}

/// Keeps `response` (a 200 page) for the page it answers if that page is kept, read
/// from a database whose reading began at `read_at_ms`.
pub fn store(
    kv: &dyn KeyValue,
    page: &PageRequest,
    read_at_ms: i64,
    response: &ApiResponse,
) -> Result<(), KvError> {
    let Some(key) = page_key(page) else {
        return Ok(());
    };
    let body = String::from_utf8(response.body.clone())
        .map_err(|e| KvError(format!("a campaign page is not UTF-8: {e}")))?;
    set_json(kv, &key, &Entry { read_at_ms, body })
}

/// After a campaign was created or changed (its transaction committed): no page read
/// before `now_ms` is served again.
pub fn changed(kv: &dyn KeyValue, now_ms: i64) -> Result<(), KvError> {
    set_json(kv, CHANGED_AT, &now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key_value::InMemory;

    fn page(after: i64) -> PageRequest {
        PageRequest { after, limit: 20 }
    }

    fn answer(body: &str) -> ApiResponse {
        ApiResponse::json(200, &serde_json::json!({ "items": [body] }))
    }

    #[test]
    fn a_page_is_served_until_it_is_a_second_old() {
        let kv = InMemory::default();
        store(&kv, &page(0), 1_000, &answer("a")).unwrap();
        let hit = read(&kv, &page(0), 1_500).unwrap().expect("fresh");
        assert_eq!(hit.body, answer("a").body);
        assert!(
            read(&kv, &page(0), 2_000).unwrap().is_none(),
            "a second old"
        );
        let other_limit = PageRequest { after: 0, limit: 5 };
        assert!(
            read(&kv, &other_limit, 1_500).unwrap().is_none(),
            "another page"
        );
    }

    #[test]
    fn only_first_pages_are_kept() {
        let kv = InMemory::default();
        store(&kv, &page(20), 1_000, &answer("a")).unwrap();
        assert!(read(&kv, &page(20), 1_100).unwrap().is_none());
        assert!(kv.get("campaigns/first-page/20").unwrap().is_none());
    }

    #[test]
    fn a_change_after_the_read_began_retires_the_page() {
        let kv = InMemory::default();
        store(&kv, &page(0), 1_000, &answer("a")).unwrap();
        changed(&kv, 1_000).unwrap();
        assert!(read(&kv, &page(0), 1_100).unwrap().is_none());
        // A page read after the change is good again.
        store(&kv, &page(0), 1_001, &answer("b")).unwrap();
        assert_eq!(
            read(&kv, &page(0), 1_100).unwrap().unwrap().body,
            answer("b").body
        );
    }

    #[test]
    fn a_page_from_a_clock_ahead_is_not_trusted() {
        let kv = InMemory::default();
        store(&kv, &page(0), 5_000, &answer("a")).unwrap();
        assert!(read(&kv, &page(0), 1_000).unwrap().is_none());
    }
}

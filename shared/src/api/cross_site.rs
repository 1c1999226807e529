//! Refuses a browser's state-changing request that another site started (CSRF). The API
//! takes its credentials from the `Authorization` header, which a browser never adds on
//! its own, so a forged request carries none; this refusal is the second wall. Browsers
//! say where a request came from in `Sec-Fetch-Site`: `same-origin` for this origin's
//! pages, `none` for one the user typed; other clients (the provider's webhooks, curl)
//! send no such header and are not affected.

use super::{ApiRequest, Problem};

pub fn refuse_cross_site(req: &ApiRequest) -> Result<(), Problem> {
    if matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        return Ok(());
    }
    match req.header("sec-fetch-site") {
        Some(site @ ("cross-site" | "same-site")) => Err(Problem::new(
            403,
            "cross_site_request",
            format!(
                "a {} request started by another site ({site}) is refused; use this origin's pages or an API client",
                req.method
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, site: Option<&str>) -> ApiRequest {
        ApiRequest {
            method: method.into(),
            path: "/api/v1/campaigns".into(),
            headers: site
                .map(|s| vec![("sec-fetch-site".to_string(), s.to_string())])
                .unwrap_or_default(),
            ..ApiRequest::default()
        }
    }

    #[test]
    fn writes_started_by_another_site_are_refused() {
        for site in ["cross-site", "same-site"] {
            let refused = refuse_cross_site(&request("POST", Some(site))).unwrap_err();
            assert_eq!(refused.status, 403);
            assert_eq!(refused.code, "cross_site_request");
            assert!(refuse_cross_site(&request("DELETE", Some(site))).is_err());
        }
    }

    #[test]
    fn this_origin_other_clients_and_reads_pass() {
        assert!(refuse_cross_site(&request("POST", Some("same-origin"))).is_ok());
        assert!(refuse_cross_site(&request("POST", Some("none"))).is_ok());
        assert!(refuse_cross_site(&request("POST", None)).is_ok());
        assert!(refuse_cross_site(&request("GET", Some("cross-site"))).is_ok());
    }
}

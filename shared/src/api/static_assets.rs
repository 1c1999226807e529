//! The browser pages (`/`, `/admin`) and their assets, served from the same origin as the
//! API: pages are revalidated on every visit (`no-cache`), assets carry their content's
//! hash in their name and are cached for a year; every answer carries the security
//! headers, a Content-Security-Policy that lets the pages load only this origin's scripts
//! and styles and talk only to this origin.

use super::{ApiRequest, ApiResponse, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// An HTML page at a fixed path; `{{payment_page_url}}` in it is filled per request.
    Page,
    /// A file whose path holds its content hash: it never changes under that path.
    Hashed,
}

#[derive(Debug, Clone, Copy)]
pub struct StaticAsset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub kind: AssetKind,
}

/// What the pages learn from the deployment.
pub struct PageSettings<'a> {
    /// The provider's hosted payment page (`…/pay`), where a donor tries another card.
    pub payment_page_url: &'a str,
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
base-uri 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

const PAGE_CACHE: &str = "no-cache";
const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

pub fn serve(req: &ApiRequest, assets: &[StaticAsset], settings: &PageSettings) -> ApiResponse {
    let head = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => return Problem::method_not_allowed("GET, HEAD").into_response(),
    };
    let Some(asset) = assets.iter().find(|a| a.path == req.path) else {
        return Problem::new(404, "not_found", format!("nothing at {}", req.path)).into_response();
    };
    let mut response = match asset.kind {
        AssetKind::Page => ApiResponse {
            status: 200,
            headers: vec![("cache-control".into(), PAGE_CACHE.into())],
            body: fill_page(asset.body, settings),
        },
        AssetKind::Hashed => {
            let etag = format!("\"{}\"", asset.path.rsplit('/').next().unwrap_or_default());
            if req.header("if-none-match") == Some(etag.as_str()) {
                ApiResponse {
                    status: 304,
                    headers: vec![("etag".into(), etag)],
                    body: Vec::new(),
                }
            } else {
                ApiResponse {
                    status: 200,
                    headers: vec![
                        ("cache-control".into(), HASHED_CACHE.into()),
                        ("etag".into(), etag),
                    ],
                    body: asset.body.to_vec(),
                }
            }
        }
    };
    if response.status == 200 {
        response = response.with_header("content-type", asset.content_type);
    }
    for (name, value) in SECURITY_HEADERS {
        response = response.with_header(name, value);
    }
    if head {
        response.body.clear();
    }
    response
}

fn fill_page(template: &[u8], settings: &PageSettings) -> Vec<u8> {
    String::from_utf8_lossy(template)
        .replace(
            "{{payment_page_url}}",
            &attribute_escape(settings.payment_page_url),
        )
        .into_bytes()
}

fn attribute_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSETS: [StaticAsset; 2] = [
        StaticAsset {
            path: "/",
            content_type: "text/html; charset=utf-8",
            body: b"<meta name=\"payment-page-url\" content=\"{{payment_page_url}}\">",
            kind: AssetKind::Page,
        },
        StaticAsset {
            path: "/assets/app.0123456789.js",
            content_type: "text/javascript",
            body: b"console.log(1)",
            kind: AssetKind::Hashed,
        },
    ];

    fn get(path: &str, headers: &[(&str, &str)]) -> ApiResponse {
        let req = ApiRequest {
            method: "GET".into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..ApiRequest::default()
        };
        serve(
            &req,
            &ASSETS,
            &PageSettings {
                payment_page_url: "http://pay.example/pay?a=1&b=\"2\"",
            },
        )
    }

    fn header<'a>(r: &'a ApiResponse, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_page_is_revalidated_and_gets_its_settings_escaped() {
        let page = get("/", &[]);
        assert_eq!(page.status, 200);
        assert_eq!(header(&page, "cache-control"), Some("no-cache"));
        assert_eq!(
            String::from_utf8(page.body).unwrap(),
            "<meta name=\"payment-page-url\" content=\"http://pay.example/pay?a=1&amp;b=&quot;2&quot;\">"
        );
    }

    #[test]
    fn a_hashed_asset_is_cached_for_a_year_and_revalidates_by_its_name() {
        let asset = get("/assets/app.0123456789.js", &[]);
        assert_eq!(asset.status, 200);
        assert_eq!(header(&asset, "cache-control"), Some(HASHED_CACHE));
        assert_eq!(header(&asset, "content-type"), Some("text/javascript"));
        let etag = header(&asset, "etag").unwrap().to_string();
        let again = get("/assets/app.0123456789.js", &[("if-none-match", &etag)]);
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
    }

    #[test]
    fn every_answer_carries_the_security_headers() {
        for r in [get("/", &[]), get("/assets/app.0123456789.js", &[])] {
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(header(&r, name), Some(value), "{name}");
            }
        }
    }

    #[test]
    fn unknown_paths_and_other_methods_are_refused() {
        assert_eq!(get("/assets/app.js", &[]).status, 404);
        let post = serve(
            &ApiRequest {
                method: "POST".into(),
                path: "/".into(),
                ..ApiRequest::default()
            },
            &ASSETS,
            &PageSettings {
                payment_page_url: "",
            },
        );
        assert_eq!(post.status, 405);
        assert_eq!(header(&post, "allow"), Some("GET, HEAD"));
    }

    #[test]
    fn head_answers_the_headers_without_a_body() {
        let req = ApiRequest {
            method: "HEAD".into(),
            path: "/".into(),
            ..ApiRequest::default()
        };
        let r = serve(
            &req,
            &ASSETS,
            &PageSettings {
                payment_page_url: "",
            },
        );
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
        assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
    }
}

//! Spin's HTTP routing: exact routes, `:name` segments and trailing `/...` wildcards,
//! the most specific route winning (exact beats parameter beats wildcard).

use anyhow::{anyhow, Result};

#[derive(Debug, Clone)]
struct Handler {
    component: String,
    /// The route as written in `spin.toml`.
    raw_route: String,
}

/// A resolved route for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    pub raw_route: String,
    /// The route without its `/...` wildcard: Spin's `spin-component-route`.
    pub component_route: String,
    /// What the wildcard matched, with a leading `/` (empty for exact routes):
    /// Spin's `spin-path-info`.
    pub path_info: String,
    pub params: Vec<(String, String)>,
}

#[derive(Default)]
pub struct Router(routefinder::Router<Handler>);

impl Router {
    pub fn add(&mut self, route: &str, component: &str) -> Result<()> {
        let spec = match route.strip_suffix("/...") {
            Some(prefix) => format!("{prefix}/*"),
            None => route.to_string(),
        };
        self.0
            .add(
                spec.as_str(),
                Handler {
                    component: component.into(),
                    raw_route: route.into(),
                },
            )
            .map_err(|e| anyhow!("route `{route}` of component `{component}`: {e}"))
    }

    /// `route=component` pairs, for the startup log line.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(_, h)| format!("{}={}", h.raw_route, h.component))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let matched = self.0.best_match(path)?;
        let handler = matched.handler();
        let captures = matched.captures();
        let path_info = captures
            .wildcard()
            .map(|w| format!("/{w}"))
            .unwrap_or_default();
        let path_info = if path_info == "/" && !path.ends_with('/') {
            String::new()
        } else {
            path_info
        };
        Some(RouteMatch {
            component: handler.component.clone(),
            raw_route: handler.raw_route.clone(),
            component_route: handler.raw_route.trim_end_matches("/...").to_string(),
            path_info,
            params: captures
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        let mut r = Router::default();
        r.add("/...", "fallback").unwrap();
        r.add("/api/v1/campaigns", "campaigns").unwrap();
        r.add("/api/v1/campaigns/...", "campaigns").unwrap();
        r.add("/api/v1/campaigns/:id/totals", "get-totals").unwrap();
        r.add("/health", "health").unwrap();
        r
    }

    #[test]
    fn most_specific_route_wins() {
        let r = router();
        assert_eq!(r.route("/health").unwrap().component, "health");
        assert_eq!(r.route("/api/v1/campaigns").unwrap().component, "campaigns");
        let m = r.route("/api/v1/campaigns/abc").unwrap();
        assert_eq!(
            (m.component.as_str(), m.path_info.as_str()),
            ("campaigns", "/abc")
        );
        let m = r.route("/api/v1/campaigns/abc/totals").unwrap();
        assert_eq!(m.component, "get-totals");
        assert_eq!(m.params, vec![("id".to_string(), "abc".to_string())]);
        assert_eq!(r.route("/anything/else").unwrap().component, "fallback");
    }

    #[test]
    fn no_route_no_match() {
        let mut r = Router::default();
        r.add("/only", "x").unwrap();
        assert!(r.route("/other").is_none());
        assert!(r.route("/only/deeper").is_none());
    }
}

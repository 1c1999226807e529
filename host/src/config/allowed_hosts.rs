//! `allowed_outbound_hosts` in Spin's syntax: `scheme://host[:port]`, where scheme, host
//! and port may be `*`, a host may be `*.domain`, and a port may be a range `a-b`. A
//! missing port means the scheme's well-known port.

use anyhow::{bail, Context, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain of `example.com`.
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Range(u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowedHost {
    pub fn parse(rule: &str) -> Result<Self> {
        let (scheme, rest) = rule.split_once("://").with_context(|| {
            format!("allowed outbound host `{rule}` needs a scheme, like `https://example.com`")
        })?;
        if rest.contains('/') && rest.trim_end_matches('/').contains('/') {
            bail!("allowed outbound host `{rule}` must not contain a path");
        }
        let rest = rest.trim_end_matches('/');
        let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host = match host {
            "" => bail!("allowed outbound host `{rule}` has no host"),
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomain(h[2..].to_ascii_lowercase()),
            h if h.contains('*') => bail!("allowed outbound host `{rule}`: `*` may only stand for the whole host or a leading `*.`"),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once('-') {
                Some((a, b)) => PortPattern::Range(parse_port(rule, a)?, parse_port(rule, b)?),
                None => {
                    let p = parse_port(rule, p)?;
                    PortPattern::Range(p, p)
                }
            },
            None => match scheme.as_deref().and_then(default_port) {
                Some(p) => PortPattern::Range(p, p),
                None => bail!(
                    "allowed outbound host `{rule}` needs a port: its scheme has no well-known one"
                ),
            },
        };
        Ok(AllowedHost { scheme, host, port })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self
            .scheme
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(scheme));
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomain(d) => host.ends_with(&format!(".{d}")),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(a, b) => (a..=b).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

fn parse_port(rule: &str, p: &str) -> Result<u16> {
    p.parse()
        .with_context(|| format!("allowed outbound host `{rule}`: `{p}` is not a port"))
}

/// A component's rules; a request is allowed when any rule allows it.
#[derive(Debug, Clone, Default)]
pub struct OutboundRules(Vec<AllowedHost>);

impl OutboundRules {
    pub fn parse(rules: &[String]) -> Result<Self> {
        rules
            .iter()
            .map(|r| AllowedHost::parse(r))
            .collect::<Result<_>>()
            .map(Self)
    }

    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Some(port) = port.or_else(|| default_port(scheme)) else {
            return false;
        };
        self.0.iter().any(|r| r.allows(scheme, host, port))
    }

    /// Whether `postgres://user@host:port/db`-style addresses may be opened.
    pub fn allows_url(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(u) => u
                .host_str()
                .is_some_and(|h| self.allows(u.scheme(), h, u.port())),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> OutboundRules {
        OutboundRules::parse(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_hosts_use_default_ports() {
        let r = rules(&["https://example.com", "http://localhost:3000"]);
        assert!(r.allows("https", "example.com", None));
        assert!(r.allows("https", "EXAMPLE.com", Some(443)));
        assert!(!r.allows("http", "example.com", None));
        assert!(!r.allows("https", "example.com", Some(8443)));
        assert!(r.allows("http", "localhost", Some(3000)));
        assert!(!r.allows("http", "localhost", Some(3001)));
    }

    #[test]
    fn wildcards_subdomains_and_ranges() {
        let r = rules(&[
            "http://*.spin.internal",
            "*://127.0.0.1:*",
            "https://api.x.org:8000-8010",
        ]);
        assert!(r.allows("http", "campaigns.spin.internal", None));
        assert!(!r.allows("http", "spin.internal", None));
        assert!(r.allows("https", "127.0.0.1", Some(1)));
        assert!(r.allows("https", "api.x.org", Some(8005)));
        assert!(!r.allows("https", "api.x.org", Some(8011)));
        assert!(!rules(&[]).allows("https", "x", None));
    }

    #[test]
    fn postgres_urls_and_malformed_rules() {
        let r = rules(&["postgres://localhost"]);
        assert!(r.allows_url("postgres://postgres@localhost/test"));
        assert!(!r.allows_url("postgres://postgres@localhost:5433/test"));
        assert!(AllowedHost::parse("example.com").is_err());
        assert!(AllowedHost::parse("https://ex*ample.com").is_err());
        assert!(AllowedHost::parse("foo://example.com").is_err());
        assert!(AllowedHost::parse("https://example.com/path").is_err());
    }
}

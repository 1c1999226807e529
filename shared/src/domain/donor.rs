//! Who gives: an email (how receipts and history find them), an optional display name,
//! and whether the public feed may show them.

use super::text::BoundedText;
use serde::Serialize;

/// A normalised email address: trimmed, lower-cased, one `@`, a dotted domain, at most
/// 254 characters. Deliberately simple: the receipt email is the real check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() || email.len() > 254 {
            return Err("must be 1 to 254 characters".into());
        }
        let (local, domain) = email.split_once('@').ok_or("must contain `@`")?;
        let valid_local = !local.is_empty() && local.len() <= 64;
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if !valid_local
            || !valid_domain
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("`{}` is not an email address", raw.trim()));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub type DonorName = BoundedText<100, false>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Donor {
    pub email: Email,
    pub name: Option<DonorName>,
    pub anonymous: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana@Example.ORG ").unwrap().as_str(),
            "ana@example.org"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.org",
            "ana@x",
            "ana@.org",
            "a b@x.org",
            "a@x..org",
            "a@b@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}

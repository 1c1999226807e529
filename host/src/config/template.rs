//! Spin's `{{ variable }}` templates, used in component variables and outbound hosts.

use anyhow::{bail, Result};

/// A piece of a template: literal text or a reference to an application variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Variable(String),
}

pub fn parse(template: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Literal(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed `{{{{` in template `{template}`");
        };
        let name = after[..end].trim();
        super::manifest::validate_variable_name(name)?;
        parts.push(Part::Variable(name.to_string()));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        bail!("stray `}}}}` in template `{template}`");
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_string()));
    }
    Ok(parts)
}

/// Renders a template, looking variables up with `lookup`.
pub fn render(template: &str, lookup: impl Fn(&str) -> Result<String>) -> Result<String> {
    parse(template)?
        .into_iter()
        .map(|part| match part {
            Part::Literal(s) => Ok(s),
            Part::Variable(name) => lookup(&name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_rejects() {
        let lookup = |n: &str| Ok(format!("<{n}>"));
        assert_eq!(render("a {{ x }} b{{y}}", lookup).unwrap(), "a <x> b<y>");
        assert_eq!(render("plain", lookup).unwrap(), "plain");
        assert!(render("{{ x ", lookup).is_err());
        assert!(render("{{ Bad }}", lookup).is_err());
    }
}

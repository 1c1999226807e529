//! Bounded, trimmed strings for user-supplied text.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters (got {got})")]
    TooLong { max: usize, got: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Text of at most `MAX` characters, trimmed; empty only when `ALLOW_EMPTY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize, const ALLOW_EMPTY: bool>(String);

impl<const MAX: usize, const ALLOW_EMPTY: bool> BoundedText<MAX, ALLOW_EMPTY> {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 && !ALLOW_EMPTY {
            return Err(TextError::Empty);
        }
        if chars > MAX {
            return Err(TextError::TooLong {
                max: MAX,
                got: chars,
            });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_enforces_bounds() {
        type Title = BoundedText<5, false>;
        assert_eq!(Title::parse("  abc ").unwrap().as_str(), "abc");
        assert_eq!(Title::parse("   "), Err(TextError::Empty));
        assert_eq!(
            Title::parse("abcdef"),
            Err(TextError::TooLong { max: 5, got: 6 })
        );
        assert_eq!(Title::parse("a\u{0}b"), Err(TextError::ControlCharacter));
        assert_eq!(BoundedText::<5, true>::parse("").unwrap().as_str(), "");
    }
}

//! Account passwords: what is accepted, and how it is kept (argon2id, PHC string).
//!
//! The hash runs inside a per-request Spin component on a shared core, so its cost is a
//! deliberate trade: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane) keeps an
//! offline guess expensive while one sign-in stays in the tens of milliseconds. Online
//! guessing is the attempt limiter's job, not the hash's.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;

/// Memory per hash, KiB.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// Shortest and longest password accepted, in characters (NIST SP 800-63B: at least 8,
/// allow at least 64; the cap keeps one hash's input bounded).
pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// A password as the donor typed it, checked for length. Never printed.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be {MIN_CHARS} to {MAX_CHARS} characters, not {0}")]
    Length(usize),
    #[error("the password must not be only spaces")]
    Blank,
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
            return Err(PasswordError::Length(chars));
        }
        if raw.trim().is_empty() {
            return Err(PasswordError::Blank);
        }
        Ok(Password(raw.to_string()))
    }
}

/// A stored hash (PHC string: algorithm, parameters, salt and hash together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHash(String);

impl StoredHash {
    /// A hash read back from storage; `None` if it is not a PHC string.
    pub fn from_stored(phc: String) -> Option<Self> {
        PasswordHash::new(&phc).is_ok().then_some(StoredHash(phc))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .expect("the constant parameters are within argon2's bounds");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh salt made of `salt_bytes` (16 random bytes from the
/// caller's source of randomness).
pub fn hash(password: &Password, salt_bytes: &[u8; 16]) -> StoredHash {
    let salt = SaltString::encode_b64(salt_bytes).expect("16 bytes make a valid salt");
    let phc = hasher()
        .hash_password(password.0.as_bytes(), &salt)
        .expect("argon2id with valid parameters and salt cannot fail")
        .to_string();
    StoredHash(phc)
}

/// Whether `password` matches `stored` (constant time in the comparison; the work
/// follows the parameters recorded in the hash, so older hashes keep verifying).
pub fn verify(password: &Password, stored: &StoredHash) -> bool {
    PasswordHash::new(&stored.0)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.0.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `stored` was made with weaker parameters than today's (rehash on sign-in).
pub fn needs_rehash(stored: &StoredHash) -> bool {
    let Ok(parsed) = PasswordHash::new(&stored.0) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < MEMORY_KIB
        || params.t_cost() < PASSES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salt(n: u8) -> [u8; 16] {
        [n; 16]
    }

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let right = Password::parse("correct horse battery").unwrap();
        let wrong = Password::parse("correct horse battery!").unwrap();
        let stored = hash(&right, &salt(7));
        assert!(stored
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&right, &stored));
        assert!(!verify(&wrong, &stored));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn the_same_password_with_another_salt_hashes_differently() {
        let p = Password::parse("correct horse battery").unwrap();
        assert_ne!(hash(&p, &salt(1)), hash(&p, &salt(2)));
    }

    #[test]
    fn lengths_are_bounded_and_blanks_refused() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            PasswordError::Length(5)
        );
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            Password::parse(&" ".repeat(12)).unwrap_err(),
            PasswordError::Blank
        );
        // Characters, not bytes: twelve accented letters are enough.
        assert!(Password::parse(&"é".repeat(12)).is_ok());
    }

    #[test]
    fn garbage_in_storage_never_verifies() {
        assert_eq!(StoredHash::from_stored("not a hash".into()), None);
        let p = Password::parse("correct horse battery").unwrap();
        let weak = StoredHash::from_stored(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA".into(),
        )
        .unwrap();
        assert!(!verify(&p, &weak));
        assert!(needs_rehash(&weak));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(..)");
    }
}

//! Money as integer minor units plus an ISO 4217 currency. No floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest amount any single value may hold: 10^12 minor units (10 billion in a
/// two-decimal currency). Far above any real donation goal, far below `i64::MAX`, so
/// sums of many amounts cannot overflow a signed 64-bit column.
pub const MAX_MINOR_UNITS: u64 = 1_000_000_000_000;

/// A strictly positive amount of minor units, at most [`MAX_MINOR_UNITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PositiveAmount(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be greater than zero")]
    Zero,
    #[error("amount must be at most {MAX_MINOR_UNITS} minor units")]
    TooLarge,
}

impl PositiveAmount {
    pub fn new(minor_units: u64) -> Result<Self, AmountError> {
        match minor_units {
            0 => Err(AmountError::Zero),
            n if n > MAX_MINOR_UNITS => Err(AmountError::TooLarge),
            n => Ok(Self(n)),
        }
    }

    pub fn minor_units(self) -> u64 {
        self.0
    }
}

/// An ISO 4217 currency the platform accepts, with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TRY", 2),
    ("USD", 2),
    ("ZAR", 2),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a supported ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| UnknownCurrency(code.to_string()))
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point in the currency's major unit.
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_and_oversized_amounts_are_rejected() {
        assert_eq!(PositiveAmount::new(0), Err(AmountError::Zero));
        assert_eq!(
            PositiveAmount::new(MAX_MINOR_UNITS + 1),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            PositiveAmount::new(MAX_MINOR_UNITS).unwrap().minor_units(),
            MAX_MINOR_UNITS
        );
    }

    #[test]
    fn currencies_are_case_sensitive_iso_codes() {
        assert_eq!(Currency::parse("USD").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("XXX").is_err());
    }

    proptest! {
        #[test]
        fn any_accepted_amount_round_trips_and_sums_fit_in_i64(a in 1..=MAX_MINOR_UNITS, b in 1..=MAX_MINOR_UNITS) {
            let (a, b) = (PositiveAmount::new(a).unwrap(), PositiveAmount::new(b).unwrap());
            // A million maximal amounts still fit in a signed 64-bit total.
            prop_assert!((a.minor_units() as i128 + b.minor_units() as i128) * 500_000 < i64::MAX as i128);
        }
    }
}

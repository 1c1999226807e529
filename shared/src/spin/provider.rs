//! The payment provider as configured by variables: `payment_provider_url` and
//! `payment_provider_api_key`, reached over Spin's outbound HTTP.

use super::{variables, SpinHttp};
use crate::payments::stripe::Stripe;

pub struct ProviderSettings {
    base_url: String,
    api_key: String,
}

impl ProviderSettings {
    pub fn from_variables() -> anyhow::Result<Self> {
        Ok(Self {
            base_url: variables::get("payment_provider_url")?,
            api_key: variables::get("payment_provider_api_key")?,
        })
    }

    pub fn stripe(&self) -> Stripe<'_> {
        Stripe {
            http: &SpinHttp,
            base_url: &self.base_url,
            api_key: &self.api_key,
        }
    }
}

//! The three providers, and how a provider-neutral request maps onto each.

use std::fmt;
use std::str::FromStr;

use reqwest::header::{HeaderName, HeaderValue, InvalidHeaderValue, AUTHORIZATION};

/// A provider that serves Seedance 2.0 Mini.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Magnific (formerly Freepik API): 480p and 720p endpoints, `x-magnific-api-key`.
    Magnific,
    /// Anyfast: `/v1/video/generations`, Bearer auth.
    Anyfast,
    /// Powertokens (a new-api gateway): `/v1/videos`, Bearer auth.
    Powertokens,
}

impl Provider {
    /// All providers, in a fixed order.
    pub const ALL: [Provider; 3] = [Provider::Magnific, Provider::Anyfast, Provider::Powertokens];

    /// Lower-case name, as used on the command line and in module names.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Magnific => "magnific",
            Provider::Anyfast => "anyfast",
            Provider::Powertokens => "powertokens",
        }
    }

    /// The header that carries `key`, in this provider's scheme: Magnific's
    /// `x-magnific-api-key`, or `Authorization: Bearer` for the other two.
    /// The value is marked sensitive, so `Debug` output of requests hides it.
    pub fn auth_header(self, key: &str) -> Result<(HeaderName, HeaderValue), InvalidHeaderValue> {
        let (name, value) = match self {
            Provider::Magnific => (
                HeaderName::from_static("x-magnific-api-key"),
                HeaderValue::from_str(key)?,
            ),
            Provider::Anyfast | Provider::Powertokens => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {key}"))?,
            ),
        };
        let mut value = value;
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// The production base URL from the provider's document.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::Magnific => "https://api.magnific.com",
            Provider::Anyfast => "https://www.anyfast.ai",
            Provider::Powertokens => "https://api.powertokens.ai",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown provider `{s}`: expected magnific, anyfast or powertokens")
            })
    }
}

//! API key scopes and the live / test split.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Error;

/// What an API key may do: the thirteen scopes of the Licentric v1 API, and `events:read`
/// (the audit trail), a Licentric extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// List and retrieve licenses.
    LicensesRead,
    /// Create, update and delete licenses.
    LicensesWrite,
    /// List and retrieve machines.
    MachinesRead,
    /// Create and delete machines.
    MachinesWrite,
    /// List and retrieve products.
    ProductsRead,
    /// Create, update and delete products.
    ProductsWrite,
    /// List and retrieve policies.
    PoliciesRead,
    /// Create, update and delete policies.
    PoliciesWrite,
    /// List and retrieve entitlements.
    EntitlementsRead,
    /// Create and delete entitlements.
    EntitlementsWrite,
    /// List and retrieve webhook endpoints.
    WebhooksRead,
    /// Create, update and delete webhooks.
    WebhooksWrite,
    /// Access license and usage analytics.
    AnalyticsRead,
    /// Read the audit trail (`GET /events`): a Licentric extension of the 13 scopes of
    /// seed 000.
    EventsRead,
}

impl Scope {
    /// Every scope, in the order the documentation lists them.
    pub const ALL: [Scope; 14] = [
        Self::LicensesRead,
        Self::LicensesWrite,
        Self::MachinesRead,
        Self::MachinesWrite,
        Self::ProductsRead,
        Self::ProductsWrite,
        Self::PoliciesRead,
        Self::PoliciesWrite,
        Self::EntitlementsRead,
        Self::EntitlementsWrite,
        Self::WebhooksRead,
        Self::WebhooksWrite,
        Self::AnalyticsRead,
        Self::EventsRead,
    ];

    /// The wire spelling, e.g. `licenses:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LicensesRead => "licenses:read",
            Self::LicensesWrite => "licenses:write",
            Self::MachinesRead => "machines:read",
            Self::MachinesWrite => "machines:write",
            Self::ProductsRead => "products:read",
            Self::ProductsWrite => "products:write",
            Self::PoliciesRead => "policies:read",
            Self::PoliciesWrite => "policies:write",
            Self::EntitlementsRead => "entitlements:read",
            Self::EntitlementsWrite => "entitlements:write",
            Self::WebhooksRead => "webhooks:read",
            Self::WebhooksWrite => "webhooks:write",
            Self::AnalyticsRead => "analytics:read",
            Self::EventsRead => "events:read",
        }
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| Error::UnknownScope(s.to_owned()))
    }
}

impl TryFrom<String> for Scope {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Scope> for String {
    fn from(value: Scope) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live (production) or test (sandbox) data. The two never see each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Environment {
    /// Real licenses; API keys start with `lk_live_`.
    Live,
    /// Development and integration tests; API keys start with `lk_test_`.
    Test,
}

impl Environment {
    /// `live` or `test`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    /// The prefix of this environment's API keys: `lk_live_` or `lk_test_`.
    pub fn api_key_prefix(self) -> &'static str {
        match self {
            Self::Live => "lk_live_",
            Self::Test => "lk_test_",
        }
    }
}

/// For rows read from a database: the stored text, parsed.
impl TryFrom<String> for Environment {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Self::Live),
            "test" => Ok(Self::Test),
            other => Err(Error::UnknownEnvironment(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourteen_distinct_scopes_round_trip() {
        let mut names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 14);
        assert!(names.contains(&"events:read"));
        assert!("licenses:admin".parse::<Scope>().is_err());
    }

    #[test]
    fn environments_have_their_key_prefixes() {
        assert_eq!(Environment::Live.api_key_prefix(), "lk_live_");
        assert_eq!(Environment::Test.api_key_prefix(), "lk_test_");
        assert_eq!("test".parse::<Environment>(), Ok(Environment::Test));
        assert!("prod".parse::<Environment>().is_err());
    }
}

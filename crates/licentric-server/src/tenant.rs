//! The tenant: the account and the live or test environment a request acts for. Every
//! query is filtered by it, so another tenant's record is simply not found (404).

use licentric_core::Environment;

/// The account and environment a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    /// The account (tenant).
    pub account_id: String,
    /// Live or test data.
    pub environment: Environment,
}

//! The dashboard's analytics: continuous per-day series, seats per product and policy, and
//! licenses about to expire.
//!
//! A dashboard draws these as they come: every day of the asked range is present (zeros on
//! a quiet day), and every validation code is present on every day.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationCode;

/// `GET /api/v1/analytics/series`: one entry per UTC day of the range, none missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AnalyticsSeries {
    /// The first day, `YYYY-MM-DD`.
    pub from: String,
    /// The last day, `YYYY-MM-DD`.
    pub to: String,
    /// The product counted; `null` for all the account's products.
    pub product_id: Option<String>,
    /// Every day from `from` to `to`, in order.
    pub days: Vec<AnalyticsDay>,
}

/// What happened on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AnalyticsDay {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Validations by outcome; every code is present, `0` when none.
    pub validations: BTreeMap<ValidationCode, u32>,
    /// All validations of the day, whatever their outcome.
    pub validations_total: u32,
    /// Machines activated.
    pub activations: u32,
    /// Machines deactivated: by a person, culled after missing heartbeats, or removed with
    /// their license.
    pub deactivations: u32,
    /// Machines activated at the end of the day (for today: now); `null` for a day that has
    /// not begun.
    pub active_machines: Option<u32>,
}

/// `GET /api/v1/analytics/seats`: seats now, per product and per policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SeatsReport {
    /// The server's clock when it counted.
    pub as_of: DateTime<Utc>,
    /// Every product (of `productId` only, when asked), by name.
    pub products: Vec<ProductSeats>,
    /// Every policy of those products, by product name, then policy name.
    pub policies: Vec<PolicySeats>,
}

/// Seats of the active licenses of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProductSeats {
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Its seats.
    pub seats: Seats,
}

/// Seats of the active licenses of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PolicySeats {
    /// The policy.
    pub policy_id: String,
    /// Its name.
    pub policy_name: String,
    /// Its product.
    pub product_id: String,
    /// Its seats.
    pub seats: Seats,
}

/// Seats of a set of licenses that are active (status `active` and not expired) now.
///
/// A license's seats are its policy's `maxMachines` when the policy is floating, else one.
/// A floating policy without `maxMachines` is unlimited: its licenses add nothing to
/// `seatsAvailable` and are counted in `unlimitedLicenses` instead, and their machines in
/// `machinesOnUnlimited` (as well as in `machinesUsed`). So the share of bounded seats in
/// use is `(machinesUsed - machinesOnUnlimited) / seatsAvailable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Seats {
    /// Licenses that are active and not expired.
    pub active_licenses: u32,
    /// Machines activated on those licenses.
    pub machines_used: u32,
    /// The seats those licenses allow, unlimited ones left out.
    pub seats_available: u32,
    /// Those licenses whose policy sets no machine limit.
    pub unlimited_licenses: u32,
    /// Machines activated on unlimited licenses (included in `machinesUsed`).
    pub machines_on_unlimited: u32,
}

impl Seats {
    /// Adds another set's seats to these.
    pub fn add(&mut self, other: &Seats) {
        self.active_licenses += other.active_licenses;
        self.machines_used += other.machines_used;
        self.seats_available += other.seats_available;
        self.unlimited_licenses += other.unlimited_licenses;
        self.machines_on_unlimited += other.machines_on_unlimited;
    }
}

/// `GET /api/v1/analytics/expiring`: active licenses that expire soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ExpiringLicenses {
    /// The server's clock when it counted; the windows start here.
    pub as_of: DateTime<Utc>,
    /// The product counted; `null` for all the account's products.
    pub product_id: Option<String>,
    /// The next 7, 30 and 90 days, in that order; each includes the shorter ones.
    pub windows: Vec<ExpiryWindow>,
}

/// Active licenses whose expiry falls after `asOf` and no later than `expiresBefore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ExpiryWindow {
    /// The window's length in days.
    pub days: u32,
    /// Its end: `asOf` plus `days`. Pass it to `GET /api/v1/licenses?expiresBefore=` (with
    /// `status=active&sort=expiresAt`) to list the licenses.
    pub expires_before: DateTime<Utc>,
    /// How many.
    pub count: u32,
}

//! The management API's resources: products, policies, licenses, machines, entitlements,
//! webhooks, API keys and analytics, as sent and received.
//!
//! Requests (`New…`, `…Update`) refuse unknown fields, so a misspelt field is a 400 and not
//! silently ignored. In updates, a field that may be cleared is `Option<Option<T>>`: absent
//! leaves it alone, `null` clears it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::CurrentSigningKey;
use crate::{Environment, LicenseStatus, Scope, ValidationCode};

/// Deserialises a present field (even `null`) as `Some`, so that `Option<Option<T>>` tells
/// "absent" from "null".
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One page of a list, with what is needed to fetch the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Page<T> {
    /// The records of this page.
    pub data: Vec<T>,
    /// How many records match in all.
    pub total: u32,
    /// The page size asked for.
    pub limit: u32,
    /// How many matching records come before this page.
    pub offset: u32,
    /// Whether more records follow this page.
    pub has_more: bool,
    /// For lists that page by cursor (licenses, machines): pass it as `after` for the
    /// next page; stable while records are added. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub next_cursor: Option<String>,
}

/// A product: something a vendor sells licenses for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Product {
    /// The product's id.
    pub id: String,
    /// The account (vendor) it belongs to.
    pub account_id: String,
    /// Its display name.
    pub name: String,
    /// The prefix of its license keys, e.g. `PROAPP`.
    pub key_prefix: String,
    /// The key its offline files and validation tokens are signed with now: pin it in
    /// the application (or fetch `jwksUrl`).
    pub signing_key: CurrentSigningKey,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /products`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewProduct {
    /// Display name, 1–200 characters.
    pub name: String,
    /// Key prefix: 2–12 of `A–Z 0–9`, starting with a letter.
    pub key_prefix: String,
}

/// Body of `PATCH /products/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProductUpdate {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<String>,
    /// New key prefix; existing keys keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub key_prefix: Option<String>,
}

/// A policy: the rules its licenses follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Policy {
    /// The policy's id.
    pub id: String,
    /// The product it belongs to.
    pub product_id: String,
    /// Its display name.
    pub name: String,
    /// Most machines per license; `null` for unlimited (floating policies only).
    pub max_machines: Option<u32>,
    /// Floating licenses move between up to `maxMachines` machines; node-locked ones
    /// (`false`) are bound to one.
    pub floating: bool,
    /// Machines must send heartbeats every `heartbeatInterval` seconds.
    pub require_heartbeat: bool,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u32,
    /// Whether machines that miss their heartbeat are removed to free their slot.
    pub cull_dead_machines: bool,
    /// Seconds a new or renewed license lasts; `null` for perpetual.
    pub duration: Option<u32>,
    /// Days a machine may work offline on a license file before checking in.
    pub offline_max_days: u32,
    /// Days of grace after a cached validation token expires.
    pub grace_days: u32,
    /// Most validations per license; `null` for unlimited.
    pub max_uses: Option<u32>,
    /// Entitlement codes every license of this policy has.
    pub entitlements: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewPolicy {
    /// The product the policy belongs to.
    pub product_id: String,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Most machines per license (default 1; `null` for unlimited, floating only).
    #[serde(default = "default_max_machines", deserialize_with = "present")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_machines: Option<Option<u32>>,
    /// Default `false` (node-locked).
    #[serde(default)]
    pub floating: bool,
    /// Default `false`.
    #[serde(default)]
    pub require_heartbeat: bool,
    /// Seconds, 60–86400 (default 600).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub heartbeat_interval: Option<u32>,
    /// Default `false`.
    #[serde(default)]
    pub cull_dead_machines: bool,
    /// Seconds; absent or `null` for perpetual.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub duration: Option<u32>,
    /// Default 14.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub offline_max_days: Option<u32>,
    /// Default 7.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub grace_days: Option<u32>,
    /// Absent or `null` for unlimited.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_uses: Option<u32>,
    /// Entitlement codes (they must exist).
    #[serde(default)]
    pub entitlements: Vec<String>,
}

#[allow(clippy::unnecessary_wraps)]
fn default_max_machines() -> Option<Option<u32>> {
    None
}

/// Body of `PATCH /policies/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PolicyUpdate {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<String>,
    /// New machine limit; `null` for unlimited.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_machines: Option<Option<u32>>,
    /// Floating or node-locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub floating: Option<bool>,
    /// Whether heartbeats are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub require_heartbeat: Option<bool>,
    /// Seconds between heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub heartbeat_interval: Option<u32>,
    /// Whether dead machines are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cull_dead_machines: Option<bool>,
    /// Seconds; `null` for perpetual.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub duration: Option<Option<u32>>,
    /// Days offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub offline_max_days: Option<u32>,
    /// Days of grace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub grace_days: Option<u32>,
    /// Most validations; `null` for unlimited.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_uses: Option<Option<u32>>,
    /// Replaces the policy's entitlement codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub entitlements: Option<Vec<String>>,
}

/// A license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct License {
    /// The license's id.
    pub id: String,
    /// Its key, `PREFIX-XXXX-XXXX-XXXX-XXXX`.
    pub key: String,
    /// A label, e.g. the customer's name.
    pub name: Option<String>,
    /// The licensed product.
    pub product_id: String,
    /// The governing policy.
    pub policy_id: String,
    /// As set by the vendor; expiry is separate.
    pub status: LicenseStatus,
    /// When it expires; `null` for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// Validations so far.
    pub uses: u32,
    /// The policy's validation limit.
    pub max_uses: Option<u32>,
    /// The policy's machine limit (1 for node-locked).
    pub max_machines: Option<u32>,
    /// Machines activated now.
    pub machines_count: u32,
    /// Entitlement codes: the policy's and the license's own.
    pub entitlements: Vec<String>,
    /// The vendor's own data.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub metadata: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /licenses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewLicense {
    /// The policy (and so the product) of the license.
    pub policy_id: String,
    /// A label, e.g. the customer's name.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<String>,
    /// A key of your own; by default one is generated with the product's prefix.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub key: Option<String>,
    /// Expiry; absent: the policy's duration from now; `null`: perpetual.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Your own data (a JSON object, at most 16 KiB).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Entitlement codes of this license, beyond its policy's.
    #[serde(default)]
    pub entitlements: Vec<String>,
}

/// Body of `PATCH /licenses/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseUpdate {
    /// New label; `null` clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<Option<String>>,
    /// New expiry; `null` makes it perpetual.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Moves the license to another policy of the same product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub policy_id: Option<String>,
    /// Sets the validation count (e.g. 0 to reset it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub uses: Option<u32>,
}

/// Body of `POST`/`DELETE /licenses/{id}/entitlements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct EntitlementCodes {
    /// Entitlement codes.
    pub entitlements: Vec<String>,
}

/// The platforms a machine can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Platform {
    /// Apple macOS.
    Macos,
    /// Microsoft Windows.
    Windows,
    /// Linux on a host.
    Linux,
    /// A Docker container.
    Docker,
    /// A Kubernetes pod.
    Kubernetes,
}

impl Platform {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Macos => "macos",
            Self::Windows => "windows",
            Self::Linux => "linux",
            Self::Docker => "docker",
            Self::Kubernetes => "kubernetes",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Macos,
            Self::Windows,
            Self::Linux,
            Self::Docker,
            Self::Kubernetes,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Whether a machine checks in as its policy asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum HeartbeatStatus {
    /// No heartbeat yet.
    NotStarted,
    /// The last heartbeat is recent enough.
    Alive,
    /// The last heartbeat is overdue.
    Dead,
}

/// A machine activated on a license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Machine {
    /// The machine's id.
    pub id: String,
    /// The license it is activated on.
    pub license_id: String,
    /// Its fingerprint (at least 8 characters).
    pub fingerprint: String,
    /// A human-readable name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<Platform>,
    /// Whether it checks in as required.
    pub heartbeat_status: HeartbeatStatus,
    /// Its last heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// When the next heartbeat is due, if the policy requires them.
    pub heartbeat_due_at: Option<DateTime<Utc>>,
    /// When it was activated.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// A validation token for this machine (an EdDSA-signed JWT, as `validate-key`
    /// gives): only in the answer to an activation, and only while the license is valid;
    /// `null` everywhere else.
    #[serde(default)]
    pub token: Option<String>,
}

/// Body of `POST /machines` (activation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewMachine {
    /// The machine's fingerprint, 8–255 characters.
    pub fingerprint: String,
    /// A human-readable name.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<String>,
    /// `macos`, `windows`, `linux`, `docker` or `kubernetes`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub platform: Option<String>,
    /// The license, when activating with an API key (with a license key it is implied).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub license_id: Option<String>,
}

/// A license as its own key sees it: the machine slots view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseOverview {
    /// The license.
    pub license: License,
    /// Its machines, oldest first.
    pub machines: Vec<Machine>,
    /// Slots in use.
    pub machines_used: u32,
    /// Slots in all; `null` for unlimited.
    pub max_machines: Option<u32>,
    /// Whether machines must send heartbeats.
    pub require_heartbeat: bool,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u32,
    /// Days offline on a license file.
    pub offline_max_days: u32,
    /// Days of grace after a cached token expires.
    pub grace_days: u32,
    /// The server's time, for clients keeping a trusted-time mark.
    pub server_time: DateTime<Utc>,
}

/// An entitlement: a feature a license can carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Entitlement {
    /// The entitlement's id.
    pub id: String,
    /// Its code, e.g. `export_pdf`.
    pub code: String,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /entitlements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewEntitlement {
    /// 1–64 of `a–z 0–9 _ . -`, starting with a letter.
    pub code: String,
    /// Display name; defaults to the code.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name: Option<String>,
}

/// Body of `PATCH /entitlements/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct EntitlementUpdate {
    /// New display name.
    pub name: String,
}

/// A webhook endpoint that receives event notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Webhook {
    /// The endpoint's id.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event types delivered, or `["*"]` for all.
    pub events: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why the server disabled the endpoint itself (every delivery failed for too long);
    /// `null` otherwise. Enabling the endpoint clears it.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// When the server disabled the endpoint itself.
    #[serde(default)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// A note.
    pub description: Option<String>,
    /// The signing secret: only in the answers that create or rotate it, else `null`.
    #[serde(default)]
    pub secret: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewWebhook {
    /// An `http` or `https` URL.
    pub url: String,
    /// Event types; default all (`["*"]`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub events: Option<Vec<String>>,
    /// Default `true`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub enabled: Option<bool>,
    /// A note.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub description: Option<String>,
}

/// Body of `PATCH /webhooks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WebhookUpdate {
    /// New URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub url: Option<String>,
    /// New event types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub events: Option<Vec<String>>,
    /// Turn deliveries on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub enabled: Option<bool>,
    /// New note; `null` clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub description: Option<Option<String>>,
}

/// The state of one delivery of one event to one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum DeliveryStatus {
    /// Not delivered yet; will be (re)tried at `nextAttemptAt`.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt failed; no more will be made.
    Failed,
}

/// A webhook delivery, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WebhookDelivery {
    /// The delivery's id (header `Licentric-Delivery`).
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event's id (the `id` in the body).
    pub event_id: String,
    /// The event type, e.g. `license.suspended`.
    pub event: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The HTTP status of the last attempt.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An API key, as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ApiKey {
    /// The key's id.
    pub id: String,
    /// Its label.
    pub name: String,
    /// Live or test.
    pub environment: Environment,
    /// What it may do.
    #[cfg_attr(feature = "ts", ts(type = "Array<string>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub scopes: Vec<Scope>,
    /// Its first characters, e.g. `lk_live_Ab3d`.
    pub display_prefix: String,
    /// The whole key: only in the answers that create or rotate it (shown once), else `null`.
    #[serde(default)]
    pub key: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Body of `POST /api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewApiKey {
    /// A label, 1–200 characters.
    pub name: String,
    /// Scopes; each must be held by the key making the request.
    pub scopes: Vec<String>,
}

/// Validations of one day with one outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ValidationsOnDay {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// The outcome.
    pub code: ValidationCode,
    /// How many.
    pub count: u32,
}

/// Machine activations and deactivations of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActivationsOnDay {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Machines activated.
    pub activations: u32,
    /// Machines deactivated (by a person or culled).
    pub deactivations: u32,
}

/// Licenses and seats of one product, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProductUsage {
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Licenses that are active and not expired.
    pub active_licenses: u32,
    /// Machines activated on those licenses.
    pub seats_used: u32,
    /// Seats those licenses allow in all; `null` when any is unlimited.
    pub seats_total: Option<u32>,
}

/// `{"data": [...]}` of an analytics answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DataList<T> {
    /// The rows.
    pub data: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_tell_absent_from_null() {
        let absent: LicenseUpdate = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.expires_at, None);
        let cleared: LicenseUpdate = serde_json::from_str(r#"{"expiresAt": null}"#).unwrap();
        assert_eq!(cleared.expires_at, Some(None));
        let set: LicenseUpdate =
            serde_json::from_str(r#"{"expiresAt": "2027-01-01T00:00:00Z"}"#).unwrap();
        assert!(matches!(set.expires_at, Some(Some(_))));
    }

    #[test]
    fn new_policy_defaults_to_one_node_locked_machine_unless_told() {
        let policy: NewPolicy =
            serde_json::from_str(r#"{"productId": "p", "name": "Basic"}"#).unwrap();
        assert_eq!(policy.max_machines, None);
        assert!(!policy.floating);
        let unlimited: NewPolicy = serde_json::from_str(
            r#"{"productId": "p", "name": "Site", "floating": true, "maxMachines": null}"#,
        )
        .unwrap();
        assert_eq!(unlimited.max_machines, Some(None));
    }

    #[test]
    fn platforms_parse_only_the_five_documented_names() {
        for name in ["macos", "windows", "linux", "docker", "kubernetes"] {
            assert_eq!(Platform::parse(name).map(Platform::as_str), Some(name));
        }
        assert_eq!(Platform::parse("MacOS"), None);
        assert_eq!(Platform::parse("bsd"), None);
    }
}

/// One event of the audit trail: who did what to which record, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AuditEvent {
    /// The event's id, increasing with time.
    pub id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// `api_key`, `license`, `anonymous` (validate-key) or `system` (the server itself).
    pub actor_type: String,
    /// The API key's or license's id.
    pub actor_id: Option<String>,
    /// The API key's name.
    pub actor_name: Option<String>,
    /// What was done, e.g. `license.suspended`.
    pub action: String,
    /// The kind of record: `license`, `machine`, `product`, `policy`, `entitlement`,
    /// `webhook`, `api_key` or `signing_key`.
    pub resource_type: Option<String>,
    /// Its id.
    pub resource_id: Option<String>,
    /// The client's address.
    pub client_address: Option<String>,
    /// The `X-Request-Id` of the request that caused it.
    pub request_id: Option<String>,
    /// For an update, `{field: {"before", "after"}}`; other facts of the event otherwise.
    /// Never a secret.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown> | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub changes: Option<serde_json::Value>,
}

/// The calling API key (`GET /api-keys/me`): what a client may show and do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CurrentApiKey {
    /// The key's id.
    pub id: String,
    /// Its label.
    pub name: String,
    /// Live or test.
    pub environment: Environment,
    /// What it may do.
    #[cfg_attr(feature = "ts", ts(type = "Array<string>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub scopes: Vec<Scope>,
    /// Its first characters, e.g. `lk_live_Ab3d`.
    pub display_prefix: String,
    /// The account it belongs to.
    pub account_id: String,
}

/// The answer of `POST /webhooks/{id}/test`: what the endpoint did with a signed
/// `webhook.test` event sent just now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WebhookTestResult {
    /// Whether the endpoint answered 2xx in time.
    pub delivered: bool,
    /// The HTTP status it answered, if it answered.
    pub status: Option<u16>,
    /// How long the attempt took, in milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: u64,
    /// Why it failed, as the delivery log says it ("failed: …"); `null` when delivered.
    pub error: Option<String>,
    /// The test's entry in the delivery log.
    pub delivery_id: String,
}

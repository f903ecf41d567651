//! The license lifecycle: issuing, changing, suspending, reinstating, revoking, banning,
//! renewing and deleting licenses, and their own entitlements. Each change is recorded in
//! the audit trail and emitted to webhooks as `license.<what happened>`.

use chrono::Duration;
use licentric_core::{
    wire::{License, LicenseOverview, LicenseUpdate, NewLicense},
    KeyPrefix, LicenseKey, LicenseStatus,
};
use rand::rngs::OsRng;
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    machines,
};
use crate::{
    db::{self, licenses::LicenseRecord},
    events,
    params::Problems,
    tenant::Tenant,
    ApiError, AppState,
};

/// Largest metadata object, serialised.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The tenant's license with this id, or a 404.
pub async fn load(state: &AppState, tenant: &Tenant, id: &str) -> Result<LicenseRecord, ApiError> {
    db::licenses::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("license"))
}

/// Changes a license by `apply`, read and written as one compare and set: when another
/// request changes the license in between, it is read again and `apply` decides afresh
/// (a second suspension then finds it suspended). Without this, two concurrent writes
/// would each save what they read, and the later would undo the earlier (or a count of
/// uses made between). Returns the license as it was and as it is saved.
async fn change(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    mut apply: impl FnMut(&mut LicenseRecord) -> Result<(), ApiError>,
) -> Result<(LicenseRecord, LicenseRecord), ApiError> {
    for _ in 0..CHANGE_ATTEMPTS {
        let before = load(state, tenant, id).await?;
        let mut after = before.clone();
        apply(&mut after)?;
        if db::licenses::update(&state.db, &before, &after, state.clock.now()).await? {
            return Ok((before, after));
        }
    }
    Err(ApiError::conflict(
        "concurrent_update",
        "This license is being changed by other requests right now. Try again.",
    ))
}

/// How often [`change`] reads again before it gives up; each retry means another request
/// won, so a handful is plenty.
const CHANGE_ATTEMPTS: usize = 8;

/// The wire form of a license, with its entitlement codes.
pub async fn wire(state: &AppState, record: LicenseRecord) -> Result<License, ApiError> {
    let codes = db::licenses::entitlement_codes(&state.db, &record).await?;
    record.into_wire(codes).map_err(ApiError::from)
}

/// The wire form of many licenses (a list page), their entitlements read together.
pub async fn wire_many(
    state: &AppState,
    records: Vec<LicenseRecord>,
) -> Result<Vec<License>, ApiError> {
    let Some(tenant) = records.first().map(LicenseRecord::tenant) else {
        return Ok(Vec::new());
    };
    let mut codes = db::licenses::entitlement_codes_of(&state.db, &tenant, &records).await?;
    records
        .into_iter()
        .map(|record| {
            let codes = codes.remove(&record.id).unwrap_or_default();
            record.into_wire(codes).map_err(ApiError::from)
        })
        .collect()
}

/// Records `action` on `license` in the audit trail and emits it to webhooks (without the
/// key: receivers get the id).
async fn happened(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    action: &str,
    license: &License,
    changes: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    audit::record(
        state,
        tenant,
        actor,
        Event {
            action,
            resource_type: "license",
            resource_id: &license.id,
            changes,
        },
    )
    .await?;
    emit(state, tenant, action, license).await
}

/// Emits `license.created` to webhooks, for licenses whose audit events a batch records.
pub(super) async fn emit_created(
    state: &AppState,
    tenant: &Tenant,
    license: &License,
) -> Result<(), ApiError> {
    emit(state, tenant, "license.created", license).await
}

/// Emits `action` on `license` to webhooks, without the key: receivers get the id.
async fn emit(
    state: &AppState,
    tenant: &Tenant,
    action: &str,
    license: &License,
) -> Result<(), ApiError> {
    let mut data = serde_json::to_value(license).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(object) = data.as_object_mut() {
        object.remove("key");
    }
    events::emit(state, tenant, action, json!({ "license": data })).await
}

/// Checks a metadata object's size; answers its JSON text.
pub fn check_metadata(
    problems: &mut Problems,
    metadata: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let text = serde_json::Value::Object(metadata.clone()).to_string();
    if text.len() > MAX_METADATA_BYTES {
        problems.add(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        );
    }
    text
}

/// Issues a license of a policy; its key is generated with the product's prefix unless
/// given. A 400 names every bad field; a key in use is a 409 `key_in_use`.
pub async fn create(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    body: NewLicense,
) -> Result<License, ApiError> {
    let mut problems = Problems::default();
    let policy = db::policies::get(&state.db, tenant, &body.policy_id).await?;
    if policy.is_none() {
        problems.add(
            "policyId",
            "no policy with this id in this account and environment",
        );
    }
    let name = body.name.as_deref().map(|n| problems.text("name", n, 200));
    let metadata = check_metadata(&mut problems, &body.metadata.unwrap_or_default());
    let custom_key = match body.key.as_deref().map(LicenseKey::parse) {
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => {
            problems.add("key", error.to_string());
            None
        }
        None => None,
    };
    for code in &body.entitlements {
        problems.entitlement_code("entitlements", code);
    }
    let (entitlement_ids, missing) =
        db::entitlements::resolve(&state.db, tenant, &body.entitlements).await?;
    if !missing.is_empty() {
        problems.add(
            "entitlements",
            format!(
                "no entitlement with code {}; create it first",
                missing.join(", ")
            ),
        );
    }
    problems.finish()?;
    let Some(policy) = policy else {
        return Err(ApiError::not_found("policy"));
    };
    let product = db::products::get(&state.db, tenant, &policy.product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;

    let now = state.clock.now();
    let expires_at = match body.expires_at {
        Some(explicit) => explicit,
        None => policy
            .duration
            .map(|secs| now + Duration::seconds(i64::from(secs))),
    };
    let id = Uuid::new_v4().to_string();
    let (id_ref, policy_ref, name_ref, metadata_ref) = (&id, &policy, name.as_deref(), &metadata);
    let insert = move |key: String| async move {
        let row = db::licenses::NewLicenseRow {
            id: id_ref,
            product_id: &policy_ref.product_id,
            policy_id: &policy_ref.id,
            key: &key,
            name: name_ref,
            expires_at,
            metadata: metadata_ref,
        };
        db::licenses::insert(&state.db, tenant, &row, now).await
    };
    let inserted = match custom_key {
        Some(key) => insert(key.as_str().to_owned()).await?,
        None => {
            let prefix =
                KeyPrefix::parse(&product.key_prefix).map_err(|e| ApiError::Internal(e.into()))?;
            let mut inserted = false;
            // 80 random bits: a collision is astronomically rare, but never fatal.
            for _ in 0..5 {
                let key = LicenseKey::generate(&prefix, &mut OsRng);
                if insert(key.as_str().to_owned()).await? {
                    inserted = true;
                    break;
                }
            }
            inserted
        }
    };
    if !inserted {
        return Err(ApiError::conflict("key_in_use", "A license with this key already exists. Choose another key, or leave key out to have one generated."));
    }
    db::entitlements::attach_to_license(&state.db, tenant, &id, &entitlement_ids).await?;
    let license = wire(state, load(state, tenant, &id).await?).await?;
    happened(
        state,
        tenant,
        actor,
        "license.created",
        &license,
        audit::snapshot(&license),
    )
    .await?;
    Ok(license)
}

/// Changes a license's name, expiry, metadata, policy (of the same product) or use count.
pub async fn update(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
    body: LicenseUpdate,
) -> Result<License, ApiError> {
    let current = load(state, tenant, id).await?;
    let mut problems = Problems::default();
    let name = body
        .name
        .map(|name| name.map(|n| problems.text("name", &n, 200)));
    let metadata = body
        .metadata
        .as_ref()
        .map(|metadata| check_metadata(&mut problems, metadata));
    if let Some(policy_id) = &body.policy_id {
        match db::policies::get(&state.db, tenant, policy_id).await? {
            Some(policy) if policy.product_id == current.product_id => {}
            Some(_) => problems.add(
                "policyId",
                "the policy belongs to another product; a license stays with its product",
            ),
            None => problems.add(
                "policyId",
                "no policy with this id in this account and environment",
            ),
        }
    }
    problems.finish()?;
    let (record, _) = change(state, tenant, id, |record| {
        if let Some(name) = &name {
            record.name.clone_from(name);
        }
        if let Some(expires_at) = body.expires_at {
            record.expires_at = expires_at;
        }
        if let Some(metadata) = &metadata {
            record.metadata.clone_from(metadata);
        }
        if let Some(uses) = body.uses {
            record.uses = uses;
        }
        if let Some(policy_id) = &body.policy_id {
            record.policy_id.clone_from(policy_id);
        }
        Ok(())
    })
    .await?;
    let before = wire(state, record).await?;
    let license = wire(state, load(state, tenant, id).await?).await?;
    let changes = audit::changes(&before, &license);
    happened(state, tenant, actor, "license.updated", &license, changes).await?;
    Ok(license)
}

/// Deletes a license and its machines.
pub async fn delete(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
) -> Result<(), ApiError> {
    let license = wire(state, load(state, tenant, id).await?).await?;
    // Its machines go with it: the activity log counts them as deactivated, or the
    // active-machines series would count them for ever.
    db::activity::record_license_removal(
        &state.db,
        tenant,
        &license.product_id,
        &license.id,
        state.clock.now(),
    )
    .await?;
    db::licenses::delete(&state.db, tenant, id).await?;
    happened(
        state,
        tenant,
        actor,
        "license.deleted",
        &license,
        audit::snapshot(&license),
    )
    .await
}

/// A status change and the statuses it may start from.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    verb: &'static str,
    event: &'static str,
    from: &'static [LicenseStatus],
    to: LicenseStatus,
}

/// Suspends an active license: validations answer `SUSPENDED` until it is reinstated.
pub const SUSPEND: Transition = Transition {
    verb: "suspend",
    event: "license.suspended",
    from: &[LicenseStatus::Active],
    to: LicenseStatus::Suspended,
};
/// Reinstates a suspended license.
pub const REINSTATE: Transition = Transition {
    verb: "reinstate",
    event: "license.reinstated",
    from: &[LicenseStatus::Suspended],
    to: LicenseStatus::Active,
};
/// Revokes a license for good.
pub const REVOKE: Transition = Transition {
    verb: "revoke",
    event: "license.revoked",
    from: &[
        LicenseStatus::Active,
        LicenseStatus::Suspended,
        LicenseStatus::Banned,
    ],
    to: LicenseStatus::Revoked,
};
/// Bans a license for abuse.
pub const BAN: Transition = Transition {
    verb: "ban",
    event: "license.banned",
    from: &[LicenseStatus::Active, LicenseStatus::Suspended],
    to: LicenseStatus::Banned,
};

/// Moves a license to `t.to`, or answers 409 `invalid_transition` saying why not.
pub async fn transition(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
    t: Transition,
) -> Result<License, ApiError> {
    let (before, _) = change(state, tenant, id, |record| {
        let status = record.status;
        if !t.from.contains(&status) {
            return Err(ApiError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "Cannot {} a license that is {status}. {}",
                    t.verb,
                    match status {
                        LicenseStatus::Revoked =>
                            "A revoked license is final; issue a new license instead.",
                        LicenseStatus::Suspended => "Reinstate it first, or revoke it.",
                        _ => "Check the license's status first.",
                    }
                ),
                details: Some(json!({ "status": status })),
            });
        }
        record.status = t.to;
        Ok(())
    })
    .await?;
    let status = before.status;
    let license = wire(state, load(state, tenant, id).await?).await?;
    let changes = json!({ "status": { "before": status, "after": t.to } });
    happened(state, tenant, actor, t.event, &license, Some(changes)).await?;
    Ok(license)
}

/// Extends a license by its policy's duration, from its expiry or from now, whichever is
/// later. A revoked license or a perpetual policy is a 409.
pub async fn renew(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
) -> Result<License, ApiError> {
    let current = load(state, tenant, id).await?;
    let policy = db::policies::get(&state.db, tenant, &current.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let now = state.clock.now();
    let (record, _) = change(state, tenant, id, |record| {
        if record.status == LicenseStatus::Revoked {
            return Err(ApiError::conflict(
                "invalid_transition",
                "Cannot renew a revoked license; issue a new license instead.",
            ));
        }
        if record.policy_id != policy.id {
            return Err(ApiError::conflict(
                "concurrent_update",
                "This license's policy changed while it was being renewed. Try again.",
            ));
        }
        let Some(duration) = policy.duration else {
            return Err(ApiError::conflict(
                "perpetual_policy",
                "This license's policy has no duration, so there is nothing to renew by. Set expiresAt with PATCH instead.",
            ));
        };
        let from = record.expires_at.map_or(now, |expiry| expiry.max(now));
        record.expires_at = Some(from + Duration::seconds(i64::from(duration)));
        Ok(())
    })
    .await?;
    let before = record.expires_at;
    let license = wire(state, load(state, tenant, id).await?).await?;
    let changes = json!({ "expiresAt": { "before": before, "after": license.expires_at } });
    happened(
        state,
        tenant,
        actor,
        "license.renewed",
        &license,
        Some(changes),
    )
    .await?;
    Ok(license)
}

/// Gives a license entitlements beyond its policy's.
pub async fn attach_entitlements(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
    codes: &[String],
) -> Result<License, ApiError> {
    let before = wire(state, load(state, tenant, id).await?).await?;
    let mut problems = Problems::default();
    if codes.is_empty() {
        problems.add("entitlements", "must name at least one entitlement code");
    }
    let (ids, missing) = db::entitlements::resolve(&state.db, tenant, codes).await?;
    if !missing.is_empty() {
        problems.add(
            "entitlements",
            format!(
                "no entitlement with code {}; create it first",
                missing.join(", ")
            ),
        );
    }
    problems.finish()?;
    db::entitlements::attach_to_license(&state.db, tenant, id, &ids).await?;
    entitlements_changed(state, tenant, actor, id, &before).await
}

/// Takes an entitlement from a license (its policy's entitlements stay).
pub async fn detach_entitlement(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
    code: String,
) -> Result<License, ApiError> {
    let before = wire(state, load(state, tenant, id).await?).await?;
    let (ids, _) = db::entitlements::resolve(&state.db, tenant, &[code]).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("entitlement"));
    }
    db::entitlements::detach_from_license(&state.db, tenant, id, &ids).await?;
    entitlements_changed(state, tenant, actor, id, &before).await
}

/// Reads a license back after its own entitlements changed, and records and emits the
/// change (`license.updated`, with the entitlements before and after).
async fn entitlements_changed(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
    before: &License,
) -> Result<License, ApiError> {
    let license = wire(state, load(state, tenant, id).await?).await?;
    let changes = audit::changes(before, &license);
    happened(state, tenant, actor, "license.updated", &license, changes).await?;
    Ok(license)
}

/// A license with its machines and limits: what an end user's machine-slots view shows.
/// Machines that missed their heartbeats are culled first, when the policy says so.
pub async fn overview(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    id: &str,
) -> Result<LicenseOverview, ApiError> {
    let record = load(state, tenant, id).await?;
    let policy = machines::policy_of(state, tenant, &record).await?;
    machines::cull_dead(state, tenant, actor, &record, &policy).await?;
    let record = load(state, tenant, id).await?;
    let now = state.clock.now();
    let rule = machines::rule(&policy);
    let machines: Vec<_> = db::machines::of_license(&state.db, tenant, &record.id)
        .await?
        .into_iter()
        .map(|m| m.into_wire(rule, now))
        .collect();
    let license = wire(state, record).await?;
    Ok(LicenseOverview {
        machines_used: license.machines_count,
        max_machines: license.max_machines,
        license,
        machines,
        require_heartbeat: policy.require_heartbeat,
        heartbeat_interval: policy.heartbeat_interval,
        offline_max_days: policy.offline_max_days,
        grace_days: policy.grace_days,
        server_time: now,
    })
}

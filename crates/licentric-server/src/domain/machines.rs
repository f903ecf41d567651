//! Activation and machine rules: registering a machine within the license's limit,
//! heartbeats, deactivation, and culling machines that missed their heartbeats.

use licentric_core::{
    wire::{Machine, Platform, Policy},
    LicenseStatus,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    runtime,
};
use crate::{
    db::{
        self,
        activity::Kind,
        licenses::LicenseRecord,
        machines::{HeartbeatRule, MachineRecord},
    },
    events, issuance,
    params::Problems,
    tenant::Tenant,
    ApiError, AppState,
};

/// Checks a fingerprint: 8–255 characters, no control characters.
pub fn check_fingerprint(problems: &mut Problems, fingerprint: &str) {
    let length = fingerprint.trim().chars().count();
    if length < 8 {
        problems.add("fingerprint", "must be at least 8 characters");
    } else if length > 255 {
        problems.add("fingerprint", "must be at most 255 characters");
    } else if fingerprint.chars().any(char::is_control) {
        problems.add("fingerprint", "must not contain control characters");
    }
}

/// The heartbeat rule of a policy.
pub fn rule(policy: &Policy) -> HeartbeatRule {
    HeartbeatRule {
        required: policy.require_heartbeat,
        interval_secs: policy.heartbeat_interval,
    }
}

/// The policy of a license.
pub async fn policy_of(
    state: &AppState,
    tenant: &Tenant,
    license: &LicenseRecord,
) -> Result<Policy, ApiError> {
    db::policies::get(&state.db, tenant, &license.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))
}

/// Records `action` on `machine` in the audit trail and emits it to webhooks.
async fn happened(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    action: &str,
    machine: &Machine,
) -> Result<(), ApiError> {
    audit::record(
        state,
        tenant,
        actor,
        Event {
            action,
            resource_type: "machine",
            resource_id: &machine.id,
            changes: audit::snapshot(machine),
        },
    )
    .await?;
    events::emit(state, tenant, action, json!({ "machine": machine })).await
}

/// Removes the license's machines that missed their heartbeat, when its policy says so.
/// The server does it (the audit trail's actor is `system`), during `actor`'s request.
pub async fn cull_dead(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    license: &LicenseRecord,
    policy: &Policy,
) -> Result<u32, ApiError> {
    if !(policy.cull_dead_machines && policy.require_heartbeat) {
        return Ok(0);
    }
    let now = state.clock.now();
    let mut culled = 0;
    for machine in db::machines::of_license(&state.db, tenant, &license.id).await? {
        if machine.is_dead(rule(policy), now)
            && db::machines::delete(&state.db, tenant, &machine.id).await?
        {
            culled += 1;
            db::activity::record(
                &state.db,
                tenant,
                Kind::Deactivation,
                &license.product_id,
                &license.id,
                now,
            )
            .await?;
            let system = Actor {
                request_id: actor.request_id.clone(),
                ..Actor::system()
            };
            happened(
                state,
                tenant,
                &system,
                "machine.culled",
                &machine.into_wire(rule(policy), now),
            )
            .await?;
        }
    }
    Ok(culled)
}

/// The machine an activation asks for.
#[derive(Debug, Clone)]
pub struct NewMachineAsked<'a> {
    /// Its fingerprint.
    pub fingerprint: &'a str,
    /// Its name, if it gave one.
    pub name: Option<String>,
    /// Its platform, if it said.
    pub platform: Option<Platform>,
}

/// A machine registered on a license by [`register`].
#[derive(Debug)]
pub struct Registered {
    /// The machine.
    pub machine: MachineRecord,
    /// Whether it was activated just now (else it already was).
    pub created: bool,
}

/// Activates `fingerprint` on `license`, or finds it already activated. A machine whose
/// heartbeat is overdue under a culling policy is replaced. Refuses a license that cannot
/// take machines (409), and a full one (409 `machine_limit_exceeded`, decided in one
/// statement so two racing activations cannot both take the last slot). Records the
/// activation and emits `machine.activated`.
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    license: &LicenseRecord,
    policy: &Policy,
    asked: NewMachineAsked<'_>,
) -> Result<Registered, ApiError> {
    let NewMachineAsked {
        fingerprint,
        name,
        platform,
    } = asked;
    let now = state.clock.now();
    let fingerprint = fingerprint.trim();
    if let Some(existing) =
        db::machines::find_by_fingerprint(&state.db, tenant, &license.id, fingerprint).await?
    {
        if !existing.is_dead(rule(policy), now) || !policy.cull_dead_machines {
            return Ok(Registered {
                machine: existing,
                created: false,
            });
        }
    }
    refuse_unusable(license, now)?;
    cull_dead(state, tenant, actor, license, policy).await?;

    let machine = MachineRecord {
        id: Uuid::new_v4().to_string(),
        license_id: license.id.clone(),
        fingerprint: fingerprint.to_owned(),
        name,
        platform: platform.map(|p| p.as_str().to_owned()),
        last_heartbeat_at: None,
        created_at: now,
        updated_at: now,
    };
    let max = license.max_machines();
    if !db::machines::insert_within_limit(&state.db, tenant, &machine, max).await? {
        // Another request activated this fingerprint a moment ago (a client retrying on a
        // flaky network): both get the one machine.
        if let Some(existing) =
            db::machines::find_by_fingerprint(&state.db, tenant, &license.id, fingerprint).await?
        {
            return Ok(Registered {
                machine: existing,
                created: false,
            });
        }
        let used = db::machines::of_license(&state.db, tenant, &license.id)
            .await?
            .len();
        return Err(ApiError::Conflict {
            code: "machine_limit_exceeded",
            message: format!(
                "This license is already activated on {used} of {} machine(s). Deactivate one of them to free a slot, or ask the vendor for more seats.",
                max.unwrap_or_default()
            ),
            details: Some(json!({ "maxMachines": max, "machinesUsed": used })),
        });
    }
    db::activity::record(
        &state.db,
        tenant,
        Kind::Activation,
        &license.product_id,
        &license.id,
        now,
    )
    .await?;
    happened(
        state,
        tenant,
        actor,
        "machine.activated",
        &machine.clone().into_wire(rule(policy), now),
    )
    .await?;
    Ok(Registered {
        machine,
        created: true,
    })
}

/// A license that cannot take new machines (or offline files) says why: 409
/// `license_expired`, `license_suspended`, `license_revoked` or `license_banned`.
pub fn refuse_unusable(
    license: &LicenseRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let (code, message) = match license.status {
        LicenseStatus::Active => match license.expires_at {
            Some(expiry) if expiry <= now => (
                "license_expired",
                "This license has expired. Renew it before activating machines.",
            ),
            _ => return Ok(()),
        },
        LicenseStatus::Suspended => (
            "license_suspended",
            "This license is suspended. Contact the vendor to have it reinstated.",
        ),
        LicenseStatus::Revoked => (
            "license_revoked",
            "This license has been revoked and cannot be activated.",
        ),
        LicenseStatus::Banned => (
            "license_banned",
            "This license is banned and cannot be activated.",
        ),
    };
    Err(ApiError::conflict(code, message))
}

/// Activates `fingerprint` on the license `license_id` (in the runtime's batches,
/// [`super::runtime`]: within the limit, and the one machine for concurrent activations
/// of one fingerprint) and answers the machine with a validation token while the license
/// validates, and whether it is new. With a license key (`actor` of kind license), a
/// license that no longer exists is a 401, as for any unknown key.
pub async fn activate(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    license_id: &str,
    asked: NewMachineAsked<'_>,
) -> Result<(Machine, bool), ApiError> {
    let activated = state
        .runtime
        .activate(runtime::Activation {
            tenant: tenant.clone(),
            actor: actor.clone(),
            license_id: license_id.to_owned(),
            fingerprint: asked.fingerprint.trim().to_owned(),
            name: asked.name,
            platform: asked.platform,
        })
        .await?;
    let view = &activated.license;
    let now = activated.now;
    let token = if activated.valid {
        let key = state
            .runtime
            .signing_key(&state.settings.secret, tenant, activated.generation, now)
            .await?;
        let subject = issuance::Subject {
            license: &view.record,
            policy: &view.policy,
            entitlements: view.entitlements.clone(),
            fingerprint: &activated.machine.fingerprint,
            machine_id: Some(&activated.machine.id),
        };
        issuance::sign_token(&key, &subject, None, now)?
    } else {
        None
    };
    let mut machine = activated.machine.into_wire(rule(&view.policy), now);
    machine.token = token;
    Ok((machine, activated.created))
}

/// Deactivates a machine, freeing its slot.
pub async fn deactivate(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    machine: MachineRecord,
    license: &LicenseRecord,
    policy: &Policy,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    // Deactivated by another request in the meantime: the same answer as when it came
    // after, so one deactivation is acknowledged once.
    if !db::machines::delete(&state.db, tenant, &machine.id).await? {
        return Err(ApiError::not_found("machine"));
    }
    db::activity::record(
        &state.db,
        tenant,
        Kind::Deactivation,
        &license.product_id,
        &license.id,
        now,
    )
    .await?;
    happened(
        state,
        tenant,
        actor,
        "machine.deactivated",
        &machine.into_wire(rule(policy), now),
    )
    .await
}

/// Records a heartbeat (in the runtime's batches, [`super::runtime`]): the machine is
/// alive for another interval. A license that is suspended, revoked, banned or expired is
/// refused (409 with its state's code), so a machine of a dead license is not kept alive.
/// Heartbeats go to webhooks, not to the audit trail: they are routine, and their absence
/// (culling) is what is recorded. `own_license` is a license key's license: its machines
/// alone are found.
pub async fn heartbeat(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    machine_id: &str,
    own_license: Option<&str>,
) -> Result<Machine, ApiError> {
    state
        .runtime
        .heartbeat(
            tenant.clone(),
            actor.clone(),
            machine_id.to_owned(),
            own_license.map(str::to_owned),
        )
        .await
}

/// Records in the audit trail, once each, the machines whose heartbeat went overdue
/// (`machine.heartbeat_dead`, actor `system`). Culling policies remove such machines when
/// their license is next used; this records the death when it happens, culled or not.
/// Up to 5,000 a round, in one transaction: a server started on a database with many
/// silent machines catches up in a few rounds instead of writing for an hour.
pub async fn record_deaths(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let mut deaths = db::machines::unrecorded_deaths(&state.db, now).await?;
    if deaths.is_empty() {
        return Ok(0);
    }
    // By tenant, so PostgreSQL's transaction moves between tenants once per tenant.
    deaths.sort_by(|a, b| {
        (&a.account_id, a.environment.as_str()).cmp(&(&b.account_id, b.environment.as_str()))
    });
    let mut tx = db::Scope::across_tenants(&state.db).await?;
    let mut current: Option<Tenant> = None;
    for death in &deaths {
        let tenant = death.tenant();
        if current.as_ref() != Some(&tenant) {
            tx.set_tenant(&tenant).await?;
            current = Some(tenant.clone());
        }
        let changes = json!({
            "licenseId": death.license_id,
            "lastHeartbeatAt": death.last_heartbeat_at,
        });
        db::audit::insert(
            &mut tx,
            &db::audit::NewEvent {
                account_id: Some(&death.account_id),
                environment: Some(death.environment),
                occurred_at: now,
                actor_type: audit::ActorKind::System.as_str(),
                actor_id: None,
                actor_name: None,
                action: "machine.heartbeat_dead",
                resource_type: Some("machine"),
                resource_id: Some(&death.id),
                client_address: None,
                request_id: None,
                changes: Some(&changes),
            },
        )
        .await?;
        db::machines::death_recorded(&mut tx, &tenant, &death.id, now).await?;
    }
    tx.commit().await?;
    Ok(deaths.len())
}

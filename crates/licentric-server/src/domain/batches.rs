//! Work on many licenses at once: issuing a batch of one policy (all or none), applying
//! an action to many (a result per license), and importing them from CSV (checked first,
//! then written in one transaction), on either database.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use licentric_core::{
    wire::{
        ActionResult, ActionResults, BulkIssue, ImportProblem, ImportReport, License,
        LicenseAction, Policy,
    },
    KeyPrefix, LicenseKey,
};
use rand::rngs::OsRng;
use uuid::Uuid;

use super::{
    audit::{self, Actor},
    licenses,
};
use crate::{
    csv_rows::{self, ImportField},
    db,
    params::Problems,
    tenant::Tenant,
    ApiError, AppState,
};

/// The most licenses one bulk request issues or acts on.
pub const MAX_BATCH: usize = 1000;

/// One license to write in a batch.
struct Planned {
    id: String,
    policy: Policy,
    key: Option<String>,
    prefix: KeyPrefix,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    metadata: String,
}

/// Writes every planned license in one transaction (all or none); a generated key that
/// happens to be taken is drawn again, a given key that is taken refuses the batch.
/// Then records and emits `license.created` for each.
async fn write_all(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    planned: Vec<Planned>,
) -> Result<Vec<License>, ApiError> {
    let now = state.clock.now();
    let mut tx = db::Scope::transaction(&state.db, tenant).await?;
    for plan in &planned {
        let mut written = false;
        for _ in 0..5 {
            let key = match &plan.key {
                Some(key) => key.clone(),
                None => LicenseKey::generate(&plan.prefix, &mut OsRng)
                    .as_str()
                    .to_owned(),
            };
            let row = db::licenses::NewLicenseRow {
                id: &plan.id,
                product_id: &plan.policy.product_id,
                policy_id: &plan.policy.id,
                key: &key,
                name: plan.name.as_deref(),
                expires_at: plan.expires_at,
                metadata: &plan.metadata,
            };
            if db::licenses::insert_in(&mut tx, tenant, &row, now).await? {
                written = true;
                break;
            }
            if plan.key.is_some() {
                break;
            }
        }
        if !written {
            return Err(ApiError::conflict(
                "key_in_use",
                "A license with one of these keys already exists; nothing was written.",
            ));
        }
    }
    tx.commit().await?;
    // Read back in one query per 500, with each policy's entitlement codes read once: a
    // batch's licenses have no entitlements of their own yet.
    let ids: Vec<String> = planned.iter().map(|p| p.id.clone()).collect();
    let mut records: HashMap<String, db::licenses::LicenseRecord> =
        db::licenses::get_many(&state.db, tenant, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
    let mut codes: HashMap<String, Vec<String>> = HashMap::new();
    let mut issued = Vec::with_capacity(planned.len());
    for plan in planned {
        let record = records
            .remove(&plan.id)
            .ok_or_else(|| ApiError::not_found("license"))?;
        if !codes.contains_key(&record.policy_id) {
            let policy_codes = db::licenses::entitlement_codes(&state.db, &record).await?;
            codes.insert(record.policy_id.clone(), policy_codes);
        }
        let license = record
            .into_wire(codes[&plan.policy.id].clone())
            .map_err(ApiError::from)?;
        issued.push(license);
    }
    // One transaction for the batch's audit events, and webhooks only when an endpoint
    // subscribes: a thousand licenses cost a thousand small writes, not a thousand commits.
    let mut tx = db::Scope::transaction(&state.db, tenant).await?;
    for license in &issued {
        let event = audit::Event {
            action: "license.created",
            resource_type: "license",
            resource_id: &license.id,
            changes: audit::snapshot(license),
        };
        audit::record_in(&mut tx, now, tenant, actor, &event).await?;
    }
    tx.commit().await?;
    if !db::webhooks::subscribers(&state.db, tenant, "license.created")
        .await?
        .is_empty()
    {
        for license in &issued {
            licenses::emit_created(state, tenant, license).await?;
        }
    }
    Ok(issued)
}

/// The product key prefix of each policy.
async fn prefix_of(
    state: &AppState,
    tenant: &Tenant,
    policy: &Policy,
) -> Result<KeyPrefix, ApiError> {
    let product = db::products::get(&state.db, tenant, &policy.product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    KeyPrefix::parse(&product.key_prefix).map_err(|e| ApiError::Internal(e.into()))
}

/// Issues `count` licenses of one policy at once, all or none.
pub async fn issue(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    body: BulkIssue,
) -> Result<Vec<License>, ApiError> {
    let mut problems = Problems::default();
    if !(1..=MAX_BATCH as u32).contains(&body.count) {
        problems.add("count", format!("must be between 1 and {MAX_BATCH}"));
    }
    let policy = db::policies::get(&state.db, tenant, &body.policy_id).await?;
    if policy.is_none() {
        problems.add(
            "policyId",
            "no policy with this id in this account and environment",
        );
    }
    let name = body.name.as_deref().map(|n| problems.text("name", n, 200));
    let metadata = licenses::check_metadata(&mut problems, &body.metadata.unwrap_or_default());
    problems.finish()?;
    let Some(policy) = policy else {
        return Err(ApiError::not_found("policy"));
    };
    let prefix = prefix_of(state, tenant, &policy).await?;
    let expires_at = policy
        .duration
        .map(|secs| state.clock.now() + Duration::seconds(i64::from(secs)));
    let planned = (0..body.count)
        .map(|_| Planned {
            id: Uuid::new_v4().to_string(),
            policy: policy.clone(),
            key: None,
            prefix: prefix.clone(),
            name: name.clone(),
            expires_at,
            metadata: metadata.clone(),
        })
        .collect();
    write_all(state, tenant, actor, planned).await
}

/// Applies `action` to each license, answering a result per id in the order sent: `ok`,
/// or the error code and message for that license. Each success records and emits its
/// own event.
pub async fn act(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    action: LicenseAction,
    ids: &[String],
) -> Result<ActionResults, ApiError> {
    let mut problems = Problems::default();
    if ids.is_empty() || ids.len() > MAX_BATCH {
        problems.add("ids", format!("must list 1 to {MAX_BATCH} license ids"));
    }
    problems.finish()?;
    let mut results = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for id in ids {
        let outcome = if !seen.insert(id.as_str()) {
            Err(ApiError::BadRequest {
                code: "duplicate_id",
                message: "This id is listed more than once; it was acted on once.".into(),
                details: None,
            })
        } else {
            match action {
                LicenseAction::Suspend => {
                    licenses::transition(state, tenant, actor, id, licenses::SUSPEND)
                        .await
                        .map(drop)
                }
                LicenseAction::Reinstate => {
                    licenses::transition(state, tenant, actor, id, licenses::REINSTATE)
                        .await
                        .map(drop)
                }
                LicenseAction::Revoke => {
                    licenses::transition(state, tenant, actor, id, licenses::REVOKE)
                        .await
                        .map(drop)
                }
                LicenseAction::Ban => licenses::transition(state, tenant, actor, id, licenses::BAN)
                    .await
                    .map(drop),
                LicenseAction::Renew => licenses::renew(state, tenant, actor, id).await.map(drop),
                LicenseAction::Delete => licenses::delete(state, tenant, actor, id).await,
            }
        };
        results.push(match outcome {
            Ok(()) => ActionResult {
                id: id.clone(),
                result: "ok".into(),
                message: None,
            },
            // A fault of the server is not this license's: stop and answer 500.
            Err(error @ ApiError::Internal(_)) => return Err(error),
            Err(error) => ActionResult {
                id: id.clone(),
                result: error.code().to_owned(),
                message: Some(error.to_string()),
            },
        });
    }
    let succeeded = results.iter().filter(|r| r.result == "ok").count() as u32;
    Ok(ActionResults {
        succeeded,
        failed: results.len() as u32 - succeeded,
        results,
    })
}

/// Imports licenses from CSV. Every row is checked first (shape, dates, metadata, keys
/// repeated in the file or already in use, policies of this tenant); with `dry_run`, or
/// when any row is bad, nothing is written and the report lists each bad row by line.
/// Otherwise every row is written in one transaction.
pub async fn import(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    csv: &[u8],
    dry_run: bool,
) -> Result<ImportReport, ApiError> {
    let mut parsed = csv_rows::parse_import(csv);
    if parsed.rows.is_empty() && parsed.problems.iter().any(|p| p.line == 1) {
        // Not a license file at all (no usable header, or nothing under it): a bad
        // request, not a report of rows.
        let problems: Vec<_> = parsed.problems.iter().map(|p| p.reason.clone()).collect();
        return Err(ApiError::BadRequest {
            code: "invalid_csv",
            message: format!("This is not a license CSV file: {}", problems.join(" ")),
            details: Some(serde_json::json!({ "body": problems })),
        });
    }
    let mut policies: HashMap<String, (Policy, KeyPrefix)> = HashMap::new();
    for reference in parsed.policy_refs() {
        if let Some(policy) = db::policies::get(&state.db, tenant, reference).await? {
            let prefix = prefix_of(state, tenant, &policy).await?;
            policies.insert(reference.to_owned(), (policy, prefix));
        }
    }
    let mut found = Vec::new();
    for row in &parsed.rows {
        if !policies.contains_key(&row.policy) {
            found.push(parsed.problem(
                row.line,
                ImportField::Policy,
                "no policy with this id in this account and environment; create it first or fix the id",
            ));
        }
    }
    let keys: Vec<(u64, String)> = parsed
        .keys()
        .map(|(line, key)| (line, key.as_str().to_owned()))
        .collect();
    let given: Vec<&str> = keys.iter().map(|(_, key)| key.as_str()).collect();
    let taken = db::licenses::existing_keys(&state.db, &given).await?;
    for (line, key) in &keys {
        if taken.contains(key) {
            found.push(parsed.problem(
                *line,
                ImportField::Key,
                "a license with this key exists already; leave the key empty to have one generated",
            ));
        }
    }
    parsed.add_problems(found);
    let rows = u32::try_from(parsed.rows.len() + bad_lines(&parsed)).unwrap_or(u32::MAX);
    let problems: Vec<ImportProblem> = parsed
        .problems
        .iter()
        .map(|p| ImportProblem {
            line: p.line,
            field: p.field.clone(),
            reason: p.reason.clone(),
        })
        .collect();
    if dry_run || !problems.is_empty() {
        return Ok(ImportReport {
            dry_run,
            rows,
            imported: 0,
            problems,
        });
    }
    let planned: Vec<Planned> = parsed
        .rows
        .into_iter()
        .filter_map(|row| {
            let (policy, prefix) = policies.get(&row.policy)?.clone();
            Some(Planned {
                id: Uuid::new_v4().to_string(),
                policy,
                key: row.key.map(|k| k.as_str().to_owned()),
                prefix,
                name: row.name,
                expires_at: row.expires_at,
                metadata: serde_json::Value::Object(row.metadata).to_string(),
            })
        })
        .collect();
    let imported = write_all(state, tenant, actor, planned).await?.len();
    Ok(ImportReport {
        dry_run,
        rows,
        imported: u32::try_from(imported).unwrap_or(u32::MAX),
        problems,
    })
}

/// Lines with a problem that never became rows.
fn bad_lines(parsed: &csv_rows::ParsedImport) -> usize {
    let good: HashSet<u64> = parsed.rows.iter().map(|r| r.line).collect();
    parsed
        .problems
        .iter()
        .map(|p| p.line)
        .filter(|line| *line > 1 && !good.contains(line))
        .collect::<HashSet<_>>()
        .len()
}

//! `/api/v1/licenses`: management (API key), the license's own view (license key), and
//! `validate-key` (no authentication).

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use chrono::{DateTime, Utc};
use licentric_core::{
    wire::{
        ActionResults, BulkIssue, BulkIssued, DiagnoseRequest, Diagnosis, EntitlementCodes,
        ImportReport, License, LicenseActions, LicenseOverview, LicenseUpdate, NewLicense, Page,
        ValidateKeyRequest, ValidationResult,
    },
    LicenseStatus, Nonce, Scope, ValidationCode,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Created;
use crate::{
    auth::{ApiKeyAuth, Caller, LicenseAuth},
    csv_rows, db,
    domain::{batches, licenses, machines, validation, Actor},
    extract::{ApiJson, OptionalApiJson},
    openapi::ErrorResponses,
    params::{self, ApiQuery, Cursor, Paging, Problems},
    rate_limit, ApiError, AppState,
};

/// Longest key accepted before it is refused as bad input rather than looked up.
const MAX_KEY_LEN: usize = 128;
/// Query of `GET /licenses` (and of its CSV export).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListLicenses {
    /// A fragment of the key (case and dashes forgiven), the license id, its name, or any
    /// metadata value such as a customer's e-mail.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only this product's licenses.
    product_id: Option<String>,
    /// Only this policy's licenses.
    policy_id: Option<String>,
    /// Only licenses with this status.
    status: Option<LicenseStatus>,
    /// Only licenses expiring before this time (RFC 3339).
    expires_before: Option<DateTime<Utc>>,
    /// Only licenses expiring after this time (RFC 3339).
    expires_after: Option<DateTime<Utc>>,
    /// Only the license a machine with this fingerprint is activated on.
    fingerprint: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip (prefer `after` for deep pages).
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// The `nextCursor` of the page before: the page after it, in the same sort.
    after: Option<String>,
    /// `createdAt`, `updatedAt`, `expiresAt`, `name`, `status` or `uses`; prefix `-` for
    /// descending.
    #[param(pattern = "^-?(createdAt|updatedAt|expiresAt|name|status|uses)$")]
    sort: Option<String>,
    /// CSV export only: include the license keys (needs `licenses:write`).
    include_keys: Option<bool>,
}

impl ListLicenses {
    /// The filters, the page and the cursor this query asks for; a 400 names what is wrong.
    fn read(&self) -> Result<(db::licenses::Filters<'_>, params::Page, Option<Cursor>), ApiError> {
        let mut problems = Problems::default();
        let page = Paging::from_query(self.limit, self.offset, self.sort.clone())
            .check(db::licenses::SORTABLE, &mut problems);
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            problems.add("q", "must be at most 200 characters");
        }
        let cursor = self
            .after
            .as_deref()
            .and_then(|after| Cursor::decode(after, &page, &mut problems));
        problems.finish()?;
        let filters = db::licenses::Filters {
            product_id: self.product_id.as_deref(),
            policy_id: self.policy_id.as_deref(),
            status: self.status,
            q: self.q.as_deref(),
            fingerprint: self.fingerprint.as_deref().map(str::trim),
            expires_before: self.expires_before,
            expires_after: self.expires_after,
            search_hits: None,
        };
        Ok((filters, page, cursor))
    }
}

/// Lists licenses: searched, filtered and sorted; paged by `offset` or by the `after`
/// cursor; `total` counts every match.
#[utoipa::path(get, path = "/api/v1/licenses", tag = "licenses", params(ListLicenses),
    responses((status = 200, body = Page<License>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListLicenses>,
) -> Result<Json<Page<License>>, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let (filters, page, cursor) = q.read()?;
    let (records, total, next) =
        db::licenses::list(&state.db, &auth.tenant, &filters, &page, cursor.as_ref()).await?;
    let data = licenses::wire_many(&state, records).await?;
    let mut answer = page.wrap(data, total);
    answer.next_cursor = next.map(|c| c.encode());
    if cursor.is_some() {
        // A cursor page says whether more follow by its cursor, not by an offset.
        answer.has_more = answer.next_cursor.is_some();
    }
    Ok(Json(answer))
}

/// Creates a license; its key is generated with the product's prefix unless given.
#[utoipa::path(post, path = "/api/v1/licenses", tag = "licenses", request_body = NewLicense,
    responses((status = 201, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewLicense>,
) -> Result<Created<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::create(&state, &auth.tenant, &auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(license)))
}

/// Retrieves a license. With a license key, only its own.
#[utoipa::path(get, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), ErrorResponses), security(("api_key" = []), ("license_key" = [])))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    match &caller {
        Caller::ApiKey(auth) => auth.require(Scope::LicensesRead)?,
        Caller::License(auth) if auth.license_id != id => {
            return Err(ApiError::not_found("license"))
        }
        Caller::License(_) => {}
    }
    let record = licenses::load(&state, caller.tenant(), &id).await?;
    Ok(Json(licenses::wire(&state, record).await?))
}

/// Updates a license's name, expiry, metadata, policy or use count.
#[utoipa::path(patch, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)), request_body = LicenseUpdate,
    responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LicenseUpdate>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::update(&state, &auth.tenant, &auth.actor, &id, body).await?;
    Ok(Json(license))
}

/// Deletes a license and its machines.
#[utoipa::path(delete, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    licenses::delete(&state, &auth.tenant, &auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspends an active license: validations answer `SUSPENDED` until it is reinstated.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/suspend", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn suspend(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::SUSPEND).await?;
    Ok(Json(license))
}

/// Reinstates a suspended license.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/reinstate", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn reinstate(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::REINSTATE).await?;
    Ok(Json(license))
}

/// Revokes a license for good.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/revoke", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn revoke(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::REVOKE).await?;
    Ok(Json(license))
}

/// Bans a license for abuse.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/ban", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn ban(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::BAN).await?;
    Ok(Json(license))
}

/// Renews a license by its policy's duration, from its expiry or from now if it has lapsed.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/renew", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn renew(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::renew(&state, &auth.tenant, &auth.actor, &id).await?;
    Ok(Json(license))
}

/// Gives a license entitlements beyond its policy's.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/entitlements", tag = "licenses", params(("id" = String, Path)),
    request_body = EntitlementCodes, responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn attach_entitlements(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EntitlementCodes>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::attach_entitlements(&state, &auth.tenant, &auth.actor, &id, &body.entitlements)
            .await?;
    Ok(Json(license))
}

/// Takes an entitlement from a license (its policy's entitlements stay).
#[utoipa::path(delete, path = "/api/v1/licenses/{id}/entitlements/{code}", tag = "licenses",
    params(("id" = String, Path), ("code" = String, Path)), responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn detach_entitlement(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path((id, code)): Path<(String, String)>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::detach_entitlement(&state, &auth.tenant, &auth.actor, &id, code).await?;
    Ok(Json(license))
}

/// The license of the key in the `Authorization` header, with its machines and limits:
/// what an end user's machine-slots view shows.
#[utoipa::path(get, path = "/api/v1/licenses/me", tag = "licenses",
    responses((status = 200, body = LicenseOverview), ErrorResponses), security(("license_key" = [])))]
pub async fn me(
    auth: LicenseAuth,
    State(state): State<AppState>,
) -> Result<Json<LicenseOverview>, ApiError> {
    let overview = licenses::overview(&state, &auth.tenant, &auth.actor, &auth.license_id).await?;
    Ok(Json(overview))
}

/// Validates a license key. No authentication: the key in the body is the credential.
///
/// Always 200 for a well-formed request, whatever the outcome: a key that does not exist
/// is `{"valid": false, "code": "NOT_FOUND"}`, not a 404. Every validation of an existing
/// license counts towards its policy's `maxUses`. When several codes apply, the first of
/// NOT_FOUND, BANNED, REVOKED, SUSPENDED, EXPIRED, USES_EXCEEDED, ENTITLEMENTS_MISSING,
/// FINGERPRINT_NOT_FOUND, HEARTBEAT_REQUIRED, MACHINE_LIMIT_EXCEEDED is reported.
///
/// Every answer carries `serverTime`; a `VALID` answer for a fingerprint also carries a
/// `token`, an EdDSA-signed JWT the machine can check offline against the account's JWKS
/// (it lasts the policy's `offlineMaxDays`, never past the license's expiry). A request's
/// `nonce` is signed into the token's `nonce` claim, so the client can tell this answer
/// from a replayed one; a malformed nonce is a 400 naming `nonce`.
#[utoipa::path(post, path = "/api/v1/licenses/validate-key", tag = "licenses", request_body = ValidateKeyRequest,
    responses((status = 200, body = ValidationResult), (status = 400, body = licentric_core::wire::ErrorEnvelope),
              (status = 429, body = licentric_core::wire::ErrorEnvelope),
              (status = 503, body = licentric_core::wire::ErrorEnvelope)), security(()))]
pub async fn validate_key(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<ValidateKeyRequest>,
) -> Result<Response, ApiError> {
    let nonce = check_request(&request)?;
    let question = validation::Question {
        fingerprint: request.fingerprint,
        entitlements: request.entitlements.unwrap_or_default(),
    };
    match validation::validate_key(&state, &actor, &request.key, &question, nonce.as_ref()).await? {
        Some(result) => Ok(Json(result).into_response()),
        None => {
            // A key that does not exist is a failed guess: the rate limiter counts it
            // against the client's address like a bad credential.
            let not_found = Json(ValidationResult {
                valid: false,
                code: ValidationCode::NotFound,
                license: None,
                machine: None,
                entitlements: vec![],
                server_time: Some(state.clock.now()),
                token: None,
            });
            Ok((Extension(rate_limit::FailedAuthentication), not_found).into_response())
        }
    }
}

/// Checks the request's fields; answers its nonce, when it sent one.
fn check_request(request: &ValidateKeyRequest) -> Result<Option<Nonce>, ApiError> {
    let mut problems = Problems::default();
    let key = request.key.trim();
    if key.is_empty() {
        problems.add("key", "is required");
    } else if key.len() > MAX_KEY_LEN {
        problems.add("key", format!("must be at most {MAX_KEY_LEN} characters"));
    }
    if let Some(fingerprint) = &request.fingerprint {
        machines::check_fingerprint(&mut problems, fingerprint);
    }
    if let Some(entitlements) = &request.entitlements {
        if entitlements.len() > 100 {
            problems.add("entitlements", "must list at most 100 codes");
        }
    }
    let nonce = request.nonce.as_deref().and_then(|text| {
        Nonce::parse(text)
            .map_err(|_| {
                problems.add(
                    "nonce",
                    format!(
                        "must be {} to {} characters of A-Z, a-z, 0-9, '-' or '_' (base64url or hex)",
                        Nonce::MIN_LEN,
                        Nonce::MAX_LEN
                    ),
                )
            })
            .ok()
    });
    problems.finish()?;
    Ok(nonce)
}

/// Why is this license failing? Evaluates it like `validate-key` (optionally for a
/// machine's fingerprint and entitlements) without counting a use or recording a
/// validation, and lists every check with its outcome.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/validate", tag = "licenses", params(("id" = String, Path)),
    request_body(content = Option<DiagnoseRequest>, description = "Optional: a fingerprint and entitlements to check"),
    responses((status = 200, body = Diagnosis), ErrorResponses), security(("api_key" = [])))]
pub async fn diagnose(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalApiJson(body): OptionalApiJson<DiagnoseRequest>,
) -> Result<Json<Diagnosis>, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let body = body.unwrap_or_default();
    let mut problems = Problems::default();
    if let Some(fingerprint) = &body.fingerprint {
        machines::check_fingerprint(&mut problems, fingerprint);
    }
    problems.finish()?;
    let question = validation::Question {
        fingerprint: body.fingerprint,
        entitlements: body.entitlements.unwrap_or_default(),
    };
    Ok(Json(
        validation::diagnose(&state, &auth.tenant, &id, &question).await?,
    ))
}

/// Issues up to 1,000 licenses of one policy in one request, all or none, and answers
/// them with their keys.
#[utoipa::path(post, path = "/api/v1/licenses/bulk", tag = "licenses", request_body = BulkIssue,
    responses((status = 201, body = BulkIssued), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn bulk_issue(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BulkIssue>,
) -> Result<Created<BulkIssued>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let data = batches::issue(&state, &auth.tenant, &auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(BulkIssued { data })))
}

/// Applies one action (suspend, reinstate, revoke, ban, renew, delete) to up to 1,000
/// licenses and answers a result per id: `ok`, or that license's error code and message
/// (another tenant's id is `not_found`). Not atomic: each license stands alone.
#[utoipa::path(post, path = "/api/v1/licenses/actions", tag = "licenses", request_body = LicenseActions,
    responses((status = 200, body = ActionResults), ErrorResponses), security(("api_key" = [])))]
pub async fn act(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LicenseActions>,
) -> Result<Json<ActionResults>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let results = batches::act(&state, &auth.tenant, &auth.actor, body.action, &body.ids).await?;
    Ok(Json(results))
}

/// Query of `POST /licenses/import`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and report the bad ones without writing anything.
    dry_run: Option<bool>,
}

/// Imports licenses from CSV (`Content-Type: text/csv`, at most 20 MiB and 100,000 rows):
/// a header row naming `key`, `policy`, `name`, `expiry`, `metadata` (and
/// `metadata.<name>`) columns. Every row is checked first; with `dryRun=true`, or when
/// any row is bad, nothing is written and `problems` names each bad row by line.
/// Otherwise every row is written in one transaction.
#[utoipa::path(post, path = "/api/v1/licenses/import", tag = "licenses", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses((status = 200, body = ImportReport), (status = 413, body = licentric_core::wire::ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn import(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<ImportReport>, ApiError> {
    // Read here, not with the `Bytes` extractor: that one keeps to the router's 64 KiB
    // limit for JSON. guards::Guards has read (and bounded) the file already.
    let body = axum::body::to_bytes(body, csv_rows::MAX_IMPORT_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    auth.require(Scope::LicensesWrite)?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        mime.as_deref(),
        Some("text/csv" | "application/csv" | "text/plain" | "application/vnd.ms-excel")
    ) {
        // As for JSON bodies sent without their content type (extract::not_json).
        return Err(ApiError::BadRequest {
            code: "unsupported_media_type",
            message: "Send the file itself as the body, with the header Content-Type: text/csv."
                .into(),
            details: None,
        });
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest {
            code: "empty_body",
            message: "The body is empty: send the CSV file, a header row and a row per license."
                .into(),
            details: None,
        });
    }
    let report = batches::import(
        &state,
        &auth.tenant,
        &auth.actor,
        &body,
        q.dry_run.unwrap_or(false),
    )
    .await?;
    Ok(Json(report))
}

/// Rows per chunk of a CSV export: memory stays flat whatever the export's size.
const EXPORT_CHUNK: u32 = 500;

/// Exports the licenses the list's filters match as CSV (RFC 4180, a header row), in
/// constant memory. No key column unless `includeKeys=true`, which needs
/// `licenses:write`. Cells that a spreadsheet would run as a formula are prefixed `'`.
#[utoipa::path(get, path = "/api/v1/licenses/export.csv", tag = "licenses", params(ListLicenses),
    responses((status = 200, description = "The CSV file", content_type = "text/csv", body = String), ErrorResponses),
    security(("api_key" = [])))]
pub async fn export_csv(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListLicenses>,
) -> Result<Response, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let keys = if q.include_keys.unwrap_or(false) {
        auth.require(Scope::LicensesWrite)?;
        csv_rows::KeyColumn::Include
    } else {
        csv_rows::KeyColumn::Omit
    };
    // Checked once here, so a bad filter is a 400 rather than a broken download.
    q.read()?;
    let writer = csv_rows::LicenseCsv::new(keys).map_err(|e| ApiError::Internal(e.into()))?;
    let tenant = auth.tenant;
    Ok(super::csv_download(
        "licenses.csv",
        writer,
        move |mut writer, cursor| {
            let (state, tenant, query) = (state.clone(), tenant.clone(), q.clone());
            async move {
                let (filters, mut page, _) = query.read()?;
                page.limit = EXPORT_CHUNK;
                let (rows, next) =
                    db::licenses::page_of(&state.db, &tenant, &filters, &page, cursor.as_ref())
                        .await?;
                let internal = |e: csv::Error| ApiError::Internal(e.into());
                for row in &rows {
                    writer
                        .push(&csv_rows::LicenseRow {
                            id: &row.id,
                            key: &row.key,
                            name: row.name.as_deref(),
                            status: row.status,
                            product_id: &row.product_id,
                            policy_id: &row.policy_id,
                            expires_at: row.expires_at,
                            created_at: row.created_at,
                            uses: row.uses,
                            machines_count: row.machines_count,
                            metadata: std::borrow::Cow::Borrowed(&row.metadata),
                        })
                        .map_err(internal)?;
                }
                let bytes = writer.take().map_err(internal)?;
                Ok((writer, bytes, next))
            }
        },
    ))
}

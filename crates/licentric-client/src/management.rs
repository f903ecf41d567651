//! The management API (API key): products, policies, licenses and their actions (one by
//! one or in bulk, imports and exports), machines, entitlements, API keys, webhooks, the
//! audit trail and analytics.

use licentric_core::wire::{
    ActionResults, ActivationsOnDay, AnalyticsSeries, ApiKey, AuditEvent, BulkIssue, BulkIssued,
    CurrentApiKey, DataList, DiagnoseRequest, Diagnosis, Entitlement, EntitlementCodes,
    EntitlementUpdate, ExpiringLicenses, ImportReport, License, LicenseAction, LicenseActions,
    LicenseUpdate, Machine, NewApiKey, NewEntitlement, NewLicense, NewMachine, NewPolicy,
    NewProduct, NewWebhook, Page, Policy, PolicyUpdate, Product, ProductUpdate, ProductUsage,
    SeatsReport, SigningKey, ValidationsOnDay, Webhook, WebhookDelivery, WebhookTestResult,
    WebhookUpdate,
};
use reqwest::Method;
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    client::{segment, Call, Credential, Download},
    models::{ListParams, OfflineActivation},
    Error, Licentric,
};

impl Licentric {
    async fn get<T: DeserializeOwned>(
        &self,
        path: String,
        query: &[(String, String)],
    ) -> Result<T, Error> {
        self.json(&Call::<()> {
            method: Method::GET,
            path,
            credential: Credential::ApiKey,
            query,
            body: None,
            idempotent: true,
        })
        .await
    }

    async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let idempotent = method != Method::POST;
        self.json(&Call {
            method,
            path,
            credential: Credential::ApiKey,
            query: &[],
            body,
            idempotent,
        })
        .await
    }

    async fn remove(&self, path: String) -> Result<(), Error> {
        self.send(&Call::<()> {
            method: Method::DELETE,
            path,
            credential: Credential::ApiKey,
            query: &[],
            body: None,
            idempotent: true,
        })
        .await
        .map(|_| ())
    }

    // Products.

    /// Lists products (`products:read`).
    pub async fn list_products(&self, params: &ListParams) -> Result<Page<Product>, Error> {
        self.get("/products".into(), &params.to_query()).await
    }
    /// Creates a product (`products:write`).
    pub async fn create_product(&self, product: &NewProduct) -> Result<Product, Error> {
        self.write(Method::POST, "/products".into(), Some(product))
            .await
    }
    /// Retrieves a product (`products:read`).
    pub async fn get_product(&self, id: &str) -> Result<Product, Error> {
        self.get(format!("/products/{}", segment(id)), &[]).await
    }
    /// Updates a product (`products:write`).
    pub async fn update_product(&self, id: &str, update: &ProductUpdate) -> Result<Product, Error> {
        self.write(
            Method::PATCH,
            format!("/products/{}", segment(id)),
            Some(update),
        )
        .await
    }
    /// Deletes a product without licenses (`products:write`).
    pub async fn delete_product(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/products/{}", segment(id))).await
    }

    // Policies.

    /// Lists policies (`policies:read`); filter `productId`.
    pub async fn list_policies(&self, params: &ListParams) -> Result<Page<Policy>, Error> {
        self.get("/policies".into(), &params.to_query()).await
    }
    /// Creates a policy (`policies:write`).
    pub async fn create_policy(&self, policy: &NewPolicy) -> Result<Policy, Error> {
        self.write(Method::POST, "/policies".into(), Some(policy))
            .await
    }
    /// Retrieves a policy (`policies:read`).
    pub async fn get_policy(&self, id: &str) -> Result<Policy, Error> {
        self.get(format!("/policies/{}", segment(id)), &[]).await
    }
    /// Updates a policy (`policies:write`).
    pub async fn update_policy(&self, id: &str, update: &PolicyUpdate) -> Result<Policy, Error> {
        self.write(
            Method::PATCH,
            format!("/policies/{}", segment(id)),
            Some(update),
        )
        .await
    }
    /// Deletes a policy no license uses (`policies:write`).
    pub async fn delete_policy(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/policies/{}", segment(id))).await
    }

    // Licenses.

    /// Lists licenses (`licenses:read`): [`ListParams::search`] matches a key fragment
    /// (case and dashes forgiven), the id, the name or any metadata value such as an
    /// e-mail; filters `productId`, `policyId`, `status`, `fingerprint`, `expiresBefore`,
    /// `expiresAfter` (RFC 3339); sort also by `uses`. Follow `nextCursor` with
    /// [`ListParams::next_page`].
    pub async fn list_licenses(&self, params: &ListParams) -> Result<Page<License>, Error> {
        self.get("/licenses".into(), &params.to_query()).await
    }
    /// Issues `count` (1–1,000) licenses of one policy at once, all or none, and answers
    /// them with their keys (`licenses:write`).
    pub async fn bulk_issue_licenses(&self, issue: &BulkIssue) -> Result<Vec<License>, Error> {
        let issued: BulkIssued = self
            .write(Method::POST, "/licenses/bulk".into(), Some(issue))
            .await?;
        Ok(issued.data)
    }
    /// Applies one action to up to 1,000 licenses (`licenses:write`). Not atomic: the
    /// answer has a result per id, `ok` or that license's error code (`not_found`,
    /// `invalid_transition`, …); only a refusal of the whole request is an `Err`.
    pub async fn act_on_licenses(
        &self,
        action: LicenseAction,
        ids: &[&str],
    ) -> Result<ActionResults, Error> {
        let body = LicenseActions {
            action,
            ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        };
        self.write(Method::POST, "/licenses/actions".into(), Some(&body))
            .await
    }
    /// Imports licenses from a CSV file (header `key,policy,name,expiry,metadata`, at
    /// most 20 MiB and 100,000 rows) in one transaction (`licenses:write`). Bad rows are
    /// not an `Err`: the report lists them by line and nothing is written; with
    /// `dry_run`, nothing is written either way.
    pub async fn import_licenses(&self, csv: &[u8], dry_run: bool) -> Result<ImportReport, Error> {
        let query = [("dryRun".to_owned(), dry_run.to_string())];
        let call = Call::<()> {
            method: Method::POST,
            path: "/licenses/import".into(),
            credential: Credential::ApiKey,
            query: &query,
            body: None,
            idempotent: false,
        };
        let (_, bytes) = self.send_bytes(&call, "text/csv", csv).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
            url: format!("{}/licenses/import", self.api_base()),
            reason: format!("the body is not the expected JSON ({e})"),
        })
    }
    /// Streams the licenses that `params`' search, filters and sort match as CSV
    /// (`licenses:read`; paging is ignored). The key column comes only with
    /// `include_keys`, which needs `licenses:write`.
    pub async fn export_licenses_csv(
        &self,
        params: &ListParams,
        include_keys: bool,
    ) -> Result<Download, Error> {
        let mut query = export_query(params);
        if include_keys {
            query.push(("includeKeys".into(), "true".into()));
        }
        self.export("/licenses/export.csv", &query).await
    }
    /// Why is this license failing? Every check `validate-key` would make, optionally
    /// for a machine's fingerprint and entitlements, without counting a use
    /// (`licenses:read`).
    pub async fn diagnose_license(
        &self,
        id: &str,
        request: &DiagnoseRequest,
    ) -> Result<Diagnosis, Error> {
        self.json(&Call {
            method: Method::POST,
            path: format!("/licenses/{}/validate", segment(id)),
            credential: Credential::ApiKey,
            query: &[],
            body: Some(request),
            // It records nothing, so it may be repeated.
            idempotent: true,
        })
        .await
    }
    /// Creates a license (`licenses:write`).
    pub async fn create_license(&self, license: &NewLicense) -> Result<License, Error> {
        self.write(Method::POST, "/licenses".into(), Some(license))
            .await
    }
    /// Retrieves a license (`licenses:read`).
    pub async fn get_license(&self, id: &str) -> Result<License, Error> {
        self.get(format!("/licenses/{}", segment(id)), &[]).await
    }
    /// Updates a license (`licenses:write`).
    pub async fn update_license(&self, id: &str, update: &LicenseUpdate) -> Result<License, Error> {
        self.write(
            Method::PATCH,
            format!("/licenses/{}", segment(id)),
            Some(update),
        )
        .await
    }
    /// Deletes a license and its machines (`licenses:write`).
    pub async fn delete_license(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/licenses/{}", segment(id))).await
    }
    async fn action(&self, id: &str, action: &str) -> Result<License, Error> {
        self.write::<(), _>(
            Method::POST,
            format!("/licenses/{}/{action}", segment(id)),
            None,
        )
        .await
    }
    /// Suspends a license (`licenses:write`).
    pub async fn suspend_license(&self, id: &str) -> Result<License, Error> {
        self.action(id, "suspend").await
    }
    /// Reinstates a suspended license (`licenses:write`).
    pub async fn reinstate_license(&self, id: &str) -> Result<License, Error> {
        self.action(id, "reinstate").await
    }
    /// Revokes a license for good (`licenses:write`).
    pub async fn revoke_license(&self, id: &str) -> Result<License, Error> {
        self.action(id, "revoke").await
    }
    /// Bans a license (`licenses:write`).
    pub async fn ban_license(&self, id: &str) -> Result<License, Error> {
        self.action(id, "ban").await
    }
    /// Renews a license by its policy's duration (`licenses:write`).
    pub async fn renew_license(&self, id: &str) -> Result<License, Error> {
        self.action(id, "renew").await
    }
    /// Gives a license entitlements beyond its policy's (`licenses:write`).
    pub async fn attach_entitlements(&self, id: &str, codes: &[&str]) -> Result<License, Error> {
        let body = EntitlementCodes {
            entitlements: codes.iter().map(|c| (*c).to_owned()).collect(),
        };
        self.write(
            Method::POST,
            format!("/licenses/{}/entitlements", segment(id)),
            Some(&body),
        )
        .await
    }
    /// Takes an entitlement from a license (`licenses:write`).
    pub async fn detach_entitlement(&self, id: &str, code: &str) -> Result<License, Error> {
        self.write::<(), _>(
            Method::DELETE,
            format!("/licenses/{}/entitlements/{}", segment(id), segment(code)),
            None,
        )
        .await
    }
    /// Signs an offline `.lic` file for `fingerprint` (or the license's only machine).
    pub async fn offline_file(
        &self,
        license_id: &str,
        fingerprint: Option<&str>,
    ) -> Result<String, Error> {
        let body = fingerprint.map(|fp| serde_json::json!({ "fingerprint": fp }));
        let (_, bytes) = self
            .send(&Call {
                method: Method::POST,
                path: format!("/licenses/{}/offline-file", segment(license_id)),
                credential: Credential::ApiKey,
                query: &[],
                body: body.as_ref(),
                idempotent: true,
            })
            .await?;
        String::from_utf8(bytes).map_err(|_| Error::UnexpectedResponse {
            url: format!("{}/licenses/{license_id}/offline-file", self.api_base()),
            reason: "the license file is not text".into(),
        })
    }
    /// Turns an air-gapped machine's activation request into a license file bound to it
    /// (`machines:write` and `licenses:read`).
    pub async fn offline_activation(&self, request: &str) -> Result<OfflineActivation, Error> {
        let body = serde_json::json!({ "request": request });
        self.write(
            Method::POST,
            "/licenses/offline-activations".into(),
            Some(&body),
        )
        .await
    }

    // Machines.

    /// Lists machines (`machines:read`): [`ListParams::search`] matches the start of a
    /// fingerprint or a fragment of the name; filters `licenseId`, `platform`,
    /// `heartbeatStatus` (`NOT_STARTED`, `ALIVE`, `DEAD`). Follow `nextCursor` with
    /// [`ListParams::next_page`].
    pub async fn list_machines(&self, params: &ListParams) -> Result<Page<Machine>, Error> {
        self.get("/machines".into(), &params.to_query()).await
    }
    /// Streams the machines that `params`' search, filters and sort match as CSV
    /// (`machines:read`; paging is ignored).
    pub async fn export_machines_csv(&self, params: &ListParams) -> Result<Download, Error> {
        self.export("/machines/export.csv", &export_query(params))
            .await
    }
    /// Retrieves a machine (`machines:read`).
    pub async fn get_machine(&self, id: &str) -> Result<Machine, Error> {
        self.get(format!("/machines/{}", segment(id)), &[]).await
    }
    /// Activates a machine on a license (`machines:write`).
    pub async fn create_machine(&self, machine: &NewMachine) -> Result<Machine, Error> {
        self.write(Method::POST, "/machines".into(), Some(machine))
            .await
    }
    /// Deactivates a machine (`machines:write`).
    pub async fn delete_machine(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/machines/{}", segment(id))).await
    }

    // Entitlements.

    /// Lists entitlements (`entitlements:read`).
    pub async fn list_entitlements(&self, params: &ListParams) -> Result<Page<Entitlement>, Error> {
        self.get("/entitlements".into(), &params.to_query()).await
    }
    /// Creates an entitlement (`entitlements:write`).
    pub async fn create_entitlement(
        &self,
        entitlement: &NewEntitlement,
    ) -> Result<Entitlement, Error> {
        self.write(Method::POST, "/entitlements".into(), Some(entitlement))
            .await
    }
    /// Renames an entitlement (`entitlements:write`).
    pub async fn update_entitlement(
        &self,
        id: &str,
        update: &EntitlementUpdate,
    ) -> Result<Entitlement, Error> {
        self.write(
            Method::PATCH,
            format!("/entitlements/{}", segment(id)),
            Some(update),
        )
        .await
    }
    /// Deletes an entitlement (`entitlements:write`).
    pub async fn delete_entitlement(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/entitlements/{}", segment(id))).await
    }

    // Webhooks.

    /// Lists webhook endpoints (`webhooks:read`).
    pub async fn list_webhooks(&self, params: &ListParams) -> Result<Page<Webhook>, Error> {
        self.get("/webhooks".into(), &params.to_query()).await
    }
    /// One webhook endpoint, without its secret (`webhooks:read`).
    pub async fn get_webhook(&self, id: &str) -> Result<Webhook, Error> {
        self.get(format!("/webhooks/{}", segment(id)), &[]).await
    }
    /// Creates a webhook endpoint; the answer holds its secret, once (`webhooks:write`).
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<Webhook, Error> {
        self.write(Method::POST, "/webhooks".into(), Some(webhook))
            .await
    }
    /// Updates a webhook endpoint (`webhooks:write`).
    pub async fn update_webhook(&self, id: &str, update: &WebhookUpdate) -> Result<Webhook, Error> {
        self.write(
            Method::PATCH,
            format!("/webhooks/{}", segment(id)),
            Some(update),
        )
        .await
    }
    /// Deletes a webhook endpoint (`webhooks:write`).
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/webhooks/{}", segment(id))).await
    }
    /// Replaces a webhook's signing secret; the answer holds the new one (`webhooks:write`).
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<Webhook, Error> {
        self.write::<(), _>(
            Method::POST,
            format!("/webhooks/{}/rotate-secret", segment(id)),
            None,
        )
        .await
    }
    /// A webhook's delivery log (`webhooks:read`).
    pub async fn webhook_deliveries(
        &self,
        id: &str,
        params: &ListParams,
    ) -> Result<Page<WebhookDelivery>, Error> {
        self.get(
            format!("/webhooks/{}/deliveries", segment(id)),
            &params.to_query(),
        )
        .await
    }

    /// Sends a signed `webhook.test` event to the endpoint now and answers what the
    /// receiver did (`webhooks:write`). A failed delivery is an `Ok` with `delivered:
    /// false`; a target the server refuses to reach is an error (409
    /// `webhook_target_refused`).
    pub async fn test_webhook(&self, id: &str) -> Result<WebhookTestResult, Error> {
        self.write::<(), _>(
            Method::POST,
            format!("/webhooks/{}/test", segment(id)),
            None,
        )
        .await
    }
    /// Queues a delivery again: a new delivery of the same event and body, answered as
    /// queued (`webhooks:write`).
    pub async fn redeliver_webhook_delivery(
        &self,
        id: &str,
        delivery_id: &str,
    ) -> Result<WebhookDelivery, Error> {
        self.write::<(), _>(
            Method::POST,
            format!(
                "/webhooks/{}/deliveries/{}/redeliver",
                segment(id),
                segment(delivery_id)
            ),
            None,
        )
        .await
    }

    // API keys.

    /// Lists the API keys of this account and environment.
    pub async fn list_api_keys(&self, params: &ListParams) -> Result<Page<ApiKey>, Error> {
        self.get("/api-keys".into(), &params.to_query()).await
    }
    /// Creates an API key with some of this key's scopes; the answer holds it, once.
    pub async fn create_api_key(&self, key: &NewApiKey) -> Result<ApiKey, Error> {
        self.write(Method::POST, "/api-keys".into(), Some(key))
            .await
    }
    /// Replaces an API key's secret; the answer holds the new one, once.
    pub async fn rotate_api_key(&self, id: &str) -> Result<ApiKey, Error> {
        self.write::<(), _>(
            Method::POST,
            format!("/api-keys/{}/rotate", segment(id)),
            None,
        )
        .await
    }
    /// Revokes an API key.
    pub async fn revoke_api_key(&self, id: &str) -> Result<(), Error> {
        self.remove(format!("/api-keys/{}", segment(id))).await
    }
    /// The API key this client uses: its name, environment, scopes and account (no scope
    /// needed), so a console can offer only what the key may do.
    pub async fn current_api_key(&self) -> Result<CurrentApiKey, Error> {
        self.get("/api-keys/me".into(), &[]).await
    }

    // Signing keys.

    /// The account's signing keys in this key's environment, newest first: the active one
    /// and those retired by rotation; public halves only (`products:read`).
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, Error> {
        let list: DataList<SigningKey> = self.get("/signing-keys".into(), &[]).await?;
        Ok(list.data)
    }
    /// Rotates the signing key (`products:write`): a new key signs from now on; what the
    /// old one signed stays verifiable through the JWKS, but apps that pinned only the old
    /// public key refuse what the new one signs until they are given it.
    pub async fn rotate_signing_key(&self) -> Result<SigningKey, Error> {
        self.write::<(), _>(Method::POST, "/signing-keys/rotate".into(), None)
            .await
    }

    // Audit trail.

    /// The audit trail, newest first (`events:read`); filters `resourceType`,
    /// `resourceId`, `action` (e.g. `license.suspended`), `actorId`, `since`, `until`
    /// (RFC 3339). For the next page, pass the last event's id to [`ListParams::after`].
    pub async fn list_events(&self, params: &ListParams) -> Result<Page<AuditEvent>, Error> {
        self.get("/events".into(), &params.to_query()).await
    }
    /// Streams the events that `params`' filters match as CSV, newest first
    /// (`events:read`; paging is ignored).
    pub async fn export_events_csv(&self, params: &ListParams) -> Result<Download, Error> {
        self.export("/events/export.csv", &export_query(params))
            .await
    }

    // Analytics.

    /// Validations per day and code between two `YYYY-MM-DD` days (`analytics:read`).
    pub async fn validations_by_day(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<ValidationsOnDay>, Error> {
        let list: DataList<ValidationsOnDay> = self
            .get("/analytics/validations".into(), &range(from, to))
            .await?;
        Ok(list.data)
    }
    /// Activations and deactivations per day (`analytics:read`).
    pub async fn activations_by_day(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<ActivationsOnDay>, Error> {
        let list: DataList<ActivationsOnDay> = self
            .get("/analytics/activations".into(), &range(from, to))
            .await?;
        Ok(list.data)
    }
    /// Active licenses and seats per product (`analytics:read`).
    pub async fn usage(&self) -> Result<Vec<ProductUsage>, Error> {
        let list: DataList<ProductUsage> = self.get("/analytics/usage".into(), &[]).await?;
        Ok(list.data)
    }
    /// Every day between two `YYYY-MM-DD` days (default: the 30 days up to today), zeros
    /// included: validations by code, activations, deactivations and active machines, of
    /// one product or all (`analytics:read`).
    pub async fn analytics_series(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        product_id: Option<&str>,
    ) -> Result<AnalyticsSeries, Error> {
        let mut query = range(from, to);
        query.extend(product(product_id));
        self.get("/analytics/series".into(), &query).await
    }
    /// Seats now per product and per policy, of one product or all (`analytics:read`).
    pub async fn seats(&self, product_id: Option<&str>) -> Result<SeatsReport, Error> {
        self.get("/analytics/seats".into(), &product(product_id))
            .await
    }
    /// Active licenses expiring in the next 7, 30 and 90 days, of one product or all
    /// (`analytics:read`).
    pub async fn expiring_licenses(
        &self,
        product_id: Option<&str>,
    ) -> Result<ExpiringLicenses, Error> {
        self.get("/analytics/expiring".into(), &product(product_id))
            .await
    }
}

impl Licentric {
    async fn export(&self, path: &str, query: &[(String, String)]) -> Result<Download, Error> {
        self.download(&Call::<()> {
            method: Method::GET,
            path: path.to_owned(),
            credential: Credential::ApiKey,
            query,
            body: None,
            idempotent: true,
        })
        .await
    }
}

/// A list's query without its paging: an export is every match, in the list's order.
fn export_query(params: &ListParams) -> Vec<(String, String)> {
    ListParams {
        limit: None,
        offset: None,
        after: None,
        ..params.clone()
    }
    .to_query()
}

fn product(product_id: Option<&str>) -> Vec<(String, String)> {
    product_id
        .map(|id| ("productId".to_owned(), id.to_owned()))
        .into_iter()
        .collect()
}

fn range(from: Option<&str>, to: Option<&str>) -> Vec<(String, String)> {
    let mut query = Vec::new();
    if let Some(from) = from {
        query.push(("from".to_owned(), from.to_owned()));
    }
    if let Some(to) = to {
        query.push(("to".to_owned(), to.to_owned()));
    }
    query
}

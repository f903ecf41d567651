//! The management API (API key): products, policies, licenses and their actions,
//! machines, entitlements, API keys, webhooks and analytics.

use licentric_core::wire::{
    ActivationsOnDay, AnalyticsSeries, ApiKey, DataList, Entitlement, EntitlementCodes,
    EntitlementUpdate, ExpiringLicenses, License, LicenseUpdate, Machine, NewApiKey,
    NewEntitlement, NewLicense, NewMachine, NewPolicy, NewProduct, NewWebhook, Page, Policy,
    PolicyUpdate, Product, ProductUpdate, ProductUsage, SeatsReport, ValidationsOnDay, Webhook,
    WebhookDelivery, WebhookTestResult, WebhookUpdate,
};
use reqwest::Method;
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    client::{segment, Call, Credential},
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

    /// Lists licenses (`licenses:read`); filters `productId`, `policyId`, `status`.
    pub async fn list_licenses(&self, params: &ListParams) -> Result<Page<License>, Error> {
        self.get("/licenses".into(), &params.to_query()).await
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

    /// Lists machines (`machines:read`); filter `licenseId`.
    pub async fn list_machines(&self, params: &ListParams) -> Result<Page<Machine>, Error> {
        self.get("/machines".into(), &params.to_query()).await
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

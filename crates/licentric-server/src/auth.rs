//! Who is calling: an API key (`Authorization: Bearer lk_…`) for management, or a license
//! key (`Authorization: License PREFIX-…`) for a license's own machines.
//!
//! Both resolve to a [`Tenant`] (account and live/test environment) that every query is
//! filtered by, so another tenant's record is simply not found (404), never forbidden.

use std::{collections::BTreeSet, net::IpAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use chrono::Duration;
use licentric_core::{LicenseKey, Scope};

use crate::{
    api_key, db,
    domain::{Actor, ActorKind},
    listener::ClientAddr,
    tenant::Tenant,
    ApiError, AppState,
};

/// A request authenticated with an API key.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    /// The key's id.
    pub key_id: String,
    /// The key's name, for the audit trail.
    pub name: String,
    /// Whose data it may touch.
    pub tenant: Tenant,
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
    /// The key as the audit trail records it, with the request's address and id.
    pub actor: Actor,
}

impl ApiKeyAuth {
    /// Refuses with 403 unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This API key lacks the scope {scope}. Add it to the key in the console, or use a key that has it."
            )))
        }
    }
}

/// A request authenticated with a license key.
#[derive(Debug, Clone)]
pub struct LicenseAuth {
    /// The license the key belongs to.
    pub license_id: String,
    /// Its product.
    pub product_id: String,
    /// Whose data it belongs to.
    pub tenant: Tenant,
    /// The license as the audit trail records it, with the request's address and id.
    pub actor: Actor,
}

/// Either kind of credential, for endpoints that accept both.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An API key.
    ApiKey(ApiKeyAuth),
    /// A license key.
    License(LicenseAuth),
}

impl Caller {
    /// Who acts, for the audit trail.
    pub fn actor(&self) -> &Actor {
        match self {
            Self::ApiKey(auth) => &auth.actor,
            Self::License(auth) => &auth.actor,
        }
    }

    fn with_context(mut self, parts: &Parts) -> Self {
        let actor = match &mut self {
            Self::ApiKey(auth) => &mut auth.actor,
            Self::License(auth) => &mut auth.actor,
        };
        (actor.client_address, actor.request_id) = context(parts);
        self
    }

    /// The tenant of either credential.
    pub fn tenant(&self) -> &Tenant {
        match self {
            Self::ApiKey(auth) => &auth.tenant,
            Self::License(auth) => &auth.tenant,
        }
    }
}

/// The credential in an `Authorization` header, before it is checked.
pub(crate) enum Credential<'a> {
    Bearer(&'a str),
    License(&'a str),
}

pub(crate) fn credential(parts: &Parts) -> Result<Option<Credential<'_>>, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("The Authorization header is not valid text.".into()))?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Ok(Some(Credential::Bearer(rest)))
    } else if scheme.eq_ignore_ascii_case("license") && !rest.is_empty() {
        Ok(Some(Credential::License(rest)))
    } else {
        Err(ApiError::Unauthorized(
            "Unrecognised Authorization header: use \"Bearer lk_live_…\" (API key) or \"License PREFIX-XXXX-XXXX-XXXX-XXXX\" (license key).".into(),
        ))
    }
}

const NEEDS_API_KEY: &str =
    "This endpoint needs an API key: send Authorization: Bearer lk_live_… (or lk_test_…).";

async fn api_key_auth(state: &AppState, token: &str) -> Result<ApiKeyAuth, ApiError> {
    let invalid = || {
        ApiError::Unauthorized(
            "Invalid or revoked API key. Check that the whole key was copied and that it has not been revoked or rotated; lk_live_ and lk_test_ keys are not interchangeable.".into(),
        )
    };
    if !(token.starts_with("lk_live_") || token.starts_with("lk_test_")) {
        return Err(invalid());
    }
    let row = db::api_keys::find_active_by_hash(state.db.sqlite()?, &api_key::hash(token))
        .await?
        .ok_or_else(invalid)?;
    let now = state.clock.now();
    // At most one write a minute per key: last-used is for people, not for accounting.
    db::api_keys::touch(state.db.sqlite()?, &row.id, now, now - Duration::minutes(1)).await?;
    Ok(ApiKeyAuth {
        scopes: row.scope_set()?,
        tenant: row.tenant(),
        actor: Actor {
            kind: ActorKind::ApiKey,
            id: Some(row.id.clone()),
            name: Some(row.name.clone()),
            client_address: None,
            request_id: None,
        },
        key_id: row.id,
        name: row.name,
    })
}

/// Routes whose handling checks the license again in the runtime's batch transaction
/// (`domain::runtime`): for them, whose license a key is may come from memory.
const RUNTIME_ROUTES: &[&str] = &["/api/v1/machines", "/api/v1/machines/{id}/heartbeat"];

fn runtime_route(parts: &Parts) -> bool {
    parts.method == axum::http::Method::POST
        && parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|path| RUNTIME_ROUTES.contains(&path.as_str()))
}

async fn license_auth(
    state: &AppState,
    key: &str,
    from_memory: bool,
) -> Result<LicenseAuth, ApiError> {
    let key = LicenseKey::normalize(key);
    let owner = if from_memory {
        state.runtime.owner(&key).await?
    } else {
        db::licenses::find_owner_by_key(&state.db, &key).await?
    };
    let owner = owner.ok_or_else(|| {
        ApiError::Unauthorized(
            "Invalid license key. Check it for typos; test keys do not exist in live, and vice versa.".into(),
        )
    })?;
    Ok(LicenseAuth {
        actor: Actor {
            kind: ActorKind::License,
            id: Some(owner.license_id.clone()),
            name: None,
            client_address: None,
            request_id: None,
        },
        license_id: owner.license_id,
        product_id: owner.product_id,
        tenant: Tenant {
            account_id: owner.account_id,
            environment: owner.environment,
        },
    })
}

/// What the request's credential turned out to be, found once per request by the rate
/// limiter (which must know before it picks a budget) and reused by the extractors.
#[derive(Debug, Clone)]
pub(crate) struct Verified(pub(crate) Result<Caller, String>);

/// Checks the request's credential: `None` when it carries none, else the caller or the
/// 401 message. Only a storage failure is an error.
pub(crate) async fn verify(state: &AppState, parts: &Parts) -> Result<Option<Verified>, ApiError> {
    let checked = match credential(parts) {
        Ok(None) => return Ok(None),
        Ok(Some(Credential::Bearer(token))) => api_key_auth(state, token).await.map(Caller::ApiKey),
        Ok(Some(Credential::License(key))) => license_auth(state, key, runtime_route(parts))
            .await
            .map(Caller::License),
        Err(error) => Err(error),
    };
    match checked {
        Ok(caller) => Ok(Some(Verified(Ok(caller)))),
        Err(ApiError::Unauthorized(message)) => Ok(Some(Verified(Err(message)))),
        Err(other) => Err(other),
    }
}

/// The verified caller of a request that carries a credential.
async fn verified(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let verified = match parts.extensions.get::<Verified>() {
        Some(verified) => verified.clone(),
        None => match verify(state, parts).await? {
            Some(verified) => verified,
            None => return Err(ApiError::Unauthorized(NEEDS_API_KEY.into())),
        },
    };
    verified
        .0
        .map(|caller| caller.with_context(parts))
        .map_err(ApiError::Unauthorized)
}

/// The request's id (set by [`crate::guards::assign_request_id`]) in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address and the request's id.
fn context(parts: &Parts) -> (Option<IpAddr>, Option<String>) {
    let address = parts
        .extensions
        .get::<ConnectInfo<ClientAddr>>()
        .map(|ConnectInfo(ClientAddr(a))| a.ip());
    let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
    (address, request_id)
}

/// Nobody authenticated (`validate-key`): the audit trail records the address.
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let (client_address, request_id) = context(parts);
        Ok(Actor {
            kind: ActorKind::Anonymous,
            id: None,
            name: None,
            client_address,
            request_id,
        })
    }
}

impl FromRequestParts<AppState> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credential(parts)? {
            Some(Credential::Bearer(_)) => match verified(parts, state).await? {
                Caller::ApiKey(auth) => Ok(auth),
                Caller::License(_) => Err(ApiError::Unauthorized(NEEDS_API_KEY.into())),
            },
            _ => Err(ApiError::Unauthorized(NEEDS_API_KEY.into())),
        }
    }
}

impl FromRequestParts<AppState> for LicenseAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let needs_license = || {
            ApiError::Unauthorized(
                "This endpoint needs a license key: send Authorization: License PREFIX-XXXX-XXXX-XXXX-XXXX.".into(),
            )
        };
        match credential(parts)? {
            Some(Credential::License(_)) => match verified(parts, state).await? {
                Caller::License(auth) => Ok(auth),
                Caller::ApiKey(_) => Err(needs_license()),
            },
            _ => Err(needs_license()),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credential(parts)? {
            Some(_) => verified(parts, state).await,
            None => Err(ApiError::Unauthorized(
                "Missing credentials: send Authorization: Bearer lk_live_… (API key) or License PREFIX-XXXX-XXXX-XXXX-XXXX (license key).".into(),
            )),
        }
    }
}

//! The accounts' signing keys on the server: created on first need, sealed at rest with
//! the server secret, rotated on request, and published as a JWKS.
//!
//! Each account has one active Ed25519 key per environment (live, test); rotation
//! retires it and makes a new one. Retired keys never sign again but stay in the key
//! set, so everything they signed stays verifiable. Private keys leave this module only
//! as an [`AccountSigningKey`], whose `Debug` shows the public half alone.

use anyhow::Context;
use chrono::{DateTime, Utc};
use licentric_core::{
    wire::{CurrentSigningKey, SigningKey},
    AccountPublicKey, AccountSigningKey, Environment, PublicKeySet,
};
use rand::rngs::OsRng;

use crate::{
    db::{self, signing_keys::SigningKeyRow},
    secret::ServerSecret,
    tenant::Tenant,
};

/// The sealing scheme this server writes and reads (see `secret.rs`).
pub const SEALING: &str = "xchacha20poly1305+hkdf-sha256/1";

/// What a sealed seed is bound to: its owner, environment and key id.
fn context(account_id: &str, environment: &str, kid: &str) -> Vec<u8> {
    format!("licentric signing key\n{account_id}\n{environment}\n{kid}").into_bytes()
}

/// The JWKS path of an account's keys in an environment.
pub fn jwks_url(tenant: &Tenant) -> String {
    match tenant.environment {
        Environment::Live => format!("/api/v1/accounts/{}/jwks.json", tenant.account_id),
        Environment::Test => format!(
            "/api/v1/accounts/{}/jwks.json?environment=test",
            tenant.account_id
        ),
    }
}

fn new_row(secret: &ServerSecret, tenant: &Tenant, now: DateTime<Utc>) -> SigningKeyRow {
    let key = AccountSigningKey::generate(&mut OsRng);
    let seed = zeroize::Zeroizing::new(key.to_secret_seed());
    let environment = tenant.environment.as_str();
    let (nonce, sealed) = secret.seal(
        &seed,
        &context(&tenant.account_id, environment, key.key_id()),
    );
    SigningKeyRow {
        account_id: tenant.account_id.clone(),
        environment: environment.to_owned(),
        kid: key.key_id().to_owned(),
        public_key: key.public_key().to_base64url(),
        sealing: SEALING.to_owned(),
        seed_nonce: nonce.to_vec(),
        sealed_seed: sealed,
        created_at: now,
        retired_at: None,
    }
}

/// Unseals a stored key; `None` when the secret (or the row) does not match.
pub fn unseal(secret: &ServerSecret, row: &SigningKeyRow) -> Option<AccountSigningKey> {
    if row.sealing != SEALING {
        return None;
    }
    let seed = secret.open(
        &row.seed_nonce,
        &row.sealed_seed,
        &context(&row.account_id, &row.environment, &row.kid),
    )?;
    let key = AccountSigningKey::from_secret_seed(&seed)
        .with_key_id(&row.kid)
        .ok()?;
    // The stored public half must be the one the seed makes.
    (key.public_key().to_base64url() == row.public_key).then_some(key)
}

fn public_key(row: &SigningKeyRow) -> anyhow::Result<AccountPublicKey> {
    AccountPublicKey::from_base64url(&row.kid, &row.public_key)
        .with_context(|| format!("stored signing key {} is not a valid public key", row.kid))
}

fn wrong_secret(secret: &ServerSecret, row: &SigningKeyRow) -> anyhow::Error {
    anyhow::anyhow!(
        "the server secret ({}) cannot unseal signing key {} of account {} ({}): this database was set up with another secret. Start the server with the secret it was created with (--secret-file / LICENTRIC_SECRET_FILE, LICENTRIC_SECRET, or the server-secret file beside the database); without it, files and tokens can no longer be signed with this account's keys",
        secret.origin(),
        row.kid,
        row.account_id,
        row.environment,
    )
}

/// The tenant's active signing key, creating one on first need.
///
/// With an ephemeral secret, a key sealed by an earlier process cannot be unsealed: it is
/// retired (its public half stays published) and replaced. With a configured secret that
/// is an error, which start-up ([`check_secret`]) already reports.
pub async fn active_key(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<AccountSigningKey> {
    let db = db.into();
    // A few rounds: another request may create or rotate the key between our steps.
    for _ in 0..5 {
        match db::signing_keys::active(db, tenant).await? {
            Some(row) => match unseal(secret, &row) {
                Some(key) => return Ok(key),
                None if secret.is_ephemeral() => {
                    tracing::warn!(
                        kid = %row.kid, account = %row.account_id, environment = %row.environment,
                        "signing key sealed with another server secret; retiring it and making a new one (configure a persistent secret to keep keys across restarts)"
                    );
                    db::signing_keys::retire(db, tenant, &row.kid, now).await?;
                }
                None => return Err(wrong_secret(secret, &row)),
            },
            None => {
                let row = new_row(secret, tenant, now);
                if db::signing_keys::insert_if_none_active(db, &row).await? {
                    tracing::info!(
                        kid = %row.kid, account = %row.account_id, environment = %row.environment,
                        "created a signing key"
                    );
                }
            }
        }
    }
    anyhow::bail!(
        "could not settle on a signing key for account {}",
        tenant.account_id
    )
}

/// The tenant's current key as a product shows it, creating one on first need.
pub async fn current(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<CurrentSigningKey> {
    let db = db.into();
    let key = active_key(db, secret, tenant, now).await?.public_key();
    Ok(CurrentSigningKey {
        key_id: key.key_id().to_owned(),
        public_key: key.to_base64url(),
        jwks_url: jwks_url(tenant),
    })
}

/// Every key of the tenant, current and retired, as a client's key set (a JWKS). Makes
/// the first key when there is none, so the set is never empty.
pub async fn key_set(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<PublicKeySet> {
    let db = db.into();
    let mut rows = db::signing_keys::all(db, tenant).await?;
    if rows.is_empty() {
        active_key(db, secret, tenant, now).await?;
        rows = db::signing_keys::all(db, tenant).await?;
    }
    let mut set = PublicKeySet::new();
    for row in &rows {
        set.insert(public_key(row)?)?;
    }
    Ok(set)
}

/// The tenant's keys for the API, newest first (making the first one if needed).
pub async fn list(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<SigningKey>> {
    let db = db.into();
    active_key(db, secret, tenant, now).await?;
    Ok(db::signing_keys::all(db, tenant)
        .await?
        .into_iter()
        .map(to_wire)
        .collect())
}

fn to_wire(row: SigningKeyRow) -> SigningKey {
    SigningKey {
        active: row.retired_at.is_none(),
        key_id: row.kid,
        public_key: row.public_key,
        algorithm: "EdDSA".to_owned(),
        created_at: row.created_at,
        retired_at: row.retired_at,
    }
}

/// Retires the tenant's active key and makes a new one; returns the new key.
pub async fn rotate(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<SigningKey> {
    let db = db.into();
    // A new key id collides with an old one of the same account about once in 2^32
    // rotations; then simply draw again.
    for _ in 0..5 {
        let row = new_row(secret, tenant, now);
        if db::signing_keys::rotate(db, &row, now).await? {
            tracing::info!(
                kid = %row.kid, account = %row.account_id, environment = %row.environment,
                "rotated the signing key"
            );
            return Ok(to_wire(row));
        }
    }
    anyhow::bail!("could not make a signing key with a fresh key id")
}

/// Makes sure `tenant` has a signing key (for `init`, which has the secret at hand).
pub async fn ensure_key(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let db = db.into();
    Ok(active_key(db, secret, tenant, now)
        .await?
        .key_id()
        .to_owned())
}

/// Start-up check: unseals one stored key (the newest active one), so a server given
/// the wrong secret refuses to start instead of failing requests later. A database with
/// no keys yet accepts any secret.
pub async fn check_secret(
    db: impl Into<crate::db::DbRef<'_>>,
    secret: &ServerSecret,
) -> anyhow::Result<()> {
    let db = db.into();
    match db::signing_keys::newest(db).await? {
        Some(row) if unseal(secret, &row).is_none() => Err(wrong_secret(secret, &row)),
        _ => Ok(()),
    }
}

/// Whether any signing key is stored yet.
pub async fn any_keys(db: impl Into<crate::db::DbRef<'_>>) -> anyhow::Result<bool> {
    let db = db.into();
    Ok(db::signing_keys::newest(db).await?.is_some())
}

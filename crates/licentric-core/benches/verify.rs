//! What offline verification costs, next to the bare signature check it is built on.
//!
//! Run: `cargo bench -p licentric-core --bench verify -- --warm-up-time 1 --measurement-time 3`.
//! Results and the machine they came from are in `docs/benchmarks.md`. Compare within one
//! run, as ratios to `bare/ed25519_dalek_verify`: absolute times drift on a shared machine.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signature, Signer, SigningKey};
use licentric_core::{
    authenticate_token, fingerprint, issue_token, verify_license_file, AccountSigningKey,
    LicenseFile, LicensePayload, LicenseState, LicenseStatus, PublicKeySet, TokenClaims,
    TokenSource, TrustedTime,
};

const SEED: [u8; 32] = [7; 32];

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

fn payload(fp: &str) -> LicensePayload {
    LicensePayload {
        license_id: "lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into(),
        product_id: "prod_abc123".into(),
        account_id: "acct_01JH8PZ0A1B2C3D4E5F6G7H8J9".into(),
        status: LicenseStatus::Active,
        license_expires_at: Some(at("2027-01-01T00:00:00Z")),
        entitlements: vec!["export_pdf".into(), "sso".into()],
        max_machines: Some(3),
        offline_max_days: 30,
        grace_days: 7,
        fingerprint: fp.into(),
        machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
        issued_at: at("2026-01-15T09:30:00Z"),
        expires_at: at("2026-02-14T09:30:00Z"),
    }
}

fn claims(fp: &str) -> TokenClaims {
    let issued_at = at("2026-01-15T09:30:00Z");
    TokenClaims {
        license_id: "lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into(),
        product_id: "prod_abc123".into(),
        issued_at,
        not_before: issued_at,
        expires_at: issued_at + Duration::days(3),
        fingerprint: fp.into(),
        machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
        status: LicenseStatus::Active,
        entitlements: vec!["export_pdf".into(), "sso".into()],
        license_expires_at: Some(at("2027-01-01T00:00:00Z")),
        grace_days: 7,
        offline_max_days: 30,
        nonce: None,
    }
}

fn benches(c: &mut Criterion) {
    let key = AccountSigningKey::from_secret_seed(&SEED);
    let keys = match PublicKeySet::from_keys([key.public_key()]) {
        Ok(keys) => keys,
        Err(error) => panic!("key set: {error}"),
    };
    let fp = fingerprint("your-product-salt", "b08dfa6083e7567a1921a715000001fb");
    let lic = match LicenseFile::sign(&payload(&fp), &key) {
        Ok(lic) => lic,
        Err(error) => panic!("sign: {error}"),
    };
    let token = match issue_token(&claims(&fp), &key) {
        Ok(token) => token,
        Err(error) => panic!("issue: {error}"),
    };
    let now = at("2026-01-16T00:00:00Z");
    let trusted = TrustedTime::new(at("2026-01-15T12:00:00Z"));

    // The baseline: one Ed25519 verification of a message as long as the .lic's.
    let dalek = SigningKey::from_bytes(&SEED);
    let message = vec![b'x'; 700];
    let signature: Signature = dalek.sign(&message);
    let verifying = dalek.verifying_key();
    c.bench_function("bare/ed25519_dalek_verify", |b| {
        b.iter(|| verifying.verify_strict(black_box(&message), black_box(&signature)))
    });

    c.bench_function("lic/parse_and_verify", |b| {
        b.iter(|| verify_license_file(black_box(&lic), &keys, "prod_abc123", &fp, now, &trusted))
    });

    c.bench_function("token/authenticate", |b| {
        b.iter(|| authenticate_token(black_box(&token), &keys, "prod_abc123", &fp))
    });

    // What a client does at start-up offline: verify the cached token, decide the state,
    // and move the trusted-time mark.
    c.bench_function("offline/full_check_cached_token", |b| {
        b.iter(|| {
            let mut trusted = trusted;
            let verified = authenticate_token(black_box(&token), &keys, "prod_abc123", &fp).ok();
            let state = LicenseState::assess(verified.as_ref(), TokenSource::Cache, now, &trusted);
            trusted.observe(now);
            (state, trusted)
        })
    });

    // The air-gapped equivalent: verify the imported .lic, then the same bookkeeping.
    c.bench_function("offline/full_check_license_file", |b| {
        b.iter(|| {
            let mut trusted = trusted;
            let verified =
                verify_license_file(black_box(&lic), &keys, "prod_abc123", &fp, now, &trusted);
            trusted.observe(now);
            (verified, trusted)
        })
    });
}

criterion_group!(verify, benches);
criterion_main!(verify);

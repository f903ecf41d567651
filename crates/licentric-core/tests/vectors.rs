//! The published test vectors in `tests/vectors/` (described in `docs/formats.md`).
//!
//! Ed25519 signatures are deterministic, so the vectors are regenerated here from the
//! fixed seed and compared byte for byte with the files: a change to any format breaks
//! this test before it breaks a client in the field. After an intended format change,
//! regenerate them with `LICENTRIC_BLESS_VECTORS=1 cargo test -p licentric-core --test
//! vectors` and update `docs/formats.md` to match.

// A test that cannot set itself up should stop right there, loudly.
#![allow(clippy::unwrap_used)]

use std::{fs, path::PathBuf};

use chrono::{DateTime, Duration, Utc};
use licentric_core::{
    fingerprint, verify_license_file, verify_token, wire::Platform, AccountSigningKey,
    ActivationRequest, LicenseFile, LicenseKey, LicensePayload, LicenseReference, LicenseStatus,
    OfflineRefusal, PublicKeySet, TokenClaims, TrustedTime,
};

/// RFC 8032 §7.1 TEST 1's secret key, so anyone can check the public key against the RFC.
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PRODUCT_SALT: &str = "your-product-salt";
const MACHINE_ID: &str = "b08dfa6083e7567a1921a715000001fb";
const PRODUCT_ID: &str = "prod_abc123";
const VERIFY_AT: &str = "2026-01-16T00:00:00Z";

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn key() -> AccountSigningKey {
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&SEED_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    AccountSigningKey::from_secret_seed(&seed)
}

fn payload() -> LicensePayload {
    LicensePayload {
        license_id: "lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into(),
        product_id: PRODUCT_ID.into(),
        account_id: "acct_01JH8PZ0A1B2C3D4E5F6G7H8J9".into(),
        status: LicenseStatus::Active,
        license_expires_at: Some(at("2027-01-01T00:00:00Z")),
        entitlements: vec!["export_pdf".into(), "sso".into()],
        max_machines: Some(3),
        offline_max_days: 30,
        grace_days: 7,
        fingerprint: fingerprint(PRODUCT_SALT, MACHINE_ID),
        machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
        issued_at: at("2026-01-15T09:30:00Z"),
        expires_at: at("2026-02-14T09:30:00Z"),
    }
}

fn claims() -> TokenClaims {
    let issued_at = at("2026-01-15T09:30:00Z");
    TokenClaims {
        license_id: "lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into(),
        product_id: PRODUCT_ID.into(),
        issued_at,
        not_before: issued_at,
        expires_at: issued_at + Duration::days(3),
        fingerprint: fingerprint(PRODUCT_SALT, MACHINE_ID),
        machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
        status: LicenseStatus::Active,
        entitlements: vec!["export_pdf".into(), "sso".into()],
        license_expires_at: Some(at("2027-01-01T00:00:00Z")),
        grace_days: 7,
        offline_max_days: 30,
        nonce: None,
    }
}

fn activation_request() -> ActivationRequest {
    ActivationRequest::new(
        &fingerprint(PRODUCT_SALT, MACHINE_ID),
        LicenseReference::Key(LicenseKey::parse("PROAPP-A1B2-C3D4-E5F6-G7H8").unwrap()),
        "render-node-07",
        Platform::Linux,
        at("2026-01-15T09:12:45Z"),
    )
    .unwrap()
}

/// Every vector file and its expected content.
fn vectors() -> Vec<(&'static str, String)> {
    let key = key();
    let jwks = PublicKeySet::from_keys([key.public_key()]).unwrap();
    let context = serde_json::json!({
        "productId": PRODUCT_ID,
        "productSalt": PRODUCT_SALT,
        "machineId": MACHINE_ID,
        "fingerprint": fingerprint(PRODUCT_SALT, MACHINE_ID),
        "keyId": key.key_id(),
        "publicKey": key.public_key().to_base64url(),
        "verifyAt": VERIFY_AT,
    });
    vec![
        ("seed.hex", format!("{SEED_HEX}\n")),
        (
            "context.json",
            format!("{}\n", serde_json::to_string_pretty(&context).unwrap()),
        ),
        (
            "jwks.json",
            format!("{}\n", serde_json::to_string(&jwks).unwrap()),
        ),
        ("license.lic", LicenseFile::sign(&payload(), &key).unwrap()),
        (
            "token.jwt",
            format!(
                "{}\n",
                licentric_core::issue_token(&claims(), &key).unwrap()
            ),
        ),
        (
            "activation_request.txt",
            format!("{}\n", activation_request().to_text()),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

#[test]
fn vector_files_are_exactly_what_the_code_produces() {
    let bless = std::env::var_os("LICENTRIC_BLESS_VECTORS").is_some();
    for (name, expected) in vectors() {
        let path = dir().join(name);
        if bless {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&path, &expected).unwrap();
        }
        let actual =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            actual, expected,
            "{name} differs from what the code produces"
        );
    }
}

#[test]
fn vectors_verify_at_the_documented_time_and_fail_when_edited() {
    let read = |name: &str| fs::read_to_string(dir().join(name)).unwrap();
    let keys: PublicKeySet = serde_json::from_str(&read("jwks.json")).unwrap();
    let fp = fingerprint(PRODUCT_SALT, MACHINE_ID);
    let now = at(VERIFY_AT);
    let trusted = TrustedTime::default();

    let lic = read("license.lic");
    let verified = verify_license_file(&lic, &keys, PRODUCT_ID, &fp, now, &trusted).unwrap();
    assert_eq!(verified.payload(), &payload());
    let edited = lic.replacen("Key-Id: k1-", "Key-Id: k2-", 1);
    assert!(verify_license_file(&edited, &keys, PRODUCT_ID, &fp, now, &trusted).is_err());

    let jwt = read("token.jwt");
    let verified = verify_token(&jwt, &keys, PRODUCT_ID, &fp, now, &trusted).unwrap();
    assert_eq!(verified.claims(), &claims());
    assert_eq!(
        verify_token(
            &jwt,
            &keys,
            PRODUCT_ID,
            &fp,
            at("2026-01-18T09:30:00Z"),
            &trusted
        ),
        Err(OfflineRefusal::FileExpired)
    );

    let request = ActivationRequest::parse(&read("activation_request.txt")).unwrap();
    assert_eq!(request, activation_request());
}

#[test]
fn the_format_documentation_quotes_the_vectors_verbatim() {
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats.md");
    let doc = fs::read_to_string(&doc_path).unwrap();
    for (name, content) in vectors() {
        if name == "context.json" {
            continue;
        }
        assert!(
            doc.contains(content.trim_end()),
            "docs/formats.md does not quote the current {name}"
        );
    }
    assert!(doc.contains(key().key_id()));
    assert!(doc.contains(&key().public_key().to_base64url()));
}

//! The `.lic` reader on arbitrary input: it must never panic, and nothing but the one
//! genuine file may ever verify (signatures are unforgeable, so a fuzzer that finds a
//! second accepted text has found a parsing or canonicalisation bug).
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use licentric_core::{dangerous, verify_license_file, LicenseFile, PublicKeySet, TrustedTime};

const GENUINE: &str = include_str!("../../crates/licentric-core/tests/vectors/license.lic");
const JWKS: &str = include_str!("../../crates/licentric-core/tests/vectors/jwks.json");
const FINGERPRINT: &str = "39ef6df96c01d3dc19d3e62039d40604e702eee99fbbdc3a4fba553aed1291dd";
// 2026-01-16T00:00:00Z, inside the genuine file's validity.
const NOW: i64 = 1_768_521_600;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (Ok(keys), Some(now)) = (
        serde_json::from_str::<PublicKeySet>(JWKS),
        DateTime::<Utc>::from_timestamp(NOW, 0),
    ) else {
        panic!("fixture");
    };
    if let Ok(file) = LicenseFile::parse(text) {
        assert!(!file.key_id().is_empty());
    }
    let _ = dangerous::decode_license_file_unverified(text);
    let verified = verify_license_file(
        text,
        &keys,
        "prod_abc123",
        FINGERPRINT,
        now,
        &TrustedTime::default(),
    );
    if verified.is_ok() {
        assert_eq!(text, GENUINE, "a second text verified");
    }
});

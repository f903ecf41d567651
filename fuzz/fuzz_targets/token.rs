//! The token reader on arbitrary input: it must never panic, and only the genuine
//! token (give or take the surrounding whitespace the reader trims) may authenticate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licentric_core::{authenticate_token, dangerous, PublicKeySet};

const GENUINE: &str = include_str!("../../crates/licentric-core/tests/vectors/token.jwt");
const JWKS: &str = include_str!("../../crates/licentric-core/tests/vectors/jwks.json");
const FINGERPRINT: &str = "39ef6df96c01d3dc19d3e62039d40604e702eee99fbbdc3a4fba553aed1291dd";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keys) = serde_json::from_str::<PublicKeySet>(JWKS) else {
        panic!("fixture");
    };
    let _ = dangerous::decode_token_unverified(text);
    if authenticate_token(text, &keys, "prod_abc123", FINGERPRINT).is_ok() {
        assert_eq!(text.trim(), GENUINE.trim(), "a second token authenticated");
    }
});

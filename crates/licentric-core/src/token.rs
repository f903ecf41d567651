//! The validation token: an EdDSA-signed JWT the client caches after validating online.
//!
//! A token is a compact JWS (RFC 7515) with header `{"typ":"JWT","alg":"EdDSA","kid":…}`
//! and these claims, in this order (times are Unix seconds, UTC):
//!
//! | claim    | meaning                                                        |
//! |----------|----------------------------------------------------------------|
//! | `iss`    | always `"licentric"`                                           |
//! | `sub`    | the license id                                                 |
//! | `aud`    | the product id (a string, never an array)                      |
//! | `iat`    | when the server issued it (server time)                        |
//! | `nbf`    | not valid before (Licentric sets it to `iat`)                  |
//! | `exp`    | when offline use without grace ends                            |
//! | `fp`     | the fingerprint of the machine it was issued to                |
//! | `mid`    | that machine's id, or `null`                                   |
//! | `status` | the license status: `active`, `suspended`, `revoked`, `banned` |
//! | `ent`    | the license's entitlement codes                                |
//! | `lex`    | the license's own expiry, or `null` for a perpetual license    |
//! | `gdays`  | grace days after `exp` (the policy's; 7 by default)            |
//! | `omax`   | the policy's offline max days, for display                     |
//! | `nonce`  | the request's nonce, echoed; absent when the request sent none |
//!
//! Any JWT library holding the account's public key (e.g. from the JWKS of
//! [`crate::PublicKeySet`]) can verify a token. Claims this version does not know are
//! ignored, as RFC 7519 §4 requires, so a newer server can add claims without locking
//! out older clients.
//!
//! A token received **online** must also answer the request just sent: its `nonce` must be
//! the one the client made for it ([`authenticate_answer`]), so an answer recorded earlier
//! and replayed by an impostor server is refused. A cached token is judged offline
//! without its nonce: by then it is the client's own copy.
//!
//! Verification here never reads the system clock: jsonwebtoken's own `exp`/`nbf` checks
//! are switched off, and times are judged against the caller's `now` (see
//! [`crate::verify_token`] and [`crate::LicenseState::assess`]).

use std::collections::HashSet;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    offline::OfflineRefusal,
    signing::{is_valid_key_id, AccountSigningKey},
    Error, LicenseStatus, Nonce, PublicKeySet,
};

/// The `iss` of every Licentric token.
pub const TOKEN_ISSUER: &str = "licentric";

/// The longest token looked at. Real tokens are well under 1 KiB; the bound keeps a
/// hostile cache file from costing more than a glance.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a validation token says, in typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The license id (`sub`).
    pub license_id: String,
    /// The product id (`aud`).
    pub product_id: String,
    /// When the server issued the token (`iat`); whole seconds.
    pub issued_at: DateTime<Utc>,
    /// Not valid before (`nbf`); whole seconds.
    pub not_before: DateTime<Utc>,
    /// When offline use without grace ends (`exp`); whole seconds.
    pub expires_at: DateTime<Utc>,
    /// The fingerprint of the machine the token was issued to (`fp`).
    pub fingerprint: String,
    /// That machine's id (`mid`).
    pub machine_id: Option<String>,
    /// The license status when the token was issued (`status`).
    pub status: LicenseStatus,
    /// The license's entitlement codes (`ent`).
    pub entitlements: Vec<String>,
    /// The license's own expiry (`lex`); `None` for a perpetual license.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Days of grace after `expires_at` (`gdays`).
    pub grace_days: u32,
    /// The policy's offline max days (`omax`).
    pub offline_max_days: u32,
    /// The nonce of the request the token answers (`nonce`); `None` when it sent none.
    pub nonce: Option<String>,
}

/// The claims as they travel; field order is the serialisation order.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    fp: String,
    mid: Option<String>,
    status: LicenseStatus,
    ent: Vec<String>,
    lex: Option<i64>,
    gdays: u32,
    omax: u32,
    // Left out when absent, so tokens without one stay byte-identical to before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
}

impl From<&TokenClaims> for WireClaims {
    fn from(claims: &TokenClaims) -> Self {
        Self {
            iss: TOKEN_ISSUER.to_owned(),
            sub: claims.license_id.clone(),
            aud: claims.product_id.clone(),
            iat: claims.issued_at.timestamp(),
            nbf: claims.not_before.timestamp(),
            exp: claims.expires_at.timestamp(),
            fp: claims.fingerprint.clone(),
            mid: claims.machine_id.clone(),
            status: claims.status,
            ent: claims.entitlements.clone(),
            lex: claims.license_expires_at.map(|at| at.timestamp()),
            gdays: claims.grace_days,
            omax: claims.offline_max_days,
            nonce: claims.nonce.clone(),
        }
    }
}

impl TryFrom<WireClaims> for TokenClaims {
    type Error = OfflineRefusal;
    fn try_from(wire: WireClaims) -> Result<Self, Self::Error> {
        let time = |secs: i64| DateTime::from_timestamp(secs, 0).ok_or(OfflineRefusal::Malformed);
        if wire.iss != TOKEN_ISSUER {
            return Err(OfflineRefusal::Malformed);
        }
        Ok(Self {
            license_id: wire.sub,
            product_id: wire.aud,
            issued_at: time(wire.iat)?,
            not_before: time(wire.nbf)?,
            expires_at: time(wire.exp)?,
            fingerprint: wire.fp,
            machine_id: wire.mid,
            status: wire.status,
            entitlements: wire.ent,
            license_expires_at: wire.lex.map(time).transpose()?,
            grace_days: wire.gdays,
            offline_max_days: wire.omax,
            nonce: wire.nonce,
        })
    }
}

/// Signs `claims` as a validation token with the account's key.
///
/// The token is byte-for-byte what `jsonwebtoken::encode` makes from the same header and
/// claims (a test pins this); it is assembled here so the private key never leaves
/// [`AccountSigningKey`] for a PKCS#8 copy that nothing would wipe. Sub-second parts of the
/// times are dropped: JWT times are whole seconds.
pub fn issue_token(claims: &TokenClaims, key: &AccountSigningKey) -> Result<String, Error> {
    if claims.expires_at <= claims.issued_at {
        return Err(Error::InvalidSigningInput(
            "a token must expire after it is issued",
        ));
    }
    if claims.not_before > claims.expires_at {
        return Err(Error::InvalidSigningInput(
            "a token must become valid before it expires",
        ));
    }
    let header = Header {
        kid: Some(key.key_id().to_owned()),
        ..Header::new(Algorithm::EdDSA)
    };
    let encode = |json: Result<Vec<u8>, serde_json::Error>| {
        json.map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
            .map_err(|_| Error::InvalidSigningInput("the token could not be encoded as JSON"))
    };
    let mut token = encode(serde_json::to_vec(&header))?;
    token.push('.');
    token.push_str(&encode(serde_json::to_vec(&WireClaims::from(claims)))?);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// A token whose signature, product and machine binding have been checked, and nothing
/// else: its times and license status are for [`crate::LicenseState::assess`] (or
/// [`crate::verify_token`]) to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    key_id: String,
    claims: TokenClaims,
}

impl VerifiedToken {
    /// The id of the key that signed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// What the token says.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }

    /// The claims, consuming the token.
    pub fn into_claims(self) -> TokenClaims {
        self.claims
    }
}

/// Checks a token's signature against `keys` and that it was issued for this product and
/// this machine — but not its times or the license status, so an expired token still
/// passes and can count towards the grace period.
///
/// Order: shape → key id known → signature → product → fingerprint. The claims are only
/// interpreted after the signature holds.
pub fn authenticate_token(
    token: &str,
    keys: &PublicKeySet,
    expected_product_id: &str,
    local_fingerprint: &str,
) -> Result<VerifiedToken, OfflineRefusal> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(OfflineRefusal::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| OfflineRefusal::Malformed)?;
    let key_id = header
        .kid
        .filter(|kid| is_valid_key_id(kid))
        .ok_or(OfflineRefusal::Malformed)?;
    if header.alg != Algorithm::EdDSA {
        return Err(OfflineRefusal::Malformed);
    }
    let public_key = keys.get(&key_id).ok_or(OfflineRefusal::UnknownKeyId)?;
    let decoded = jsonwebtoken::decode::<WireClaims>(
        token,
        &DecodingKey::from_ed_der(public_key.as_bytes()),
        &validation(),
    )
    .map_err(|error| match error.kind() {
        // The payload is only decoded once the signature holds, so a base64 failure here
        // is the signature part itself being garbled: the same "tampered" outcome.
        ErrorKind::InvalidSignature | ErrorKind::Base64(_) | ErrorKind::Crypto(_) => {
            OfflineRefusal::BadSignature
        }
        _ => OfflineRefusal::Malformed,
    })?;
    let claims = TokenClaims::try_from(decoded.claims)?;
    if claims.product_id != expected_product_id {
        return Err(OfflineRefusal::WrongProduct);
    }
    if claims.fingerprint != local_fingerprint {
        return Err(OfflineRefusal::WrongMachine);
    }
    Ok(VerifiedToken { key_id, claims })
}

/// Why an online `VALID` answer was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerRefusal {
    /// The answer carries no token: nothing proves the vendor's server sent it.
    Unsigned,
    /// The token does not verify with the pinned keys, or is for another product or
    /// machine.
    Token(OfflineRefusal),
    /// The token is genuine but answers another request: its nonce is missing or is not
    /// the one sent (a replayed answer).
    NotThisRequest,
}

impl AnswerRefusal {
    /// What happened, in a sentence for a person.
    pub fn message(self) -> String {
        match self {
            Self::Unsigned => "The license server answered \"valid\" without a token signed by the vendor's key, so the answer proves nothing and cannot license this app.".to_owned(),
            Self::Token(refusal @ (OfflineRefusal::WrongProduct | OfflineRefusal::WrongMachine)) => format!(
                "The license server's answer does not answer this request: its token is {} ({}), so it cannot license this app.",
                refusal.title().to_lowercase(),
                refusal.code()
            ),
            Self::Token(refusal) => format!(
                "The license server's answer is not signed by the vendor's key: its token was refused as \"{}\" ({}), so it cannot license this app.",
                refusal.title(),
                refusal.code()
            ),
            Self::NotThisRequest => "The license server's answer is signed by the vendor's key but does not answer this request: it is a replay of an earlier answer, so it cannot license this app.".to_owned(),
        }
    }

    /// What to do about it.
    pub fn next_step(self) -> &'static str {
        "Check the license server address the app uses (a proxy or hosts-file entry may send it elsewhere); if it is right, contact the vendor."
    }
}

/// Judges a `VALID` answer from the server: it counts only with a token that verifies with
/// the pinned `keys`, is for this product and this machine, and carries the `nonce` the
/// client sent with this request. Times and license status are left to
/// [`crate::LicenseState::assess`], as with [`authenticate_token`].
pub fn authenticate_answer(
    token: Option<&str>,
    keys: &PublicKeySet,
    expected_product_id: &str,
    local_fingerprint: &str,
    nonce: &Nonce,
) -> Result<VerifiedToken, AnswerRefusal> {
    let token = token.ok_or(AnswerRefusal::Unsigned)?;
    let verified = authenticate_token(token, keys, expected_product_id, local_fingerprint)
        .map_err(AnswerRefusal::Token)?;
    if verified.claims.nonce.as_deref() != Some(nonce.as_str()) {
        return Err(AnswerRefusal::NotThisRequest);
    }
    Ok(verified)
}

/// jsonwebtoken's checks, minus everything that would read the system clock or that
/// [`authenticate_token`] decides itself to give a named outcome.
fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    validation
}

/// The claims of a token without checking anything but its shape. See
/// [`crate::dangerous`].
pub(crate) fn decode_unverified(token: &str) -> Result<TokenClaims, OfflineRefusal> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(OfflineRefusal::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OfflineRefusal::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| OfflineRefusal::Malformed)?;
    let wire: WireClaims = serde_json::from_slice(&json).map_err(|_| OfflineRefusal::Malformed)?;
    TokenClaims::try_from(wire)
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Duration;
    use jsonwebtoken::EncodingKey;

    use super::*;
    use crate::signing::tests::{other_key, test_key};

    pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) const FP: &str = "39ef6df96c01d3dc19d3e62039d40604e702eee99fbbdc3a4fba553aed1291dd";

    pub(crate) fn claims() -> TokenClaims {
        let issued_at = at("2026-01-15T09:30:00Z");
        TokenClaims {
            license_id: "lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into(),
            product_id: "prod_abc123".into(),
            issued_at,
            not_before: issued_at,
            expires_at: issued_at + Duration::days(3),
            fingerprint: FP.into(),
            machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
            status: LicenseStatus::Active,
            entitlements: vec!["export_pdf".into(), "sso".into()],
            license_expires_at: Some(at("2027-01-01T00:00:00Z")),
            grace_days: 7,
            offline_max_days: 30,
            nonce: None,
        }
    }

    pub(crate) fn keys() -> PublicKeySet {
        PublicKeySet::from_keys([test_key().public_key()]).unwrap()
    }

    /// PKCS#8 v1 (RFC 8410 §7) wrapping of an Ed25519 seed, as jsonwebtoken's signer wants.
    fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(seed);
        der
    }

    #[test]
    fn issued_token_is_exactly_what_jsonwebtoken_encodes() {
        let key = test_key();
        let ours = issue_token(&claims(), &key).unwrap();
        let header = Header {
            kid: Some(key.key_id().to_owned()),
            ..Header::new(Algorithm::EdDSA)
        };
        let theirs = jsonwebtoken::encode(
            &header,
            &WireClaims::from(&claims()),
            &EncodingKey::from_ed_der(&pkcs8(&key.to_secret_seed())),
        )
        .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn header_and_claims_have_the_documented_shape() {
        let token = issue_token(&claims(), &test_key()).unwrap();
        let mut parts = token.split('.');
        let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(
                r#"{{"typ":"JWT","alg":"EdDSA","kid":"{}"}}"#,
                test_key().key_id()
            )
        );
        let payload = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            format!(
                concat!(
                    r#"{{"iss":"licentric","sub":"lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y","aud":"prod_abc123","#,
                    r#""iat":1768469400,"nbf":1768469400,"exp":1768728600,"fp":"{}","#,
                    r#""mid":"mach_01JH8Q4A2B3C4D5E6F7G8H9J0K","status":"active","ent":["export_pdf","sso"],"#,
                    r#""lex":1798761600,"gdays":7,"omax":30}}"#
                ),
                FP
            )
        );
    }

    #[test]
    fn authentic_token_round_trips_even_when_long_expired() {
        let token = issue_token(&claims(), &test_key()).unwrap();
        let verified = authenticate_token(&token, &keys(), "prod_abc123", FP).unwrap();
        assert_eq!(verified.claims(), &claims());
        assert_eq!(verified.key_id(), test_key().key_id());
        assert_eq!(verified.into_claims(), claims());
    }

    #[test]
    fn wrong_product_machine_and_unknown_key_are_named() {
        let token = issue_token(&claims(), &test_key()).unwrap();
        assert_eq!(
            authenticate_token(&token, &keys(), "prod_other", FP),
            Err(OfflineRefusal::WrongProduct)
        );
        assert_eq!(
            authenticate_token(&token, &keys(), "prod_abc123", "0123456789abcdef"),
            Err(OfflineRefusal::WrongMachine)
        );
        let stranger = issue_token(&claims(), &other_key()).unwrap();
        assert_eq!(
            authenticate_token(&stranger, &keys(), "prod_abc123", FP),
            Err(OfflineRefusal::UnknownKeyId)
        );
        // Another key claiming a trusted key's id is a bad signature, not a pass.
        let impostor = other_key().with_key_id(test_key().key_id()).unwrap();
        let forged = issue_token(&claims(), &impostor).unwrap();
        assert_eq!(
            authenticate_token(&forged, &keys(), "prod_abc123", FP),
            Err(OfflineRefusal::BadSignature)
        );
    }

    #[test]
    fn algorithm_confusion_and_missing_kid_are_refused() {
        let key = test_key();
        let claims = serde_json::to_vec(&WireClaims::from(&claims())).unwrap();
        let unsigned = |header: &str| {
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(&claims)
            )
        };
        for header in [
            format!(r#"{{"alg":"none","kid":"{}"}}"#, key.key_id()),
            format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.key_id()),
            r#"{"alg":"EdDSA"}"#.to_owned(),
        ] {
            assert_eq!(
                authenticate_token(&unsigned(&header), &keys(), "prod_abc123", FP),
                Err(OfflineRefusal::Malformed),
                "{header}"
            );
        }
        assert_eq!(
            authenticate_token(
                &unsigned(&format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, key.key_id())),
                &keys(),
                "prod_abc123",
                FP
            ),
            Err(OfflineRefusal::BadSignature)
        );
    }

    #[test]
    fn unknown_claims_are_ignored_but_a_foreign_issuer_is_not() {
        let key = test_key();
        let sign = |payload: serde_json::Value| {
            let header = Header {
                kid: Some(key.key_id().to_owned()),
                ..Header::new(Algorithm::EdDSA)
            };
            jsonwebtoken::encode(
                &header,
                &payload,
                &EncodingKey::from_ed_der(&pkcs8(&key.to_secret_seed())),
            )
            .unwrap()
        };
        let mut payload = serde_json::to_value(WireClaims::from(&claims())).unwrap();
        payload["future"] = serde_json::json!({"added": "later"});
        assert!(authenticate_token(&sign(payload.clone()), &keys(), "prod_abc123", FP).is_ok());
        payload["iss"] = "someone-else".into();
        assert_eq!(
            authenticate_token(&sign(payload), &keys(), "prod_abc123", FP),
            Err(OfflineRefusal::Malformed)
        );
    }

    fn nonce(text: &str) -> Nonce {
        Nonce::parse(text).unwrap()
    }

    #[test]
    fn the_nonce_claim_comes_last_and_only_when_sent() {
        let with = TokenClaims {
            nonce: Some("n0nce-n0nce-n0nce".into()),
            ..claims()
        };
        let token = issue_token(&with, &test_key()).unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        let payload = String::from_utf8(payload).unwrap();
        assert!(
            payload.ends_with(r#""omax":30,"nonce":"n0nce-n0nce-n0nce"}"#),
            "{payload}"
        );
        let verified = authenticate_token(&token, &keys(), "prod_abc123", FP).unwrap();
        assert_eq!(verified.claims(), &with);
        // Without a nonce the token is byte for byte what it was before nonces existed
        // (the test vector pins those bytes).
        let without = issue_token(&claims(), &test_key()).unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(without.split('.').nth(1).unwrap())
            .unwrap();
        assert!(!String::from_utf8(payload).unwrap().contains("nonce"));
    }

    #[test]
    fn an_online_answer_counts_only_when_signed_for_this_request() {
        let sent = nonce("n0nce-n0nce-n0nce");
        let answer =
            |claims: TokenClaims, key: &AccountSigningKey| issue_token(&claims, key).unwrap();
        let for_this_request = TokenClaims {
            nonce: Some(sent.as_str().to_owned()),
            ..claims()
        };

        let genuine = answer(for_this_request.clone(), &test_key());
        let verified =
            authenticate_answer(Some(&genuine), &keys(), "prod_abc123", FP, &sent).unwrap();
        assert_eq!(verified.claims(), &for_this_request);

        assert_eq!(
            authenticate_answer(None, &keys(), "prod_abc123", FP, &sent),
            Err(AnswerRefusal::Unsigned)
        );
        // Genuine, but for an earlier request, or from a server that echoes no nonce.
        let earlier = answer(
            TokenClaims {
                nonce: Some("an-earlier-nonce-0001".into()),
                ..claims()
            },
            &test_key(),
        );
        let no_nonce = answer(claims(), &test_key());
        for replayed in [earlier, no_nonce] {
            assert_eq!(
                authenticate_answer(Some(&replayed), &keys(), "prod_abc123", FP, &sent),
                Err(AnswerRefusal::NotThisRequest)
            );
        }
        // Signed with another key, whatever key id it claims.
        let stranger = answer(for_this_request.clone(), &other_key());
        assert_eq!(
            authenticate_answer(Some(&stranger), &keys(), "prod_abc123", FP, &sent),
            Err(AnswerRefusal::Token(OfflineRefusal::UnknownKeyId))
        );
        let impostor = other_key().with_key_id(test_key().key_id()).unwrap();
        let forged = answer(for_this_request.clone(), &impostor);
        assert_eq!(
            authenticate_answer(Some(&forged), &keys(), "prod_abc123", FP, &sent),
            Err(AnswerRefusal::Token(OfflineRefusal::BadSignature))
        );
        assert_eq!(
            authenticate_answer(
                Some(&genuine),
                &keys(),
                "prod_abc123",
                "0123456789abcdef",
                &sent
            ),
            Err(AnswerRefusal::Token(OfflineRefusal::WrongMachine))
        );
    }

    #[test]
    fn refused_answers_say_what_happened_and_what_to_do() {
        let unsigned = AnswerRefusal::Unsigned.message();
        assert!(
            unsigned.contains("without a token signed by the vendor's key"),
            "{unsigned}"
        );
        let forged = AnswerRefusal::Token(OfflineRefusal::BadSignature).message();
        assert!(
            forged.contains("not signed by the vendor's key"),
            "{forged}"
        );
        assert!(forged.contains("BAD_SIGNATURE"), "{forged}");
        let replay = AnswerRefusal::NotThisRequest.message();
        assert!(replay.contains("does not answer this request"), "{replay}");
        assert!(AnswerRefusal::Unsigned
            .next_step()
            .contains("Check the license server address"));
    }

    #[test]
    fn issuing_refuses_backwards_times() {
        let mut backwards = claims();
        backwards.expires_at = backwards.issued_at;
        assert!(matches!(
            issue_token(&backwards, &test_key()),
            Err(Error::InvalidSigningInput(_))
        ));
        let mut late = claims();
        late.not_before = late.expires_at + Duration::seconds(1);
        assert!(matches!(
            issue_token(&late, &test_key()),
            Err(Error::InvalidSigningInput(_))
        ));
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let token = issue_token(&claims(), &test_key()).unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut variants = 0;
        let mut bad_signature = 0;
        for index in 0..token.len() {
            let original = token.as_bytes()[index];
            let replacement = alphabet.iter().copied().find(|&c| c != original).unwrap();
            for changed in [original ^ 0x01, replacement] {
                let mut bytes = token.clone().into_bytes();
                bytes[index] = changed;
                let Ok(tampered) = String::from_utf8(bytes) else {
                    continue;
                };
                variants += 1;
                let outcome = authenticate_token(&tampered, &keys(), "prod_abc123", FP);
                assert!(
                    matches!(
                        outcome,
                        Err(OfflineRefusal::Malformed
                            | OfflineRefusal::BadSignature
                            | OfflineRefusal::UnknownKeyId)
                    ),
                    "byte {index} {original:#x}->{changed:#x}: {outcome:?}"
                );
                bad_signature += usize::from(outcome == Err(OfflineRefusal::BadSignature));
            }
        }
        assert_eq!(variants, token.len() * 2);
        // The signature check itself is reached, not only the parser.
        assert!(
            bad_signature > token.len() / 2,
            "{bad_signature} of {variants}"
        );
    }
}

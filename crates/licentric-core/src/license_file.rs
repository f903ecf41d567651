//! The offline license file (`.lic`): a signed, versioned text envelope.
//!
//! ```text
//! -----BEGIN LICENTRIC LICENSE FILE-----
//! Format: licentric-lic/1
//! Key-Id: <kid>
//! Signature: <unpadded base64url of the 64-byte Ed25519 signature>
//!
//! <standard base64, with padding, of the payload JSON, wrapped at 64 columns>
//! -----END LICENTRIC LICENSE FILE-----
//! ```
//!
//! Lines end in a single LF and the file ends with exactly one LF after the END line.
//! The signature covers the bytes `"licentric-lic/1\n" + kid + "\n" + payload`, so the
//! format version and the key id are bound as well as the payload; the key id cannot
//! contain a line break, which keeps that concatenation unambiguous.
//!
//! The file is a pure function of (key id, signature, payload): [`LicenseFile::parse`]
//! extracts the three, renders them again, and refuses the input unless it is
//! byte-for-byte that rendering. So no variant of an accepted file is accepted: not
//! CRLF line endings, not re-wrapped base64, not a missing `=`, not a trailing space.
//! The payload itself must be the canonical JSON Licentric writes (compact, fields in
//! the documented order, times as `YYYY-MM-DDTHH:MM:SSZ`), and it is only read after the
//! signature has been checked. `docs/formats.md` has the byte-exact description and test
//! vectors.

use std::fmt;

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    offline::{check_dates, Dated, OfflineRefusal},
    signing::{is_valid_key_id, AccountSigningKey},
    Error, LicenseStatus, PublicKeySet, TrustedTime,
};

/// The format version this code writes and reads, as it appears in the `Format:` header.
pub const LICENSE_FILE_FORMAT: &str = "licentric-lic/1";

const BEGIN: &str = "-----BEGIN LICENTRIC LICENSE FILE-----";
const END: &str = "-----END LICENTRIC LICENSE FILE-----";
/// Base64 body line length, as in PEM (RFC 7468).
const WRAP: usize = 64;
/// Real files are about 1 KiB; the bound keeps a hostile file from costing more.
const MAX_FILE_LEN: usize = 64 * 1024;

/// What an offline license file grants, as the server fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensePayload {
    /// The license's id.
    pub license_id: String,
    /// The product it licenses.
    pub product_id: String,
    /// The account (vendor) that issued it.
    pub account_id: String,
    /// The license status when the file was issued.
    pub status: LicenseStatus,
    /// When the license itself expires; `None` for a perpetual license.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// The license's entitlement codes.
    pub entitlements: Vec<String>,
    /// The policy's machine limit; `None` for unlimited.
    pub max_machines: Option<u32>,
    /// The policy's offline max days: how long a file may last.
    pub offline_max_days: u32,
    /// The policy's grace days, for display; a file has no grace after its own expiry.
    pub grace_days: u32,
    /// The fingerprint of the machine the file is bound to (8–255 characters).
    pub fingerprint: String,
    /// That machine's id, if it has been activated.
    pub machine_id: Option<String>,
    /// When the file was issued (server time).
    pub issued_at: DateTime<Utc>,
    /// When the file itself stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// The payload as it is signed; field order is the serialisation order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WirePayload {
    license_id: String,
    product_id: String,
    account_id: String,
    status: LicenseStatus,
    #[serde(with = "seconds_opt")]
    license_expires_at: Option<DateTime<Utc>>,
    entitlements: Vec<String>,
    max_machines: Option<u32>,
    offline_max_days: u32,
    grace_days: u32,
    fingerprint: String,
    machine_id: Option<String>,
    #[serde(with = "seconds")]
    issued_at: DateTime<Utc>,
    #[serde(with = "seconds")]
    expires_at: DateTime<Utc>,
    key_id: String,
}

impl WirePayload {
    fn new(payload: &LicensePayload, key_id: &str) -> Self {
        Self {
            license_id: payload.license_id.clone(),
            product_id: payload.product_id.clone(),
            account_id: payload.account_id.clone(),
            status: payload.status,
            license_expires_at: payload.license_expires_at,
            entitlements: payload.entitlements.clone(),
            max_machines: payload.max_machines,
            offline_max_days: payload.offline_max_days,
            grace_days: payload.grace_days,
            fingerprint: payload.fingerprint.clone(),
            machine_id: payload.machine_id.clone(),
            issued_at: payload.issued_at,
            expires_at: payload.expires_at,
            key_id: key_id.to_owned(),
        }
    }

    fn into_payload(self) -> LicensePayload {
        LicensePayload {
            license_id: self.license_id,
            product_id: self.product_id,
            account_id: self.account_id,
            status: self.status,
            license_expires_at: self.license_expires_at,
            entitlements: self.entitlements,
            max_machines: self.max_machines,
            offline_max_days: self.offline_max_days,
            grace_days: self.grace_days,
            fingerprint: self.fingerprint,
            machine_id: self.machine_id,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
        }
    }
}

/// Times as `YYYY-MM-DDTHH:MM:SSZ`: one spelling per instant, so the canonical check
/// can compare bytes. Sub-second parts are dropped.
mod seconds {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod seconds_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::seconds::serialize(at, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// The signed message: format, key id and payload, so none can be swapped alone.
fn signed_message(key_id: &str, payload: &[u8]) -> Vec<u8> {
    let mut message =
        Vec::with_capacity(LICENSE_FILE_FORMAT.len() + key_id.len() + 2 + payload.len());
    message.extend_from_slice(LICENSE_FILE_FORMAT.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(key_id.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(payload);
    message
}

/// The one rendering of a file.
fn render(key_id: &str, signature: &[u8; 64], payload: &[u8]) -> String {
    let body = STANDARD.encode(payload);
    let mut text = String::with_capacity(body.len() + body.len() / WRAP + 256);
    text.push_str(BEGIN);
    text.push_str("\nFormat: ");
    text.push_str(LICENSE_FILE_FORMAT);
    text.push_str("\nKey-Id: ");
    text.push_str(key_id);
    text.push_str("\nSignature: ");
    text.push_str(&URL_SAFE_NO_PAD.encode(signature));
    text.push_str("\n\n");
    for (index, c) in body.chars().enumerate() {
        if index > 0 && index % WRAP == 0 {
            text.push('\n');
        }
        text.push(c);
    }
    text.push('\n');
    text.push_str(END);
    text.push('\n');
    text
}

/// The years the `YYYY` of a file's times can spell.
fn representable(at: DateTime<Utc>) -> bool {
    at >= DateTime::UNIX_EPOCH && at.to_rfc3339_opts(SecondsFormat::Secs, true).len() == 20
}

/// A `.lic` file whose shape is exact but whose signature has not been checked yet.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseFile {
    key_id: String,
    signature: [u8; 64],
    payload: Vec<u8>,
}

impl LicenseFile {
    /// Signs `payload` with the account's key and renders the `.lic` text.
    ///
    /// Refuses (nothing is signed) a fingerprint outside 8–255 characters, a file that
    /// expires before it is issued, and times before 1970 or after 9999. Sub-second
    /// parts of the times are dropped.
    pub fn sign(payload: &LicensePayload, key: &AccountSigningKey) -> Result<String, Error> {
        if !(8..=255).contains(&payload.fingerprint.chars().count()) {
            return Err(Error::InvalidSigningInput(
                "the fingerprint must be 8 to 255 characters",
            ));
        }
        if payload.expires_at <= payload.issued_at {
            return Err(Error::InvalidSigningInput(
                "a license file must expire after it is issued",
            ));
        }
        let times = [payload.issued_at, payload.expires_at]
            .into_iter()
            .chain(payload.license_expires_at);
        if !times.into_iter().all(representable) {
            return Err(Error::InvalidSigningInput(
                "times must lie between the years 1970 and 9999",
            ));
        }
        let json = serde_json::to_vec(&WirePayload::new(payload, key.key_id()))
            .map_err(|_| Error::InvalidSigningInput("the payload could not be encoded as JSON"))?;
        let signature = key.sign(&signed_message(key.key_id(), &json));
        Ok(render(key.key_id(), &signature, &json))
    }

    /// Reads the envelope of a `.lic` file, refusing anything that is not exactly the
    /// rendering of its contents ([`OfflineRefusal::Malformed`]). Nothing is verified yet.
    pub fn parse(text: &str) -> Result<Self, OfflineRefusal> {
        if text.len() > MAX_FILE_LEN {
            return Err(OfflineRefusal::Malformed);
        }
        let mut lines = text.split('\n');
        let mut header = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .ok_or(OfflineRefusal::Malformed)
        };
        header(BEGIN)?;
        if header("Format: ")? != LICENSE_FILE_FORMAT {
            return Err(OfflineRefusal::Malformed);
        }
        let key_id = header("Key-Id: ")?.to_owned();
        let signature = header("Signature: ")?;
        header("")?;
        if !is_valid_key_id(&key_id) {
            return Err(OfflineRefusal::Malformed);
        }
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(OfflineRefusal::Malformed)?;
        let body: String = lines.take_while(|&line| line != END).collect();
        let payload = STANDARD
            .decode(body)
            .map_err(|_| OfflineRefusal::Malformed)?;
        if payload.is_empty() {
            return Err(OfflineRefusal::Malformed);
        }
        let file = Self {
            key_id,
            signature,
            payload,
        };
        // Everything above was lenient in ways the rendering is not (line lengths, what
        // follows END); this comparison is what makes any changed byte a refusal.
        if render(&file.key_id, &file.signature, &file.payload) != text {
            return Err(OfflineRefusal::Malformed);
        }
        Ok(file)
    }

    /// The id of the key the file says signed it (not yet verified).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks the signature against `keys` and reads the payload; steps 2–3 of
    /// [`crate::verify_license_file`]'s order plus the payload half of step 1.
    fn authenticate(&self, keys: &PublicKeySet) -> Result<LicensePayload, OfflineRefusal> {
        let public_key = keys.get(&self.key_id).ok_or(OfflineRefusal::UnknownKeyId)?;
        if !public_key.verify_strict(
            &signed_message(&self.key_id, &self.payload),
            &self.signature,
        ) {
            return Err(OfflineRefusal::BadSignature);
        }
        self.decode_payload()
    }

    /// The payload, if it is canonical JSON naming this file's key id.
    pub(crate) fn decode_payload(&self) -> Result<LicensePayload, OfflineRefusal> {
        let wire: WirePayload =
            serde_json::from_slice(&self.payload).map_err(|_| OfflineRefusal::Malformed)?;
        let canonical = serde_json::to_vec(&wire).map_err(|_| OfflineRefusal::Malformed)?;
        if canonical != self.payload || wire.key_id != self.key_id {
            return Err(OfflineRefusal::Malformed);
        }
        Ok(wire.into_payload())
    }

    /// Verifies the file completely, in the order documented in [`crate::verify_license_file`].
    pub fn verify(
        &self,
        keys: &PublicKeySet,
        expected_product_id: &str,
        local_fingerprint: &str,
        now: DateTime<Utc>,
        trusted: &TrustedTime,
    ) -> Result<VerifiedLicenseFile, OfflineRefusal> {
        let payload = self.authenticate(keys)?;
        if payload.product_id != expected_product_id {
            return Err(OfflineRefusal::WrongProduct);
        }
        if payload.fingerprint != local_fingerprint {
            return Err(OfflineRefusal::WrongMachine);
        }
        check_dates(
            &Dated {
                valid_from: payload.issued_at,
                expires_at: payload.expires_at,
                status: payload.status,
                license_expires_at: payload.license_expires_at,
            },
            now,
            trusted,
        )?;
        Ok(VerifiedLicenseFile {
            key_id: self.key_id.clone(),
            payload,
        })
    }
}

impl fmt::Debug for LicenseFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LicenseFile")
            .field("key_id", &self.key_id)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// A license file that passed every check for this product, machine and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLicenseFile {
    key_id: String,
    payload: LicensePayload,
}

impl VerifiedLicenseFile {
    /// The id of the key that signed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// What the file grants.
    pub fn payload(&self) -> &LicensePayload {
        &self.payload
    }

    /// What the file grants, consuming it.
    pub fn into_payload(self) -> LicensePayload {
        self.payload
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        signing::tests::{other_key, test_key},
        token::tests::{at, keys, FP},
        verify_license_file,
    };

    pub(crate) fn payload() -> LicensePayload {
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
            fingerprint: FP.into(),
            machine_id: Some("mach_01JH8Q4A2B3C4D5E6F7G8H9J0K".into()),
            issued_at: at("2026-01-15T09:30:00Z"),
            expires_at: at("2026-02-14T09:30:00Z"),
        }
    }

    fn signed() -> String {
        LicenseFile::sign(&payload(), &test_key()).unwrap()
    }

    fn verify_at(text: &str, now: DateTime<Utc>) -> Result<VerifiedLicenseFile, OfflineRefusal> {
        verify_license_file(
            text,
            &keys(),
            "prod_abc123",
            FP,
            now,
            &TrustedTime::default(),
        )
    }

    fn issued() -> DateTime<Utc> {
        payload().issued_at
    }

    #[test]
    fn a_signed_file_verifies_and_gives_back_its_payload() {
        let verified = verify_at(&signed(), issued()).unwrap();
        assert_eq!(verified.payload(), &payload());
        assert_eq!(verified.key_id(), test_key().key_id());
        assert_eq!(verified.into_payload(), payload());
    }

    #[test]
    fn the_file_has_the_documented_layout() {
        let text = signed();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "-----BEGIN LICENTRIC LICENSE FILE-----");
        assert_eq!(lines[1], "Format: licentric-lic/1");
        assert_eq!(lines[2], format!("Key-Id: {}", test_key().key_id()));
        assert!(lines[3].starts_with("Signature: "));
        assert_eq!(lines[3].len(), "Signature: ".len() + 86);
        assert_eq!(lines[4], "");
        let body = &lines[5..lines.len() - 2];
        assert!(body[..body.len() - 1].iter().all(|line| line.len() == 64));
        assert!((1..=64).contains(&body[body.len() - 1].len()));
        assert_eq!(
            lines[lines.len() - 2],
            "-----END LICENTRIC LICENSE FILE-----"
        );
        assert_eq!(lines[lines.len() - 1], "");
        assert!(!text.contains('\r'));

        let json = String::from_utf8(STANDARD.decode(body.concat()).unwrap()).unwrap();
        assert_eq!(
            json,
            format!(
                concat!(
                    r#"{{"licenseId":"lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y","productId":"prod_abc123","#,
                    r#""accountId":"acct_01JH8PZ0A1B2C3D4E5F6G7H8J9","status":"active","#,
                    r#""licenseExpiresAt":"2027-01-01T00:00:00Z","entitlements":["export_pdf","sso"],"#,
                    r#""maxMachines":3,"offlineMaxDays":30,"graceDays":7,"fingerprint":"{}","#,
                    r#""machineId":"mach_01JH8Q4A2B3C4D5E6F7G8H9J0K","issuedAt":"2026-01-15T09:30:00Z","#,
                    r#""expiresAt":"2026-02-14T09:30:00Z","keyId":"{}"}}"#
                ),
                FP,
                test_key().key_id()
            )
        );
    }

    #[test]
    fn nulls_and_sub_seconds_are_written_canonically() {
        let mut perpetual = payload();
        perpetual.license_expires_at = None;
        perpetual.max_machines = None;
        perpetual.machine_id = None;
        perpetual.issued_at += Duration::milliseconds(750);
        let text = LicenseFile::sign(&perpetual, &test_key()).unwrap();
        let verified = verify_at(&text, issued()).unwrap();
        assert_eq!(verified.payload().issued_at, issued());
        assert_eq!(verified.payload().license_expires_at, None);
        assert_eq!(verified.payload().machine_id, None);
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let text = signed();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut variants = 0;
        let mut bad_signature = 0;
        for index in 0..text.len() {
            let original = text.as_bytes()[index];
            let replacement = alphabet.iter().copied().find(|&c| c != original).unwrap();
            for changed in [original ^ 0x01, replacement] {
                let mut bytes = text.clone().into_bytes();
                bytes[index] = changed;
                let tampered = String::from_utf8(bytes).unwrap();
                variants += 1;
                let outcome = verify_at(&tampered, issued());
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
        assert_eq!(variants, text.len() * 2);
        // The signature check itself is reached, not only the parser.
        assert!(
            bad_signature > text.len() / 2,
            "{bad_signature} of {variants}"
        );
    }

    #[test]
    fn changes_a_mail_program_or_editor_makes_are_refused() {
        let text = signed();
        let body_start = text.find("\n\n").unwrap() + 2;
        let first_body_line_end = body_start + 64;
        let mut rewrapped = text.clone();
        rewrapped.remove(first_body_line_end);
        rewrapped.insert(first_body_line_end + 8, '\n');
        let variants = [
            text.replace('\n', "\r\n"),
            text.trim_end().to_owned(),
            format!("{text}\n"),
            format!(" {text}"),
            text.replacen("Key-Id: ", "Key-Id:  ", 1),
            text.replacen("Format: ", "format: ", 1),
            text.replacen("licentric-lic/1", "licentric-lic/2", 1),
            text.replacen("-----END", "\n-----END", 1),
            rewrapped,
            text.replace('=', ""),
            format!(
                "{}\n{}",
                text.trim_end(),
                "-----END LICENTRIC LICENSE FILE-----\n"
            ),
            String::new(),
            "x".repeat(MAX_FILE_LEN + 1),
        ];
        for variant in variants {
            assert_eq!(
                verify_at(&variant, issued()),
                Err(OfflineRefusal::Malformed),
                "{variant:?}"
            );
        }
    }

    #[test]
    fn the_key_id_header_is_covered_by_the_signature() {
        // Re-label the file with the id of another trusted key: the signature no longer
        // matches, because the key id is part of what was signed.
        let other = test_key().with_key_id("rotated-2").unwrap();
        let set = PublicKeySet::from_keys([test_key().public_key(), other.public_key()]).unwrap();
        let relabelled = signed().replacen(
            &format!("Key-Id: {}", test_key().key_id()),
            "Key-Id: rotated-2",
            1,
        );
        assert_eq!(
            verify_license_file(
                &relabelled,
                &set,
                "prod_abc123",
                FP,
                issued(),
                &TrustedTime::default()
            ),
            Err(OfflineRefusal::BadSignature)
        );
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let text = signed();
        let trusted = TrustedTime::default();
        let verify = |keys: &PublicKeySet, product: &str, fp: &str, now| {
            verify_license_file(&text, keys, product, fp, now, &trusted)
        };
        let stranger = PublicKeySet::from_keys([other_key().public_key()]).unwrap();
        assert_eq!(
            verify(&stranger, "prod_abc123", FP, issued()),
            Err(OfflineRefusal::UnknownKeyId)
        );
        assert_eq!(
            verify(&keys(), "prod_other", FP, issued()),
            Err(OfflineRefusal::WrongProduct)
        );
        assert_eq!(
            verify(&keys(), "prod_abc123", "ffffffffffffffff", issued()),
            Err(OfflineRefusal::WrongMachine)
        );
        assert_eq!(
            verify(&keys(), "prod_abc123", FP, payload().expires_at),
            Err(OfflineRefusal::FileExpired)
        );
        assert!(verify(
            &keys(),
            "prod_abc123",
            FP,
            payload().expires_at - Duration::seconds(1)
        )
        .is_ok());
        assert_eq!(
            verify(&keys(), "prod_abc123", FP, issued() - Duration::hours(1)),
            Err(OfflineRefusal::NotYetValid)
        );
        let later = TrustedTime::new(issued() + Duration::days(10));
        assert_eq!(
            verify_license_file(
                &text,
                &keys(),
                "prod_abc123",
                FP,
                issued() + Duration::days(9),
                &later
            ),
            Err(OfflineRefusal::ClockMovedBack)
        );
    }

    #[test]
    fn license_status_and_expiry_inside_the_file_are_enforced() {
        for (status, refusal) in [
            (LicenseStatus::Suspended, OfflineRefusal::LicenseSuspended),
            (LicenseStatus::Revoked, OfflineRefusal::LicenseRevoked),
            (LicenseStatus::Banned, OfflineRefusal::LicenseBanned),
        ] {
            let text = LicenseFile::sign(
                &LicensePayload {
                    status,
                    ..payload()
                },
                &test_key(),
            )
            .unwrap();
            assert_eq!(verify_at(&text, issued()), Err(refusal));
        }
        let lapsing = LicensePayload {
            license_expires_at: Some(issued() + Duration::days(1)),
            ..payload()
        };
        let text = LicenseFile::sign(&lapsing, &test_key()).unwrap();
        assert!(verify_at(&text, issued()).is_ok());
        assert_eq!(
            verify_at(&text, issued() + Duration::days(1)),
            Err(OfflineRefusal::LicenseExpired)
        );
    }

    #[test]
    fn a_validly_signed_but_non_canonical_payload_is_refused() {
        let key = test_key();
        let sign_raw = |json: &str| {
            let signature = key.sign(&signed_message(key.key_id(), json.as_bytes()));
            render(key.key_id(), &signature, json.as_bytes())
        };
        let canonical = serde_json::to_string(&WirePayload::new(&payload(), key.key_id())).unwrap();
        assert!(verify_at(&sign_raw(&canonical), issued()).is_ok());
        for variant in [
            canonical.replacen(',', ", ", 1),
            canonical.replacen(
                "\"status\":\"active\"",
                "\"status\":\"active\",\"status\":\"active\"",
                1,
            ),
            canonical.replacen('}', ",\"extra\":1}", 1),
            canonical.replacen("2026-01-15T09:30:00Z", "2026-01-15T09:30:00+00:00", 1),
            canonical.replacen("2026-01-15T09:30:00Z", "2026-01-15T09:30:00.000Z", 1),
            canonical.replacen(key.key_id(), "k1-00000000", 1),
        ] {
            assert_eq!(
                verify_at(&sign_raw(&variant), issued()),
                Err(OfflineRefusal::Malformed),
                "{variant}"
            );
        }
    }

    #[test]
    fn signing_refuses_payloads_that_could_never_verify() {
        let short = LicensePayload {
            fingerprint: "abc".into(),
            ..payload()
        };
        let backwards = LicensePayload {
            expires_at: issued(),
            ..payload()
        };
        let far = LicensePayload {
            license_expires_at: Some(at("9999-12-31T23:59:59Z") + Duration::seconds(1)),
            ..payload()
        };
        for bad in [short, backwards, far] {
            assert!(matches!(
                LicenseFile::sign(&bad, &test_key()),
                Err(Error::InvalidSigningInput(_))
            ));
        }
    }

    #[test]
    fn parse_exposes_only_the_key_id_until_verified() {
        let file = LicenseFile::parse(&signed()).unwrap();
        assert_eq!(file.key_id(), test_key().key_id());
        let debug = format!("{file:?}");
        assert!(!debug.contains("prod_abc123"), "{debug}");
    }
}

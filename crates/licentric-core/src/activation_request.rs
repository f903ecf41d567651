//! Offline activation requests: what an air-gapped machine shows support.
//!
//! A request names the machine (fingerprint, name, platform), the license (its key or its
//! id, exactly one), and when it was made. As text it is one line:
//!
//! ```text
//! LICENTRIC-REQ1.<unpadded base64url of the compact JSON>
//! ```
//!
//! with JSON fields, in this order, `fingerprint`, `licenseKey` *or* `licenseId`,
//! `machineName`, `platform` (`macos|windows|linux|docker|kubernetes`) and `createdAt`
//! (`YYYY-MM-DDTHH:MM:SSZ`). Realistic requests are about 300 characters: small enough
//! for a QR code and for a support ticket.
//!
//! Reading is forgiving about what mail programs and chat windows do to text — spaces
//! and line breaks anywhere are dropped — and strict about what it says: a short
//! fingerprint, an unknown platform, both or neither of key and id, an unknown field or a
//! bad timestamp is refused with a reason.
//!
//! A request is **not signed**: the machine has no key to sign with, and anyone can type
//! one. It is a convenience for carrying facts to support, not evidence; the server checks
//! the license, its policy and its machine limit again before it issues a file, and the
//! file it issues is bound to the fingerprint, so a request for someone else's machine
//! yields a file that only works there.
//!
//! A request may carry the license key, which is a secret. Prefer the license id when the
//! customer has it; `Debug` output redacts the key either way.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{wire::Platform, LicenseKey};

/// What every request starts with; `REQ1` is the format version.
pub const ACTIVATION_REQUEST_PREFIX: &str = "LICENTRIC-REQ1.";

/// Longer input than this is not a request (real ones are about 300 characters).
const MAX_TEXT_LEN: usize = 8 * 1024;

/// Why a pasted activation request was refused. Each message says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// The text does not start with [`ACTIVATION_REQUEST_PREFIX`].
    #[error("This is not a Licentric activation request: a request starts with LICENTRIC-REQ1. Copy the whole request from the machine again.")]
    NotARequest,
    /// The encoded part is not valid base64url of a request's JSON.
    #[error("The activation request is incomplete or damaged. Copy all of it from the machine again, or send the request file instead.")]
    Garbled,
    /// The fingerprint is not 8–255 visible ASCII characters.
    #[error("The request's machine fingerprint is not valid: it must be 8 to 255 visible characters. Create the request again on the machine.")]
    InvalidFingerprint,
    /// The request names both a license key and a license id, or neither.
    #[error("The request must name either a license key or a license id (exactly one). Create the request again with one of them.")]
    KeyOrIdRequired,
    /// The license key is not of the form `PREFIX-XXXX-XXXX-XXXX-XXXX`.
    #[error("The request's license key is not of the form PREFIX-XXXX-XXXX-XXXX-XXXX. Check the key and create the request again.")]
    InvalidLicenseKey,
    /// The license id is empty, too long, or has spaces or control characters.
    #[error("The request's license id is not valid: it must be 1 to 128 visible characters. Check the id and create the request again.")]
    InvalidLicenseId,
    /// The machine name is empty, too long, or has control characters.
    #[error("The request's machine name must be 1 to 255 characters without control characters. Rename the machine in the request and create it again.")]
    InvalidMachineName,
    /// The platform is not one Licentric knows.
    #[error("The request's platform is not one of macos, windows, linux, docker or kubernetes. Create the request again with a supported platform.")]
    UnknownPlatform,
    /// `createdAt` is not an RFC 3339 timestamp.
    #[error("The request's creation time is not a valid timestamp. Create the request again on the machine.")]
    InvalidTimestamp,
}

/// Which license a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseReference {
    /// The license key the customer has (a secret; redacted in `Debug`).
    Key(LicenseKey),
    /// The license's id.
    Id(String),
}

/// A well-formed offline activation request. It cannot exist with invalid content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationRequest {
    fingerprint: String,
    license: LicenseReference,
    machine_name: String,
    platform: Platform,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireRequest {
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    license_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    license_id: Option<String>,
    machine_name: String,
    platform: String,
    created_at: String,
}

fn visible_ascii(text: &str, max: usize, min: usize) -> bool {
    (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

impl ActivationRequest {
    /// A request with checked content. `created_at` is kept to the whole second.
    pub fn new(
        fingerprint: &str,
        license: LicenseReference,
        machine_name: &str,
        platform: Platform,
        created_at: DateTime<Utc>,
    ) -> Result<Self, RequestRefusal> {
        if !visible_ascii(fingerprint, 255, 8) {
            return Err(RequestRefusal::InvalidFingerprint);
        }
        if let LicenseReference::Id(id) = &license {
            if !visible_ascii(id, 128, 1) {
                return Err(RequestRefusal::InvalidLicenseId);
            }
        }
        let name_length = machine_name.chars().count();
        if !(1..=255).contains(&name_length) || machine_name.chars().any(char::is_control) {
            return Err(RequestRefusal::InvalidMachineName);
        }
        let created_at = DateTime::from_timestamp(created_at.timestamp(), 0)
            .ok_or(RequestRefusal::InvalidTimestamp)?;
        Ok(Self {
            fingerprint: fingerprint.to_owned(),
            license,
            machine_name: machine_name.to_owned(),
            platform,
            created_at,
        })
    }

    /// Reads a request as pasted: whitespace anywhere is ignored, everything else is
    /// checked as [`Self::new`] checks it.
    pub fn parse(text: &str) -> Result<Self, RequestRefusal> {
        if text.len() > MAX_TEXT_LEN {
            return Err(RequestRefusal::Garbled);
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let encoded = compact
            .strip_prefix(ACTIVATION_REQUEST_PREFIX)
            .ok_or(RequestRefusal::NotARequest)?;
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| RequestRefusal::Garbled)?;
        let wire: WireRequest =
            serde_json::from_slice(&json).map_err(|_| RequestRefusal::Garbled)?;
        let license = match (wire.license_key, wire.license_id) {
            (Some(key), None) => {
                let parsed =
                    LicenseKey::parse(&key).map_err(|_| RequestRefusal::InvalidLicenseKey)?;
                // Strict about content: the machine writes the canonical spelling.
                if parsed.as_str() != key {
                    return Err(RequestRefusal::InvalidLicenseKey);
                }
                LicenseReference::Key(parsed)
            }
            (None, Some(id)) => LicenseReference::Id(id),
            _ => return Err(RequestRefusal::KeyOrIdRequired),
        };
        let platform = Platform::parse(&wire.platform).ok_or(RequestRefusal::UnknownPlatform)?;
        let created_at = DateTime::parse_from_rfc3339(&wire.created_at)
            .map_err(|_| RequestRefusal::InvalidTimestamp)?
            .with_timezone(&Utc);
        Self::new(
            &wire.fingerprint,
            license,
            &wire.machine_name,
            platform,
            created_at,
        )
    }

    /// The request as one line of text, for copying, a QR code or a file.
    pub fn to_text(&self) -> String {
        let (license_key, license_id) = match &self.license {
            LicenseReference::Key(key) => (Some(key.as_str().to_owned()), None),
            LicenseReference::Id(id) => (None, Some(id.clone())),
        };
        let wire = WireRequest {
            fingerprint: self.fingerprint.clone(),
            license_key,
            license_id,
            machine_name: self.machine_name.clone(),
            platform: self.platform.as_str().to_owned(),
            created_at: self.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        // Serialising a struct of strings cannot fail; an empty body would be refused
        // by `parse` rather than misread.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        format!(
            "{ACTIVATION_REQUEST_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(json)
        )
    }

    /// The machine's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The license the request is about.
    pub fn license(&self) -> &LicenseReference {
        &self.license
    }

    /// The machine's name.
    pub fn machine_name(&self) -> &str {
        &self.machine_name
    }

    /// The machine's platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// When the machine made the request (by its own clock, so only a hint).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

impl fmt::Display for ActivationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::{at, FP};

    fn by_key() -> ActivationRequest {
        ActivationRequest::new(
            FP,
            LicenseReference::Key(LicenseKey::parse("PROAPP-A1B2-C3D4-E5F6-G7H8").unwrap()),
            "Render node 07 (lab B)",
            Platform::Linux,
            at("2026-01-15T09:12:45Z"),
        )
        .unwrap()
    }

    fn encode(json: &str) -> String {
        format!(
            "{ACTIVATION_REQUEST_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(json)
        )
    }

    #[test]
    fn round_trips_by_key_and_by_id() {
        let request = by_key();
        assert_eq!(
            ActivationRequest::parse(&request.to_text()),
            Ok(request.clone())
        );
        assert_eq!(request.to_string(), request.to_text());

        let by_id = ActivationRequest::new(
            "0123456789abcdef",
            LicenseReference::Id("lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into()),
            "Müller's Mac",
            Platform::Macos,
            at("2026-01-15T09:12:45Z"),
        )
        .unwrap();
        let parsed = ActivationRequest::parse(&by_id.to_text()).unwrap();
        assert_eq!(parsed, by_id);
        assert_eq!(parsed.machine_name(), "Müller's Mac");
        assert_eq!(parsed.platform(), Platform::Macos);
        assert_eq!(parsed.fingerprint(), "0123456789abcdef");
        assert_eq!(
            parsed.license(),
            &LicenseReference::Id("lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into())
        );
        assert_eq!(parsed.created_at(), at("2026-01-15T09:12:45Z"));
    }

    #[test]
    fn the_text_is_the_documented_json_and_small() {
        let text = by_key().to_text();
        let json = URL_SAFE_NO_PAD
            .decode(text.strip_prefix(ACTIVATION_REQUEST_PREFIX).unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            format!(
                r#"{{"fingerprint":"{FP}","licenseKey":"PROAPP-A1B2-C3D4-E5F6-G7H8","machineName":"Render node 07 (lab B)","platform":"linux","createdAt":"2026-01-15T09:12:45Z"}}"#
            )
        );
        assert!(text.len() < 400, "{} characters", text.len());
        // Worst realistic case: 255-character fingerprint and machine name.
        let big = ActivationRequest::new(
            &"f".repeat(255),
            LicenseReference::Id("lic_01JH8Q3Z5N6P7R8S9T0V1W2X3Y".into()),
            &"n".repeat(255),
            Platform::Kubernetes,
            at("2026-01-15T09:12:45Z"),
        )
        .unwrap();
        assert!(big.to_text().len() < 1024, "{}", big.to_text().len());
    }

    #[test]
    fn line_breaks_and_spaces_from_mail_programs_are_forgiven() {
        let text = by_key().to_text();
        let mangled: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let extra = if i > 0 && i % 40 == 0 { "\r\n  " } else { "" };
                extra.chars().chain(std::iter::once(c))
            })
            .collect();
        assert_eq!(
            ActivationRequest::parse(&format!("\n\t {mangled} \n\n")),
            Ok(by_key())
        );
    }

    #[test]
    fn content_is_checked_strictly() {
        let ok_key = r#""licenseKey":"PROAPP-A1B2-C3D4-E5F6-G7H8""#;
        let request = |fp: &str, license: &str, name: &str, platform: &str, created: &str| {
            let mut fields = vec![format!(r#""fingerprint":"{fp}""#)];
            if !license.is_empty() {
                fields.push(license.to_owned());
            }
            fields.push(format!(r#""machineName":"{name}""#));
            fields.push(format!(r#""platform":"{platform}""#));
            fields.push(format!(r#""createdAt":"{created}""#));
            encode(&format!("{{{}}}", fields.join(",")))
        };
        let good = "2026-01-15T09:12:45Z";
        assert!(ActivationRequest::parse(&request(FP, ok_key, "n", "docker", good)).is_ok());
        let cases = [
            (
                request("1234567", ok_key, "n", "linux", good),
                RequestRefusal::InvalidFingerprint,
            ),
            (
                request("1234 5678", ok_key, "n", "linux", good),
                RequestRefusal::InvalidFingerprint,
            ),
            (
                request(FP, "", "n", "linux", good),
                RequestRefusal::KeyOrIdRequired,
            ),
            (
                request(
                    FP,
                    &format!(r#"{ok_key},"licenseId":"lic_1""#),
                    "n",
                    "linux",
                    good,
                ),
                RequestRefusal::KeyOrIdRequired,
            ),
            (
                request(FP, r#""licenseKey":"PROAPP-A1B2""#, "n", "linux", good),
                RequestRefusal::InvalidLicenseKey,
            ),
            (
                request(
                    FP,
                    r#""licenseKey":"proapp-a1b2-c3d4-e5f6-g7h8""#,
                    "n",
                    "linux",
                    good,
                ),
                RequestRefusal::InvalidLicenseKey,
            ),
            (
                request(FP, r#""licenseId":"""#, "n", "linux", good),
                RequestRefusal::InvalidLicenseId,
            ),
            (
                request(FP, ok_key, "", "linux", good),
                RequestRefusal::InvalidMachineName,
            ),
            (
                request(FP, ok_key, "a\\u0007b", "linux", good),
                RequestRefusal::InvalidMachineName,
            ),
            (
                request(FP, ok_key, "n", "solaris", good),
                RequestRefusal::UnknownPlatform,
            ),
            (
                request(FP, ok_key, "n", "Linux", good),
                RequestRefusal::UnknownPlatform,
            ),
            (
                request(FP, ok_key, "n", "linux", "yesterday"),
                RequestRefusal::InvalidTimestamp,
            ),
            (
                request(FP, ok_key, "n", "linux", "2026-02-30T00:00:00Z"),
                RequestRefusal::InvalidTimestamp,
            ),
            (encode(r#"{"fingerprint":"x"}"#), RequestRefusal::Garbled),
            (encode("not json"), RequestRefusal::Garbled),
            (
                request(FP, &format!(r#"{ok_key},"admin":true"#), "n", "linux", good),
                RequestRefusal::Garbled,
            ),
            (format!("{}=", by_key().to_text()), RequestRefusal::Garbled),
            (format!("{}!", by_key().to_text()), RequestRefusal::Garbled),
            (
                ACTIVATION_REQUEST_PREFIX.to_owned(),
                RequestRefusal::Garbled,
            ),
            ("LICENTRIC-REQ2.e30".to_owned(), RequestRefusal::NotARequest),
            ("licentric-req1.e30".to_owned(), RequestRefusal::NotARequest),
            (String::new(), RequestRefusal::NotARequest),
            ("x".repeat(MAX_TEXT_LEN + 1), RequestRefusal::Garbled),
        ];
        for (text, refusal) in cases {
            assert_eq!(ActivationRequest::parse(&text), Err(refusal), "{text}");
        }
    }

    #[test]
    fn construction_applies_the_same_rules() {
        let key =
            || LicenseReference::Key(LicenseKey::parse("PROAPP-A1B2-C3D4-E5F6-G7H8").unwrap());
        let now = at("2026-01-15T09:12:45Z");
        assert_eq!(
            ActivationRequest::new("short", key(), "n", Platform::Linux, now),
            Err(RequestRefusal::InvalidFingerprint)
        );
        assert_eq!(
            ActivationRequest::new(FP, key(), &"n".repeat(256), Platform::Linux, now),
            Err(RequestRefusal::InvalidMachineName)
        );
        assert_eq!(
            ActivationRequest::new(
                FP,
                LicenseReference::Id("a b".into()),
                "n",
                Platform::Linux,
                now
            ),
            Err(RequestRefusal::InvalidLicenseId)
        );
        let precise = now + chrono::Duration::milliseconds(999);
        let request = ActivationRequest::new(FP, key(), "n", Platform::Linux, precise).unwrap();
        assert_eq!(request.created_at(), now);
    }

    #[test]
    fn debug_does_not_show_the_license_key() {
        let debug = format!("{:?}", by_key());
        assert!(!debug.contains("A1B2"), "{debug}");
        assert!(debug.contains("G7H8"), "{debug}");
    }
}

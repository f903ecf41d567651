//! The support desk's decisions: what a customer's offline activation request asks for,
//! and every problem with it named before a license file is issued. Pure functions over
//! facts the commands fetched (`commands/console/support.rs`), so each rule is tested
//! without a server; the server checks everything again when it issues.
//!
//! Also here: reading a request out of whatever the customer sent — the text, the
//! request file, or a photo or screenshot of its QR code (decoded with `rqrr`).

use chrono::{DateTime, Utc};
use licentric_core::{
    wire::{License, Machine, Platform},
    ActivationRequest, LicenseReference, LicenseStatus, RequestRefusal, ACTIVATION_REQUEST_PREFIX,
};
use serde::Serialize;

/// What a request asks for, as the support agent reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct RequestAsks {
    /// The license key the customer typed, when the request names the license by key.
    pub license_key: Option<String>,
    /// The license id, when the request names the license by id.
    pub license_id: Option<String>,
    /// The machine's name.
    pub machine_name: String,
    /// The machine's platform.
    pub platform: Platform,
    /// The machine's fingerprint: the file will be bound to it.
    pub fingerprint: String,
    /// When the machine made the request (its own clock).
    pub created_at: DateTime<Utc>,
}

impl RequestAsks {
    /// The facts of a well-formed request.
    pub fn of(request: &ActivationRequest) -> Self {
        let (license_key, license_id) = match request.license() {
            LicenseReference::Key(key) => (Some(key.as_str().to_owned()), None),
            LicenseReference::Id(id) => (None, Some(id.clone())),
        };
        Self {
            license_key,
            license_id,
            machine_name: request.machine_name().to_owned(),
            platform: request.platform(),
            fingerprint: request.fingerprint().to_owned(),
            created_at: request.created_at(),
        }
    }
}

/// Which problem a request has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum ProblemCode {
    /// Not a request, or damaged or cut short on the way.
    Malformed,
    /// No license with that key or id in this account and environment.
    UnknownLicense,
    /// The license is for another product than the one support chose.
    WrongProduct,
    /// The license is suspended.
    LicenseSuspended,
    /// The license has expired.
    LicenseExpired,
    /// The license is revoked.
    LicenseRevoked,
    /// The license is banned.
    LicenseBanned,
    /// Every machine slot of the license is taken.
    MachineLimitReached,
    /// The machine is already activated on the license (issuing again is fine).
    AlreadyActivated,
}

/// One thing support should know before issuing, in plain words with what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Problem {
    /// Which problem, for the UI to branch on (e.g. offer to free a slot).
    pub code: ProblemCode,
    /// Whether it stops a file from being issued (else it is a note).
    pub blocking: bool,
    /// A short heading.
    pub title: String,
    /// What it means and what to do.
    pub message: String,
}

impl Problem {
    fn blocking(code: ProblemCode, title: &str, message: String) -> Self {
        Self {
            code,
            blocking: true,
            title: title.to_owned(),
            message,
        }
    }
}

/// What the server knows of the license a request names.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The license, when it exists in this account and environment.
    pub license: Option<License>,
    /// Its product's name.
    pub product_name: Option<String>,
    /// The machines activated on it.
    pub machines: Vec<Machine>,
}

/// A request read and checked: what it asks for, the license it names, and its problems.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct RequestReview {
    /// The request as read, whitespace removed: what "Issue" sends.
    pub text: String,
    /// What it asks for; `null` when it cannot be read.
    pub asks: Option<RequestAsks>,
    /// The license it names, when found.
    pub license: Option<License>,
    /// The license's product name.
    pub product_name: Option<String>,
    /// The license's machines (to free a slot).
    pub machines: Vec<Machine>,
    /// Everything support should know, blocking problems first.
    pub problems: Vec<Problem>,
    /// No blocking problem: a file can be issued.
    pub can_issue: bool,
    /// The machine is already on the license: issuing gives it a fresh file, no new seat.
    pub already_activated: bool,
}

/// Whitespace from mail programs and chat windows removed, as the parser forgives it.
pub fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A request that cannot be read: the parser's reason, and nothing to look up.
pub fn malformed(text: &str, refusal: RequestRefusal) -> RequestReview {
    let title = match refusal {
        RequestRefusal::NotARequest => "Not an activation request",
        // Cut off by a chat window or a copy that missed the end, mostly.
        RequestRefusal::Garbled => "The request is cut short or damaged",
        _ => "The request's content is invalid",
    };
    RequestReview {
        text: compact(text),
        asks: None,
        license: None,
        product_name: None,
        machines: Vec::new(),
        problems: vec![Problem::blocking(
            ProblemCode::Malformed,
            title,
            refusal.to_string(),
        )],
        can_issue: false,
        already_activated: false,
    }
}

/// Checks a well-formed request against what the server knows, as the server will when
/// it issues: the license exists (and is for `product_id`, when support chose one), can
/// take machines, and has a free slot unless the machine is already on it.
pub fn review(
    request: &ActivationRequest,
    found: Found,
    product_id: Option<&str>,
    now: DateTime<Utc>,
) -> RequestReview {
    let asks = RequestAsks::of(request);
    let mut problems = Vec::new();
    let mut already_activated = false;
    match &found.license {
        None => problems.push(Problem::blocking(
            ProblemCode::UnknownLicense,
            "Unknown license",
            match &asks.license_key {
                Some(key) => format!(
                    "No license with the key {key} exists on this server in this environment. Check the key with the customer (a typo, or a key of another vendor), and that this console uses the right connection (live or test)."
                ),
                None => format!(
                    "No license with the id {} exists on this server in this environment. Check the id with the customer, and that this console uses the right connection (live or test).",
                    asks.license_id.as_deref().unwrap_or_default()
                ),
            },
        )),
        Some(license) => {
            let product = found.product_name.as_deref().unwrap_or("another product");
            if product_id.is_some_and(|chosen| chosen != license.product_id) {
                problems.push(Problem::blocking(
                    ProblemCode::WrongProduct,
                    "Wrong product",
                    format!(
                        "This license is for {product}, not the product chosen above. Ask the customer which application they are activating: a file for {product} will not unlock another one. If it is {product}, choose it (or Any product) above."
                    ),
                ));
            }
            if let Some(problem) = unusable(license, now) {
                problems.push(problem);
            }
            let on_license = found
                .machines
                .iter()
                .find(|m| m.fingerprint == asks.fingerprint);
            if let Some(machine) = on_license {
                already_activated = true;
                problems.push(Problem {
                    code: ProblemCode::AlreadyActivated,
                    blocking: false,
                    title: "Already activated".into(),
                    message: format!(
                        "This machine{} has been activated on the license since {}. Issuing again gives it a fresh license file and takes no extra seat.",
                        machine
                            .name
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        machine.created_at.format("%Y-%m-%d")
                    ),
                });
            } else if let Some(max) = license.max_machines {
                if license.machines_count >= max {
                    problems.push(Problem::blocking(
                        ProblemCode::MachineLimitReached,
                        "Machine limit reached",
                        format!(
                            "All {max} machine {} of this license {} in use. Free one by deactivating a machine the customer no longer uses (below), then check again — or ask the customer which machine to give up.",
                            if max == 1 { "slot" } else { "slots" },
                            if max == 1 { "is" } else { "are" },
                        ),
                    ));
                }
            }
        }
    }
    // Blocking problems first, in the order found; notes after.
    problems.sort_by_key(|p| !p.blocking);
    let can_issue = !problems.iter().any(|p| p.blocking);
    RequestReview {
        text: request.to_text(),
        asks: Some(asks),
        license: found.license,
        product_name: found.product_name,
        machines: found.machines,
        problems,
        can_issue,
        already_activated,
    }
}

/// Why a license cannot take machines now, as the server's activation decides it.
fn unusable(license: &License, now: DateTime<Utc>) -> Option<Problem> {
    let (code, title, message) = match license.status {
        LicenseStatus::Active => match license.expires_at {
            Some(expiry) if expiry <= now => (
                ProblemCode::LicenseExpired,
                "License expired",
                format!(
                    "The license expired on {}. Renew it on the license's page if the customer has paid for another term, then check again.",
                    expiry.format("%Y-%m-%d")
                ),
            ),
            _ => return None,
        },
        LicenseStatus::Suspended => (
            ProblemCode::LicenseSuspended,
            "License suspended",
            "The license is suspended, so no file can be issued for it. Find out why (e.g. an unpaid invoice); reinstate it on the license's page if the customer is entitled to it, then check again.".to_owned(),
        ),
        LicenseStatus::Revoked => (
            ProblemCode::LicenseRevoked,
            "License revoked",
            "The license has been revoked for good and cannot be activated. If the customer is still entitled to the product, issue them a new license.".to_owned(),
        ),
        LicenseStatus::Banned => (
            ProblemCode::LicenseBanned,
            "License banned",
            "The license is banned for abuse and cannot be activated. Pass the ticket to whoever handles abuse before doing anything else.".to_owned(),
        ),
    };
    Some(Problem::blocking(code, title, message))
}

/// The license file's name for the customer: `<machine>.lic`, readable and safe on every
/// file system.
pub fn license_file_stem(machine_name: &str) -> String {
    let mut slug = String::new();
    for c in machine_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "licentric-license".to_owned()
    } else {
        format!("licentric-license-{slug}")
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum RequestSource {
    /// A text file.
    Text,
    /// A QR code in a picture.
    QrCode,
}

/// A request read out of a file the customer sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ReadRequest {
    /// The request's text.
    pub text: String,
    /// Whether it was text or a QR code.
    pub source: RequestSource,
}

/// Why nothing could be read out of a file; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadRefusal {
    /// Neither text with a request nor a picture.
    #[error("This file is neither an activation request nor a picture of one. Ask the customer for the request file (.txt), its text, or a photo or screenshot of its QR code.")]
    NotARequestOrPicture,
    /// A text file without a request in it.
    #[error("This text does not contain an activation request (it should start with LICENTRIC-REQ1.). Ask the customer to send the request file their app saved, or to copy the whole request.")]
    NoRequestInText,
    /// A picture in which no QR code was found.
    #[error("No QR code was found in this picture. Ask the customer for a sharper photo with the whole code in view, straight on and without glare, or for the request's text instead.")]
    NoQrCode,
    /// A QR code was found but could not be decoded.
    #[error("A QR code is in this picture but it cannot be read (blurred, cut off or too small). Ask the customer for a closer, sharper photo, or for the request's text instead.")]
    UnreadableQrCode,
    /// The QR code holds something else.
    #[error("The QR code in this picture is not an activation request (it reads “{0}”). Ask the customer for the QR code the app shows under Offline activation.")]
    OtherQrCode(String),
}

/// Longest side a picture is scanned at first: phone photos are 4000 px and more, and a
/// QR code on them is large enough to survive the shrinking, at a fraction of the work.
const SCAN_SIDE: u32 = 1600;

/// Reads a request out of a file: its text, or the QR code in a picture of it.
pub fn read_request_file(bytes: &[u8]) -> Result<ReadRequest, ReadRefusal> {
    if let Ok(format) = image::guess_format(bytes) {
        let picture = image::load_from_memory_with_format(bytes, format)
            .map_err(|_| ReadRefusal::NotARequestOrPicture)?;
        return read_qr_code(&picture.to_luma8()).map(|text| ReadRequest {
            text,
            source: RequestSource::QrCode,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ReadRefusal::NotARequestOrPicture)?;
    request_in_text(text)
        .map(|text| ReadRequest {
            text,
            source: RequestSource::Text,
        })
        .ok_or(ReadRefusal::NoRequestInText)
}

/// The request inside a text (an e-mail saved as a file, a ticket): from its prefix to
/// a blank line or the first character that cannot be part of it; single line breaks
/// inside are kept for the parser to forgive.
fn request_in_text(text: &str) -> Option<String> {
    let start = text.find(ACTIVATION_REQUEST_PREFIX)?;
    let rest = &text[start..];
    let mut end = rest.len();
    let mut newlines = 0;
    for (i, c) in rest.char_indices() {
        if c == '\n' {
            newlines += 1;
            if newlines == 2 {
                end = i;
                break;
            }
        } else if c.is_ascii_alphanumeric() || "-_.".contains(c) {
            newlines = 0;
        } else if !c.is_whitespace() {
            end = i;
            break;
        }
    }
    Some(rest[..end].trim().to_owned())
}

/// Decodes the QR code in a grey picture: shrunk first, then at full size, then inverted
/// (a code shown in a dark theme).
pub fn read_qr_code(picture: &image::GrayImage) -> Result<String, ReadRefusal> {
    let (width, height) = picture.dimensions();
    let mut attempts = Vec::new();
    if width.max(height) > SCAN_SIDE {
        attempts.push(image::imageops::resize(
            picture,
            width * SCAN_SIDE / width.max(height),
            height * SCAN_SIDE / width.max(height),
            image::imageops::FilterType::Triangle,
        ));
    }
    attempts.push(picture.clone());
    let mut inverted = picture.clone();
    image::imageops::invert(&mut inverted);
    attempts.push(inverted);

    let mut outcome = ReadRefusal::NoQrCode;
    for attempt in attempts {
        let mut prepared = rqrr::PreparedImage::prepare(attempt);
        for grid in prepared.detect_grids() {
            match grid.decode() {
                Ok((_, content)) if compact(&content).starts_with(ACTIVATION_REQUEST_PREFIX) => {
                    return Ok(content.trim().to_owned())
                }
                Ok((_, content)) => {
                    let shown: String = content.chars().take(60).collect();
                    outcome = ReadRefusal::OtherQrCode(shown);
                }
                Err(_) => {
                    if outcome == ReadRefusal::NoQrCode {
                        outcome = ReadRefusal::UnreadableQrCode;
                    }
                }
            }
        }
    }
    Err(outcome)
}

#[cfg(test)]
mod tests {
    use licentric_core::{wire::HeartbeatStatus, LicenseKey};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    const FP: &str = "fp-0123456789abcdef";
    const KEY: &str = "PROAPP-A1B2-C3D4-E5F6-G7H8";

    fn request() -> ActivationRequest {
        ActivationRequest::new(
            FP,
            LicenseReference::Key(LicenseKey::parse(KEY).unwrap()),
            "Render node 07",
            Platform::Linux,
            at("2026-03-01T09:00:00Z"),
        )
        .unwrap()
    }

    fn license(status: LicenseStatus, max: Option<u32>, used: u32) -> License {
        License {
            id: "lic_1".into(),
            key: KEY.into(),
            name: Some("Acme GmbH".into()),
            product_id: "prod_1".into(),
            policy_id: "pol_1".into(),
            status,
            expires_at: Some(at("2027-01-01T00:00:00Z")),
            uses: 0,
            max_uses: None,
            max_machines: max,
            machines_count: used,
            entitlements: vec![],
            metadata: serde_json::json!({}),
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
        }
    }

    fn machine(fingerprint: &str, name: &str) -> Machine {
        Machine {
            id: format!("m-{fingerprint}"),
            license_id: "lic_1".into(),
            fingerprint: fingerprint.into(),
            name: Some(name.into()),
            platform: Some(Platform::Windows),
            heartbeat_status: HeartbeatStatus::NotStarted,
            last_heartbeat_at: None,
            heartbeat_due_at: None,
            created_at: at("2026-02-01T00:00:00Z"),
            updated_at: at("2026-02-01T00:00:00Z"),
            token: None,
        }
    }

    fn found(license: License, machines: Vec<Machine>) -> Found {
        Found {
            license: Some(license),
            product_name: Some("Pro App".into()),
            machines,
        }
    }

    fn now() -> DateTime<Utc> {
        at("2026-03-01T10:00:00Z")
    }

    fn codes(review: &RequestReview) -> Vec<ProblemCode> {
        review.problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn a_good_request_shows_what_it_asks_and_can_be_issued() {
        let review = review(
            &request(),
            found(
                license(LicenseStatus::Active, Some(3), 1),
                vec![machine("other-fp-1", "Laptop")],
            ),
            Some("prod_1"),
            now(),
        );
        assert!(review.problems.is_empty(), "{:?}", review.problems);
        assert!(review.can_issue && !review.already_activated);
        let asks = review.asks.unwrap();
        assert_eq!(asks.license_key.as_deref(), Some(KEY));
        assert_eq!(asks.license_id, None);
        assert_eq!(asks.machine_name, "Render node 07");
        assert_eq!(asks.platform, Platform::Linux);
        assert_eq!(asks.fingerprint, FP);
        assert_eq!(review.text, request().to_text());
        assert_eq!(review.product_name.as_deref(), Some("Pro App"));
    }

    #[test]
    fn an_unknown_license_is_named_with_the_key_to_check() {
        let review = review(&request(), Found::default(), None, now());
        assert_eq!(codes(&review), [ProblemCode::UnknownLicense]);
        assert!(!review.can_issue);
        assert!(review.problems[0].message.contains(KEY));
        assert!(review.problems[0].message.contains("live or test"));
    }

    #[test]
    fn a_license_of_another_product_is_named() {
        let review = review(
            &request(),
            found(license(LicenseStatus::Active, Some(3), 0), vec![]),
            Some("prod_other"),
            now(),
        );
        assert_eq!(codes(&review), [ProblemCode::WrongProduct]);
        assert!(!review.can_issue);
        assert!(review.problems[0].message.contains("Pro App"));
    }

    #[test]
    fn licenses_that_cannot_take_machines_are_named_with_what_to_do() {
        for (status, code, says) in [
            (
                LicenseStatus::Suspended,
                ProblemCode::LicenseSuspended,
                "reinstate",
            ),
            (
                LicenseStatus::Revoked,
                ProblemCode::LicenseRevoked,
                "new license",
            ),
            (LicenseStatus::Banned, ProblemCode::LicenseBanned, "abuse"),
        ] {
            let review = review(
                &request(),
                found(license(status, Some(3), 0), vec![]),
                None,
                now(),
            );
            assert_eq!(codes(&review), [code]);
            assert!(!review.can_issue);
            assert!(
                review.problems[0].message.contains(says),
                "{}",
                review.problems[0].message
            );
        }
        let mut expired = license(LicenseStatus::Active, Some(3), 0);
        expired.expires_at = Some(at("2026-02-28T00:00:00Z"));
        let review = review(&request(), found(expired, vec![]), None, now());
        assert_eq!(codes(&review), [ProblemCode::LicenseExpired]);
        assert!(review.problems[0].message.contains("2026-02-28"));
        // Perpetual licenses never expire.
        let mut perpetual = license(LicenseStatus::Active, Some(3), 0);
        perpetual.expires_at = None;
        assert!(super::review(&request(), found(perpetual, vec![]), None, now()).can_issue);
    }

    #[test]
    fn a_full_license_is_named_and_offers_to_free_a_slot() {
        let machines = vec![
            machine("other-fp-1", "Old laptop"),
            machine("other-fp-2", "Desk PC"),
        ];
        let review = review(
            &request(),
            found(license(LicenseStatus::Active, Some(2), 2), machines),
            None,
            now(),
        );
        assert_eq!(codes(&review), [ProblemCode::MachineLimitReached]);
        assert!(!review.can_issue);
        assert!(review.problems[0].message.contains("All 2 machine slots"));
        assert_eq!(review.machines.len(), 2, "the machines to free a slot from");
        // Unlimited licenses are never full.
        let unlimited = super::review(
            &request(),
            found(license(LicenseStatus::Active, None, 500), vec![]),
            None,
            now(),
        );
        assert!(unlimited.can_issue);
    }

    #[test]
    fn a_machine_already_on_the_license_may_be_issued_again_and_is_told_so() {
        let machines = vec![
            machine(FP, "Render node 07"),
            machine("other-fp-2", "Desk PC"),
        ];
        let review = review(
            &request(),
            found(license(LicenseStatus::Active, Some(2), 2), machines),
            None,
            now(),
        );
        assert_eq!(codes(&review), [ProblemCode::AlreadyActivated]);
        assert!(!review.problems[0].blocking);
        assert!(review.can_issue && review.already_activated);
        assert!(review.problems[0].message.contains("no extra seat"));
    }

    #[test]
    fn blocking_problems_come_before_notes_and_status_beats_an_earlier_activation() {
        // The server refuses a suspended license even for a machine already on it.
        let review = review(
            &request(),
            found(
                license(LicenseStatus::Suspended, Some(1), 1),
                vec![machine(FP, "Render node 07")],
            ),
            Some("prod_2"),
            now(),
        );
        assert_eq!(
            codes(&review),
            [
                ProblemCode::WrongProduct,
                ProblemCode::LicenseSuspended,
                ProblemCode::AlreadyActivated
            ]
        );
        assert!(!review.can_issue);
    }

    #[test]
    fn a_malformed_or_truncated_request_gives_the_parsers_reason() {
        let text = request().to_text();
        for cut in [30, text.len() / 2, text.len() - 3] {
            let refusal = ActivationRequest::parse(&text[..cut]).unwrap_err();
            let review = malformed(&text[..cut], refusal);
            assert_eq!(codes(&review), [ProblemCode::Malformed]);
            assert_eq!(
                review.problems[0].title,
                "The request is cut short or damaged"
            );
            assert!(review.problems[0].message.contains("Copy all of it"));
            assert!(!review.can_issue && review.asks.is_none());
        }

        let review = malformed("hello", ActivationRequest::parse("hello").unwrap_err());
        assert_eq!(review.problems[0].title, "Not an activation request");
        assert!(review.problems[0].message.contains("LICENTRIC-REQ1."));

        let review = malformed("x", RequestRefusal::UnknownPlatform);
        assert_eq!(review.problems[0].title, "The request's content is invalid");
        assert!(review.problems[0].message.contains("platform"));
    }

    #[test]
    fn the_ui_receives_problems_as_pinned_json() {
        let review = review(
            &request(),
            found(license(LicenseStatus::Active, Some(1), 1), vec![]),
            None,
            now(),
        );
        let json = serde_json::to_value(&review).unwrap();
        assert_eq!(json["canIssue"], false);
        assert_eq!(json["alreadyActivated"], false);
        assert_eq!(json["asks"]["machineName"], "Render node 07");
        assert_eq!(json["asks"]["platform"], "linux");
        assert_eq!(json["asks"]["licenseKey"], KEY);
        assert_eq!(json["asks"]["licenseId"], serde_json::Value::Null);
        assert_eq!(json["problems"][0]["code"], "machine_limit_reached");
        assert_eq!(json["problems"][0]["blocking"], true);
        assert_eq!(json["problems"][0]["title"], "Machine limit reached");
        assert!(json["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("All 1 machine slot of this license is in use"));
        assert_eq!(
            serde_json::to_value(RequestSource::QrCode).unwrap(),
            "qr_code"
        );
    }

    #[test]
    fn license_files_are_named_after_the_machine() {
        assert_eq!(
            license_file_stem("Render node 07 (lab B)"),
            "licentric-license-render-node-07-lab-b"
        );
        assert_eq!(
            license_file_stem("Müller's Mac"),
            "licentric-license-m-ller-s-mac"
        );
        assert_eq!(license_file_stem("???"), "licentric-license");
        assert!(license_file_stem(&"x".repeat(300)).len() < 70);
    }

    /// The request as a PNG of its QR code, `scale` pixels per module, on a white margin.
    pub(crate) fn qr_png(text: &str, scale: u32, dark_theme: bool) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let width = code.width() as u32;
        let colors = code.to_colors();
        let side = (width + 8) * scale;
        let (ink, paper) = if dark_theme {
            (230u8, 20u8)
        } else {
            (0u8, 255u8)
        };
        let picture = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / scale) as i64 - 4, (y / scale) as i64 - 4);
            let dark = (0..width as i64).contains(&mx)
                && (0..width as i64).contains(&my)
                && colors[(my * width as i64 + mx) as usize] == qrcode::Color::Dark;
            image::Luma([if dark { ink } else { paper }])
        });
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn a_qr_code_picture_gives_back_the_request() {
        let text = request().to_text();
        let read = read_request_file(&qr_png(&text, 6, false)).unwrap();
        assert_eq!(
            read,
            ReadRequest {
                text: text.clone(),
                source: RequestSource::QrCode
            }
        );
        assert_eq!(ActivationRequest::parse(&read.text).unwrap(), request());
        // A screenshot of the app in its dark theme, and a large photo, too.
        assert_eq!(
            read_request_file(&qr_png(&text, 5, true)).unwrap().text,
            text
        );
        assert_eq!(
            read_request_file(&qr_png(&text, 40, false)).unwrap().text,
            text
        );
    }

    #[test]
    fn pictures_without_a_request_are_refused_with_what_to_ask_for() {
        let blank = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
        let mut png = Vec::new();
        blank
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read_request_file(&png), Err(ReadRefusal::NoQrCode));
        assert_eq!(
            read_request_file(&qr_png("https://example.com/", 6, false)),
            Err(ReadRefusal::OtherQrCode("https://example.com/".into()))
        );
        assert_eq!(
            read_request_file(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
            Err(ReadRefusal::NotARequestOrPicture)
        );
        assert_eq!(
            read_request_file(&[0xff, 0xfe, 0x00, 0x81]),
            Err(ReadRefusal::NotARequestOrPicture)
        );
    }

    #[test]
    fn a_request_file_or_a_mail_with_one_gives_the_request() {
        let text = request().to_text();
        let file = format!("{text}\n");
        assert_eq!(
            read_request_file(file.as_bytes()).unwrap(),
            ReadRequest {
                text: text.clone(),
                source: RequestSource::Text
            }
        );
        let (a, b) = text.split_at(50);
        let mail = format!("Hello support,\n\nhere it is:\n{a}\r\n{b}\n\nThanks, Bob");
        let read = read_request_file(mail.as_bytes()).unwrap();
        assert_eq!(ActivationRequest::parse(&read.text).unwrap(), request());
        assert_eq!(
            read_request_file(b"Dear support, please help"),
            Err(ReadRefusal::NoRequestInText)
        );
    }
}

//! The vendor-console routes through `Licentric` against the real server: search and
//! cursors, bulk issue and bulk actions, CSV import and export, diagnosis, the audit
//! trail and the calling key.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;

use licentric_client::{Download, Error, ListParams};
use licentric_core::{
    wire::{BulkIssue, DiagnoseRequest, LicenseAction, NewApiKey, NewLicense, NewMachine},
    LicenseStatus, ValidationCode,
};
use support::Server;

async fn text(download: Download) -> String {
    String::from_utf8(download.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn licenses_are_found_by_key_fragment_metadata_and_fingerprint() {
    let server = Server::start().await;
    let admin = server.admin();
    let mut metadata = serde_json::Map::new();
    metadata.insert("email".into(), "buyer@example.com".into());
    let bought = admin
        .create_license(&NewLicense {
            policy_id: server.demo.policy_id.clone(),
            name: Some("Buyer".into()),
            key: None,
            expires_at: None,
            metadata: Some(metadata),
            entitlements: vec![],
        })
        .await
        .unwrap();

    let by_email = admin
        .list_licenses(&ListParams::new().search("buyer@example.com"))
        .await
        .unwrap();
    assert_eq!(by_email.total, 1);
    assert_eq!(by_email.data[0].id, bought.id);

    // What a support person reads out over the phone: part of the key, lower case.
    let fragment = bought.key.split('-').nth(2).unwrap().to_lowercase();
    let by_key = admin
        .list_licenses(&ListParams::new().search(fragment))
        .await
        .unwrap();
    assert!(by_key.data.iter().any(|l| l.id == bought.id), "{by_key:?}");

    admin
        .create_machine(&NewMachine {
            fingerprint: "console-fp-0001".into(),
            name: Some("build-box".into()),
            platform: Some("linux".into()),
            license_id: Some(server.demo.license_id.clone()),
        })
        .await
        .unwrap();
    let by_fingerprint = admin
        .list_licenses(&ListParams::new().filter("fingerprint", "console-fp-0001"))
        .await
        .unwrap();
    assert_eq!(by_fingerprint.data.len(), 1);
    assert_eq!(by_fingerprint.data[0].id, server.demo.license_id);

    let machines = admin
        .list_machines(
            &ListParams::new()
                .search("console-fp")
                .filter("platform", "linux")
                .filter("heartbeatStatus", "NOT_STARTED"),
        )
        .await
        .unwrap();
    assert_eq!(machines.total, 1);
    assert_eq!(machines.data[0].fingerprint, "console-fp-0001");

    let misspelt = admin
        .list_licenses(&ListParams::new().filter("fingerprnt", "x"))
        .await
        .unwrap_err();
    assert!(matches!(misspelt, Error::Validation(_)), "{misspelt:?}");
}

#[tokio::test]
async fn bulk_issued_licenses_page_by_cursor_and_export_as_csv() {
    let server = Server::start().await;
    let admin = server.admin();
    let issued = admin
        .bulk_issue_licenses(&BulkIssue {
            policy_id: server.demo.policy_id.clone(),
            count: 50,
            name: Some("Reseller batch".into()),
            metadata: None,
        })
        .await
        .unwrap();
    assert_eq!(issued.len(), 50);
    assert!(issued.iter().all(|l| l.key.starts_with("DEMO-")));

    let mut params = ListParams::new().search("Reseller batch").limit(20);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = admin.list_licenses(&params).await.unwrap();
        assert_eq!(page.total, 50);
        seen.extend(page.data.iter().map(|l| l.id.clone()));
        pages += 1;
        match params.next_page(&page) {
            Some(next) => params = next,
            None => break,
        }
    }
    assert_eq!(pages, 3, "20 + 20 + 10");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 50, "no license twice, none left out");

    let without_keys = text(
        admin
            .export_licenses_csv(&ListParams::new().search("Reseller batch"), false)
            .await
            .unwrap(),
    )
    .await;
    assert!(without_keys.starts_with("id,"), "{without_keys}");
    assert_eq!(without_keys.lines().count(), 51, "a header and 50 rows");
    assert!(issued.iter().all(|l| without_keys.contains(&l.id)));
    assert!(
        !without_keys.contains(&issued[0].key),
        "no keys unless asked"
    );

    let mut export = admin
        .export_licenses_csv(&ListParams::new().search("Reseller batch"), true)
        .await
        .unwrap();
    let mut with_keys = Vec::new();
    while let Some(chunk) = export.chunk().await.unwrap() {
        with_keys.extend_from_slice(&chunk);
    }
    let with_keys = String::from_utf8(with_keys).unwrap();
    assert!(issued.iter().all(|l| with_keys.contains(&l.key)));

    let reader = admin
        .create_api_key(&NewApiKey {
            name: "support".into(),
            scopes: vec!["licenses:read".into(), "machines:read".into()],
        })
        .await
        .unwrap();
    let support = licentric_client::Licentric::builder()
        .base_url(server.url())
        .api_key(reader.key.unwrap())
        .build()
        .unwrap();
    let refused = support
        .export_licenses_csv(&ListParams::new(), true)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Forbidden(_)), "{refused:?}");
    let me = support.current_api_key().await.unwrap();
    assert_eq!(me.name, "support");
    assert_eq!(me.account_id, server.account_id);
    let scopes: Vec<&str> = me.scopes.iter().map(|s| s.as_str()).collect();
    assert_eq!(scopes, ["licenses:read", "machines:read"]);

    admin
        .create_machine(&NewMachine {
            fingerprint: "console-fp-0002".into(),
            name: None,
            platform: Some("macos".into()),
            license_id: Some(issued[0].id.clone()),
        })
        .await
        .unwrap();
    let machines = text(
        support
            .export_machines_csv(&ListParams::new().filter("licenseId", issued[0].id.clone()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(machines.lines().count(), 2, "{machines}");
    assert!(machines.contains("console-fp-0002"));
}

#[tokio::test]
async fn bulk_actions_answer_per_license() {
    let server = Server::start().await;
    let admin = server.admin();
    let issued = admin
        .bulk_issue_licenses(&BulkIssue {
            policy_id: server.demo.policy_id.clone(),
            count: 2,
            name: None,
            metadata: None,
        })
        .await
        .unwrap();
    let results = admin
        .act_on_licenses(
            LicenseAction::Suspend,
            &[&issued[0].id, "no-such-license", &issued[1].id],
        )
        .await
        .unwrap();
    assert_eq!((results.succeeded, results.failed), (2, 1));
    let outcomes: Vec<(&str, &str)> = results
        .results
        .iter()
        .map(|r| (r.id.as_str(), r.result.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (issued[0].id.as_str(), "ok"),
            ("no-such-license", "not_found"),
            (issued[1].id.as_str(), "ok")
        ]
    );
    let suspended = admin.get_license(&issued[1].id).await.unwrap();
    assert_eq!(suspended.status, LicenseStatus::Suspended);

    let empty = admin
        .act_on_licenses(LicenseAction::Renew, &[])
        .await
        .unwrap_err();
    assert!(matches!(empty, Error::Validation(_)), "{empty:?}");
}

#[tokio::test]
async fn an_import_is_checked_by_a_dry_run_then_written() {
    let server = Server::start().await;
    let admin = server.admin();
    let policy = &server.demo.policy_id;
    let bad = format!(
        "key,policy,name,expiry,metadata.email\n\
         ,{policy},Imported one,2027-01-31,one@example.com\n\
         ,no-such-policy,Imported two,,two@example.com\n"
    );
    let report = admin.import_licenses(bad.as_bytes(), true).await.unwrap();
    assert!(report.dry_run);
    assert_eq!((report.rows, report.imported), (2, 0));
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!(report.problems[0].line, 3);
    assert_eq!(report.problems[0].field.as_deref(), Some("policy"));

    let refused = admin.import_licenses(bad.as_bytes(), false).await.unwrap();
    assert_eq!(refused.imported, 0, "a file with a bad row writes nothing");

    let good = bad.replace("no-such-policy", policy);
    let report = admin.import_licenses(good.as_bytes(), false).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!((report.rows, report.imported), (2, 2));
    assert!(report.problems.is_empty());
    let found = admin
        .list_licenses(&ListParams::new().search("two@example.com"))
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.data[0].name.as_deref(), Some("Imported two"));
}

#[tokio::test]
async fn a_suspension_is_diagnosed_and_in_the_audit_trail() {
    let server = Server::start().await;
    let admin = server.admin();
    let id = &server.demo.license_id;

    let healthy = admin
        .diagnose_license(id, &DiagnoseRequest::default())
        .await
        .unwrap();
    assert!(healthy.valid);
    assert_eq!(healthy.code, ValidationCode::Valid);

    let unknown_machine = admin
        .diagnose_license(
            id,
            &DiagnoseRequest {
                fingerprint: Some("never-activated-here".into()),
                entitlements: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(unknown_machine.code, ValidationCode::FingerprintNotFound);

    admin.suspend_license(id).await.unwrap();
    let diagnosis = admin
        .diagnose_license(id, &DiagnoseRequest::default())
        .await
        .unwrap();
    assert!(!diagnosis.valid);
    assert_eq!(diagnosis.code, ValidationCode::Suspended);
    let status = diagnosis
        .checks
        .iter()
        .find(|c| c.check == "status")
        .unwrap();
    assert_eq!(status.passed, Some(false));
    let missing = admin
        .diagnose_license("no-such-license", &DiagnoseRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");

    let events = admin
        .list_events(
            &ListParams::new()
                .filter("resourceType", "license")
                .filter("resourceId", id.clone())
                .filter("action", "license.suspended"),
        )
        .await
        .unwrap();
    assert_eq!(events.total, 1, "{events:?}");
    let event = &events.data[0];
    assert_eq!(event.actor_type, "api_key");
    let me = admin.current_api_key().await.unwrap();
    assert_eq!(event.actor_id.as_deref(), Some(me.id.as_str()));

    // Paging the whole trail by the last id of each page.
    let mut params = ListParams::new().limit(2);
    let mut ids = Vec::new();
    loop {
        let page = admin.list_events(&params).await.unwrap();
        ids.extend(page.data.iter().map(|e| e.id.clone()));
        match page.data.last() {
            Some(last) if page.has_more => params = ListParams::new().limit(2).after(&last.id),
            _ => break,
        }
    }
    assert!(ids.contains(&event.id));
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
}

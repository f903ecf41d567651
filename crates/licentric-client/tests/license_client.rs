//! `LicenseClient` against the real server over HTTP: activation, the machine-slot facts,
//! heartbeats, deactivation, the offline cache and grace period with a simulated clock,
//! a turned-back clock, a damaged cache, and the machine limit.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use licentric_client::{LicenseErrorCode, Standing};
use support::Server;

#[tokio::test]
async fn activate_check_heartbeat_and_deactivate() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;

    assert!(!client.check_license().await);
    assert_eq!(
        client.get_error().unwrap().code,
        LicenseErrorCode::NotActivated
    );

    let info = client
        .activate(&server.demo.license_key.to_lowercase())
        .await
        .unwrap();
    assert_eq!((info.machines_used, info.max_machines), (1, Some(3)));
    assert_eq!(info.status, "active");
    assert_eq!(info.expires_at, Some(server.demo.license_expires_at));

    assert!(client.check_license().await);
    assert_eq!(client.get_error(), None);
    assert_eq!(client.get_status().as_deref(), Some("active"));
    let license = client.get_license_info().unwrap();
    assert_eq!(license.standing, Some(Standing::Online));
    assert_eq!(
        license.license_id.as_deref(),
        Some(server.demo.license_id.as_str())
    );
    assert!(
        license.license_key.unwrap().contains("****"),
        "the key is never shown whole"
    );
    assert!(license.expires_at.unwrap() > server.now());
    assert!(
        std::fs::read_to_string(storage.path().join("license.dat"))
            .unwrap()
            .split('.')
            .count()
            == 3
    );
    let fingerprint = license.fingerprint.unwrap();
    assert_ne!(fingerprint, "machine-a", "the raw machine id is never used");
    assert_eq!(
        fingerprint,
        licentric_core::fingerprint(support::SALT, "machine-a")
    );

    assert!(client.send_heartbeat().await.unwrap());
    let machines = server
        .admin()
        .list_machines(&licentric_client::ListParams::new())
        .await
        .unwrap();
    assert_eq!(machines.total, 1);
    assert!(machines.data[0].last_heartbeat_at.is_some());

    assert!(client.deactivate().await.unwrap());
    assert_eq!(
        server
            .admin()
            .list_machines(&licentric_client::ListParams::new())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(!storage.path().join("license.dat").exists());
    assert!(!client.check_license().await);
    assert_eq!(
        client.get_error().unwrap().code,
        LicenseErrorCode::NotActivated
    );
}

#[tokio::test]
async fn offline_the_cache_then_the_grace_period_then_invalid_token() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    let token_expiry = client.get_license_info().unwrap().expires_at.unwrap();
    let activated_at = server.now();
    server.down().await;

    // Day by day, 30+ simulated days without the server.
    let mut last_licensed_day = None;
    for day in 0..=32 {
        server.clock.set(activated_at + Duration::days(day));
        let licensed = client.check_license().await;
        let info = client.get_license_info().unwrap();
        let now = server.now();
        if now < token_expiry {
            assert!(licensed, "day {day}");
            assert_eq!(info.standing, Some(Standing::Offline), "day {day}");
            assert_eq!(client.get_error(), None);
        } else if now < token_expiry + Duration::days(7) {
            assert!(licensed, "day {day}: grace");
            let error = client.get_error().unwrap();
            assert_eq!(error.code, LicenseErrorCode::Degraded);
            assert_eq!(client.get_status().as_deref(), Some("degraded"));
            assert_eq!(info.standing, Some(Standing::Grace));
            let days_left = (info.grace_ends_at.unwrap() - now).num_days();
            assert!(
                error.message.contains(&format!("{days_left} day")),
                "{}",
                error.message
            );
        } else {
            assert!(!licensed, "day {day}: after grace");
            assert_eq!(
                client.get_error().unwrap().code,
                LicenseErrorCode::InvalidToken
            );
        }
        if licensed {
            last_licensed_day = Some(day);
        }
    }
    // 14 days offline allowed by the demo policy, then 7 days of grace.
    assert_eq!(last_licensed_day, Some(20));

    // Back online, all is well again.
    server.up().await;
    assert!(client.check_license().await);
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::Online)
    );
}

#[tokio::test]
async fn grace_boundaries_are_exact_to_the_second() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    let expiry = client.get_license_info().unwrap().expires_at.unwrap();
    server.down().await;
    for (at, licensed, code) in [
        (expiry - Duration::seconds(1), true, None),
        (expiry, true, Some(LicenseErrorCode::Degraded)),
        (
            expiry + Duration::days(7) - Duration::seconds(1),
            true,
            Some(LicenseErrorCode::Degraded),
        ),
        (
            expiry + Duration::days(7),
            false,
            Some(LicenseErrorCode::InvalidToken),
        ),
    ] {
        server.clock.set(at);
        assert_eq!(client.check_license().await, licensed, "{at}");
        assert_eq!(client.get_error().map(|e| e.code), code, "{at}");
    }
}

#[tokio::test]
async fn a_clock_set_back_is_refused_as_tampering() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    server.down().await;
    server.clock.advance(Duration::days(2));
    assert!(
        client.check_license().await,
        "offline, clock moving forward"
    );
    let last_run = server.now();

    // A day before the last run: the clock was turned back.
    server.clock.set(last_run - Duration::days(1));
    assert!(!client.check_license().await);
    let error = client.get_error().unwrap();
    assert_eq!(error.code, LicenseErrorCode::ClockTampered);
    assert!(error.message.contains("Set the clock"), "{}", error.message);
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::ClockTampered)
    );

    // A few minutes of drift is tolerated, and a corrected clock works again.
    server.clock.set(last_run - Duration::minutes(3));
    assert!(client.check_license().await);
    server.clock.set(last_run + Duration::hours(1));
    assert!(client.check_license().await);
    // Back online, the server's time is trusted again.
    server.up().await;
    assert!(client.check_license().await);
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::Online)
    );
}

#[tokio::test]
async fn a_damaged_cache_is_an_invalid_token_and_reactivation_recovers() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    server.down().await;
    let path = storage.path().join("license.dat");
    let mut token = std::fs::read(&path).unwrap();
    let middle = token.len() / 2;
    token[middle] ^= 0x01;
    std::fs::write(&path, token).unwrap();
    assert!(!client.check_license().await);
    let error = client.get_error().unwrap();
    assert_eq!(error.code, LicenseErrorCode::InvalidToken);
    assert!(
        error.message.contains("activate the license again"),
        "{}",
        error.message
    );

    server.up().await;
    client.activate(&server.demo.license_key).await.unwrap();
    server.down().await;
    assert!(client.check_license().await, "a fresh token was cached");
}

#[tokio::test]
async fn the_machine_limit_is_reported_with_what_to_do() {
    let server = Server::start().await;
    for machine in ["one", "two", "three"] {
        let storage = tempfile::tempdir().unwrap();
        server
            .client(machine, storage.path())
            .await
            .activate(&server.demo.license_key)
            .await
            .unwrap();
    }
    let storage = tempfile::tempdir().unwrap();
    let fourth = server.client("four", storage.path()).await;
    let error = fourth.activate(&server.demo.license_key).await.unwrap_err();
    assert_eq!(error.code, LicenseErrorCode::MachineLimit);
    assert!(error.message.contains("3 of 3"), "{}", error.message);
    assert!(
        !storage.path().join("license.key").exists(),
        "nothing is stored for a refused activation"
    );
}

#[tokio::test]
async fn revocation_and_an_unknown_key_are_reported_and_end_offline_use() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    assert_eq!(
        client
            .activate("DEMO-AAAA-BBBB-CCCC-DDDD")
            .await
            .unwrap_err()
            .code,
        LicenseErrorCode::NotFound
    );
    assert_eq!(
        client.activate("not a key").await.unwrap_err().code,
        LicenseErrorCode::NotFound
    );
    client.activate(&server.demo.license_key).await.unwrap();
    server
        .admin()
        .revoke_license(&server.demo.license_id)
        .await
        .unwrap();
    assert!(!client.check_license().await);
    assert_eq!(client.get_error().unwrap().code, LicenseErrorCode::Revoked);
    assert!(
        !storage.path().join("license.dat").exists(),
        "a revoked license leaves no usable cache"
    );
}

#[tokio::test]
async fn a_culled_machine_is_activated_again_by_its_heartbeat() {
    let server = Server::start().await;
    let admin = server.admin();
    admin
        .update_policy(
            &server.demo.policy_id,
            &licentric_core::wire::PolicyUpdate {
                require_heartbeat: Some(true),
                heartbeat_interval: Some(60),
                cull_dead_machines: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    // The network was down for longer than the interval: the server culled the machine.
    server.clock.advance(Duration::seconds(120));
    assert!(client.send_heartbeat().await.unwrap());
    let machines = admin
        .list_machines(&licentric_client::ListParams::new())
        .await
        .unwrap();
    assert_eq!(machines.total, 1);
    assert_eq!(
        machines.data[0].heartbeat_status,
        licentric_core::wire::HeartbeatStatus::Alive
    );
}

#[tokio::test]
async fn the_heartbeat_loop_survives_an_outage_and_stops_cleanly() {
    let mut server = Server::start().await;
    server
        .admin()
        .update_policy(
            &server.demo.policy_id,
            &licentric_core::wire::PolicyUpdate {
                require_heartbeat: Some(true),
                heartbeat_interval: Some(600),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let storage = tempfile::tempdir().unwrap();
    let client = std::sync::Arc::new(server.client("machine-a", storage.path()).await);
    client.activate(&server.demo.license_key).await.unwrap();
    assert_eq!(
        client.get_license_info().unwrap().heartbeat_interval,
        Some(600)
    );

    let handle = client.start_heartbeat(std::time::Duration::from_millis(100));
    let first = server.now();
    wait_for_beat(&server.admin(), first).await;

    // The server goes away for a while; the loop keeps trying and resumes.
    server.clock.advance(Duration::seconds(10));
    server.down().await;
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    server.up().await;
    wait_for_beat(&server.admin(), first + Duration::seconds(10)).await;

    handle.stop().await;
    server.clock.advance(Duration::seconds(10));
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(
        last_beat(&server.admin()).await,
        Some(first + Duration::seconds(10)),
        "no beats after stop"
    );
    // A later check (the desktop app runs one right after activating) keeps the policy's
    // heartbeat requirement, so the loop can still be started.
    assert!(client.check_license().await);
    assert_eq!(
        client.get_license_info().unwrap().heartbeat_interval,
        Some(600)
    );
    assert!(
        client.start_heartbeat_if_required().is_some(),
        "the policy asks for heartbeats"
    );
}

async fn last_beat(admin: &licentric_client::Licentric) -> Option<chrono::DateTime<chrono::Utc>> {
    let machines = admin
        .list_machines(&licentric_client::ListParams::new())
        .await
        .unwrap();
    machines.data[0].last_heartbeat_at
}

/// Waits (bounded: 10 s) until the machine's last heartbeat is `at`.
async fn wait_for_beat(admin: &licentric_client::Licentric, at: chrono::DateTime<chrono::Utc>) {
    for _ in 0..200 {
        if last_beat(admin).await == Some(at) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no heartbeat at {at}; last: {:?}", last_beat(admin).await);
}

#[tokio::test]
async fn an_imported_license_file_licenses_an_air_gapped_machine_and_a_bad_one_says_why() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("air-gapped", storage.path()).await;
    let fingerprint = client.fingerprint().unwrap();

    // Support turns this machine's request into a file; here, checkout for its fingerprint.
    let file = server
        .admin()
        .checkout(&server.demo.license_id, &fingerprint, None)
        .await
        .unwrap();
    assert_eq!(file.fingerprint, fingerprint);
    let elsewhere_storage = tempfile::tempdir().unwrap();
    let elsewhere = server
        .client("another-machine", elsewhere_storage.path())
        .await;
    server.down().await;

    let tampered = file.certificate.replacen('A', "B", 1);
    let refused = client.import_license_file(&tampered, None).unwrap_err();
    assert_eq!(refused.code, LicenseErrorCode::InvalidToken);
    assert!(!refused.message.is_empty());
    let wrong = elsewhere
        .import_license_file(&file.certificate, None)
        .unwrap_err();
    assert!(
        wrong.message.to_lowercase().contains("machine"),
        "{}",
        wrong.message
    );

    let info = client.import_license_file(&file.certificate, None).unwrap();
    assert_eq!(info.standing, Some(Standing::OfflineFile));
    assert_eq!(
        info.license_id.as_deref(),
        Some(server.demo.license_id.as_str())
    );
    assert!(client.check_license().await, "licensed offline by the file");
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::OfflineFile)
    );

    // Past the file's expiry the machine is no longer licensed, and says why.
    server
        .clock
        .set(info.expires_at.unwrap() + Duration::seconds(1));
    assert!(!client.check_license().await);
    let error = client.get_error().unwrap();
    assert!(
        error.message.contains("passed its own expiry date"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("new offline license file"),
        "{}",
        error.message
    );
}

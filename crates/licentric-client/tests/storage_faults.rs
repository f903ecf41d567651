//! The license client's files when the disk misbehaves (issue 14), each against the real
//! server and a real file system: the storage folder is a small tmpfs mounted for the test
//! (so the test needs root, which the test command has), filled up for "disk full" and
//! remounted read-only for "read-only". A file cut short by a power loss is made by
//! writing half of it, and two processes of one app by two clients on one folder.
//!
//! In each, the app keeps working from its last good copy and says what is wrong; nothing
//! torn is trusted.

#![allow(clippy::unwrap_used)]

mod support;

use std::{path::Path, process::Command};

use licentric_client::{LicenseErrorCode, Standing};
use support::Server;

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cannot mount a tmpfs for the disk-fault tests: they need root (scripts/test runs as root)"
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Fills the file system to the last byte.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path().join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            if let Err(error) = filler.write_all(&chunk) {
                assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
                break;
            }
        }
        let _ = filler.sync_all();
        // Smaller writes fill what is left of the last page.
        while filler.write_all(&[0u8; 64]).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

fn token(storage: &Path) -> String {
    std::fs::read_to_string(storage.join("license.dat")).unwrap()
}

#[tokio::test]
async fn a_full_disk_keeps_the_last_good_token_and_says_so() {
    let mut server = Server::start().await;
    let disk = Tmpfs::mount("512k");
    let storage = disk.path().join("app");
    let client = server.client("machine-a", &storage).await;
    client.activate(&server.demo.license_key).await.unwrap();
    assert!(client.check_license().await);
    let good = token(&storage);

    disk.fill();
    // Online: licensed (the server said so), told that nothing could be saved.
    assert!(client.check_license().await);
    let info = client.get_license_info().unwrap();
    assert_eq!(info.standing, Some(Standing::Online));
    let message = info.message.unwrap();
    assert!(message.contains("is full. Free some space"), "{message}");
    assert!(message.contains("last copy it saved"), "{message}");
    assert_eq!(
        token(&storage),
        good,
        "the failed write left the last good token whole"
    );

    // Offline on the same full disk: the last good token still licenses the machine.
    server.down().await;
    assert!(client.check_license().await, "{:?}", client.get_error());
    let info = client.get_license_info().unwrap();
    assert_eq!(info.standing, Some(Standing::Offline));
    assert!(info.message.unwrap().contains("is full"));

    // Space again: the next check saves, and says nothing more.
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    server.up().await;
    assert!(client.check_license().await);
    let message = client.get_license_info().unwrap().message;
    assert!(
        message
            .as_deref()
            .is_none_or(|m| !m.contains("cannot save")),
        "{message:?}"
    );
}

#[tokio::test]
async fn a_read_only_folder_is_named_and_the_app_works_from_its_cache() {
    let mut server = Server::start().await;
    let disk = Tmpfs::mount("512k");
    let storage = disk.path().join("app");
    let client = server.client("machine-a", &storage).await;
    client.activate(&server.demo.license_key).await.unwrap();
    assert!(client.check_license().await);

    disk.remount("ro");
    assert!(client.check_license().await);
    let message = client.get_license_info().unwrap().message.unwrap();
    assert!(message.contains("read-only file system"), "{message}");

    server.down().await;
    assert!(client.check_license().await, "{:?}", client.get_error());
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::Offline)
    );
    disk.remount("rw");
}

#[tokio::test]
async fn a_token_cut_short_is_never_trusted_and_the_server_replaces_it() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    let whole = token(storage.path());
    std::fs::write(
        storage.path().join("license.dat"),
        &whole.as_bytes()[..whole.len() / 2],
    )
    .unwrap();

    server.down().await;
    assert!(!client.check_license().await);
    let error = client.get_error().unwrap();
    assert_eq!(error.code, LicenseErrorCode::InvalidToken);
    assert!(error.message.contains("damaged"), "{}", error.message);

    server.up().await;
    assert!(client.check_license().await, "{:?}", client.get_error());
    assert_eq!(
        token(storage.path()).split('.').count(),
        3,
        "a whole token again"
    );
    server.down().await;
    assert!(client.check_license().await, "the new token works offline");
}

#[tokio::test]
async fn a_state_file_cut_short_starts_afresh_and_says_so() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client("machine-a", storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    assert!(client.check_license().await);
    let state = std::fs::read_to_string(storage.path().join("state.json")).unwrap();
    std::fs::write(
        storage.path().join("state.json"),
        &state.as_bytes()[..state.len() / 2],
    )
    .unwrap();

    server.down().await;
    assert!(client.check_license().await, "{:?}", client.get_error());
    let message = client.get_license_info().unwrap().message.unwrap();
    assert!(message.contains("was damaged"), "{message}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(storage.path().join("state.json")).unwrap())
            .unwrap();
    assert!(saved.is_object(), "a whole state file was saved again");
}

/// Two processes of one app, modelled as two clients on one folder, checking at once: each
/// stays licensed, and every file left behind is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_on_one_folder_at_once_leave_whole_files() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let first = server.client("machine-a", storage.path()).await;
    let second = server.client("machine-a", storage.path()).await;
    first.activate(&server.demo.license_key).await.unwrap();
    let (first, second) = (std::sync::Arc::new(first), std::sync::Arc::new(second));
    let mut checks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let client = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        checks.spawn(async move { client.check_license().await });
    }
    while let Some(licensed) = checks.join_next().await {
        assert!(licensed.unwrap());
    }
    let names: Vec<String> = std::fs::read_dir(storage.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".tmp")),
        "no temporary file left: {names:?}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(storage.path().join("state.json")).unwrap())
            .unwrap();
    assert!(state["info"].is_object());
    assert_eq!(token(storage.path()).split('.').count(), 3);
    assert!(second.check_license().await);
}

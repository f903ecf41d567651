//! The license key in a real OS keyring: gnome-keyring's Secret Service in a private D-Bus
//! session. `scripts/test` runs this inside `dbus-run-session` after unlocking the
//! daemon; a plain `cargo test` skips it, having no keyring to talk to.

#![allow(clippy::unwrap_used)]

use licentric_client::{
    secrets::{SecretStore, KEY_FILE},
    storage::Storage,
    KeyLocation, KeyStorage,
};

#[test]
#[ignore = "needs a D-Bus session with an unlocked gnome-keyring: run scripts/test"]
fn the_key_is_kept_in_the_keyring_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::locate("Licentric", "keyring-test", Some(dir.path())).unwrap();
    let product = format!("keyring-test-{}", std::process::id());
    let store = SecretStore::new(&product, storage.clone(), KeyStorage::KeyringOnly);
    let key = "DEMO-A2B3-C4D5-E6F7-G8H9";

    assert_eq!(store.save(key).unwrap(), KeyLocation::Keyring);
    assert!(!storage.path(KEY_FILE).exists(), "no copy on disk");
    // Another store (another run of the app) reads it back from the daemon.
    let again = SecretStore::new(&product, storage.clone(), KeyStorage::KeyringOnly);
    assert_eq!(again.load().unwrap().as_deref(), Some(key));

    again.delete().unwrap();
    assert_eq!(store.load().unwrap(), None);
}

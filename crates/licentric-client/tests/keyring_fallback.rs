//! With no keyring reachable the key goes to an owner-only file, and the caller is told so;
//! with the keyring required, saving refuses instead of storing the key nowhere.
//!
//! (Its own test binary, because it points this process's D-Bus address at nothing.)

#![allow(clippy::unwrap_used)]

use licentric_client::{
    secrets::{SecretStore, KEY_FILE},
    storage::Storage,
    KeyLocation, KeyStorage,
};

#[test]
fn without_a_keyring_the_key_falls_back_to_an_owner_only_file_and_says_so() {
    // No Secret Service here: the session bus address leads nowhere.
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/licentric-test-bus",
    );
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::locate("Licentric", "fallback", Some(dir.path())).unwrap();
    let key = "DEMO-A2B3-C4D5-E6F7-G8H9";

    let strict = SecretStore::new("fallback-test", storage.clone(), KeyStorage::KeyringOnly);
    let refused = strict.save(key).unwrap_err();
    assert!(refused.contains("keyring"), "{refused}");
    assert!(
        !storage.path(KEY_FILE).exists(),
        "refused means stored nowhere, visibly"
    );

    let store = SecretStore::new("fallback-test", storage.clone(), KeyStorage::KeyringOrFile);
    let KeyLocation::File {
        path,
        keyring_problem,
    } = store.save(key).unwrap()
    else {
        panic!("expected the file fallback");
    };
    assert_eq!(path, storage.path(KEY_FILE));
    assert!(
        keyring_problem.is_some(),
        "the reason is kept to show the user"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(store.load().unwrap().as_deref(), Some(key));
    store.delete().unwrap();
    assert!(!path.exists());
    assert_eq!(store.load().unwrap(), None);
}

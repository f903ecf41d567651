//! Machine fingerprints: a keyed hash of the OS machine id, never the raw id.
//!
//! `fingerprint = lowercase hex(HMAC-SHA256(key = product salt, message = trim(machine id)))`.
//!
//! Keying by a per-product salt (seed 004's `product_salt`) means two vendors see
//! unrelated fingerprints for the same computer, and a fingerprint cannot be turned back
//! into the machine id by hashing candidate ids without the salt. Trimming makes the
//! result indifferent to the trailing newline of `/etc/machine-id` and to how a platform
//! API pads its answer. Reading the machine id is the SDK's job; this module only hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The fingerprint of `machine_id` for the product whose salt is `product_salt`:
/// 64 lowercase hex digits.
pub fn fingerprint(product_salt: &str, machine_id: &str) -> String {
    // HMAC accepts keys of any length, including empty, so this cannot fail; the
    // fallback only exists because the trait's signature allows an error.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(product_salt.as_bytes()) else {
        return String::new();
    };
    mac.update(machine_id.trim().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    // Pinned against Python's standard library:
    // hmac.new(salt.encode(), machine_id.encode(), hashlib.sha256).hexdigest()
    #[test]
    fn matches_python_hmac_vectors() {
        assert_eq!(
            fingerprint("your-product-salt", "b08dfa6083e7567a1921a715000001fb"),
            "39ef6df96c01d3dc19d3e62039d40604e702eee99fbbdc3a4fba553aed1291dd"
        );
        assert_eq!(
            fingerprint("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        );
        assert_eq!(
            fingerprint("sel-de-produit-é", "machine-ü"),
            "b143999c4038295c92f98533294d418caf0edb1dc99a3a35bafda75e78494426"
        );
    }

    #[test]
    fn surrounding_whitespace_of_the_machine_id_does_not_matter() {
        let plain = fingerprint("salt", "b08dfa6083e7567a1921a715000001fb");
        assert_eq!(
            fingerprint("salt", "b08dfa6083e7567a1921a715000001fb\n"),
            plain
        );
        assert_eq!(
            fingerprint("salt", "  b08dfa6083e7567a1921a715000001fb\r\n"),
            plain
        );
    }

    #[test]
    fn another_product_salt_gives_an_unrelated_fingerprint() {
        let a = fingerprint("product-a", "machine");
        let b = fingerprint("product-b", "machine");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    }
}

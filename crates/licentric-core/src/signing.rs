//! Account signing keys, their public halves, and the key sets clients verify against.
//!
//! Every account has an Ed25519 key pair. The server signs offline license files and
//! validation tokens with the private half; clients hold only public keys, pinned per
//! product as a [`PublicKeySet`]. Each key carries a key id (`kid`) that travels with
//! every signature, so an account can rotate keys while files and tokens signed with the
//! previous key stay verifiable: the set simply holds both ids for a while.
//!
//! A [`PublicKeySet`] serialises as a standard JWKS (RFC 7517, with the OKP key type of
//! RFC 8037), so any JWT library can verify Licentric tokens with it:
//!
//! ```json
//! {"keys":[{"kty":"OKP","crv":"Ed25519","x":"<base64url>","kid":"k1-21fe31df","alg":"EdDSA","use":"sig"}]}
//! ```
//!
//! Private key material never appears in `Debug` output, and there is no `Serialize` for
//! it: storing a private key is a deliberate act ([`AccountSigningKey::to_secret_seed`]).

use std::{collections::BTreeMap, fmt};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// The longest key id accepted. Key ids are written into file headers and JWT headers;
/// a bound keeps both small and stops a hostile file from carrying megabytes in one.
const MAX_KEY_ID_LEN: usize = 64;

/// Whether `kid` is 1–64 characters of `A–Z a–z 0–9 . _ -`.
///
/// The alphabet matters: the `.lic` signature covers `kid + "\n"`, so a key id must never
/// contain a line break, and it appears unescaped in a `Key-Id:` header line.
pub(crate) fn is_valid_key_id(kid: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_key_id(kid: &str) -> Result<(), Error> {
    if is_valid_key_id(kid) {
        Ok(())
    } else {
        Err(Error::InvalidKeyId(kid.to_owned()))
    }
}

/// The key id Licentric derives for a public key: `k1-` and the first 8 hex digits of
/// SHA-256 over the 32 raw public key bytes. (`k1` names this derivation, so a later one
/// cannot collide with it.)
pub fn derive_key_id(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    let mut kid = String::with_capacity(11);
    kid.push_str("k1-");
    for byte in &digest[..4] {
        kid.push_str(&format!("{byte:02x}"));
    }
    kid
}

/// An account's Ed25519 signing key with its key id. Only the server holds one.
#[derive(Clone)]
pub struct AccountSigningKey {
    key_id: String,
    key: SigningKey,
}

impl AccountSigningKey {
    /// A fresh key pair from a cryptographically secure random source, with a derived
    /// key id (see [`derive_key_id`]).
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self::from_signing_key(SigningKey::generate(rng))
    }

    /// The key pair of a stored 32-byte secret seed (RFC 8032's private key), with a
    /// derived key id.
    pub fn from_secret_seed(seed: &[u8; 32]) -> Self {
        Self::from_signing_key(SigningKey::from_bytes(seed))
    }

    fn from_signing_key(key: SigningKey) -> Self {
        let key_id = derive_key_id(key.verifying_key().as_bytes());
        Self { key_id, key }
    }

    /// The same key under a caller-chosen key id, e.g. one the database assigned.
    pub fn with_key_id(self, key_id: &str) -> Result<Self, Error> {
        check_key_id(key_id)?;
        Ok(Self {
            key_id: key_id.to_owned(),
            ..self
        })
    }

    /// The key id written beside every signature this key makes.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half, with the same key id, to hand to clients.
    pub fn public_key(&self) -> AccountPublicKey {
        AccountPublicKey {
            key_id: self.key_id.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The 32-byte secret seed, for storing the key (encrypted) and loading it again with
    /// [`Self::from_secret_seed`]. Handle with care: this is the account's signing secret.
    pub fn to_secret_seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for AccountSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only public facts: a signing key in a log line is a forged license tomorrow.
        f.debug_struct("AccountSigningKey")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key().to_base64url())
            .finish_non_exhaustive()
    }
}

/// An account's Ed25519 public key with its key id: what a client pins.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountPublicKey {
    key_id: String,
    key: VerifyingKey,
}

impl AccountPublicKey {
    /// A public key from its unpadded base64url form (as in a JWK's `x`), under `key_id`.
    ///
    /// Weak (small-order) points are refused: a signature by such a "key" can be valid for
    /// almost any message.
    pub fn from_base64url(key_id: &str, x: &str) -> Result<Self, Error> {
        check_key_id(key_id)?;
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(Error::InvalidPublicKey)?;
        Self::from_bytes(key_id, &bytes)
    }

    /// A public key from its 32 raw bytes, under `key_id`.
    pub fn from_bytes(key_id: &str, bytes: &[u8; 32]) -> Result<Self, Error> {
        check_key_id(key_id)?;
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(Error::InvalidPublicKey);
        }
        Ok(Self {
            key_id: key_id.to_owned(),
            key,
        })
    }

    /// The key id signatures by this key carry.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 32 raw public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The unpadded base64url form, as in a JWK's `x`.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// This key as a JWK.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: Some("Ed25519".to_owned()),
            x: Some(self.to_base64url()),
            kid: Some(self.key_id.clone()),
            alg: Some("EdDSA".to_owned()),
            key_use: Some("sig".to_owned()),
        }
    }

    /// Strict RFC 8032 verification: also refuses non-canonical and small-order `R`, so a
    /// valid signature cannot be altered into another valid one.
    pub(crate) fn verify_strict(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for AccountPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountPublicKey")
            .field("key_id", &self.key_id)
            .field("x", &self.to_base64url())
            .finish()
    }
}

/// The public keys a client accepts signatures from, by key id.
///
/// Holding several keys at once is how rotation works: a new key is added before the
/// server starts signing with it, and the old one is removed once nothing it signed is
/// still in use. Serialises as a JWKS document (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Jwks", into = "Jwks")]
pub struct PublicKeySet {
    keys: BTreeMap<String, AccountPublicKey>,
}

impl PublicKeySet {
    /// An empty set: it verifies nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of the given keys.
    pub fn from_keys(keys: impl IntoIterator<Item = AccountPublicKey>) -> Result<Self, Error> {
        let mut set = Self::new();
        for key in keys {
            set.insert(key)?;
        }
        Ok(set)
    }

    /// Adds a key. Adding the same key twice is harmless; giving one key id to two
    /// different keys is refused, since a signature could then not name its key.
    pub fn insert(&mut self, key: AccountPublicKey) -> Result<(), Error> {
        match self.keys.get(&key.key_id) {
            Some(existing) if existing != &key => Err(Error::DuplicateKeyId(key.key_id)),
            Some(_) => Ok(()),
            None => {
                self.keys.insert(key.key_id.clone(), key);
                Ok(())
            }
        }
    }

    /// Removes the key with this id, returning it.
    pub fn remove(&mut self, key_id: &str) -> Option<AccountPublicKey> {
        self.keys.remove(key_id)
    }

    /// The key with this id, if the set trusts one.
    pub fn get(&self, key_id: &str) -> Option<&AccountPublicKey> {
        self.keys.get(key_id)
    }

    /// The keys, ordered by key id.
    pub fn iter(&self) -> impl Iterator<Item = &AccountPublicKey> {
        self.keys.values()
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The set as a JWKS document.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.iter().map(AccountPublicKey::to_jwk).collect(),
        }
    }

    /// The Ed25519 signing keys of a JWKS document.
    ///
    /// Keys of other types (`kty` other than `OKP`, or a `crv` other than `Ed25519`) are
    /// skipped, as RFC 7517 §5 asks of keys a reader does not understand. An Ed25519 key
    /// that is unusable — no `kid`, a bad `x`, or marked for another `alg` or `use` — is
    /// an error rather than skipped: it was meant to be trusted, and silently dropping it
    /// would surface later as a baffling "unknown key".
    pub fn from_jwks(jwks: &Jwks) -> Result<Self, Error> {
        let mut set = Self::new();
        for jwk in &jwks.keys {
            if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
                continue;
            }
            let kid = jwk
                .kid
                .as_deref()
                .ok_or_else(|| Error::InvalidJwks("an Ed25519 key has no \"kid\"".into()))?;
            if jwk.alg.as_deref().is_some_and(|alg| alg != "EdDSA") {
                return Err(Error::InvalidJwks(format!(
                    "key {kid:?} has \"alg\" other than \"EdDSA\""
                )));
            }
            if jwk
                .key_use
                .as_deref()
                .is_some_and(|key_use| key_use != "sig")
            {
                return Err(Error::InvalidJwks(format!(
                    "key {kid:?} has \"use\" other than \"sig\""
                )));
            }
            let x = jwk
                .x
                .as_deref()
                .ok_or_else(|| Error::InvalidJwks(format!("key {kid:?} has no \"x\"")))?;
            set.insert(AccountPublicKey::from_base64url(kid, x)?)?;
        }
        Ok(set)
    }
}

impl TryFrom<Jwks> for PublicKeySet {
    type Error = Error;
    fn try_from(jwks: Jwks) -> Result<Self, Self::Error> {
        Self::from_jwks(&jwks)
    }
}

impl From<PublicKeySet> for Jwks {
    fn from(set: PublicKeySet) -> Self {
        set.to_jwks()
    }
}

/// A JSON Web Key Set (RFC 7517 §5): `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One JSON Web Key. Only the members an Ed25519 public key uses (RFC 8037 §2) are
/// modelled; other members are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP` for Ed25519.
    pub kty: String,
    /// Curve: `Ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The public key, unpadded base64url of its 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for: `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// What the key is for: `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    /// RFC 8032 §7.1 TEST 1: a published seed, so the public key can be checked by anyone.
    pub(crate) const RFC8032_SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    pub(crate) fn test_key() -> AccountSigningKey {
        AccountSigningKey::from_secret_seed(&RFC8032_SEED)
    }

    pub(crate) fn other_key() -> AccountSigningKey {
        AccountSigningKey::generate(&mut StdRng::seed_from_u64(99))
    }

    #[test]
    fn rfc8032_seed_gives_the_published_public_key_and_signature() {
        let key = test_key();
        let public_hex: String = key
            .public_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            public_hex,
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        // TEST 1 signs the empty message.
        let signature: String = key.sign(b"").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            signature,
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(key.to_secret_seed(), RFC8032_SEED);
    }

    #[test]
    fn key_id_is_derived_from_the_public_key_and_can_be_chosen() {
        let key = test_key();
        assert_eq!(key.key_id(), derive_key_id(key.public_key().as_bytes()));
        assert!(key.key_id().starts_with("k1-"));
        assert_eq!(key.key_id().len(), 11);
        assert_ne!(key.key_id(), other_key().key_id());

        let chosen = test_key().with_key_id("2026-01.primary").unwrap();
        assert_eq!(chosen.key_id(), "2026-01.primary");
        assert_eq!(chosen.public_key().key_id(), "2026-01.primary");
        for bad in [
            "",
            "with space",
            "line\nbreak",
            "colon:",
            "é",
            &"a".repeat(65),
        ] {
            assert_eq!(
                test_key().with_key_id(bad).unwrap_err(),
                Error::InvalidKeyId(bad.to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_shows_no_private_material() {
        let key = test_key();
        let debug = format!("{key:?}");
        let seed_hex: String = RFC8032_SEED.iter().map(|b| format!("{b:02x}")).collect();
        let seed_b64 = URL_SAFE_NO_PAD.encode(RFC8032_SEED);
        assert!(!debug.contains(&seed_hex), "{debug}");
        assert!(!debug.contains(&seed_b64), "{debug}");
        assert!(!debug.to_lowercase().contains("9d61"), "{debug}");
        assert!(debug.contains(key.key_id()), "{debug}");
    }

    #[test]
    fn public_key_round_trips_through_base64url_and_refuses_bad_input() {
        let public = test_key().public_key();
        let x = public.to_base64url();
        assert_eq!(x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(
            AccountPublicKey::from_base64url(public.key_id(), &x).unwrap(),
            public
        );
        let identity = URL_SAFE_NO_PAD.encode({
            let mut bytes = [0u8; 32];
            bytes[0] = 1;
            bytes
        });
        for bad in [
            "",
            "AAAA",
            &format!("{x}="),
            &x.replace('_', "/"),
            &identity,
        ] {
            assert_eq!(
                AccountPublicKey::from_base64url("k", bad),
                Err(Error::InvalidPublicKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jwks_round_trips_and_matches_the_documented_shape() {
        let set =
            PublicKeySet::from_keys([test_key().public_key(), other_key().public_key()]).unwrap();
        let json = serde_json::to_string(&set).unwrap();
        let back: PublicKeySet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);

        let single = PublicKeySet::from_keys([test_key().public_key()]).unwrap();
        assert_eq!(
            serde_json::to_string(&single).unwrap(),
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"{}","alg":"EdDSA","use":"sig"}}]}}"#,
                test_key().key_id()
            )
        );
    }

    #[test]
    fn jwks_reader_skips_foreign_keys_and_refuses_broken_ed25519_keys() {
        let x = test_key().public_key().to_base64url();
        let mixed = format!(
            r#"{{"keys":[
                {{"kty":"RSA","n":"abc","e":"AQAB","kid":"rsa"}},
                {{"kty":"OKP","crv":"X25519","x":"{x}","kid":"dh"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"ed","key_ops":["verify"]}}
            ]}}"#
        );
        let set: PublicKeySet = serde_json::from_str(&mixed).unwrap();
        assert_eq!(set.iter().map(|k| k.key_id()).collect::<Vec<_>>(), ["ed"]);

        for broken in [
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}]}}"#),
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a"}]}"#.to_owned(),
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a","alg":"ES256"}}]}}"#
            ),
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a","use":"enc"}}]}}"#
            ),
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}"#.to_owned(),
        ] {
            assert!(
                serde_json::from_str::<PublicKeySet>(&broken).is_err(),
                "{broken}"
            );
        }
    }

    #[test]
    fn one_key_id_cannot_name_two_keys_but_rotation_holds_two_ids() {
        let old = test_key().public_key();
        let impostor = other_key().with_key_id(old.key_id()).unwrap().public_key();
        let mut set = PublicKeySet::from_keys([old.clone()]).unwrap();
        assert_eq!(set.insert(old.clone()), Ok(()));
        assert_eq!(
            set.insert(impostor),
            Err(Error::DuplicateKeyId(old.key_id().to_owned()))
        );
        set.insert(other_key().public_key()).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.get(old.key_id()).is_some());
        assert_eq!(set.remove(old.key_id()), Some(old.clone()));
        assert!(set.get(old.key_id()).is_none());
        assert!(!set.is_empty());
    }
}

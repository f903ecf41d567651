-- Signing keys: the Ed25519 keys that sign offline license files and validation tokens.
--
-- Each account has a key per environment (live, test), so a file issued for a test
-- license never verifies against the keys a live product pins. Exactly one key per
-- account and environment is active (retired_at IS NULL); retired keys stay, because
-- files and tokens they signed must stay verifiable, and the JWKS keeps publishing them.
--
-- The private half (the 32-byte Ed25519 seed) is never stored in clear: it is sealed
-- with XChaCha20-Poly1305 under a key derived from the server secret (HKDF-SHA256), with
-- a random 24-byte nonce per key and the account, environment and key id as associated
-- data, so a sealed seed cannot be moved to another row. `sealing` names that scheme.

CREATE TABLE signing_keys (
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment     TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    kid             TEXT NOT NULL,
    -- Unpadded base64url of the 32 public key bytes (a JWK's "x").
    public_key      TEXT NOT NULL,
    sealing         TEXT NOT NULL,
    seed_nonce      BLOB NOT NULL,
    -- The sealed seed: 32 bytes of ciphertext and a 16-byte tag.
    sealed_seed     BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    retired_at      TEXT,
    PRIMARY KEY (account_id, environment, kid)
);

-- At most one active key per account and environment, so two requests that both find
-- none and create one cannot both succeed.
CREATE UNIQUE INDEX signing_keys_one_active
    ON signing_keys (account_id, environment) WHERE retired_at IS NULL;

-- Accounts (tenants) own everything. Every row below carries account_id, and every
-- query filters by it: another account's record is simply not found.
-- `environment` separates live from test data inside one account.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment   TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    name          TEXT NOT NULL,
    -- SHA-256 of the whole key, hex. The key itself is shown once and never stored.
    key_hash      TEXT NOT NULL UNIQUE,
    -- The first characters, so a person can tell keys apart in a list.
    display_prefix TEXT NOT NULL,
    -- JSON array of scope names, e.g. ["licenses:read"].
    scopes        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE products (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX products_account ON products (account_id, environment);

CREATE TABLE policies (
    id                        TEXT PRIMARY KEY NOT NULL,
    account_id                TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment               TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    product_id                TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name                      TEXT NOT NULL,
    -- NULL means unlimited.
    max_machines              INTEGER,
    floating                  INTEGER NOT NULL DEFAULT 0,
    require_heartbeat         INTEGER NOT NULL DEFAULT 0,
    heartbeat_interval_secs   INTEGER NOT NULL DEFAULT 600,
    -- NULL means licenses of this policy never expire.
    duration_secs             INTEGER,
    offline_max_days          INTEGER NOT NULL DEFAULT 14,
    grace_days                INTEGER NOT NULL DEFAULT 7,
    max_uses                  INTEGER,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL
);
CREATE INDEX policies_account ON policies (account_id, environment);

CREATE TABLE licenses (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    product_id   TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    policy_id    TEXT NOT NULL REFERENCES policies(id) ON DELETE RESTRICT,
    -- Keys are unique across all accounts: validate-key finds a license by key alone.
    key          TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'banned')),
    expires_at   TEXT,
    uses         INTEGER NOT NULL DEFAULT 0,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX licenses_account ON licenses (account_id, environment);

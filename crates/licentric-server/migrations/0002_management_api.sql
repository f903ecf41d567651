-- The complete management and runtime API: entitlements, machines, webhooks and the
-- activity log behind analytics.

ALTER TABLE policies ADD COLUMN cull_dead_machines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE licenses ADD COLUMN name TEXT;

CREATE TABLE entitlements (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (account_id, environment, code)
);

CREATE TABLE policy_entitlements (
    policy_id       TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    entitlement_id  TEXT NOT NULL REFERENCES entitlements(id) ON DELETE CASCADE,
    PRIMARY KEY (policy_id, entitlement_id)
);

CREATE TABLE license_entitlements (
    license_id      TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    entitlement_id  TEXT NOT NULL REFERENCES entitlements(id) ON DELETE CASCADE,
    PRIMARY KEY (license_id, entitlement_id)
);

CREATE TABLE machines (
    id                 TEXT PRIMARY KEY NOT NULL,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment        TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    license_id         TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    fingerprint        TEXT NOT NULL,
    name               TEXT,
    platform           TEXT CHECK (platform IN ('macos', 'windows', 'linux', 'docker', 'kubernetes')),
    last_heartbeat_at  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    -- A fingerprint is activated at most once per license.
    UNIQUE (license_id, fingerprint)
);
CREATE INDEX machines_account ON machines (account_id, environment);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    url          TEXT NOT NULL,
    -- JSON array of event types, or ["*"].
    events       TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    description  TEXT,
    -- Needed in clear to sign deliveries (HMAC); never returned after creation.
    secret       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY NOT NULL,
    account_id        TEXT NOT NULL,
    webhook_id        TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id          TEXT NOT NULL,
    event             TEXT NOT NULL,
    -- The exact JSON body sent (and signed) on every attempt.
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_status_code  INTEGER,
    last_error        TEXT,
    next_attempt_at   TEXT,
    created_at        TEXT NOT NULL,
    delivered_at      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- One row per validation, activation and deactivation: the source of analytics.
CREATE TABLE activity (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('validation', 'activation', 'deactivation')),
    product_id   TEXT NOT NULL,
    license_id   TEXT NOT NULL,
    code         TEXT,
    day          TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX activity_by_day ON activity (account_id, environment, kind, day);

-- The audit trail: who did what, when and from where. An event of the server itself (an
-- address locked out after repeated failed authentication) belongs to no account.
CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      TEXT,
    environment     TEXT,
    occurred_at     TEXT NOT NULL,
    actor_type      TEXT NOT NULL CHECK (actor_type IN ('api_key', 'license', 'system', 'address')),
    actor_id        TEXT,
    action          TEXT NOT NULL,
    resource_type   TEXT,
    resource_id     TEXT,
    client_address  TEXT,
    details         TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, environment, occurred_at);

-- The audit trail: who did what to which record, when, from where, and what changed. An
-- event of the server itself (an address locked out after repeated failed
-- authentication) belongs to no account.
CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      TEXT,
    environment     TEXT,
    occurred_at     TEXT NOT NULL,
    actor_type      TEXT NOT NULL
                    CHECK (actor_type IN ('api_key', 'license', 'anonymous', 'system', 'address')),
    actor_id        TEXT,
    actor_name      TEXT,
    action          TEXT NOT NULL,
    resource_type   TEXT,
    resource_id     TEXT,
    client_address  TEXT,
    request_id      TEXT,
    changes         TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, environment, occurred_at);
CREATE INDEX audit_events_by_resource ON audit_events (account_id, environment, resource_type, resource_id);
-- Pruning by age, across accounts.
CREATE INDEX audit_events_by_age ON audit_events (occurred_at);

-- Reading the audit trail is a new scope; keys that held every scope before it existed
-- (the initial keys of `init`) keep holding every scope.
UPDATE api_keys SET scopes = json_insert(scopes, '$[#]', 'events:read')
WHERE json_array_length(scopes) = 13;

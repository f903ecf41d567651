-- The runtime endpoints (validate-key, activations, heartbeats) keep what they read of a
-- license in memory: its status, expiry, policy, entitlements, and its account's webhook
-- subscriptions and signing key. One number says whether that memory is still right:
-- every write to those records adds one, in the writer's own transaction, whichever
-- process (or tool) writes. The runtime's batch transaction reads it first and drops its
-- memory when it moved, so a change committed before a request is seen by that request,
-- across any number of server processes on this file.
--
-- Not counted: what the runtime writes itself (uses, machines, heartbeats, machines_count)
-- and what it never keeps (names, metadata, products): those are read afresh or not at all.
CREATE TABLE runtime_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO runtime_generation (id, value) VALUES (1, 1);

CREATE TRIGGER runtime_gen_license_update AFTER UPDATE OF key, status, expires_at, policy_id, product_id ON licenses
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_license_delete AFTER DELETE ON licenses
BEGIN UPDATE runtime_generation SET value = value + 1; END;

CREATE TRIGGER runtime_gen_policy_update AFTER UPDATE ON policies
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_policy_delete AFTER DELETE ON policies
BEGIN UPDATE runtime_generation SET value = value + 1; END;

CREATE TRIGGER runtime_gen_entitlement_update AFTER UPDATE ON entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_entitlement_delete AFTER DELETE ON entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_license_entitlement_insert AFTER INSERT ON license_entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_license_entitlement_delete AFTER DELETE ON license_entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_policy_entitlement_insert AFTER INSERT ON policy_entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_policy_entitlement_delete AFTER DELETE ON policy_entitlements
BEGIN UPDATE runtime_generation SET value = value + 1; END;

CREATE TRIGGER runtime_gen_webhook_insert AFTER INSERT ON webhooks
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_webhook_update AFTER UPDATE OF events, enabled, account_id, environment ON webhooks
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_webhook_delete AFTER DELETE ON webhooks
BEGIN UPDATE runtime_generation SET value = value + 1; END;

CREATE TRIGGER runtime_gen_signing_key_insert AFTER INSERT ON signing_keys
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_signing_key_update AFTER UPDATE ON signing_keys
BEGIN UPDATE runtime_generation SET value = value + 1; END;
CREATE TRIGGER runtime_gen_signing_key_delete AFTER DELETE ON signing_keys
BEGIN UPDATE runtime_generation SET value = value + 1; END;

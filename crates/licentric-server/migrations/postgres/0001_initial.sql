-- The PostgreSQL schema: the same tables, columns and derived counters as the SQLite
-- migrations' end state (0001-0014), with PostgreSQL's types, plus what only PostgreSQL
-- has: the runtime role, row-level security on every tenant table, and the narrow lookup
-- functions of the requests that come before a tenant is known. See docs/architecture.md,
-- "PostgreSQL".
--
-- Run by the migration role, which owns everything created here. The server logs in as a
-- member of licentric_runtime, which owns nothing and is filtered by every policy.
--
-- Types: ids and enumerations are text (CHECKs as SQLite's), every text column with the
-- "C" collation, so that sorting and comparing text is byte order as in SQLite (BINARY)
-- whatever the cluster's locale; times timestamptz; counts
-- and limits bigint (Rust's i64, as SQLite's INTEGER); flags boolean; JSON documents text
-- (a webhook payload is signed byte for byte, and metadata is returned as written, so
-- jsonb's reordering is not wanted); key material bytea.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'licentric_runtime') THEN
        CREATE ROLE licentric_runtime NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

-- The tenant of the current transaction, as set by the storage layer with
-- set_config('licentric.account_id', $1, true). NULL (or '' after an earlier transaction
-- on the connection set it) when unset: no account has either id, so nothing matches.
CREATE FUNCTION licentric_account() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT current_setting('licentric.account_id', true) $$;
CREATE FUNCTION licentric_environment() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT current_setting('licentric.environment', true) $$;

CREATE TABLE accounts (
    id          text COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    name        text COLLATE "C" NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id              text COLLATE "C" PRIMARY KEY,
    account_id      text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment     text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    name            text COLLATE "C" NOT NULL,
    key_hash        text COLLATE "C" NOT NULL UNIQUE,
    display_prefix  text COLLATE "C" NOT NULL,
    scopes          text COLLATE "C" NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id, environment);

CREATE TABLE products (
    id           text COLLATE "C" PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    name         text COLLATE "C" NOT NULL,
    key_prefix   text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX products_account ON products (account_id, environment);

CREATE TABLE policies (
    id                       text COLLATE "C" PRIMARY KEY,
    account_id               text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment              text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    product_id               text COLLATE "C" NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    name                     text COLLATE "C" NOT NULL,
    max_machines             bigint,
    floating                 boolean NOT NULL DEFAULT false,
    require_heartbeat        boolean NOT NULL DEFAULT false,
    heartbeat_interval_secs  bigint NOT NULL DEFAULT 600,
    duration_secs            bigint,
    offline_max_days         bigint NOT NULL DEFAULT 14,
    grace_days               bigint NOT NULL DEFAULT 7,
    max_uses                 bigint,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    cull_dead_machines       boolean NOT NULL DEFAULT false
);
CREATE INDEX policies_account ON policies (account_id, environment);
CREATE INDEX policies_product ON policies (product_id);

CREATE TABLE licenses (
    id              text COLLATE "C" PRIMARY KEY,
    account_id      text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment     text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    product_id      text COLLATE "C" NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    policy_id       text COLLATE "C" NOT NULL REFERENCES policies(id) ON DELETE RESTRICT,
    -- Unique across all accounts: validate-key finds a license by its key alone.
    key             text COLLATE "C" NOT NULL UNIQUE,
    status          text COLLATE "C" NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'banned')),
    expires_at      timestamptz,
    uses            bigint NOT NULL DEFAULT 0,
    metadata        text COLLATE "C" NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    name            text COLLATE "C",
    machines_count  bigint NOT NULL DEFAULT 0
);
CREATE INDEX licenses_account ON licenses (account_id, environment);
CREATE INDEX licenses_by_created ON licenses (account_id, environment, created_at);
CREATE INDEX licenses_by_status ON licenses (account_id, environment, status, created_at);
CREATE INDEX licenses_by_product ON licenses (account_id, environment, product_id, created_at);
CREATE INDEX licenses_by_policy ON licenses (account_id, environment, policy_id, created_at);
CREATE INDEX licenses_by_expires ON licenses (account_id, environment, expires_at);
CREATE INDEX licenses_by_name ON licenses (account_id, environment, coalesce(name, ''));
CREATE INDEX licenses_by_uses ON licenses (account_id, environment, uses);
CREATE INDEX licenses_by_updated ON licenses (account_id, environment, updated_at);
CREATE INDEX licenses_by_status_expiry
    ON licenses (account_id, environment, status, expires_at, product_id, policy_id, id);
CREATE INDEX licenses_product_machines ON licenses (account_id, environment, product_id, machines_count);

-- SQLite's license_search (FTS5, trigram): the same text, indexed by pg_trgm, so
-- `q` is an ILIKE '%q%' answered from the index.
CREATE FUNCTION licentric_license_text(key text, id text, name text, metadata text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT replace(key, '-', '') || ' ' || key || ' ' || id || ' ' || coalesce(name, '') || ' ' ||
           coalesce((SELECT string_agg(value #>> '{}', ' ')
                     FROM jsonb_each(metadata::jsonb)
                     WHERE jsonb_typeof(value) IN ('string', 'number')), '')
    $$;
CREATE INDEX licenses_search ON licenses
    USING gin (licentric_license_text(key, id, name, metadata) gin_trgm_ops);

CREATE TABLE entitlements (
    id           text COLLATE "C" PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    code         text COLLATE "C" NOT NULL,
    name         text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (account_id, environment, code)
);

CREATE TABLE policy_entitlements (
    policy_id       text COLLATE "C" NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    entitlement_id  text COLLATE "C" NOT NULL REFERENCES entitlements(id) ON DELETE CASCADE,
    PRIMARY KEY (policy_id, entitlement_id)
);
CREATE INDEX policy_entitlements_entitlement ON policy_entitlements (entitlement_id);

CREATE TABLE license_entitlements (
    license_id      text COLLATE "C" NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    entitlement_id  text COLLATE "C" NOT NULL REFERENCES entitlements(id) ON DELETE CASCADE,
    PRIMARY KEY (license_id, entitlement_id)
);
CREATE INDEX license_entitlements_entitlement ON license_entitlements (entitlement_id);

CREATE TABLE machines (
    id                 text COLLATE "C" PRIMARY KEY,
    account_id         text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment        text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    license_id         text COLLATE "C" NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    fingerprint        text COLLATE "C" NOT NULL,
    name               text COLLATE "C",
    platform           text COLLATE "C" CHECK (platform IN ('macos', 'windows', 'linux', 'docker', 'kubernetes')),
    last_heartbeat_at  timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    death_recorded_at  timestamptz,
    -- When the next heartbeat is due, as a Julian day number (SQLite's julianday), kept
    -- by the triggers below; NULL when the policy needs no heartbeats.
    heartbeat_due_jd   double precision,
    UNIQUE (license_id, fingerprint)
);
CREATE INDEX machines_account ON machines (account_id, environment);
CREATE INDEX machines_by_created ON machines (account_id, environment, created_at);
CREATE INDEX machines_by_license ON machines (license_id, created_at);
CREATE INDEX machines_by_fingerprint ON machines (fingerprint);
CREATE INDEX machines_by_platform ON machines (account_id, environment, platform, created_at);
CREATE INDEX machines_by_due ON machines (account_id, environment, heartbeat_due_jd);
CREATE INDEX machines_unstarted_by_due ON machines (account_id, environment, heartbeat_due_jd)
    WHERE last_heartbeat_at IS NULL;
CREATE INDEX machines_unstarted_by_created ON machines (account_id, environment, created_at)
    WHERE last_heartbeat_at IS NULL;
CREATE INDEX machines_by_name ON machines (account_id, environment, coalesce(name, ''));
-- SQLite's machine_search and machine_words: one trigram index answers both.
CREATE INDEX machines_search ON machines USING gin (coalesce(name, '') gin_trgm_ops);

CREATE TABLE webhooks (
    id               text COLLATE "C" PRIMARY KEY,
    account_id       text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment      text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    url              text COLLATE "C" NOT NULL,
    events           text COLLATE "C" NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    description      text COLLATE "C",
    secret           text COLLATE "C" NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    failing_since    timestamptz,
    disabled_reason  text COLLATE "C",
    disabled_at      timestamptz
);
CREATE INDEX webhooks_account ON webhooks (account_id, environment);

CREATE TABLE webhook_deliveries (
    id                text COLLATE "C" PRIMARY KEY,
    account_id        text COLLATE "C" NOT NULL,
    webhook_id        text COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id          text COLLATE "C" NOT NULL,
    event             text COLLATE "C" NOT NULL,
    payload           text COLLATE "C" NOT NULL,
    status            text COLLATE "C" NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          bigint NOT NULL DEFAULT 0,
    last_status_code  bigint,
    last_error        text COLLATE "C",
    next_attempt_at   timestamptz,
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE activity (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL,
    environment  text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL CHECK (kind IN ('validation', 'activation', 'deactivation')),
    product_id   text COLLATE "C" NOT NULL,
    license_id   text COLLATE "C" NOT NULL,
    code         text COLLATE "C",
    day          text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX activity_by_day ON activity (account_id, environment, kind, day);

CREATE TABLE activity_daily (
    account_id   text COLLATE "C" NOT NULL,
    environment  text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    day          text COLLATE "C" NOT NULL,
    product_id   text COLLATE "C" NOT NULL,
    code         text COLLATE "C" NOT NULL,
    count        bigint NOT NULL,
    PRIMARY KEY (account_id, environment, kind, day, product_id, code)
);

CREATE TABLE signing_keys (
    account_id   text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    environment  text COLLATE "C" NOT NULL CHECK (environment IN ('live', 'test')),
    kid          text COLLATE "C" NOT NULL,
    public_key   text COLLATE "C" NOT NULL,
    sealing      text COLLATE "C" NOT NULL,
    seed_nonce   bytea NOT NULL,
    sealed_seed  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    retired_at   timestamptz,
    PRIMARY KEY (account_id, environment, kid)
);
CREATE UNIQUE INDEX signing_keys_one_active
    ON signing_keys (account_id, environment) WHERE retired_at IS NULL;

CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for a system event that belongs to no tenant (a client address locked out).
    account_id      text COLLATE "C",
    environment     text COLLATE "C",
    occurred_at     timestamptz NOT NULL,
    actor_type      text COLLATE "C" NOT NULL
                    CHECK (actor_type IN ('api_key', 'license', 'anonymous', 'system', 'address')),
    actor_id        text COLLATE "C",
    actor_name      text COLLATE "C",
    action          text COLLATE "C" NOT NULL,
    resource_type   text COLLATE "C",
    resource_id     text COLLATE "C",
    client_address  text COLLATE "C",
    request_id      text COLLATE "C",
    changes         text COLLATE "C"
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, environment, occurred_at);
CREATE INDEX audit_events_by_resource ON audit_events (account_id, environment, resource_type, resource_id);
CREATE INDEX audit_events_by_age ON audit_events (occurred_at);

CREATE TABLE license_totals (
    account_id   text COLLATE "C" NOT NULL,
    environment  text COLLATE "C" NOT NULL,
    product_id   text COLLATE "C" NOT NULL,
    policy_id    text COLLATE "C" NOT NULL,
    status       text COLLATE "C" NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (account_id, environment, product_id, policy_id, status)
);

CREATE TABLE machine_totals (
    account_id   text COLLATE "C" NOT NULL,
    environment  text COLLATE "C" NOT NULL,
    platform     text COLLATE "C" NOT NULL,
    started      boolean NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (account_id, environment, platform, started)
);

-- SQLite's one runtime_generation row, per tenant here: one global row would be a lock
-- every tenant's writes queue on. A row appears on its tenant's first counted write.
CREATE TABLE runtime_generation (
    account_id   text COLLATE "C" NOT NULL,
    environment  text COLLATE "C" NOT NULL,
    value        bigint NOT NULL,
    PRIMARY KEY (account_id, environment)
);

-- Derived counters, kept by triggers as SQLite's are. Triggers run as the writer, so
-- under its tenant's policies, on rows of that same tenant.

CREATE FUNCTION licentric_activity_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO activity_daily (account_id, environment, kind, day, product_id, code, count)
    VALUES (NEW.account_id, NEW.environment, NEW.kind, NEW.day, NEW.product_id,
            coalesce(NEW.code, ''), 1)
    ON CONFLICT (account_id, environment, kind, day, product_id, code)
    DO UPDATE SET count = activity_daily.count + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER activity_daily_count AFTER INSERT ON activity
    FOR EACH ROW EXECUTE FUNCTION licentric_activity_daily();

CREATE FUNCTION licentric_machines_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE licenses SET machines_count = machines_count + 1 WHERE id = NEW.license_id;
    ELSE
        UPDATE licenses SET machines_count = machines_count - 1 WHERE id = OLD.license_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER machines_count AFTER INSERT OR DELETE ON machines
    FOR EACH ROW EXECUTE FUNCTION licentric_machines_count();

-- A time as SQLite's julianday() gives it.
CREATE FUNCTION licentric_julianday(t timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT extract(epoch FROM t)::double precision / 86400.0 + 2440587.5 $$;

CREATE FUNCTION licentric_machine_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.heartbeat_due_jd := (
        SELECT CASE WHEN p.require_heartbeat
                    THEN licentric_julianday(coalesce(NEW.last_heartbeat_at, NEW.created_at))
                         + p.heartbeat_interval_secs / 86400.0 END
        FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = NEW.license_id);
    RETURN NEW;
END $$;
CREATE TRIGGER machines_due BEFORE INSERT OR UPDATE OF last_heartbeat_at, license_id ON machines
    FOR EACH ROW EXECUTE FUNCTION licentric_machine_due();

CREATE FUNCTION licentric_policy_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE machines SET heartbeat_due_jd =
        CASE WHEN NEW.require_heartbeat
             THEN licentric_julianday(coalesce(last_heartbeat_at, created_at))
                  + NEW.heartbeat_interval_secs / 86400.0 END
    WHERE license_id IN (SELECT id FROM licenses WHERE policy_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER machines_due_policy AFTER UPDATE OF require_heartbeat, heartbeat_interval_secs ON policies
    FOR EACH ROW EXECUTE FUNCTION licentric_policy_due();

CREATE FUNCTION licentric_license_policy_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE machines SET heartbeat_due_jd = (
        SELECT CASE WHEN p.require_heartbeat
                    THEN licentric_julianday(coalesce(machines.last_heartbeat_at, machines.created_at))
                         + p.heartbeat_interval_secs / 86400.0 END
        FROM policies p WHERE p.id = NEW.policy_id)
    WHERE license_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER machines_due_license_policy AFTER UPDATE OF policy_id ON licenses
    FOR EACH ROW EXECUTE FUNCTION licentric_license_policy_due();

CREATE FUNCTION licentric_license_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE license_totals SET n = n - 1
        WHERE account_id = OLD.account_id AND environment = OLD.environment
          AND product_id = OLD.product_id AND policy_id = OLD.policy_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO license_totals (account_id, environment, product_id, policy_id, status, n)
        VALUES (NEW.account_id, NEW.environment, NEW.product_id, NEW.policy_id, NEW.status, 1)
        ON CONFLICT (account_id, environment, product_id, policy_id, status)
        DO UPDATE SET n = license_totals.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER license_totals_insert_delete AFTER INSERT OR DELETE ON licenses
    FOR EACH ROW EXECUTE FUNCTION licentric_license_totals();
CREATE TRIGGER license_totals_update
    AFTER UPDATE OF account_id, environment, product_id, policy_id, status ON licenses
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.environment IS DISTINCT FROM NEW.environment
          OR OLD.product_id IS DISTINCT FROM NEW.product_id OR OLD.policy_id IS DISTINCT FROM NEW.policy_id
          OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION licentric_license_totals();

CREATE FUNCTION licentric_machine_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE machine_totals SET n = n - 1
        WHERE account_id = OLD.account_id AND environment = OLD.environment
          AND platform = coalesce(OLD.platform, '')
          AND started = (OLD.last_heartbeat_at IS NOT NULL);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO machine_totals (account_id, environment, platform, started, n)
        VALUES (NEW.account_id, NEW.environment, coalesce(NEW.platform, ''),
                NEW.last_heartbeat_at IS NOT NULL, 1)
        ON CONFLICT (account_id, environment, platform, started)
        DO UPDATE SET n = machine_totals.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER machine_totals_insert_delete AFTER INSERT OR DELETE ON machines
    FOR EACH ROW EXECUTE FUNCTION licentric_machine_totals();
CREATE TRIGGER machine_totals_update
    AFTER UPDATE OF account_id, environment, platform, last_heartbeat_at ON machines
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.environment IS DISTINCT FROM NEW.environment
          OR OLD.platform IS DISTINCT FROM NEW.platform
          OR (OLD.last_heartbeat_at IS NULL) <> (NEW.last_heartbeat_at IS NULL))
    EXECUTE FUNCTION licentric_machine_totals();

-- The runtime's generation (SQLite's 0014), moved for the tenant of the changed row; the
-- link tables, which carry no tenant, move the transaction's tenant's.
CREATE FUNCTION licentric_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb := to_jsonb(coalesce(NEW, OLD));
    account text := coalesce(changed ->> 'account_id', nullif(licentric_account(), ''));
    env text := coalesce(changed ->> 'environment', nullif(licentric_environment(), ''));
BEGIN
    IF account IS NOT NULL AND env IS NOT NULL THEN
        INSERT INTO runtime_generation (account_id, environment, value)
        VALUES (account, env, 2)
        ON CONFLICT (account_id, environment)
        DO UPDATE SET value = runtime_generation.value + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER runtime_gen_license_update
    AFTER UPDATE OF key, status, expires_at, policy_id, product_id ON licenses
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_license_delete AFTER DELETE ON licenses
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_policy AFTER UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_entitlement AFTER UPDATE OR DELETE ON entitlements
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_license_entitlement AFTER INSERT OR DELETE ON license_entitlements
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_policy_entitlement AFTER INSERT OR DELETE ON policy_entitlements
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_webhook_insert_delete AFTER INSERT OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_webhook_update
    AFTER UPDATE OF events, enabled, account_id, environment ON webhooks
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();
CREATE TRIGGER runtime_gen_signing_key AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION licentric_bump_generation();

-- Row-level security. ENABLE and FORCE on every table: FORCE so that a server that logs
-- in as the owner by mistake is filtered too. One policy per table, for every command,
-- on the account and the environment of the current transaction.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'products', 'policies', 'licenses', 'entitlements',
                             'machines', 'webhooks', 'activity', 'activity_daily',
                             'signing_keys', 'license_totals', 'machine_totals',
                             'runtime_generation']
    LOOP
        EXECUTE format(
            'CREATE POLICY tenant ON %I
                 USING (account_id = licentric_account() AND environment = licentric_environment())
                 WITH CHECK (account_id = licentric_account() AND environment = licentric_environment())',
            t);
    END LOOP;
END
$$;

-- An account sees itself; provisioning sets the new account's id first, then inserts it.
CREATE POLICY tenant ON accounts
    USING (id = licentric_account()) WITH CHECK (id = licentric_account());

-- The link tables follow both their ends, each filtered by its own policy.
CREATE POLICY tenant ON policy_entitlements
    USING (EXISTS (SELECT FROM policies p WHERE p.id = policy_id)
           AND EXISTS (SELECT FROM entitlements e WHERE e.id = entitlement_id))
    WITH CHECK (EXISTS (SELECT FROM policies p WHERE p.id = policy_id)
                AND EXISTS (SELECT FROM entitlements e WHERE e.id = entitlement_id));
CREATE POLICY tenant ON license_entitlements
    USING (EXISTS (SELECT FROM licenses l WHERE l.id = license_id)
           AND EXISTS (SELECT FROM entitlements e WHERE e.id = entitlement_id))
    WITH CHECK (EXISTS (SELECT FROM licenses l WHERE l.id = license_id)
                AND EXISTS (SELECT FROM entitlements e WHERE e.id = entitlement_id));

-- A delivery has an account but no environment: its webhook's (filtered) gives it.
CREATE POLICY tenant ON webhook_deliveries
    USING (account_id = licentric_account()
           AND EXISTS (SELECT FROM webhooks w WHERE w.id = webhook_id))
    WITH CHECK (account_id = licentric_account()
                AND EXISTS (SELECT FROM webhooks w WHERE w.id = webhook_id));

-- The audit trail: a tenant's events; a system event (no account) may be written by any
-- request, and read by none through this role.
CREATE POLICY tenant ON audit_events
    USING (account_id = licentric_account() AND environment = licentric_environment())
    WITH CHECK (account_id = licentric_account() AND environment = licentric_environment());
CREATE POLICY system_events ON audit_events FOR INSERT
    WITH CHECK (account_id IS NULL AND environment IS NULL);

-- The lookups that come before a tenant is known, as narrow SECURITY DEFINER functions:
-- an exact key or hash in, the one row's tenant and the few columns the caller needs out.
-- With FORCE the owner is filtered too; these policies let the owner (the functions' role)
-- see exactly the row whose key or hash the function has put in a setting, nothing more.
DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY lookup_by_key ON licenses FOR SELECT TO %I
             USING (key = current_setting(''licentric.lookup'', true))', current_user);
    EXECUTE format(
        'CREATE POLICY lookup_by_hash ON api_keys FOR SELECT TO %I
             USING (key_hash = current_setting(''licentric.lookup'', true))', current_user);
END
$$;

-- The license a license key names (validate-key, license-key authentication).
CREATE FUNCTION licentric_license_by_key(p_key text)
    RETURNS TABLE (account_id text, environment text, license_id text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    PERFORM set_config('licentric.lookup', p_key, true);
    RETURN QUERY SELECT l.account_id, l.environment, l.id FROM licenses l WHERE l.key = p_key;
    -- The rows are already read: the setting never outlives the call.
    PERFORM set_config('licentric.lookup', '', true);
END $$;

-- The API key whose SHA-256 (hex) is p_hash: its tenant, scopes and revocation.
CREATE FUNCTION licentric_api_key_by_hash(p_hash text)
    RETURNS TABLE (id text, account_id text, environment text, name text, scopes text,
                   revoked_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    PERFORM set_config('licentric.lookup', p_hash, true);
    RETURN QUERY SELECT k.id, k.account_id, k.environment, k.name, k.scopes, k.revoked_at
                 FROM api_keys k WHERE k.key_hash = p_hash;
    PERFORM set_config('licentric.lookup', '', true);
END $$;

-- Grants: the runtime role reads and writes rows (under the policies) and calls the two
-- lookups; it owns nothing, so it can neither alter a table nor turn its policies off.
DO $$
DECLARE
    f regprocedure;
BEGIN
    -- Only this schema's own functions (not pg_trgm's, which the indexes' operators use).
    FOR f IN SELECT oid::regprocedure FROM pg_proc
             WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'licentric\_%'
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA public TO licentric_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    accounts, api_keys, products, policies, licenses, entitlements, policy_entitlements,
    license_entitlements, machines, webhooks, webhook_deliveries, activity, activity_daily,
    signing_keys, audit_events, license_totals, machine_totals, runtime_generation
    TO licentric_runtime;
GRANT EXECUTE ON FUNCTION
    licentric_account(), licentric_environment(),
    licentric_license_text(text, text, text, text), licentric_julianday(timestamptz),
    licentric_activity_daily(), licentric_machines_count(), licentric_machine_due(),
    licentric_policy_due(), licentric_license_policy_due(), licentric_license_totals(),
    licentric_machine_totals(), licentric_bump_generation(),
    licentric_license_by_key(text), licentric_api_key_by_hash(text)
    TO licentric_runtime;
-- The server reads the applied migrations to know the schema is current; only the
-- migration role writes them.
GRANT SELECT ON _sqlx_migrations TO licentric_runtime;

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

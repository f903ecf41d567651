-- The runtime endpoints and one list on PostgreSQL (issues 13, 15 and 10), measured with
-- scripts/bench-runtime --postgres and pg_stat_statements: see docs/architecture.md,
-- "PostgreSQL", and docs/benchmarks.md.
--
-- 1. One generation for the runtime's memory, across every tenant. The runtime writer
--    keeps licenses, policies, webhook subscriptions and signing keys in memory for as
--    long as nothing they are made of changed. Every such write moves its tenant's row of
--    runtime_generation (0001's triggers). Until now the writer could not read those rows
--    across tenants, so it forgot everything at every batch and read each tenant's
--    signing key again for every token. licentric_runtime_generation() is the sum of
--    every tenant's row: it moves with every committed write of any tenant, read in the
--    batch's own transaction (so a write committed before a batch began is seen by it), and
--    costs one aggregate over one row per tenant (self-hosted servers have a handful).
--    Rows of runtime_generation are never deleted, so the sum only grows. Like 0003's
--    reads, a narrow SECURITY DEFINER function with a policy TO the owner alone.
--
-- 2. The machine counters per statement, not per row. A batch of activations inserts its
--    machines with one statement; a row trigger then updated licenses.machines_count once
--    per machine, so a batch of 15 activations of one license wrote 15 versions of that
--    license row (0.7 ms each under load, two thirds of the batch's statement time).
--    Statement triggers with transition tables update each license, and each
--    machine_totals row, once per statement with the sum. The same for activity_daily
--    (one upsert per (day, kind, product, code) of a batch instead of one per validation).

DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY generation_sum ON runtime_generation FOR SELECT TO %I
             USING (current_setting(''licentric.generation'', true) = ''on'')', current_user);
END
$$;

CREATE FUNCTION licentric_runtime_generation() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
DECLARE
    total bigint;
BEGIN
    PERFORM set_config('licentric.generation', 'on', true);
    SELECT coalesce(sum(value), 0) INTO total FROM runtime_generation;
    PERFORM set_config('licentric.generation', '', true);
    RETURN total;
END $$;
REVOKE ALL ON FUNCTION licentric_runtime_generation() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION licentric_runtime_generation() TO licentric_runtime;

-- machines_count: one UPDATE per license and statement.
DROP TRIGGER machines_count ON machines;
DROP FUNCTION licentric_machines_count();

CREATE FUNCTION licentric_machines_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE licenses l SET machines_count = l.machines_count + n.added
      FROM (SELECT license_id, count(*) AS added FROM new_rows GROUP BY license_id) n
     WHERE l.id = n.license_id;
    RETURN NULL;
END $$;
CREATE FUNCTION licentric_machines_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE licenses l SET machines_count = l.machines_count - o.removed
      FROM (SELECT license_id, count(*) AS removed FROM old_rows GROUP BY license_id) o
     WHERE l.id = o.license_id;
    RETURN NULL;
END $$;
CREATE TRIGGER machines_count_insert AFTER INSERT ON machines
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licentric_machines_count_insert();
CREATE TRIGGER machines_count_delete AFTER DELETE ON machines
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licentric_machines_count_delete();

-- machine_totals on insert and delete: one upsert per (tenant, platform, started) and
-- statement. An update (a first heartbeat, a platform changed) stays a row trigger: it is
-- rare and 0001's licentric_machine_totals() handles it.
DROP TRIGGER machine_totals_insert_delete ON machines;

CREATE FUNCTION licentric_machine_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO machine_totals (account_id, environment, platform, started, n)
    SELECT account_id, environment, coalesce(platform, ''), last_heartbeat_at IS NOT NULL, count(*)
      FROM new_rows
     GROUP BY account_id, environment, coalesce(platform, ''), last_heartbeat_at IS NOT NULL
    ON CONFLICT (account_id, environment, platform, started)
    DO UPDATE SET n = machine_totals.n + excluded.n;
    RETURN NULL;
END $$;
CREATE FUNCTION licentric_machine_totals_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE machine_totals t SET n = t.n - o.removed
      FROM (SELECT account_id, environment, coalesce(platform, '') AS platform,
                   last_heartbeat_at IS NOT NULL AS started, count(*) AS removed
              FROM old_rows
             GROUP BY 1, 2, 3, 4) o
     WHERE t.account_id = o.account_id AND t.environment = o.environment
       AND t.platform = o.platform AND t.started = o.started;
    RETURN NULL;
END $$;
CREATE TRIGGER machine_totals_insert AFTER INSERT ON machines
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licentric_machine_totals_insert();
CREATE TRIGGER machine_totals_delete AFTER DELETE ON machines
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licentric_machine_totals_delete();

-- activity_daily: one upsert per (tenant, kind, day, product, code) and statement.
DROP TRIGGER activity_daily_count ON activity;
DROP FUNCTION licentric_activity_daily();

CREATE FUNCTION licentric_activity_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO activity_daily (account_id, environment, kind, day, product_id, code, count)
    SELECT account_id, environment, kind, day, product_id, coalesce(code, ''), count(*)
      FROM new_rows
     GROUP BY account_id, environment, kind, day, product_id, coalesce(code, '')
    ON CONFLICT (account_id, environment, kind, day, product_id, code)
    DO UPDATE SET count = activity_daily.count + excluded.count;
    RETURN NULL;
END $$;
CREATE TRIGGER activity_daily_count AFTER INSERT ON activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licentric_activity_daily();

GRANT EXECUTE ON FUNCTION licentric_machines_count_insert(), licentric_machines_count_delete(),
    licentric_machine_totals_insert(), licentric_machine_totals_delete(),
    licentric_activity_daily()
    TO licentric_runtime;

-- 3. The license list sorted by expiry (issue 10's lists, measured on PostgreSQL with
--    scripts/bench-server --postgres): it orders by coalesce(expires_at, '-infinity') and
--    the row id, which no index gave, so each first page sorted every license of the
--    tenant (about 240 ms at 100,000 licenses; 10 ms with this index).
CREATE INDEX licenses_by_expiry_first ON licenses
    (account_id, environment, coalesce(expires_at, '-infinity'::timestamptz), rowid);

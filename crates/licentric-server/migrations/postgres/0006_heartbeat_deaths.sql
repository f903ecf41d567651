-- The heartbeat-death sweep on PostgreSQL (issue 15): the upkeep records, once each, the
-- machines whose heartbeat went overdue, in every tenant. Like 0003's background reads,
-- the read across tenants is one narrow SECURITY DEFINER function owned by the migration
-- role, opening the machines through a setting of its own that only a policy TO the
-- owner reads; the upkeep then writes each death as its tenant.

-- The sweep's scan: overdue machines not yet recorded, of every tenant, by due time.
CREATE INDEX machines_unrecorded_due ON machines (heartbeat_due_jd)
    WHERE death_recorded_at IS NULL AND heartbeat_due_jd IS NOT NULL;

DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY deaths ON machines FOR SELECT TO %I
             USING (current_setting(''licentric.deaths'', true) = ''on'')', current_user);
END
$$;

-- Up to p_limit machines of heartbeat policies that are overdue at p_now (their due time
-- as SQLite's julianday() gives it, kept by 0001's triggers) and whose death is not yet
-- recorded, with their tenant.
CREATE FUNCTION licentric_unrecorded_deaths(p_now timestamptz, p_limit integer)
    RETURNS TABLE (id text, license_id text, account_id text, environment text,
                   last_heartbeat_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    PERFORM set_config('licentric.deaths', 'on', true);
    RETURN QUERY
    SELECT m.id, m.license_id, m.account_id, m.environment, m.last_heartbeat_at
      FROM machines m
     WHERE m.heartbeat_due_jd <= licentric_julianday(p_now) AND m.death_recorded_at IS NULL
     ORDER BY m.heartbeat_due_jd
     LIMIT p_limit;
    PERFORM set_config('licentric.deaths', '', true);
END $$;

REVOKE ALL ON FUNCTION licentric_unrecorded_deaths(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION licentric_unrecorded_deaths(timestamptz, integer) TO licentric_runtime;

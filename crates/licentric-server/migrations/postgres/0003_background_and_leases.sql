-- The storage port's second step (issue 15): what the background tasks and start-up
-- read across tenants, and the webhook delivery leases that let several server processes
-- share one queue. See docs/architecture.md, "PostgreSQL".
--
-- Like 0001's lookups, each cross-tenant read is one narrow SECURITY DEFINER function
-- owned by the migration role; a policy TO the owner alone lets it see the rows while the
-- function has a transaction-local setting on, and the function turns it off before it
-- returns. The runtime role can set the same setting, but no policy of its own reads it.

-- A delivery leased by a process: no other process takes it until leased_until passes
-- (the process died, or hung), and recording an attempt ends the lease.
ALTER TABLE webhook_deliveries
    ADD COLUMN leased_until timestamptz,
    ADD COLUMN leased_by text COLLATE "C";
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY lease ON webhook_deliveries FOR ALL TO %I
             USING (current_setting(''licentric.lease'', true) = ''on'')
             WITH CHECK (current_setting(''licentric.lease'', true) = ''on'')', current_user);
    EXECUTE format(
        'CREATE POLICY lease ON webhooks FOR SELECT TO %I
             USING (current_setting(''licentric.lease'', true) = ''on'')', current_user);
    EXECUTE format(
        'CREATE POLICY prune ON audit_events FOR ALL TO %I
             USING (current_setting(''licentric.prune'', true) = ''on'')', current_user);
    EXECUTE format(
        'CREATE POLICY startup ON signing_keys FOR SELECT TO %I
             USING (current_setting(''licentric.startup'', true) = ''on'')', current_user);
END
$$;

-- Leases up to p_limit pending deliveries of enabled endpoints that are due at p_now and
-- not leased (or whose lease ran out), to p_by until p_until, and returns them with their
-- tenant and where to send them. SKIP LOCKED: two processes leasing at once take
-- different deliveries, never the same one, and never wait for each other.
CREATE FUNCTION licentric_lease_deliveries(p_now timestamptz, p_until timestamptz,
                                           p_by text, p_limit integer)
    RETURNS TABLE (id text, account_id text, environment text, webhook_id text, event text,
                   payload text, attempts bigint, url text, secret text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('licentric.lease', 'on', true);
    RETURN QUERY
    WITH taken AS (
        SELECT d.id AS taken_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= p_now AND w.enabled
           AND (d.leased_until IS NULL OR d.leased_until <= p_now)
         ORDER BY d.next_attempt_at
         LIMIT p_limit
         FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d SET leased_until = p_until, leased_by = p_by
      FROM taken, webhooks w
     WHERE d.id = taken.taken_id AND w.id = d.webhook_id
    RETURNING d.id, w.account_id, w.environment, d.webhook_id, d.event, d.payload,
              d.attempts, w.url, w.secret;
    PERFORM set_config('licentric.lease', '', true);
END $$;

-- Deletes the audit events (of every tenant, and the system's) older than p_before;
-- answers how many.
CREATE FUNCTION licentric_prune_audit(p_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM set_config('licentric.prune', 'on', true);
    DELETE FROM audit_events WHERE occurred_at < p_before;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('licentric.prune', '', true);
    RETURN n;
END $$;

-- The newest signing key of any tenant (active first), sealed as stored: what start-up
-- unseals to check that it was given the right server secret. The sealed seed is useless
-- without that secret, which never enters the database.
CREATE FUNCTION licentric_newest_signing_key()
    RETURNS TABLE (account_id text, environment text, kid text, public_key text,
                   sealing text, seed_nonce bytea, sealed_seed bytea,
                   created_at timestamptz, retired_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    PERFORM set_config('licentric.startup', 'on', true);
    RETURN QUERY
    SELECT k.account_id, k.environment, k.kid, k.public_key, k.sealing, k.seed_nonce,
           k.sealed_seed, k.created_at, k.retired_at
      FROM signing_keys k
     ORDER BY k.retired_at IS NOT NULL, k.created_at DESC, k.kid DESC
     LIMIT 1;
    PERFORM set_config('licentric.startup', '', true);
END $$;

REVOKE ALL ON FUNCTION licentric_lease_deliveries(timestamptz, timestamptz, text, integer),
    licentric_prune_audit(timestamptz), licentric_newest_signing_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION licentric_lease_deliveries(timestamptz, timestamptz, text, integer),
    licentric_prune_audit(timestamptz), licentric_newest_signing_key() TO licentric_runtime;

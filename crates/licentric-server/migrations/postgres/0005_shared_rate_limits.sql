-- Rate limits shared by every server process on this database (issue 15): one token
-- bucket per hashed credential or client address, so N processes allow what one would,
-- not N times the budget. See docs/architecture.md, "PostgreSQL".
--
-- UNLOGGED: the buckets are not worth a write-ahead log record per request; after a
-- crash PostgreSQL empties the table, which gives every caller a full bucket once.
-- No tenant: a bucket is a SHA-256 of what the limiter counts by. Only the two functions
-- below (SECURITY DEFINER, owned by the migration role) read or write it; the runtime
-- role may SELECT, and sees nothing (no policy of its own).

CREATE UNLOGGED TABLE rate_buckets (
    bucket      text COLLATE "C" PRIMARY KEY,
    tokens      double precision NOT NULL,
    capacity    double precision NOT NULL,
    per_second  double precision NOT NULL,
    allowed     boolean NOT NULL,
    updated_at  timestamptz NOT NULL
);
ALTER TABLE rate_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_buckets FORCE ROW LEVEL SECURITY;
GRANT SELECT ON rate_buckets TO licentric_runtime;

DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY rate ON rate_buckets FOR ALL TO %I
             USING (current_setting(''licentric.rate'', true) = ''on'')
             WITH CHECK (current_setting(''licentric.rate'', true) = ''on'')', current_user);
END
$$;

-- Takes one token from p_bucket (made full on first use), refilled at p_per_second up to
-- p_capacity since its last use, as the in-process limiter does; answers whether a token
-- was taken and the tokens left. One statement: concurrent takes of one bucket queue on
-- its row, so the count is exact across processes. Time is the caller's (the server's
-- clock); a caller whose clock is behind the last use refills nothing.
CREATE FUNCTION licentric_rate_take(p_bucket text, p_capacity double precision,
                                    p_per_second double precision, p_now timestamptz)
    RETURNS TABLE (allowed boolean, tokens double precision)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('licentric.rate', 'on', true);
    RETURN QUERY
    INSERT INTO rate_buckets AS b (bucket, tokens, capacity, per_second, allowed, updated_at)
    VALUES (p_bucket, p_capacity - 1, p_capacity, p_per_second, true, p_now)
    ON CONFLICT (bucket) DO UPDATE SET
        tokens = CASE
            WHEN least(p_capacity, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)::double precision) * p_per_second) >= 1
            THEN least(p_capacity, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)::double precision) * p_per_second) - 1
            ELSE least(p_capacity, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)::double precision) * p_per_second)
        END,
        allowed = least(p_capacity, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)::double precision) * p_per_second) >= 1,
        capacity = p_capacity,
        per_second = p_per_second,
        updated_at = greatest(b.updated_at, p_now)
    RETURNING b.allowed, b.tokens;
    PERFORM set_config('licentric.rate', '', true);
END $$;

-- Forgets the buckets that have refilled to full by p_now (they would start full again
-- anyway); answers how many.
CREATE FUNCTION licentric_rate_prune(p_now timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM set_config('licentric.rate', 'on', true);
    DELETE FROM rate_buckets b
     WHERE b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)::double precision) * b.per_second >= b.capacity;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('licentric.rate', '', true);
    RETURN n;
END $$;

REVOKE ALL ON FUNCTION licentric_rate_take(text, double precision, double precision, timestamptz),
    licentric_rate_prune(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION licentric_rate_take(text, double precision, double precision, timestamptz),
    licentric_rate_prune(timestamptz) TO licentric_runtime;

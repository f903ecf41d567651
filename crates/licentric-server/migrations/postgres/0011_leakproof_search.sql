-- Searches and name-sorted pages that use their indexes under row-level security (issue 15,
-- run 1 of the server at scale on PostgreSQL; see docs/architecture.md, "PostgreSQL").
--
-- Every request runs under the tenant policies of 0001, and PostgreSQL uses a request's
-- condition as an index condition ahead of a policy's only if it cannot leak a value
-- (every function in it LEAKPROOF, and only node kinds its check knows). coalesce() is
-- not among those kinds, so the cursor condition
-- (coalesce(name, ''), rowid) > ($v, $r) stayed a filter after the tenant's index range
-- (90,000 rows read and thrown away for a page near the end of 100,000 licenses). The
-- same order written as CASE WHEN name IS NULL THEN '' ELSE name END is leak-free
-- (CASE, IS NULL, text and bigint comparisons), so the server sorts and seeks by that
-- expression, and these indexes give it with the row id that breaks ties.
CREATE INDEX licenses_by_name_first ON licenses
    (account_id, environment, (CASE WHEN name IS NULL THEN '' ELSE name END), rowid);
CREATE INDEX machines_by_name_first ON machines
    (account_id, environment, (CASE WHEN name IS NULL THEN '' ELSE name END), rowid);
-- Their coalesce() forerunners of 0001 order nothing the server asks for any more.
DROP INDEX licenses_by_name;
DROP INDEX machines_by_name;

-- The searches (`q=`) answered from trigram indexes under row-level security.
--
-- ILIKE is not leak-free either, and there is no leak-free substring operator, so under
-- the tenant policy a search read every row of the tenant (2.7-5 s for 100,000
-- licenses, 0.2-1 s for 250,000 machines), 0001's trigram indexes unused. The searched
-- text is therefore kept, as well, in two tables of which the runtime role sees nothing
-- (it may SELECT, as rate_buckets of 0005, but no policy is its own), maintained by
-- triggers and read only through the two narrow SECURITY DEFINER functions below, owned
-- by the migration role. Each
-- returns ids of the current transaction's tenant only: the tenant is the transaction's
-- setting (licentric_account(), licentric_environment()), an explicit condition of the
-- function's WHERE. Both tables FORCE row-level security like every other; their one
-- policy lets their owner (the functions' role; the server refuses to run as it) read
-- and write every row. That policy is unconditional on purpose: PostgreSQL drops a
-- policy that is constant true, so the ILIKE becomes an index condition; a policy gated
-- by a setting, as 0003's are, would keep the search a filter after it.
CREATE TABLE license_search (
    license_id  text COLLATE "C" PRIMARY KEY,
    account_id  text COLLATE "C" NOT NULL,
    environment text COLLATE "C" NOT NULL,
    -- licentric_license_text(key, id, name, metadata), as 0001's index held it.
    body        text COLLATE "C" NOT NULL
);
CREATE TABLE machine_search (
    machine_id  text COLLATE "C" PRIMARY KEY,
    account_id  text COLLATE "C" NOT NULL,
    environment text COLLATE "C" NOT NULL,
    -- coalesce(name, ''), as 0001's index held it.
    name        text COLLATE "C" NOT NULL
);
-- The searches no longer read these.
DROP INDEX licenses_search;
DROP INDEX machines_search;

ALTER TABLE license_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE license_search FORCE ROW LEVEL SECURITY;
ALTER TABLE machine_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE machine_search FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner ON license_search FOR ALL TO %I USING (true) WITH CHECK (true)',
                   current_user);
    EXECUTE format('CREATE POLICY owner ON machine_search FOR ALL TO %I USING (true) WITH CHECK (true)',
                   current_user);
END
$$;

-- The triggers keep both tables as the licenses and machines are; SECURITY DEFINER, so
-- they write as the owner whichever role changed the row.
CREATE FUNCTION licentric_license_search() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM license_search WHERE license_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO license_search (license_id, account_id, environment, body)
        VALUES (NEW.id, NEW.account_id, NEW.environment,
                licentric_license_text(NEW.key, NEW.id, NEW.name, NEW.metadata));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER license_search AFTER INSERT OR DELETE
    OR UPDATE OF id, account_id, environment, key, name, metadata ON licenses
    FOR EACH ROW EXECUTE FUNCTION licentric_license_search();

CREATE FUNCTION licentric_machine_search() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM machine_search WHERE machine_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO machine_search (machine_id, account_id, environment, name)
        VALUES (NEW.id, NEW.account_id, NEW.environment, coalesce(NEW.name, ''));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER machine_search AFTER INSERT OR DELETE
    OR UPDATE OF id, account_id, environment, name ON machines
    FOR EACH ROW EXECUTE FUNCTION licentric_machine_search();

-- Fills both tables from what the licenses and machines hold now (here, and after
-- migrate-db, which copies with the triggers off). Run as the owner.
CREATE FUNCTION licentric_rebuild_search() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    -- The owner reads every tenant's rows for the copy; FORCE is back before this returns.
    ALTER TABLE licenses NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE machines NO FORCE ROW LEVEL SECURITY;
    DELETE FROM license_search;
    DELETE FROM machine_search;
    INSERT INTO license_search (license_id, account_id, environment, body)
    SELECT id, account_id, environment, licentric_license_text(key, id, name, metadata)
      FROM licenses;
    INSERT INTO machine_search (machine_id, account_id, environment, name)
    SELECT id, account_id, environment, coalesce(name, '') FROM machines;
    ALTER TABLE licenses FORCE ROW LEVEL SECURITY;
    ALTER TABLE machines FORCE ROW LEVEL SECURITY;
END $$;
SELECT licentric_rebuild_search();
CREATE INDEX license_search_body ON license_search USING gin (body gin_trgm_ops);
CREATE INDEX machine_search_name ON machine_search USING gin (name gin_trgm_ops);

-- The ids of the current tenant's licenses whose search text matches either pattern
-- (ILIKE; the same pattern twice when there is one).
CREATE FUNCTION licentric_search_licenses(p_pattern text, p_other text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    -- EXECUTE: planned for these patterns, so the trigram index is chosen for them (a
    -- plan for any pattern reads the whole table).
    RETURN QUERY EXECUTE
        'SELECT s.license_id FROM license_search s
          WHERE s.account_id = licentric_account() AND s.environment = licentric_environment()
            AND (s.body ILIKE $1 OR s.body ILIKE $2)'
        USING p_pattern, p_other;
END $$;
-- The ids of the current tenant's machines whose name (or '') matches the pattern.
CREATE FUNCTION licentric_search_machine_names(p_pattern text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT s.machine_id FROM machine_search s
          WHERE s.account_id = licentric_account() AND s.environment = licentric_environment()
            AND s.name ILIKE $1'
        USING p_pattern;
END $$;

REVOKE ALL ON FUNCTION licentric_license_search(), licentric_machine_search(),
    licentric_rebuild_search(), licentric_search_licenses(text, text),
    licentric_search_machine_names(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION licentric_search_licenses(text, text),
    licentric_search_machine_names(text) TO licentric_runtime;
-- As rate_buckets: the runtime role may ask, and sees no row.
GRANT SELECT ON license_search, machine_search TO licentric_runtime;

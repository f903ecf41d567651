-- The name-sorted pages seek under row-level security (issue 15, run 1 of the server at
-- scale on PostgreSQL; see docs/architecture.md, "PostgreSQL").
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

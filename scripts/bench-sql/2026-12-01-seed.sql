-- 20,000 licenses into the seeded table: all indexes and the search trigger
!PRAGMA synchronous = OFF
!BEGIN
!INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, name, status, expires_at, uses, metadata, created_at, updated_at) SELECT id||'-x', account_id, environment, product_id, policy_id, key||'-X', name, status, expires_at, uses, metadata, created_at, updated_at FROM licenses LIMIT 20000
!ROLLBACK
-- without the search trigger
!BEGIN
!DROP TRIGGER license_search_insert
!INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, name, status, expires_at, uses, metadata, created_at, updated_at) SELECT id||'-x', account_id, environment, product_id, policy_id, key||'-X', name, status, expires_at, uses, metadata, created_at, updated_at FROM licenses LIMIT 20000
!ROLLBACK
-- without the search trigger and the nine indexes of 0006/0007
!BEGIN
!DROP TRIGGER license_search_insert
!DROP INDEX licenses_by_created
!DROP INDEX licenses_by_status
!DROP INDEX licenses_by_product
!DROP INDEX licenses_by_policy
!DROP INDEX licenses_by_expiry
!DROP INDEX licenses_by_name
!DROP INDEX licenses_by_uses
!DROP INDEX licenses_by_updated
!DROP INDEX licenses_by_status_expiry
!INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, name, status, expires_at, uses, metadata, created_at, updated_at) SELECT id||'-x', account_id, environment, product_id, policy_id, key||'-X', name, status, expires_at, uses, metadata, created_at, updated_at FROM licenses LIMIT 20000
!ROLLBACK
-- the search index's own backfill of 100,000 rows (what the migration does), for comparison
!BEGIN
!DELETE FROM license_search
!INSERT INTO license_search (rowid, license_id, text) SELECT rowid, id, replace(key, '-', '') || ' ' || key || ' ' || id || ' ' || ifnull(name, '') || ' ' || ifnull((SELECT group_concat(value, ' ') FROM json_each(licenses.metadata) WHERE type IN ('text', 'integer', 'real')), '') FROM licenses
!ROLLBACK
-- 200,000 activity rows: with the rollup trigger
!BEGIN
!INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at) SELECT account_id, environment, kind, product_id, license_id, code, day, created_at FROM activity LIMIT 200000
!ROLLBACK
-- without it
!BEGIN
!DROP TRIGGER activity_daily_count
!INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at) SELECT account_id, environment, kind, product_id, license_id, code, day, created_at FROM activity LIMIT 200000
!ROLLBACK

-- R1 licenses first page, as served
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R1 licenses count, as served
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live'
-- R2 q=e-mail page, as served (UNION: the e-mail has a dash)
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%customer-50000@example.com%' UNION SELECT rowid FROM license_search WHERE text LIKE '%customer50000@example.com%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R2 q=e-mail count, as served
SELECT count(*) FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%customer-50000@example.com%' UNION SELECT rowid FROM license_search WHERE text LIKE '%customer50000@example.com%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live'
-- R2b q=e-mail one LIKE, page (no undashed branch)
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%customer-50000@example.com%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R2b q=e-mail one LIKE, count
SELECT count(*) FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%customer-50000@example.com%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live'
-- R2c the matches alone, dashed
SELECT rowid FROM license_search WHERE text LIKE '%customer-50000@example.com%'
-- R2d the matches alone, undashed
SELECT rowid FROM license_search WHERE text LIKE '%customer50000@example.com%'
-- R2e the matches alone, the rare part 50000@
SELECT rowid FROM license_search WHERE text LIKE '%-50000@%'
-- R3 q=Globex page, as served
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%Globex%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R3 q=Globex count, as served
SELECT count(*) FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%Globex%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live'
-- R3b q=Globex capped count (1,001)
SELECT count(*) FROM (SELECT 1 FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%Globex%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' LIMIT 1001)
-- R3c Globex matches alone
SELECT rowid FROM license_search WHERE text LIKE '%Globex%'
-- R4 active, expiresBefore, sort=expiresAt page, as served
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00' ORDER BY ifnull(l.expires_at, '') ASC, l.rowid ASC LIMIT 25 OFFSET 0) ORDER BY ifnull(l.expires_at, '') ASC, l.rowid ASC
-- R4 count
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00'
-- R4b page, INDEXED BY licenses_by_status_expiry
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l INDEXED BY licenses_by_status_expiry WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00' ORDER BY ifnull(l.expires_at, '') ASC, l.rowid ASC LIMIT 25 OFFSET 0) ORDER BY ifnull(l.expires_at, '') ASC, l.rowid ASC
-- R5 expiresBefore page
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.expires_at < '2026-12-31T11:57:37+00:00' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R5 expiresBefore count
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.expires_at < '2026-12-31T11:57:37+00:00'
-- R6 productId page
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- R6 productId count
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- M1 machines first page
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M1 machines count
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live'
-- M2 q=name page, as served
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.rowid IN (SELECT rowid FROM machines WHERE fingerprint >= 'Grace''s MacBook Pro' AND fingerprint < 'Grace''s MacBook Pro􏿿' UNION SELECT rowid FROM machines WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND ifnull(name, '') LIKE '%Grace''s MacBook Pro%') ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M2 q=name count, as served
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.rowid IN (SELECT rowid FROM machines WHERE fingerprint >= 'Grace''s MacBook Pro' AND fingerprint < 'Grace''s MacBook Pro􏿿' UNION SELECT rowid FROM machines WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND ifnull(name, '') LIKE '%Grace''s MacBook Pro%')
-- M3 q=fingerprint start page, as served
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.rowid IN (SELECT rowid FROM machines WHERE fingerprint >= '2735b91b' AND fingerprint < '2735b91b􏿿' UNION SELECT rowid FROM machines WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND ifnull(name, '') LIKE '%2735b91b%') ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M3 q=fingerprint start count, as served
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.rowid IN (SELECT rowid FROM machines WHERE fingerprint >= '2735b91b' AND fingerprint < '2735b91b􏿿' UNION SELECT rowid FROM machines WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND ifnull(name, '') LIKE '%2735b91b%')
-- M4 DEAD page, as served
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND p.require_heartbeat AND julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 <= julianday('2026-12-01T12:45:00+00:00') ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M4 DEAD count, as served
SELECT count(*) FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND p.require_heartbeat AND julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 <= julianday('2026-12-01T12:45:00+00:00')
-- M5 NOT_STARTED page, as served
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.last_heartbeat_at IS NULL AND (NOT p.require_heartbeat OR julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 > julianday('2026-12-01T12:45:00+00:00')) ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M5 NOT_STARTED count, as served
SELECT count(*) FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.last_heartbeat_at IS NULL AND (NOT p.require_heartbeat OR julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 > julianday('2026-12-01T12:45:00+00:00'))
-- M6 platform=linux page
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.platform = 'linux' ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25 OFFSET 0
-- M6 platform=linux count
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.platform = 'linux'
-- M7 machines cursor page (created_at range)
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.created_at <= '2026-06-01T00:00:00+00:00' AND (m.created_at < '2026-06-01T00:00:00+00:00' OR m.rowid < 30000) ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25
-- U1 upkeep: unrecorded_deaths (every minute)
SELECT m.id, m.license_id, m.account_id, m.environment, m.last_heartbeat_at FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE p.require_heartbeat AND m.death_recorded_at IS NULL AND julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 <= julianday('2026-12-01T12:45:00+00:00') LIMIT 1000
-- U2 machines of heartbeat policies not yet recorded dead, in all
SELECT count(*) FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE p.require_heartbeat AND m.death_recorded_at IS NULL AND julianday(coalesce(m.last_heartbeat_at, m.created_at)) + p.heartbeat_interval_secs / 86400.0 <= julianday('2026-12-01T12:45:00+00:00')
-- S0 stats present
SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl IN ('licenses','machines') ORDER BY tbl, idx
-- A1 one-product series: machines_now, as served
SELECT coalesce(sum(machines_count), 0) FROM licenses WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live' AND product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- A2 seats, as served
WITH used AS (SELECT l.policy_id, count(*) AS active_licenses, sum(l.machines_count) AS machines_used FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > '2026-12-01T12:45:00+00:00') AND (NULL IS NULL OR l.product_id = NULL) GROUP BY l.policy_id) SELECT po.id, po.name, coalesce(u.active_licenses, 0), coalesce(u.machines_used, 0) FROM policies po LEFT JOIN used u ON u.policy_id = po.id WHERE po.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND po.environment = 'live' AND (NULL IS NULL OR po.product_id = NULL) ORDER BY po.name, po.id
-- X covering indexes (proposal)
!CREATE INDEX licenses_product_machines ON licenses (account_id, environment, product_id, machines_count)
!CREATE INDEX licenses_seats ON licenses (account_id, environment, status, expires_at, policy_id, product_id, machines_count)
-- A1b machines_now with licenses_product_machines
SELECT coalesce(sum(machines_count), 0) FROM licenses WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live' AND product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- A2b seats with licenses_seats
WITH used AS (SELECT l.policy_id, count(*) AS active_licenses, sum(l.machines_count) AS machines_used FROM licenses l INDEXED BY licenses_seats WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > '2026-12-01T12:45:00+00:00') GROUP BY l.policy_id) SELECT po.id, po.name, coalesce(u.active_licenses, 0), coalesce(u.machines_used, 0) FROM policies po LEFT JOIN used u ON u.policy_id = po.id WHERE po.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND po.environment = 'live' ORDER BY po.name, po.id
-- B1 heartbeat deaths recorded during the run
SELECT action, count(*) FROM audit_events GROUP BY action
-- B2 e-mail expression index (proposal)
!CREATE INDEX licenses_by_email ON licenses (account_id, environment, lower(json_extract(metadata, '$.email')))
-- B2 e-mail exact lookup
SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND lower(json_extract(l.metadata, '$.email')) = 'customer-50000@example.com' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25

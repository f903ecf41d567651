-- F1f q=GNHL page, CROSS JOIN from the search's rowids (sorts only the matches)
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, (SELECT count(*) FROM machines m WHERE m.license_id = l.id) AS machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%GNHL%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- F1g q=Globex page, CROSS JOIN from the search (6,000 matches)
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, (SELECT count(*) FROM machines m WHERE m.license_id = l.id) AS machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%Globex%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- F1h q=e-mail page, one LIKE, CROSS JOIN
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, (SELECT count(*) FROM machines m WHERE m.license_id = l.id) AS machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM (SELECT rowid AS r FROM license_search WHERE text LIKE '%customer-50000@example.com%') s CROSS JOIN licenses l ON l.rowid = s.r WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' ORDER BY l.created_at DESC, l.rowid DESC LIMIT 25 OFFSET 0) ORDER BY l.created_at DESC, l.rowid DESC
-- F1h q=e-mail count, one LIKE
SELECT count(*) FROM license_search WHERE text LIKE '%customer-50000@example.com%'
-- X1 export chunk of 500 after a cursor (as served by page_of)
SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at, p.max_uses, p.max_machines AS policy_max_machines, p.floating, (SELECT count(*) FROM machines m WHERE m.license_id = l.id) AS machines_count, l.rowid AS rowid FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND (l.created_at, l.rowid) < ('2025-12-01T05:35:50.474675590+00:00', 31794) ORDER BY l.created_at DESC, l.rowid DESC LIMIT 500) ORDER BY l.created_at DESC, l.rowid DESC
-- X1b export chunk without the correlated machines count
SELECT l.id, l.key, l.name, l.status, l.product_id, l.policy_id, l.expires_at, l.created_at, l.uses, l.metadata FROM licenses l WHERE l.rowid IN (SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND (l.created_at, l.rowid) < ('2025-12-01T05:35:50.474675590+00:00', 31794) ORDER BY l.created_at DESC, l.rowid DESC LIMIT 500) ORDER BY l.created_at DESC, l.rowid DESC
-- S1 seats, as served (db::analytics::policy_use)
WITH used AS (SELECT l.policy_id, count(*) AS active_licenses, sum((SELECT count(*) FROM machines m WHERE m.license_id = l.id)) AS machines_used FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > '2026-12-01T11:57:37.848675590+00:00') AND (NULL IS NULL OR l.product_id = NULL) GROUP BY l.policy_id) SELECT po.id, po.name, po.product_id, po.floating, po.max_machines, coalesce(u.active_licenses, 0), coalesce(u.machines_used, 0) FROM policies po LEFT JOIN used u ON u.policy_id = po.id WHERE po.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND po.environment = 'live' ORDER BY po.name, po.id
-- S2 series with product: machines_now, as served
SELECT count(*) FROM licenses l JOIN machines m ON m.license_id = l.id WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- S3 series: validations by day, 90 days, product
SELECT day, code, sum(count) FROM activity_daily WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live' AND kind = 'validation' AND day >= '2026-09-03' AND day <= '2026-12-01' AND ('cde30df0-a3f0-4f48-ba8b-f1e60ad0a313' IS NULL OR product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313') GROUP BY day, code ORDER BY day, code
-- S4 series: activations by day, product
SELECT day, sum(CASE kind WHEN 'activation' THEN count ELSE 0 END), sum(CASE kind WHEN 'deactivation' THEN count ELSE 0 END) FROM activity_daily WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live' AND kind IN ('activation', 'deactivation') AND day >= '2026-09-03' AND day <= '2026-12-01' AND ('cde30df0-a3f0-4f48-ba8b-f1e60ad0a313' IS NULL OR product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313') GROUP BY day ORDER BY day
-- S5 machines_now, all
SELECT count(*) FROM machines WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live'
-- D1 add licenses.machines_count (kept by triggers on machines), indexes that cover it
!ALTER TABLE licenses ADD COLUMN machines_count INTEGER NOT NULL DEFAULT 0
!UPDATE licenses SET machines_count = (SELECT count(*) FROM machines m WHERE m.license_id = licenses.id)
!CREATE INDEX licenses_seats ON licenses (account_id, environment, status, expires_at, policy_id, product_id, machines_count)
!CREATE INDEX licenses_product_machines ON licenses (account_id, environment, product_id, machines_count)
-- D1 seats with the stored count
WITH used AS (SELECT l.policy_id, count(*) AS active_licenses, sum(l.machines_count) AS machines_used FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > '2026-12-01T11:57:37.848675590+00:00') GROUP BY l.policy_id) SELECT po.id, po.name, po.product_id, po.floating, po.max_machines, coalesce(u.active_licenses, 0), coalesce(u.machines_used, 0) FROM policies po LEFT JOIN used u ON u.policy_id = po.id WHERE po.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND po.environment = 'live' ORDER BY po.name, po.id
-- D1 machines_now for a product with the stored count
SELECT sum(machines_count) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- D2 machines: platform index
!CREATE INDEX machines_by_platform ON machines (account_id, environment, platform, created_at)
-- D2 platform=linux count, no joins, with the index
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.platform = 'linux'
-- D2 platform=kubernetes page with the index
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval, m.rowid AS rowid FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.platform = 'kubernetes' ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25
-- D3 machines: stored heartbeat due time (NULL when the policy needs no heartbeat), indexed
!ALTER TABLE machines ADD COLUMN heartbeat_due_at TEXT
!UPDATE machines SET heartbeat_due_at = (SELECT CASE WHEN p.require_heartbeat THEN strftime('%Y-%m-%dT%H:%M:%f', julianday(coalesce(machines.last_heartbeat_at, machines.created_at)) + p.heartbeat_interval_secs / 86400.0) END FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = machines.license_id)
!CREATE INDEX machines_by_due ON machines (account_id, environment, heartbeat_due_at)
-- D3 DEAD count with the stored due time
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.heartbeat_due_at <= strftime('%Y-%m-%dT%H:%M:%f', '2026-12-01T11:57:37.848675590+00:00')
-- D4 machines name search: trigram index over names
!CREATE VIRTUAL TABLE machine_search USING fts5(text, tokenize = 'trigram')
!INSERT INTO machine_search (rowid, text) SELECT rowid, ifnull(name, '') FROM machines
-- D4 q=name page via the trigram index (CROSS JOIN from matches)
SELECT m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at, m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs, m.rowid FROM (SELECT rowid AS r FROM machine_search WHERE text LIKE '%DESKTOP-961E7F%') s CROSS JOIN machines m ON m.rowid = s.r JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' ORDER BY m.created_at DESC, m.rowid DESC LIMIT 25
-- D4 q=name count via the trigram index
SELECT count(*) FROM (SELECT rowid AS r FROM machine_search WHERE text LIKE '%DESKTOP-961E7F%') s CROSS JOIN machines m ON m.rowid = s.r WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live'
-- D4 q=Grace's MacBook Pro count (a common name)
SELECT count(*) FROM (SELECT rowid AS r FROM machine_search WHERE text LIKE '%Grace''s MacBook Pro%') s CROSS JOIN machines m ON m.rowid = s.r WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live'
-- D4 q=fingerprint start, count (range on machines_by_fingerprint, no name LIKE)
SELECT count(*) FROM machines m WHERE m.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND m.environment = 'live' AND m.fingerprint >= '2735b91b' AND m.fingerprint < '2735b91bz'

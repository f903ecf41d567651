-- G1 q=Globex count, capped at 1,001
SELECT count(*) FROM (SELECT rowid FROM license_search WHERE text LIKE '%Globex%' LIMIT 1001)
-- H1 expiresBefore count, as served
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.expires_at < '2026-12-31T11:57:37+00:00'
-- H2 active, expiresBefore, sort=expiresAt page (rowids), as served
SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00' ORDER BY ifnull(l.expires_at, '') ASC, l.rowid ASC LIMIT 25
-- H2 count, as served
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00'
-- N1 sort=name cursor page (rowids), as served
SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND (ifnull(l.name, ''), l.rowid) > ('Wayne Group — Ken #89915', 89917) ORDER BY ifnull(l.name, '') ASC, l.rowid ASC LIMIT 25
!CREATE INDEX licenses_by_expires ON licenses (account_id, environment, expires_at)
-- H1b expiresBefore count with (account_id, environment, expires_at)
SELECT count(*) FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.expires_at < '2026-12-31T11:57:37+00:00'
-- H2b active, expiresBefore count with licenses_by_status_expiry range (status first)
SELECT count(*) FROM licenses l INDEXED BY licenses_by_status_expiry WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.status = 'active' AND l.expires_at < '2026-12-31T11:57:37+00:00'

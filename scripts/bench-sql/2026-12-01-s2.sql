-- S2 machines_now for a product, as served, after ANALYZE
SELECT count(*) FROM licenses l JOIN machines m ON m.license_id = l.id WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- S2b same, licenses_by_product forced
SELECT count(*) FROM licenses l INDEXED BY licenses_by_product JOIN machines m ON m.license_id = l.id WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND l.product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'
-- S2c machines_now from the rollup: every activation minus every deactivation of the product (the log holds them all)
SELECT sum(CASE kind WHEN 'activation' THEN count ELSE -count END) FROM activity_daily WHERE account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND environment = 'live' AND kind IN ('activation', 'deactivation') AND product_id = 'cde30df0-a3f0-4f48-ba8b-f1e60ad0a313'

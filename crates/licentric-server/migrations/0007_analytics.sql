-- Indexes behind the dashboard's analytics (GET /analytics/series, /seats, /expiring),
-- so each answers from an index alone instead of reading the tables' rows.

-- Every per-day count (validations by code, activations, deactivations) reads only these
-- columns: a covering index, so a 90-day series is a range scan of the index. It extends
-- activity_by_day, which it makes redundant.
CREATE INDEX activity_series ON activity (account_id, environment, kind, day, product_id, code);
DROP INDEX activity_by_day;

-- Active licenses of an account, by expiry: the expiring counts are a range of it, and
-- the seats read the active ones without visiting the other statuses.
CREATE INDEX licenses_by_expiry
    ON licenses (account_id, environment, status, expires_at, product_id, policy_id);

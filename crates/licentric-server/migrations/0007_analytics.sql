-- Behind the dashboard's analytics (GET /analytics/series, /seats, /expiring, and the
-- older /validations and /activations).

-- The activity log rolled up per day: a 90-day series over a million activity rows read
-- the log's index entry by entry (about half a second); the rollup holds one row per
-- account, environment, kind, day, product and code, so a series reads a few thousand.
-- A trigger keeps it, so every writer of the log (the server, bulk seeds) keeps it
-- without knowing. `code` is '' for activations and deactivations: a NULL would never
-- match the key, and each would add a row.
CREATE TABLE activity_daily (
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    day          TEXT NOT NULL,
    product_id   TEXT NOT NULL,
    code         TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (account_id, environment, kind, day, product_id, code)
) WITHOUT ROWID;

INSERT INTO activity_daily (account_id, environment, kind, day, product_id, code, count)
SELECT account_id, environment, kind, day, product_id, coalesce(code, ''), count(*)
FROM activity GROUP BY account_id, environment, kind, day, product_id, coalesce(code, '');

CREATE TRIGGER activity_daily_count AFTER INSERT ON activity
BEGIN
    INSERT INTO activity_daily (account_id, environment, kind, day, product_id, code, count)
    VALUES (NEW.account_id, NEW.environment, NEW.kind, NEW.day, NEW.product_id,
            coalesce(NEW.code, ''), 1)
    ON CONFLICT (account_id, environment, kind, day, product_id, code)
    DO UPDATE SET count = count + 1;
END;

-- Active licenses of an account, by expiry: the expiring counts are a range of it, and
-- the seats read the active ones (with their ids, to count their machines on the
-- machines' license_id index) without visiting the licenses' rows or other statuses.
CREATE INDEX licenses_by_status_expiry
    ON licenses (account_id, environment, status, expires_at, product_id, policy_id, id);

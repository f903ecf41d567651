-- Search and filters over large lists (issue 10): every list filter has an index that
-- leads with the tenant and ends with the sort, so a first page or a cursor page reads
-- only the rows it answers.
CREATE INDEX licenses_by_created ON licenses (account_id, environment, created_at);
CREATE INDEX licenses_by_status ON licenses (account_id, environment, status, created_at);
CREATE INDEX licenses_by_product ON licenses (account_id, environment, product_id, created_at);
CREATE INDEX licenses_by_policy ON licenses (account_id, environment, policy_id, created_at);
CREATE INDEX licenses_by_expiry ON licenses (account_id, environment, ifnull(expires_at, ''));
-- The expiresBefore / expiresAfter filters compare expires_at itself.
CREATE INDEX licenses_by_expires ON licenses (account_id, environment, expires_at);
CREATE INDEX licenses_by_name ON licenses (account_id, environment, ifnull(name, ''));
CREATE INDEX licenses_by_uses ON licenses (account_id, environment, uses);
CREATE INDEX licenses_by_updated ON licenses (account_id, environment, updated_at);
CREATE INDEX machines_by_created ON machines (account_id, environment, created_at);
CREATE INDEX machines_by_license ON machines (license_id, created_at);
CREATE INDEX machines_by_fingerprint ON machines (fingerprint);
CREATE INDEX machines_by_platform ON machines (account_id, environment, platform, created_at);

-- Substring search over a license's key (without dashes), id, name and metadata values,
-- case-insensitive: a trigram index answers `LIKE '%fragment%'` for fragments of three
-- characters or more without reading every license. Its rows share the license's rowid;
-- the server checks the pairing at start (db::check_search) and rebuilds the index if a
-- VACUUM from outside renumbered the licenses.
CREATE VIRTUAL TABLE license_search USING fts5(
    text,
    license_id UNINDEXED,
    tokenize = 'trigram'
);

CREATE TRIGGER license_search_insert AFTER INSERT ON licenses BEGIN
    INSERT OR REPLACE INTO license_search (rowid, license_id, text)
    VALUES (NEW.rowid, NEW.id, replace(NEW.key, '-', '') || ' ' || NEW.key || ' ' || NEW.id || ' ' ||
            ifnull(NEW.name, '') || ' ' ||
            ifnull((SELECT group_concat(value, ' ') FROM json_each(NEW.metadata)
                    WHERE type IN ('text', 'integer', 'real')), ''));
END;

CREATE TRIGGER license_search_update AFTER UPDATE OF key, name, metadata ON licenses BEGIN
    DELETE FROM license_search WHERE rowid = OLD.rowid;
    INSERT OR REPLACE INTO license_search (rowid, license_id, text)
    VALUES (NEW.rowid, NEW.id, replace(NEW.key, '-', '') || ' ' || NEW.key || ' ' || NEW.id || ' ' ||
            ifnull(NEW.name, '') || ' ' ||
            ifnull((SELECT group_concat(value, ' ') FROM json_each(NEW.metadata)
                    WHERE type IN ('text', 'integer', 'real')), ''));
END;

CREATE TRIGGER license_search_delete AFTER DELETE ON licenses BEGIN
    DELETE FROM license_search WHERE rowid = OLD.rowid;
END;

INSERT INTO license_search (rowid, license_id, text)
SELECT rowid, id, replace(key, '-', '') || ' ' || key || ' ' || id || ' ' || ifnull(name, '') || ' ' ||
       ifnull((SELECT group_concat(value, ' ') FROM json_each(licenses.metadata)
               WHERE type IN ('text', 'integer', 'real')), '')
FROM licenses;

-- Each license keeps its number of machines, updated by triggers as machines come and go:
-- lists, exports and seat counts read it instead of counting machines license by license.
ALTER TABLE licenses ADD COLUMN machines_count INTEGER NOT NULL DEFAULT 0;
UPDATE licenses SET machines_count = (SELECT count(*) FROM machines m WHERE m.license_id = licenses.id);

CREATE TRIGGER machines_count_insert AFTER INSERT ON machines BEGIN
    UPDATE licenses SET machines_count = machines_count + 1 WHERE id = NEW.license_id;
END;

CREATE TRIGGER machines_count_delete AFTER DELETE ON machines BEGIN
    UPDATE licenses SET machines_count = machines_count - 1 WHERE id = OLD.license_id;
END;

-- One product's machines (the analytics series) and the seats sum the stored counts of
-- a product's or a status's licenses: from the index alone.
CREATE INDEX licenses_product_machines ON licenses (account_id, environment, product_id, machines_count);

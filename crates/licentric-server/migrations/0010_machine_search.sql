-- Machines are searched by a fragment of their name: a trigram index, as for licenses
-- (0006), kept by triggers. Its rows share the machine's rowid; db::check_search checks
-- the pairing at start and rebuilds the index if a VACUUM renumbered the machines.
CREATE VIRTUAL TABLE machine_search USING fts5(
    text,
    machine_id UNINDEXED,
    tokenize = 'trigram'
);

CREATE TRIGGER machine_search_insert AFTER INSERT ON machines BEGIN
    INSERT OR REPLACE INTO machine_search (rowid, machine_id, text)
    VALUES (NEW.rowid, NEW.id, ifnull(NEW.name, ''));
END;

CREATE TRIGGER machine_search_update AFTER UPDATE OF name ON machines BEGIN
    DELETE FROM machine_search WHERE rowid = OLD.rowid;
    INSERT OR REPLACE INTO machine_search (rowid, machine_id, text)
    VALUES (NEW.rowid, NEW.id, ifnull(NEW.name, ''));
END;

CREATE TRIGGER machine_search_delete AFTER DELETE ON machines BEGIN
    DELETE FROM machine_search WHERE rowid = OLD.rowid;
END;

INSERT INTO machine_search (rowid, machine_id, text)
SELECT rowid, id, ifnull(name, '') FROM machines;

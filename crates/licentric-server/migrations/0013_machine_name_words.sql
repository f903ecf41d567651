-- A word index of machine names, beside the trigram index of 0010, for a `q` made of
-- several words (`Grace's MacBook Pro`). Its phrase of 17 trigrams, each in thousands of
-- names, took 14 ms in the trigram index; the same words as a phrase of this index ~3 ms.
--
-- The index holds each name *reversed* (`orP kooBcaM s'ecarG`), tokenized into words by
-- `unicode61`. A search still means "the name contains q" (a LIKE), and in a match the
-- first word of q may be the end of a longer word of the name (`XGrace's …`): reversed, it
-- is the start of a word, which an FTS5 prefix query finds (`"koobcam s ecarg"*`). A
-- last word of q that may continue in the name (`… Pro` in `… Pros`) is left out. The
-- phrase is a necessary condition; db::machines tests the name itself on the candidates.
--
-- SQLite has no reverse(): the characters are taken last to first through json_each over
-- an array of as many elements as the name has characters. Its rows share the machine's
-- rowid; db::check_search checks the pairing at start, as for the other two indexes.
CREATE VIRTUAL TABLE machine_words USING fts5(
    text,
    machine_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER machine_words_insert AFTER INSERT ON machines BEGIN
    INSERT OR REPLACE INTO machine_words (rowid, machine_id, text)
    VALUES (NEW.rowid, NEW.id, ifnull((
        SELECT group_concat(substr(NEW.name, length(NEW.name) - key, 1), '')
        FROM json_each('[' || substr(replace(printf('%.*c', length(NEW.name), 'x'), 'x', ',0'), 2) || ']')
    ), ''));
END;

CREATE TRIGGER machine_words_update AFTER UPDATE OF name ON machines BEGIN
    DELETE FROM machine_words WHERE rowid = OLD.rowid;
    INSERT OR REPLACE INTO machine_words (rowid, machine_id, text)
    VALUES (NEW.rowid, NEW.id, ifnull((
        SELECT group_concat(substr(NEW.name, length(NEW.name) - key, 1), '')
        FROM json_each('[' || substr(replace(printf('%.*c', length(NEW.name), 'x'), 'x', ',0'), 2) || ']')
    ), ''));
END;

CREATE TRIGGER machine_words_delete AFTER DELETE ON machines BEGIN
    DELETE FROM machine_words WHERE rowid = OLD.rowid;
END;

INSERT INTO machine_words (rowid, machine_id, text)
SELECT rowid, id, ifnull((
    SELECT group_concat(substr(name, length(name) - key, 1), '')
    FROM json_each('[' || substr(replace(printf('%.*c', length(name), 'x'), 'x', ',0'), 2) || ']')
), '')
FROM machines;

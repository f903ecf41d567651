-- SQLite's rowid for licenses and machines: the insertion order that breaks ties of a
-- list's sort and that list cursors carry (`after=`), so a page on PostgreSQL is in the
-- same order as on SQLite and a cursor needs no text id. Identity columns need no
-- privilege on their sequence beyond INSERT on the table.
ALTER TABLE licenses ADD COLUMN rowid bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX licenses_rowid ON licenses (rowid);
ALTER TABLE machines ADD COLUMN rowid bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX machines_rowid ON machines (rowid);

-- N1 sort=name cursor page (rowids), as served: row value on the expression
SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND (ifnull(l.name, ''), l.rowid) > ('Wayne Group — Ken #89915', 89917) ORDER BY ifnull(l.name, '') ASC, l.rowid ASC LIMIT 25
-- N2 same, the row value spelt out so the first term is a range of licenses_by_name
SELECT l.rowid FROM licenses l WHERE l.account_id = '9d144012-d8d0-436c-9940-2bffa2f60e7a' AND l.environment = 'live' AND ifnull(l.name, '') >= 'Wayne Group — Ken #89915' AND (ifnull(l.name, '') > 'Wayne Group — Ken #89915' OR l.rowid > 89917) ORDER BY ifnull(l.name, '') ASC, l.rowid ASC LIMIT 25

-- Workload "truncrow", phase 2: a three-row insert, then a TRUNCATE; a two-row insert, then an ALTER; then a one-row
-- insert of another table and a TRUNCATE of the first.
USE tr;
INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
TRUNCATE TABLE t;
INSERT INTO t VALUES (4, 'd'), (5, 'e');
ALTER TABLE t ADD COLUMN w INT;
INSERT INTO u VALUES (1);
TRUNCATE TABLE t;

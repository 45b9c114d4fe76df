-- Workload "failmodes", phase 2: rows of a table the connector has never seen created (its CREATE
-- TABLE was kept out of the binlog), and rows with more columns than the schema the connector
-- knows (an ALTER kept out of the binlog); a good row after each.
USE fm;
INSERT INTO t1 VALUES (1, 1);
SET sql_log_bin = 0;
CREATE TABLE ghost (id INT PRIMARY KEY, v INT);
SET sql_log_bin = 1;
INSERT INTO ghost VALUES (1, 1);
INSERT INTO t1 VALUES (2, 2);
SET sql_log_bin = 0;
ALTER TABLE t1 ADD COLUMN extra VARCHAR(10) DEFAULT 'x';
SET sql_log_bin = 1;
INSERT INTO t1 VALUES (3, 3, 'three');
UPDATE t1 SET v = 30 WHERE id = 3;
INSERT INTO t1 VALUES (4, 4, 'four');

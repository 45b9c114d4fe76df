-- Workload "failtype", phase 2: `v` becomes VARCHAR behind the connector's back (the ALTER kept out of the binlog),
-- so rows carry text where the known schema says INT; a good row before and after (row 3 deleted and the ALTER undone the same way).
USE ft;
INSERT INTO t VALUES (2, 2);
SET sql_log_bin = 0;
ALTER TABLE t MODIFY v VARCHAR(10);
SET sql_log_bin = 1;
INSERT INTO t VALUES (3, 'three');
SET sql_log_bin = 0;
DELETE FROM t WHERE id = 3;
ALTER TABLE t MODIFY v INT;
SET sql_log_bin = 1;
INSERT INTO t VALUES (4, 4);

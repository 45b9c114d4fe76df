-- Workload "setpos", phase 2: rows 2-4, then row 5 and a set-binlog-position signal naming the position right after
-- row 4's transaction (mysql-bin.000001:1697; the binlog of a fresh oracle server is deterministic), then row 6.
USE sp;
INSERT INTO t VALUES (2, 'two');
INSERT INTO t VALUES (3, 'three');
INSERT INTO t VALUES (4, 'four');
INSERT INTO t VALUES (5, 'five');
INSERT INTO debezium_signal VALUES ('pos-1', 'set-binlog-position',
  '{"binlog_filename": "mysql-bin.000001", "binlog_position": 1697}');
DO SLEEP(3);
INSERT INTO t VALUES (6, 'six');

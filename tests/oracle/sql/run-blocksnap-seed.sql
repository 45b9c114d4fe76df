-- Workload "blocksnap", phase 1: a signal table and one table, captured by the initial snapshot. The tables the
-- blocking snapshots read are created in phase 2 (see there).
CREATE DATABASE blk;
USE blk;
CREATE TABLE debezium_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL);
GRANT INSERT, UPDATE, DELETE ON blk.debezium_signal TO 'debezium'@'%';
GRANT INSERT, UPDATE, DELETE ON blk.debezium_signal TO 'debezium'@'localhost';
CREATE TABLE base (id INT PRIMARY KEY, v VARCHAR(10));
INSERT INTO base VALUES (1, 'one');

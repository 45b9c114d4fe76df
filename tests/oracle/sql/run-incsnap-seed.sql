-- Workload "incsnap", phase 1: a signal table and two tables that the connector only reads through incremental
-- snapshots (the run uses snapshot.mode=no_data). Debezium writes its snapshot-window watermarks into the signal table.
CREATE DATABASE inc;
USE inc;
CREATE TABLE debezium_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL);
GRANT INSERT, UPDATE, DELETE ON inc.debezium_signal TO 'debezium'@'%';
GRANT INSERT, UPDATE, DELETE ON inc.debezium_signal TO 'debezium'@'localhost';
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), qty INT);
INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', 4), (5, 'e', 5), (6, 'f', 6), (7, 'g', 7);
CREATE TABLE pairs (k1 VARCHAR(4) NOT NULL, k2 INT NOT NULL, v TEXT, PRIMARY KEY (k1, k2));
INSERT INTO pairs VALUES ('a', 2, 'a2'), ('a', 1, 'a1'), ('b', 1, 'b1'), ('a', 10, 'a10'), ('c', 0, NULL);
CREATE TABLE empty_t (id BIGINT PRIMARY KEY, v INT);

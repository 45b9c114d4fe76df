-- Workload "failmodes", phase 1: one captured table.
CREATE DATABASE fm;
USE fm;
CREATE TABLE t1 (id INT PRIMARY KEY, v INT);
INSERT INTO t1 VALUES (0, 0);

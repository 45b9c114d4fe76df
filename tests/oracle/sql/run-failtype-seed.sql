-- Workload "failtype", phase 1: a table whose column `v` the connector will know as INT.
CREATE DATABASE ft;
USE ft;
CREATE TABLE t (id INT PRIMARY KEY, v INT);
INSERT INTO t VALUES (1, 1);

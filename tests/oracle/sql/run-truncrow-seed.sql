-- Workload "truncrow", phase 1: two tables.
CREATE DATABASE tr;
USE tr;
CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));
CREATE TABLE u (id INT PRIMARY KEY);

-- Workload "shapes", phase 1 (before the connector starts): tables without a primary key, tables keyed only by a
-- unique index (NOT NULL, nullable, several), and generated columns (STORED and VIRTUAL).
CREATE DATABASE shapes;
USE shapes;
CREATE TABLE nopk (a INT, b VARCHAR(10), c DECIMAL(6,2));
INSERT INTO nopk VALUES (1, 'one', 1.50), (2, 'two', NULL), (NULL, NULL, NULL);
CREATE TABLE uniq_nn (code VARCHAR(8) NOT NULL, n INT, UNIQUE KEY uk_code (code));
INSERT INTO uniq_nn VALUES ('AA', 1), ('BB', 2);
CREATE TABLE uniq_null (code VARCHAR(8), n INT, UNIQUE KEY uk_code (code));
INSERT INTO uniq_null VALUES ('AA', 1), (NULL, 2);
CREATE TABLE uniq_two (a INT NOT NULL, b INT NOT NULL, c INT, d INT NOT NULL,
  UNIQUE KEY u_c (c), UNIQUE KEY u_ab (a, b), UNIQUE KEY u_d (d));
INSERT INTO uniq_two VALUES (1, 10, 100, 7), (2, 20, NULL, 8);
CREATE TABLE gen (id INT PRIMARY KEY, price DECIMAL(8,2) NOT NULL, qty INT NOT NULL,
  total DECIMAL(10,2) AS (price * qty) STORED, label VARCHAR(20) AS (CONCAT('q', qty)) VIRTUAL, note VARCHAR(10));
INSERT INTO gen (id, price, qty, note) VALUES (1, 2.50, 4, 'x'), (2, 10.00, 1, NULL);
CREATE TABLE gen_key (name VARCHAR(10) NOT NULL, lname VARCHAR(10) AS (LOWER(name)) STORED, v INT,
  UNIQUE KEY u_lname (lname));
INSERT INTO gen_key (name, v) VALUES ('Alpha', 1), ('Beta', 2);

-- Workload "blocksnap", phase 2: streamed changes around two blocking snapshots. The tables they read are created
-- here, after the initial snapshot: Debezium 3.6.3 keeps the schema events of its initial snapshot in memory and
-- re-emits those (stale, with the initial snapshot's offsets) for tables it snapshotted before, in the same process
-- only; for other tables, and after a restart, it emits the tables' current DDL at the blocking snapshot's position,
-- which is what this workload records.
-- The first snapshot names three tables exactly (one without a key, one empty); its signal carries a fixed binlog
-- timestamp (SET timestamp) to tell the event's time from the clock. The second names a table by a regular expression,
-- after that table was altered, with an additional condition (a whole SELECT for blocking snapshots).
USE blk;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), qty INT);
INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
CREATE TABLE notes (line INT, txt VARCHAR(20));
INSERT INTO notes VALUES (1, 'x'), (2, 'y');
CREATE TABLE empty_t (id BIGINT PRIMARY KEY, v INT);
CREATE TABLE pairs (k1 VARCHAR(4) NOT NULL, k2 INT NOT NULL, v TEXT, PRIMARY KEY (k1, k2));
INSERT INTO pairs VALUES ('a', 2, 'a2'), ('a', 1, 'a1'), ('b', 3, 'b3');
INSERT INTO items VALUES (4, 'd', 4);
INSERT INTO base VALUES (2, 'two');
SET timestamp = 1700000000;
INSERT INTO debezium_signal VALUES ('blk-1', 'execute-snapshot',
  '{"data-collections": ["blk.items", "blk.notes", "blk.empty_t"], "type": "blocking"}');
SET timestamp = DEFAULT;
DO SLEEP(4);
UPDATE items SET qty = 30 WHERE id = 3;
ALTER TABLE pairs ADD COLUMN w INT DEFAULT 7;
INSERT INTO debezium_signal VALUES ('blk-2', 'execute-snapshot',
  '{"data-collections": ["blk\\\\.pai.*"], "type": "BLOCKING", "additional-conditions": [{"data-collection": "blk.pairs", "filter": "SELECT * FROM blk.pairs WHERE k2 > 1"}]}');
DO SLEEP(4);
DELETE FROM items WHERE id = 1;

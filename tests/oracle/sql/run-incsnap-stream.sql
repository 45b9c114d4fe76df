-- Workload "incsnap", phase 2: streamed changes, then an incremental snapshot of three tables, then (after it has
-- finished) one with an additional condition, and a log signal.
USE inc;
INSERT INTO items VALUES (8, 'h', 8);
INSERT INTO debezium_signal VALUES ('sig-1', 'execute-snapshot',
  '{"data-collections": ["inc.items", "inc.pairs", "inc.empty_t"], "type": "incremental"}');
DO SLEEP(4);
UPDATE items SET qty = 30 WHERE id = 3;
INSERT INTO debezium_signal VALUES ('sig-2', 'execute-snapshot',
  '{"data-collections": ["inc.items"], "type": "INCREMENTAL", "additional-conditions": [{"data-collection": "inc.items", "filter": "qty > 5"}]}');
DO SLEEP(4);
INSERT INTO debezium_signal VALUES ('sig-3', 'log', '{"message": "signal log at offset {}"}');
DELETE FROM items WHERE id = 1;

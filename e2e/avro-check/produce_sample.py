#!/usr/bin/env python3
"""Writes the oracle's golden Avro records into fresh topics on Kafka with Confluent's Python AvroSerializer and a
schema registry, and the record list the checkers must read back (to validate AvroCheck.java and py_check.py
before the connector writes Avro itself).

For every record of ``<golden>/main.avro.jsonl`` (the real Debezium's records through AvroConverter, key/value in
Avro's JSON encoding) the key and value are read back into Python objects with the golden schema
(``main.avro-schemas.jsonl``, by schema id) and produced with ``AvroSerializer`` (TopicNameStrategy,
auto-registration, compatibility NONE per subject, see below) to the topic ``TOPIC_PREFIX + <golden topic>``;
tombstones stay tombstones. One extra record
with a null key (the first flights value) covers that case. The topics are created first (tansu has no
auto-create), with PARTITIONS partitions each.

EXPECTED_OUT gets the records in the checkers' format (``topic, partition, offset, key_schema_id, key,
value_schema_id, value``, key/value = the golden Avro JSON, schema ids = the ones the registry gave) and a summary
line. stderr reports how many serialized payloads are byte-identical to Debezium's (``key_hex``/``value_hex``
without the 5-byte header): informational, fastavro and Avro's Java encoder should agree.

Usage: produce_sample.py BOOTSTRAP REGISTRY_URL TOPIC_PREFIX EXPECTED_OUT [GOLDEN_DIR] [PARTITIONS]
  GOLDEN_DIR default: ../shared/oracle/golden next to the repository, else /work/shared/oracle/golden
  PARTITIONS default 2
"""

import io
import json
import os
import struct
import sys

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def golden_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "..", "..", "..", "shared", "oracle", "golden"), "/work/shared/oracle/golden"):
        if os.path.isfile(os.path.join(d, "main.avro.jsonl")):
            return os.path.abspath(d)
    raise SystemExit("golden files not found: pass GOLDEN_DIR")


def from_avro_json(schema, value):
    """A value in Avro's JSON encoding as the Python object fastavro writes (logical types applied)."""
    reader = fastavro.json_reader(io.StringIO(json.dumps(value)), schema)
    return next(iter(reader))


def main(argv):
    if len(argv) not in (5, 6, 7):
        print("usage: produce_sample.py BOOTSTRAP REGISTRY_URL TOPIC_PREFIX EXPECTED_OUT [GOLDEN_DIR] [PARTITIONS]",
              file=sys.stderr)
        return 2
    bootstrap, registry_url, prefix, out = argv[1:5]
    gdir = argv[5] if len(argv) >= 6 else golden_dir()
    partitions = int(argv[6]) if len(argv) == 7 else 2

    schemas = {}
    with open(os.path.join(gdir, "main.avro-schemas.jsonl"), encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            schemas[s["id"]] = s["schema"]
    with open(os.path.join(gdir, "main.avro.jsonl"), encoding="utf-8") as f:
        golden = [json.loads(line) for line in f]
    first_flights = next(r for r in golden if r["topic"] == "dbserver1.final.flights")
    extra = dict(first_flights, key=None, key_schema_id=None, key_hex=None)
    golden.append(extra)

    topics = sorted({prefix + r["topic"] for r in golden})
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for topic, fut in admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics]).items():
        fut.result()  # raises if the topic could not be created (e.g. it exists: use a fresh prefix)
    print(f"produce-sample: created {len(topics)} topics with prefix {prefix!r}", file=sys.stderr)

    registry = SchemaRegistryClient({"url": registry_url})
    # The golden run changes products.weight from FLOAT NULL to DOUBLE NOT NULL: a BACKWARD-incompatible Avro change
    # (a ["null","float"] writer cannot be read as "double") that the oracle's mock registry did not check and that
    # Confluent's registry (and ours) refuses with 409. This sample checks the consumers, not compatibility rules:
    # every subject it writes gets compatibility NONE.
    for topic in topics:
        for suffix in ("-key", "-value"):
            registry.set_compatibility(subject_name=topic + suffix, level="NONE")
    serializers = {}  # (schema id, is key) -> AvroSerializer
    parsed = {}  # schema id -> fastavro parsed schema

    def serialize(topic, field, schema_id, value):
        if value is None:
            return None
        if schema_id not in parsed:
            parsed[schema_id] = fastavro.parse_schema(schemas[schema_id])
        key = (schema_id, field)
        if key not in serializers:
            serializers[key] = AvroSerializer(registry, json.dumps(schemas[schema_id]))
        datum = from_avro_json(parsed[schema_id], value)
        return serializers[key](datum, SerializationContext(topic, field))

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 5})
    delivered = []
    errors = []
    same_bytes = [0, 0]  # payloads equal to Debezium's / compared

    for r in golden:
        topic = prefix + r["topic"]
        k = serialize(topic, MessageField.KEY, r["key_schema_id"], r["key"])
        v = serialize(topic, MessageField.VALUE, r["value_schema_id"], r["value"])
        for ours, theirs in ((k, r.get("key_hex")), (v, r.get("value_hex"))):
            if ours is not None and theirs:
                same_bytes[1] += 1
                same_bytes[0] += ours[5:] == bytes.fromhex(theirs)[5:]
        expected = {"key": r["key"], "value": r["value"],
                    "key_schema_id": struct.unpack(">i", k[1:5])[0] if k else None,
                    "value_schema_id": struct.unpack(">i", v[1:5])[0] if v else None}

        def on_delivery(err, msg, expected=expected):
            if err is not None:
                errors.append(str(err))
            else:
                delivered.append({"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                                  "key_schema_id": expected["key_schema_id"], "key": expected["key"],
                                  "value_schema_id": expected["value_schema_id"], "value": expected["value"]})

        producer.produce(topic, key=k, value=v, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(60)
    if left or errors:
        print(f"produce-sample: ERROR: {left} records not delivered, errors: {errors[:5]}", file=sys.stderr)
        return 1

    delivered.sort(key=lambda d: (d["topic"], d["partition"], d["offset"]))
    summary = {"summary": {
        "prefix": prefix, "topics": topics, "partitions": partitions * len(topics), "records": len(delivered),
        "decoded": len(delivered), "null_keys": sum(d["key"] is None for d in delivered),
        "null_values": sum(d["value"] is None for d in delivered), "failures": 0, "failure_reasons": {},
        "first_failures": [],
        "schema_ids": sorted({d[f] for d in delivered for f in ("key_schema_id", "value_schema_id")} - {None}),
    }}
    with open(out, "w", encoding="utf-8") as f:
        for d in delivered:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
        f.write(json.dumps(summary, ensure_ascii=False) + "\n")
    print(f"produce-sample: {len(delivered)} records to {len(topics)} topics, "
          f"{len(summary['summary']['schema_ids'])} schema ids; payload bytes equal to Debezium's for "
          f"{same_bytes[0]}/{same_bytes[1]} keys+values", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

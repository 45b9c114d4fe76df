#!/usr/bin/env python3
"""Independent Avro check with Confluent's Python client (the twin of AvroCheck.java).

Reads every record of every topic whose name starts with TOPIC_PREFIX, from the beginning up to the high
watermarks taken at start, with a confluent_kafka ``Consumer`` (assigned partitions, nothing committed), and
decodes each non-null key and value with ``AvroDeserializer`` + ``SchemaRegistryClient`` against REGISTRY_URL.

Output (OUT_FILE), the same format as AvroCheck.java: one JSON line per record in topic/partition/offset order,
``{"topic","partition","offset","key_schema_id","key","value_schema_id","value"}``, key/value being the decoded
datum written back in Avro's JSON encoding with the writer schema (unions as ``{"type": value}``, bytes as
strings of chars U+0000-U+00FF), null (with a null schema id) for a null key/value, and ``"<part>_error"``
instead when a part does not decode. The last line is ``{"summary": {...}}`` with the same fields as the Java one.

fastavro (under AvroDeserializer) turns logical types into Python objects (decimal -> Decimal, date -> date, ...);
they are turned back into their Avro representation for the JSON, so decimals are compared by value: a
non-minimal two's-complement encoding would come back minimal here (the Java checker keeps the bytes as sent).
Schema references (Confluent ``references``) are not resolved for the JSON rendering; Debezium uses none.

Exit status: 0 when every record decoded, 1 on any failure, 2 on bad arguments.

Usage: py_check.py BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]
(TIMEOUT_S, default 120: how long it may take to reach the high watermarks; metadata and offset requests have 30 s
each on top.)
"""

import datetime
import decimal
import json
import struct
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

MAX_LISTED_FAILURES = 20
METADATA_TIMEOUT_S = 30
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
EPOCH_DATE = datetime.date(1970, 1, 1)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
EPOCH_NAIVE = datetime.datetime(1970, 1, 1)


class EncodeError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Avro JSON encoding of a fastavro datum, driven by the writer schema


def fullname(name, namespace):
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def collect_names(schema, namespace, names):
    """Registers every named type (record, enum, fixed) of SCHEMA under its full name, as the Avro spec resolves
    namespaces, so that a name used before the branch that defines it carries data can still be resolved."""
    if isinstance(schema, list):
        for branch in schema:
            collect_names(branch, namespace, names)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            full = fullname(schema["name"], schema.get("namespace", namespace))
            names[full] = (schema, full.rpartition(".")[0])
            if kind in ("record", "error"):
                for field in schema["fields"]:
                    collect_names(field["type"], full.rpartition(".")[0], names)
        elif kind == "array":
            collect_names(schema["items"], namespace, names)
        elif kind == "map":
            collect_names(schema["values"], namespace, names)
        elif isinstance(kind, (dict, list)):
            collect_names(kind, namespace, names)


def resolve(schema, namespace, names):
    """(schema as a dict or primitive name, its namespace) with named references replaced by their definition."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return schema, namespace
        full = fullname(schema, namespace)
        if full in names:
            return names[full]
        if schema in names:
            return names[schema]
        raise EncodeError(f"unknown type name {schema!r}")
    if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
        return resolve(schema["type"], namespace, names)
    if isinstance(schema, dict) and schema.get("type") in PRIMITIVES and "logicalType" not in schema:
        return schema["type"], namespace
    if isinstance(schema, dict) and schema.get("type") not in PRIMITIVES | {"array", "map"}:
        # a named type defined here
        full = fullname(schema["name"], schema.get("namespace", namespace))
        return schema, full.rpartition(".")[0]
    return schema, namespace


def type_name(schema, namespace):
    """The name of a union branch in Avro's JSON encoding."""
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        return fullname(schema["name"], schema.get("namespace", namespace))
    return kind


def signed_bytes(n, size=None):
    """Big-endian two's complement, minimal length (as Java's BigInteger.toByteArray), or SIZE bytes."""
    if size is None:
        size = (n + (n < 0)).bit_length() // 8 + 1
    return n.to_bytes(size, "big", signed=True)


def unscaled(d, scale):
    return int(d.scaleb(scale, decimal.Context(prec=1000)).to_integral_exact(context=decimal.Context(prec=1000)))


def bytes_json(b):
    return b.decode("latin-1")


def float32(x):
    """The shortest decimal that reads back as the same 32-bit float (what Java's Float.toString aims at)."""
    if x != x or x in (float("inf"), float("-inf")):
        return x
    for digits in range(1, 10):
        candidate = float("%.*g" % (digits, x))
        try:
            if struct.unpack("<f", struct.pack("<f", candidate))[0] == x:
                return candidate
        except OverflowError:  # rounded up past the largest float
            continue
    return x


def encode_logical(schema, datum):
    """Turns fastavro's Python object for a logical type back into the underlying Avro value."""
    logical = schema.get("logicalType")
    kind = schema["type"]
    if logical == "decimal" and isinstance(datum, decimal.Decimal):
        n = unscaled(datum, schema.get("scale", 0))
        return signed_bytes(n, schema["size"] if kind == "fixed" else None)
    if logical == "date" and isinstance(datum, datetime.date):
        return (datum - EPOCH_DATE).days
    if logical in ("time-millis", "time-micros") and isinstance(datum, datetime.time):
        us = ((datum.hour * 60 + datum.minute) * 60 + datum.second) * 1_000_000 + datum.microsecond
        return us // 1000 if logical == "time-millis" else us
    if logical in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros") \
            and isinstance(datum, datetime.datetime):
        delta = datum - (EPOCH if datum.tzinfo else EPOCH_NAIVE)
        us = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return us // 1000 if logical.endswith("millis") else us
    if logical == "uuid" and isinstance(datum, uuid.UUID):
        return str(datum)
    return datum


def matches(schema, namespace, datum, names):
    """Whether DATUM (a fastavro value) can be a value of SCHEMA; used to pick a union branch."""
    schema, namespace = resolve(schema, namespace, names)
    if isinstance(schema, str):
        kind, logical = schema, None
    else:
        kind, logical = schema["type"], schema.get("logicalType")
    if logical == "decimal":
        return isinstance(datum, decimal.Decimal)
    if logical in ("date",):
        return isinstance(datum, datetime.date) and not isinstance(datum, datetime.datetime)
    if logical in ("time-millis", "time-micros"):
        return isinstance(datum, datetime.time)
    if logical and logical.startswith(("timestamp-", "local-timestamp-")):
        return isinstance(datum, datetime.datetime)
    if logical == "uuid" and isinstance(datum, uuid.UUID):
        return True
    return {
        "null": lambda: datum is None,
        "boolean": lambda: isinstance(datum, bool),
        "int": lambda: isinstance(datum, int) and not isinstance(datum, bool) and -2**31 <= datum < 2**31,
        "long": lambda: isinstance(datum, int) and not isinstance(datum, bool),
        "float": lambda: isinstance(datum, (int, float)) and not isinstance(datum, bool),
        "double": lambda: isinstance(datum, (int, float)) and not isinstance(datum, bool),
        "bytes": lambda: isinstance(datum, (bytes, bytearray)),
        "string": lambda: isinstance(datum, str),
        "enum": lambda: isinstance(datum, str) and datum in schema["symbols"],
        "fixed": lambda: isinstance(datum, (bytes, bytearray)) and len(datum) == schema["size"],
        "array": lambda: isinstance(datum, list),
        "map": lambda: isinstance(datum, dict),
        "record": lambda: isinstance(datum, dict),
        "error": lambda: isinstance(datum, dict),
    }.get(kind, lambda: False)()


def to_avro_json(schema, datum, namespace, names):
    """DATUM (as fastavro decodes it, records in unions as (name, dict)) in Avro's JSON encoding."""
    if isinstance(schema, list):
        if isinstance(datum, tuple) and len(datum) == 2 and isinstance(datum[0], str):
            # return_record_name=True: (full name, record)
            for branch in schema:
                b, ns = resolve(branch, namespace, names)
                if not isinstance(b, str) and type_name(b, ns) == datum[0]:
                    return {datum[0]: to_avro_json(b, datum[1], ns, names)}
            raise EncodeError(f"record {datum[0]!r} is no branch of the union")
        candidates = [b for b in schema if matches(b, namespace, datum, names)]
        if not candidates:
            raise EncodeError(f"no union branch for {type(datum).__name__} value")
        branch, ns = resolve(candidates[0], namespace, names)
        if branch == "null":
            return None
        return {type_name(branch, ns): to_avro_json(branch, datum, ns, names)}
    schema, namespace = resolve(schema, namespace, names)
    if isinstance(schema, str):
        kind = schema
    else:
        kind = schema["type"]
        datum = encode_logical(schema, datum)
    if kind == "null":
        return None
    if kind in ("boolean", "int", "long", "string", "enum"):
        return datum
    if kind == "float":
        return float32(float(datum))
    if kind == "double":
        return float(datum)
    if kind in ("bytes", "fixed"):
        return bytes_json(bytes(datum))
    if kind == "array":
        return [to_avro_json(schema["items"], x, namespace, names) for x in datum]
    if kind == "map":
        return {k: to_avro_json(schema["values"], v, namespace, names) for k, v in datum.items()}
    if kind in ("record", "error"):
        out = {}
        for field in schema["fields"]:
            if field["name"] not in datum:
                raise EncodeError(f"field {field['name']!r} missing")
            out[field["name"]] = to_avro_json(field["type"], datum[field["name"]], namespace, names)
        return out
    raise EncodeError(f"unsupported type {kind!r}")


# ---------------------------------------------------------------------------------------------------------------


class Check:
    def __init__(self, registry_url):
        self.registry = SchemaRegistryClient({"url": registry_url})
        # return_record_name: a record inside a union comes back as (name, record), so its branch is known
        self.deserializer = AvroDeserializer(self.registry, return_record_name=True)
        self.schemas = {}  # id -> (parsed writer schema JSON, named types)
        self.records = self.decoded = self.null_keys = self.null_values = self.failures = 0
        self.failure_reasons = {}
        self.first_failures = []
        self.schema_ids = set()

    def writer_schema(self, schema_id):
        if schema_id not in self.schemas:
            s = self.registry.get_schema(schema_id)
            parsed = json.loads(s.schema_str)
            names = {}
            collect_names(parsed, "", names)
            self.schemas[schema_id] = (parsed, names)
        return self.schemas[schema_id]

    def fail(self, topic, partition, offset, part, reason):
        self.failures += 1
        reason = reason[:200]
        self.failure_reasons[reason] = self.failure_reasons.get(reason, 0) + 1
        if len(self.first_failures) < MAX_LISTED_FAILURES:
            self.first_failures.append(
                {"topic": topic, "partition": partition, "offset": offset, "part": part, "error": reason})

    def decode_part(self, msg, part, data, line):
        if data is None:
            if part == "key":
                self.null_keys += 1
            else:
                self.null_values += 1
            line[part + "_schema_id"] = None
            line[part] = None
            return True
        schema_id = struct.unpack(">i", data[1:5])[0] if len(data) >= 5 and data[0] == 0 else None
        line[part + "_schema_id"] = schema_id
        field = MessageField.KEY if part == "key" else MessageField.VALUE
        try:
            datum = self.deserializer(data, SerializationContext(msg.topic(), field, msg.headers()))
            schema, names = self.writer_schema(schema_id)
            line[part] = to_avro_json(schema, datum, "", names)
            self.schema_ids.add(schema_id)
            return True
        except Exception as ex:  # every failure is reported, none stops the check
            reason = f"{type(ex).__name__}: {ex}"
            line[part + "_error"] = reason
            self.fail(msg.topic(), msg.partition(), msg.offset(), part, reason)
            return False

    def decode(self, msg):
        self.records += 1
        line = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
        ok = self.decode_part(msg, "key", msg.key(), line)
        ok = self.decode_part(msg, "value", msg.value(), line) and ok
        if ok:
            self.decoded += 1
        return line

    def consume(self, bootstrap, prefix, timeout_s):
        """Returns (topics, partitions, lines by partition, why it stopped early or None)."""
        topics, partitions, lines = [], [], {}
        try:
            return self._consume(bootstrap, prefix, timeout_s)
        except KafkaException as ex:  # broker unreachable, metadata or offsets not answered in time
            return topics, partitions, lines, f"KafkaException: {ex}"

    def _consume(self, bootstrap, prefix, timeout_s):
        deadline = time.monotonic() + timeout_s
        consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"avro-check-py-{uuid.uuid4()}",  # required by the client; nothing is committed
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "client.id": "avro-check-py",
        })
        try:
            metadata = consumer.list_topics(timeout=METADATA_TIMEOUT_S)
            topics = sorted(t for t in metadata.topics if t.startswith(prefix))
            partitions = [(t, p) for t in topics for p in sorted(metadata.topics[t].partitions)]
            if not topics:
                return topics, partitions, {}, f"no topic starts with '{prefix}'"
            end = {}
            assignment = []
            for t, p in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(t, p), timeout=METADATA_TIMEOUT_S)
                end[(t, p)] = high
                assignment.append(TopicPartition(t, p, low))
            consumer.assign(assignment)
            lines = {tp: [] for tp in partitions}
            position = {(tp.topic, tp.partition): tp.offset for tp in assignment}
            open_ = {tp for tp in partitions if position[tp] < end[tp]}
            while open_:
                if time.monotonic() > deadline:
                    detail = " ".join(f"{t}-{p} at {position[(t, p)]}/{end[(t, p)]}" for t, p in sorted(open_))
                    return topics, partitions, lines, f"end offsets not reached in time: {detail}"
                for msg in consumer.consume(num_messages=500, timeout=0.5):
                    if msg.error():
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            continue
                        return topics, partitions, lines, f"consumer error: {msg.error()}"
                    tp = (msg.topic(), msg.partition())
                    if msg.offset() < end[tp]:
                        lines[tp].append(self.decode(msg))
                    position[tp] = msg.offset() + 1
                    if position[tp] >= end[tp]:
                        open_.discard(tp)
            return topics, partitions, lines, None
        finally:
            consumer.close()

    def summary(self, prefix, topics, partitions):
        return {"summary": {
            "prefix": prefix, "topics": topics, "partitions": len(partitions), "records": self.records,
            "decoded": self.decoded, "null_keys": self.null_keys, "null_values": self.null_values,
            "failures": self.failures, "failure_reasons": dict(sorted(self.failure_reasons.items())),
            "first_failures": self.first_failures, "schema_ids": sorted(self.schema_ids),
        }}


def main(argv):
    if len(argv) not in (5, 6):
        print("usage: py_check.py BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]", file=sys.stderr)
        return 2
    bootstrap, registry_url, prefix, out = argv[1:5]
    timeout_s = float(argv[5]) if len(argv) == 6 else 120.0
    check = Check(registry_url)
    topics, partitions, lines, stop_reason = check.consume(bootstrap, prefix, timeout_s)
    if stop_reason is not None:
        check.fail(None, -1, -1, "consumer", stop_reason)
    summary = check.summary(prefix, topics, partitions)
    with open(out, "w", encoding="utf-8") as f:
        for tp in partitions:
            for line in lines.get(tp, []):
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        f.write(json.dumps(summary, ensure_ascii=False) + "\n")
    print("py-check: " + json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return 0 if check.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Drives our schema-registry through Confluent's own Python client (confluent-kafka[avro,schemaregistry]).

Usage:
  registry_client.py basic URL PREFIX      register/lookup/get-by-id/versions/latest/delete, compatibility, errors
  registry_client.py golden URL FILE       register every schema of an .avro-schemas.jsonl golden file in order;
                                           ids must be 1..n in order; re-registration (fresh client) gives the same
  registry_client.py dump URL N            print {"id": schema_json} for ids 1..N and the subject/version listing
Exits non-zero with a message on the first failed expectation; prints one JSON line of results on success.
"""
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext


def client(url):
    return SchemaRegistryClient({"url": url})


def expect(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")


def expect_error(fn, status, code, what):
    try:
        fn()
    except SchemaRegistryError as e:
        expect(e.http_status_code == status and e.error_code == code,
               f"{what}: expected {status}/{code}, got {e.http_status_code}/{e.error_code} ({e.error_message})")
        return
    raise SystemExit(f"FAILED: {what}: expected an error {status}/{code}, got success")


def record(name, fields):
    return json.dumps({"type": "record", "name": name, "namespace": "it", "fields": fields})


def basic(url, prefix):
    c = client(url)
    s1, s2 = f"{prefix}-value", f"{prefix}-other"
    v1 = Schema(record("R", [{"name": "a", "type": "int"}]), "AVRO")
    id1 = c.register_schema(s1, v1)
    expect(client(url).register_schema(s1, v1) == id1, "re-registering the same schema returns the same id")
    # the same schema with other whitespace/key order is the same schema
    v1b = Schema(json.dumps({"fields": [{"type": "int", "name": "a"}], "namespace": "it", "name": "R", "type": "record"}, indent=2), "AVRO")
    expect(client(url).register_schema(s1, v1b) == id1, "canonically equal schema keeps its id")
    expect(client(url).register_schema(s2, v1) == id1, "same schema in another subject reuses the global id")

    got = client(url).get_schema(id1)
    expect(json.loads(got.schema_str) == json.loads(v1.schema_str), "get_schema(id) returns the schema")
    reg = client(url).lookup_schema(s1, v1)
    expect((reg.schema_id, reg.version, reg.subject) == (id1, 1, s1), f"lookup: {reg}")

    # BACKWARD (default): a new field without default is refused with 409
    v2_bad = Schema(record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]), "AVRO")
    expect_error(lambda: client(url).register_schema(s1, v2_bad), 409, 409, "BACKWARD-incompatible change")
    expect(not client(url).test_compatibility(s1, v2_bad), "test_compatibility says incompatible")
    v2 = Schema(record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}]), "AVRO")
    expect(client(url).test_compatibility(s1, v2), "test_compatibility says compatible")
    id2 = c.register_schema(s1, v2)
    expect(id2 != id1, "a new schema gets a new id")
    expect(client(url).get_versions(s1) == [1, 2], "versions")
    latest = client(url).get_latest_version(s1)
    expect((latest.version, latest.schema_id) == (2, id2), f"latest: {latest}")
    expect(client(url).get_version(s1, 1).schema_id == id1, "version 1")

    # FORWARD change (drops a field that has no default in the new reader's eyes: old readers need 'b'? no:
    # a field added without default is FORWARD-compatible, not BACKWARD): refused under BACKWARD, accepted under FORWARD
    v3 = Schema(record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"},
                             {"name": "c", "type": "long"}]), "AVRO")
    expect_error(lambda: client(url).register_schema(s1, v3), 409, 409, "FORWARD-only change under BACKWARD")
    expect(c.set_compatibility(s1, "FORWARD") == {"compatibility": "FORWARD"}, "set_compatibility")
    expect(client(url).get_compatibility(s1) == "FORWARD", "get_compatibility")
    id3 = client(url).register_schema(s1, v3)
    expect(id3 > id2, "FORWARD change accepted under FORWARD")
    # ...and a BACKWARD-only change is refused under FORWARD
    v4 = Schema(record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"},
                             {"name": "c", "type": "long"}, {"name": "d", "type": "int", "default": 0}]), "AVRO")
    expect(client(url).test_compatibility(s1, v4), "adding a defaulted field is compatible under FORWARD")

    # the serializer/deserializer round trip through our registry (wire format, id lookups)
    ser = AvroSerializer(client(url), v3.schema_str, conf={"auto.register.schemas": False, "use.latest.version": True})
    ctx = SerializationContext(prefix, MessageField.VALUE)
    data = ser({"a": 1, "b": "y", "c": 7}, ctx)
    expect(data[0] == 0 and int.from_bytes(data[1:5], "big") == id3, "wire header carries the id")
    back = AvroDeserializer(client(url))(data, ctx)
    expect(back == {"a": 1, "b": "y", "c": 7}, f"deserialized {back}")

    # errors
    expect_error(lambda: client(url).get_schema(987654), 404, 40403, "unknown id")
    expect_error(lambda: client(url).get_latest_version(f"{prefix}-nope"), 404, 40401, "unknown subject")
    expect_error(lambda: client(url).get_version(s1, 99), 404, 40402, "unknown version")
    expect_error(lambda: client(url).register_schema(s1, Schema('{"type":"record","name":"X"}', "AVRO")), 422, 42201,
                 "invalid schema")
    expect_error(lambda: client(url).lookup_schema(s1, Schema('"string"', "AVRO")), 404, 40403, "lookup of unknown schema")

    # deletes: soft version, soft subject, permanent subject
    expect(client(url).delete_version(s1, 3) == 3, "soft-delete version 3")
    expect(client(url).get_versions(s1) == [1, 2], "version 3 gone from the list")
    expect(client(url).get_latest_version(s1).version == 2, "latest after deleting 3")
    expect_error(lambda: client(url).delete_version(s1, 3), 404, 40406, "soft-deleting twice")
    expect(client(url).get_schema(id3).schema_str is not None, "a soft-deleted version's id still resolves")
    expect(client(url).delete_subject(s2) == [1], "soft-delete subject")
    expect(s2 not in client(url).get_subjects(), "deleted subject not listed")
    expect_error(lambda: client(url).get_versions(s2), 404, 40401, "versions of a deleted subject")
    expect(client(url).delete_subject(s2, permanent=True) == [1], "permanent delete after soft delete")
    expect_error(lambda: client(url).delete_subject(s1, permanent=True), 404, 40405, "permanent without soft first")
    expect(client(url).get_schema(id1).schema_str is not None, "id still used by another subject resolves")
    # re-registering after a soft delete: new version, same id
    expect(client(url).register_schema(s1, v3) == id3, "re-register a soft-deleted schema keeps its id")
    expect(client(url).get_versions(s1) == [1, 2, 4], "and gets a fresh version number")
    print(json.dumps({"ids": [id1, id2, id3], "subjects": client(url).get_subjects()}))


def golden(url, path):
    schemas = [json.loads(line) for line in open(path) if line.strip()]
    c = client(url)
    # Debezium's recording used a mock registry that checks no compatibility; products-value v2 turns
    # weight ["null","float"] into double, which BACKWARD (correctly, as Confluent's registry) refuses.
    c.set_compatibility(level="NONE")
    ids = []
    for g in schemas:
        ids.append(c.register_schema(g["subject"], Schema(json.dumps(g["schema"]), "AVRO")))
    expect(ids == list(range(1, len(schemas) + 1)), f"ids in registration order: {ids}")
    again = [client(url).register_schema(g["subject"], Schema(json.dumps(g["schema"]), "AVRO")) for g in schemas]
    expect(again == ids, f"re-registration returns the same ids: {again}")
    for g, i in zip(schemas, ids):
        r = client(url).get_schema(i)
        expect(json.loads(r.schema_str) == g["schema"], f"schema {i} round-trips")
        latest = client(url).lookup_schema(g["subject"], Schema(json.dumps(g["schema"]), "AVRO"))
        expect(latest.version == g["version"], f"{g['subject']} version {latest.version} == golden {g['version']}")
    print(json.dumps({"n": len(ids)}))


def dump(url, n):
    c = client(url)
    out = {"schemas": {}, "subjects": {}}
    for i in range(1, n + 1):
        try:
            out["schemas"][str(i)] = json.loads(c.get_schema(i).schema_str)
        except SchemaRegistryError as e:
            out["schemas"][str(i)] = f"error {e.http_status_code}/{e.error_code}"
    for s in c.get_subjects():
        out["subjects"][s] = [[v, c.get_version(s, v).schema_id] for v in c.get_versions(s)]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "basic":
        basic(sys.argv[2], sys.argv[3])
    elif cmd == "golden":
        golden(sys.argv[2], sys.argv[3])
    elif cmd == "dump":
        dump(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {cmd}")

#!/usr/bin/env python3
"""Compares outputs of the Avro checkers (AvroCheck.java, py_check.py) with a reference in the same format
(another checker's output, or produce_sample.py's expected records).

Records are matched by (topic, partition, offset); for each one the schema ids and the decoded key and value
(parsed JSON, Avro's JSON encoding) must be equal, and no part may carry an ``*_error``. Numbers are equal when
they are equal as doubles, or when both round to the same 32-bit float (a checker may print an Avro ``float``
with more digits than needed, e.g. Java 17's Float.toString); how many needed that is reported. Each file must
end with a summary line with no failures, and the record counts must agree.

Usage: compare.py REFERENCE OTHER [OTHER...]     exit 0 = all equal, 1 = differences (listed on stderr)
"""

import json
import math
import struct
import sys

MAX_SHOWN = 20


def load(path):
    records, summary = {}, None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)
            if "summary" in obj:
                summary = obj["summary"]
                continue
            key = (obj["topic"], obj["partition"], obj["offset"])
            if key in records:
                raise SystemExit(f"{path}:{n}: record {key} twice")
            records[key] = obj
    return records, summary


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Diff:
    def __init__(self):
        self.float32_equal = 0

    def equal(self, a, b):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)):
                return True
            if not (isinstance(a, float) or isinstance(b, float)):
                return False  # two integers (longs): no tolerance
            try:
                if f32(float(a)) == f32(float(b)):
                    self.float32_equal += 1
                    return True
            except OverflowError:
                pass
            return False
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(self.equal(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(self.equal(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and a == b


def first_difference(a, b, path=""):
    """Where two JSON values differ (for the message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'second' if k not in a else 'first'}"
            if a[k] != b[k]:
                return first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path or '.'}: {json.dumps(a, ensure_ascii=False)[:200]} != {json.dumps(b, ensure_ascii=False)[:200]}"


def compare(ref_path, other_path):
    ref, ref_summary = load(ref_path)
    other, other_summary = load(other_path)
    problems = []
    for name, summary in ((ref_path, ref_summary), (other_path, other_summary)):
        if summary is None:
            problems.append(f"{name}: no summary line")
        elif summary.get("failures"):
            problems.append(f"{name}: {summary['failures']} failures: {summary.get('failure_reasons')}")
    for key in sorted(set(ref) - set(other)):
        problems.append(f"{key}: missing in {other_path}")
    for key in sorted(set(other) - set(ref)):
        problems.append(f"{key}: not in {ref_path}")
    diff = Diff()
    for key in sorted(set(ref) & set(other)):
        a, b = ref[key], other[key]
        for rec, name in ((a, ref_path), (b, other_path)):
            for part in ("key", "value"):
                if part + "_error" in rec:
                    problems.append(f"{key} {part}: error in {name}: {rec[part + '_error']}")
        for field in ("key_schema_id", "value_schema_id", "key", "value"):
            if not diff.equal(a.get(field), b.get(field)):
                problems.append(f"{key} {field}: {first_difference(a.get(field), b.get(field))}")
    if ref_summary and other_summary:
        for field in ("records", "decoded", "null_keys", "null_values", "schema_ids"):
            if ref_summary.get(field) != other_summary.get(field):
                problems.append(f"summary {field}: {ref_summary.get(field)} != {other_summary.get(field)}")
    return len(set(ref) & set(other)), diff.float32_equal, problems


def main(argv):
    if len(argv) < 3:
        print("usage: compare.py REFERENCE OTHER [OTHER...]", file=sys.stderr)
        return 2
    rc = 0
    for other in argv[2:]:
        n, f32_equal, problems = compare(argv[1], other)
        if problems:
            rc = 1
            print(f"compare: {other} differs from {argv[1]} ({len(problems)} problems):", file=sys.stderr)
            for p in problems[:MAX_SHOWN]:
                print(f"  {p}", file=sys.stderr)
            if len(problems) > MAX_SHOWN:
                print(f"  ... {len(problems) - MAX_SHOWN} more", file=sys.stderr)
        else:
            print(f"compare: {other} equals {argv[1]}: {n} records"
                  f"{f', {f32_equal} numbers equal only as 32-bit floats' if f32_equal else ''}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))

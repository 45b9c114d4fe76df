#!/usr/bin/env python3
"""Read a Hudi copy-on-write table without hudi-rs's Rust API, for tests/it/hudi.rs.

Usage: hudi_read.py hudi|timeline TABLE_URI

  hudi      the PyPI `hudi` package (its snapshot read)
  timeline  a reader written here with pyarrow and fastavro only: the completed instants of the
            table's timeline (`.hoodie/timeline/<requested>_<completed>.<action>`, Avro
            HoodieCommitMetadata) name the base files each commit wrote; base files of instants
            older than the active timeline (archived) count as committed; of every file group
            (partition path, file id) the base file of the newest committed instant is read;
            file groups a completed replacecommit replaced are dropped.

TABLE_URI is a local directory or s3://bucket/path; S3 settings come from AWS_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ALLOW_HTTP, as for hudi-sink.

Prints one JSON object per row, sorted by `_hoodie_record_key`, with values rendered as
`hudi-sink read` renders them (hudi-sink/src/dump.rs): decimals as plain text, binary as upper-case
hex, dates as YYYY-MM-DD, local timestamps as `YYYY-MM-DD HH:MM:SS.ffffff`, UTC timestamps as
`YYYY-MM-DDTHH:MM:SS.ffffffZ`, structs as objects.
"""

import datetime
import json
import os
import re
import sys

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

EPOCH = datetime.datetime(1970, 1, 1)
COMPLETED = re.compile(r"^(\d+)_(\d+)\.(commit|deltacommit|replacecommit)$")
INSTANT = re.compile(r"^(\d+)[._]")
BASE_FILE = re.compile(r"^(?P<fid>.+)_(?P<token>\d+-\d+-\d+)_(?P<ts>\d+)\.parquet$")


def storage_options():
    opts = {}
    for k, v in os.environ.items():
        if k.startswith("AWS_"):
            opts[k.lower()] = v
    return opts


def filesystem(uri):
    """(pyarrow filesystem, path of the table in it)."""
    if uri.startswith("s3://"):
        endpoint = os.environ.get("AWS_ENDPOINT", "")
        scheme = "http" if endpoint.startswith("http://") else "https"
        fs = pafs.S3FileSystem(
            access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            region=os.environ.get("AWS_REGION", "us-east-1"),
            endpoint_override=re.sub(r"^https?://", "", endpoint) or None,
            scheme=scheme,
        )
        return fs, uri[len("s3://"):].rstrip("/")
    return pafs.LocalFileSystem(), os.path.abspath(uri).rstrip("/")


def read_with_hudi(uri):
    from hudi import HudiReadOptions, HudiTableBuilder

    table = HudiTableBuilder.from_base_uri(uri).with_storage_options(storage_options()).build()
    return table.read(HudiReadOptions())


def read_avro(fs, path):
    import fastavro

    with fs.open_input_file(path) as f:
        return list(fastavro.reader(f))


def read_from_timeline(uri):
    fs, base = filesystem(uri)
    timeline = f"{base}/.hoodie/timeline"
    names = [i.base_name for i in fs.get_file_info(pafs.FileSelector(timeline)) if i.type == pafs.FileType.File]
    active = sorted({m.group(1) for m in map(INSTANT.match, names) if m})
    earliest_active = active[0] if active else None
    committed_files = set()  # relative paths written by completed instants
    completed = set()
    replaced = set()  # (partition, file id)
    for n in names:
        m = COMPLETED.match(n)
        if not m:
            continue
        completed.add(m.group(1))
        for record in read_avro(fs, f"{timeline}/{n}"):
            for stats in (record.get("partitionToWriteStats") or {}).values():
                for s in stats or []:
                    if s.get("path"):
                        committed_files.add(s["path"])
            for partition, ids in (record.get("partitionToReplaceFileIds") or {}).items():
                for fid in ids or []:
                    replaced.add((partition, fid))
    newest = {}  # (partition, file id) -> (instant, path)
    selector = pafs.FileSelector(base, recursive=True)
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        rel = info.path[len(base) + 1:]
        if rel.startswith(".hoodie/") or rel.startswith(".hudi-sink/"):
            continue
        m = BASE_FILE.match(info.base_name)
        if not m:
            continue
        ts = m.group("ts")
        archived = earliest_active is not None and ts < earliest_active
        if not (rel in committed_files or archived):
            continue  # written by an instant that never completed
        partition = os.path.dirname(rel)
        group = (partition, m.group("fid"))
        if group in replaced:
            continue
        if group not in newest or newest[group][0] < ts:
            newest[group] = (ts, info.path)
    return [pq.read_table(path, filesystem=fs) for _, path in sorted(newest.values())]


def timestamp_text(v, unit, tz):
    micros = {"s": v * 1_000_000, "ms": v * 1000, "us": v, "ns": v // 1000}[unit]
    t = EPOCH + datetime.timedelta(microseconds=micros)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if tz else "%Y-%m-%d %H:%M:%S.%f")


def render(array):
    """A pyarrow array as a list of JSON-ready values."""
    t = array.type
    if pa.types.is_struct(t):
        children = [render(array.field(i)) for i in range(t.num_fields)]
        valid = array.is_valid().to_pylist()
        return [
            {t.field(i).name: children[i][r] for i in range(t.num_fields)} if valid[r] else None
            for r in range(len(array))
        ]
    if pa.types.is_timestamp(t):
        ints = array.cast(pa.int64()).to_pylist()
        return [None if v is None else timestamp_text(v, t.unit, t.tz) for v in ints]
    if pa.types.is_date32(t):
        return [None if v is None else v.isoformat() for v in array.to_pylist()]
    if pa.types.is_decimal(t):
        return [None if v is None else format(v, "f") for v in array.to_pylist()]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return [None if v is None else v.hex().upper() for v in array.to_pylist()]
    if pa.types.is_floating(t):
        return [None if v is None or v != v else v for v in array.to_pylist()]
    return array.to_pylist()


def rows(tables):
    out = []
    for table in tables:
        for batch in table.to_batches() if isinstance(table, pa.Table) else [table]:
            columns = [render(c) for c in batch.columns]
            names = batch.schema.names
            for r in range(batch.num_rows):
                out.append({n: columns[i][r] for i, n in enumerate(names)})
    out.sort(key=lambda m: (m.get("_hoodie_record_key") or "", json.dumps(m, sort_keys=True)))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("hudi", "timeline"):
        sys.exit(__doc__)
    mode, uri = sys.argv[1], sys.argv[2]
    tables = read_with_hudi(uri) if mode == "hudi" else read_from_timeline(uri)
    for row in rows(tables):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Dump a schema registry's subjects over Confluent's REST API, and compare such dumps.

Dump format (JSON lines, the same as the oracle's ``<run>.avro-schemas.jsonl``), one line per subject/version,
sorted by subject then version:
    {"subject": S, "version": V, "id": ID, "schemaType": "AVRO", "schema": <the schema as parsed JSON>}
(``schemaType`` is "AVRO" when the registry leaves it out, as Confluent's does for Avro.)

    registry_dump.py dump REGISTRY_URL OUT_FILE [SUBJECT_PREFIX]
        GET /subjects, /subjects/<s>/versions, /subjects/<s>/versions/<v>; only subjects starting with
        SUBJECT_PREFIX (default: all).
    registry_dump.py compare REFERENCE OTHER [--ids-may-differ] [--strip-prefix P] [--json-out FILE]
        Same subjects, same versions, and per subject/version the same schema (parsed JSON equality). Ids must be
        equal too, unless --ids-may-differ (then the id differences are listed, not counted as failures).
        --strip-prefix removes P from the subjects of OTHER (a run with another topic prefix). --json-out writes
        the result as {"equal": bool, "subjects": n, "versions": n, "schema_differences": [...],
        "id_differences": [...], "missing": [...], "extra": [...]}.
    registry_dump.py reregister REGISTRY_URL DUMP
        POST every schema of DUMP again to its subject (/subjects/<s>/versions), in dump order, as a client that
        already registered them would (e.g. our connector after Debezium): each must get back the id DUMP lists.
        Then `dump` + `compare DUMP new-dump` shows that no version was added.
Exit status: 0 = equal (as asked), 1 = different, 2 = usage or registry error.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.schemaregistry.v1+json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def dump(registry_url, out, prefix=""):
    base = registry_url.rstrip("/")
    rows = []
    for subject in sorted(get(f"{base}/subjects")):
        if not subject.startswith(prefix):
            continue
        q = urllib.parse.quote(subject, safe="")
        for version in sorted(get(f"{base}/subjects/{q}/versions")):
            v = get(f"{base}/subjects/{q}/versions/{version}")
            rows.append({"subject": subject, "version": v["version"], "id": v["id"],
                         "schemaType": v.get("schemaType", "AVRO"), "schema": json.loads(v["schema"])})
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"registry-dump: {len({r['subject'] for r in rows})} subjects, {len(rows)} versions -> {out}",
          file=sys.stderr)
    return 0


def reregister(registry_url, dump_path):
    base = registry_url.rstrip("/")
    rows = [json.loads(line) for line in open(dump_path, encoding="utf-8")]
    wrong = 0
    for r in rows:
        q = urllib.parse.quote(r["subject"], safe="")
        body = {"schema": json.dumps(r["schema"], separators=(",", ":"))}
        if r.get("schemaType", "AVRO") != "AVRO":
            body["schemaType"] = r["schemaType"]
        req = urllib.request.Request(f"{base}/subjects/{q}/versions", method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            got = json.load(resp)["id"]
        if got != r["id"]:
            wrong += 1
            print(f"  {r['subject']} v{r['version']}: id {got}, dump says {r['id']}", file=sys.stderr)
    print(f"registry-reregister: {len(rows)} schemas posted again, {wrong} got another id", file=sys.stderr)
    return 0 if wrong == 0 else 1


def load(path, strip_prefix=""):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            subject = r["subject"]
            if strip_prefix and subject.startswith(strip_prefix):
                subject = subject[len(strip_prefix):]
            rows[(subject, r["version"])] = r
    return rows


def compare(ref_path, other_path, ids_may_differ=False, strip_prefix="", json_out=None):
    ref, other = load(ref_path), load(other_path, strip_prefix)
    result = {
        "equal": True,
        "subjects": len({s for s, _ in ref}),
        "versions": len(ref),
        "missing": [f"{s} v{v}" for s, v in sorted(set(ref) - set(other))],
        "extra": [f"{s} v{v}" for s, v in sorted(set(other) - set(ref))],
        "schema_differences": [],
        "id_differences": [],
    }
    for key in sorted(set(ref) & set(other)):
        a, b = ref[key], other[key]
        if a["schema"] != b["schema"] or a.get("schemaType", "AVRO") != b.get("schemaType", "AVRO"):
            result["schema_differences"].append(f"{key[0]} v{key[1]}")
        if a["id"] != b["id"]:
            result["id_differences"].append({"subject": key[0], "version": key[1], "reference_id": a["id"],
                                             "other_id": b["id"]})
    result["equal"] = not (result["missing"] or result["extra"] or result["schema_differences"]
                           or (result["id_differences"] and not ids_may_differ))
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    verdict = "equal" if result["equal"] else "DIFFERENT"
    print(f"registry-compare: {other_path} vs {ref_path}: {verdict}: {result['subjects']} subjects, "
          f"{result['versions']} versions; missing {len(result['missing'])}, extra {len(result['extra'])}, "
          f"schema differences {len(result['schema_differences'])}, id differences {len(result['id_differences'])}"
          f"{' (allowed)' if ids_may_differ and result['id_differences'] else ''}", file=sys.stderr)
    for name in ("missing", "extra", "schema_differences"):
        for item in result[name][:20]:
            print(f"  {name}: {item}", file=sys.stderr)
    for d in result["id_differences"][:40]:
        print(f"  id: {d['subject']} v{d['version']}: {d['reference_id']} (reference) vs {d['other_id']}",
              file=sys.stderr)
    return 0 if result["equal"] else 1


def main(argv):
    try:
        if len(argv) in (4, 5) and argv[1] == "dump":
            return dump(argv[2], argv[3], argv[4] if len(argv) == 5 else "")
        if len(argv) == 4 and argv[1] == "reregister":
            return reregister(argv[2], argv[3])
        if len(argv) >= 4 and argv[1] == "compare":
            args = argv[2:]
            ids_may_differ = "--ids-may-differ" in args
            args = [a for a in args if a != "--ids-may-differ"]
            opts = {}
            for opt in ("--strip-prefix", "--json-out"):
                if opt in args:
                    i = args.index(opt)
                    opts[opt] = args[i + 1]
                    del args[i:i + 2]
            if len(args) == 2:
                return compare(args[0], args[1], ids_may_differ, opts.get("--strip-prefix", ""),
                               opts.get("--json-out"))
    except (urllib.error.URLError, OSError, ValueError, IndexError) as ex:
        print(f"registry-dump: ERROR: {ex}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

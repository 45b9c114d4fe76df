#!/usr/bin/env python3
"""Patch a scratch copy of the Debezium oracle (../shared/oracle) for benchmarks/debezium-avro-perf.sh.

Usage: patch_oracle.py ORACLE_COPY_DIR DB_PORT

* src/oracle/Oracle.java: PerfHandler also supports oracle.perf.serialize=avro: two
  io.confluent.connect.avro.AvroConverter instances built as GoldenHandler builds them
  (new AvroConverter(MockSchemaRegistry.getClientForScope(scope)), schema.registry.url=mock://<scope>,
  isKey true/false), fromConnectData on key and value of every counted record, byte lengths added to `bytes`
  (the same shape as the json branch). Unknown serialize values are refused. The first counted record's
  serialized key/value is kept and, after the engine has stopped (outside the measured window), written to
  <run>.perf.json: JSON parsed, Avro decoded with the registered schema (magic byte, schema id, Avro JSON encoding).
* perf.sh: the `live` step runs the count, json and avro handlers; `uptime` before and after each live run goes to
  $PERF_OUT/<run>.uptime.txt.
* run.sh (PORT=) and conf/base.properties (database.port=): the private MariaDB's port.

Every edit is an exact-string replacement of an anchor that must occur exactly once; a missing or repeated anchor
is an error (exit 1), so a changed oracle fails loudly instead of being half-patched.
"""
import pathlib
import sys


def replace_once(path, old, new):
    text = path.read_text()
    n = text.count(old)
    if n != 1:
        sys.exit(f"patch_oracle.py: anchor found {n} times (expected exactly 1) in {path}:\n---\n{old}\n---")
    path.write_text(text.replace(old, new))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: patch_oracle.py ORACLE_COPY_DIR DB_PORT")
    root = pathlib.Path(sys.argv[1])
    port = int(sys.argv[2])
    java = root / "src/oracle/Oracle.java"

    # --- Oracle.java ------------------------------------------------------------------------------------------
    replace_once(java,
        " *   oracle.perf.serialize  perf mode: none | json  (json: run JsonConverter(schemas.enable=true) on key+value)\n",
        " *   oracle.perf.serialize  perf mode: none | json | avro  (json: run JsonConverter(schemas.enable=true) on key+value;\n"
        " *                          avro: AvroConverter 7.0.16 with a mock schema registry, as GoldenHandler builds it)\n")

    replace_once(java,
        "        final JsonConverter jv = new JsonConverter();\n"
        "        volatile long count;\n",
        "        final JsonConverter jv = new JsonConverter();\n"
        "        // avro only (null otherwise): built like GoldenHandler's, on a mock registry of their own scope\n"
        "        static final String PERF_MOCK_SCOPE = \"oracle-perf\";\n"
        "        final SchemaRegistryClient registry;\n"
        "        final AvroConverter ak;\n"
        "        final AvroConverter av;\n"
        "        // the first counted record's serialized key/value (json/avro), reported after the run\n"
        "        byte[] sampleKey;\n"
        "        byte[] sampleValue;\n"
        "        volatile long count;\n")

    replace_once(java,
        "            jk.configure(c, true);\n"
        "            jv.configure(c, false);\n"
        "        }\n",
        "            jk.configure(c, true);\n"
        "            jv.configure(c, false);\n"
        "            if (!serialize.equals(\"none\") && !serialize.equals(\"json\") && !serialize.equals(\"avro\")) {\n"
        "                throw new IllegalArgumentException(\"oracle.perf.serialize: none | json | avro, not \" + serialize);\n"
        "            }\n"
        "            if (serialize.equals(\"avro\")) {\n"
        "                registry = MockSchemaRegistry.getClientForScope(PERF_MOCK_SCOPE);\n"
        "                ak = new AvroConverter(registry);\n"
        "                av = new AvroConverter(registry);\n"
        "                Map<String, Object> a = new HashMap<>();\n"
        "                a.put(\"schema.registry.url\", \"mock://\" + PERF_MOCK_SCOPE);\n"
        "                ak.configure(a, true);\n"
        "                av.configure(a, false);\n"
        "            }\n"
        "            else {\n"
        "                registry = null;\n"
        "                ak = null;\n"
        "                av = null;\n"
        "            }\n"
        "        }\n")

    replace_once(java,
        "                    if (serialize.equals(\"json\")) {\n"
        "                        byte[] k = jk.fromConnectData(r.topic(), r.keySchema(), r.key());\n"
        "                        byte[] v = jv.fromConnectData(r.topic(), r.valueSchema(), r.value());\n"
        "                        bytes += (k == null ? 0 : k.length) + (v == null ? 0 : v.length);\n"
        "                    }\n"
        "                    count++;\n",
        "                    if (serialize.equals(\"json\")) {\n"
        "                        byte[] k = jk.fromConnectData(r.topic(), r.keySchema(), r.key());\n"
        "                        byte[] v = jv.fromConnectData(r.topic(), r.valueSchema(), r.value());\n"
        "                        bytes += (k == null ? 0 : k.length) + (v == null ? 0 : v.length);\n"
        "                        if (count == 0) {\n"
        "                            sampleKey = k;\n"
        "                            sampleValue = v;\n"
        "                        }\n"
        "                    }\n"
        "                    else if (serialize.equals(\"avro\")) {\n"
        "                        byte[] k = ak.fromConnectData(r.topic(), r.keySchema(), r.key());\n"
        "                        byte[] v = av.fromConnectData(r.topic(), r.valueSchema(), r.value());\n"
        "                        bytes += (k == null ? 0 : k.length) + (v == null ? 0 : v.length);\n"
        "                        if (count == 0) {\n"
        "                            sampleKey = k;\n"
        "                            sampleValue = v;\n"
        "                        }\n"
        "                    }\n"
        "                    count++;\n")

    # sampleInfo(): inserted before GoldenHandler (i.e. at the end of PerfHandler)
    replace_once(java,
        "    /** Writes every record through JsonConverter and AvroConverter. */\n",
        "    /** PerfHandler's sample of the first counted record, decoded (called after the engine stopped). */\n"
        "    static Map<String, Object> perfSampleInfo(PerfHandler p) throws Exception {\n"
        "        Map<String, Object> m = new LinkedHashMap<>();\n"
        "        if (p.sampleValue == null) {\n"
        "            return m;\n"
        "        }\n"
        "        m.put(\"sample_key_bytes\", p.sampleKey == null ? 0 : p.sampleKey.length);\n"
        "        m.put(\"sample_value_bytes\", p.sampleValue.length);\n"
        "        if (p.serialize.equals(\"json\")) {\n"
        "            m.put(\"sample_key\", p.sampleKey == null ? null : MAPPER.readTree(p.sampleKey));\n"
        "            m.put(\"sample_value\", MAPPER.readTree(p.sampleValue));\n"
        "        }\n"
        "        else if (p.serialize.equals(\"avro\")) {\n"
        "            m.put(\"sample_key\", p.sampleKey == null ? null : perfDecodeAvro(p.registry, p.sampleKey));\n"
        "            m.put(\"sample_value\", perfDecodeAvro(p.registry, p.sampleValue));\n"
        "            Map<String, Object> subjects = new TreeMap<>();\n"
        "            for (String s : p.registry.getAllSubjects()) {\n"
        "                subjects.put(s, p.registry.getAllVersions(s));\n"
        "            }\n"
        "            m.put(\"avro_subject_versions\", subjects);\n"
        "        }\n"
        "        return m;\n"
        "    }\n"
        "\n"
        "    /** Confluent wire format: magic byte, 4-byte schema id, Avro binary; decoded with the registered schema. */\n"
        "    static Map<String, Object> perfDecodeAvro(SchemaRegistryClient registry, byte[] bytes) throws Exception {\n"
        "        Map<String, Object> m = new LinkedHashMap<>();\n"
        "        int id = ((bytes[1] & 0xFF) << 24) | ((bytes[2] & 0xFF) << 16) | ((bytes[3] & 0xFF) << 8) | (bytes[4] & 0xFF);\n"
        "        Schema schema = ((AvroSchema) registry.getSchemaById(id)).rawSchema();\n"
        "        org.apache.avro.io.BinaryDecoder dec = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);\n"
        "        Object datum = new GenericDatumReader<Object>(schema).read(null, dec);\n"
        "        ByteArrayOutputStream bos = new ByteArrayOutputStream();\n"
        "        JsonEncoder enc = EncoderFactory.get().jsonEncoder(schema, bos, false);\n"
        "        new GenericDatumWriter<Object>(schema).write(datum, enc);\n"
        "        enc.flush();\n"
        "        m.put(\"magic\", (int) bytes[0]);\n"
        "        m.put(\"schema_id\", id);\n"
        "        m.put(\"fully_consumed\", dec.isEnd());\n"
        "        m.put(\"schema_name\", schema.getFullName());\n"
        "        m.put(\"datum\", MAPPER.readTree(bos.toByteArray()));\n"
        "        m.put(\"hex\", hex(bytes));\n"
        "        return m;\n"
        "    }\n"
        "\n"
        "    /** Writes every record through JsonConverter and AvroConverter. */\n")

    replace_once(java,
        "            res.put(\"serialized_bytes\", perf.bytes);\n",
        "            res.put(\"serialized_bytes\", perf.bytes);\n"
        "            res.putAll(perfSampleInfo(perf));\n")

    # --- perf.sh ----------------------------------------------------------------------------------------------
    perf = root / "perf.sh"
    replace_once(perf,
        "        perf_stream_live \"stream-live-count-$i\" none\n"
        "        perf_stream_live \"stream-live-json-$i\" json\n",
        "        perf_stream_live \"stream-live-count-$i\" none\n"
        "        perf_stream_live \"stream-live-json-$i\" json\n"
        "        perf_stream_live \"stream-live-avro-$i\" avro\n")
    replace_once(perf,
        "perf_stream_live() { # name serialize\n"
        "  local name=\"$1\" ser=\"$2\" rundir=\"$WORK/perf-$1\"\n",
        "perf_stream_live() { # name serialize\n"
        "  local name=\"$1\" ser=\"$2\" rundir=\"$WORK/perf-$1\"\n"
        "  echo \"before $(date -u +%FT%TZ) $(uptime)\" > \"$PERF_OUT/$name.uptime.txt\"\n")
    replace_once(perf,
        "  summarize \"$name\" \"$PERF_OUT\" \"$t0\" \"$t1\" stream-live\n"
        "}\n",
        "  summarize \"$name\" \"$PERF_OUT\" \"$t0\" \"$t1\" stream-live\n"
        "  echo \"after $(date -u +%FT%TZ) $(uptime)\" >> \"$PERF_OUT/$name.uptime.txt\"\n"
        "}\n")

    # --- private MariaDB port ---------------------------------------------------------------------------------
    replace_once(root / "run.sh", "\nPORT=3407\n", f"\nPORT={port}\n")
    replace_once(root / "conf/base.properties", "\ndatabase.port=3407\n", f"\ndatabase.port={port}\n")
    print(f"patch_oracle.py: patched {root} (Oracle.java PerfHandler avro, perf.sh live count/json/avro + uptime, "
          f"MariaDB port {port})", file=sys.stderr)


if __name__ == "__main__":
    main()

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

fn oracle_conf() -> PathBuf {
    crate::offsets::tests::oracle_dir().join("conf")
}

fn write(dir: &tempfile::TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The minimum valid config.
fn minimal() -> BTreeMap<String, String> {
    props(&[
        ("name", "c"),
        ("topic.prefix", "p"),
        ("database.hostname", "h"),
        ("database.user", "u"),
        ("database.password", "hunter2"),
        ("database.server.id", "5"),
        ("schema.history.internal.kafka.topic", "h"),
        ("schema.history.internal.kafka.bootstrap.servers", "k:9092"),
    ])
}

fn with(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = minimal();
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

fn err(map: BTreeMap<String, String>) -> String {
    ConnectorConfig::from_map(map).unwrap_err().to_string()
}

/// The tutorial's `register-mysql.json` (debezium/example-mysql), as users POST it.
const REGISTER_MYSQL_JSON: &str = r#"{
    "name": "inventory-connector",
    "config": {
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "tasks.max": "1",
        "database.hostname": "mysql",
        "database.port": "3306",
        "database.user": "debezium",
        "database.password": "dbz",
        "database.server.id": "184054",
        "topic.prefix": "dbserver1",
        "database.include.list": "inventory",
        "schema.history.internal.kafka.bootstrap.servers": "kafka:9092",
        "schema.history.internal.kafka.topic": "schema-changes.inventory"
    }
}"#;

#[test]
fn oracle_base_plus_run_main_properties() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(oracle_conf().join("base.properties")).unwrap();
    let run = std::fs::read_to_string(oracle_conf().join("run-main.properties")).unwrap();
    let path = write(&dir, "main.properties", &format!("{base}\n{run}"));
    let c = ConnectorConfig::from_file(&path).unwrap();
    assert_eq!(c.name, "oracle-engine");
    assert_eq!(c.connector_class, ConnectorClass::MySql);
    assert_eq!(c.topic_prefix, "dbserver1");
    assert_eq!(c.connection.hostname, "127.0.0.1");
    assert_eq!(c.connection.port, 3407);
    assert_eq!(c.connection.user, "debezium");
    assert_eq!(c.connection.password.expose(), "dbz");
    assert_eq!(c.connection.server_id, 184054);
    assert_eq!(c.snapshot.mode, SnapshotMode::Initial);
    assert_eq!(c.history.kind, SchemaHistoryKind::File);
    assert_eq!(c.history.file_filename.as_deref(), Some(std::path::Path::new("@RUNDIR@/schemahistory.dat")));
    assert!(c.tables.is_captured("inventory", "customers"));
    assert!(c.tables.is_captured("Types", "all_types"));
    assert!(!c.tables.is_captured("extra", "mdb_types"));
    assert!(!c.tables.is_captured("mysql", "user"));
    // Defaults.
    assert!(c.streaming.include_schema_changes);
    assert!(c.streaming.tombstones_on_delete);
    assert!(c.streaming.skipped_operations.truncate);
    assert!(!c.streaming.provide_transaction_metadata);
    assert_eq!(c.streaming.max_batch_size, 2048);
    assert_eq!(c.types.decimal_handling_mode, DecimalHandlingMode::Precise);
    assert_eq!(c.types.time_precision_mode, TimePrecisionMode::AdaptiveTimeMicroseconds);
    assert_eq!(c.connection.ssl_mode, SslMode::Preferred);
    // Engine properties are kept for the worker side, not reported.
    assert_eq!(c.engine.get("offset.flush.interval.ms"), Some("0"));
    let worker = WorkerConfig::from_map(c.engine.0.clone()).unwrap();
    assert_eq!(worker.offset_flush_interval_ms, 0);
    assert_eq!(worker.offset_storage_file_filename.as_deref(), Some(std::path::Path::new("@RUNDIR@/offsets.dat")));
    // What Debezium's JDBC pass-through and the oracle harness use is reported, by name.
    assert_eq!(c.unsupported, vec!["database.propertiesTransform", "oracle.mode"]);
    // The password never shows in Debug output.
    let debug = format!("{c:?}");
    assert!(!debug.contains("dbz\""), "{debug}");
    assert!(debug.contains("password: ***"));
}

#[test]
fn oracle_run_variants_parse() {
    let base = std::fs::read_to_string(oracle_conf().join("base.properties")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for run in ["heartbeat", "txmeta", "mdbtypes_exclude", "mdbtypes_excludeskip"] {
        let extra = std::fs::read_to_string(oracle_conf().join(format!("run-{run}.properties"))).unwrap();
        let path = write(&dir, &format!("{run}.properties"), &format!("{base}\n{extra}"));
        let c = ConnectorConfig::from_file(&path).unwrap();
        match run {
            "heartbeat" => assert_eq!(c.streaming.heartbeat_interval_ms, 1000),
            "txmeta" => {
                assert!(c.streaming.provide_transaction_metadata);
                assert_eq!(c.streaming.skipped_operations, SkippedOperations::default());
            }
            _ => {
                assert!(c.history.store_only_captured_tables_ddl);
                assert!(c.tables.is_captured("extra", "other"));
                assert!(!c.tables.is_captured("extra", "MDB_TYPES"));
                assert!(!c.tables.is_captured("inventory", "customers"));
                assert_eq!(c.history.skip_unparseable_ddl, run == "mdbtypes_excludeskip");
            }
        }
    }
}

#[test]
fn tutorial_register_mysql_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "register-mysql.json", REGISTER_MYSQL_JSON);
    let c = ConnectorConfig::from_file(&path).unwrap();
    assert_eq!(c.name, "inventory-connector");
    assert_eq!(c.topic_prefix, "dbserver1");
    assert_eq!(c.connection.port, 3306);
    assert_eq!(c.connection.server_id, 184054);
    assert_eq!(c.history.kind, SchemaHistoryKind::Kafka);
    assert_eq!(c.history.kafka_topic.as_deref(), Some("schema-changes.inventory"));
    assert_eq!(c.history.kafka_bootstrap_servers.as_deref(), Some("kafka:9092"));
    assert!(c.tables.is_captured("inventory", "orders"));
    assert!(!c.tables.is_captured("inventory2", "orders"));
    assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
    assert_eq!(c.converters(None), Converters::default());
}

#[test]
fn json_numbers_and_booleans_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let json = REGISTER_MYSQL_JSON
        .replace(r#""database.port": "3306""#, r#""database.port": 3307"#)
        .replace(r#""tasks.max": "1""#, r#""tasks.max": 1, "include.query": true"#);
    let c = ConnectorConfig::from_file(write(&dir, "c.json", &json)).unwrap();
    assert_eq!(c.connection.port, 3307);
    assert!(c.streaming.include_query);
    // A bare config object (PUT /connectors/<name>/config) with `name` inside works too.
    let bare = r#"{"name":"n","topic.prefix":"p","database.hostname":"h","database.user":"u",
        "database.server.id":1,"schema.history.internal":"io.debezium.storage.file.history.FileSchemaHistory",
        "schema.history.internal.file.filename":"/tmp/h.dat"}"#;
    let c = ConnectorConfig::from_file(write(&dir, "bare.json", bare)).unwrap();
    assert_eq!(c.name, "n");
    assert!(c.connection.password.is_empty());
}

#[test]
fn flat_properties_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name=inventory-connector\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\n\
        topic.prefix=dbserver1\ndatabase.hostname=db\ndatabase.user=u\ndatabase.password=  sp ace \n\
        database.server.id=184054\nschema.history.internal.kafka.topic=h\n\
        schema.history.internal.kafka.bootstrap.servers=k:9092\n\
        transforms=unwrap\ntransforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
        errors.tolerance=all\nkey.converter=io.confluent.connect.avro.AvroConverter\n\
        key.converter.schema.registry.url=http://registry:8081\n";
    let c = ConnectorConfig::from_file(write(&dir, "c.properties", text)).unwrap();
    assert_eq!(c.connector_class, ConnectorClass::MariaDb);
    // Passwords are not trimmed (Kafka's PASSWORD type).
    assert_eq!(c.connection.password.expose(), "sp ace ");
    assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
    assert_eq!(c.connect.get("transforms.unwrap.type"), Some("io.debezium.transforms.ExtractNewRecordState"));
    assert_eq!(c.converters(None).key, ConverterKind::Avro(AvroSettings::new("http://registry:8081")));
}

#[test]
fn error_missing_topic_prefix() {
    let mut m = minimal();
    m.remove("topic.prefix");
    assert_eq!(err(m), "missing required property `topic.prefix`");
    assert!(err(with(&[("topic.prefix", "db server")])).contains("`topic.prefix`"));
    assert!(err(with(&[("topic.prefix", "db server")])).contains("\"db server\""));
}

#[test]
fn error_bad_port() {
    let e = err(with(&[("database.port", "33o6")]));
    assert_eq!(e, "invalid value \"33o6\" for property `database.port`: expected an integer");
    assert!(err(with(&[("database.port", "70000")])).contains("out of range"));
    assert!(err(with(&[("database.port", "0")])).contains("`database.port`"));
}

#[test]
fn error_include_and_exclude_both_set() {
    for (inc, exc) in [
        ("database.include.list", "database.exclude.list"),
        ("table.include.list", "table.exclude.list"),
        ("column.include.list", "column.exclude.list"),
    ] {
        let e = err(with(&[(inc, "a"), (exc, "b")]));
        assert!(e.contains(inc) && e.contains(exc), "{e}");
    }
}

#[test]
fn error_malformed_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "broken.json", "{\n  \"name\": \"x\",\n  \"config\": {\"a\": \"b\",}\n}");
    let e = ConnectorConfig::from_file(&path).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ConfigError::Json { line: 3, .. }), "{msg}");
    assert!(msg.starts_with("config file "), "{msg}");
    assert!(msg.contains("broken.json"), "{msg}");
    assert!(msg.contains("is not valid JSON"), "{msg}");
    assert!(msg.ends_with("at line 3, column 23"), "{msg}");
    assert_eq!(msg.matches(" at line").count(), 1, "{msg}");
}

#[test]
fn unknown_properties_are_listed_and_connect_ones_accepted() {
    let c = ConnectorConfig::from_map(with(&[
        ("database.sslkey", "x"),
        ("gtid.source.includes", "abc"),
        ("tasks.max", "1"),
        ("connector.class", "io.debezium.connector.mysql.MySqlConnector"),
        ("transforms", "route"),
        ("transforms.route.type", "io.debezium.transforms.ByLogicalTableRouter"),
        ("predicates", "p"),
        ("errors.log.enable", "true"),
        ("header.converter", "org.apache.kafka.connect.storage.SimpleHeaderConverter"),
        ("topic.creation.default.partitions", "3"),
        ("topic.creation.default.cleanup.policy", "compact"),
        ("producer.override.compression.type", "zstd"),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter.schemas.enable", "false"),
    ]))
    .unwrap();
    assert_eq!(c.unsupported, vec!["database.sslkey"]);
    assert_eq!(c.topic_creation.partitions, Some(3));
    assert_eq!(c.connect.get("topic.creation.default.cleanup.policy"), Some("compact"));
    assert_eq!(c.converters(None).value, ConverterKind::Json { schemas_enable: false });
}

#[test]
fn other_validation_errors_name_property_and_value() {
    let cases: &[(&str, &str)] = &[
        ("database.server.id", "abc"),
        ("database.server.id", "4294967296"),
        ("snapshot.mode", "sometimes"),
        ("decimal.handling.mode", "exact"),
        ("include.schema.changes", "yes"),
        ("skipped.operations", "c,x"),
        ("connector.class", "io.debezium.connector.postgresql.PostgresConnector"),
        ("table.include.list", "inventory.(customers"),
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ("message.key.columns", "inventory.customers"),
        ("signal.enabled.channels", "source,carrier-pigeon"),
        // refused by Debezium 3.6.3 too (the oracle's first modes_double attempt)
        ("time.precision.mode", "adaptive"),
        ("column.mask.hash.WHIRLPOOL.with.salt.abc", "inventory.customers.email"),
    ];
    for (k, v) in cases {
        let e = err(with(&[(k, v)]));
        assert!(e.contains(&format!("`{k}`")), "{k}: {e}");
        let shown = match *k {
            "table.include.list" => "inventory.(customers",
            "column.mask.hash.WHIRLPOOL.with.salt.abc" => "WHIRLPOOL",
            _ => v,
        };
        assert!(e.contains(shown), "{k}: {e}");
    }
    let e = err(with(&[("max.queue.size", "100")]));
    assert!(e.contains("max.batch.size"), "{e}");
    let e = err(with(&[("value.converter", AVRO_CONVERTER)]));
    assert_eq!(e, "missing required property `value.converter.schema.registry.url`");
    let mut m = minimal();
    m.remove("database.server.id");
    assert_eq!(err(m), "missing required property `database.server.id`");
    // Without the history topic no history is kept (a warning at start), as before.
    let mut m = minimal();
    m.remove("schema.history.internal.kafka.topic");
    assert!(ConnectorConfig::from_map(m).is_ok());
    let e = err(with(&[("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory")]));
    assert!(e.contains("schema.history.internal.file.filename"), "{e}");
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    // A value of a sensitive property is redacted even in an error about it.
    let e = err(with(&[("database.ssl.mode", "verify_ca"), ("database.port", "x")]));
    assert!(!e.contains("hunter2"));
    let e = ConfigError::invalid("database.password", "hunter2", "too short").to_string();
    assert_eq!(e, "invalid value *** for property `database.password`: too short");
    let e = ConfigError::invalid("key.converter.basic.auth.user.info", "u:pw", "x").to_string();
    assert!(!e.contains("u:pw"));
    assert!(!is_sensitive("message.key.columns"));
    assert!(!is_sensitive("key.converter"));
    assert!(is_sensitive("producer.ssl.key.password"));
    assert!(is_sensitive("producer.sasl.jaas.config"));
    assert!(is_sensitive("database.ssl.key"));

    let c = ConnectorConfig::from_map(with(&[
        ("database.ssl.keystore.password", "ks-secret"),
        ("key.converter", AVRO_CONVERTER),
        ("key.converter.schema.registry.url", "http://r"),
        ("key.converter.basic.auth.user.info", "user:regpass"),
    ]))
    .unwrap();
    let debug = format!("{c:?}");
    for secret in ["hunter2", "ks-secret", "regpass"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert_eq!(format!("{}", Secret::new("x")), "***");
}

#[test]
fn filters_are_anchored_case_insensitive_comma_lists() {
    let c = ConnectorConfig::from_map(with(&[
        ("table.include.list", " inventory\\.cust.* , final.flights,x\\,y "),
        ("column.exclude.list", "inventory.customers.email"),
    ]))
    .unwrap();
    let t = &c.tables;
    assert!(t.is_captured("inventory", "customers"));
    assert!(t.is_captured("INVENTORY", "Customers_2"));
    assert!(t.is_captured("final", "flights"));
    assert!(!t.is_captured("final", "flights2")); // anchored at the end
    assert!(!t.is_captured("xfinal", "flights")); // and at the start
    assert!(!t.is_captured("inventory", "orders"));
    assert_eq!(
        match &t.tables {
            IncludeExclude::Include(l) => l.patterns().to_vec(),
            _ => vec![],
        },
        ["inventory\\.cust.*", "final.flights", "x,y"]
    );
    let escaped = RegexList::parse("p", "db\\.t\\,x{1\\,2}, other").unwrap();
    assert_eq!(escaped.patterns(), ["db\\.t,x{1,2}", "other"]);
    assert!(escaped.matches("db.t,xx"));
    assert!(!c.columns.is_included("inventory", "customers", "EMAIL"));
    assert!(c.columns.is_included("inventory", "customers", "first_name"));
    // Builtin databases are ignored unless table.ignore.builtin=false.
    let all = ConnectorConfig::from_map(minimal()).unwrap();
    assert!(!all.tables.is_captured("performance_schema", "threads"));
    assert!(all.tables.is_captured("anything", "at_all"));
    let builtin = ConnectorConfig::from_map(with(&[("table.ignore.builtin", "false")])).unwrap();
    assert!(builtin.tables.is_captured("mysql", "user"));
    // Excludes.
    let ex = ConnectorConfig::from_map(with(&[("database.exclude.list", "tmp.*")])).unwrap();
    assert!(!ex.tables.is_captured("tmp_1", "t"));
    assert!(ex.tables.is_captured("inventory", "t"));
}

#[test]
fn message_key_columns_and_column_transforms() {
    let c = ConnectorConfig::from_map(with(&[
        ("message.key.columns", "inventory.customers:email ; final.fl.*:icao24,last_contact"),
        ("column.mask.with.8.chars", "inventory.customers.email"),
        ("column.truncate.to.20.chars", "inventory.products.description"),
        ("column.mask.hash.v2.SHA-256.with.salt.CzQMA0cB5K", "inventory.orders.customer"),
    ]))
    .unwrap();
    assert_eq!(c.key_columns_for("inventory", "customers"), Some(&["email".to_string()][..]));
    assert_eq!(c.key_columns_for("final", "flights"), Some(&["icao24".to_string(), "last_contact".to_string()][..]));
    assert_eq!(c.key_columns_for("inventory", "orders"), None);
    let kinds: Vec<_> = c.types.column_transforms.iter().map(|t| t.kind.clone()).collect();
    assert!(kinds.contains(&ColumnTransformKind::MaskWithChars(8)));
    assert!(kinds.contains(&ColumnTransformKind::TruncateTo(20)));
    assert!(kinds.contains(&ColumnTransformKind::Hash {
        algorithm: "SHA-256".into(),
        salt: "CzQMA0cB5K".into(),
        v2: true
    }));
    assert!(c.unsupported.is_empty());
}

#[test]
fn worker_properties_and_converter_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "connect-standalone.properties",
        "bootstrap.servers=kafka:9092\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=io.confluent.connect.avro.AvroConverter\n\
         value.converter.schema.registry.url=http://registry:8081\n\
         key.converter.schemas.enable=false\n\
         offset.storage.file.filename=/tmp/connect.offsets\n\
         offset.flush.interval.ms=10000\n\
         producer.compression.type=lz4\n\
         producer.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"cdc\" password=\"topsecret\";\n\
         topic.creation.default.replication.factor=1\n\
         plugin.path=/usr/share/java\n",
    );
    let w = WorkerConfig::from_properties_file(&path).unwrap();
    assert_eq!(w.bootstrap_servers, "kafka:9092");
    assert_eq!(w.offset_flush_interval_ms, 10000);
    assert_eq!(w.offset_storage_topic, None);
    assert_eq!(w.offset_storage_partitions, 25);
    assert_eq!(w.producer.get("compression.type"), Some("lz4"));
    assert_eq!(w.raw.get("plugin.path"), Some("/usr/share/java"));
    assert!(!format!("{w:?}").contains("topsecret"));
    assert_eq!(w.key_converter.as_ref().unwrap().kind, ConverterKind::Json { schemas_enable: false });
    // Worker-level converters apply when the connector sets none...
    let c = ConnectorConfig::from_map(minimal()).unwrap();
    let conv = c.converters(Some(&w));
    assert_eq!(conv.key, ConverterKind::Json { schemas_enable: false });
    assert_eq!(conv.value, ConverterKind::Avro(AvroSettings::new("http://registry:8081")));
    assert_eq!(c.topic_creation(Some(&w)).replication_factor, Some(1));
    // ...and a connector-level class overrides with its own properties only.
    let c = ConnectorConfig::from_map(with(&[
        ("key.converter", JSON_CONVERTER),
        ("value.converter", JSON_CONVERTER),
        ("value.converter.schemas.enable", "false"),
    ]))
    .unwrap();
    let conv = c.converters(Some(&w));
    assert_eq!(conv.key, ConverterKind::Json { schemas_enable: true });
    assert_eq!(conv.value, ConverterKind::Json { schemas_enable: false });
    // Defaults.
    let empty = WorkerConfig::from_map(BTreeMap::new()).unwrap();
    assert_eq!(empty.bootstrap_servers, "localhost:9092");
    assert_eq!(empty.offset_flush_interval_ms, 60000);
    let bad = WorkerConfig::from_map(props(&[("offset.flush.interval.ms", "soon")]));
    assert!(bad.unwrap_err().to_string().contains("offset.flush.interval.ms"));
}

#[test]
fn json_shape_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (content, expect) in [
        ("[1]", "expected a JSON object"),
        (r#"{"name":"a","config":"x"}"#, "`config` must be a JSON object"),
        (r#"{"name":"a","config":{"tasks.max":[1]}}"#, "property `tasks.max`"),
        (r#"{"name":"a","config":{"name":"b"}}"#, "does not match"),
    ] {
        let e = ConnectorConfig::from_file(write(&dir, "s.json", content)).unwrap_err();
        assert!(e.to_string().contains(expect), "{e}");
    }
    let e = ConnectorConfig::from_file(dir.path().join("missing.json")).unwrap_err();
    assert!(e.to_string().contains("missing.json"), "{e}");
}

#[test]
fn avro_converter_settings_are_read_and_byte_changing_ones_refused() {
    let avro = |extra: &[(&str, &str)]| {
        let mut props =
            vec![("value.converter", AVRO_CONVERTER), ("value.converter.schema.registry.url", "http://r:8081")];
        props.extend_from_slice(extra);
        ConnectorConfig::from_map(with(&props))
    };
    let c = avro(&[
        ("value.converter.basic.auth.credentials.source", "USER_INFO"),
        ("value.converter.basic.auth.user.info", "u:regpass"),
        ("value.converter.auto.register.schemas", "false"),
        ("value.converter.value.subject.name.strategy", "io.confluent.kafka.serializers.subject.TopicNameStrategy"),
    ])
    .unwrap();
    let ConverterKind::Avro(s) = c.converters(None).value else { panic!("not Avro") };
    assert_eq!(
        s,
        AvroSettings {
            registry_url: "http://r:8081".into(),
            user_info: Some(Secret::new("u:regpass")),
            auto_register: false
        }
    );
    let e = |extra: &[(&str, &str)]| avro(extra).unwrap_err().to_string();
    assert_eq!(
        e(&[("value.converter.basic.auth.credentials.source", "USER_INFO")]),
        "missing required property `value.converter.basic.auth.user.info`"
    );
    for (k, v) in [
        ("value.converter.connect.meta.data", "false"),
        ("value.converter.enhanced.avro.schema.support", "true"),
        ("value.converter.value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy"),
        ("value.converter.basic.auth.credentials.source", "SASL_INHERIT"),
        ("value.converter.auto.register.schemas", "maybe"),
    ] {
        let msg = e(&[(k, v)]);
        assert!(msg.contains(&format!("`{k}`")), "{k}={v}: {msg}");
    }
}

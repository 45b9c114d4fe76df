//! config: the command line of `hudi-sink run` (every setting is a flag; defaults suit the
//! one-machine run) and where each table lives.
//!
//! Table location: `<base>/<db>/<table>`, with `<db>` and `<table>` the last two dot-separated
//! parts of the topic name (`<topic.prefix>.<db>.<table>`, Debezium's data topics). `<base>` is a
//! local directory (default `./lakehouse`) or `s3://bucket/prefix`; S3 settings come from the
//! `AWS_*` environment (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`) or the `--s3-*` flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// Fold Debezium change-event topics into Apache Hudi copy-on-write tables, exactly once.
#[derive(Debug, Clone, Parser)]
pub struct RunArgs {
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    pub bootstrap_servers: String,
    /// Topics to consume: a comma-separated list, or a regex when it starts with `^`
    /// (e.g. `^dbserver1\.final\..*`).
    #[arg(long)]
    pub topics: String,
    /// Kafka client properties file (repeatable), Java names as in Kafka's client.properties:
    /// security.protocol, sasl.mechanism (PLAIN, SCRAM-SHA-256/512, AWS_MSK_IAM),
    /// sasl.jaas.config, ssl.truststore.location (PEM), ssl.keystore.location (PEM or PKCS12), ...;
    /// librdkafka's own names are accepted too. `config.providers` in the file resolves
    /// ${env:NAME} and ${file:PATH:KEY} references.
    #[arg(long = "kafka-config", value_name = "FILE")]
    pub kafka_config: Vec<std::path::PathBuf>,
    /// One Kafka client property (repeatable; wins over --kafka-config).
    #[arg(long = "kafka-property", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub kafka_properties: Vec<(String, String)>,
    /// Consumer group id (offsets committed after each Hudi commit, for lag monitoring only).
    #[arg(long, default_value = "hudi-sink")]
    pub group_id: String,
    /// Schema registry URL (Confluent-compatible) for Avro topics.
    #[arg(long)]
    pub schema_registry_url: Option<String>,
    /// Base path of the tables: a local directory or `s3://bucket/prefix`.
    #[arg(long, default_value = "./lakehouse")]
    pub base_path: String,
    /// Flush a table's batch once this many records arrived for it.
    #[arg(long, default_value_t = 50_000)]
    pub max_batch_records: usize,
    /// Flush a table's batch at the latest this long after its oldest record arrived, keeping the
    /// tables fresh within seconds: `500ms`, `2s`, `1m` (a bare number is milliseconds).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub max_batch_interval: Duration,
    /// Where to start a partition that has no checkpoint: `earliest` or `latest`.
    #[arg(long, default_value = "earliest")]
    pub start_offsets: StartOffsets,
    /// Record key fields of a table instead of the Debezium key: `db.table=col1,col2`
    /// (repeatable).
    #[arg(long = "record-key", value_parser = parse_table_setting)]
    pub record_keys: Vec<(String, String)>,
    /// Partition path of a table: `db.table=column` (the column's value), or `db.table=column:day`
    /// (the UTC day `YYYY-MM-DD` of a DATE/DATETIME/TIMESTAMP column, or of an integer column
    /// holding Unix seconds, written as the extra column `<column>_day`); repeatable; default:
    /// unpartitioned. E.g. `final.flight_positions=last_contact:day`.
    #[arg(long = "partition-field", value_parser = parse_table_setting)]
    pub partition_fields: Vec<(String, String)>,
    /// Extra Hudi write option for every table, `key=value` (repeatable), e.g.
    /// `hoodie.metadata.compact.max.delta.commits=5`.
    #[arg(long = "hudi-option", value_parser = parse_kv)]
    pub hudi_options: Vec<(String, String)>,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Serve Prometheus metrics on `GET /metrics` at this address (e.g. 127.0.0.1:9464).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Stop after this many seconds without any record (0 = run until SIGTERM/SIGINT); for tests
    /// and backfills.
    #[arg(long, default_value_t = 0)]
    pub idle_exit_secs: u64,
}

/// Where the tables' storage is: the S3 settings shared by every subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StorageArgs {
    /// S3 endpoint (default: `AWS_ENDPOINT` / the AWS default).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: `AWS_REGION`).
    #[arg(long)]
    pub s3_region: Option<String>,
    /// Allow plain-HTTP S3 endpoints (local servers).
    #[arg(long)]
    pub s3_allow_http: bool,
}

impl StorageArgs {
    /// Storage options for hudi-rs and the checkpoint store: `AWS_*` variables of the
    /// environment (lower-cased, as hudi-rs reads them), overridden by the `--s3-*` flags.
    pub fn storage_options(&self) -> BTreeMap<String, String> {
        let mut opts = BTreeMap::new();
        for (k, v) in std::env::vars() {
            if let Some(rest) = k.strip_prefix("AWS_") {
                opts.insert(format!("aws_{}", rest.to_ascii_lowercase()), v);
            }
        }
        if let Some(e) = &self.s3_endpoint {
            opts.insert("aws_endpoint".into(), e.clone());
        }
        if let Some(r) = &self.s3_region {
            opts.insert("aws_region".into(), r.clone());
        }
        if self.s3_allow_http {
            opts.insert("aws_allow_http".into(), "true".into());
        }
        opts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartOffsets {
    Earliest,
    Latest,
}

impl RunArgs {
    pub fn max_batch_interval(&self) -> Duration {
        self.max_batch_interval.max(Duration::from_millis(1))
    }

    /// The topic selection.
    pub fn topic_selection(&self) -> Result<TopicSelection, regex::Error> {
        if let Some(re) = self.topics.strip_prefix('^') {
            Ok(TopicSelection::Regex(regex::Regex::new(&format!("^(?:{re})$"))?))
        } else {
            Ok(TopicSelection::List(
                self.topics.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            ))
        }
    }

    /// Storage options for hudi-rs and the checkpoint store (see [`StorageArgs::storage_options`]).
    pub fn storage_options(&self) -> BTreeMap<String, String> {
        self.storage.storage_options()
    }

    pub fn record_key_for(&self, table: &TableId) -> Option<Vec<String>> {
        lookup(&self.record_keys, table).map(|v| v.split(',').map(str::trim).map(str::to_owned).collect())
    }

    pub fn partition_for(&self, table: &TableId) -> Option<PartitionSpec> {
        lookup(&self.partition_fields, table).map(PartitionSpec::parse)
    }
}

fn lookup<'a>(settings: &'a [(String, String)], table: &TableId) -> Option<&'a str> {
    let name = table.to_string();
    settings.iter().rev().find(|(t, _)| *t == name).map(|(_, v)| v.as_str())
}

fn parse_table_setting(s: &str) -> Result<(String, String), String> {
    let (t, v) = s.split_once('=').ok_or_else(|| format!("expected db.table=value, got `{s}`"))?;
    if !t.contains('.') || v.trim().is_empty() {
        return Err(format!("expected db.table=value, got `{s}`"));
    }
    Ok((t.trim().to_owned(), v.trim().to_owned()))
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, ""), |i| s.split_at(i));
    let n: u64 = number.parse().map_err(|_| format!("expected a duration like 500ms, 2s or 1m, got `{s}`"))?;
    match unit.trim() {
        "" | "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" | "min" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!("expected a duration like 500ms, 2s or 1m, got `{s}`")),
    }
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("expected key=value, got `{s}`"))?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

/// How a table's partition path is derived (`--partition-field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    /// the source column
    pub column: String,
    /// partition by the UTC day of the column (a derived column `<column>_day`)
    pub by_day: bool,
}

impl PartitionSpec {
    pub fn parse(s: &str) -> PartitionSpec {
        match s.strip_suffix(":day") {
            Some(c) => PartitionSpec { column: c.trim().to_owned(), by_day: true },
            None => PartitionSpec { column: s.trim().to_owned(), by_day: false },
        }
    }

    /// The Hudi partition field.
    pub fn field(&self) -> String {
        if self.by_day {
            format!("{}_day", self.column)
        } else {
            self.column.clone()
        }
    }
}

/// Topics by list or by regex.
#[derive(Debug, Clone)]
pub enum TopicSelection {
    List(Vec<String>),
    Regex(regex::Regex),
}

impl TopicSelection {
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            TopicSelection::List(l) => l.iter().any(|t| t == topic),
            TopicSelection::Regex(r) => r.is_match(topic),
        }
    }
}

/// A source table: `<db>.<table>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub db: String,
    pub table: String,
}

impl TableId {
    /// The table of a Debezium data topic `<prefix>.<db>.<table>`.
    pub fn from_topic(topic: &str) -> Option<TableId> {
        let mut parts = topic.rsplitn(3, '.');
        let table = parts.next()?;
        let db = parts.next()?;
        parts.next()?; // the prefix must be there too
        (!db.is_empty() && !table.is_empty()).then(|| TableId { db: db.to_owned(), table: table.to_owned() })
    }

    /// `<base>/<db>/<table>`.
    pub fn path_under(&self, base: &str) -> String {
        format!("{}/{}/{}", base.trim_end_matches('/'), self.db, self.table)
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_topic() {
        assert_eq!(
            TableId::from_topic("dbserver1.final.flights"),
            Some(TableId { db: "final".into(), table: "flights".into() })
        );
        assert_eq!(
            TableId::from_topic("a.b.inventory.customers"),
            Some(TableId { db: "inventory".into(), table: "customers".into() })
        );
        assert_eq!(TableId::from_topic("dbserver1"), None);
        assert_eq!(TableId::from_topic("inventory.customers"), None);
        assert_eq!(TableId { db: "d".into(), table: "t".into() }.path_under("s3://b/p/"), "s3://b/p/d/t");
    }

    #[test]
    fn topic_selection() {
        let args = RunArgs::parse_from(["x", "--topics", r"^dbserver1\.final\..*"]);
        let sel = args.topic_selection().unwrap();
        assert!(sel.matches("dbserver1.final.flights"));
        assert!(!sel.matches("dbserver1.inventory.customers"));
        assert!(!sel.matches("xdbserver1.final.flights"));
        let args = RunArgs::parse_from(["x", "--topics", "a.b.c, d.e.f"]);
        let sel = args.topic_selection().unwrap();
        assert!(sel.matches("d.e.f") && !sel.matches("a.b"));
        let args = RunArgs::parse_from([
            "x",
            "--topics",
            "t",
            "--record-key",
            "db.t=a, b",
            "--partition-field",
            "db.t=day",
            "--partition-field",
            "db.u=ts:day",
        ]);
        let t = TableId { db: "db".into(), table: "t".into() };
        assert_eq!(args.record_key_for(&t), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(args.partition_for(&t), Some(PartitionSpec { column: "day".into(), by_day: false }));
        assert_eq!(args.max_batch_interval(), Duration::from_secs(2));
        assert_eq!(parse_duration("750ms"), Ok(Duration::from_millis(750)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("2 h").is_err() && parse_duration("-1s").is_err());
        let u = TableId { db: "db".into(), table: "u".into() };
        assert_eq!(args.partition_for(&u).map(|p| p.field()), Some("ts_day".to_owned()));
    }
}

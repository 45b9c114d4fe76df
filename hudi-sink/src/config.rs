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
    /// Flush every batch at least this often (milliseconds), keeping tables fresh within seconds.
    #[arg(long, default_value_t = 2_000)]
    pub max_batch_interval_ms: u64,
    /// Where to start a partition that has no checkpoint: `earliest` or `latest`.
    #[arg(long, default_value = "earliest")]
    pub start_offsets: StartOffsets,
    /// Record key fields of a table instead of the Debezium key: `db.table=col1,col2`
    /// (repeatable).
    #[arg(long = "record-key", value_parser = parse_table_setting)]
    pub record_keys: Vec<(String, String)>,
    /// Partition field of a table: `db.table=column` (repeatable; default: unpartitioned).
    #[arg(long = "partition-field", value_parser = parse_table_setting)]
    pub partition_fields: Vec<(String, String)>,
    /// Extra Hudi write option for every table, `key=value` (repeatable), e.g.
    /// `hoodie.metadata.compact.max.delta.commits=5`.
    #[arg(long = "hudi-option", value_parser = parse_kv)]
    pub hudi_options: Vec<(String, String)>,
    /// S3 endpoint (default: `AWS_ENDPOINT` / the AWS default).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: `AWS_REGION`).
    #[arg(long)]
    pub s3_region: Option<String>,
    /// Allow plain-HTTP S3 endpoints (local servers).
    #[arg(long)]
    pub s3_allow_http: bool,
    /// Serve Prometheus metrics on `GET /metrics` at this address (e.g. 127.0.0.1:9464).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Stop after this many seconds without any record (0 = run until SIGTERM/SIGINT); for tests
    /// and backfills.
    #[arg(long, default_value_t = 0)]
    pub idle_exit_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartOffsets {
    Earliest,
    Latest,
}

impl RunArgs {
    pub fn max_batch_interval(&self) -> Duration {
        Duration::from_millis(self.max_batch_interval_ms.max(1))
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

    pub fn record_key_for(&self, table: &TableId) -> Option<Vec<String>> {
        lookup(&self.record_keys, table).map(|v| v.split(',').map(str::trim).map(str::to_owned).collect())
    }

    pub fn partition_field_for(&self, table: &TableId) -> Option<String> {
        lookup(&self.partition_fields, table).map(str::to_owned)
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

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("expected key=value, got `{s}`"))?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
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
        let args =
            RunArgs::parse_from(["x", "--topics", "t", "--record-key", "db.t=a, b", "--partition-field", "db.t=day"]);
        let t = TableId { db: "db".into(), table: "t".into() };
        assert_eq!(args.record_key_for(&t), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(args.partition_field_for(&t), Some("day".to_owned()));
    }
}

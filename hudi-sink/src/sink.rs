//! sink: the wiring — topics → tables, the poll loop, batch flushes, checkpoints.
//!
//! Loop: poll records until a table's batch reaches `--max-batch-records` (that table is flushed)
//! or `--max-batch-interval` passed since the oldest unflushed record (every table is flushed);
//! a record whose column list differs from its table's batch (a schema change) flushes that table
//! first. Flushing a table = fold → upsert → delete by key → checkpoint → group offsets (see the
//! crate documentation for why that order is exactly-once). Errors stop only their table.
//! SIGTERM/SIGINT flush what was read, then return.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::{Message, Offset};

use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::config::{PartitionSpec, RunArgs, StartOffsets, TableId};
use crate::convert::to_record_batch;
use crate::decode::{Columns, DecodeError, Decoder, Event, KafkaPos, Payload};
use crate::evolve::{all_nullable, project, relation, Relation, TableObjects, TargetFile};
use crate::fold::{KeyFormat, TableBatch};
use crate::progress::Progress;
use crate::registry::{RegistryError, SchemaCache};
use crate::source::Source;
use crate::table::HudiTable;
use crate::telemetry::Telemetry;

/// How often the broker's topic list is read again.
const DISCOVER_EVERY: Duration = Duration::from_secs(5);
/// How often consumer lag is measured.
const LAG_EVERY: Duration = Duration::from_secs(10);

struct TableState {
    id: TableId,
    name: String,
    topic: String,
    partitions: Vec<i32>,
    hudi: HudiTable,
    checkpoints: CheckpointStore,
    objects: TableObjects,
    last: Checkpoint,
    /// the columns of the Hudi table (see `evolve`)
    target: Option<Arc<Columns>>,
    /// column lists seen that fit `target` (pointer comparison before the full check)
    fitting: Vec<Arc<Columns>>,
    batch: TableBatch,
    /// when the oldest record of `batch` arrived
    batch_started: Option<Instant>,
    key_override: Option<Arc<Vec<String>>>,
    key: Option<KeyFormat>,
    partition: Option<PartitionSpec>,
    stopped: bool,
}

pub struct Sink {
    args: RunArgs,
    source: Source,
    decoder: Decoder,
    telemetry: Arc<Telemetry>,
    storage_options: BTreeMap<String, String>,
    /// topic → table
    tables: HashMap<String, TableState>,
    progress: Progress,
}

impl Sink {
    pub fn new(args: RunArgs, telemetry: Arc<Telemetry>) -> anyhow::Result<Sink> {
        let source = Source::new(&args)?;
        let decoder = Decoder::new(SchemaCache::new(args.schema_registry_url.as_deref()));
        let storage_options = args.storage_options();
        Ok(Sink {
            args,
            source,
            decoder,
            telemetry,
            storage_options,
            tables: HashMap::new(),
            progress: Progress::new(),
        })
    }

    /// Assign the topics that appeared since the last call, each from its table's checkpoint.
    async fn discover(&mut self) -> anyhow::Result<()> {
        for (topic, partitions) in self.source.topics()? {
            if self.tables.contains_key(&topic) {
                continue;
            }
            let Some(id) = TableId::from_topic(&topic) else {
                tracing::warn!(topic, "not a `<prefix>.<db>.<table>` data topic: ignored");
                continue;
            };
            if let Some(other) = self.tables.values().find(|t| t.id == id) {
                tracing::error!(topic, other = %other.topic, table = %id, "two topics for one table: this one is ignored");
                continue;
            }
            let uri = id.path_under(&self.args.base_path);
            let checkpoints = CheckpointStore::new(&uri, &self.storage_options)?;
            let objects = TableObjects::new(&crate::checkpoint::base_uri(&uri), &self.storage_options)
                .map_err(anyhow::Error::msg)?;
            let target = objects.load_target().await.map_err(anyhow::Error::msg)?;
            if let Some(t) = target.as_ref().filter(|t| t.rebuild_pending) {
                // a rebuild was interrupted: finish wiping, then start from the beginning
                objects.wipe().await.map_err(anyhow::Error::msg)?;
                objects
                    .save_target(&TargetFile { rebuild_pending: false, ..t.clone() })
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            let last = checkpoints.latest().await?.unwrap_or_default();
            let start = match self.args.start_offsets {
                // a table rebuilt (or being rebuilt) from its topic starts at the beginning
                _ if target.is_some() => Offset::Beginning,
                StartOffsets::Earliest => Offset::Beginning,
                StartOffsets::Latest => Offset::End,
            };
            let offsets: Vec<(i32, Offset)> =
                partitions.iter().map(|p| (*p, last.offset(&topic, *p).map_or(start, Offset::Offset))).collect();
            let name = id.to_string();
            self.telemetry.table_assigned(
                &name,
                &uri,
                (last.seq > 0).then_some(last.seq),
                &format!("{:?}", offsets.iter().map(|(p, o)| (p, format!("{o:?}"))).collect::<Vec<_>>()),
            );
            self.source.assign(&topic, &offsets)?;
            let backlog: i64 = offsets
                .iter()
                .filter_map(|(p, o)| {
                    let (lo, hi) = tokio::task::block_in_place(|| self.source.watermarks(&topic, *p))?;
                    Some(match o {
                        Offset::Offset(o) => hi - o,
                        Offset::End => 0,
                        _ => hi - lo,
                    })
                })
                .sum();
            self.progress.add_backlog(backlog.max(0) as u64);
            let hudi = HudiTable::new(&id.table, &uri, &self.storage_options, &self.args.hudi_options);
            self.tables.insert(
                topic.clone(),
                TableState {
                    key_override: self.args.record_key_for(&id).map(Arc::new),
                    partition: self.args.partition_for(&id),
                    id,
                    name,
                    topic,
                    partitions,
                    hudi,
                    checkpoints,
                    objects,
                    last,
                    target: target.map(|t| Arc::new(t.columns)),
                    fitting: Vec::new(),
                    batch: TableBatch::default(),
                    batch_started: None,
                    key: None,
                    stopped: false,
                },
            );
        }
        Ok(())
    }

    /// Run until SIGTERM/SIGINT (or `--idle-exit-secs` without records); returns the tables that
    /// stopped on errors.
    pub async fn run(mut self, shutdown: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<Vec<String>> {
        self.discover().await?;
        let interval = self.args.max_batch_interval();
        let idle_exit = (self.args.idle_exit_secs > 0).then(|| Duration::from_secs(self.args.idle_exit_secs));
        let mut last_discover = Instant::now();
        let mut last_lag = Instant::now();
        let mut last_record = Instant::now();
        loop {
            if *shutdown.borrow() {
                tracing::info!("shutting down: flushing what was read");
                self.flush_all().await;
                return Ok(self.stopped_tables());
            }
            if last_discover.elapsed() >= DISCOVER_EVERY {
                last_discover = Instant::now();
                if let Err(e) = self.discover().await {
                    tracing::warn!(error = %e, "topic discovery failed; retrying later");
                }
            }
            if last_lag.elapsed() >= LAG_EVERY {
                last_lag = Instant::now();
                self.measure_lag();
            }
            // flush tables whose oldest record waited long enough
            let due: Vec<String> = self
                .tables
                .iter()
                .filter(|(_, t)| t.batch_started.is_some_and(|s| s.elapsed() >= interval))
                .map(|(k, _)| k.clone())
                .collect();
            for topic in due {
                self.flush(&topic).await;
            }
            if let Some(idle) = idle_exit {
                if last_record.elapsed() >= idle && self.tables.values().all(|t| t.batch.is_empty()) {
                    tracing::info!(idle_secs = idle.as_secs(), "no records for a while: exiting (--idle-exit-secs)");
                    return Ok(self.stopped_tables());
                }
            }
            let wait = self
                .tables
                .values()
                .filter_map(|t| t.batch_started.map(|s| interval.saturating_sub(s.elapsed())))
                .min()
                .unwrap_or(Duration::from_millis(500))
                .clamp(Duration::from_millis(1), Duration::from_millis(500));
            let msg = match self.source.recv(wait).await {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Kafka consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            last_record = Instant::now();
            let (topic, partition, offset, key, value) =
                (msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.payload());
            let Some(t) = self.tables.get(topic) else { continue };
            if t.stopped {
                continue;
            }
            let at = KafkaPos { topic: topic.into(), partition, offset };
            self.telemetry.records_in(&t.name, 1);
            self.progress.record();
            let (id, key_override) = (t.id.clone(), t.key_override.clone());
            let decoded = loop {
                match self.decoder.decode(id.clone(), at.clone(), key, value, key_override.as_ref()).await {
                    // the registry is down (already retried with back-off): every table needs it,
                    // so wait for it rather than stop this one
                    Err(DecodeError::Registry { source: e @ RegistryError::Unavailable { .. }, .. })
                        if !*shutdown.borrow() =>
                    {
                        tracing::warn!(at = %at, error = %e, "schema registry unavailable; still retrying");
                    }
                    other => break other,
                }
            };
            let topic = topic.to_owned();
            match decoded {
                Ok(event) => self.take(&topic, event).await,
                Err(e) => self.reject(&topic, e.at(), &e.to_string()).await,
            }
        }
    }

    /// Add a decoded event to its table's batch (flushing first when it cannot join).
    async fn take(&mut self, topic: &str, mut event: Event) {
        let max = self.args.max_batch_records;
        let t = self.tables.get_mut(topic).expect("known topic");
        if let Payload::Change(c) = &mut event.payload {
            // project onto the table's columns; an evolution rebuilds the table
            let fits = t.fitting.iter().any(|f| Arc::ptr_eq(f, &c.columns));
            match t.target.clone() {
                Some(target) if fits => project(c, &target),
                Some(target) => match relation(&c.columns, &target) {
                    Relation::Fits => {
                        t.fitting.push(c.columns.clone());
                        project(c, &target);
                    }
                    Relation::Evolves => {
                        let columns = c.columns.clone();
                        return self.rebuild(topic, &columns, &event.kafka).await;
                    }
                    Relation::Incompatible(why) => return self.reject(topic, &event.kafka, &why).await,
                },
                None => {
                    let target = Arc::new(all_nullable(&c.columns));
                    let file = TargetFile { columns: (*target).clone(), rebuild_pending: false };
                    if let Err(e) = t.objects.save_target(&file).await {
                        return self.stop(topic, Some(&event.kafka), &e);
                    }
                    t.fitting.push(c.columns.clone());
                    project(c, &target);
                    t.target = Some(target);
                }
            }
        }
        let t = self.tables.get_mut(topic).expect("known topic");
        if let Payload::Change(c) = &event.payload {
            let fields: &Vec<String> = &c.key_fields;
            match &t.key {
                None => t.key = Some(KeyFormat { fields: fields.clone() }),
                Some(k) if k.fields != *fields => {
                    let msg = format!(
                        "record key fields changed from {:?} to {:?}: Hudi's record key cannot change",
                        k.fields, fields
                    );
                    self.reject(topic, &event.kafka, &msg).await;
                    return;
                }
                Some(_) => {}
            }
        }
        if !t.batch.accepts(&event) {
            self.flush(topic).await;
        }
        let t = self.tables.get_mut(topic).expect("known topic");
        if t.stopped {
            return;
        }
        let at = event.kafka.clone();
        let key = t.key.clone().unwrap_or(KeyFormat { fields: Vec::new() });
        if let Err(e) = t.batch.add(event, &key) {
            self.reject(topic, &at, &e).await;
            return;
        }
        t.batch_started.get_or_insert_with(Instant::now);
        if t.batch.records >= max {
            self.flush(topic).await;
        }
    }

    async fn flush_all(&mut self) {
        let topics: Vec<String> = self.tables.keys().cloned().collect();
        for t in topics {
            self.flush(&t).await;
        }
    }

    /// Write a table's batch and its checkpoint; on error the table stops.
    async fn flush(&mut self, topic: &str) {
        let t = self.tables.get_mut(topic).expect("known topic");
        t.batch_started = None;
        if t.stopped || t.batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let (folded, offsets, records) = t.batch.fold();
        let newest_source_ts_ms = folded
            .upserts
            .iter()
            .map(|c| c.source.ts_ms)
            .chain(folded.deletes.iter().map(|(_, c)| c.source.ts_ms))
            .max()
            .unwrap_or(0);
        let rows = match (&folded.columns, folded.upserts.is_empty()) {
            (Some(cols), false) => match to_record_batch(cols, &folded.upserts, t.partition.as_ref()) {
                Ok(b) => Some(b),
                Err(e) => return self.stop(topic, None, &format!("converting rows: {e}")),
            },
            _ => None,
        };
        let keys: Vec<String> = folded.deletes.iter().map(|(k, _)| k.clone()).collect();
        let key_fields = t.key.as_ref().map(|k| k.fields.clone()).unwrap_or_default();
        let partition_field = t.partition.as_ref().map(PartitionSpec::field);
        let written = t.hudi.write(&key_fields, partition_field.as_deref(), rows, keys).await;
        let outcome = match written {
            Ok(o) => o,
            Err(e) => return self.stop(topic, None, &e),
        };
        crate::failpoint::point("after-commit");
        let mut cp = t.last.clone();
        cp.seq += 1;
        for ((tp, p), o) in &offsets {
            cp.offsets.entry(tp.clone()).or_default().insert(*p, *o);
        }
        cp.instants = outcome.instants.clone();
        cp.records += records as u64;
        cp.upserts += folded.upserts.len() as u64;
        cp.deletes += outcome.deletes as u64;
        cp.newest_source_ts_ms = cp.newest_source_ts_ms.max(newest_source_ts_ms);
        cp.written_at = chrono::Utc::now().timestamp_millis();
        if let Err(e) = t.checkpoints.write(&cp).await {
            return self.stop(topic, None, &format!("writing checkpoint {}: {e}", cp.seq));
        }
        crate::failpoint::point("after-checkpoint");
        self.source.commit(&cp.offsets);
        self.telemetry.batch_committed(
            &t.name,
            records,
            folded.upserts.len(),
            outcome.deletes,
            &outcome.instants,
            newest_source_ts_ms,
            &cp,
            started.elapsed(),
        );
        t.last = cp;
    }

    /// An event with more columns or wider types than the table: rebuild the table from the start
    /// of its topic with the new columns (see `evolve` for the steps and why they are crash-safe).
    async fn rebuild(&mut self, topic: &str, columns: &Columns, at: &KafkaPos) {
        let t = self.tables.get_mut(topic).expect("known topic");
        let target = Arc::new(all_nullable(columns));
        tracing::warn!(
            table = %t.name,
            at = %at,
            columns = ?target.fields.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            "schema change adds columns or widens types: rebuilding the table from the start of its topic"
        );
        t.batch = TableBatch::default();
        t.batch_started = None;
        let mut file = TargetFile { columns: (*target).clone(), rebuild_pending: true };
        let steps = async {
            t.objects.save_target(&file).await?;
            let n = t.objects.wipe().await?;
            file.rebuild_pending = false;
            t.objects.save_target(&file).await?;
            Ok::<usize, String>(n)
        };
        match steps.await {
            Ok(n) => tracing::info!(table = %t.name, objects = n, "table wiped for the rebuild"),
            Err(e) => return self.stop(topic, Some(at), &format!("rebuilding after a schema change: {e}")),
        }
        t.hudi = HudiTable::new(&t.id.table, t.hudi.uri(), &self.storage_options, &self.args.hudi_options);
        t.last = Checkpoint::default();
        t.target = Some(target);
        t.fitting.clear();
        if let Err(e) = self.source.seek_to_beginning(&t.topic, &t.partitions) {
            let msg = format!("seeking to the beginning for the rebuild: {e}");
            self.stop(topic, Some(at), &msg);
        }
    }

    /// A record the table cannot take: write what came before it (so the table and its checkpoint
    /// end right before the record), then stop the table there.
    async fn reject(&mut self, topic: &str, at: &KafkaPos, error: &str) {
        self.flush(topic).await;
        self.stop(topic, Some(at), error);
    }

    fn stop(&mut self, topic: &str, at: Option<&KafkaPos>, error: &str) {
        let Some(t) = self.tables.get_mut(topic) else { return };
        if t.stopped {
            return;
        }
        t.stopped = true;
        t.batch = TableBatch::default();
        t.batch_started = None;
        self.telemetry.table_stopped(&t.name, at.map(|a| a.to_string()).as_deref(), error);
        self.source.pause(&t.topic, &t.partitions);
    }

    fn measure_lag(&self) {
        for t in self.tables.values() {
            let mut lag = 0;
            for p in &t.partitions {
                if let Some(hi) = tokio::task::block_in_place(|| self.source.high_watermark(&t.topic, *p)) {
                    lag += hi - t.last.offset(&t.topic, *p).unwrap_or(0);
                }
            }
            self.telemetry.lag(&t.name, lag);
        }
    }

    /// Tables that stopped on an error.
    pub fn stopped_tables(&self) -> Vec<String> {
        self.tables.values().filter(|t| t.stopped).map(|t| t.name.clone()).collect()
    }
}

//! From one decoded row change to the Kafka records Debezium emits for it, encoded.
//!
//! Debezium turns a row change into one to three records:
//! - insert → `c`; update → `u`; delete → `d` followed by a tombstone (key, null value) when
//!   `tombstones.on.delete` is true;
//! - an update that changes the primary key → `d` of the old key (header `__debezium.newkey`),
//!   its tombstone (same header), then `c` of the new key (header `__debezium.oldkey`).
//!
//! Every record carries the run's four context headers after the optional key header (headers
//! always go through Connect's `SimpleHeaderConverter`, whatever the key and value converters
//! are). The encoded bytes of all records of one change go into one reused arena, so encoding allocates
//! nothing per record once the buffers have grown; callers read the records back with
//! [`ChangeRecords::get`] and hand them to the producer.

use std::ops::Range;
use std::sync::Arc;

use mysql_common::binlog::row::BinlogRow;

use crate::connect::Value;
use crate::decode::DecodeError;
use crate::encode::avro::AvroEncodeError;
use crate::encode::converter::Converter;
use crate::encode::json::write_header_value;
use crate::envelope::{context_headers, envelope_value, Op, ProcessingTime, TableSchemas};
use crate::schema::Table;

const NEWKEY: &str = "__debezium.newkey";
const OLDKEY: &str = "__debezium.oldkey";

/// A row image as the envelope needs it: (key struct, row struct), both None when absent.
pub type Image = (Option<Value>, Option<Value>);

/// Decode the before and after images of one binlog row change into Debezium values and their
/// keys. `scratch` holds the column vectors between calls.
pub fn decode_change(
    table: &Table,
    schemas: &TableSchemas,
    before: Option<&BinlogRow>,
    after: Option<&BinlogRow>,
    scratch: &mut Vec<Value>,
    nulled: &mut Vec<(usize, crate::decode::ValueError)>,
) -> Result<(Image, Image), DecodeError> {
    let mut image = |row: Option<&BinlogRow>| -> Result<Image, DecodeError> {
        let Some(row) = row else { return Ok((None, None)) };
        scratch.clear();
        crate::decode::decode_row_image_lenient(table, row, scratch, nulled)?;
        let full = std::mem::replace(scratch, Vec::with_capacity(table.columns.len()));
        let (key, row) = schemas.finish_row(full).map_err(|(index, reason)| DecodeError::Column {
            table: table.id.to_string(),
            column: table.columns.get(index).map(|c| c.name.clone()).unwrap_or_default(),
            index,
            reason,
        })?;
        Ok((key, Some(row)))
    };
    Ok((image(before)?, image(after)?))
}

/// Most headers a record gets: a key header, the four context headers, `add.headers`.
const MAX_HEADERS: usize = 5 + crate::transforms::MAX_ADDED_HEADERS;

/// A record's headers, without a heap allocation.
pub struct Headers<'a> {
    items: [(&'a str, &'a [u8]); MAX_HEADERS],
    len: usize,
}

impl<'a> Headers<'a> {
    pub fn as_slice(&self) -> &[(&'a str, &'a [u8])] {
        &self.items[..self.len]
    }
}

/// One encoded record, borrowed from the encoder's arena.
pub struct RecordRef<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Headers<'a>,
}

struct Prepared {
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    key_header: Option<(&'static str, Range<usize>)>,
    /// `add.headers` of ExtractNewRecordState: (name, value) ranges in the arena.
    added_headers: [(Range<usize>, Range<usize>); crate::transforms::MAX_ADDED_HEADERS],
    added: usize,
}

/// Registry ids of a table's key and envelope schemas (0 with JsonConverter), resolved with
/// [`Converter::schema_id`] before the table's first record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaIds {
    pub key: u32,
    pub value: u32,
}

/// One decoded row change of a table, ready to encode: the table's schemas and their registry
/// ids, the operation, and the before/after images.
pub struct Change<'a> {
    pub schemas: &'a TableSchemas,
    pub ids: SchemaIds,
    pub op: Op,
    pub before: Image,
    pub after: Image,
    /// The transaction it belongs to (`provide.transaction.metadata`), else None.
    pub tx: Option<TxOrder<'a>>,
}

/// A change's place in its transaction: every envelope (a primary-key change has two) takes the
/// next `total_order` and `data_collection_order`, as Debezium's `TransactionContext.event` does.
pub struct TxOrder<'a> {
    pub id: &'a str,
    /// Events of the transaction so far.
    pub total: &'a mut u64,
    /// Events of this table in the transaction so far.
    pub table: &'a mut u64,
}

impl TxOrder<'_> {
    /// Count one event and return its `event.block` value.
    fn next_block(&mut self) -> Value {
        *self.total += 1;
        *self.table += 1;
        Value::Struct(vec![Value::str(self.id), Value::Int(*self.total as i64), Value::Int(*self.table as i64)])
    }
}

fn tx_block(tx: &mut Option<TxOrder<'_>>) -> Value {
    tx.as_mut().map_or(Value::Null, TxOrder::next_block)
}

/// Encodes row changes into records; one per pipeline, reused for every change.
pub struct ChangeRecords {
    key_enc: Converter,
    value_enc: Converter,
    ctx: Arc<[(&'static str, String); 4]>,
    tombstones_on_delete: bool,
    /// `skipped.operations` for creates, updates and deletes (checked per record, as Debezium
    /// does: a primary-key update's delete and create halves follow `d` and `c`).
    skip: [bool; 3],
    arena: Vec<u8>,
    records: Vec<Prepared>,
}

impl ChangeRecords {
    pub fn new(
        key_enc: Converter,
        value_enc: Converter,
        logical_name: &str,
        run_id: &str,
        tombstones_on_delete: bool,
    ) -> ChangeRecords {
        ChangeRecords {
            key_enc,
            value_enc,
            ctx: Arc::new(context_headers(logical_name, run_id)),
            tombstones_on_delete,
            skip: [false; 3],
            arena: Vec::with_capacity(8192),
            records: Vec::with_capacity(3),
        }
    }

    /// `skipped.operations`: drop records of these operations (a delete's tombstone with it).
    pub fn skip_operations(&mut self, create: bool, update: bool, delete: bool) {
        self.skip = [create, update, delete];
    }

    fn skipped(&self, op: Op) -> bool {
        match op {
            Op::Create => self.skip[0],
            Op::Update => self.skip[1],
            Op::Delete => self.skip[2],
            Op::Read | Op::Truncate => false,
        }
    }

    /// The key converter (to resolve schema ids).
    pub fn key_converter(&self) -> &Converter {
        &self.key_enc
    }

    /// The value converter (to resolve schema ids).
    pub fn value_converter(&self) -> &Converter {
        &self.value_enc
    }

    /// Registry ids of `schemas` (registering them on first use); zeros with JsonConverter.
    pub async fn schema_ids(
        &self,
        schemas: &TableSchemas,
    ) -> Result<SchemaIds, crate::encode::registry_client::RegistryError> {
        let key = match &schemas.out_key {
            Some(k) => self.key_enc.schema_id(&schemas.topic, k).await?,
            None => 0,
        };
        let value = self.value_enc.schema_id(&schemas.topic, &schemas.value).await?;
        Ok(SchemaIds { key, value })
    }

    /// The run's context headers.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.ctx[..]
    }

    /// Encode the records of one row change (replacing the previous change's). Returns the
    /// number of records; on error (a value Avro cannot hold) there are none.
    pub fn encode_change(
        &mut self,
        change: Change<'_>,
        source: Value,
        now: ProcessingTime,
    ) -> Result<usize, AvroEncodeError> {
        self.arena.clear();
        self.records.clear();
        let result = self.encode_records(change, source, now);
        if result.is_err() {
            self.arena.clear();
            self.records.clear();
        }
        result.map(|()| self.records.len())
    }

    fn encode_records(
        &mut self,
        change: Change<'_>,
        source: Value,
        now: ProcessingTime,
    ) -> Result<(), AvroEncodeError> {
        let Change { schemas, ids, op, before: (key_before, before), after: (key_after, after), mut tx } = change;
        let key_change = match (op, schemas.key.as_ref(), key_before.as_ref(), key_after.as_ref()) {
            (Op::Update, Some(_), Some(kb), Some(ka)) => kb != ka,
            _ => false,
        };
        if key_change {
            let ks = schemas.key.as_deref();
            let newkey = self.header(ks, key_after.as_ref());
            let oldkey = self.header(ks, key_before.as_ref());
            if !self.skipped(Op::Delete) {
                let del = envelope_value(before, None, source.clone(), tx_block(&mut tx), Op::Delete, now);
                self.push(schemas, ids, key_before.as_ref(), Some(del), Some((NEWKEY, newkey.clone())))?;
                if self.tombstones_on_delete {
                    self.push(schemas, ids, key_before.as_ref(), None, Some((NEWKEY, newkey)))?;
                }
            }
            if !self.skipped(Op::Create) {
                let create = envelope_value(None, after, source, tx_block(&mut tx), Op::Create, now);
                self.push(schemas, ids, key_after.as_ref(), Some(create), Some((OLDKEY, oldkey)))?;
            }
        } else if !self.skipped(op) {
            let key = if op == Op::Delete { key_before } else { key_after };
            let value = envelope_value(before, after, source, tx_block(&mut tx), op, now);
            self.push(schemas, ids, key.as_ref(), Some(value), None)?;
            if op == Op::Delete && self.tombstones_on_delete {
                self.push(schemas, ids, key.as_ref(), None, None)?;
            }
        }
        Ok(())
    }

    /// Record `i` of the last encoded change.
    pub fn get(&self, i: usize) -> RecordRef<'_> {
        let p = &self.records[i];
        let slice = |r: &Option<Range<usize>>| r.as_ref().map(|r| &self.arena[r.clone()]);
        let mut items: [(&str, &[u8]); MAX_HEADERS] = [("", &[]); MAX_HEADERS];
        let mut len = 0;
        if let Some((name, r)) = &p.key_header {
            items[0] = (name, &self.arena[r.clone()]);
            len = 1;
        }
        for (k, v) in self.ctx.iter() {
            items[len] = (k, v.as_bytes());
            len += 1;
        }
        for (name, value) in &p.added_headers[..p.added] {
            items[len] = (std::str::from_utf8(&self.arena[name.clone()]).unwrap_or(""), &self.arena[value.clone()]);
            len += 1;
        }
        RecordRef { key: slice(&p.key), value: slice(&p.value), headers: Headers { items, len } }
    }

    /// Total encoded bytes of the last change (keys, values and key headers).
    pub fn encoded_len(&self) -> usize {
        self.arena.len()
    }

    fn header(&mut self, schema: Option<&crate::connect::Schema>, key: Option<&Value>) -> Range<usize> {
        let start = self.arena.len();
        if let (Some(s), Some(k)) = (schema, key) {
            write_header_value(&mut self.arena, s, k);
        }
        start..self.arena.len()
    }

    fn push(
        &mut self,
        schemas: &TableSchemas,
        ids: SchemaIds,
        key: Option<&Value>,
        value: Option<Value>,
        key_header: Option<(&'static str, Range<usize>)>,
    ) -> Result<(), AvroEncodeError> {
        // ExtractNewRecordState: the row instead of the envelope, a delete as a tombstone (or
        // rewritten, or dropped), tombstones dropped unless kept, headers added.
        let mut added_headers: [(Range<usize>, Range<usize>); crate::transforms::MAX_ADDED_HEADERS] =
            Default::default();
        let mut added = 0;
        let value = match (value, &schemas.unwrap) {
            (None, Some(u)) if !u.keeps_tombstones() => return Ok(()),
            (None, _) => None,
            (Some(v), None) => Some((v, &schemas.value)),
            (Some(v), Some(u)) => {
                for (name, bytes) in u.header_values(&v) {
                    let Some(bytes) = bytes else { continue };
                    let n = self.arena.len();
                    self.arena.extend_from_slice(name.as_bytes());
                    let b = self.arena.len();
                    self.arena.extend_from_slice(&bytes);
                    added_headers[added] = (n..b, b..self.arena.len());
                    added += 1;
                }
                match u.value(v) {
                    None => return Ok(()),
                    // JsonConverter writes the null under the optional row schema; AvroConverter
                    // makes a Kafka tombstone of it.
                    Some(Value::Null) if self.value_enc.uses_registry() => None,
                    Some(Value::Null) => Some((Value::Null, &schemas.row)),
                    Some(row) => Some((row, &schemas.value)),
                }
            }
        };
        let key = match (schemas.out_key_value(key), &schemas.out_key) {
            (Some(k), Some(ks)) => {
                let start = self.arena.len();
                self.key_enc.encode(ids.key, ks, &k, &mut self.arena)?;
                Some(start..self.arena.len())
            }
            _ => None,
        };
        let value = match value {
            Some((v, schema)) => {
                let start = self.arena.len();
                self.value_enc.encode(ids.value, schema, &v, &mut self.arena)?;
                Some(start..self.arena.len())
            }
            None => None,
        };
        self.records.push(Prepared { key, value, key_header, added_headers, added });
        Ok(())
    }
}

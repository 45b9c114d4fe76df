//! From one decoded row change to the Kafka records Debezium emits for it, encoded.
//!
//! Debezium turns a row change into one to three records:
//! - insert → `c`; update → `u`; delete → `d` followed by a tombstone (key, null value) when
//!   `tombstones.on.delete` is true;
//! - an update that changes the primary key → `d` of the old key (header `__debezium.newkey`),
//!   its tombstone (same header), then `c` of the new key (header `__debezium.oldkey`).
//!
//! Every record carries the run's four context headers after the optional key header. The
//! encoded bytes of all records of one change go into one reused arena, so encoding allocates
//! nothing per record once the buffers have grown; callers read the records back with
//! [`ChangeRecords::get`] and hand them to the producer.

use std::ops::Range;
use std::sync::Arc;

use mysql_common::binlog::row::BinlogRow;

use crate::connect::Value;
use crate::decode::{decode_row, DecodeError};
use crate::encode::json::{write_header_value, JsonEncoder};
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
) -> Result<(Image, Image), DecodeError> {
    let mut image = |row: Option<&BinlogRow>| -> Result<Image, DecodeError> {
        let Some(row) = row else { return Ok((None, None)) };
        scratch.clear();
        decode_row(table, row, scratch)?;
        let key = schemas.key_value(scratch);
        Ok((key, Some(Value::Struct(std::mem::replace(scratch, Vec::with_capacity(table.columns.len()))))))
    };
    Ok((image(before)?, image(after)?))
}

/// Up to five headers, without a heap allocation.
pub struct Headers<'a> {
    items: [(&'a str, &'a [u8]); 5],
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
}

/// Encodes row changes into records; one per pipeline, reused for every change.
pub struct ChangeRecords {
    key_enc: JsonEncoder,
    value_enc: JsonEncoder,
    ctx: Arc<[(&'static str, String); 4]>,
    tombstones_on_delete: bool,
    arena: Vec<u8>,
    records: Vec<Prepared>,
}

impl ChangeRecords {
    pub fn new(
        key_enc: JsonEncoder,
        value_enc: JsonEncoder,
        logical_name: &str,
        run_id: &str,
        tombstones_on_delete: bool,
    ) -> ChangeRecords {
        ChangeRecords {
            key_enc,
            value_enc,
            ctx: Arc::new(context_headers(logical_name, run_id)),
            tombstones_on_delete,
            arena: Vec::with_capacity(8192),
            records: Vec::with_capacity(3),
        }
    }

    /// The run's context headers.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.ctx[..]
    }

    /// Encode the records of one row change (replacing the previous change's). `before`/`after`
    /// are the row structs with their key structs. Returns the number of records.
    pub fn encode_change(
        &mut self,
        schemas: &TableSchemas,
        op: Op,
        (key_before, before): Image,
        (key_after, after): Image,
        source: Value,
        now: ProcessingTime,
    ) -> usize {
        self.arena.clear();
        self.records.clear();
        let key_change = match (op, schemas.key.as_ref(), key_before.as_ref(), key_after.as_ref()) {
            (Op::Update, Some(_), Some(kb), Some(ka)) => kb != ka,
            _ => false,
        };
        if key_change {
            let ks = schemas.key.as_deref();
            let newkey = self.header(ks, key_after.as_ref());
            let oldkey = self.header(ks, key_before.as_ref());
            let del = envelope_value(before, None, source.clone(), Op::Delete, now);
            self.push(schemas, key_before.as_ref(), Some(&del), Some((NEWKEY, newkey.clone())));
            if self.tombstones_on_delete {
                self.push(schemas, key_before.as_ref(), None, Some((NEWKEY, newkey)));
            }
            let create = envelope_value(None, after, source, Op::Create, now);
            self.push(schemas, key_after.as_ref(), Some(&create), Some((OLDKEY, oldkey)));
        } else {
            let key = if op == Op::Delete { key_before } else { key_after };
            let value = envelope_value(before, after, source, op, now);
            self.push(schemas, key.as_ref(), Some(&value), None);
            if op == Op::Delete && self.tombstones_on_delete {
                self.push(schemas, key.as_ref(), None, None);
            }
        }
        self.records.len()
    }

    /// Record `i` of the last encoded change.
    pub fn get(&self, i: usize) -> RecordRef<'_> {
        let p = &self.records[i];
        let slice = |r: &Option<Range<usize>>| r.as_ref().map(|r| &self.arena[r.clone()]);
        let mut items: [(&str, &[u8]); 5] = [("", &[]); 5];
        let mut len = 0;
        if let Some((name, r)) = &p.key_header {
            items[0] = (name, &self.arena[r.clone()]);
            len = 1;
        }
        for (k, v) in self.ctx.iter() {
            items[len] = (k, v.as_bytes());
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
        key: Option<&Value>,
        value: Option<&Value>,
        key_header: Option<(&'static str, Range<usize>)>,
    ) {
        let key = match (key, &schemas.key) {
            (Some(k), Some(ks)) => {
                let start = self.arena.len();
                self.key_enc.encode(ks, k, &mut self.arena);
                Some(start..self.arena.len())
            }
            _ => None,
        };
        let value = value.map(|v| {
            let start = self.arena.len();
            self.value_enc.encode(&schemas.envelope, v, &mut self.arena);
            start..self.arena.len()
        });
        self.records.push(Prepared { key, value, key_header });
    }
}

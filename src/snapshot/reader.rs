//! Reading rows: a planner splits each table into chunks, reader tasks (one connection each, in its
//! consistent snapshot) read chunks and stream the converted rows to the consumer in batches.
//!
//! Chunks: with one reader, or for a table without a primary key, with a SELECT override, or whose
//! estimated size fits one chunk, the table is one chunk read with Debezium's `SELECT * FROM
//! `db`.`t`` (or the override). Otherwise the planner walks the primary key with
//! `SELECT <pk> … WHERE <pk> > <lower> ORDER BY <pk> LIMIT 1 OFFSET <chunk-1>` (an index-only
//! range scan of one chunk each, so splitting costs one pass over the key) and every chunk is read
//! with `WHERE <pk> > <lower> AND <pk> <= <upper> ORDER BY <pk>` (composite keys expanded into
//! OR-ed prefix comparisons, which every MySQL/MariaDB range optimiser handles). Chunks are
//! half-open key ranges that cover the whole key space, so their boundaries need not come from the
//! snapshot's read view. Rows of one chunk reach the consumer in key order.
//!
//! Memory stays flat: rows are read one at a time from the server (`exec_iter`, never a buffered
//! result set) into batches of `snapshot.fetch.size` rows (default 1024) sent over bounded
//! channels, so a slow producer stops the readers instead of filling memory.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params};
use mysql_common::value::Value as MyValue;
use tokio::sync::{mpsc, Mutex};

use super::schema::{qualified, quote};
use super::values::snapshot_value;
use super::SnapshotError;
use crate::connect::Value;
use crate::schema::Table;

/// Smallest chunk a table is split into (rows).
const MIN_CHUNK_ROWS: u64 = 2048;

/// One table whose rows the snapshot reads.
#[derive(Debug)]
pub struct TableRead {
    pub table: Arc<Table>,
    /// `snapshot.select.statement.overrides.<db.table>`.
    pub select: Option<String>,
    /// `information_schema.TABLES.TABLE_ROWS` (an estimate).
    pub estimated_rows: u64,
}

/// What readers and the planner tell the consumer.
#[derive(Debug)]
pub enum Msg {
    /// Rows of a chunk of table `table`, in read order.
    Rows {
        table: usize,
        rows: Vec<Vec<Value>>,
    },
    /// One chunk of `table` has been read completely.
    ChunkDone {
        table: usize,
    },
    /// `table` was split into `count` chunks (sent after its last chunk was handed out).
    Chunks {
        table: usize,
        count: usize,
    },
    Failed(SnapshotError),
}

/// A key range of one table: `lower < key <= upper` (unbounded when None).
#[derive(Debug)]
pub struct Chunk {
    table: usize,
    lower: Option<Vec<MyValue>>,
    upper: Option<Vec<MyValue>>,
    /// Read with an explicit key range and ORDER BY (the table was split).
    ranged: bool,
}

/// `c0 OP v0 OR (c0 = v0 AND c1 OP v1) OR …`; `last_op` for the full-length prefix.
pub(crate) fn key_bound(
    cols: &[String],
    vals: &[MyValue],
    op: &str,
    last_op: &str,
    params: &mut Vec<MyValue>,
) -> String {
    let mut terms = Vec::with_capacity(cols.len());
    for k in 0..cols.len().min(vals.len()) {
        let mut parts = Vec::with_capacity(k + 1);
        for j in 0..k {
            parts.push(format!("{} = ?", cols[j]));
            params.push(vals[j].clone());
        }
        parts.push(format!("{} {} ?", cols[k], if k + 1 == cols.len() { last_op } else { op }));
        params.push(vals[k].clone());
        terms.push(format!("({})", parts.join(" AND ")));
    }
    format!("({})", terms.join(" OR "))
}

fn key_columns(table: &Table) -> Vec<String> {
    table.key_indexes().into_iter().map(|i| quote(&table.columns[i].name)).collect()
}

/// `WHERE …` for a key range (empty when unbounded) and its parameters.
fn range_where(cols: &[String], lower: Option<&[MyValue]>, upper: Option<&[MyValue]>) -> (String, Vec<MyValue>) {
    let mut params = Vec::new();
    let mut conds = Vec::new();
    if let Some(l) = lower {
        conds.push(key_bound(cols, l, ">", ">", &mut params));
    }
    if let Some(u) = upper {
        conds.push(key_bound(cols, u, "<", "<=", &mut params));
    }
    let sql = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    (sql, params)
}

fn chunk_sql(t: &TableRead, chunk: &Chunk) -> (String, Vec<MyValue>) {
    if let Some(select) = &t.select {
        return (select.clone(), Vec::new());
    }
    let from = format!("SELECT * FROM {}", qualified(&t.table.id));
    if !chunk.ranged {
        return (from, Vec::new());
    }
    let cols = key_columns(&t.table);
    let (w, params) = range_where(&cols, chunk.lower.as_deref(), chunk.upper.as_deref());
    (format!("{from}{w} ORDER BY {}", cols.join(", ")), params)
}

fn params(v: Vec<MyValue>) -> Params {
    if v.is_empty() {
        Params::Empty
    } else {
        Params::Positional(v)
    }
}

/// Rows per chunk for a table of `estimated` rows read by `threads` readers (None: one chunk).
pub fn chunk_rows(estimated: u64, threads: usize) -> Option<u64> {
    let rows = (estimated / (threads as u64 * 4)).max(MIN_CHUNK_ROWS);
    (threads > 1 && estimated > rows).then_some(rows)
}

/// Hand out the chunks of every table, in table order.
pub async fn plan(
    mut conn: Conn,
    tables: Arc<[TableRead]>,
    threads: usize,
    chunks: mpsc::Sender<Chunk>,
    msgs: mpsc::Sender<Msg>,
) {
    for (i, t) in tables.iter().enumerate() {
        let split = match chunk_rows(t.estimated_rows, threads) {
            Some(rows) if t.select.is_none() && !t.table.primary_key.is_empty() => Some(rows),
            _ => None,
        };
        let count = match split {
            None => {
                let whole = Chunk { table: i, lower: None, upper: None, ranged: false };
                if chunks.send(whole).await.is_err() {
                    return;
                }
                1
            }
            Some(rows) => match split_table(&mut conn, i, t, rows, &chunks).await {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    let _ = msgs.send(Msg::Failed(e)).await;
                    return;
                }
            },
        };
        if msgs.send(Msg::Chunks { table: i, count }).await.is_err() {
            return;
        }
    }
    drop(chunks);
    let _ = conn.disconnect().await;
}

/// Walk the primary key of `t` in steps of `rows`; returns the number of chunks (None: receivers gone).
async fn split_table(
    conn: &mut Conn,
    i: usize,
    t: &TableRead,
    rows: u64,
    chunks: &mpsc::Sender<Chunk>,
) -> Result<Option<usize>, SnapshotError> {
    let cols = key_columns(&t.table);
    let mut lower: Option<Vec<MyValue>> = None;
    let mut count = 0;
    loop {
        let (w, p) = range_where(&cols, lower.as_deref(), None);
        let sql = format!(
            "SELECT {k} FROM {t}{w} ORDER BY {k} LIMIT 1 OFFSET {off}",
            k = cols.join(", "),
            t = qualified(&t.table.id),
            off = rows - 1
        );
        let row: Option<mysql_async::Row> = conn
            .exec_first(sql.as_str(), params(p))
            .await
            .map_err(|e| SnapshotError::Select { table: t.table.id.to_string(), message: e.to_string() })?;
        let upper = row.map(|r| r.unwrap());
        let next = upper.clone();
        if chunks.send(Chunk { table: i, lower: lower.take(), upper, ranged: true }).await.is_err() {
            return Ok(None);
        }
        count += 1;
        match next {
            Some(u) => lower = Some(u),
            None => return Ok(Some(count)),
        }
    }
}

/// Read chunks until there are none left, then commit the snapshot transaction.
pub async fn read(
    mut conn: Conn,
    tables: Arc<[TableRead]>,
    chunks: Arc<Mutex<mpsc::Receiver<Chunk>>>,
    msgs: mpsc::Sender<Msg>,
    batch: usize,
) {
    loop {
        let next = chunks.lock().await.recv().await;
        let Some(chunk) = next else { break };
        let table = chunk.table;
        match read_chunk(&mut conn, &tables[table], &chunk, &msgs, batch).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = msgs.send(Msg::Failed(e)).await;
                return;
            }
        }
        if msgs.send(Msg::ChunkDone { table }).await.is_err() {
            return;
        }
    }
    let _ = conn.query_drop("COMMIT").await;
    let _ = conn.disconnect().await;
}

/// For each result column, the index of the table column it holds.
pub(crate) fn column_map(table: &Table, columns: &[mysql_async::Column]) -> Vec<Option<usize>> {
    let by_name: HashMap<String, usize> =
        table.columns.iter().enumerate().map(|(i, c)| (c.name.to_ascii_lowercase(), i)).collect();
    columns.iter().map(|c| by_name.get(&c.name_str().to_ascii_lowercase()).copied()).collect()
}

/// One result row as the table's decoded values (columns the result lacks stay NULL).
pub(crate) fn row_values(
    table: &Table,
    map: &[Option<usize>],
    raw: Vec<Option<MyValue>>,
) -> Result<Vec<Value>, SnapshotError> {
    let mut values = vec![Value::Null; table.columns.len()];
    for (j, v) in raw.into_iter().enumerate() {
        if let (Some(Some(i)), Some(v)) = (map.get(j), v) {
            let col = &table.columns[*i];
            values[*i] = snapshot_value(table, col, v).map_err(|reason| SnapshotError::Decode {
                table: table.id.to_string(),
                column: col.name.clone(),
                message: reason.to_string(),
            })?;
        }
    }
    Ok(values)
}

/// Stream one chunk; Ok(false) when the consumer is gone.
async fn read_chunk(
    conn: &mut Conn,
    t: &TableRead,
    chunk: &Chunk,
    msgs: &mpsc::Sender<Msg>,
    batch: usize,
) -> Result<bool, SnapshotError> {
    let table = &t.table;
    let select_err =
        |e: mysql_async::Error| SnapshotError::Select { table: table.id.to_string(), message: e.to_string() };
    let (sql, p) = chunk_sql(t, chunk);
    let mut result = conn.exec_iter(sql.as_str(), params(p)).await.map_err(select_err)?;
    let map = column_map(table, result.columns_ref());
    let mut rows = Vec::with_capacity(batch);
    while let Some(row) = result.next().await.map_err(select_err)? {
        rows.push(row_values(table, &map, row.unwrap_raw())?);
        if rows.len() >= batch {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(batch));
            if msgs.send(Msg::Rows { table: chunk.table, rows: full }).await.is_err() {
                return Ok(false);
            }
        }
    }
    if !rows.is_empty() && msgs.send(Msg::Rows { table: chunk.table, rows }).await.is_err() {
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_key_ranges_expand_into_prefix_comparisons() {
        let cols = vec!["`a`".to_string(), "`b`".to_string()];
        let lo = vec![MyValue::Int(1), MyValue::Int(2)];
        let hi = vec![MyValue::Int(5), MyValue::Int(6)];
        let (sql, p) = range_where(&cols, Some(&lo), Some(&hi));
        assert_eq!(sql, " WHERE ((`a` > ?) OR (`a` = ? AND `b` > ?)) AND ((`a` < ?) OR (`a` = ? AND `b` <= ?))");
        assert_eq!(p.len(), 6);
        assert_eq!(range_where(&cols, None, None).0, "");
    }

    #[test]
    fn small_tables_and_single_readers_are_one_chunk() {
        assert_eq!(chunk_rows(1_000_000, 1), None);
        assert_eq!(chunk_rows(2_000, 4), None);
        assert_eq!(chunk_rows(20_000, 4), Some(2048));
        assert_eq!(chunk_rows(1_000_000, 4), Some(62_500));
    }
}

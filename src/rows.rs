//! The rows stage: stream a table's rows from the server and serialise them on a CPU thread.
//!
//! The network side runs on tokio and only moves decoded rows; a dedicated serialiser thread
//! per worker turns them into INSERT statements and hands complete statements to the writer.

use std::sync::Arc;
use std::thread::JoinHandle;

use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::Table;
use crate::error::{DbError, Error, Result};
use crate::output::Chunk;
use crate::progress::Progress;
use crate::sql::ident::{ident, qualified};
use crate::sql::insert::InsertBuilder;
use crate::sql::value::CellKind;

/// Rows per batch handed to the serialiser: amortises channel cost without holding much.
pub const BATCH_ROWS: usize = 512;
/// A batch is also cut at this many bytes of cell data, so huge rows do not pile up.
pub const BATCH_BYTES: usize = 1 << 20;
/// Batches queued per serialiser: two in flight keep both sides busy; more only costs memory.
pub const SERIALIZER_QUEUE: usize = 2;
/// A chunk is handed to the writer once this much complete SQL has accumulated.
pub const FLUSH_BYTES: usize = 1 << 20;

/// What one table (or chunk of one) produced.
#[derive(Clone, Debug, Default)]
pub struct TableStats {
    pub rows: u64,
    /// Bytes of SQL written for the rows.
    pub bytes: u64,
    pub statements: u64,
    pub largest_statement: usize,
    /// FLOAT/DOUBLE cells that were not numbers and were written as NULL.
    pub not_a_number: u64,
    /// [`RowChecksum`] of the rows as written.
    pub checksum: RowChecksum,
}

/// An order-independent checksum of a table's rows: the wrapping sum of XXH3-128 over each
/// row's `(…)` tuple exactly as written.
///
/// Order-independent because a restored table may return its rows in another order, and
/// because sums of chunks add up to the table's sum. XXH3 is stable across versions and fast
/// enough not to show next to serialisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowChecksum(u128);

impl RowChecksum {
    #[inline]
    pub fn add_row(&mut self, tuple: &[u8]) {
        self.0 = self.0.wrapping_add(xxhash_rust::xxh3::xxh3_128(tuple));
    }

    pub fn combine(&mut self, other: RowChecksum) {
        self.0 = self.0.wrapping_add(other.0);
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

enum Job {
    Begin {
        out: mpsc::Sender<Chunk>,
        target: String,
        columns: String,
        kinds: Vec<CellKind>,
    },
    Rows(Vec<Row>),
    End(oneshot::Sender<Result<TableStats>>),
}

/// A serialiser thread owned by one dump worker.
pub struct Serializer {
    /// None only while dropping.
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<()>>,
}

impl Serializer {
    pub fn start(statement_size: usize, progress: Arc<dyn Progress>) -> Result<Serializer> {
        let (tx, rx) = mpsc::channel(SERIALIZER_QUEUE);
        let handle = std::thread::Builder::new()
            .name("sfdb-serialize".into())
            .spawn(move || serialize_loop(rx, statement_size, progress.as_ref()))
            .map_err(|e| Error::Internal(format!("cannot start a serialiser thread: {e}")))?;
        Ok(Serializer {
            tx: Some(tx),
            handle: Some(handle),
        })
    }
}

impl Drop for Serializer {
    fn drop(&mut self) {
        // Closing the channel ends the loop; the thread holds no locks, so joining is quick.
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serialize_loop(mut rx: mpsc::Receiver<Job>, statement_size: usize, progress: &dyn Progress) {
    let mut state: Option<(InsertBuilder, Vec<u8>, TableStats, RowChecksum)> = None;
    let mut out: Option<mpsc::Sender<Chunk>> = None;
    let mut failed: Option<Error> = None;
    while let Some(job) = rx.blocking_recv() {
        match job {
            Job::Begin {
                out: to,
                target,
                columns,
                kinds,
            } => {
                failed = None;
                out = Some(to);
                state = Some((
                    InsertBuilder::new(&target, &columns, kinds, statement_size),
                    Vec::with_capacity(FLUSH_BYTES + (64 << 10)),
                    TableStats::default(),
                    RowChecksum::default(),
                ));
            }
            Job::Rows(rows) => {
                let (Some((builder, buf, stats, hash)), Some(out)) = (state.as_mut(), out.as_ref())
                else {
                    continue;
                };
                if failed.is_some() {
                    continue;
                }
                let mut batch_bytes = 0u64;
                for row in &rows {
                    let len = builder.push_values(buf, |i| row.as_ref(i).unwrap_or(&Value::NULL));
                    hash.add_row(&buf[buf.len() - len..]);
                    batch_bytes += len as u64 + 1;
                    stats.rows += 1;
                    if buf.len() >= FLUSH_BYTES {
                        let done = builder.take_complete(buf);
                        if !done.is_empty() {
                            stats.bytes += done.len() as u64;
                            if out.blocking_send(Chunk::Sql(done)).is_err() {
                                failed = Some(writer_gone());
                                break;
                            }
                        }
                    }
                }
                progress.advance(rows.len() as u64, batch_bytes);
            }
            Job::End(reply) => {
                let result = match (state.take(), failed.take()) {
                    (_, Some(e)) => Err(e),
                    (None, None) => Err(Error::Internal("End without Begin".into())),
                    (Some((mut builder, mut buf, mut stats, hash)), None) => {
                        builder.finish_statement(&mut buf);
                        stats.bytes += buf.len() as u64;
                        stats.statements = builder.statements();
                        stats.largest_statement = builder.largest_statement();
                        stats.not_a_number = builder.not_a_number();
                        stats.checksum = hash;
                        let sent = match out.take() {
                            Some(out) => {
                                buf.is_empty() || out.blocking_send(Chunk::Sql(buf)).is_ok()
                            }
                            None => false,
                        };
                        if sent { Ok(stats) } else { Err(writer_gone()) }
                    }
                };
                let _ = reply.send(result);
            }
        }
    }
}

fn writer_gone() -> Error {
    Error::Internal("the output writer stopped".into())
}

/// How a table's data is read: explicit columns (INVISIBLE included, generated excluded), over
/// the binary protocol (FLOAT arrives with every bit, where its text has only 6 digits), and
/// text in charsets that do not survive utf8mb4 read as raw bytes.
pub struct SelectList {
    pub select: String,
    pub insert_columns: String,
    /// Per column: the introducer its raw bytes are written with, when it has one.
    pub introducers: Vec<Option<&'static str>>,
}

pub fn select_list(table: &Table) -> Result<SelectList> {
    let mut select = Vec::new();
    let mut insert = Vec::new();
    let mut introducers = Vec::new();
    for c in table.data_columns() {
        let name = ident(&c.name);
        let introducer = match &c.charset {
            Some(cs) => crate::sql::value::introducer_for(cs).map_err(|e| {
                Error::Unsupported(format!(
                    "column {} of table {}: {e}",
                    name,
                    ident(&table.name)
                ))
            })?,
            None => None,
        };
        if introducer.is_some() {
            select.push(format!("CAST({name} AS BINARY)"));
        } else {
            select.push(name.clone());
        }
        insert.push(name);
        introducers.push(introducer);
    }
    Ok(SelectList {
        select: select.join(", "),
        insert_columns: insert.join(","),
        introducers,
    })
}

/// Streams the rows of `db.table` (those matching `predicate`, all when None) through
/// `serializer` into `out`; returns what was written.
pub async fn dump_table(
    conn: &mut Conn,
    serializer: &Serializer,
    out: &mpsc::Sender<Chunk>,
    db: &str,
    table: &Table,
    chunk: usize,
    predicate: Option<&str>,
) -> Result<TableStats> {
    let target = qualified(db, &table.name);
    let SelectList {
        select,
        insert_columns,
        introducers,
    } = select_list(table)?;
    if select.is_empty() {
        return Ok(TableStats::default());
    }
    let sql = match predicate {
        None => format!("SELECT /*!40001 SQL_NO_CACHE */ {select} FROM {target}"),
        Some(p) => format!("SELECT /*!40001 SQL_NO_CACHE */ {select} FROM {target} WHERE {p}"),
    };
    let rows_err = |rows: u64, e: mysql_async::Error| Error::Rows {
        table: target.clone(),
        chunk,
        rows,
        source: DbError(e),
    };
    let mut result = conn.exec_iter(sql, ()).await.map_err(|e| rows_err(0, e))?;
    let kinds: Vec<CellKind> = result
        .columns_ref()
        .iter()
        .zip(&introducers)
        .map(|(c, intro)| match intro {
            Some(cs) => CellKind::Introduced(cs),
            None => CellKind::of(c.column_type(), c.flags(), c.character_set(), c.decimals()),
        })
        .collect();
    let stopped = || Error::Internal("the serialiser thread stopped".into());
    let tx = serializer.tx.as_ref().ok_or_else(stopped)?;
    let send = |job: Job| async move { tx.send(job).await.map_err(|_| stopped()) };
    send(Job::Begin {
        out: out.clone(),
        target: ident(&table.name),
        columns: insert_columns,
        kinds,
    })
    .await?;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut batch_bytes = 0usize;
    let mut rows = 0u64;
    loop {
        let next = result.next().await.map_err(|e| rows_err(rows, e))?;
        let Some(row) = next else { break };
        rows += 1;
        batch_bytes += row_size(&row);
        batch.push(row);
        if batch.len() >= BATCH_ROWS || batch_bytes >= BATCH_BYTES {
            send(Job::Rows(std::mem::replace(
                &mut batch,
                Vec::with_capacity(BATCH_ROWS),
            )))
            .await?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        send(Job::Rows(batch)).await?;
    }
    let (reply, done) = oneshot::channel();
    send(Job::End(reply)).await?;
    let stats = done
        .await
        .map_err(|_| Error::Internal("the serialiser thread stopped".into()))??;
    if stats.rows != rows {
        return Err(Error::Internal(format!(
            "{target}: read {rows} rows but serialised {}",
            stats.rows
        )));
    }
    Ok(stats)
}

fn row_size(row: &Row) -> usize {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            Some(Value::Bytes(b)) => b.len() + 8,
            _ => 8,
        })
        .sum()
}

/// `COUNT(*)` inside the snapshot, to prove no row was lost or repeated.
pub async fn count_rows(conn: &mut Conn, db: &str, table: &str) -> Result<u64> {
    let target = qualified(db, table);
    let n: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {target}"))
        .await
        .map_err(|e| Error::server(format!("counting rows of {target}"), e))?;
    Ok(n.unwrap_or(0))
}

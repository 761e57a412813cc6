//! The rows stage: stream a table's rows from the server and serialise them on a CPU thread.
//!
//! The network side runs on tokio and only moves bytes; a dedicated serialiser thread per
//! worker turns them into INSERT statements and hands complete statements to the writer.
//!
//! Two row paths feed the same serialiser: the row reader (`connect::wire`: buffers of raw
//! binary-protocol row packets, decoded in place by `decode`) and, when the reader cannot connect, mysql_async
//! (decoded `Row`s). Both write every cell through `sql::value::push_binary`, so their output is
//! byte for byte the same.

pub mod decode;

use std::sync::Arc;
use std::thread::JoinHandle;

use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::Table;
use crate::connect::wire::{self, READ_BUFFER, RowBlock, WireConn};
use crate::error::{DbError, Error, Result};
use crate::output::Chunk;
use crate::progress::Progress;
use crate::quote::{ident, qualified};
use crate::sql::insert::InsertBuilder;
use crate::sql::value::CellKind;
use decode::Layout;

/// Rows per batch handed to the serialiser: amortises channel cost without holding much.
pub const BATCH_ROWS: usize = 512;
/// A batch is also cut at this many bytes of cell data, so huge rows do not pile up.
pub const BATCH_BYTES: usize = 1 << 20;
/// Batches queued per serialiser: two in flight keep both sides busy; more only costs memory.
pub const SERIALIZER_QUEUE: usize = 2;
/// A chunk of complete statements is handed to the writer once this much SQL has accumulated
/// (with statements larger than this, each chunk is one statement).
pub const FLUSH_BYTES: usize = 1 << 20;
/// Read buffers coming back from the serialiser for reuse: those queued, the one being
/// serialised and one spare cover the steady state; more would only hold memory.
pub const SPARE_BUFFERS: usize = SERIALIZER_QUEUE + 2;

/// How rows are read from the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RowReader {
    /// The row reader (`connect::wire`), or mysql_async when it cannot connect (said once, as
    /// a warning).
    #[default]
    Wire,
    /// Always mysql_async (for comparison and tests).
    #[value(alias = "mysql_async")]
    Driver,
}

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
    /// History rows left out because their period is empty (see [`kept_versions`]).
    pub empty_periods: u64,
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
        /// Per column, for row packets; empty for decoded rows.
        layouts: Vec<Layout>,
        /// The qualified table and chunk, for errors found while decoding.
        table: String,
        chunk: usize,
        /// The database and table as named, for progress.
        names: (String, String),
    },
    /// Rows decoded by mysql_async.
    Rows(Vec<Row>),
    /// Whole binary-protocol row packets in `buf[..len]`; the buffer comes back for reuse.
    Packets {
        buf: Vec<u8>,
        len: usize,
    },
    /// One row packet's payload (a row of 16 MiB or more, reassembled).
    Row(Vec<u8>),
    End(oneshot::Sender<Result<TableStats>>),
}

/// A serialiser thread owned by one dump worker.
pub struct Serializer {
    /// None only while dropping.
    tx: Option<mpsc::Sender<Job>>,
    /// Read buffers the thread is done with.
    spare: crossbeam_channel::Receiver<Vec<u8>>,
    handle: Option<JoinHandle<()>>,
}

impl Serializer {
    pub fn start(statement_size: usize, progress: Arc<dyn Progress>) -> Result<Serializer> {
        let (tx, rx) = mpsc::channel(SERIALIZER_QUEUE);
        let (spare_tx, spare) = crossbeam_channel::bounded(SPARE_BUFFERS);
        let handle = std::thread::Builder::new()
            .name("sfdb-serialize".into())
            .spawn(move || serialize_loop(rx, spare_tx, statement_size, progress.as_ref()))
            .map_err(|e| Error::Internal(format!("cannot start a serialiser thread: {e}")))?;
        Ok(Serializer {
            tx: Some(tx),
            spare,
            handle: Some(handle),
        })
    }

    /// A read buffer for the row reader: a returned one of the usual size, else a new one.
    fn spare_buffer(&self) -> Vec<u8> {
        self.spare
            .try_iter()
            .find(|b| (READ_BUFFER..=2 * READ_BUFFER).contains(&b.len()))
            .unwrap_or_else(|| vec![0; READ_BUFFER])
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

/// The table (or chunk) being serialised.
struct Open {
    builder: InsertBuilder,
    buf: Vec<u8>,
    stats: TableStats,
    hash: RowChecksum,
    out: mpsc::Sender<Chunk>,
    layouts: Vec<Layout>,
    table: String,
    chunk: usize,
    /// (database, table), for progress.
    names: (String, String),
}

impl Open {
    /// Tells `progress` of a batch serialised.
    fn advanced(&self, progress: &dyn Progress, rows: u64, bytes: u64) {
        progress.advance(&self.names.0, &self.names.1, rows, bytes);
    }
}

impl Open {
    /// Accounts for the row whose `len`-byte tuple ends the buffer; passes complete statements
    /// on once enough have accumulated.
    #[inline]
    fn row_written(&mut self, len: usize) -> Result<()> {
        self.hash.add_row(&self.buf[self.buf.len() - len..]);
        self.stats.rows += 1;
        // Complete statements only: see `take_ready` for what taking the open statement here
        // cost with statements larger than FLUSH_BYTES.
        if let Some(done) = self.builder.take_ready(&mut self.buf, FLUSH_BYTES) {
            self.stats.bytes += done.len() as u64;
            if self.out.blocking_send(Chunk::Sql(done)).is_err() {
                return Err(writer_gone());
            }
        }
        Ok(())
    }

    /// Serialises one binary-protocol row; returns the bytes it took.
    #[inline]
    fn packet_row(&mut self, payload: &[u8]) -> Result<usize> {
        let len = decode::push_row(&mut self.builder, &mut self.buf, &self.layouts, payload)
            .map_err(|e| Error::Rows {
                table: self.table.clone(),
                chunk: self.chunk,
                rows: self.stats.rows,
                source: DbError(mysql_async::Error::Other(Box::new(e))),
            })?;
        self.row_written(len)?;
        Ok(len + 1)
    }

    fn finish(mut self) -> Result<TableStats> {
        self.builder.finish_statement(&mut self.buf);
        self.stats.bytes += self.buf.len() as u64;
        self.stats.statements = self.builder.statements();
        self.stats.largest_statement = self.builder.largest_statement();
        self.stats.not_a_number = self.builder.not_a_number();
        self.stats.checksum = self.hash;
        if self.buf.is_empty() || self.out.blocking_send(Chunk::Sql(self.buf)).is_ok() {
            Ok(self.stats)
        } else {
            Err(writer_gone())
        }
    }
}

fn serialize_loop(
    mut rx: mpsc::Receiver<Job>,
    spare: crossbeam_channel::Sender<Vec<u8>>,
    statement_size: usize,
    progress: &dyn Progress,
) {
    let mut open: Option<Open> = None;
    let mut failed: Option<Error> = None;
    while let Some(job) = rx.blocking_recv() {
        match job {
            Job::Begin {
                out,
                target,
                columns,
                kinds,
                layouts,
                table,
                chunk,
                names,
            } => {
                failed = None;
                open = Some(Open {
                    builder: InsertBuilder::new(&target, &columns, kinds, statement_size),
                    // Room for FLUSH_BYTES, or for one statement when larger: a buffer that
                    // grew to it would be copied and zeroed several times over.
                    buf: Vec::with_capacity(
                        FLUSH_BYTES.max(statement_size) + (statement_size / 8).max(64 << 10),
                    ),
                    stats: TableStats::default(),
                    hash: RowChecksum::default(),
                    out,
                    layouts,
                    table,
                    chunk,
                    names,
                });
            }
            Job::Rows(rows) => {
                let Some(o) = open.as_mut().filter(|_| failed.is_none()) else {
                    continue;
                };
                let mut batch_bytes = 0u64;
                for row in &rows {
                    let len = o
                        .builder
                        .push_values(&mut o.buf, |i| row.as_ref(i).unwrap_or(&Value::NULL));
                    batch_bytes += len as u64 + 1;
                    if let Err(e) = o.row_written(len) {
                        failed = Some(e);
                        break;
                    }
                }
                o.advanced(progress, rows.len() as u64, batch_bytes);
            }
            Job::Packets { buf, len } => {
                if let Some(o) = open.as_mut().filter(|_| failed.is_none()) {
                    let (mut rows, mut batch_bytes) = (0u64, 0u64);
                    for payload in wire::packets(&buf[..len]) {
                        match o.packet_row(payload) {
                            Ok(n) => batch_bytes += n as u64,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                        rows += 1;
                    }
                    o.advanced(progress, rows, batch_bytes);
                }
                let _ = spare.try_send(buf);
            }
            Job::Row(payload) => {
                let Some(o) = open.as_mut().filter(|_| failed.is_none()) else {
                    continue;
                };
                match o.packet_row(&payload) {
                    Ok(n) => o.advanced(progress, 1, n as u64),
                    Err(e) => failed = Some(e),
                }
            }
            Job::End(reply) => {
                let result = match (open.take(), failed.take()) {
                    (_, Some(e)) => Err(e),
                    (None, None) => Err(Error::Internal("End without Begin".into())),
                    (Some(o), None) => o.finish(),
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
    /// Per column: how it is written when its result metadata does not tell (an introducer
    /// for raw bytes, an ENUM/SET number).
    pub forced: Vec<Option<CellKind>>,
}

pub fn select_list(table: &Table) -> Result<SelectList> {
    let mut select = Vec::new();
    let mut insert = Vec::new();
    let mut forced = Vec::new();
    for c in table.data_columns() {
        let name = ident(&c.name);
        let raw = match &c.charset {
            Some(cs) => crate::sql::value::raw_kind_for(cs).map_err(|e| {
                Error::Unsupported(format!(
                    "column {} of table {}: {e}",
                    name,
                    ident(&table.name)
                ))
            })?,
            None => None,
        };
        if c.numbered {
            // The stored number: an ENUM's index, a SET's bits. A label can be ambiguous
            // (the ENUM error value '' and a '' member; SET members equal under the
            // collation), the number never is.
            select.push(format!("{name} + 0"));
        } else if raw.is_some() {
            select.push(format!("CAST({name} AS BINARY)"));
        } else {
            select.push(name.clone());
        }
        insert.push(name);
        forced.push(if c.numbered {
            Some(CellKind::Numbered)
        } else {
            raw
        });
    }
    // The history's period columns, with their exact values (restored through
    // system_versioning_insert_history).
    if let Some((start, end)) = table.history_columns() {
        for c in [start, end] {
            select.push(ident(c));
            insert.push(ident(c));
            forced.push(None);
        }
    }
    // Every column generated: the rows are still rows, `()` each, counted by a constant read
    // for each (their number is all a dump can carry, and all the table holds).
    if select.is_empty() && !table.columns.is_empty() {
        select.push("1".to_owned());
        forced.push(Some(CellKind::Nothing));
    }
    Ok(SelectList {
        select: select.join(", "),
        insert_columns: insert.join(","),
        forced,
    })
}

/// The statement reading one table or chunk, and how its rows are written.
struct RowQuery {
    /// The qualified table, for messages.
    target: String,
    sql: String,
    insert_columns: String,
    forced: Vec<Option<CellKind>>,
}

impl RowQuery {
    /// A failure of this query's stream, at `rows` rows into `chunk`.
    fn error(&self, chunk: usize, rows: u64, e: mysql_async::Error) -> Error {
        Error::Rows {
            table: self.target.clone(),
            chunk,
            rows,
            source: DbError(e),
        }
    }
}

/// For a table whose history is dumped, the rows that are kept: every version whose period is
/// not empty. A history row whose ROW START equals its ROW END (a row changed twice under one
/// timestamp, a `REPLACE`) is refused by every server when inserted back (ERROR 1525, even
/// with `system_versioning_insert_history`); no `FOR SYSTEM_TIME AS OF` sees it, though `ALL`,
/// `BETWEEN` and `FROM … TO` do: it is left out, counted ([`empty_periods`]) and said.
pub fn kept_versions(table: &Table) -> Option<String> {
    let (start, end) = table.history_columns()?;
    Some(format!("{} > {}", ident(end), ident(start)))
}

/// How many history rows of `table` (those matching `predicate`) [`kept_versions`] leaves
/// out, read in the same snapshot as its rows; 0 for a table without dumped history.
pub(crate) async fn empty_periods<C: crate::connect::QueryConn>(
    conn: &mut C,
    db: &str,
    table: &Table,
    predicate: Option<&str>,
) -> Result<u64> {
    let Some(kept) = kept_versions(table) else {
        return Ok(0);
    };
    let target = qualified(db, &table.name);
    let filter = match predicate {
        Some(p) => format!("({p}) AND NOT ({kept})"),
        None => format!("NOT ({kept})"),
    };
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {filter}", table.source(db));
    let rows = conn.text_rows(&sql).await.map_err(|e| {
        Error::server(
            format!("counting the history rows of {target} whose period is empty"),
            e,
        )
    })?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_deref())
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

fn row_query(db: &str, table: &Table, predicate: Option<&str>) -> Result<Option<RowQuery>> {
    let target = qualified(db, &table.name);
    let SelectList {
        select,
        insert_columns,
        forced,
    } = select_list(table)?;
    if select.is_empty() {
        return Ok(None);
    }
    let source = table.source(db);
    let kept = kept_versions(table);
    let sql = match (predicate, kept.as_deref()) {
        (None, None) => format!("SELECT /*!40001 SQL_NO_CACHE */ {select} FROM {source}"),
        (Some(p), None) | (None, Some(p)) => {
            format!("SELECT /*!40001 SQL_NO_CACHE */ {select} FROM {source} WHERE {p}")
        }
        (Some(p), Some(k)) => {
            format!("SELECT /*!40001 SQL_NO_CACHE */ {select} FROM {source} WHERE ({p}) AND {k}")
        }
    };
    Ok(Some(RowQuery {
        target,
        sql,
        insert_columns,
        forced,
    }))
}

fn cell_kind(
    forced: Option<CellKind>,
    column_type: mysql_async::consts::ColumnType,
    flags: mysql_async::consts::ColumnFlags,
    charset: u16,
    decimals: u8,
    length: u32,
) -> CellKind {
    if let Some(kind) = forced {
        return kind;
    }
    if column_type == mysql_async::consts::ColumnType::MYSQL_TYPE_FLOAT
        && let Some(max) = crate::sql::value::float_clip_max(length, decimals)
    {
        return CellKind::FloatUpTo(max.to_bits());
    }
    CellKind::of(column_type, flags, charset, decimals)
}

fn stopped() -> Error {
    Error::Internal("the serialiser thread stopped".into())
}

impl Serializer {
    async fn send(&self, job: Job) -> Result<()> {
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(job).await.map_err(|_| stopped())
    }

    /// Ends the table; the stats once the serialiser has written its last rows.
    async fn end(&self, target: &str, rows: u64) -> Result<TableStats> {
        let (reply, done) = oneshot::channel();
        self.send(Job::End(reply)).await?;
        let stats = done.await.map_err(|_| stopped())??;
        if stats.rows != rows {
            return Err(Error::Internal(format!(
                "{target}: read {rows} rows but serialised {}",
                stats.rows
            )));
        }
        Ok(stats)
    }
}

/// Streams the rows of `db.table` (those matching `predicate`, all when None) through
/// `serializer` into `out`, over mysql_async; returns what was written.
pub async fn dump_table(
    conn: &mut Conn,
    serializer: &Serializer,
    out: &mpsc::Sender<Chunk>,
    db: &str,
    table: &Table,
    chunk: usize,
    predicate: Option<&str>,
) -> Result<TableStats> {
    let Some(q) = row_query(db, table, predicate)? else {
        return Ok(TableStats::default());
    };
    let rows_err = |rows: u64, e: mysql_async::Error| q.error(chunk, rows, e);
    let mut result = conn
        .exec_iter(q.sql.as_str(), ())
        .await
        .map_err(|e| rows_err(0, e))?;
    let kinds: Vec<CellKind> = result
        .columns_ref()
        .iter()
        .zip(&q.forced)
        .map(|(c, forced)| {
            cell_kind(
                *forced,
                c.column_type(),
                c.flags(),
                c.character_set(),
                c.decimals(),
                c.column_length(),
            )
        })
        .collect();
    serializer
        .send(Job::Begin {
            out: out.clone(),
            target: ident(&table.name),
            columns: q.insert_columns.clone(),
            kinds,
            layouts: Vec::new(),
            table: q.target.clone(),
            chunk,
            names: (db.to_owned(), table.name.clone()),
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
            serializer
                .send(Job::Rows(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH_ROWS),
                )))
                .await?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        serializer.send(Job::Rows(batch)).await?;
    }
    serializer.end(&q.target, rows).await
}

/// Like [`dump_table`], over the row reader: buffers of row packets go to the serialiser as
/// read, and are decoded there in place.
///
/// Not one function over [`crate::connect::QueryConn`] with [`dump_table`]: reading rows is where the two
/// connection kinds differ by design (decoded `Row`s from the driver's result stream here,
/// undecoded packet buffers of a prepared statement there). The query, the cell kinds and the
/// serialiser are shared.
pub async fn dump_table_wire(
    conn: &mut WireConn,
    serializer: &Serializer,
    out: &mpsc::Sender<Chunk>,
    db: &str,
    table: &Table,
    chunk: usize,
    predicate: Option<&str>,
) -> Result<TableStats> {
    let Some(q) = row_query(db, table, predicate)? else {
        return Ok(TableStats::default());
    };
    let rows_err = |rows: u64, e: mysql_async::Error| q.error(chunk, rows, e);
    let statement = conn.prepare(&q.sql).await.map_err(|e| rows_err(0, e))?;
    let columns = conn.execute(statement).await.map_err(|e| rows_err(0, e))?;
    if columns.len() != q.forced.len() {
        return Err(Error::Internal(format!(
            "{}: {} columns selected but {} returned",
            q.target,
            q.forced.len(),
            columns.len()
        )));
    }
    let kinds = columns
        .iter()
        .zip(&q.forced)
        .map(|(c, forced)| {
            cell_kind(
                *forced,
                c.column_type,
                c.flags,
                c.charset,
                c.decimals,
                c.length,
            )
        })
        .collect();
    let layouts = columns
        .iter()
        .map(|c| Layout::of(c.column_type, c.flags))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| rows_err(0, mysql_async::Error::Other(Box::new(e))))?;
    serializer
        .send(Job::Begin {
            out: out.clone(),
            target: ident(&table.name),
            columns: q.insert_columns.clone(),
            kinds,
            layouts,
            table: q.target.clone(),
            chunk,
            names: (db.to_owned(), table.name.clone()),
        })
        .await?;
    let mut rows = 0u64;
    loop {
        let block = conn
            .next_rows(|| serializer.spare_buffer())
            .await
            .map_err(|e| rows_err(rows, e))?;
        match block {
            RowBlock::Packets { buf, len, rows: n } => {
                rows += n;
                serializer.send(Job::Packets { buf, len }).await?;
            }
            RowBlock::Large(payload) => {
                rows += 1;
                serializer.send(Job::Row(payload)).await?;
            }
            RowBlock::End => break,
        }
    }
    conn.close_statement(statement)
        .await
        .map_err(|e| rows_err(rows, e))?;
    serializer.end(&q.target, rows).await
}

fn row_size(row: &Row) -> usize {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            Some(Value::Bytes(b)) => b.len() + 8,
            _ => 8,
        })
        .sum()
}

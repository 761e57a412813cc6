//! Commands after the handshake: plain queries with small text results, and prepared
//! statements whose binary rows are read in whole buffers ([`WireConn::next_rows`]) and handed
//! on undecoded.

use mysql_async::consts::{ColumnFlags, ColumnType};

use super::packet::{
    MAX_PAYLOAD, Malformed, Reader, closed, io_error, malformed, out_of_order, packet_len,
    protocol, server_error,
};
use super::{READ_BUFFER, WireConn, WireResult};
use crate::connect::TextRow;

const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_CLOSE: u8 = 0x19;

/// A result column, as far as writing its cells needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub column_type: ColumnType,
    pub flags: ColumnFlags,
    pub charset: u16,
    pub decimals: u8,
    /// The column's display length (M of FLOAT(M,D)).
    pub length: u32,
}

/// What [`WireConn::next_rows`] read.
#[derive(Debug)]
pub enum RowBlock {
    /// Whole row packets (a 4-byte header, then the payload, each) in `buf[..len]`.
    Packets { buf: Vec<u8>, len: usize, rows: u64 },
    /// The payload of one row of 16 MiB or more, reassembled from its packets.
    Large(Vec<u8>),
    /// The result set ended; the connection takes commands again.
    End,
}

impl WireConn {
    /// Runs a statement and discards any result.
    pub async fn query_drop(&mut self, sql: &str) -> WireResult<()> {
        self.query(sql).await.map(drop)
    }

    /// Runs a statement; returns its rows as text cells (None for NULL). For small results.
    pub async fn query(&mut self, sql: &str) -> WireResult<Vec<TextRow>> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
        let first = self.read_packet().await?;
        let columns = match first.first() {
            Some(0x00) => return Ok(Vec::new()),
            Some(0xff) => return Err(server_error(&first)),
            Some(0xfb) => return Err(protocol("the server asked for a LOCAL INFILE")),
            _ => column_count(&first)?,
        };
        self.skip_definitions(columns).await?;
        let mut rows = Vec::new();
        loop {
            let p = self.read_packet().await?;
            match p.first() {
                Some(0xff) => return Err(server_error(&p)),
                Some(0xfe) if p.len() < MAX_PAYLOAD => return Ok(rows),
                _ => {}
            }
            rows.push(text_row(&p, columns)?);
        }
    }

    /// Prepares `sql` (which has no parameters); returns the statement id.
    pub async fn prepare(&mut self, sql: &str) -> WireResult<u32> {
        self.command(COM_STMT_PREPARE, sql.as_bytes()).await?;
        let p = self.read_packet().await?;
        match p.first() {
            Some(0x00) if p.len() >= 12 => {}
            Some(0xff) => return Err(server_error(&p)),
            _ => return Err(protocol("unexpected reply to COM_STMT_PREPARE")),
        }
        let id = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
        let columns = u16::from_le_bytes([p[5], p[6]]);
        let params = u16::from_le_bytes([p[7], p[8]]);
        for n in [params, columns] {
            if n > 0 {
                self.skip_definitions(u64::from(n)).await?;
            }
        }
        Ok(id)
    }

    /// Executes a prepared statement; returns its result columns. Rows follow through
    /// [`WireConn::next_rows`] until [`RowBlock::End`].
    pub async fn execute(&mut self, statement: u32) -> WireResult<Vec<ColumnDef>> {
        let mut body = [0u8; 9];
        body[..4].copy_from_slice(&statement.to_le_bytes());
        // flags 0: no cursor; one iteration; no parameters.
        body[5..].copy_from_slice(&1u32.to_le_bytes());
        self.command(COM_STMT_EXECUTE, &body).await?;
        let first = self.read_packet().await?;
        let count = match first.first() {
            Some(0x00) => return Ok(Vec::new()),
            Some(0xff) => return Err(server_error(&first)),
            _ => column_count(&first)?,
        };
        let mut columns = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let p = self.read_packet().await?;
            columns.push(column_def(&p).map_err(malformed)?);
        }
        if !self.deprecate_eof {
            self.expect_eof().await?;
        }
        Ok(columns)
    }

    /// Frees a prepared statement (the server sends no reply).
    pub async fn close_statement(&mut self, statement: u32) -> WireResult<()> {
        self.command(COM_STMT_CLOSE, &statement.to_le_bytes()).await
    }

    /// Reads on in the open result set: whole row packets as one block, a row of 16 MiB or
    /// more on its own, or the end. A block is handed over when the buffer is full or the
    /// next packet is not a plain row; `spare` gives the buffer the connection goes on with.
    pub async fn next_rows(&mut self, spare: impl FnOnce() -> Vec<u8>) -> WireResult<RowBlock> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let mut p = 0;
        let mut rows = 0u64;
        loop {
            // Whole row packets from `p` on.
            let mut next: Option<usize> = None;
            while self.end - p >= 4 {
                let len = packet_len(&self.buf[p..]);
                next = Some(len);
                if len == MAX_PAYLOAD || self.end - p < 4 + len || len == 0 || self.buf[p + 4] != 0
                {
                    break;
                }
                if self.buf[p + 3] != self.seq {
                    return Err(out_of_order(self.buf[p + 3], self.seq));
                }
                self.seq = self.seq.wrapping_add(1);
                rows += 1;
                p += 4 + len;
                next = None;
            }
            let special = next.is_some_and(|len| {
                len == MAX_PAYLOAD
                    || (self.end - p >= 4 + len && (len == 0 || self.buf[p + 4] != 0))
            });
            if p > 0 && (special || self.end == self.buf.len()) {
                return Ok(self.hand_over(p, rows, spare()));
            }
            if special {
                // At the front: a row of 16 MiB or more, the end of the rows, or an error.
                let payload = self.read_packet().await?;
                return match payload.first() {
                    Some(0x00) if payload.len() >= MAX_PAYLOAD => Ok(RowBlock::Large(payload)),
                    Some(0xfe) => Ok(RowBlock::End),
                    Some(0xff) => Err(server_error(&payload)),
                    _ => Err(protocol(format!(
                        "unexpected packet of {} bytes in a result set",
                        payload.len()
                    ))),
                };
            }
            if self.end == self.buf.len() {
                // One packet longer than the buffer: grow it to hold the packet.
                let need = next.map_or(4, |len| 4 + len);
                self.buf.resize(need.max(self.buf.len() + 1), 0);
            }
            let target = &mut self.buf[self.end..];
            let n = if self.reply_bytes >= self.poll_after {
                self.stream.read_polled(target).await
            } else {
                self.stream.read(target).await
            }
            .map_err(io_error)?;
            if n == 0 {
                return Err(closed());
            }
            self.end += n;
            self.reply_bytes += n;
        }
    }

    /// Gives away `buf[..len]` (whole packets); the rest moves to the front of `fresh`.
    fn hand_over(&mut self, len: usize, rows: u64, mut fresh: Vec<u8>) -> RowBlock {
        let tail = self.end - len;
        if fresh.len() < tail + 4 {
            fresh.resize(tail + READ_BUFFER, 0);
        }
        fresh[..tail].copy_from_slice(&self.buf[len..self.end]);
        let buf = std::mem::replace(&mut self.buf, fresh);
        self.start = 0;
        self.end = tail;
        RowBlock::Packets { buf, len, rows }
    }

    async fn skip_definitions(&mut self, n: u64) -> WireResult<()> {
        for _ in 0..n {
            self.read_packet().await?;
        }
        if !self.deprecate_eof {
            self.expect_eof().await?;
        }
        Ok(())
    }

    async fn expect_eof(&mut self) -> WireResult<()> {
        let p = self.read_packet().await?;
        match p.first() {
            Some(0xfe) if p.len() < 9 => Ok(()),
            Some(0xff) => Err(server_error(&p)),
            _ => Err(protocol(
                "expected an EOF packet after the column definitions",
            )),
        }
    }
}

/// A column definition packet (protocol 4.1).
/// The most columns a result set can have: MySQL and MariaDB allow 4096 in a table, and a
/// select list is refused well before 65 535. A count read from the network sizes allocations,
/// so anything above is a protocol error, not a vector of that capacity (which would panic or
/// exhaust memory on a bogus or hostile server).
const MAX_COLUMNS: u64 = u16::MAX as u64;

/// The column count that starts a result set.
pub(crate) fn column_count(first: &[u8]) -> WireResult<u64> {
    let count = Reader { buf: first, pos: 0 }.lenenc().map_err(malformed)?;
    if count > MAX_COLUMNS {
        return Err(protocol(format!(
            "the server announced a result of {count} columns (at most {MAX_COLUMNS} exist)"
        )));
    }
    Ok(count)
}

/// One row of a text result (`columns` cells: 0xFB for NULL, else length-encoded bytes).
pub(crate) fn text_row(p: &[u8], columns: u64) -> WireResult<TextRow> {
    let mut r = Reader { buf: p, pos: 0 };
    let mut row = Vec::with_capacity(columns as usize);
    for _ in 0..columns {
        if r.buf.get(r.pos) == Some(&0xfb) {
            r.pos += 1;
            row.push(None);
        } else {
            let len = r.lenenc().map_err(malformed)?;
            let len = usize::try_from(len).map_err(|_| protocol("oversized text cell"))?;
            row.push(Some(r.take(len).map_err(malformed)?.to_vec()));
        }
    }
    Ok(row)
}

pub(crate) fn column_def(p: &[u8]) -> Result<ColumnDef, Malformed> {
    let mut r = Reader { buf: p, pos: 0 };
    // catalog, schema, table, org_table, name, org_name
    for _ in 0..6 {
        let len = r.lenenc()?;
        r.take(len as usize)?;
    }
    let _fixed_len = r.lenenc()?;
    let charset = u16::from_le_bytes(r.array()?);
    let length = u32::from_le_bytes(r.array()?);
    let raw_type = r.u8()?;
    let flags = u16::from_le_bytes(r.array()?);
    let decimals = r.u8()?;
    let column_type = ColumnType::try_from(raw_type)
        .map_err(|_| Malformed(format!("unknown column type {raw_type}")))?;
    Ok(ColumnDef {
        column_type,
        flags: ColumnFlags::from_bits_truncate(flags),
        charset,
        decimals,
        length,
    })
}

#[cfg(test)]
mod tests {
    use super::super::packet::{packets, put_lenenc};
    use super::super::{POLL_AFTER, framed, over};
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::UnixStream;

    #[test]
    fn column_definitions_parse() {
        let mut p = Vec::new();
        for s in ["def", "db", "t", "t", "c", "c"] {
            put_lenenc(&mut p, s.len() as u64);
            p.extend_from_slice(s.as_bytes());
        }
        p.push(0x0c);
        p.extend_from_slice(&63u16.to_le_bytes());
        p.extend_from_slice(&20u32.to_le_bytes());
        p.push(8);
        p.extend_from_slice(&0x20u16.to_le_bytes());
        p.push(0);
        p.extend_from_slice(&[0, 0]);
        let c = column_def(&p).unwrap();
        assert_eq!(c.column_type, ColumnType::MYSQL_TYPE_LONGLONG);
        assert!(c.flags.contains(ColumnFlags::UNSIGNED_FLAG));
        assert_eq!(c.charset, 63);
    }

    /// Writes `bytes` in pieces of `piece` bytes, yielding between them, so reads end anywhere.
    async fn send_in_pieces(mut to: UnixStream, bytes: Vec<u8>, piece: usize) {
        for p in bytes.chunks(piece) {
            to.write_all(p).await.unwrap();
            tokio::task::yield_now().await;
        }
    }

    fn row_payload(i: usize, len: usize) -> Vec<u8> {
        let mut p = vec![0u8];
        p.extend((1..len).map(|j| (i * 31 + j) as u8));
        p
    }

    #[tokio::test]
    async fn row_blocks_hold_whole_packets_in_order() {
        rows_come_out_whole_and_in_order(POLL_AFTER).await;
    }

    /// The same with every read of rows made on the timer, from the first byte.
    #[tokio::test]
    async fn row_blocks_read_on_the_timer_hold_whole_packets_in_order() {
        rows_come_out_whole_and_in_order(0).await;
    }

    async fn rows_come_out_whole_and_in_order(poll_after: usize) {
        let sizes = [
            5,
            1,
            300,
            70,
            5000,
            2,
            MAX_PAYLOAD,
            9,
            MAX_PAYLOAD + 1,
            2 * MAX_PAYLOAD + 3,
            100,
            40_000,
            33,
        ];
        let rows: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| row_payload(i, *n))
            .collect();
        let mut bytes = Vec::new();
        let mut seq = 0u8;
        for r in &rows {
            let (b, next) = framed(seq, r);
            bytes.extend_from_slice(&b);
            seq = next;
        }
        // The end: an OK packet with the 0xFE header (DEPRECATE_EOF).
        bytes.extend_from_slice(&framed(seq, &[0xfe, 0, 0, 2, 0, 0, 0]).0);
        let (a, b) = UnixStream::pair().unwrap();
        let writer = tokio::spawn(send_in_pieces(b, bytes, 4093));
        let mut conn = over(a, 64);
        conn.poll_after = poll_after;
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut counted = 0u64;
        let mut blocks = 0;
        loop {
            match conn.next_rows(|| vec![0; 1000]).await.unwrap() {
                RowBlock::Packets { buf, len, rows } => {
                    let before = got.len();
                    got.extend(packets(&buf[..len]).map(<[u8]>::to_vec));
                    assert_eq!(got.len() - before, rows as usize);
                    counted += rows;
                    blocks += 1;
                }
                RowBlock::Large(p) => {
                    got.push(p);
                    counted += 1;
                }
                RowBlock::End => break,
            }
        }
        writer.await.unwrap();
        assert_eq!(counted as usize, rows.len());
        assert_eq!(got.len(), rows.len());
        for (i, (g, r)) in got.iter().zip(&rows).enumerate() {
            assert!(g == r, "row {i}: {} bytes, expected {}", g.len(), r.len());
        }
        assert!(blocks > 3, "small buffers hand over many blocks ({blocks})");
    }

    /// An error after some rows: the rows before it first, then the server's error.
    #[tokio::test]
    async fn an_error_mid_stream_follows_the_rows_before_it() {
        let mut bytes = Vec::new();
        for (i, seq) in (0..3u8).enumerate() {
            bytes.extend_from_slice(&framed(seq, &row_payload(i, 10)).0);
        }
        let mut err = vec![0xff];
        err.extend_from_slice(&1927u16.to_le_bytes());
        err.extend_from_slice(b"#70100Connection was killed");
        bytes.extend_from_slice(&framed(3, &err).0);
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(&bytes).await.unwrap();
        let mut conn = over(a, 1 << 10);
        match conn.next_rows(|| vec![0; 1 << 10]).await.unwrap() {
            RowBlock::Packets { rows, .. } => assert_eq!(rows, 3),
            other => panic!("{other:?}"),
        }
        match conn.next_rows(|| vec![0; 1 << 10]).await {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1927),
            other => panic!("{other:?}"),
        }
        // A connection closed mid-packet is an I/O error, not an end.
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(&framed(0, &row_payload(0, 10)).0[..8])
            .await
            .unwrap();
        drop(b);
        let mut conn = over(a, 1 << 10);
        match conn.next_rows(|| vec![0; 1 << 10]).await {
            Err(mysql_async::Error::Io(_)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_row_with_a_wrong_sequence_id_is_refused() {
        let mut bytes = framed(0, &row_payload(0, 10)).0;
        bytes.extend_from_slice(&framed(5, &row_payload(1, 10)).0);
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(&bytes).await.unwrap();
        let mut conn = over(a, 1 << 10);
        let err = conn.next_rows(|| vec![0; 1 << 10]).await.unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
    }

    /// A column count no result can have (here 2^60, as a bogus or hostile server might send)
    /// is a protocol error, for a query and for a prepared statement's execution alike, and
    /// sizes nothing.
    #[tokio::test]
    async fn an_impossible_column_count_is_refused_not_allocated() {
        let mut count = vec![0xfe];
        count.extend_from_slice(&(1u64 << 60).to_le_bytes());
        for execute in [false, true] {
            let (a, mut b) = UnixStream::pair().unwrap();
            // The reply to the command (sequence id 1, after the command's 0).
            b.write_all(&framed(1, &count).0).await.unwrap();
            let mut conn = over(a, 1 << 10);
            let err = match execute {
                false => conn.query("SELECT 1").await.map(|_| ()).unwrap_err(),
                true => conn.execute(1).await.map(|_| ()).unwrap_err(),
            };
            assert!(
                err.to_string().contains("1152921504606846976 columns"),
                "{err}"
            );
        }
    }
}

//! A minimal MySQL/MariaDB protocol client for the row stream: handshake and authentication,
//! plain queries with small text results, and prepared statements whose binary rows are handed
//! on as whole read buffers instead of being decoded here.
//!
//! mysql_async decodes every row into a `Row` of `Value`s, one heap allocation per string cell;
//! this connection reads socket bytes into large buffers and passes buffers of complete row
//! packets to the serialiser, which decodes them in place (`rows::decode`). It is not a general
//! driver: no TLS, no compression, no parameters, no multi-statements, no LOCAL INFILE.
//! Authentication: `mysql_native_password` and `caching_sha2_password` (its full
//! authentication only over a Unix socket, where the server accepts the password itself).

use std::io;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{IoError, ServerError};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::net::{TcpStream, UnixStream};
use zeroize::Zeroizing;

use super::decode::Reader;
use super::socket::Socket;
use crate::connect::{self, ConnectionSettings, Flavor};
use crate::error::{ConnectError, DbError, Error};

/// The longest payload of one physical packet; a payload this long continues in the next one.
pub const MAX_PAYLOAD: usize = 0xff_ffff;

/// A reply read this far is a stream of rows worth reading on a timer: smaller replies (every
/// command's, small tables) stay event-driven and pay no pause at their end.
const POLL_AFTER: usize = 1 << 20;

/// Size of one read buffer handed to the serialiser: a few thousand typical rows per channel
/// message, and the handful of buffers in flight per worker stays a few MB.
pub const READ_BUFFER: usize = 512 << 10;

/// The connection's own buffer for handshakes and command replies.
const COMMAND_BUFFER: usize = 16 << 10;

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_LONG_FLAG: u32 = 1 << 2;
const CLIENT_PROTOCOL_41: u32 = 1 << 9;
const CLIENT_TRANSACTIONS: u32 = 1 << 13;
const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
const CLIENT_PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;
const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

/// What the client asks for; DEPRECATE_EOF and the auth flags only when the server has them.
const WANTED: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_DATA
    | CLIENT_DEPRECATE_EOF;
/// Without these the handshake is not the one this client speaks (pre-4.1 servers).
const REQUIRED: u32 = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;

/// utf8mb4_general_ci for the handshake; the session's `SET NAMES utf8mb4` is what counts.
const HANDSHAKE_COLLATION: u8 = 45;

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_CLOSE: u8 = 0x19;

type WireResult<T> = Result<T, mysql_async::Error>;

/// The server said something this client does not understand or support.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Protocol(pub String);

fn protocol(msg: impl Into<String>) -> mysql_async::Error {
    mysql_async::Error::Other(Box::new(Protocol(msg.into())))
}

fn io_error(e: io::Error) -> mysql_async::Error {
    mysql_async::Error::Io(IoError::Io(e))
}

fn malformed(e: super::decode::Malformed) -> mysql_async::Error {
    mysql_async::Error::Other(Box::new(e))
}

/// An ERR packet as the server error it carries.
fn server_error(p: &[u8]) -> mysql_async::Error {
    let code = match p {
        [_, a, b, ..] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    };
    let (state, message) = match p.get(3) {
        Some(b'#') if p.len() >= 9 => (&p[4..9], &p[9..]),
        _ => (&b"HY000"[..], p.get(3..).unwrap_or_default()),
    };
    mysql_async::Error::Server(ServerError {
        code,
        state: String::from_utf8_lossy(state).into_owned(),
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

/// A result column, as far as writing its cells needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub column_type: ColumnType,
    pub flags: ColumnFlags,
    pub charset: u16,
    pub decimals: u8,
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

/// One connection of the row reader.
pub struct WireConn {
    stream: Socket,
    /// Bytes read from the socket: `buf[start..end]` not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Sequence id of the next packet, read or written.
    seq: u8,
    /// Bytes of the current command's reply read so far.
    reply_bytes: usize,
    /// From this many bytes of a reply on, rows are read on a timer ([`Socket::read_polled`]).
    poll_after: usize,
    deprecate_eof: bool,
    unix_socket: bool,
    id: u32,
}

impl WireConn {
    /// Connects, authenticates and prepares the session like `connect::open` does.
    pub async fn open(
        settings: &ConnectionSettings,
        flavor: Flavor,
        role: &str,
    ) -> Result<WireConn, Error> {
        Self::open_with(settings, flavor, role, WANTED).await
    }

    /// [`WireConn::open`] without CLIENT_DEPRECATE_EOF, as with servers before MySQL 5.7.5 and
    /// MariaDB 10.2: result sets then end with EOF packets. For tests of that framing.
    #[doc(hidden)]
    pub async fn open_with_eof_packets(
        settings: &ConnectionSettings,
        flavor: Flavor,
        role: &str,
    ) -> Result<WireConn, Error> {
        Self::open_with(settings, flavor, role, WANTED & !CLIENT_DEPRECATE_EOF).await
    }

    async fn open_with(
        settings: &ConnectionSettings,
        flavor: Flavor,
        role: &str,
        wanted: u32,
    ) -> Result<WireConn, Error> {
        let conn = settings
            .within_timeout(async {
                let resolved = settings.resolve().await?;
                let io_err = |e| ConnectError::from_driver(io_error(e));
                let stream = match &settings.socket {
                    Some(path) => Socket::Unix(UnixStream::connect(path).await.map_err(io_err)?),
                    None => {
                        let s = TcpStream::connect(&*resolved).await.map_err(io_err)?;
                        s.set_nodelay(true).map_err(io_err)?;
                        Socket::Tcp(s)
                    }
                };
                let mut conn = WireConn {
                    unix_socket: matches!(stream, Socket::Unix(_)),
                    stream,
                    buf: vec![0; COMMAND_BUFFER],
                    start: 0,
                    end: 0,
                    seq: 0,
                    reply_bytes: 0,
                    poll_after: POLL_AFTER,
                    deprecate_eof: false,
                    id: 0,
                };
                conn.handshake(settings, wanted)
                    .await
                    .map_err(ConnectError::from_driver)?;
                Ok(conn)
            })
            .await;
        let mut conn = conn?;
        for stmt in connect::session_setup_sql(flavor) {
            conn.query_drop(stmt).await.map_err(|e| Error::Server {
                context: format!("preparing the {role} session: {stmt}"),
                source: DbError(e),
            })?;
        }
        let results = conn
            .query("SELECT @@character_set_results")
            .await
            .map_err(|e| Error::Server {
                context: format!("checking the {role} session charset"),
                source: DbError(e),
            })?;
        let results = results.first().and_then(|r| r.first().cloned().flatten());
        if results.as_deref() != Some(&b"utf8mb4"[..]) {
            return Err(Error::Unsupported(format!(
                "the {role} session reads results as {:?} after SET NAMES utf8mb4; refusing to \
                 dump text that would be converted",
                results.map(|r| String::from_utf8_lossy(&r).into_owned())
            )));
        }
        Ok(conn)
    }

    /// The server's id of this connection (`CONNECTION_ID()`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// True when result sets end with an OK packet instead of EOF packets.
    pub fn deprecates_eof(&self) -> bool {
        self.deprecate_eof
    }

    /// Says goodbye; the server ends the session (and rolls back its transaction).
    pub async fn close(mut self) {
        if self.command(COM_QUIT, &[]).await.is_ok() {
            // The server closes its end; reading to EOF avoids a reset racing the quit.
            let mut scratch = [0u8; 64];
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                self.stream.read(&mut scratch),
            )
            .await;
        }
    }

    async fn handshake(&mut self, settings: &ConnectionSettings, wanted: u32) -> WireResult<()> {
        let greeting = self.read_packet().await?;
        if greeting.first() == Some(&0xff) {
            return Err(server_error(&greeting));
        }
        let g = Greeting::parse(&greeting)?;
        if g.capabilities & REQUIRED != REQUIRED {
            return Err(protocol(format!(
                "the server ({}) does not speak the 4.1 protocol with secure authentication",
                g.version
            )));
        }
        self.id = g.connection_id;
        let caps = wanted & (g.capabilities | CLIENT_LONG_PASSWORD);
        self.deprecate_eof = caps & CLIENT_DEPRECATE_EOF != 0;
        let password = settings
            .password
            .as_ref()
            .map(|p| p.expose().as_bytes())
            .unwrap_or_default();

        let mut plugin = match g.plugin.as_str() {
            "caching_sha2_password" => "caching_sha2_password",
            // Anything else: answer as native; the server switches us to what the account uses.
            _ => "mysql_native_password",
        };
        let auth = scramble(plugin, password, &g.scramble)?;
        let mut p = Zeroizing::new(Vec::with_capacity(128));
        p.extend_from_slice(&caps.to_le_bytes());
        p.extend_from_slice(&(1u32 << 30).to_le_bytes());
        p.push(HANDSHAKE_COLLATION);
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(settings.user.as_bytes());
        p.push(0);
        if caps & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut p, auth.len() as u64);
        } else {
            p.push(auth.len() as u8);
        }
        p.extend_from_slice(&auth);
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            p.extend_from_slice(plugin.as_bytes());
            p.push(0);
        }
        self.write_packet(&p).await?;

        loop {
            let reply = self.read_packet().await?;
            match reply.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => return Err(server_error(&reply)),
                // Auth switch: another plugin, with its own scramble.
                Some(0xfe) => {
                    let rest = &reply[1..];
                    let nul = rest.iter().position(|b| *b == 0).ok_or_else(|| {
                        protocol("the server asked for the old (pre-4.1) password scheme")
                    })?;
                    let name = String::from_utf8_lossy(&rest[..nul]).into_owned();
                    let data = &rest[nul + 1..];
                    let data = data.strip_suffix(&[0]).unwrap_or(data);
                    plugin = match name.as_str() {
                        "mysql_native_password" => "mysql_native_password",
                        "caching_sha2_password" => "caching_sha2_password",
                        other => {
                            return Err(protocol(format!(
                                "the account uses the {other} authentication plugin, which the \
                                 row reader does not speak"
                            )));
                        }
                    };
                    let auth = scramble(plugin, password, data)?;
                    self.write_packet(&auth).await?;
                }
                // More data of caching_sha2_password: 3 = cached, OK follows; 4 = full auth.
                Some(0x01) if plugin == "caching_sha2_password" => match reply.get(1) {
                    Some(3) => {}
                    Some(4) if self.unix_socket => {
                        let mut clear = Zeroizing::new(password.to_vec());
                        clear.push(0);
                        self.write_packet(&clear).await?;
                    }
                    Some(4) => {
                        return Err(protocol(
                            "caching_sha2_password needs a full authentication for this account \
                             (no cached entry on the server), which takes TLS or the server's RSA \
                             key; the row reader has neither over TCP",
                        ));
                    }
                    _ => return Err(protocol("unexpected caching_sha2_password message")),
                },
                _ => {
                    return Err(protocol(format!(
                        "unexpected packet 0x{:02X} during authentication",
                        reply.first().copied().unwrap_or(0)
                    )));
                }
            }
        }
    }

    /// Runs a statement and discards any result.
    pub async fn query_drop(&mut self, sql: &str) -> WireResult<()> {
        self.query(sql).await.map(drop)
    }

    /// Runs a statement; returns its rows as text cells (None for NULL). For small results.
    pub async fn query(&mut self, sql: &str) -> WireResult<Vec<Vec<Option<Vec<u8>>>>> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
        let first = self.read_packet().await?;
        let columns = match first.first() {
            Some(0x00) => return Ok(Vec::new()),
            Some(0xff) => return Err(server_error(&first)),
            Some(0xfb) => return Err(protocol("the server asked for a LOCAL INFILE")),
            _ => Reader {
                buf: &first,
                pos: 0,
            }
            .lenenc()
            .map_err(malformed)?,
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
            let mut r = Reader { buf: &p, pos: 0 };
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
            rows.push(row);
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
            _ => Reader {
                buf: &first,
                pos: 0,
            }
            .lenenc()
            .map_err(malformed)?,
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

    /// Starts a command: sequence ids restart at 0.
    async fn command(&mut self, command: u8, body: &[u8]) -> WireResult<()> {
        self.seq = 0;
        self.reply_bytes = 0;
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(command);
        payload.extend_from_slice(body);
        self.write_packet(&payload).await
    }

    /// Writes one logical packet, split into physical packets of at most [`MAX_PAYLOAD`].
    async fn write_packet(&mut self, payload: &[u8]) -> WireResult<()> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        let mut pieces = payload.chunks(MAX_PAYLOAD).peekable();
        if pieces.peek().is_none() {
            out.extend_from_slice(&[0, 0, 0, self.seq]);
            self.seq = self.seq.wrapping_add(1);
        }
        let mut last = 0;
        for piece in pieces {
            out.extend_from_slice(&(piece.len() as u32).to_le_bytes()[..3]);
            out.push(self.seq);
            out.extend_from_slice(piece);
            self.seq = self.seq.wrapping_add(1);
            last = piece.len();
        }
        if last == MAX_PAYLOAD {
            out.extend_from_slice(&[0, 0, 0, self.seq]);
            self.seq = self.seq.wrapping_add(1);
        }
        self.stream.write_all(&out).await.map_err(io_error)
    }

    /// Reads one logical packet (reassembled when it spans several) and returns its payload.
    async fn read_packet(&mut self) -> WireResult<Vec<u8>> {
        let mut payload = Vec::new();
        loop {
            self.fill(4).await?;
            let len = packet_len(&self.buf[self.start..]);
            let seq = self.buf[self.start + 3];
            if seq != self.seq {
                return Err(out_of_order(seq, self.seq));
            }
            self.seq = self.seq.wrapping_add(1);
            self.fill(4 + len).await?;
            payload.extend_from_slice(&self.buf[self.start + 4..self.start + 4 + len]);
            self.start += 4 + len;
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Reads until `n` unconsumed bytes are buffered.
    async fn fill(&mut self, n: usize) -> WireResult<()> {
        while self.end - self.start < n {
            if self.start + n > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if n > self.buf.len() {
                    self.buf.resize(n, 0);
                }
            }
            let got = self
                .stream
                .read(&mut self.buf[self.end..])
                .await
                .map_err(io_error)?;
            if got == 0 {
                return Err(closed());
            }
            self.end += got;
        }
        Ok(())
    }
}

fn closed() -> mysql_async::Error {
    io_error(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection",
    ))
}

fn out_of_order(got: u8, expected: u8) -> mysql_async::Error {
    protocol(format!(
        "packet out of order: sequence id {got}, expected {expected}"
    ))
}

/// The payload length in a packet header.
#[inline]
fn packet_len(header: &[u8]) -> usize {
    usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16
}

fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// A column definition packet (protocol 4.1).
fn column_def(p: &[u8]) -> Result<ColumnDef, super::decode::Malformed> {
    let mut r = Reader { buf: p, pos: 0 };
    // catalog, schema, table, org_table, name, org_name
    for _ in 0..6 {
        let len = r.lenenc()?;
        r.take(len as usize)?;
    }
    let _fixed_len = r.lenenc()?;
    let charset = u16::from_le_bytes(r.array()?);
    let _length: [u8; 4] = r.array()?;
    let raw_type = r.u8()?;
    let flags = u16::from_le_bytes(r.array()?);
    let decimals = r.u8()?;
    let column_type = ColumnType::try_from(raw_type)
        .map_err(|_| super::decode::Malformed(format!("unknown column type {raw_type}")))?;
    Ok(ColumnDef {
        column_type,
        flags: ColumnFlags::from_bits_truncate(flags),
        charset,
        decimals,
    })
}

/// The server's first packet (HandshakeV10).
struct Greeting {
    version: String,
    connection_id: u32,
    capabilities: u32,
    scramble: Vec<u8>,
    plugin: String,
}

impl Greeting {
    fn parse(p: &[u8]) -> WireResult<Greeting> {
        let bad = || protocol("the server's handshake could not be read");
        if p.first() != Some(&10) {
            return Err(protocol(format!(
                "handshake protocol version {:?} is not 10",
                p.first()
            )));
        }
        let nul = p[1..].iter().position(|b| *b == 0).ok_or_else(bad)? + 1;
        let version = String::from_utf8_lossy(&p[1..nul]).into_owned();
        let mut r = Reader {
            buf: p,
            pos: nul + 1,
        };
        let connection_id = u32::from_le_bytes(r.array().map_err(|_| bad())?);
        let mut scramble = r.take(8).map_err(|_| bad())?.to_vec();
        r.take(1).map_err(|_| bad())?;
        let low = u16::from_le_bytes(r.array().map_err(|_| bad())?);
        let mut capabilities = u32::from(low);
        let mut plugin = String::new();
        if r.pos < p.len() {
            let _charset = r.u8().map_err(|_| bad())?;
            let _status: [u8; 2] = r.array().map_err(|_| bad())?;
            let high = u16::from_le_bytes(r.array().map_err(|_| bad())?);
            capabilities |= u32::from(high) << 16;
            let auth_len = usize::from(r.u8().map_err(|_| bad())?);
            r.take(10).map_err(|_| bad())?;
            if capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let n = auth_len.saturating_sub(8).max(13);
                let part = r.take(n.min(p.len() - r.pos)).map_err(|_| bad())?;
                let part = part.strip_suffix(&[0]).unwrap_or(part);
                scramble.extend_from_slice(part);
            }
            if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                let rest = &p[r.pos..];
                let rest = rest.split(|b| *b == 0).next().unwrap_or_default();
                plugin = String::from_utf8_lossy(rest).into_owned();
            }
        }
        Ok(Greeting {
            version,
            connection_id,
            capabilities,
            scramble,
            plugin,
        })
    }
}

/// The authentication response of `plugin` for `password` and the server's `nonce`.
fn scramble(plugin: &str, password: &[u8], nonce: &[u8]) -> WireResult<Zeroizing<Vec<u8>>> {
    if password.is_empty() {
        return Ok(Zeroizing::new(Vec::new()));
    }
    let nonce = &nonce[..nonce.len().min(20)];
    let out = match plugin {
        // SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))
        "mysql_native_password" => {
            let h1 = Zeroizing::new(Sha1::digest(password).to_vec());
            let h2 = Sha1::digest(h1.as_slice());
            let mut m = Sha1::new();
            m.update(nonce);
            m.update(h2);
            let mask = m.finalize();
            h1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
        }
        // SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce)
        "caching_sha2_password" => {
            let h1 = Zeroizing::new(Sha256::digest(password).to_vec());
            let h2 = Sha256::digest(h1.as_slice());
            let mut m = Sha256::new();
            m.update(h2);
            m.update(nonce);
            let mask = m.finalize();
            h1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
        }
        other => {
            return Err(protocol(format!(
                "authentication plugin {other} is not supported by the row reader"
            )));
        }
    };
    Ok(Zeroizing::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn native_password_scramble_matches_the_reference() {
        // The server stores SHA1(SHA1(password)); check the client's proof against it the way
        // the server does: SHA1(nonce + stored) XOR proof = SHA1(password), whose SHA1 is stored.
        let nonce = b"abcdefghijklmnopqrst";
        let proof = scramble("mysql_native_password", b"secret", nonce).unwrap();
        let stored = Sha1::digest(Sha1::digest(b"secret"));
        let mut m = Sha1::new();
        m.update(nonce);
        m.update(stored);
        let mask = m.finalize();
        let h1: Vec<u8> = proof.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&h1), stored);
        assert!(
            scramble("mysql_native_password", b"", nonce)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn caching_sha2_scramble_matches_the_reference() {
        let nonce = b"01234567890123456789";
        let proof = scramble("caching_sha2_password", b"secret", nonce).unwrap();
        let stored = Sha256::digest(Sha256::digest(b"secret"));
        let mut m = Sha256::new();
        m.update(stored);
        m.update(nonce);
        let mask = m.finalize();
        let h1: Vec<u8> = proof.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha256::digest(&h1), stored);
        assert!(scramble("client_ed25519", b"x", nonce).is_err());
    }

    #[test]
    fn greetings_of_both_servers_parse() {
        // MariaDB 10.11 style: no CLIENT_MYSQL bit, 21-byte auth data, plugin name.
        let mut g = vec![10];
        g.extend_from_slice(b"5.5.5-10.11.6-MariaDB\0");
        g.extend_from_slice(&42u32.to_le_bytes());
        g.extend_from_slice(b"12345678\0");
        let caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        g.extend_from_slice(&(caps as u16).to_le_bytes());
        g.push(45);
        g.extend_from_slice(&[2, 0]);
        g.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        g.push(21);
        g.extend_from_slice(&[0; 10]);
        g.extend_from_slice(b"abcdefghijkl\0");
        g.extend_from_slice(b"mysql_native_password\0");
        let parsed = Greeting::parse(&g).unwrap();
        assert_eq!(parsed.connection_id, 42);
        assert_eq!(parsed.scramble, b"12345678abcdefghijkl");
        assert_eq!(parsed.plugin, "mysql_native_password");
        assert_eq!(parsed.capabilities, caps);
        assert!(Greeting::parse(&[9, 0]).is_err());
    }

    #[test]
    fn err_packets_carry_code_state_and_message() {
        let mut p = vec![0xff];
        p.extend_from_slice(&1927u16.to_le_bytes());
        p.extend_from_slice(b"#70100Connection was killed");
        match server_error(&p) {
            mysql_async::Error::Server(e) => {
                assert_eq!(e.code, 1927);
                assert_eq!(e.state, "70100");
                assert_eq!(e.message, "Connection was killed");
            }
            other => panic!("{other:?}"),
        }
    }

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

    /// A connection over one end of a socket pair, as after the handshake.
    fn over(stream: UnixStream, buffer: usize) -> WireConn {
        WireConn {
            stream: Socket::Unix(stream),
            buf: vec![0; buffer],
            start: 0,
            end: 0,
            seq: 0,
            reply_bytes: 0,
            poll_after: POLL_AFTER,
            deprecate_eof: true,
            unix_socket: true,
            id: 0,
        }
    }

    /// `payload` framed as the server would: pieces of at most MAX_PAYLOAD, and an empty
    /// packet after a piece of exactly MAX_PAYLOAD. Returns the bytes and the next sequence id.
    fn framed(mut seq: u8, payload: &[u8]) -> (Vec<u8>, u8) {
        let mut out = Vec::new();
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            out.push(seq);
            out.extend_from_slice(&rest[..n]);
            seq = seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_PAYLOAD {
                return (out, seq);
            }
        }
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
    async fn split_packets_are_reassembled_and_sequence_ids_checked() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut conn = over(a, 64);
        let exact: Vec<u8> = (0..MAX_PAYLOAD).map(|i| i as u8).collect();
        let longer: Vec<u8> = (0..MAX_PAYLOAD + 7).map(|i| (i / 3) as u8).collect();
        let (mut bytes, seq) = framed(0, &exact);
        assert_eq!(
            &bytes[bytes.len() - 4..],
            &[0, 0, 0, 1],
            "an empty packet ends it"
        );
        let (more, seq) = framed(seq, &longer);
        bytes.extend_from_slice(&more);
        let (more, _) = framed(seq.wrapping_add(1), b"skipped a sequence id");
        bytes.extend_from_slice(&more);
        let writer = tokio::spawn(async move {
            b.write_all(&bytes).await.unwrap();
            b
        });
        assert_eq!(conn.read_packet().await.unwrap(), exact);
        assert_eq!(conn.read_packet().await.unwrap(), longer);
        let err = conn.read_packet().await.unwrap_err().to_string();
        assert!(err.contains("out of order"), "{err}");
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn written_packets_are_split_at_the_limit() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut conn = over(a, 64);
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            b.read_to_end(&mut all).await.unwrap();
            all
        });
        let exact = vec![7u8; MAX_PAYLOAD];
        conn.write_packet(&exact).await.unwrap();
        conn.write_packet(b"ab").await.unwrap();
        drop(conn);
        let all = reader.await.unwrap();
        assert_eq!(&all[..4], &[0xff, 0xff, 0xff, 0]);
        assert_eq!(&all[4 + MAX_PAYLOAD..][..4], &[0, 0, 0, 1]);
        assert_eq!(&all[8 + MAX_PAYLOAD..], &[2, 0, 0, 2, b'a', b'b']);
    }

    /// Rows of every size (across buffer ends, larger than the buffer, 16 MiB and more) come
    /// out whole and in order, however the socket cuts them, then the end of the result.
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
                    got.extend(super::super::decode::packets(&buf[..len]).map(<[u8]>::to_vec));
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
}

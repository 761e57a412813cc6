//! A minimal MySQL/MariaDB protocol client for the row stream: handshake and authentication,
//! plain queries with small text results, and prepared statements whose binary rows are handed
//! on as whole read buffers instead of being decoded here.
//!
//! mysql_async decodes every row into a `Row` of `Value`s, one heap allocation per string cell;
//! this connection reads socket bytes into large buffers and passes buffers of complete row
//! packets to the serialiser, which decodes them in place (`rows::decode`). It is not a general
//! driver: no compression, no parameters, no multi-statements, no LOCAL INFILE. TLS under the
//! run's `--ssl-mode`, checked as the driver connections check it (`connect::tls`).
//! Authentication: `mysql_native_password` and `caching_sha2_password` (its full
//! authentication over TLS or a Unix socket, where the server takes the password itself, or
//! with the server's RSA key when the user allows or pins one).
//!
//! By job: [`WireConn`] here (opening, the session, closing); `socket` (how bytes are read);
//! `stream` (the socket in plaintext or under TLS); `packet` (framing, length-encoded
//! integers, error packets); `handshake` (greeting and authentication); `statement` (queries,
//! prepared statements, row blocks).

mod handshake;
mod packet;
mod socket;
mod statement;
mod stream;

use tokio::net::{TcpStream, UnixStream};

use crate::connect::{self, ConnectionSettings, Flavor, tls};
use crate::error::{ConnectError, Error};
use handshake::{CLIENT_DEPRECATE_EOF, WANTED};
pub(crate) use packet::Reader;
use packet::io_error;
pub use packet::{MAX_PACKET, MAX_PAYLOAD, Malformed, packets};
use socket::Socket;
pub use statement::{ColumnDef, RowBlock};
// For `crate::fuzzing`: the decoders of what a server sends, callable on bytes.
pub(crate) use handshake::Greeting;
pub(crate) use statement::{column_count, column_def, text_row};
use stream::Stream;

/// A reply read this far is a stream of rows worth reading on a timer: smaller replies (every
/// command's, small tables) stay event-driven and pay no pause at their end.
const POLL_AFTER: usize = 1 << 20;

/// Size of one read buffer handed to the serialiser: a few thousand typical rows per channel
/// message, and the handful of buffers in flight per worker stays a few MB.
pub const READ_BUFFER: usize = 512 << 10;

/// The connection's own buffer for handshakes and command replies.
const COMMAND_BUFFER: usize = 16 << 10;

const COM_QUIT: u8 = 0x01;

type WireResult<T> = Result<T, mysql_async::Error>;

/// One connection of the row reader.
pub struct WireConn {
    stream: Stream,
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
    /// The connection never leaves this machine (`connect::auth::is_local`).
    local: bool,
    id: u32,
    /// The longest logical packet read ([`MAX_PACKET`]; less in tests).
    max_packet: usize,
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
        // Read before connecting: a CA file that is not PEM is the user's to fix, not the server's.
        let tls = match &settings.socket {
            Some(_) => None,
            None => settings
                .tls
                .client_config()
                .and_then(|config| {
                    let name = tls::server_name(settings.tls_name(), settings.tls.mode)?;
                    Ok(config.map(|c| (c, name)))
                })
                .map_err(|source| Error::Connect {
                    target: settings.describe(),
                    source,
                    flags: crate::error::FlagSet::Main,
                })?,
        };
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
                    local: connect::auth::is_local(settings, &resolved),
                    stream: Stream::plain(stream),
                    buf: vec![0; COMMAND_BUFFER],
                    start: 0,
                    end: 0,
                    seq: 0,
                    reply_bytes: 0,
                    poll_after: POLL_AFTER,
                    deprecate_eof: false,
                    id: 0,
                    max_packet: MAX_PACKET,
                };
                conn.handshake(settings, tls, wanted)
                    .await
                    .map_err(|e| tls::connect_error(e, settings.tls.mode))?;
                Ok(conn)
            })
            .await;
        let mut conn = conn?;
        connect::prepare_session(&mut conn, role, &connect::session_setup_sql(flavor), "dump")
            .await?;
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
            self.stream.close_tls().await;
            // The server closes its end; reading to EOF avoids a reset racing the quit.
            let mut scratch = [0u8; 64];
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                self.stream.read(&mut scratch),
            )
            .await;
        }
    }
}

/// A connection over one end of a socket pair, as after the handshake.
#[cfg(test)]
fn over(stream: UnixStream, buffer: usize) -> WireConn {
    WireConn {
        stream: Stream::plain(Socket::Unix(stream)),
        buf: vec![0; buffer],
        start: 0,
        end: 0,
        seq: 0,
        reply_bytes: 0,
        poll_after: POLL_AFTER,
        deprecate_eof: true,
        unix_socket: true,
        local: true,
        id: 0,
        max_packet: MAX_PACKET,
    }
}

/// `payload` framed as the server would: pieces of at most MAX_PAYLOAD, and an empty
/// packet after a piece of exactly MAX_PAYLOAD. Returns the bytes and the next sequence id.
#[cfg(test)]
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

//! The row reader's byte stream: its [`Socket`], in plaintext or under TLS.
//!
//! TLS is rustls driven by hand (its "sans-IO" connection: we read and write the socket, it
//! encrypts and decrypts), not `tokio-rustls`, so that the socket keeps the polled reads of
//! `socket.rs` while rows stream: a TLS stream that owned the socket could only be woken by the
//! runtime, record by record. Ciphertext is read in [`CIPHERTEXT_BUFFER`] pieces and decrypted
//! into the caller's buffer until that is full or the ciphertext is used up, so a read hands on
//! as many bytes as a plaintext read would.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use super::socket::Socket;

/// Ciphertext read from the socket at once: as much as a polled read of rows gathers between
/// pauses (`socket::POLL_INTERVAL`), so that TLS does not add reads to the stream.
const CIPHERTEXT_BUFFER: usize = 256 << 10;

/// One connection's bytes, encrypted or not.
pub struct Stream {
    socket: Socket,
    tls: Option<Box<Tls>>,
}

/// A TLS session over the socket, with the ciphertext read but not yet given to rustls.
struct Tls {
    conn: ClientConnection,
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl Stream {
    pub fn plain(socket: Socket) -> Stream {
        Stream { socket, tls: None }
    }

    /// True once [`Stream::start_tls`] has succeeded.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads what is there, waiting for data ([`Socket::read`]).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(buf, false).await
    }

    /// Reads on the timer while rows stream ([`Socket::read_polled`]).
    pub async fn read_polled(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(buf, true).await
    }

    async fn read_with(&mut self, buf: &mut [u8], polled: bool) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return match polled {
                true => self.socket.read_polled(buf).await,
                false => self.socket.read(buf).await,
            };
        };
        loop {
            if let Some(n) = tls.decrypt_into(buf)? {
                return Ok(n);
            }
            let got = match polled {
                true => self.socket.read_polled(&mut tls.raw).await?,
                false => self.socket.read(&mut tls.raw).await?,
            };
            (tls.start, tls.end) = (0, got);
            if got == 0 {
                // The server went away without ending the session: rustls then reports an
                // unexpected end (a truncation it must not take for the end of the data).
                tls.conn.read_tls(&mut &[][..])?;
                tls.conn.process_new_packets().map_err(tls_error)?;
                return tls.conn.reader().read(buf);
            }
        }
    }

    /// Writes all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return self.socket.write_all(buf).await;
        };
        let mut rest = buf;
        while !rest.is_empty() {
            // rustls buffers a limited amount of plaintext: hand it what it takes, send that.
            let n = tls.conn.writer().write(rest)?;
            rest = &rest[n..];
            flush(&mut self.socket, tls).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the TLS session takes no more data",
                ));
            }
        }
        Ok(())
    }

    /// Runs the TLS handshake over the socket (after the protocol's SSL request), checking the
    /// server's certificate as `config` says for `name`. Reads and writes go through TLS after.
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        let conn = ClientConnection::new(config, name).map_err(tls_error)?;
        let mut tls = Box::new(Tls {
            conn,
            raw: vec![0; CIPHERTEXT_BUFFER],
            start: 0,
            end: 0,
        });
        while tls.conn.is_handshaking() {
            if tls.conn.wants_write() {
                flush(&mut self.socket, &mut tls).await?;
                continue;
            }
            if tls.start == tls.end {
                let got = self.socket.read(&mut tls.raw).await?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during the TLS handshake",
                    ));
                }
                (tls.start, tls.end) = (0, got);
            }
            let mut pending = &tls.raw[tls.start..tls.end];
            tls.start += tls.conn.read_tls(&mut pending)?;
            if let Err(e) = tls.conn.process_new_packets() {
                // Tell the server why (the alert rustls queued), then fail with the reason.
                let _ = flush(&mut self.socket, &mut tls).await;
                return Err(tls_error(e));
            }
        }
        flush(&mut self.socket, &mut tls).await?;
        self.tls = Some(tls);
        Ok(())
    }

    /// Ends the TLS session properly (close_notify) before the socket closes.
    pub async fn close_tls(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.conn.send_close_notify();
            let _ = flush(&mut self.socket, tls).await;
        }
    }
}

impl Tls {
    /// Plaintext into `buf` from the ciphertext already read: Some(bytes) when there was any
    /// (Some(0) once the server ended the session), None when more must be read.
    fn decrypt_into(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut n = 0;
        loop {
            match self.conn.reader().read(&mut buf[n..]) {
                Ok(0) if n < buf.len() => return Ok(Some(n)),
                Ok(got) => n += got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if n == 0 => return Err(e),
                // The bytes before an error are handed on first; the error comes next time.
                Err(_) => return Ok(Some(n)),
            }
            if n == buf.len() || self.start == self.end {
                return Ok((n > 0 || buf.is_empty()).then_some(n));
            }
            let mut pending = &self.raw[self.start..self.end];
            self.start += self.conn.read_tls(&mut pending)?;
            self.conn.process_new_packets().map_err(tls_error)?;
        }
    }
}

/// Sends what rustls has queued: handshake messages, records, alerts.
async fn flush(socket: &mut Socket, tls: &mut Tls) -> io::Result<()> {
    let mut out = Vec::new();
    while tls.conn.wants_write() {
        tls.conn.write_tls(&mut out)?;
    }
    if out.is_empty() {
        return Ok(());
    }
    socket.write_all(&out).await
}

/// A rustls error as an I/O error that keeps it: `connect::tls::classify` finds it there and
/// says whether the certificate was not trusted, named another host, or ours was refused.
fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

//! Packet framing of the client/server protocol: a packet's 4-byte header (payload length,
//! sequence id), logical packets split at [`MAX_PAYLOAD`] and reassembled, length-encoded
//! integers, and the errors a reply can carry. Everything above it (handshake, statements,
//! rows) reads and writes whole payloads through [`WireConn::read_packet`] and
//! [`WireConn::write_packet`].

use std::io;

use mysql_async::{IoError, ServerError};

use super::{WireConn, WireResult};

/// The longest payload of one physical packet; a payload this long continues in the next one.
pub const MAX_PAYLOAD: usize = 0xff_ffff;

/// The longest logical packet this client takes, as it says at login: 1 GiB, the largest
/// `max_allowed_packet` of any server, so no row it can send is refused. A reply reassembled
/// from pieces grows no further: a bogus or hostile server cannot make it take all memory.
pub const MAX_PACKET: usize = 1 << 30;

/// The server said something this client does not understand or support.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Protocol(pub String);

/// A row or packet the server sent that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("malformed row from the server: {0}")]
pub struct Malformed(pub String);

pub(super) fn protocol(msg: impl Into<String>) -> mysql_async::Error {
    mysql_async::Error::Other(Box::new(Protocol(msg.into())))
}

pub(super) fn io_error(e: io::Error) -> mysql_async::Error {
    mysql_async::Error::Io(IoError::Io(e))
}

pub(super) fn malformed(e: Malformed) -> mysql_async::Error {
    mysql_async::Error::Other(Box::new(e))
}

/// An ERR packet as the server error it carries.
pub(super) fn server_error(p: &[u8]) -> mysql_async::Error {
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

pub(super) fn closed() -> mysql_async::Error {
    io_error(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection",
    ))
}

pub(super) fn out_of_order(got: u8, expected: u8) -> mysql_async::Error {
    protocol(format!(
        "packet out of order: sequence id {got}, expected {expected}"
    ))
}

/// The payload length in a packet header.
#[inline]
pub(super) fn packet_len(header: &[u8]) -> usize {
    usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16
}

pub(super) fn put_lenenc(out: &mut Vec<u8>, n: u64) {
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

/// The payloads of the complete packets in `block` (each a 4-byte header, then its payload), as
/// the network side cut it: every packet is whole.
pub fn packets(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = block;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = usize::from(rest[0]) | usize::from(rest[1]) << 8 | usize::from(rest[2]) << 16;
        let end = (4 + len).min(rest.len());
        let payload = &rest[4..end];
        rest = &rest[end..];
        Some(payload)
    })
}

/// A cursor over one packet.
pub(crate) struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Malformed(format!(
                "a value of {n} bytes at byte {} runs past the end of a {}-byte row",
                self.pos,
                self.buf.len()
            ))),
        }
    }

    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    /// A length-encoded integer (1, 3, 4 or 9 bytes).
    #[inline]
    pub fn lenenc(&mut self) -> Result<u64, Malformed> {
        match self.u8()? {
            b @ 0..=0xfa => Ok(u64::from(b)),
            0xfc => Ok(u64::from(u16::from_le_bytes(self.array()?))),
            0xfd => {
                let [a, b, c] = self.array()?;
                Ok(u64::from(u32::from_le_bytes([a, b, c, 0])))
            }
            0xfe => Ok(u64::from_le_bytes(self.array()?)),
            b => Err(Malformed(format!(
                "byte 0x{b:02X} cannot start a length-encoded integer"
            ))),
        }
    }
}

impl WireConn {
    /// Starts a command: sequence ids restart at 0.
    pub(super) async fn command(&mut self, command: u8, body: &[u8]) -> WireResult<()> {
        self.seq = 0;
        self.reply_bytes = 0;
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(command);
        payload.extend_from_slice(body);
        self.write_packet(&payload).await
    }

    /// Writes one logical packet, split into physical packets of at most [`MAX_PAYLOAD`].
    pub(super) async fn write_packet(&mut self, payload: &[u8]) -> WireResult<()> {
        // Zeroed when dropped: the login's packets carry the password (in clear over TLS or a
        // socket, else its scramble). The other packets are queries of a few hundred bytes, so
        // clearing them all costs nothing measurable. Sized up front: a grown buffer would
        // leave its first copy in freed memory.
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(payload.len() + 8));
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
    pub(super) async fn read_packet(&mut self) -> WireResult<Vec<u8>> {
        let mut payload = Vec::new();
        loop {
            self.fill(4).await?;
            let len = packet_len(&self.buf[self.start..]);
            let seq = self.buf[self.start + 3];
            if seq != self.seq {
                return Err(out_of_order(seq, self.seq));
            }
            self.seq = self.seq.wrapping_add(1);
            if payload.len() + len > self.max_packet {
                return Err(protocol(format!(
                    "the server sent a packet of more than {} bytes, the most this client \
                     accepts (it said so at login)",
                    self.max_packet
                )));
            }
            self.fill(4 + len).await?;
            payload.extend_from_slice(&self.buf[self.start + 4..self.start + 4 + len]);
            self.start += 4 + len;
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Reads until `n` unconsumed bytes are buffered.
    pub(super) async fn fill(&mut self, n: usize) -> WireResult<()> {
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

#[cfg(test)]
mod tests {
    use super::super::{framed, over};
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

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
    async fn a_reassembled_packet_stops_at_the_limit_before_it_grows() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut conn = over(a, 64);
        conn.max_packet = MAX_PAYLOAD + 100;
        let fits: Vec<u8> = vec![1; MAX_PAYLOAD + 100];
        let (mut bytes, seq) = framed(0, &fits);
        // Pieces of 16 MiB without end: only the first two are ever read.
        let (more, _) = framed(seq, &vec![2; 3 * MAX_PAYLOAD]);
        bytes.extend_from_slice(&more);
        let writer = tokio::spawn(async move {
            let _ = b.write_all(&bytes).await;
        });
        assert!(conn.read_packet().await.unwrap() == fits);
        let err = conn.read_packet().await.unwrap_err().to_string();
        assert!(
            err.contains(&format!("more than {} bytes", MAX_PAYLOAD + 100)),
            "{err}"
        );
        assert!(conn.buf.len() <= MAX_PAYLOAD + 4, "{}", conn.buf.len());
        drop(conn);
        writer.await.unwrap();
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

    #[test]
    fn packets_are_cut_at_their_headers() {
        let block = [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 1, 1, 0, 0, 2, b'c'];
        let got: Vec<&[u8]> = packets(&block).collect();
        assert_eq!(got, vec![&b"ab"[..], &b""[..], &b"c"[..]]);
    }
}

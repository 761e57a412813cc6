//! The row reader's socket: woken by the runtime while it waits for a reply, read on a timer
//! while a large result set streams, so that a reader faster than the server is not woken for
//! every 16 KiB the server sends.
//!
//! A dump's readers outrun the server, so an event-driven read finds the socket empty after
//! each wake-up and sleeps again: about 36 KB per wake-up here, 35 000 context switches per
//! gigabyte between the client and the server threads it preempts. The kernel's answer,
//! `SO_RCVLOWAT`, needs a raw `setsockopt` (unsafe code, which this crate forbids; neither
//! `socket2` nor `rustix` offers it). Instead, while rows stream, the socket leaves the
//! runtime's epoll set (an edge-triggered registration would wake the runtime on every
//! arrival even when no task waits for it) and is read without waiting, with a
//! [`POLL_INTERVAL`] pause whenever it is empty. After [`PAUSES`] empty reads in a row the
//! server has stopped (a slow scan, a lock): the socket goes back to the runtime and the read
//! waits for data as before, so a stall costs a few wake-ups, never a busy loop.

use std::io::{self, Read};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pause before reading an empty socket again while rows stream. One millisecond is the
/// runtime timer's resolution; at the 80 MB/s a connection delivers here it lets about 80 KB
/// gather (the kernel's receive buffer grows to megabytes), a fifth of the wake-ups.
pub const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Empty reads in a row before the socket goes back to the runtime to wait: on two busy
/// cores the server's thread is often off its core for a millisecond or two, which is not
/// a pause worth two `epoll_ctl` calls.
const PAUSES: u32 = 4;

/// The socket of one connection.
pub enum Socket {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
    /// Out of the runtime's epoll set, non-blocking, read between pauses.
    PolledTcp(std::net::TcpStream),
    PolledUnix(std::os::unix::net::UnixStream),
    /// A switch between the two failed; the connection is unusable.
    Lost,
}

impl Socket {
    /// Reads what is there, waiting for data like any runtime socket.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.register()?;
        match self {
            Socket::Tcp(s) => s.read(buf).await,
            Socket::Unix(s) => s.read(buf).await,
            _ => Err(lost()),
        }
    }

    /// Reads what is there, pausing [`POLL_INTERVAL`] when the socket is empty instead of
    /// waiting to be woken; waits like [`Socket::read`] when it is still empty after
    /// [`PAUSES`] pauses.
    pub async fn read_polled(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.deregister()?;
        let mut pauses = 0;
        loop {
            let got = match self {
                Socket::PolledTcp(s) => s.read(buf),
                Socket::PolledUnix(s) => s.read(buf),
                _ => return Err(lost()),
            };
            match got {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && pauses < PAUSES => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                    pauses += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.read(buf).await,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }

    /// Writes all of `buf`; commands wait for their replies, so the socket rejoins the runtime.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.register()?;
        match self {
            Socket::Tcp(s) => s.write_all(buf).await,
            Socket::Unix(s) => s.write_all(buf).await,
            _ => Err(lost()),
        }
    }

    /// True while the socket is out of the runtime's epoll set.
    pub fn is_polled(&self) -> bool {
        matches!(self, Socket::PolledTcp(_) | Socket::PolledUnix(_))
    }

    fn register(&mut self) -> io::Result<()> {
        if !self.is_polled() {
            return Ok(());
        }
        *self = match std::mem::replace(self, Socket::Lost) {
            Socket::PolledTcp(s) => Socket::Tcp(tokio::net::TcpStream::from_std(s)?),
            Socket::PolledUnix(s) => Socket::Unix(tokio::net::UnixStream::from_std(s)?),
            other => other,
        };
        Ok(())
    }

    fn deregister(&mut self) -> io::Result<()> {
        if !matches!(self, Socket::Tcp(_) | Socket::Unix(_)) {
            return Ok(());
        }
        // `into_std` leaves the descriptor non-blocking, as the polled reads need it.
        *self = match std::mem::replace(self, Socket::Lost) {
            Socket::Tcp(s) => Socket::PolledTcp(s.into_std()?),
            Socket::Unix(s) => Socket::PolledUnix(s.into_std()?),
            other => other,
        };
        Ok(())
    }
}

fn lost() -> io::Error {
    io::Error::other("the connection's socket was lost while leaving or rejoining the runtime")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixStream;

    /// Bytes sent in bursts with pauses longer than all the polling pauses arrive whole and
    /// in order through polled reads; a pause hands the socket back to the runtime, the next
    /// polled read takes it out again, and a write rejoins it.
    #[tokio::test]
    async fn polled_reads_survive_pauses_and_commands_rejoin_the_runtime() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut socket = Socket::Unix(a);
        let sent: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let bursts: Vec<Vec<u8>> = sent.chunks(60_000).map(<[u8]>::to_vec).collect();
        let writer = tokio::spawn(async move {
            for burst in bursts {
                b.write_all(&burst).await.unwrap();
                // Far longer than PAUSES pauses even when the machine is loaded (a 1 ms
                // sleep then takes several): the reader must have given up polling.
                tokio::time::sleep(POLL_INTERVAL * PAUSES * 50).await;
            }
            let mut reply = [0u8; 5];
            b.read_exact(&mut reply).await.unwrap();
            b.write_all(b"after").await.unwrap();
            reply
        });
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let (mut polled, mut went_back) = (false, false);
        while got.len() < sent.len() {
            let n = socket.read_polled(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
            polled |= socket.is_polled();
            went_back |= !socket.is_polled();
        }
        assert!(got == sent, "the bytes read differ from the bytes sent");
        assert!(polled, "bytes already there are read without the runtime");
        assert!(
            went_back,
            "a pause longer than the interval hands the socket back"
        );
        socket.deregister().unwrap();
        socket.write_all(b"query").await.unwrap();
        assert!(!socket.is_polled(), "a command rejoins the runtime");
        let mut after = [0u8; 5];
        let mut have = 0;
        while have < after.len() {
            have += socket.read(&mut after[have..]).await.unwrap();
        }
        assert_eq!(&after, b"after");
        assert_eq!(&writer.await.unwrap(), b"query");
    }

    /// The end of the stream reads as 0 bytes in either state.
    #[tokio::test]
    async fn a_closed_peer_reads_as_the_end_when_polled() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut socket = Socket::Unix(a);
        drop(b);
        let mut buf = [0u8; 16];
        assert_eq!(socket.read_polled(&mut buf).await.unwrap(), 0);
        assert_eq!(socket.read(&mut buf).await.unwrap(), 0);
    }
}

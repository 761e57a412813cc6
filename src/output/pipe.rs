//! A bounded in-memory pipe from a dump's output chain to a restore's reader: the end of the
//! chain when `db-copy` streams one server into another, with no file between them.
//!
//! Bounded on purpose: a target slower than the source makes the dump wait (back-pressure
//! reaches the row readers through the writer queue), so memory stays
//! `PIPE_CHUNKS × PIPE_CHUNK_BYTES` whatever the size of the database.
//!
//! Either end may stop. The reader tells a finished stream (the writer's `finish`) from one
//! whose writer went away without finishing (the source failed): the second is an error, never
//! an end of file, so a restore can't complete on half a database. The writer sees a reader
//! that went away (the target failed) as a broken pipe, which stops the dump.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::file::FileSummary;

/// Chunks in flight between the two ends.
pub const PIPE_CHUNKS: usize = 16;

/// Bytes gathered before a chunk is handed over: large enough that the channel costs nothing
/// next to the statements, small enough that 16 of them are 4 MiB.
pub const PIPE_CHUNK_BYTES: usize = 256 << 10;

/// What the reader tells the writer's side when it stops early (the restore failed).
pub const TARGET_STOPPED: &str = "the target side stopped reading the stream";

/// What the reader says when the writer went away without finishing (the dump failed).
pub const SOURCE_STOPPED: &str = "the source side stopped before the end of the stream";

enum Message {
    Data(Vec<u8>),
    End,
}

/// The rows of each table whose data the dump has written into the pipe, by the source's
/// database and table names: what a file's metadata would say, told beside the stream as each
/// table ends, so that the restore knows when a table is complete (its keys can then be built,
/// `restore::keys`) without waiting for the stream's end.
#[derive(Debug, Default)]
pub struct TablesDone(Mutex<HashMap<(String, String), u64>>);

impl TablesDone {
    /// `db`.`table`'s rows are all in the pipe: `rows` of them.
    pub fn record(&self, db: &str, table: &str, rows: u64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((db.to_owned(), table.to_owned()), rows);
    }

    /// The rows of `db`.`table` once its data is all in the pipe.
    pub fn rows(&self, db: &str, table: &str) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(db.to_owned(), table.to_owned()))
            .copied()
    }
}

/// The writing end's handle, kept in the run's configuration: each [`PipeWriter`] made from it
/// sends into the same reader. Clones are cheap; the reader sees the writers gone when every
/// clone is dropped.
#[derive(Clone)]
pub struct Pipe {
    tx: SyncSender<Message>,
    name: PathBuf,
    done: Arc<TablesDone>,
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pipe({})", self.name.display())
    }
}

/// A new pipe; `name` stands for the stream in messages (there is no file to name).
pub fn pipe(name: PathBuf) -> (Pipe, PipeReader) {
    let (tx, rx) = sync_channel(PIPE_CHUNKS);
    (
        Pipe {
            tx,
            name,
            done: Arc::default(),
        },
        PipeReader {
            rx,
            chunk: Vec::new(),
            at: 0,
            ended: false,
        },
    )
}

impl Pipe {
    pub fn name(&self) -> &PathBuf {
        &self.name
    }

    /// The tables finished so far, shared by every clone (the dump records, the restore reads).
    pub fn tables_done(&self) -> Arc<TablesDone> {
        self.done.clone()
    }

    pub fn writer(&self) -> PipeWriter {
        PipeWriter {
            tx: Some(self.tx.clone()),
            buf: Vec::with_capacity(PIPE_CHUNK_BYTES),
            bytes: 0,
            name: self.name.clone(),
        }
    }
}

/// The writing end: `finish` marks the end of the stream; dropped without it, the reader
/// reads an error.
pub struct PipeWriter {
    tx: Option<SyncSender<Message>>,
    buf: Vec<u8>,
    bytes: u64,
    name: PathBuf,
}

impl PipeWriter {
    fn send(&mut self, m: Message) -> io::Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::other("the stream was already finished"))?;
        tx.send(m)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, TARGET_STOPPED))
    }

    fn hand_over(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PIPE_CHUNK_BYTES));
        self.send(Message::Data(full))
    }

    /// Hands over what is gathered and marks the end: the reader reads to the end of file.
    pub fn finish(mut self) -> io::Result<FileSummary> {
        self.hand_over()?;
        self.send(Message::End)?;
        self.tx = None;
        Ok(FileSummary {
            path: self.name.clone(),
            bytes: self.bytes,
            // Nothing is stored, so there is nothing to prove later.
            sha256: String::new(),
        })
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.bytes += data.len() as u64;
        if self.buf.len() >= PIPE_CHUNK_BYTES {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    /// Gathered bytes wait for the chunk to fill: a flush mid-stream (the codec's) must not
    /// turn every statement into a message of its own.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: the dump's SQL as one `Read`.
pub struct PipeReader {
    rx: Receiver<Message>,
    chunk: Vec<u8>,
    at: usize,
    ended: bool,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.ended || out.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Message::Data(c)) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Ok(Message::End) => self.ended = true,
                Err(_) => return Err(io::Error::other(SOURCE_STOPPED)),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_arrives_in_order_and_the_end_is_an_end() {
        let (p, mut r) = pipe("stream".into());
        let writer = std::thread::spawn(move || {
            let mut w = p.writer();
            for i in 0..100_000u32 {
                w.write_all(format!("{i},").as_bytes()).unwrap();
            }
            w.finish().unwrap().bytes
        });
        let mut got = String::new();
        r.read_to_string(&mut got).unwrap();
        let sent = writer.join().unwrap();
        assert_eq!(got.len() as u64, sent);
        let want: String = (0..100_000u32).map(|i| format!("{i},")).collect();
        assert_eq!(got, want);
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0);
    }

    #[test]
    fn a_writer_gone_without_finishing_is_an_error_not_an_end() {
        let (p, mut r) = pipe("stream".into());
        let mut w = p.writer();
        w.write_all(&vec![b'x'; PIPE_CHUNK_BYTES + 10]).unwrap();
        drop(w);
        drop(p);
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.to_string(), SOURCE_STOPPED);
        // What was handed over before arrived; the unsent tail did not.
        assert_eq!(got.len(), PIPE_CHUNK_BYTES + 10);
    }

    #[test]
    fn a_reader_gone_stops_the_writer_with_a_broken_pipe() {
        let (p, r) = pipe("stream".into());
        drop(r);
        let mut w = p.writer();
        let e = w.write_all(&vec![b'x'; PIPE_CHUNK_BYTES]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn the_pipe_holds_at_most_its_chunks() {
        let (p, mut r) = pipe("stream".into());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut w = p.writer();
            for _ in 0..PIPE_CHUNKS * 4 {
                w.write_all(&vec![b'y'; PIPE_CHUNK_BYTES]).unwrap();
                done_tx.send(()).unwrap();
            }
            w.finish().unwrap();
        });
        // The writer gets PIPE_CHUNKS chunks in (plus the one it is sending), then waits.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut written = 0;
        while std::time::Instant::now() < deadline {
            match done_rx.recv_timeout(std::time::Duration::from_millis(200)) {
                Ok(()) => written += 1,
                Err(_) => break,
            }
        }
        assert!(
            written <= PIPE_CHUNKS + 1,
            "{written} chunks written unread"
        );
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), PIPE_CHUNKS * 4 * PIPE_CHUNK_BYTES);
    }
}

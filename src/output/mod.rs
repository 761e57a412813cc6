//! The output chain SQL → compress → encrypt → file or object (or, for `db-copy`, a pipe into
//! a restore), run on its own thread behind a channel.

pub mod file;
pub mod pipe;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::compress::{Codec, CompressWriter, Level};
use crate::encrypt::{EncryptWriter, Passphrase};
use crate::error::{Error, Result};
use crate::s3::{self, Bucket, ObjectWriter};
use file::{AtomicFile, FileSummary};
use pipe::{Pipe, PipeWriter};

/// Chunks (each up to about one statement size) queued for the writer thread: enough to keep
/// the compressor busy while producers stall briefly, few enough to bound memory (~8 MiB at
/// the default statement size, 128 MiB at the largest).
pub const WRITER_QUEUE: usize = 8;

/// How one output file is written.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    /// A file's path, or an object's `s3://bucket/key` when `bucket` is given.
    pub path: PathBuf,
    /// The bucket the run writes into (`-o s3://…`); None for files.
    pub bucket: Option<Arc<Bucket>>,
    /// `db-copy`: the pipe into the restore, instead of a file or an object.
    pub pipe: Option<Pipe>,
    pub codec: Codec,
    pub level: Level,
    pub passphrase: Option<Passphrase>,
    /// Unix permission bits of the final file.
    pub mode: u32,
    /// Threads the codec may use (zstd, pgzip).
    pub threads: usize,
}

/// What was written, exactly.
#[derive(Clone, Debug)]
pub struct OutputSummary {
    pub file: FileSummary,
    /// Bytes of SQL that went into the chain.
    pub sql_bytes: u64,
    pub codec: Codec,
    pub encrypted: bool,
}

/// The end of the chain: a file renamed into place when finished, or an object whose
/// multipart upload completes when finished. Either one, dropped unfinished, leaves nothing.
/// Or a pipe into a restore, whose reader, dropped unfinished, reads an error.
pub enum Sink {
    File(AtomicFile),
    Object(Box<ObjectWriter>),
    Pipe(PipeWriter),
}

impl Sink {
    /// The file (temporary, renamed by `finish`) or the object's upload for `spec`.
    pub fn create(spec: &OutputSpec) -> Result<Sink> {
        if let Some(p) = &spec.pipe {
            return Ok(Sink::Pipe(p.writer()));
        }
        match &spec.bucket {
            None => AtomicFile::create(&spec.path, spec.mode)
                .map(Sink::File)
                .map_err(|e| Error::file("creating", spec.path.clone(), e)),
            Some(b) => ObjectWriter::create(b, &spec.path).map(|o| Sink::Object(Box::new(o))),
        }
    }

    pub fn finish(self) -> io::Result<FileSummary> {
        match self {
            Sink::File(f) => f.finish(),
            Sink::Object(o) => o.finish().map(FileSummary::from),
            Sink::Pipe(p) => p.finish(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(w) => w.write(buf),
            Sink::Object(w) => w.write(buf),
            Sink::Pipe(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(w) => w.flush(),
            Sink::Object(w) => w.flush(),
            Sink::Pipe(w) => w.flush(),
        }
    }
}

/// Writes a small file (the metadata) whole: atomically on disk, or as one PUT into the bucket.
pub fn write_whole(
    bucket: Option<&Arc<Bucket>>,
    path: &Path,
    mode: u32,
    content: &[u8],
) -> Result<FileSummary> {
    match bucket {
        None => file::write_atomic(path, mode, content)
            .map_err(|e| Error::file("writing", path.to_owned(), e)),
        Some(b) => b.put_whole(path, content).map(FileSummary::from),
    }
}

/// Removes a file or object this run completed, when the run fails after all.
pub fn remove_written(path: &Path) {
    if !s3::remove_finished(path) {
        let _ = std::fs::remove_file(path);
    }
}

/// The encryption slot of the chain: plain or sealed, chosen at run time.
enum Sealing {
    Plain(Sink),
    Sealed(Box<EncryptWriter<Sink>>),
}

impl Write for Sealing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sealing::Plain(w) => w.write(buf),
            Sealing::Sealed(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sealing::Plain(w) => w.flush(),
            Sealing::Sealed(w) => w.flush(),
        }
    }
}

impl Sealing {
    fn finish(self) -> io::Result<Sink> {
        match self {
            Sealing::Plain(w) => Ok(w),
            Sealing::Sealed(w) => w
                .finish()
                .map(|(file, _stats)| file)
                .map_err(io::Error::other),
        }
    }
}

/// One output file's writer chain. `finish` must be called; dropping it removes the file.
pub struct OutputChain {
    chain: CompressWriter<Sealing>,
    spec: OutputSpec,
    sql_bytes: u64,
}

impl OutputChain {
    pub fn create(spec: OutputSpec) -> Result<OutputChain> {
        let file = Sink::create(&spec)?;
        let sealing = match &spec.passphrase {
            None => Sealing::Plain(file),
            Some(p) => Sealing::Sealed(Box::new(EncryptWriter::new(file, p).map_err(|e| {
                Error::file(
                    "starting encryption of",
                    spec.path.clone(),
                    io::Error::other(e),
                )
            })?)),
        };
        let chain = CompressWriter::new(spec.codec, spec.level, sealing, spec.threads)
            .map_err(|e| Error::file("starting compression of", spec.path.clone(), e))?;
        Ok(OutputChain {
            chain,
            spec,
            sql_bytes: 0,
        })
    }

    pub fn write_sql(&mut self, sql: &[u8]) -> Result<()> {
        // The offset counts SQL bytes: the file's own position differs once compressed.
        self.chain.write_all(sql).map_err(|e| Error::File {
            action: "writing the SQL stream into",
            path: self.spec.path.clone(),
            offset: Some(self.sql_bytes),
            source: e,
        })?;
        self.sql_bytes += sql.len() as u64;
        Ok(())
    }

    /// Completes the codec stream, the encryption container and the file, in that order.
    pub fn finish(self) -> Result<OutputSummary> {
        let OutputChain {
            chain,
            spec,
            sql_bytes,
        } = self;
        let path = spec.path.clone();
        let fail = |action: &'static str, e: io::Error| Error::file(action, path.clone(), e);
        let (sealing, _stats) = chain
            .finish()
            .map_err(|e| fail("finishing compression of", e))?;
        let file = sealing
            .finish()
            .map_err(|e| fail("finishing encryption of", e))?;
        let summary = file.finish().map_err(|e| fail("completing", e))?;
        Ok(OutputSummary {
            file: summary,
            sql_bytes,
            codec: spec.codec,
            encrypted: spec.passphrase.is_some(),
        })
    }
}

/// A message to the writer thread. `Abort`, or the channel closing without `Finish`, means the
/// run failed: the thread then drops the chain and its temporary file.
pub enum Chunk {
    Sql(Vec<u8>),
    Finish,
    Abort,
}

/// Handle of a writer thread.
pub struct Writer {
    pub tx: mpsc::Sender<Chunk>,
    handle: JoinHandle<Result<OutputSummary>>,
}

impl Writer {
    /// Creates the file (so permission and space problems show before any query runs) and starts
    /// the thread that feeds it.
    pub fn start(spec: OutputSpec) -> Result<Writer> {
        let mut chain = OutputChain::create(spec)?;
        let (tx, mut rx) = mpsc::channel::<Chunk>(WRITER_QUEUE);
        let handle = std::thread::Builder::new()
            .name("sfdb-writer".into())
            .spawn(move || {
                while let Some(msg) = rx.blocking_recv() {
                    match msg {
                        Chunk::Sql(sql) => chain.write_sql(&sql)?,
                        Chunk::Finish => return chain.finish(),
                        Chunk::Abort => break,
                    }
                }
                Err(Error::Stopped(format!(
                    "{} was not completed and has been removed",
                    chain.spec.path.display()
                )))
            })
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { tx, handle })
    }

    /// Sends `Finish` and waits for the file to be complete.
    pub async fn finish(self) -> Result<OutputSummary> {
        let Writer { tx, handle } = self;
        // A failed send means the thread already stopped; its own error is the one to report.
        let _ = tx.send(Chunk::Finish).await;
        drop(tx);
        join(handle).await
    }

    /// Tells the thread to drop the file and waits: the partial file is removed. Explicit,
    /// because producers that failed may still hold senders of the channel.
    pub async fn abort(self) -> Result<OutputSummary> {
        let Writer { tx, handle } = self;
        let _ = tx.send(Chunk::Abort).await;
        drop(tx);
        join(handle).await
    }
}

async fn join(handle: JoinHandle<Result<OutputSummary>>) -> Result<OutputSummary> {
    {
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| Error::Internal(format!("writer thread join failed: {e}")))?
            .map_err(|_| Error::Internal("the writer thread panicked".into()))?
    }
}

//! The compressing writer: one enum variant per codec, byte counting, and an explicit `finish`.

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flate2::write::{GzEncoder, ZlibEncoder};
use gzp::ZWriter;
use gzp::deflate::Gzip;
use gzp::par::compress::{ParCompress, ParCompressBuilder};
use xz2::stream::{Check, Stream};
use xz2::write::XzEncoder;

use super::{Codec, Level, PGZIP_BLOCK_SIZE};

/// What a finished stream reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompressStats {
    /// Uncompressed bytes accepted by the writer (exact).
    pub input_bytes: u64,
    /// Compressed bytes handed to the inner writer, trailer included (exact).
    pub output_bytes: u64,
}

/// Compresses into `W`. Create with [`CompressWriter::new`], end with [`CompressWriter::finish`].
///
/// Dropping it without `finish` never panics and deliberately leaves the stream without its
/// trailer: the encoders' own `Drop` impls (flate2, xz2, gzp) would otherwise complete the
/// stream, making the output of an aborted dump decode as if it were whole. Every decoder then
/// reports the missing end as an error.
///
/// `Write::flush` forces the codec to emit what it has (a sync flush for deflate, a block end
/// for zstd/xz); it costs ratio, so callers should flush rarely, not per row. For pgzip, flush
/// only hands the pending block to the compression threads.
pub enum CompressWriter<W: Write + Send + 'static> {
    None(Stage<Sink<W>>),
    Gzip(Stage<GzEncoder<Sink<W>>>),
    Pgzip(Stage<ParGzip<W>>),
    Zstd(Stage<zstd::Encoder<'static, Sink<W>>>),
    Xz(Stage<XzEncoder<Sink<W>>>),
    Zlib(Stage<ZlibEncoder<Sink<W>>>),
}

/// Applies the same expression to whichever stage is live; a `dyn Write` would cost a virtual
/// call per write and the enum exists to avoid exactly that.
macro_rules! each_stage {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            CompressWriter::None($s) => $e,
            CompressWriter::Gzip($s) => $e,
            CompressWriter::Pgzip($s) => $e,
            CompressWriter::Zstd($s) => $e,
            CompressWriter::Xz($s) => $e,
            CompressWriter::Zlib($s) => $e,
        }
    };
}

impl<W: Write + Send + 'static> CompressWriter<W> {
    /// A writer compressing into `inner`. `threads` matters for zstd (multi-threaded when > 1)
    /// and pgzip (compression threads, at least 1; gzp adds one writer thread); gzip, xz and
    /// zlib are single-threaded whatever it says.
    pub fn new(codec: Codec, level: Level, inner: W, threads: usize) -> io::Result<Self> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let sink = Sink {
            inner,
            written: 0,
            abandoned: Arc::clone(&abandoned),
        };
        Ok(match codec {
            Codec::None => CompressWriter::None(Stage::new(sink, abandoned)),
            Codec::Gzip => {
                CompressWriter::Gzip(Stage::new(GzEncoder::new(sink, level.flate2()), abandoned))
            }
            Codec::Zlib => CompressWriter::Zlib(Stage::new(
                ZlibEncoder::new(sink, level.flate2()),
                abandoned,
            )),
            Codec::Pgzip => {
                CompressWriter::Pgzip(Stage::new(ParGzip::new(sink, level, threads)?, abandoned))
            }
            Codec::Zstd => {
                let mut enc = zstd::Encoder::new(sink, level.zstd())?;
                // Without the checksum a damaged block can still decode to wrong bytes silently.
                enc.include_checksum(true)?;
                if threads > 1 {
                    enc.multithread(u32::try_from(threads).unwrap_or(u32::MAX))?;
                }
                CompressWriter::Zstd(Stage::new(enc, abandoned))
            }
            Codec::Xz => {
                let stream = Stream::new_easy_encoder(level.xz_preset(), Check::Crc64)?;
                CompressWriter::Xz(Stage::new(XzEncoder::new_stream(sink, stream), abandoned))
            }
        })
    }

    pub fn codec(&self) -> Codec {
        match self {
            CompressWriter::None(_) => Codec::None,
            CompressWriter::Gzip(_) => Codec::Gzip,
            CompressWriter::Pgzip(_) => Codec::Pgzip,
            CompressWriter::Zstd(_) => Codec::Zstd,
            CompressWriter::Xz(_) => Codec::Xz,
            CompressWriter::Zlib(_) => Codec::Zlib,
        }
    }

    /// Uncompressed bytes accepted so far.
    pub fn input_bytes(&self) -> u64 {
        each_stage!(self, s => s.input_bytes)
    }

    /// Ends the stream (trailer, checksums), flushes the inner writer and returns it.
    /// The first error on the way is returned; none is ignored.
    pub fn finish(self) -> io::Result<(W, CompressStats)> {
        let (sink, input_bytes) = match self {
            CompressWriter::None(s) => s.into_parts(),
            CompressWriter::Gzip(s) => s.finish_with(GzEncoder::finish)?,
            CompressWriter::Pgzip(s) => s.finish_with(ParGzip::finish)?,
            CompressWriter::Zstd(s) => s.finish_with(zstd::Encoder::finish)?,
            CompressWriter::Xz(s) => s.finish_with(XzEncoder::finish)?,
            CompressWriter::Zlib(s) => s.finish_with(ZlibEncoder::finish)?,
        };
        let Sink {
            mut inner, written, ..
        } = sink;
        inner.flush()?;
        Ok((
            inner,
            CompressStats {
                input_bytes,
                output_bytes: written,
            },
        ))
    }
}

impl<W: Write + Send + 'static> Write for CompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each_stage!(self, s => s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        each_stage!(self, s => s.flush())
    }
}

/// An encoder plus its input count and the tripwire that marks the stream abandoned.
pub struct Stage<E> {
    // Declared before `enc` so it drops first: the sink must refuse writes before the encoder's
    // own Drop tries to write a trailer.
    tripwire: Tripwire,
    enc: E,
    input_bytes: u64,
}

impl<E> Stage<E> {
    fn new(enc: E, abandoned: Arc<AtomicBool>) -> Self {
        Stage {
            tripwire: Tripwire(Some(abandoned)),
            enc,
            input_bytes: 0,
        }
    }

    fn into_parts(self) -> (E, u64) {
        let Stage {
            tripwire,
            enc,
            input_bytes,
        } = self;
        tripwire.disarm();
        (enc, input_bytes)
    }

    fn finish_with<T>(self, finish: impl FnOnce(E) -> io::Result<T>) -> io::Result<(T, u64)> {
        let (enc, input_bytes) = self.into_parts();
        Ok((finish(enc)?, input_bytes))
    }
}

impl<E: Write> Write for Stage<E> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.enc.write(buf)?;
        self.input_bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.enc.flush()
    }
}

/// Raises the shared "abandoned" flag when dropped, unless `finish` disarmed it first.
struct Tripwire(Option<Arc<AtomicBool>>);

impl Tripwire {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Tripwire {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::Release);
        }
    }
}

/// The inner writer as the encoder sees it: counts output and refuses writes once the stream
/// has been abandoned. Shared through an `Arc` because pgzip writes from its own thread.
pub struct Sink<W> {
    inner: W,
    written: u64,
    abandoned: Arc<AtomicBool>,
}

impl<W> Sink<W> {
    fn check(&self) -> io::Result<()> {
        if self.abandoned.load(Ordering::Acquire) {
            Err(io::Error::other(
                "compressed stream abandoned without finish; trailer withheld",
            ))
        } else {
            Ok(())
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.inner.flush()
    }
}

/// gzp's parallel gzip, made safe to drop and to keep using after an error.
///
/// gzp's `ParCompress` needs `finish()` to surface errors, panics in `Drop` (`finish().unwrap()`)
/// when the inner writer failed, and panics on `write` after a failed `write`. So the live
/// compressor sits in an `Option`: the first error takes it out (gzp has already shut its
/// threads down by then) and is remembered, so later calls report it instead of panicking; and
/// our `Drop` finishes it itself, ignoring the result. gzp's `finish` does return the inner
/// writer, so [`CompressWriter::finish`] gets `W` back for pgzip like for every other codec.
pub struct ParGzip<W: Write + Send + 'static> {
    par: Option<ParCompress<'static, Gzip, Sink<W>>>,
    failed: Option<(io::ErrorKind, String)>,
}

impl<W: Write + Send + 'static> ParGzip<W> {
    fn new(sink: Sink<W>, level: Level, threads: usize) -> io::Result<Self> {
        let par = ParCompressBuilder::<Gzip>::new()
            .num_threads(threads.max(1))
            .and_then(|b| b.buffer_size(PGZIP_BLOCK_SIZE))
            .map_err(gzp_to_io)?
            .compression_level(level.flate2())
            .from_writer(sink);
        Ok(ParGzip {
            par: Some(par),
            failed: None,
        })
    }

    fn live(&mut self) -> io::Result<&mut ParCompress<'static, Gzip, Sink<W>>> {
        match (&mut self.par, &self.failed) {
            (Some(par), _) => Ok(par),
            (None, Some((kind, msg))) => Err(io::Error::new(
                *kind,
                format!("pgzip stream failed earlier: {msg}"),
            )),
            (None, None) => Err(io::Error::other("pgzip stream already finished")),
        }
    }

    /// Records the first error; gzp has already torn its pipeline down when it returns one.
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.par = None;
        self.failed = Some((e.kind(), e.to_string()));
        e
    }

    fn finish(mut self) -> io::Result<Sink<W>> {
        let result = self.live()?.finish().map_err(gzp_to_io);
        // gzp has joined its threads whatever the result; nothing is left for our Drop.
        self.par = None;
        result
    }
}

impl<W: Write + Send + 'static> Write for ParGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.live()?.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.live()?.flush() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }
}

impl<W: Write + Send + 'static> Drop for ParGzip<W> {
    fn drop(&mut self) {
        if let Some(mut par) = self.par.take() {
            // Joins gzp's threads so none outlives the writer. The sink is already refusing
            // writes (tripwire), so this cannot complete the stream. catch_unwind: gzp re-raises
            // a panic of the inner writer's thread, and a second panic while unwinding aborts.
            let _ = catch_unwind(AssertUnwindSafe(|| par.finish()));
        }
    }
}

fn gzp_to_io(e: gzp::GzpError) -> io::Error {
    match e {
        gzp::GzpError::Io(e) => e,
        other => io::Error::other(other),
    }
}

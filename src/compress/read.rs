//! The decompressing reader: streaming, strict about truncation, corruption and trailing bytes.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::{MultiGzDecoder, ZlibDecoder};
use xz2::bufread::XzDecoder;
use xz2::stream::{CONCATENATED, Stream};

use super::{Codec, DETECT_PREFIX_LEN, READ_BUFFER_SIZE, ambiguous_prefix, detect};

/// Memory the xz decoder may use: every preset opens (`xz -9` and `-9e` need 65 MiB, whether
/// written by one thread or many), a hostile header asking for a dictionary of gigabytes does
/// not. The decoder checks it before it allocates.
pub const XZ_MEMORY_LIMIT: u64 = 128 << 20;

/// The largest zstd window (2^27 = 128 MiB) a frame may ask for: zstd's own default limit, set
/// explicitly since a frame's window is memory the decoder fills. Every level opens, `--ultra
/// -22` and `--long` (27) included; `--long=28` and above do not.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// Decompresses a stream written by [`super::CompressWriter`] (or by the standard tools).
///
/// Every compressed variant turns a missing end of stream into an `Err` rather than a short
/// read: flate2 (≥ 1.1.11) reports an incomplete deflate stream as `UnexpectedEof`, gzip and xz
/// check their trailers, and zstd reports an incomplete frame. Checksums (gzip CRC32, zlib
/// Adler-32, xz CRC64, zstd XXH64) are verified, and bytes after the end of the stream are an
/// error too, since they mean two files were glued together or the tail is garbage.
pub enum DecompressReader<R: Read> {
    None(R),
    /// gzip and pgzip. Multi-member aware: gzp writes one member, but concatenated gzip files
    /// (`cat a.gz b.gz`, bgzf/mgzip writers) are valid gzip and `gzip -d` accepts them.
    Gzip(MultiGzDecoder<BufReader<R>>),
    Zstd(zstd::Decoder<'static, BufReader<R>>),
    /// Concatenated xz streams are accepted, as `xz -d` does.
    Xz(XzDecoder<BufReader<R>>),
    Zlib(ZlibDecoder<BufReader<R>>),
}

impl<R: Read> DecompressReader<R> {
    /// A reader decoding `codec` from `inner`. `Codec::Pgzip` reads as gzip.
    pub fn new(codec: Codec, inner: R) -> io::Result<Self> {
        let buffered = |inner| BufReader::with_capacity(READ_BUFFER_SIZE, inner);
        Ok(match codec {
            Codec::None => DecompressReader::None(inner),
            Codec::Gzip | Codec::Pgzip => {
                DecompressReader::Gzip(MultiGzDecoder::new(buffered(inner)))
            }
            // zstd verifies the content checksum whenever the frame carries one (ours always do).
            Codec::Zstd => {
                let mut d = zstd::Decoder::with_buffer(buffered(inner))?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                DecompressReader::Zstd(d)
            }
            Codec::Xz => DecompressReader::Xz(XzDecoder::new_stream(
                buffered(inner),
                Stream::new_stream_decoder(XZ_MEMORY_LIMIT, CONCATENATED)?,
            )),
            Codec::Zlib => DecompressReader::Zlib(ZlibDecoder::new(buffered(inner))),
        })
    }

    /// The codec being decoded (pgzip reports as gzip: the bytes are the same format).
    pub fn codec(&self) -> Codec {
        match self {
            DecompressReader::None(_) => Codec::None,
            DecompressReader::Gzip(_) => Codec::Gzip,
            DecompressReader::Zstd(_) => Codec::Zstd,
            DecompressReader::Xz(_) => Codec::Xz,
            DecompressReader::Zlib(_) => Codec::Zlib,
        }
    }
}

impl<R: Read> Read for DecompressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            DecompressReader::None(r) => r.read(buf),
            DecompressReader::Gzip(d) => d.read(buf),
            DecompressReader::Zstd(d) => d.read(buf).map_err(over_zstd_window),
            DecompressReader::Xz(d) => d.read(buf).map_err(over_xz_limit),
            DecompressReader::Zlib(d) => {
                let n = d.read(buf)?;
                // A zlib stream has no framing beyond its own end, so flate2 stops there and
                // would ignore whatever follows; the other decoders already reject it.
                if n == 0 && !buf.is_empty() && !d.get_mut().fill_buf()?.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "unexpected bytes after the end of the zlib stream",
                    ));
                }
                Ok(n)
            }
        }
    }
}

/// The xz decoder's refusal of a stream over [`XZ_MEMORY_LIMIT`], said with what to do (the
/// caller names the file); other errors as they are.
fn over_xz_limit(e: io::Error) -> io::Error {
    let over = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<xz2::stream::Error>())
        .is_some_and(|x| matches!(x, xz2::stream::Error::MemLimit));
    if !over {
        return e;
    }
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the xz stream needs more than {} MiB of memory to decode (a dictionary larger than \
             any xz preset's: xz -9 needs 65 MiB), so it is refused rather than allowed to \
             exhaust memory; if the file is genuine, recompress it with a standard preset \
             (xz -dc FILE | xz -9 > NEW)",
            XZ_MEMORY_LIMIT >> 20
        ),
    )
}

/// zstd's refusal of a frame whose window is over 2^[`ZSTD_WINDOW_LOG_MAX`], said with what to
/// do; other errors as they are. zstd says only "Frame requires too much memory for decoding".
fn over_zstd_window(e: io::Error) -> io::Error {
    if !e.to_string().contains("requires too much memory") {
        return e;
    }
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the zstd frame asks for a window larger than {} MiB (written with --long=28 or \
             more), so it is refused rather than allowed to exhaust memory; if the file is \
             genuine, recompress it with a smaller window (zstd -dc --long=31 FILE | zstd -19 \
             > NEW)",
            1u64 << (ZSTD_WINDOW_LOG_MAX - 20)
        ),
    )
}

/// Detects the codec from the buffered start of `r` (without consuming it) and returns a reader
/// decoding it.
///
/// Fails rather than guess when the buffer holds only part of a magic number (fewer than
/// [`DETECT_PREFIX_LEN`] bytes that could still become one): that only happens with tiny inputs
/// or a source that delivers a few bytes per read, and misreading a compressed dump as plain SQL
/// would be worse than an error.
pub fn open_detect<R: BufRead>(mut r: R) -> io::Result<DecompressReader<R>> {
    let prefix = r.fill_buf()?;
    if ambiguous_prefix(prefix) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "cannot identify the compression codec from {} byte(s); need up to {DETECT_PREFIX_LEN}",
                prefix.len()
            ),
        ));
    }
    let codec = detect(prefix);
    DecompressReader::new(codec, r)
}

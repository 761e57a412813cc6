//! Compression stage: codec writers with an explicit `finish`, and readers that detect the codec from the bytes.
//!
//! The output chain is SQL → [`CompressWriter`] → encrypt → file. Writing ends with
//! [`CompressWriter::finish`], which writes the codec's trailer and returns the inner writer;
//! a writer dropped without `finish` leaves the stream without its trailer on purpose, so an
//! aborted dump can never be mistaken for a complete one (see [`CompressWriter`]).
//!
//! Reading goes through [`DecompressReader`], which reports truncation and corruption as
//! errors for every codec (a restore must never load half a dump silently).

mod read;
mod write;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::str::FromStr;

pub use read::{DecompressReader, open_detect};
pub use write::{CompressStats, CompressWriter, ParGzip, Sink, Stage};

/// Read-side buffer: 128 KiB is zstd's maximum block size and pgzip's block size, so one
/// refill usually feeds one whole block to the decoder, and it is large enough to amortise syscalls.
pub const READ_BUFFER_SIZE: usize = 128 * 1024;

/// Uncompressed bytes per pgzip block, pigz's default: big enough that the per-block flush
/// marker and lost dictionary context cost well under 1% of ratio, small enough to keep every
/// thread busy on small tables.
pub const PGZIP_BLOCK_SIZE: usize = 128 * 1024;

/// Bytes [`detect`] needs to see: the longest magic number (xz) is six bytes.
pub const DETECT_PREFIX_LEN: usize = 6;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: [u8; 6] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/// Configuration errors: an unknown codec name or an out-of-range level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressError {
    #[error(
        "unknown compression codec {name:?}; valid codecs are: none, gzip, pgzip, zstd, xz, zlib"
    )]
    UnknownCodec { name: String },
    #[error("invalid compression level {given:?}; valid levels are 1 to 9")]
    InvalidLevel { given: String },
}

impl From<CompressError> for io::Error {
    fn from(e: CompressError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// A compression codec of the output chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Plain SQL.
    None,
    /// Single-threaded gzip (flate2).
    Gzip,
    /// Parallel gzip (gzp, pigz-style); the output is an ordinary gzip file.
    Pgzip,
    /// zstd with a content checksum; multi-threaded when `threads > 1`.
    Zstd,
    /// xz with a CRC64 check.
    Xz,
    /// Raw zlib stream (RFC 1950), not gzip.
    Zlib,
}

impl Codec {
    /// Every codec, in the order used by messages and tests.
    pub const ALL: [Codec; 6] = [
        Codec::None,
        Codec::Gzip,
        Codec::Pgzip,
        Codec::Zstd,
        Codec::Xz,
        Codec::Zlib,
    ];

    /// The name accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Pgzip => "pgzip",
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
            Codec::Zlib => "zlib",
        }
    }

    /// File-name suffix, with its dot; pgzip shares `.gz` because its output is plain gzip.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::None => "",
            Codec::Gzip | Codec::Pgzip => ".gz",
            Codec::Zstd => ".zst",
            Codec::Xz => ".xz",
            Codec::Zlib => ".zlib",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = CompressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| CompressError::UnknownCodec { name: s.to_owned() })
    }
}

/// A compression level, 1 (fastest) to 9 (smallest), translated to each codec's own scale.
///
/// - gzip, pgzip, zlib: the same number as the deflate level.
/// - xz: the same number as the xz preset (preset 9 needs ~670 MiB to compress; that is the
///   operator's explicit choice, so it is honoured).
/// - zstd: the same number as the zstd level. zstd's scale runs to 19 (22 with `--ultra`), but
///   1..=9 is its fast band: level 9 still compresses a few tens of MB/s per thread, while
///   stretching 9 onto 19 would make "9" roughly ten times slower for a few percent of ratio and
///   let the compressor, not the server, bound the dump rate. zstd's own default is 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    /// The backup tool's default level.
    pub const DEFAULT: Level = Level(5);
    pub const MIN: Level = Level(1);
    pub const MAX: Level = Level(9);

    /// A level in 1..=9, or an error naming the valid range.
    pub fn new(level: u8) -> Result<Self, CompressError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&level) {
            Ok(Level(level))
        } else {
            Err(CompressError::InvalidLevel {
                given: level.to_string(),
            })
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub(crate) fn flate2(self) -> flate2::Compression {
        flate2::Compression::new(u32::from(self.0))
    }

    pub(crate) fn zstd(self) -> i32 {
        i32::from(self.0)
    }

    pub(crate) fn xz_preset(self) -> u32 {
        u32::from(self.0)
    }
}

impl Default for Level {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u8> for Level {
    type Error = CompressError;

    fn try_from(level: u8) -> Result<Self, Self::Error> {
        Level::new(level)
    }
}

impl FromStr for Level {
    type Err = CompressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || CompressError::InvalidLevel {
            given: s.to_owned(),
        };
        s.trim()
            .parse::<u8>()
            .map_err(|_| invalid())
            .and_then(|n| Level::new(n).map_err(|_| invalid()))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies the codec from the first bytes of a file; anything unrecognised is plain SQL.
///
/// zlib has no magic number, only a two-byte header whose check bits make `(b0 * 256 + b1)`
/// a multiple of 31. We accept only `b0 == 0x78` (deflate, 32 KiB window: every zlib stream
/// we write) with no preset dictionary, which keeps false positives on text rare. A plain dump
/// cannot hit it: our SQL output always starts with `--` or `/*`, never with `x`.
pub fn detect(prefix: &[u8]) -> Codec {
    if prefix.starts_with(&GZIP_MAGIC) {
        Codec::Gzip
    } else if prefix.starts_with(&ZSTD_MAGIC) {
        Codec::Zstd
    } else if prefix.starts_with(&XZ_MAGIC) {
        Codec::Xz
    } else if let [0x78, flg, ..] = *prefix
        && (0x78u16 * 256 + u16::from(flg)).is_multiple_of(31)
        && flg & 0x20 == 0
    {
        Codec::Zlib
    } else {
        Codec::None
    }
}

/// True when `prefix` is a proper prefix of some magic number, so the codec cannot be told yet.
/// An empty prefix is end of input, which is unambiguous (an empty plain file).
fn ambiguous_prefix(prefix: &[u8]) -> bool {
    let short_of = |magic: &[u8]| prefix.len() < magic.len() && magic.starts_with(prefix);
    !prefix.is_empty()
        && (short_of(&GZIP_MAGIC)
            || short_of(&ZSTD_MAGIC)
            || short_of(&XZ_MAGIC)
            || prefix == [0x78])
}

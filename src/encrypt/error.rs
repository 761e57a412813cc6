//! Errors of the encryption stage, and their round trip through `std::io::Error`.

use std::io;

use super::{HEADER_LEN, MAX_CHUNK_LEN, TAG_LEN};

#[derive(thiserror::Error, Debug)]
pub enum EncryptError {
    /// The first chunk (or the one-shot blob) does not authenticate under any known iteration
    /// count. A wrong passphrase and a damaged first chunk look exactly the same to AES-GCM.
    #[error("wrong key or not an sfdbtools file")]
    WrongKey,

    #[error("not an sfdbtools encrypted file: it does not start with \"Salted__\"")]
    NotEncrypted,

    #[error("encrypted file ends at byte {offset} without its end marker: the file is incomplete")]
    Truncated { offset: u64 },

    /// `offset` is where the chunk's length field starts in the file.
    #[error(
        "chunk {index} (at byte {offset}) is damaged: it failed authentication, the file was modified or corrupted"
    )]
    DamagedChunk { index: u64, offset: u64 },

    #[error(
        "unexpected data at byte {offset} after the end marker: the file was appended to or corrupted"
    )]
    TrailingData { offset: u64 },

    #[error(
        "invalid chunk length {length} at byte {offset} (a chunk holds {min} to {max} bytes): the file is corrupted",
        min = TAG_LEN + 1,
        max = MAX_CHUNK_LEN
    )]
    BadChunkLength { length: u32, offset: u64 },

    /// The first frame length is impossible: no chunked writer (ours, any release of the old
    /// tool) writes that, but a one-shot blob's ciphertext starts there. Pre-release builds of
    /// the old tool sealed whole backups as one GCM message; restore and verify stream
    /// chunks and cannot open one without holding it in memory.
    #[error(
        "this is not a chunked container (its first chunk length, {length} at byte {offset}, is \
         impossible): it looks like a backup sealed whole as a single GCM message, as pre-release \
         builds of the old tool wrote them (or its start is corrupted). `sfdbtools crypto \
         decrypt-file` opens such a file up to {limit} MiB, into a plain file to restore or \
         verify",
        offset = HEADER_LEN,
        limit = super::ONESHOT_DETECT_LIMIT >> 20
    )]
    WholeFileMessage { length: u32 },

    /// [`EncryptError::WholeFileMessage`] too large for `decrypt_any` to hold.
    #[error(
        "this is not a chunked container (its first chunk length, {length} at byte {offset}, is \
         impossible): it looks like a backup sealed whole as a single GCM message, as pre-release \
         builds of the old tool wrote them (or its start is corrupted), and it is larger than the \
         {limit} MiB this tool holds in memory to open one. Open it with the tool that wrote it",
        offset = HEADER_LEN,
        limit = super::ONESHOT_DETECT_LIMIT >> 20
    )]
    WholeFileMessageTooLarge { length: u32 },

    #[error(
        "one-shot encrypted data is {length} bytes, shorter than the minimum of {min} (header and tag): it is truncated",
        min = HEADER_LEN + TAG_LEN
    )]
    OneShotTooShort { length: usize },

    #[error("the passphrase is empty (surrounding whitespace is ignored)")]
    EmptyPassphrase,

    #[error("PBKDF2 iteration count must be at least 1")]
    InvalidIterations,

    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),

    /// A previous write failed part-way: the output is missing data, so nothing more may be
    /// appended to it (in particular no end marker that would make it look complete).
    #[error("an earlier write to the encrypted output failed; the output is incomplete")]
    WriterFailed,

    #[error(transparent)]
    Io(io::Error),
}

impl EncryptError {
    /// The `EncryptError` carried inside an `io::Error` produced by [`super::DecryptReader`] or
    /// [`super::EncryptWriter`], if there is one.
    pub fn wrapped_in(err: &io::Error) -> Option<&EncryptError> {
        err.get_ref()?.downcast_ref::<EncryptError>()
    }

    /// A fresh copy, so that a reader that failed can repeat its error on every later call
    /// (`io::Error` is not `Clone`).
    pub(crate) fn duplicate(&self) -> EncryptError {
        use EncryptError::*;
        match self {
            WrongKey => WrongKey,
            NotEncrypted => NotEncrypted,
            Truncated { offset } => Truncated { offset: *offset },
            DamagedChunk { index, offset } => DamagedChunk {
                index: *index,
                offset: *offset,
            },
            TrailingData { offset } => TrailingData { offset: *offset },
            BadChunkLength { length, offset } => BadChunkLength {
                length: *length,
                offset: *offset,
            },
            OneShotTooShort { length } => OneShotTooShort { length: *length },
            WholeFileMessage { length } => WholeFileMessage { length: *length },
            WholeFileMessageTooLarge { length } => WholeFileMessageTooLarge { length: *length },
            EmptyPassphrase => EmptyPassphrase,
            InvalidIterations => InvalidIterations,
            Random(msg) => Random(msg.clone()),
            WriterFailed => WriterFailed,
            Io(e) => Io(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// Unwraps an `EncryptError` that travelled through an `io::Error` (e.g. out of `io::copy` over
/// a `DecryptReader`) instead of nesting it, so `?` keeps the precise variant.
impl From<io::Error> for EncryptError {
    fn from(err: io::Error) -> Self {
        if EncryptError::wrapped_in(&err).is_none() {
            return EncryptError::Io(err);
        }
        let kind = err.kind();
        match err
            .into_inner()
            .map(|inner| inner.downcast::<EncryptError>())
        {
            Some(Ok(inner)) => *inner,
            // Unreachable after the check above; stays an I/O error rather than a panic.
            Some(Err(other)) => EncryptError::Io(io::Error::new(kind, other)),
            None => EncryptError::Io(io::Error::from(kind)),
        }
    }
}

/// Plain I/O errors pass through unchanged; format errors are wrapped so callers can get them
/// back with [`EncryptError::wrapped_in`] or `EncryptError::from`.
impl From<EncryptError> for io::Error {
    fn from(err: EncryptError) -> Self {
        let kind = match &err {
            EncryptError::Io(_) => io::ErrorKind::Other,
            EncryptError::Truncated { .. } | EncryptError::OneShotTooShort { .. } => {
                io::ErrorKind::UnexpectedEof
            }
            EncryptError::EmptyPassphrase | EncryptError::InvalidIterations => {
                io::ErrorKind::InvalidInput
            }
            EncryptError::Random(_) | EncryptError::WriterFailed => io::ErrorKind::Other,
            _ => io::ErrorKind::InvalidData,
        };
        match err {
            EncryptError::Io(inner) => inner,
            other => io::Error::new(kind, other),
        }
    }
}

//! Encryption stage: the sfdbtools `.enc` container (AES-256-GCM, PBKDF2-SHA256), writer and strict reader.
//!
//! The byte layout is fixed by files the old Go tool wrote, which must stay readable and which the
//! Go tool must be able to read:
//!
//! ```text
//! 0   8  "Salted__"
//! 8   8  salt (random)
//! 16 12  base nonce (random)
//! 28 ..  chunks: u32 big-endian L, then L bytes = AES-256-GCM ciphertext || 16-byte tag
//! ..  4  00 00 00 00   end marker
//! ```
//!
//! Chunk `i` holds plaintext bytes `[i * 65536, (i + 1) * 65536)` and is sealed with the nonce
//! `base_nonce[0..4] || u64_be(i)`, so chunks cannot be reordered or dropped from the middle
//! without detection. The format (fixed by the Go tool) has no "last chunk" flag, so a file cut
//! at a chunk boundary *and* given a forged end marker would still read as complete; an honest
//! cut (crash, full disk, interrupted copy) has no end marker and is always reported.
//!
//! The one-shot variant (`Salted__ || salt || nonce || ciphertext || tag`) is for profiles and
//! other small blobs that are handled in memory anyway.

mod any;
mod error;
mod format;
mod kdf;
mod keyed;
mod oneshot;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use any::{
    ContainerFormat, DecryptSummary, ONESHOT_DETECT_LIMIT, decrypt_any,
    decrypt_any_with_iterations, encrypt_stream,
};
pub use error::EncryptError;
pub use format::{HEADER_LEN, MAGIC, MAX_CHUNK_LEN, NONCE_LEN, SALT_LEN, TAG_LEN, sniff};
pub use kdf::Passphrase;
pub use keyed::{CHECKSUM_SALT_LEN, ChecksumKey};
pub use oneshot::{
    open_oneshot, open_oneshot_with_iterations, seal_oneshot, seal_oneshot_with_params,
};
pub use reader::DecryptReader;
pub use writer::{EncryptStats, EncryptWriter};

/// PBKDF2 iteration count of everything this version writes.
pub const WRITE_ITERATIONS: u32 = 600_000;

/// PBKDF2 iteration count of files from old releases. The count is not stored in the file, so
/// readers try [`WRITE_ITERATIONS`] first and fall back to this one.
pub const LEGACY_ITERATIONS: u32 = 100_000;

/// Plaintext bytes per chunk; only the last chunk of a file is shorter.
pub const CHUNK_SIZE: usize = 65536;

/// The iteration counts a reader tries, newest first: the common case costs one KDF run.
pub(crate) const READ_ITERATIONS: [u32; 2] = [WRITE_ITERATIONS, LEGACY_ITERATIONS];

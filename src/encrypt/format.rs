//! Byte layout of the container: header, chunk framing, per-chunk nonces, and the strict frame parser.

use std::io::{self, Read};

use aes_gcm::Nonce;
use aes_gcm::aead::consts::U12;

use super::{CHUNK_SIZE, EncryptError};

/// First bytes of every sfdbtools encrypted file (the OpenSSL `enc` convention the Go tool kept).
pub const MAGIC: &[u8; 8] = b"Salted__";
pub const SALT_LEN: usize = 8;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// Magic + salt + base nonce.
pub const HEADER_LEN: usize = MAGIC.len() + SALT_LEN + NONCE_LEN;
/// Largest legal chunk length field: a full chunk plus its tag.
pub const MAX_CHUNK_LEN: usize = CHUNK_SIZE + TAG_LEN;
/// Smallest legal chunk length field: the writer never emits an empty chunk, so an authentic
/// chunk always has at least one ciphertext byte before its tag.
pub(crate) const MIN_CHUNK_LEN: usize = TAG_LEN + 1;
pub(crate) const LEN_PREFIX: usize = 4;
pub(crate) const END_MARKER: [u8; LEN_PREFIX] = [0; LEN_PREFIX];

/// True when `prefix` starts like an sfdbtools encrypted file (chunked or one-shot).
pub fn sniff(prefix: &[u8]) -> bool {
    prefix.starts_with(MAGIC)
}

#[derive(Clone, Copy)]
pub(crate) struct Header {
    pub salt: [u8; SALT_LEN],
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&self.salt);
        out[16..].copy_from_slice(&self.nonce);
        out
    }

    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, EncryptError> {
        if !sniff(bytes) {
            return Err(EncryptError::NotEncrypted);
        }
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        salt.copy_from_slice(&bytes[8..16]);
        nonce.copy_from_slice(&bytes[16..]);
        Ok(Header { salt, nonce })
    }

    pub fn read<R: Read>(inner: &mut R) -> Result<Header, EncryptError> {
        let mut bytes = [0u8; HEADER_LEN];
        let got = read_full(inner, &mut bytes)?;
        if got < HEADER_LEN {
            // A cut-off header of a real file is "incomplete"; anything else is just not ours.
            return if got > 0 && MAGIC.starts_with(&bytes[..got.min(MAGIC.len())]) {
                Err(EncryptError::Truncated { offset: got as u64 })
            } else {
                Err(EncryptError::NotEncrypted)
            };
        }
        Header::parse(&bytes)
    }
}

/// Nonce of chunk `index`: the last 8 bytes of the base nonce are replaced (not XORed) by the
/// big-endian index, exactly as the Go tool did.
pub(crate) fn chunk_nonce(base: &[u8; NONCE_LEN], index: u64) -> Nonce<U12> {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..4].copy_from_slice(&base[..4]);
    nonce[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::<U12>::from(nonce)
}

pub(crate) enum Frame {
    End,
    /// A chunk of this many bytes (ciphertext + tag) was read into the start of the buffer.
    Chunk(usize),
}

/// Reads one frame (length field, then the chunk or nothing for the end marker) at `offset`.
///
/// `offset` is the file offset of the length field; it is only used for error messages, the
/// caller advances it.
pub(crate) fn read_frame<R: Read>(
    inner: &mut R,
    buf: &mut [u8],
    offset: u64,
) -> Result<Frame, EncryptError> {
    let mut len_bytes = [0u8; LEN_PREFIX];
    let got = read_full(inner, &mut len_bytes)?;
    if got < LEN_PREFIX {
        return Err(EncryptError::Truncated {
            offset: offset + got as u64,
        });
    }
    let length = u32::from_be_bytes(len_bytes);
    if length == 0 {
        return Ok(Frame::End);
    }
    let len = check_chunk_len(length, offset)?;
    let got = read_full(inner, &mut buf[..len])?;
    if got < len {
        return Err(EncryptError::Truncated {
            offset: offset + (LEN_PREFIX + got) as u64,
        });
    }
    Ok(Frame::Chunk(len))
}

pub(crate) fn check_chunk_len(length: u32, offset: u64) -> Result<usize, EncryptError> {
    let len = length as usize;
    if (MIN_CHUNK_LEN..=MAX_CHUNK_LEN).contains(&len) {
        Ok(len)
    } else {
        Err(EncryptError::BadChunkLength { length, offset })
    }
}

/// After the end marker the input must be exhausted: appended bytes mean the file was
/// concatenated or corrupted, and silently ignoring them could hide a second payload.
pub(crate) fn expect_eof<R: Read>(inner: &mut R, offset: u64) -> Result<(), EncryptError> {
    let mut probe = [0u8; 1];
    if read_full(inner, &mut probe)? > 0 {
        return Err(EncryptError::TrailingData { offset });
    }
    Ok(())
}

/// Like `read_exact`, but reports how much was read before EOF instead of failing, so callers
/// can name the exact offset where a file ends.
pub(crate) fn read_full<R: Read>(inner: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match inner.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

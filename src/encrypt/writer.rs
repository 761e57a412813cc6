//! Streaming encryption: `EncryptWriter` cuts plaintext into 64 KiB chunks and seals each one.

use std::io::{self, Write};

use zeroize::Zeroizing;

use super::format::{END_MARKER, HEADER_LEN, Header, LEN_PREFIX, NONCE_LEN, SALT_LEN, TAG_LEN};
use super::kdf::{ChunkCipher, derive_cipher, random_salt_and_nonce, seal_in_place, seal_into};
use super::{CHUNK_SIZE, EncryptError, Passphrase, WRITE_ITERATIONS};

/// What a finished [`EncryptWriter`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncryptStats {
    /// Plaintext bytes accepted.
    pub plaintext_bytes: u64,
    /// Bytes written to the inner writer: header, chunks and end marker (the file size).
    pub written_bytes: u64,
    /// Number of chunks (0 for empty input).
    pub chunks: u64,
}

/// Encrypts everything written to it into the sfdbtools chunked container.
///
/// Call [`EncryptWriter::finish`] to write the last chunk and the end marker. Dropping the writer
/// without `finish` deliberately writes nothing more: the buffered partial chunk is discarded and
/// there is no end marker, so an interrupted dump can never pass for a complete (shorter) one —
/// readers report it as truncated.
pub struct EncryptWriter<W: Write> {
    inner: W,
    cipher: ChunkCipher,
    /// One frame, reused for every chunk: `[length field][plaintext → ciphertext][tag]`, so each
    /// chunk is encrypted in place and goes out with a single `write_all`.
    frame: Zeroizing<Vec<u8>>,
    /// Plaintext bytes waiting in `frame`.
    filled: usize,
    stats: EncryptStats,
    failed: bool,
}

impl<W: Write> EncryptWriter<W> {
    /// Starts a new container with a random salt and nonce and [`WRITE_ITERATIONS`]; writes the
    /// header immediately.
    pub fn new(inner: W, pass: &Passphrase) -> Result<Self, EncryptError> {
        let (salt, nonce) = random_salt_and_nonce()?;
        Self::with_params(inner, pass, salt, nonce, WRITE_ITERATIONS)
    }

    /// Like [`EncryptWriter::new`] with a caller-chosen salt, nonce and iteration count.
    ///
    /// For tests, benchmarks and interoperability checks only: reusing a salt and nonce with the
    /// same passphrase reuses the AES-GCM nonce stream, which breaks confidentiality.
    pub fn with_params(
        mut inner: W,
        pass: &Passphrase,
        salt: [u8; SALT_LEN],
        nonce: [u8; NONCE_LEN],
        iterations: u32,
    ) -> Result<Self, EncryptError> {
        let aead = derive_cipher(pass, &salt, iterations)?;
        inner.write_all(&Header { salt, nonce }.to_bytes())?;
        Ok(EncryptWriter {
            inner,
            cipher: ChunkCipher::new(aead, nonce),
            frame: Zeroizing::new(vec![0u8; LEN_PREFIX + CHUNK_SIZE + TAG_LEN]),
            filled: 0,
            stats: EncryptStats {
                written_bytes: HEADER_LEN as u64,
                ..EncryptStats::default()
            },
            failed: false,
        })
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Counters so far (the partial chunk still in the buffer counts as plaintext, not written).
    pub fn stats(&self) -> EncryptStats {
        self.stats
    }

    /// Seals the buffered chunk, writes the end marker and flushes; returns the inner writer.
    pub fn finish(mut self) -> Result<(W, EncryptStats), EncryptError> {
        if self.failed {
            return Err(EncryptError::WriterFailed);
        }
        if self.filled > 0 {
            self.emit_buffered()?;
        }
        self.inner.write_all(&END_MARKER)?;
        self.stats.written_bytes += END_MARKER.len() as u64;
        self.inner.flush()?;
        Ok((self.inner, self.stats))
    }

    /// Seals `frame[LEN_PREFIX..LEN_PREFIX + filled]` in place and writes the frame.
    fn emit_buffered(&mut self) -> Result<(), EncryptError> {
        let len = self.filled;
        let nonce = self.cipher.nonce(self.stats.chunks);
        let tag = seal_in_place(
            &self.cipher.aead,
            &nonce,
            &mut self.frame[LEN_PREFIX..LEN_PREFIX + len],
        )?;
        self.write_frame(len, tag)
    }

    /// Seals a whole chunk straight from the caller's buffer into the frame.
    fn emit_direct(&mut self, plain: &[u8]) -> Result<(), EncryptError> {
        let len = plain.len();
        let nonce = self.cipher.nonce(self.stats.chunks);
        let tag = seal_into(
            &self.cipher.aead,
            &nonce,
            plain,
            &mut self.frame[LEN_PREFIX..LEN_PREFIX + len],
        )?;
        self.write_frame(len, tag)
    }

    /// Completes the frame whose ciphertext (`len` bytes) is in place and writes it out.
    fn write_frame(&mut self, len: usize, tag: [u8; TAG_LEN]) -> Result<(), EncryptError> {
        let frame_len = LEN_PREFIX + len + TAG_LEN;
        let sealed_len = u32::try_from(len + TAG_LEN).expect("a chunk fits in u32");
        self.frame[..LEN_PREFIX].copy_from_slice(&sealed_len.to_be_bytes());
        self.frame[LEN_PREFIX + len..frame_len].copy_from_slice(&tag);
        // Marked failed first: if the write errors half-way, the output is unusable and later
        // calls must not append to it.
        self.failed = true;
        self.inner.write_all(&self.frame[..frame_len])?;
        self.failed = false;
        self.filled = 0;
        self.stats.chunks += 1;
        self.stats.written_bytes += frame_len as u64;
        Ok(())
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(EncryptError::WriterFailed.into());
        }
        if data.is_empty() {
            return Ok(0);
        }
        // A chunk is sealed as soon as it is full (not on the next write), so `finish` after an
        // exact multiple of CHUNK_SIZE has nothing left and never emits an empty chunk.
        let taken = if self.filled == 0 && data.len() >= CHUNK_SIZE {
            self.emit_direct(&data[..CHUNK_SIZE])?;
            CHUNK_SIZE
        } else {
            let taken = data.len().min(CHUNK_SIZE - self.filled);
            let start = LEN_PREFIX + self.filled;
            self.frame[start..start + taken].copy_from_slice(&data[..taken]);
            self.filled += taken;
            if self.filled == CHUNK_SIZE {
                self.emit_buffered()?;
            }
            taken
        };
        self.stats.plaintext_bytes += taken as u64;
        Ok(taken)
    }

    /// Flushes the inner writer only. The partial chunk stays buffered: emitting it now would put
    /// a short chunk in the middle of the file, which the Go tool never wrote.
    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(EncryptError::WriterFailed.into());
        }
        self.inner.flush()
    }
}

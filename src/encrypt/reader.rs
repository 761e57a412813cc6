//! Streaming decryption: `DecryptReader` checks every chunk and the file's end before handing data out.

use std::io::{self, BufRead, Read};

use zeroize::Zeroizing;

use super::format::{
    Frame, HEADER_LEN, Header, LEN_PREFIX, MAX_CHUNK_LEN, TAG_LEN, expect_eof, read_frame,
};
use super::kdf::{ChunkCipher, derive_cipher, open_in_place, open_into};
use super::{EncryptError, Passphrase, READ_ITERATIONS};

enum State {
    Chunks,
    /// The end marker was read and nothing follows it.
    Done,
    /// Every later call repeats this error, so a caller that retries cannot mistake a damaged
    /// file for a shorter complete one.
    Failed(EncryptError),
}

/// Decrypts an sfdbtools chunked container while reading it, one chunk (64 KiB) in memory.
///
/// Plaintext of a chunk is returned only after that chunk authenticated. Errors surface as
/// `io::Error`s wrapping an [`EncryptError`] (see [`EncryptError::wrapped_in`]) at the read that
/// meets them, including the final read when the end marker is missing or data follows it.
/// Because chunks are released as they verify, a consumer may already have processed the
/// chunks before a damaged one: treat the whole output as invalid when an error occurs.
pub struct DecryptReader<R: Read> {
    inner: R,
    /// `None` only for an empty file (header + end marker), which needs no key.
    cipher: Option<ChunkCipher>,
    iterations: Option<u32>,
    /// Holds one chunk: ciphertext || tag as read, then the plaintext in `pos..end` after opening.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    end: usize,
    next_index: u64,
    /// File offset of the next unread byte.
    offset: u64,
    state: State,
}

impl<R: Read> DecryptReader<R> {
    /// Reads the header and the first chunk, trying [`super::WRITE_ITERATIONS`] and then
    /// [`super::LEGACY_ITERATIONS`] (the file does not record which one it used).
    pub fn new(inner: R, pass: &Passphrase) -> Result<Self, EncryptError> {
        Self::with_iterations(inner, pass, &READ_ITERATIONS)
    }

    /// Like [`DecryptReader::new`] with an explicit list of iteration counts to try, in order.
    /// For tests and benchmarks.
    pub fn with_iterations(
        mut inner: R,
        pass: &Passphrase,
        candidates: &[u32],
    ) -> Result<Self, EncryptError> {
        let header = Header::read(&mut inner)?;
        let mut buf = Zeroizing::new(vec![0u8; MAX_CHUNK_LEN]);
        let offset = HEADER_LEN as u64;
        let first = read_frame(&mut inner, &mut buf, offset).map_err(|e| match e {
            // Not the first length of any chunked writer: the start of a one-shot blob.
            EncryptError::BadChunkLength { length, .. } => {
                EncryptError::WholeFileMessage { length }
            }
            e => e,
        })?;
        match first {
            Frame::End => {
                let after = offset + LEN_PREFIX as u64;
                expect_eof(&mut inner, after)?;
                Ok(DecryptReader {
                    inner,
                    cipher: None,
                    iterations: None,
                    buf,
                    pos: 0,
                    end: 0,
                    next_index: 0,
                    offset: after,
                    state: State::Done,
                })
            }
            Frame::Chunk(len) => {
                // Opened out of place so the ciphertext survives a failed attempt for the next
                // iteration count.
                let sealed = buf[..len].to_vec();
                let variants = pass.variants();
                for (pass, &iterations) in variants
                    .iter()
                    .flat_map(|p| candidates.iter().map(move |i| (p, i)))
                {
                    let cipher = ChunkCipher::new(
                        derive_cipher(pass, &header.salt, iterations)?,
                        header.nonce,
                    );
                    if open_into(&cipher.aead, &cipher.nonce(0), &sealed, &mut buf) {
                        return Ok(DecryptReader {
                            inner,
                            cipher: Some(cipher),
                            iterations: Some(iterations),
                            buf,
                            pos: 0,
                            end: len - TAG_LEN,
                            next_index: 1,
                            offset: offset + (LEN_PREFIX + len) as u64,
                            state: State::Chunks,
                        });
                    }
                }
                Err(EncryptError::WrongKey)
            }
        }
    }

    /// Continues a stream whose header was already consumed and whose key is known; `inner`
    /// starts at the first chunk's length field.
    pub(crate) fn resume(inner: R, cipher: ChunkCipher, iterations: u32) -> Self {
        DecryptReader {
            inner,
            cipher: Some(cipher),
            iterations: Some(iterations),
            buf: Zeroizing::new(vec![0u8; MAX_CHUNK_LEN]),
            pos: 0,
            end: 0,
            next_index: 0,
            offset: HEADER_LEN as u64,
            state: State::Chunks,
        }
    }

    /// The PBKDF2 iteration count that opened the file; `None` for an empty file, which has no
    /// chunk to tell.
    pub fn iterations(&self) -> Option<u32> {
        self.iterations
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads and opens the next chunk into `buf`, or records the end of the stream.
    fn next_chunk(&mut self) -> Result<(), EncryptError> {
        let frame_offset = self.offset;
        match read_frame(&mut self.inner, &mut self.buf, frame_offset)? {
            Frame::End => {
                self.offset += LEN_PREFIX as u64;
                expect_eof(&mut self.inner, self.offset)?;
                self.state = State::Done;
            }
            Frame::Chunk(len) => {
                let index = self.next_index;
                let cipher = self
                    .cipher
                    .as_ref()
                    .expect("a stream with chunks has a cipher");
                if !open_in_place(&cipher.aead, &cipher.nonce(index), &mut self.buf[..len]) {
                    return Err(EncryptError::DamagedChunk {
                        index,
                        offset: frame_offset,
                    });
                }
                self.offset += (LEN_PREFIX + len) as u64;
                self.next_index += 1;
                self.pos = 0;
                self.end = len - TAG_LEN;
            }
        }
        Ok(())
    }
}

impl<R: Read> BufRead for DecryptReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.end {
            match &self.state {
                State::Done => break,
                State::Failed(err) => return Err(err.duplicate().into()),
                State::Chunks => {
                    if let Err(err) = self.next_chunk() {
                        self.state = State::Failed(err.duplicate());
                        return Err(err.into());
                    }
                }
            }
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.end);
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

//! Whole-stream helpers for the `crypto` commands: encrypt a stream, and decrypt either variant by content.

use std::io::{self, BufRead, Cursor, Read, Write};

use zeroize::Zeroizing;

use super::format::{
    HEADER_LEN, Header, LEN_PREFIX, MAX_CHUNK_LEN, TAG_LEN, check_chunk_len, read_full,
};
use super::kdf::{ChunkCipher, derive_cipher, open_into};
use super::oneshot::open_with;
use super::{
    DecryptReader, EncryptError, EncryptStats, EncryptWriter, Passphrase, READ_ITERATIONS,
};

/// Largest input [`decrypt_any`] will buffer to try it as a one-shot blob. One-shot blobs are
/// profiles and similar small files; without a cap, a large damaged chunked file would be read
/// into memory whole before being rejected.
pub const ONESHOT_DETECT_LIMIT: usize = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerFormat {
    Chunked,
    OneShot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptSummary {
    pub format: ContainerFormat,
    /// `None` for an empty chunked file, which has no chunk to open and so needs no key.
    pub iterations: Option<u32>,
    pub plaintext_bytes: u64,
}

/// Encrypts all of `input` into a new chunked container on `output`.
pub fn encrypt_stream<R: Read, W: Write>(
    mut input: R,
    output: W,
    pass: &Passphrase,
) -> Result<(W, EncryptStats), EncryptError> {
    let mut writer = EncryptWriter::new(output, pass)?;
    io::copy(&mut input, &mut writer)?;
    writer.finish()
}

/// Decrypts a chunked container or a one-shot blob, recognised by content, into `output`.
///
/// A chunked file is streamed; if it turns out damaged part-way, the plaintext before the
/// damaged chunk has already been written, so write to a temporary file and keep it only when
/// this returns `Ok`.
pub fn decrypt_any<R: Read, W: Write>(
    input: R,
    output: W,
    pass: &Passphrase,
) -> Result<DecryptSummary, EncryptError> {
    decrypt_any_with_iterations(input, output, pass, &READ_ITERATIONS)
}

/// What the bytes after the header say if they are read as a chunked stream.
enum ChunkedView {
    /// Just the end marker: an empty file.
    Empty,
    /// A plausible first chunk of this length is entirely in the probe.
    FirstChunk(usize),
    /// The error a chunked reader would report.
    Broken(EncryptError),
}

fn chunked_view(body: &[u8]) -> ChunkedView {
    let offset = HEADER_LEN as u64;
    let Some(len_bytes) = body.first_chunk::<LEN_PREFIX>() else {
        return ChunkedView::Broken(EncryptError::Truncated {
            offset: offset + body.len() as u64,
        });
    };
    let length = u32::from_be_bytes(*len_bytes);
    if length == 0 {
        return if body.len() == LEN_PREFIX {
            ChunkedView::Empty
        } else {
            ChunkedView::Broken(EncryptError::TrailingData {
                offset: offset + LEN_PREFIX as u64,
            })
        };
    }
    match check_chunk_len(length, offset) {
        Err(err) => ChunkedView::Broken(err),
        Ok(len) if body.len() < LEN_PREFIX + len => ChunkedView::Broken(EncryptError::Truncated {
            offset: offset + body.len() as u64,
        }),
        Ok(len) => ChunkedView::FirstChunk(len),
    }
}

/// Like [`decrypt_any`] with an explicit list of iteration counts to try, in order.
///
/// Each candidate key is derived once and tried on both readings of the data, so detection
/// costs no more KDF runs than opening a file of known format.
pub fn decrypt_any_with_iterations<R: Read, W: Write>(
    mut input: R,
    mut output: W,
    pass: &Passphrase,
    candidates: &[u32],
) -> Result<DecryptSummary, EncryptError> {
    let header = Header::read(&mut input)?;
    // The first frame whole plus the length field after it: enough to decide the format of
    // anything larger without buffering it.
    let probe_len = LEN_PREFIX + MAX_CHUNK_LEN + LEN_PREFIX;
    let mut body = vec![0u8; probe_len];
    let got = read_full(&mut input, &mut body)?;
    body.truncate(got);
    let complete = got < probe_len;

    let view = chunked_view(&body);
    if let ChunkedView::Empty = view {
        output.flush()?;
        return Ok(DecryptSummary {
            format: ContainerFormat::Chunked,
            iterations: None,
            plaintext_bytes: 0,
        });
    }

    let mut keys = Vec::with_capacity(candidates.len());
    let variants = pass.variants();
    for (pass, &iterations) in variants
        .iter()
        .flat_map(|p| candidates.iter().map(move |i| (p, i)))
    {
        let cipher = ChunkCipher::new(derive_cipher(pass, &header.salt, iterations)?, header.nonce);
        if let ChunkedView::FirstChunk(len) = view {
            let mut scratch = Zeroizing::new(vec![0u8; len - TAG_LEN]);
            let first = &body[LEN_PREFIX..LEN_PREFIX + len];
            if open_into(&cipher.aead, &cipher.nonce(0), first, &mut scratch) {
                let reader =
                    DecryptReader::resume(Cursor::new(body).chain(input), cipher, iterations);
                return stream_out(reader, output, iterations);
            }
        }
        if complete && let Some(plain) = open_with(&cipher.aead, &header.nonce, &body) {
            return write_oneshot(&plain, output, iterations);
        }
        keys.push((iterations, cipher));
    }

    if !complete {
        // Two plausible frame lengths in a row do not prove a chunked file: about 2 in 10^10
        // one-shot blobs between 64 KiB and 1 MiB (the Go tool's `crypto encrypt-file` writes
        // one-shot below 1 MiB) start that way by chance. The one-shot reading is tried with the
        // keys already derived (no KDF run; a chunked file is over the limit after at most 1 MiB
        // more read, or fails the tag), so such a file opens instead of reading as a wrong key.
        let body_limit = ONESHOT_DETECT_LIMIT - HEADER_LEN;
        (&mut input)
            .take((body_limit - body.len()) as u64 + 1)
            .read_to_end(&mut body)?;
        if body.len() > body_limit {
            return Err(match view {
                ChunkedView::Broken(EncryptError::BadChunkLength { length, offset })
                    if offset == HEADER_LEN as u64 =>
                {
                    EncryptError::WholeFileMessageTooLarge { length }
                }
                ChunkedView::Broken(err) => err,
                _ => EncryptError::WrongKey,
            });
        }
        for (iterations, cipher) in &keys {
            if let Some(plain) = open_with(&cipher.aead, &header.nonce, &body) {
                return write_oneshot(&plain, output, *iterations);
            }
        }
    }

    Err(match view {
        // Data that could have been a one-shot blob but did not open: a wrong key is by far
        // the likeliest reason, not a corrupt chunk length.
        ChunkedView::Broken(EncryptError::BadChunkLength { .. }) if body.len() >= TAG_LEN => {
            EncryptError::WrongKey
        }
        ChunkedView::Broken(err) => err,
        _ => EncryptError::WrongKey,
    })
}

fn stream_out<R: Read, W: Write>(
    mut reader: DecryptReader<R>,
    mut output: W,
    iterations: u32,
) -> Result<DecryptSummary, EncryptError> {
    let mut total = 0u64;
    loop {
        let n = {
            let plain = reader.fill_buf()?;
            if plain.is_empty() {
                break;
            }
            output.write_all(plain)?;
            plain.len()
        };
        reader.consume(n);
        total += n as u64;
    }
    output.flush()?;
    Ok(DecryptSummary {
        format: ContainerFormat::Chunked,
        iterations: Some(iterations),
        plaintext_bytes: total,
    })
}

fn write_oneshot<W: Write>(
    plain: &[u8],
    mut output: W,
    iterations: u32,
) -> Result<DecryptSummary, EncryptError> {
    output.write_all(plain)?;
    output.flush()?;
    Ok(DecryptSummary {
        format: ContainerFormat::OneShot,
        iterations: Some(iterations),
        plaintext_bytes: plain.len() as u64,
    })
}

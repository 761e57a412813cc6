//! Unit tests of the container: byte layout, round trips, strict reading, legacy iteration counts.
//!
//! PBKDF2 at 600 000 iterations costs seconds in a debug build, so tests whose subject is not the
//! iteration count use `with_params`/`with_iterations` with a tiny count; the real counts are
//! exercised by a handful of tests only.

use std::io::{self, BufRead, Cursor, Read, Write};

use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};

use super::format::chunk_nonce;
use super::kdf::random_salt_and_nonce;
use super::*;

const FAST: u32 = 3;
const SALT: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
const NONCE: [u8; 12] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
];
const FRAME: usize = 4 + MAX_CHUNK_LEN;

fn pass(s: &str) -> Passphrase {
    Passphrase::from(s)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

fn seal_fast(plain: &[u8], key: &str) -> Vec<u8> {
    let mut w = EncryptWriter::with_params(Vec::new(), &pass(key), SALT, NONCE, FAST).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap().0
}

fn open_fast(data: &[u8], key: &str) -> Result<Vec<u8>, EncryptError> {
    let mut r = DecryptReader::with_iterations(Cursor::new(data), &pass(key), &[FAST])?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

fn expected_file_len(plain_len: usize) -> usize {
    let full = plain_len / CHUNK_SIZE;
    let rest = plain_len % CHUNK_SIZE;
    let last = if rest > 0 { 4 + rest + TAG_LEN } else { 0 };
    HEADER_LEN + full * (4 + CHUNK_SIZE + TAG_LEN) + last + 4
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// Produced by tests/interop/sfdb_container.py (the independent Python implementation):
/// "hello", passphrase "correct horse", 1000 iterations, salt 00..07, nonce a0..ab.
const KAT_CHUNKED: &str = "53616c7465645f5f0001020304050607a0a1a2a3a4a5a6a7a8a9aaab\
                           00000015f8870d396e2585944ae1325ac262b5b701aba78c4c00000000";
const KAT_ONESHOT: &str = "53616c7465645f5f0001020304050607a0a1a2a3a4a5a6a7a8a9aaab\
                           c41f8d162f2c710395062d8be1d0866a587536926d";

#[test]
fn round_trip_sizes_and_exact_stats() {
    for len in [0, 1, 65535, 65536, 65537, 3 * 65536 + 5] {
        let plain = payload(len);
        let mut w = EncryptWriter::with_params(Vec::new(), &pass("k"), SALT, NONCE, FAST).unwrap();
        w.write_all(&plain).unwrap();
        let (file, stats) = w.finish().unwrap();

        // Small uneven writes take the buffered path; the bytes must not depend on it.
        let mut w = EncryptWriter::with_params(Vec::new(), &pass("k"), SALT, NONCE, FAST).unwrap();
        for piece in plain.chunks(1000) {
            w.write_all(piece).unwrap();
        }
        let (file_pieces, stats_pieces) = w.finish().unwrap();
        assert_eq!(file, file_pieces, "len {len}");
        assert_eq!(stats, stats_pieces);

        assert_eq!(file.len(), expected_file_len(len), "len {len}");
        assert_eq!(
            stats,
            EncryptStats {
                plaintext_bytes: len as u64,
                written_bytes: file.len() as u64,
                chunks: len.div_ceil(CHUNK_SIZE) as u64,
            }
        );
        assert_eq!(open_fast(&file, "k").unwrap(), plain, "len {len}");
    }
}

#[test]
fn small_reads_see_every_byte() {
    let plain = payload(2 * 65536 + 77);
    let file = seal_fast(&plain, "k");
    let mut r = DecryptReader::with_iterations(Cursor::new(&file), &pass("k"), &[FAST]).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, plain);
    assert_eq!(r.iterations(), Some(FAST));
}

#[test]
fn layout_matches_independent_implementation() {
    let mut w =
        EncryptWriter::with_params(Vec::new(), &pass("correct horse"), SALT, NONCE, 1000).unwrap();
    w.write_all(b"hello").unwrap();
    let (file, stats) = w.finish().unwrap();
    assert_eq!(file, hex(KAT_CHUNKED));
    assert_eq!(stats.written_bytes, 57);
    let sealed =
        seal_oneshot_with_params(b"hello", &pass("correct horse"), SALT, NONCE, 1000).unwrap();
    assert_eq!(sealed, hex(KAT_ONESHOT));
}

#[test]
fn layout_of_a_two_chunk_file() {
    let plain = payload(65537);
    let file = seal_fast(&plain, "k");
    assert_eq!(&file[..8], b"Salted__");
    assert_eq!(&file[8..16], &SALT);
    assert_eq!(&file[16..28], &NONCE);
    assert_eq!(&file[28..32], &[0x00, 0x01, 0x00, 0x10]); // 65536 + 16
    let second = 28 + FRAME;
    assert_eq!(&file[second..second + 4], &[0, 0, 0, 17]); // 1 + 16
    assert_eq!(&file[file.len() - 4..], &[0, 0, 0, 0]);
    assert_eq!(file.len(), 28 + (4 + 65536 + 16) + (4 + 1 + 16) + 4);
}

#[test]
fn chunk_nonce_replaces_the_last_eight_bytes() {
    let base = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    assert_eq!(
        chunk_nonce(&base, 1).as_slice(),
        &[1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        chunk_nonce(&base, 0x0102_0304_0506_0708).as_slice(),
        &[1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]
    );

    // Chunk 1 of a real file opens with AES-GCM directly under that nonce.
    let plain = payload(65536 + 300);
    let file = seal_fast(&plain, "k");
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"k", &SALT, FAST, &mut key);
    let aead = Aes256Gcm::new((&key).into());
    let start = 28 + FRAME + 4;
    let mut chunk = file[start..start + 300].to_vec();
    let tag = Tag::try_from(&file[start + 300..start + 316]).unwrap();
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&NONCE[..4]);
    nonce[11] = 1;
    aead.decrypt_inout_detached(&Nonce::from(nonce), b"", chunk.as_mut_slice().into(), &tag)
        .unwrap();
    assert_eq!(chunk, plain[65536..]);
}

#[test]
fn wrong_key_is_reported_as_such() {
    let file = seal_fast(&payload(100), "right");
    let err = open_fast(&file, "wrong").unwrap_err();
    assert!(matches!(err, EncryptError::WrongKey), "{err:?}");
    assert_eq!(err.to_string(), "wrong key or not an sfdbtools file");

    let blob = seal_oneshot_with_params(b"x", &pass("right"), SALT, NONCE, FAST).unwrap();
    let err = open_oneshot_with_iterations(&blob, &pass("wrong"), &[FAST]).unwrap_err();
    assert!(matches!(err, EncryptError::WrongKey), "{err:?}");
}

#[test]
fn damaged_chunk_is_named_with_index_and_offset() {
    let plain = payload(3 * 65536 + 5);
    let mut file = seal_fast(&plain, "k");
    let chunk2 = 28 + 2 * FRAME;
    file[chunk2 + 4 + 1000] ^= 0x01;

    let mut r = DecryptReader::with_iterations(Cursor::new(&file), &pass("k"), &[FAST]).unwrap();
    let mut out = Vec::new();
    let err = r.read_to_end(&mut out).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        matches!(
            EncryptError::wrapped_in(&err),
            Some(EncryptError::DamagedChunk { index: 2, offset }) if *offset == chunk2 as u64
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("chunk 2 (at byte 131140)"),
        "{err}"
    );
    // Chunks before the damage were authentic and delivered; nothing of chunk 2 was.
    assert_eq!(out, plain[..2 * 65536]);
    // A retry does not carry on past the damage.
    let again = r.read(&mut [0u8; 16]).unwrap_err();
    assert!(matches!(
        EncryptError::from(again),
        EncryptError::DamagedChunk { index: 2, .. }
    ));
}

#[test]
fn damaged_tag_or_length_field_is_caught() {
    let plain = payload(2 * 65536);
    let file = seal_fast(&plain, "k");

    let mut tag_flip = file.clone();
    tag_flip[28 + 2 * FRAME - 1] ^= 0x80; // last tag byte of chunk 1
    assert!(matches!(
        open_fast(&tag_flip, "k").unwrap_err(),
        EncryptError::DamagedChunk {
            index: 1,
            offset: 65584
        }
    ));

    for length in [65553u32, 16, 1, u32::MAX] {
        let mut bad = file.clone();
        bad[28 + FRAME..28 + FRAME + 4].copy_from_slice(&length.to_be_bytes());
        let err = open_fast(&bad, "k").unwrap_err();
        assert!(
            matches!(err, EncryptError::BadChunkLength { length: l, offset: 65584 } if l == length),
            "{err:?}"
        );
        assert!(err.to_string().contains("at byte 65584"), "{err}");
    }

    // A bad first length is found before any key is derived; no chunked writer makes one,
    // so it is named as what it most likely is (the start of a one-shot blob).
    let mut bad = file.clone();
    bad[28..32].copy_from_slice(&5u32.to_be_bytes());
    assert!(matches!(
        DecryptReader::with_iterations(Cursor::new(&bad), &pass("k"), &[FAST]),
        Err(EncryptError::WholeFileMessage { length: 5 })
    ));
}

/// A whole backup sealed as one GCM message (pre-release builds of the old tool): the
/// streaming reader says what it is and what opens it; `decrypt_any` opens it.
#[test]
fn a_backup_sealed_as_one_message_is_named_and_decrypt_any_opens_it() {
    let plain = payload(3 << 20);
    let blob = seal_oneshot_with_params(&plain, &pass("k"), [1; 8], [2; 12], FAST).unwrap();
    let err = DecryptReader::with_iterations(Cursor::new(&blob), &pass("k"), &[FAST])
        .err()
        .unwrap();
    assert!(
        matches!(err, EncryptError::WholeFileMessage { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    for part in [
        "single GCM message",
        "pre-release",
        "crypto decrypt-file",
        "256 MiB",
    ] {
        assert!(text.contains(part), "no {part:?} in {text}");
    }
    let mut out = Vec::new();
    let summary =
        decrypt_any_with_iterations(Cursor::new(&blob), &mut out, &pass("k"), &[FAST]).unwrap();
    assert_eq!(summary.format, ContainerFormat::OneShot);
    assert_eq!(out, plain);
}

#[test]
fn truncation_anywhere_is_an_error() {
    let plain = payload(2 * 65536 + 10);
    let file = seal_fast(&plain, "k");
    let cuts = [
        28 + FRAME,          // chunk boundary after chunk 0
        28 + 2 * FRAME,      // chunk boundary after chunk 1
        file.len() - 4,      // everything but the end marker
        file.len() - 2,      // half of the end marker
        28 + FRAME + 2,      // inside the second length field
        28 + FRAME + 4 + 99, // inside chunk 1
        28 + 4 + 10,         // inside chunk 0
        28,                  // header only
        20,                  // inside the header
    ];
    for cut in cuts {
        let err = open_fast(&file[..cut], "k").unwrap_err();
        assert!(
            matches!(err, EncryptError::Truncated { offset } if offset == cut as u64),
            "cut {cut}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "encrypted file ends at byte {cut} without its end marker: the file is incomplete"
            )
        );
    }
    // Through `Read`, the error is an UnexpectedEof carrying the same variant.
    let mut r =
        DecryptReader::with_iterations(Cursor::new(&file[..28 + FRAME]), &pass("k"), &[FAST])
            .unwrap();
    let err = r.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn bytes_after_the_end_marker_are_an_error() {
    let file = seal_fast(&payload(70_000), "k");
    let mut extended = file.clone();
    extended.extend_from_slice(b"garbage");
    let err = open_fast(&extended, "k").unwrap_err();
    assert!(
        matches!(err, EncryptError::TrailingData { offset } if offset == file.len() as u64),
        "{err:?}"
    );

    let empty = seal_fast(b"", "k");
    let mut extended = empty.clone();
    extended.push(0);
    assert!(matches!(
        open_fast(&extended, "k").unwrap_err(),
        EncryptError::TrailingData { offset: 32 }
    ));
}

#[test]
fn empty_input_is_header_and_end_marker_and_needs_no_key() {
    let file = seal_fast(b"", "k");
    assert_eq!(file.len(), 32);
    assert_eq!(&file[28..], &[0, 0, 0, 0]);
    // No chunk means no tag to check a key against: any passphrase reads it, without a KDF run.
    let r = DecryptReader::new(Cursor::new(&file), &pass("anything")).unwrap();
    assert_eq!(r.iterations(), None);
    assert_eq!(open_fast(&file, "other").unwrap(), b"");
}

#[test]
fn not_an_encrypted_file() {
    for data in [&b""[..], b"hello world, this is plain text!", b"PK\x03\x04"] {
        assert!(matches!(
            open_fast(data, "k").unwrap_err(),
            EncryptError::NotEncrypted
        ));
    }
    assert!(matches!(
        open_oneshot_with_iterations(
            b"plain text that is long enough to try",
            &pass("k"),
            &[FAST]
        ),
        Err(EncryptError::NotEncrypted)
    ));
    assert!(matches!(
        open_oneshot_with_iterations(&hex(KAT_ONESHOT)[..40], &pass("k"), &[FAST]),
        Err(EncryptError::OneShotTooShort { length: 40 })
    ));
}

#[test]
fn drop_without_finish_leaves_a_detectably_incomplete_file() {
    let mut out = Vec::new();
    {
        let mut w = EncryptWriter::with_params(&mut out, &pass("k"), SALT, NONCE, FAST).unwrap();
        w.write_all(&payload(65536 + 500)).unwrap();
    }
    // Header and the one full chunk; neither the partial chunk nor an end marker.
    assert_eq!(out.len(), 28 + FRAME);
    assert!(matches!(
        open_fast(&out, "k").unwrap_err(),
        EncryptError::Truncated { offset } if offset == out.len() as u64
    ));
}

#[test]
fn a_failed_inner_write_poisons_the_writer() {
    struct FailAfter(usize);
    impl Write for FailAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::other("disk full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut w = EncryptWriter::with_params(FailAfter(100), &pass("k"), SALT, NONCE, FAST).unwrap();
    let err = w.write_all(&payload(65536)).unwrap_err();
    assert_eq!(err.to_string(), "disk full");
    assert!(matches!(
        EncryptError::from(w.write(b"x").unwrap_err()),
        EncryptError::WriterFailed
    ));
    assert!(matches!(w.finish(), Err(EncryptError::WriterFailed)));
}

#[test]
fn passphrase_whitespace_is_trimmed_and_never_printed() {
    let file = seal_fast(&payload(10), "  key \n");
    assert_eq!(open_fast(&file, "key").unwrap(), payload(10));
    assert_eq!(open_fast(&file, "\tkey\r\n").unwrap(), payload(10));
    assert!(matches!(
        open_fast(&file, "ke y").unwrap_err(),
        EncryptError::WrongKey
    ));

    let p = pass("hunter2");
    assert_eq!(format!("{p:?}"), "Passphrase(<redacted>)");
    assert!(matches!(
        EncryptWriter::with_params(Vec::new(), &pass(" \n"), SALT, NONCE, FAST),
        Err(EncryptError::EmptyPassphrase)
    ));
    assert!(matches!(
        seal_oneshot_with_params(b"x", &pass("k"), SALT, NONCE, 0),
        Err(EncryptError::InvalidIterations)
    ));
}

#[test]
fn oneshot_round_trip() {
    for len in [0, 1, 1000, 200_000] {
        let plain = payload(len);
        let blob = seal_oneshot_with_params(&plain, &pass("k"), SALT, NONCE, FAST).unwrap();
        assert_eq!(blob.len(), 28 + len + 16);
        assert_eq!(&blob[..8], b"Salted__");
        let opened = open_oneshot_with_iterations(&blob, &pass("k"), &[FAST]).unwrap();
        assert_eq!(*opened, plain);
    }
    let mut blob = seal_oneshot_with_params(b"profile", &pass("k"), SALT, NONCE, FAST).unwrap();
    blob[30] ^= 1;
    assert!(matches!(
        open_oneshot_with_iterations(&blob, &pass("k"), &[FAST]),
        Err(EncryptError::WrongKey)
    ));
}

#[test]
fn iteration_candidates_are_tried_in_order() {
    let file = seal_fast(&payload(100), "k");
    let r =
        DecryptReader::with_iterations(Cursor::new(&file), &pass("k"), &[FAST + 1, FAST]).unwrap();
    assert_eq!(r.iterations(), Some(FAST));
}

/// The real counts: a new file is written with 600 000 iterations and read back by `new`.
#[test]
fn real_count_chunked_written_and_read() {
    let plain = payload(65536 + 1);
    let (file, stats) = encrypt_stream(Cursor::new(&plain), Vec::new(), &pass("k")).unwrap();
    assert_eq!(stats.written_bytes, file.len() as u64);
    let mut r = DecryptReader::new(Cursor::new(&file), &pass("k")).unwrap();
    assert_eq!(r.iterations(), Some(WRITE_ITERATIONS));
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, plain);
}

/// Files from old releases (100 000 iterations, no marker) still open with `new`.
#[test]
fn real_count_legacy_chunked_file_reads() {
    let plain = payload(1000);
    let mut w =
        EncryptWriter::with_params(Vec::new(), &pass("k"), SALT, NONCE, LEGACY_ITERATIONS).unwrap();
    w.write_all(&plain).unwrap();
    let (file, _) = w.finish().unwrap();
    let mut r = DecryptReader::new(Cursor::new(&file), &pass("k")).unwrap();
    assert_eq!(r.iterations(), Some(LEGACY_ITERATIONS));
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, plain);
}

#[test]
fn real_count_oneshot_written_and_read() {
    let blob = seal_oneshot(b"profile secrets", &pass("k")).unwrap();
    assert_eq!(
        *open_oneshot(&blob, &pass("k")).unwrap(),
        b"profile secrets"
    );
}

#[test]
fn real_count_legacy_oneshot_reads() {
    let blob = seal_oneshot_with_params(b"old profile", &pass("k"), SALT, NONCE, LEGACY_ITERATIONS)
        .unwrap();
    assert_eq!(*open_oneshot(&blob, &pass("k")).unwrap(), b"old profile");
}

#[test]
fn random_salt_and_nonce_differ_between_files() {
    let a = random_salt_and_nonce().unwrap();
    let b = random_salt_and_nonce().unwrap();
    assert_ne!(a, b);
}

fn any_fast(data: &[u8], key: &str) -> Result<(DecryptSummary, Vec<u8>), EncryptError> {
    let mut out = Vec::new();
    let summary = decrypt_any_with_iterations(Cursor::new(data), &mut out, &pass(key), &[FAST])?;
    Ok((summary, out))
}

#[test]
fn decrypt_any_recognises_both_formats() {
    for len in [1, 65536, 3 * 65536 + 5] {
        let plain = payload(len);
        let (summary, out) = any_fast(&seal_fast(&plain, "k"), "k").unwrap();
        assert_eq!(out, plain);
        assert_eq!(
            summary,
            DecryptSummary {
                format: ContainerFormat::Chunked,
                iterations: Some(FAST),
                plaintext_bytes: len as u64,
            }
        );
    }
    // One-shot blobs both smaller and larger than the probe window.
    for len in [0, 5, 1000, 65536 + 100, 300_000] {
        let plain = payload(len);
        let blob = seal_oneshot_with_params(&plain, &pass("k"), SALT, NONCE, FAST).unwrap();
        let (summary, out) = any_fast(&blob, "k").unwrap();
        assert_eq!(out, plain, "len {len}");
        assert_eq!(summary.format, ContainerFormat::OneShot);
        assert_eq!(summary.plaintext_bytes, len as u64);
    }
    let (summary, out) = any_fast(&seal_fast(b"", "k"), "k").unwrap();
    assert!(out.is_empty());
    assert_eq!(summary.format, ContainerFormat::Chunked);
    assert_eq!(summary.iterations, None);
}

#[test]
fn decrypt_any_reports_precise_errors() {
    let plain = payload(3 * 65536 + 5);
    let file = seal_fast(&plain, "k");
    assert!(matches!(any_fast(&file, "x"), Err(EncryptError::WrongKey)));
    let blob = seal_oneshot_with_params(&payload(300_000), &pass("k"), SALT, NONCE, FAST).unwrap();
    assert!(matches!(any_fast(&blob, "x"), Err(EncryptError::WrongKey)));
    let small = seal_oneshot_with_params(b"p", &pass("k"), SALT, NONCE, FAST).unwrap();
    assert!(matches!(any_fast(&small, "x"), Err(EncryptError::WrongKey)));

    let mut damaged = file.clone();
    damaged[28 + 2 * FRAME + 50] ^= 4;
    assert!(matches!(
        any_fast(&damaged, "k"),
        Err(EncryptError::DamagedChunk {
            index: 2,
            offset: 131140
        })
    ));
    for cut in [28, 28 + 100, 28 + FRAME, file.len() - 4] {
        assert!(
            matches!(any_fast(&file[..cut], "k"), Err(EncryptError::Truncated { offset }) if offset == cut as u64),
            "cut {cut}"
        );
    }
    let mut extended = file.clone();
    extended.push(1);
    assert!(matches!(
        any_fast(&extended, "k"),
        Err(EncryptError::TrailingData { offset }) if offset == file.len() as u64
    ));
    assert!(matches!(
        any_fast(b"plain text", "k"),
        Err(EncryptError::NotEncrypted)
    ));
}

#[test]
fn reader_implements_bufread() {
    let plain = payload(65536 + 10);
    let file = seal_fast(&plain, "k");
    let mut r = DecryptReader::with_iterations(Cursor::new(&file), &pass("k"), &[FAST]).unwrap();
    assert_eq!(r.fill_buf().unwrap().len(), 65536);
    r.consume(65530);
    assert_eq!(r.fill_buf().unwrap(), &plain[65530..65536]);
    r.consume(6);
    assert_eq!(r.fill_buf().unwrap(), &plain[65536..]);
    r.consume(10);
    assert!(r.fill_buf().unwrap().is_empty());
}

#[test]
fn errors_survive_the_trip_through_io_error() {
    let original = EncryptError::DamagedChunk {
        index: 7,
        offset: 99,
    };
    let as_io: io::Error = original.into();
    assert_eq!(as_io.kind(), io::ErrorKind::InvalidData);
    assert!(matches!(
        EncryptError::from(as_io),
        EncryptError::DamagedChunk {
            index: 7,
            offset: 99
        }
    ));
    let plain_io = io::Error::new(io::ErrorKind::PermissionDenied, "no");
    let back: io::Error = EncryptError::from(plain_io).into();
    assert_eq!(back.kind(), io::ErrorKind::PermissionDenied);
    assert!(EncryptError::wrapped_in(&back).is_none());
}

#[test]
fn sniff_checks_the_magic() {
    assert!(sniff(b"Salted__"));
    assert!(sniff(&hex(KAT_CHUNKED)));
    assert!(!sniff(b"Salted_"));
    assert!(!sniff(b"\x28\xb5\x2f\xfd"));
}

/// Go's `crypto encrypt-file` sealed with `SFDB_ENCRYPTION_KEY` untrimmed: such a file, one-shot
/// or chunked, opens with the same key as given (spaces included), through every reader, while
/// the trimmed key alone cannot open it and a file sealed trimmed still opens with the spaced
/// key. Trimmed is tried first, so ordinary files cost no extra KDF run.
#[test]
fn a_key_with_spaces_also_opens_a_file_sealed_with_it_untrimmed() {
    let spaced = " k e y \n";
    let exact = Passphrase::exact(spaced);
    let oneshot = seal_oneshot_with_params(&payload(100), &exact, SALT, NONCE, FAST).unwrap();
    assert_eq!(
        open_oneshot_with_iterations(&oneshot, &pass(spaced), &[FAST]).unwrap()[..],
        payload(100)[..]
    );
    assert!(matches!(
        open_oneshot_with_iterations(&oneshot, &pass("k e y"), &[FAST]),
        Err(EncryptError::WrongKey)
    ));

    let mut w = EncryptWriter::with_params(Vec::new(), &exact, SALT, NONCE, FAST).unwrap();
    w.write_all(&payload(CHUNK_SIZE + 10)).unwrap();
    let chunked = w.finish().unwrap().0;
    assert_eq!(
        open_fast(&chunked, spaced).unwrap(),
        payload(CHUNK_SIZE + 10)
    );
    assert!(matches!(
        open_fast(&chunked, "k e y"),
        Err(EncryptError::WrongKey)
    ));
    for file in [&oneshot, &chunked] {
        let mut out = Vec::new();
        decrypt_any_with_iterations(Cursor::new(file), &mut out, &pass(spaced), &[FAST]).unwrap();
        assert!(out.len() == 100 || out.len() == CHUNK_SIZE + 10);
    }
    // The usual case still holds: trimmed on both sides.
    assert_eq!(
        open_fast(&seal_fast(&payload(5), "k e y"), spaced).unwrap(),
        payload(5)
    );
}

/// A one-shot blob whose ciphertext happens to start like a chunked file, two plausible frame
/// lengths in a row (made here on purpose: the keystream of a fixed key and nonce is known, so
/// the plaintext can be chosen to give those ciphertext bytes), still opens: the chunked reading
/// fails its tag and the one-shot reading is tried with the same key.
#[test]
fn a_one_shot_blob_that_looks_chunked_still_opens() {
    const LEN: usize = 100_000; // past the first frame and its next length: not `complete`
    const FRAME_LEN: u32 = 1000;
    let key = pass("k");
    let zeros = seal_oneshot_with_params(&vec![0u8; LEN], &key, SALT, NONCE, FAST).unwrap();
    let keystream = &zeros[HEADER_LEN..HEADER_LEN + LEN];
    let mut wanted = payload(LEN);
    let len_at = [0, 4 + FRAME_LEN as usize];
    for at in len_at {
        wanted[at..at + 4].copy_from_slice(&FRAME_LEN.to_be_bytes());
    }
    // Plaintext = wanted ciphertext XOR keystream.
    let plain: Vec<u8> = wanted.iter().zip(keystream).map(|(w, k)| w ^ k).collect();
    let blob = seal_oneshot_with_params(&plain, &key, SALT, NONCE, FAST).unwrap();
    for at in len_at {
        let b = &blob[HEADER_LEN + at..HEADER_LEN + at + 4];
        assert_eq!(u32::from_be_bytes(b.try_into().unwrap()), FRAME_LEN);
    }
    let mut out = Vec::new();
    decrypt_any_with_iterations(Cursor::new(&blob), &mut out, &key, &[FAST])
        .unwrap_or_else(|e| panic!("the look-alike one-shot blob: {e}"));
    assert_eq!(out, plain);
    // With another key it is still a wrong key, not a corrupt file.
    let err = decrypt_any_with_iterations(Cursor::new(&blob), Vec::new(), &pass("x"), &[FAST]);
    assert!(matches!(err, Err(EncryptError::WrongKey)), "{err:?}");
}

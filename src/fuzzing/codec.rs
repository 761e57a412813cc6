//! Codec detection and the decompressors.

use std::io::{BufReader, Read, Write};

use super::{Control, edit};
use crate::compress::{Codec, CompressWriter, Level, PGZIP_BLOCK_SIZE, detect, open_detect};

/// Output read at most: a small input may expand a thousandfold, and the fuzzer must go on.
const OUTPUT_CAP: u64 = 16 << 20;

/// After the control bytes, `data` is either a stream as it is (mode 0), or plaintext that is
/// compressed with one of our codecs and then damaged by [`edit`]. The stream is opened by
/// content and read to its end (or [`OUTPUT_CAP`]), and:
/// - an undamaged stream reads back exactly;
/// - a damaged one reads as an error or as exactly the original: every codec checks its
///   data, so a damaged stream never yields other bytes. The exceptions are the formats'
///   own: gzip members, xz streams and zstd frames may be concatenated, so a whole one
///   repeated or (pgzip, one member per block) cut off reads as that many blocks of the
///   original (the dump's footer and the metadata's SHA-256 catch that, not the codec);
/// - bytes recognised as no codec read back unchanged.
pub fn decompress(data: &[u8]) {
    let mut ctl = Control::new(data);
    let mode = ctl.u8() % 7;
    // Low levels only: xz at 9 takes 674 MiB to compress, and the level is not under test.
    let level = Level::new(ctl.u8() % 3 + 1).expect("a level in 1..=3");
    let capacity = 6 + usize::from(ctl.u8() % 64);
    let (mut edits, plain) = {
        let n = usize::from(ctl.u8() % 32);
        let rest = ctl.rest();
        let (controls, plain) = rest.split_at(n.min(rest.len()));
        (Control::new(controls), plain)
    };
    let codec = match mode {
        0 => None,
        m => Some(Codec::ALL[usize::from(m - 1) % Codec::ALL.len()]),
    };
    let stream = match codec {
        None => plain.to_vec(),
        Some(codec) => {
            let mut w = CompressWriter::new(codec, level, Vec::new(), 1).expect("a compressor");
            w.write_all(plain).expect("compressing into memory");
            w.finish().expect("finishing into memory").0
        }
    };
    let mut damaged = stream.clone();
    if codec.is_some() {
        edit(&mut edits, &mut damaged);
    }
    let intact = damaged == stream;

    // A buffer of at least DETECT_PREFIX_LEN bytes: a smaller one is refused by design.
    let got = open_detect(BufReader::with_capacity(capacity, &damaged[..])).and_then(|r| {
        let mut out = Vec::new();
        r.take(OUTPUT_CAP).read_to_end(&mut out)?;
        Ok(out)
    });
    let out = match got {
        Ok(out) => out,
        Err(e) => {
            assert!(
                !(intact && codec.is_some_and(|c| c != Codec::None)),
                "{codec:?} refused its own intact stream: {e}"
            );
            return;
        }
    };
    if out.len() as u64 == OUTPUT_CAP {
        return;
    }
    if detect(&damaged) == Codec::None {
        assert_eq!(out, damaged, "plain bytes did not read back unchanged");
        return;
    }
    let Some(codec) = codec.filter(|c| *c != Codec::None) else {
        return;
    };
    if intact {
        assert!(out == plain, "{codec:?} did not read back what it wrote");
        return;
    }
    let pieces_of_plain = |size: usize| {
        size > 0
            && out.chunks(size).all(|piece| {
                plain.chunks(size).any(|p| p == piece) || (piece.is_empty() && plain.is_empty())
            })
    };
    let acceptable = out == plain
        || match codec {
            // Members are independent: a cut, a repeated or a dropped member between two others
            // still reads (the dump's footer and the metadata's SHA-256 catch that).
            Codec::Pgzip => pieces_of_plain(PGZIP_BLOCK_SIZE.min(plain.len())),
            // Concatenated members, streams and frames are valid by design (`cat a.gz b.gz`).
            Codec::Gzip | Codec::Xz | Codec::Zstd => pieces_of_plain(plain.len()),
            _ => false,
        };
    assert!(
        acceptable,
        "damaged {codec:?} read as {} bytes that are not what was written ({})",
        out.len(),
        plain.len()
    );
}

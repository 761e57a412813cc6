//! Unit tests of the compression stage: round trips, exact counts, detection, and failure modes.

use std::io::{self, BufReader, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use super::*;

const LEVELS: [u8; 3] = [1, 5, 9];
const THREADS: usize = 2;

/// Deterministic xorshift64: the tests must not depend on a RNG crate's API or on luck.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// ~3 MB of dump-like text (INSERT rows with ints, decimals, strings, dates, hex) with raw random
/// bytes mixed in, as `_binary` literals carry them; the random part keeps every codec honest
/// about incompressible input.
fn sample() -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut out = b"-- sfdbtools dump\n/*!40101 SET NAMES utf8mb4 */;\n".to_vec();
        let words = ["alpha", "beta", "O'Brien", "naïve", "x\\ny", "ZÜRICH", "", "null-ish"];
        let mut id = 0u64;
        while out.len() < 3_000_000 {
            out.extend_from_slice(b"INSERT INTO `orders` VALUES ");
            for row in 0..50 {
                id += 1;
                let r = rng.next();
                if row > 0 {
                    out.push(b',');
                }
                write!(
                    out,
                    "({id},{},{}.{:02},'{}','20{:02}-{:02}-{:02} {:02}:{:02}:00',0x{:016x},_binary '",
                    r % 100_000,
                    r % 9999,
                    (r >> 20) % 100,
                    words[(r >> 30) as usize % words.len()],
                    (r >> 8) % 30,
                    (r >> 12) % 12 + 1,
                    (r >> 16) % 28 + 1,
                    (r >> 24) % 24,
                    (r >> 28) % 60,
                    rng.next(),
                )
                .unwrap();
                for _ in 0..(r % 24) {
                    out.push(rng.next() as u8);
                }
                out.extend_from_slice(b"')");
            }
            out.extend_from_slice(b";\n");
        }
        out
    })
}

fn compress(codec: Codec, level: u8, threads: usize, data: &[u8]) -> (Vec<u8>, CompressStats) {
    let mut w =
        CompressWriter::new(codec, Level::new(level).unwrap(), Vec::new(), threads).unwrap();
    // Odd-sized writes: counting must be exact whatever the chunking.
    for chunk in data.chunks(65_521) {
        w.write_all(chunk).unwrap();
    }
    assert_eq!(w.input_bytes(), data.len() as u64);
    w.finish().unwrap()
}

fn decompress(codec: Codec, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    DecompressReader::new(codec, bytes)?.read_to_end(&mut out)?;
    Ok(out)
}

fn detected_as(codec: Codec) -> Codec {
    if codec == Codec::Pgzip {
        Codec::Gzip
    } else {
        codec
    }
}

#[test]
fn round_trip_every_codec_and_level() {
    let data = sample();
    for codec in Codec::ALL {
        for level in LEVELS {
            let (out, stats) = compress(codec, level, THREADS, data);
            let what = format!("{codec} level {level}");
            assert_eq!(stats.input_bytes, data.len() as u64, "{what}");
            assert_eq!(stats.output_bytes, out.len() as u64, "{what}");
            assert_eq!(detect(&out), detected_as(codec), "{what}");
            if codec != Codec::None {
                assert!(
                    out.len() < data.len() * 3 / 4,
                    "{what}: {} bytes",
                    out.len()
                );
            }
            assert!(
                decompress(codec, &out).unwrap() == data,
                "{what}: explicit codec"
            );
            let mut back = Vec::new();
            let mut r = open_detect(&out[..]).unwrap();
            assert_eq!(r.codec(), detected_as(codec), "{what}");
            r.read_to_end(&mut back).unwrap();
            assert!(back == data, "{what}: detected codec");
        }
    }
}

#[test]
fn thread_counts_give_the_same_content() {
    let data = &sample()[..1_000_000];
    for codec in [Codec::Pgzip, Codec::Zstd] {
        for threads in [0, 1, 4] {
            let (out, stats) = compress(codec, 5, threads, data);
            assert_eq!(stats.input_bytes, data.len() as u64);
            assert!(
                decompress(codec, &out).unwrap() == data,
                "{codec} threads {threads}"
            );
        }
    }
}

#[test]
fn empty_input_round_trips() {
    for codec in Codec::ALL {
        let (out, stats) = compress(codec, 5, THREADS, b"");
        assert_eq!(stats.input_bytes, 0);
        assert_eq!(decompress(codec, &out).unwrap(), b"", "{codec}");
        assert_eq!(
            detect(&out),
            if codec == Codec::None {
                Codec::None
            } else {
                detected_as(codec)
            }
        );
    }
}

#[test]
fn truncation_is_an_error_for_every_codec() {
    let data = &sample()[..500_000];
    for codec in Codec::ALL.into_iter().filter(|c| *c != Codec::None) {
        let (out, _) = compress(codec, 5, THREADS, data);
        for cut in [1, 3, 4, 8, 20, out.len() / 2] {
            let result = decompress(codec, &out[..out.len() - cut]);
            assert!(
                result.is_err(),
                "{codec}: cutting {cut} bytes went unnoticed"
            );
        }
    }
}

#[test]
fn corruption_is_an_error_for_every_codec() {
    let data = &sample()[..500_000];
    for codec in Codec::ALL.into_iter().filter(|c| *c != Codec::None) {
        let (out, _) = compress(codec, 5, THREADS, data);
        for pos in [out.len() / 3, out.len() / 2, out.len() - 2] {
            let mut bad = out.clone();
            bad[pos] ^= 0x10;
            let result = decompress(codec, &bad);
            assert!(
                result.is_err(),
                "{codec}: flipped bit at {pos} of {} went unnoticed",
                out.len()
            );
        }
    }
}

#[test]
fn zstd_frames_carry_a_checksum() {
    let (out, _) = compress(Codec::Zstd, 3, 1, b"-- tiny\n");
    // Frame header descriptor byte: bit 2 is Content_Checksum_flag.
    assert_ne!(out[4] & 0b100, 0, "checksum flag not set");
    let mut bad = out.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(decompress(Codec::Zstd, &bad).is_err());
}

#[test]
fn trailing_bytes_are_an_error() {
    for codec in Codec::ALL.into_iter().filter(|c| *c != Codec::None) {
        let (mut out, _) = compress(codec, 5, THREADS, b"-- some sql\nSELECT 1;\n");
        out.extend_from_slice(b"garbage after the end");
        assert!(decompress(codec, &out).is_err(), "{codec}");
    }
}

#[test]
fn concatenated_streams_decode_like_the_standard_tools() {
    let (a, b) = sample()[..200_000].split_at(70_000);
    for codec in [Codec::Gzip, Codec::Pgzip, Codec::Zstd, Codec::Xz] {
        let mut out = compress(codec, 5, THREADS, a).0;
        out.extend_from_slice(&compress(codec, 5, THREADS, b).0);
        assert!(
            decompress(codec, &out).unwrap() == [a, b].concat(),
            "{codec}"
        );
    }
}

/// An inner writer the test can inspect after the compressor has gone.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn drop_without_finish_does_not_panic_and_leaves_the_stream_incomplete() {
    let data = &sample()[..1_000_000];
    for codec in Codec::ALL.into_iter().filter(|c| *c != Codec::None) {
        let shared = Shared::default();
        let mut w = CompressWriter::new(codec, Level::DEFAULT, shared.clone(), THREADS).unwrap();
        w.write_all(data).unwrap();
        drop(w);
        let written = shared.0.lock().unwrap().clone();
        assert!(
            decompress(codec, &written).is_err(),
            "{codec}: abandoned stream decodes as complete"
        );
    }
}

#[test]
fn drop_right_after_creation_does_not_panic() {
    for codec in Codec::ALL {
        drop(CompressWriter::new(codec, Level::DEFAULT, Vec::new(), THREADS).unwrap());
    }
}

/// Accepts `budget` bytes, then fails every write; flush fails if `fail_flush`.
struct Failing {
    budget: usize,
    fail_flush: bool,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "disk full (test)",
            ));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.fail_flush {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "flush failed (test)",
            ))
        } else {
            Ok(())
        }
    }
}

#[test]
fn inner_write_errors_reach_the_caller() {
    let data = &sample()[..2_000_000];
    for codec in Codec::ALL {
        let inner = Failing {
            budget: 10_000,
            fail_flush: false,
        };
        let mut w = CompressWriter::new(codec, Level::new(1).unwrap(), inner, THREADS).unwrap();
        let outcome = data
            .chunks(8192)
            .try_for_each(|c| w.write_all(c))
            .and_then(|()| w.finish().map(drop));
        let err = outcome.expect_err(codec.name());
        assert!(err.to_string().contains("disk full"), "{codec}: {err}");
    }
}

#[test]
fn writing_after_a_pgzip_error_reports_it_instead_of_panicking() {
    let inner = Failing {
        budget: 0,
        fail_flush: false,
    };
    let mut w = CompressWriter::new(Codec::Pgzip, Level::DEFAULT, inner, 1).unwrap();
    let block = vec![b'x'; PGZIP_BLOCK_SIZE + 1];
    let mut errors = 0;
    for _ in 0..64 {
        if w.write_all(&block).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 0);
    assert!(w.finish().is_err());
}

#[test]
fn inner_flush_error_fails_finish() {
    for codec in Codec::ALL {
        let inner = Failing {
            budget: usize::MAX,
            fail_flush: true,
        };
        let mut w = CompressWriter::new(codec, Level::DEFAULT, inner, THREADS).unwrap();
        w.write_all(b"-- x\n").unwrap();
        assert!(w.finish().is_err(), "{codec}");
    }
}

#[test]
fn finish_returns_the_inner_writer_flushed() {
    for codec in Codec::ALL {
        let w = CompressWriter::new(codec, Level::DEFAULT, Shared::default(), THREADS).unwrap();
        let (inner, stats) = w.finish().unwrap();
        assert_eq!(
            inner.0.lock().unwrap().len() as u64,
            stats.output_bytes,
            "{codec}"
        );
    }
}

#[test]
fn detect_magic_numbers() {
    assert_eq!(detect(b""), Codec::None);
    assert_eq!(detect(b"-- MariaDB dump"), Codec::None);
    assert_eq!(detect(b"/*!40101 SET"), Codec::None);
    assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Codec::Gzip);
    assert_eq!(detect(&[0x1f]), Codec::None);
    assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 0x04]), Codec::Zstd);
    assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]), Codec::Xz);
    assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 1]), Codec::None);
    for flg in [0x01, 0x5e, 0x9c, 0xda] {
        assert_eq!(detect(&[0x78, flg]), Codec::Zlib, "{flg:#x}");
    }
    // Header check fails, or a preset dictionary (0xbb) we never write.
    assert_eq!(detect(&[0x78, 0x9d]), Codec::None);
    assert_eq!(detect(&[0x78, 0xbb]), Codec::None);
    assert_eq!(detect(b"xyz"), Codec::None);
}

#[test]
fn open_detect_refuses_to_guess_from_a_partial_magic() {
    let (out, _) = compress(Codec::Zstd, 3, 1, b"-- sql\n");
    let tiny = BufReader::with_capacity(2, &out[..]);
    let err = open_detect(tiny)
        .err()
        .expect("two bytes of zstd magic must not pass as plain");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    // Plain text is unambiguous from its first byte, and nothing is consumed by peeking.
    let mut back = String::new();
    open_detect(BufReader::with_capacity(1, &b"-- sql\n"[..]))
        .unwrap()
        .read_to_string(&mut back)
        .unwrap();
    assert_eq!(back, "-- sql\n");
    assert_eq!(open_detect(&b""[..]).unwrap().codec(), Codec::None);
}

#[test]
fn codec_names_parse_case_insensitively() {
    for codec in Codec::ALL {
        assert_eq!(codec.name().parse::<Codec>().unwrap(), codec);
        assert_eq!(codec.name().to_uppercase().parse::<Codec>().unwrap(), codec);
    }
    assert_eq!("ZsTd".parse::<Codec>().unwrap(), Codec::Zstd);
    let err = "lz4".parse::<Codec>().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("lz4"), "{msg}");
    for codec in Codec::ALL {
        assert!(msg.contains(codec.name()), "{msg}");
    }
    assert!("".parse::<Codec>().is_err());
}

#[test]
fn extensions() {
    let got: Vec<_> = Codec::ALL.iter().map(|c| c.extension()).collect();
    assert_eq!(got, ["", ".gz", ".gz", ".zst", ".xz", ".zlib"]);
}

#[test]
fn levels_are_one_to_nine() {
    assert!(Level::new(0).is_err());
    assert!(Level::new(10).is_err());
    assert!(Level::try_from(255).is_err());
    for n in 1..=9 {
        assert_eq!(Level::new(n).unwrap().get(), n);
        assert_eq!(n.to_string().parse::<Level>().unwrap().get(), n);
    }
    assert!("0".parse::<Level>().is_err());
    assert!("10".parse::<Level>().is_err());
    assert!("fast".parse::<Level>().is_err());
    assert!(Level::new(0).unwrap_err().to_string().contains("1 to 9"));
    assert_eq!(Level::default().get(), 5);
}

#[test]
fn stages_can_move_to_pipeline_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<CompressWriter<std::fs::File>>();
    assert_send::<DecompressReader<std::fs::File>>();
}

/// A small xz file (preset 1, one block) whose block header asks for a dictionary of
/// `2 << (bits / 2 + 11)` bytes (`bits` even), its CRC32 fixed: what `xz --lzma2=dict=…`
/// writes, without the encoder's memory for a large dictionary.
fn xz_with_dictionary(bits: u8, data: &[u8]) -> Vec<u8> {
    let (mut out, _) = compress(Codec::Xz, 1, 1, data);
    // Stream header (12 bytes), then the block header: size 12, flags 0 (one filter, no
    // sizes), filter LZMA2 (0x21) with one property byte: the dictionary size.
    assert_eq!(
        out[12..16],
        [0x02, 0x00, 0x21, 0x01],
        "xz2 wrote another block header"
    );
    out[16] = bits;
    let mut crc = flate2::Crc::new();
    crc.update(&out[12..20]);
    out[20..24].copy_from_slice(&crc.sum().to_le_bytes());
    out
}

#[test]
fn xz_within_the_memory_limit_opens_and_a_larger_dictionary_is_refused() {
    let data = &sample()[..100_000];
    // 64 MiB: the dictionary of xz -9 and -9e.
    assert!(decompress(Codec::Xz, &xz_with_dictionary(28, data)).unwrap() == data);
    for bits in [30, 36] {
        let e = decompress(Codec::Xz, &xz_with_dictionary(bits, data)).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("needs more than 128 MiB of memory to decode") && m.contains("xz -9"),
            "{bits}: {m}"
        );
    }
}

/// A zstd frame of ours whose header asks for a window of 2^`log` bytes (as `zstd --long=log`
/// writes).
fn zstd_with_window(log: u8, data: &[u8]) -> Vec<u8> {
    let (mut out, _) = compress(Codec::Zstd, 3, 1, data);
    // Frame header descriptor: no single segment, so byte 5 is the window descriptor
    // (exponent in the top five bits, plus 10).
    assert_eq!(
        out[4] & 0b10_0000,
        0,
        "a single-segment frame has no window descriptor"
    );
    out[5] = (log - 10) << 3;
    out
}

#[test]
fn zstd_within_the_window_limit_opens_and_a_larger_window_is_refused() {
    let data = &sample()[..100_000];
    assert!(decompress(Codec::Zstd, &zstd_with_window(27, data)).unwrap() == data);
    for log in [28, 31] {
        let e = decompress(Codec::Zstd, &zstd_with_window(log, data)).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("window larger than 128 MiB") && m.contains("--long"),
            "{log}: {m}"
        );
    }
}

//! Criterion throughput of the compression stage on 32 MiB of realistic INSERT text.
//!
//! Every codec runs at the default level 5, plus zstd at its own default 3. pgzip and zstd get
//! all available cores, as a dump would give them. Output goes to `io::sink()` so only
//! compression is measured; the compression ratio of each setting is printed once up front.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{self, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfdbtools::compress::{Codec, CompressStats, CompressWriter, Level};

const SQL_BYTES: usize = 32 << 20;
/// The size the SQL serialiser hands downstream per write.
const WRITE_CHUNK: usize = 64 << 10;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Extended INSERTs shaped like a typical OLTP table: auto-increment ids, foreign keys,
/// decimals, escaped strings drawn from a small vocabulary, dates, datetimes, NULLs and hex blobs
/// (random, hence incompressible, like hashes and tokens in real data).
fn sql_inserts() -> Vec<u8> {
    const FIRST: [&str; 8] = [
        "Anna", "Björn", "Chidi", "Dara", "Émile", "Fatima", "Gus", "Hiro",
    ];
    const LAST: [&str; 8] = [
        "O\\'Neil", "Smith", "Nakamura", "Müller", "García", "Kowalski", "Li", "Okafor",
    ];
    const STATUS: [&str; 4] = ["pending", "paid", "shipped", "refunded"];
    const NOTE: [&str; 4] = [
        "",
        "leave at the door",
        "gift wrap, no invoice\\nthanks",
        "call before delivery; fragile \\\"glass\\\"",
    ];

    let mut rng = Rng(0x853c_49e6_748f_ea9b);
    let mut s = String::with_capacity(SQL_BYTES + 4096);
    s.push_str("-- sfdbtools dump\n/*!40101 SET NAMES utf8mb4 */;\n\n");
    s.push_str("INSERT INTO `orders` VALUES ");
    let mut id = 1_000_000u64;
    let mut rows_in_stmt = 0;
    while s.len() < SQL_BYTES {
        if rows_in_stmt > 0 {
            s.push(',');
        }
        id += 1;
        let note = NOTE[rng.below(4) as usize];
        write!(
            s,
            "({id},{},{}.{:02},{},'{} {}','{}','{}@example.com','20{:02}-{:02}-{:02}','20{:02}-{:02}-{:02} {:02}:{:02}:{:02}',",
            rng.below(500_000) + 1,
            rng.below(10_000),
            rng.below(100),
            rng.below(50),
            FIRST[rng.below(8) as usize],
            LAST[rng.below(8) as usize],
            STATUS[rng.below(4) as usize],
            id,
            rng.below(10) + 15,
            rng.below(12) + 1,
            rng.below(28) + 1,
            rng.below(10) + 15,
            rng.below(12) + 1,
            rng.below(28) + 1,
            rng.below(24),
            rng.below(60),
            rng.below(60),
        )
        .unwrap();
        if note.is_empty() {
            s.push_str("NULL,");
        } else {
            write!(s, "'{note}',").unwrap();
        }
        write!(s, "0x{:016x}{:016x})", rng.next(), rng.next()).unwrap();
        rows_in_stmt += 1;
        // mysqldump-style extended INSERTs of about 1 MiB.
        if rows_in_stmt == 5000 {
            s.push_str(";\nINSERT INTO `orders` VALUES ");
            rows_in_stmt = 0;
        }
    }
    s.push_str(";\n");
    s.into_bytes()
}

fn compress(codec: Codec, level: Level, threads: usize, data: &[u8]) -> CompressStats {
    let mut w = CompressWriter::new(codec, level, io::sink(), threads).unwrap();
    for chunk in data.chunks(WRITE_CHUNK) {
        w.write_all(chunk).unwrap();
    }
    w.finish().unwrap().1
}

fn bench_compress(c: &mut Criterion) {
    let data = sql_inserts();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let settings = [
        (Codec::None, 5),
        (Codec::Gzip, 5),
        (Codec::Pgzip, 5),
        (Codec::Zstd, 3),
        (Codec::Zstd, 5),
        (Codec::Xz, 5),
        (Codec::Zlib, 5),
    ];

    let mut group = c.benchmark_group("compress");
    group.throughput(Throughput::BytesDecimal(data.len() as u64));
    // One iteration is a whole 32 MiB dump; criterion's minimum of 10 samples is plenty.
    group.sample_size(10);
    for (codec, level) in settings {
        let level = Level::new(level).unwrap();
        let id = format!("{codec}-{level}");
        let stats = compress(codec, level, cores, &data);
        eprintln!(
            "{id}: {} -> {} bytes (ratio {:.2}, {cores} thread(s) for pgzip/zstd)",
            stats.input_bytes,
            stats.output_bytes,
            stats.input_bytes as f64 / stats.output_bytes as f64
        );
        group.bench_function(id, |b| {
            b.iter(|| black_box(compress(codec, level, cores, black_box(&data))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_compress);
criterion_main!(benches);

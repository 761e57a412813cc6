//! Criterion benchmark of the restore's reading path: a dump's SQL through the statement
//! splitter and the classifier, and with the rows turned into LOAD DATA input as well, in
//! bytes of SQL per second. This runs on one thread ahead of the connections; it must stay far
//! faster than a server can load rows.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfdbtools::read::classify::{Kind, classify};
use sfdbtools::read::split::Splitter;
use sfdbtools::restore::load_data;

/// A script shaped like our dumps: header settings, then 1 MiB INSERTs of rows with numbers,
/// quoted text with escapes, hex blobs and NULLs.
fn script(rows: usize) -> Vec<u8> {
    let mut s = b"/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n\
DROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (`id` int, `s` text, `b` blob, `d` double);\n"
        .to_vec();
    let prefix = b"INSERT INTO `t` (`id`,`s`,`b`,`d`) VALUES ";
    let mut statement = Vec::new();
    for i in 0..rows {
        if statement.is_empty() {
            statement.extend_from_slice(prefix);
        } else {
            statement.push(b',');
        }
        let note = if i % 10 == 0 {
            "NULL".to_owned()
        } else {
            format!(
                "'it\\'s line {i}\\n\\tquoted \\\"{}\\\" -- not a comment; /* nor this */'",
                i % 97
            )
        };
        statement.extend_from_slice(
            format!(
                "({i},{note},0x{:032x}{:032x},{})",
                i * 2_654_435_761,
                i * 40_503,
                i as f64 / 3.0
            )
            .as_bytes(),
        );
        if statement.len() >= 1 << 20 {
            statement.extend_from_slice(b";\n");
            s.append(&mut statement);
        }
    }
    if !statement.is_empty() {
        statement.extend_from_slice(b";\n");
        s.append(&mut statement);
    }
    s.extend_from_slice(b"\n-- Dump completed on 2026-01-01 00:00:00\n");
    s
}

fn split_all(input: &[u8]) -> usize {
    let mut s = Splitter::new(input);
    let mut n = 0;
    while let Some(st) = s.next_statement().expect("valid script") {
        std::hint::black_box(classify(&st.sql));
        n += 1;
    }
    n
}

fn split_and_convert(input: &[u8], binary: load_data::Binary) -> u64 {
    let mut s = Splitter::new(input);
    let mut rows = 0;
    while let Some(st) = s.next_statement().expect("valid script") {
        if let Kind::Data { .. } = classify(&st.sql) {
            rows += load_data::convert(&st.sql, binary)
                .expect("our dump's shape")
                .rows;
        }
    }
    rows
}

fn bench(c: &mut Criterion) {
    let input = script(200_000);
    let mut group = c.benchmark_group("split");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("dump", |b| b.iter(|| split_all(&input)));
    // Blobs as their bytes (MariaDB) and as hex digits (MySQL).
    group.bench_function("dump as LOAD DATA", |b| {
        b.iter(|| split_and_convert(&input, load_data::Binary::Raw))
    });
    group.bench_function("dump as LOAD DATA, hex blobs", |b| {
        b.iter(|| split_and_convert(&input, load_data::Binary::Hex))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

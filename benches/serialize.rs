//! Criterion benchmarks of the SQL serialisation hot path: rows of binary-protocol values into
//! extended INSERT statements, measured in bytes of SQL produced per second (target: 500 MB/s
//! per core). `serialise/*` starts from mysql_async `Value`s (decoded already); `in_place/*`
//! from the raw row packets the row reader hands over, decoded while writing.
//! `statement_size/*` is `in_place` with `--statement-size` 1, 4, 16 and 64 MiB: a limit above
//! the flush threshold once made every row copy the open statement (quadratic in the size).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mysql_async::Value;
use sfdbtools::connect::wire;
use sfdbtools::rows::decode::{self, Layout};
use sfdbtools::rows::{FLUSH_BYTES, RowChecksum};
use sfdbtools::sql::insert::{DEFAULT_STATEMENT_SIZE, InsertBuilder};
use sfdbtools::sql::value::CellKind;

/// The binary's allocator: buffers of a statement's size are allocated and freed per chunk, and
/// what that costs depends on it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows shaped like the benchmark's dominant table: ids, a decimal, a double, a float, a
/// label, a datetime, an enum and a text with characters that need escaping.
fn mixed_rows(n: usize) -> Vec<Vec<Value>> {
    (0..n)
        .map(|i| {
            vec![
                Value::Int(i as i64),
                Value::Int((i % 100_000) as i64),
                Value::Bytes(format!("{}.{:02}", i * 7919 % 1_000_000, i % 100).into_bytes()),
                Value::Double(i as f64 / 3.0),
                Value::Float((i % 1000) as f32 / 7.0),
                Value::Bytes(format!("label-{}-{:040x}", i % 5000, i * 2_654_435_761).into_bytes()),
                Value::Date(
                    2020,
                    1,
                    1 + (i % 28) as u8,
                    (i % 24) as u8,
                    (i % 60) as u8,
                    (i % 60) as u8,
                    0,
                ),
                Value::Bytes(b"paid".to_vec()),
                if i % 10 == 0 {
                    Value::NULL
                } else {
                    Value::Bytes(format!("it's line {i}\n\tquoted \"{}\"", i % 97).into_bytes())
                },
            ]
        })
        .collect()
}

fn mixed_kinds() -> Vec<CellKind> {
    vec![
        CellKind::Exact,
        CellKind::Exact,
        CellKind::Exact,
        CellKind::Float,
        CellKind::Float,
        CellKind::Quoted,
        CellKind::DateTime(6),
        CellKind::Quoted,
        CellKind::Quoted,
    ]
}

/// Rows with a 96-byte binary payload, written as hex.
fn blob_rows(n: usize) -> Vec<Vec<Value>> {
    (0..n)
        .map(|i| {
            let payload: Vec<u8> = (0..96).map(|b| (b as usize * 31 + i) as u8).collect();
            vec![
                Value::Int(i as i64),
                Value::Int((i % 7) as i64),
                Value::Bytes(payload),
            ]
        })
        .collect()
}

fn serialise(rows: &[Vec<Value>], kinds: Vec<CellKind>) -> (usize, RowChecksum) {
    let mut builder = InsertBuilder::new("`t`", "`a`,`b`,`c`", kinds, DEFAULT_STATEMENT_SIZE);
    let mut out = Vec::with_capacity(2 << 20);
    let mut total = 0;
    let mut sum = RowChecksum::default();
    for row in rows {
        let len = builder.push_values(&mut out, |i| &row[i]);
        sum.add_row(&out[out.len() - len..]);
        if let Some(done) = builder.take_ready(&mut out, FLUSH_BYTES) {
            total += done.len();
        }
    }
    builder.finish_statement(&mut out);
    (total + out.len(), sum)
}

fn mixed_layouts() -> Vec<Layout> {
    let int = |bytes| Layout::Int {
        bytes,
        unsigned: false,
    };
    vec![
        int(8),
        int(4),
        Layout::Bytes,
        Layout::Double,
        Layout::Float,
        Layout::Bytes,
        Layout::Date,
        Layout::Bytes,
        Layout::Bytes,
    ]
}

fn blob_layouts() -> Vec<Layout> {
    vec![
        Layout::Int {
            bytes: 4,
            unsigned: false,
        },
        Layout::Int {
            bytes: 1,
            unsigned: false,
        },
        Layout::Bytes,
    ]
}

/// The rows as the server sends them over the binary protocol: framed row packets, one block.
fn packets(rows: &[Vec<Value>], layouts: &[Layout]) -> Vec<u8> {
    let mut block = Vec::new();
    for (seq, row) in rows.iter().enumerate() {
        let mut p = vec![0u8];
        let mut bitmap = vec![0u8; (row.len() + 9) / 8];
        for (i, v) in row.iter().enumerate() {
            if *v == Value::NULL {
                bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
            }
        }
        p.extend_from_slice(&bitmap);
        for (v, layout) in row.iter().zip(layouts) {
            match (v, layout) {
                (Value::NULL, _) => {}
                (Value::Int(i), Layout::Int { bytes, .. }) => {
                    p.extend_from_slice(&i.to_le_bytes()[..usize::from(*bytes)])
                }
                (Value::Double(d), _) => p.extend_from_slice(&d.to_le_bytes()),
                (Value::Float(f), _) => p.extend_from_slice(&f.to_le_bytes()),
                (Value::Date(y, m, d, h, i, s, us), _) => {
                    p.push(11);
                    p.extend_from_slice(&y.to_le_bytes());
                    p.extend_from_slice(&[*m, *d, *h, *i, *s]);
                    p.extend_from_slice(&us.to_le_bytes());
                }
                (Value::Bytes(b), _) => {
                    assert!(b.len() < 251);
                    p.push(b.len() as u8);
                    p.extend_from_slice(b);
                }
                other => panic!("not in the bench data: {other:?}"),
            }
        }
        block.extend_from_slice(&(p.len() as u32).to_le_bytes()[..3]);
        block.push(seq as u8);
        block.extend_from_slice(&p);
    }
    block
}

/// The serialiser's loop over row packets (`rows::Open`): decode each row into the statement,
/// hand on complete statements once `FLUSH_BYTES` of them are ready. `passes` times over
/// `block`, statements of at most `limit` bytes.
fn in_place_sized(
    block: &[u8],
    layouts: &[Layout],
    kinds: Vec<CellKind>,
    limit: usize,
    passes: usize,
) -> (usize, RowChecksum) {
    let mut builder = InsertBuilder::new("`t`", "`a`,`b`,`c`", kinds, limit);
    let mut out = Vec::with_capacity(FLUSH_BYTES + (64 << 10));
    let mut total = 0;
    let mut sum = RowChecksum::default();
    for _ in 0..passes {
        for payload in wire::packets(block) {
            let len =
                decode::push_row(&mut builder, &mut out, layouts, payload).expect("a whole row");
            sum.add_row(&out[out.len() - len..]);
            if let Some(done) = builder.take_ready(&mut out, FLUSH_BYTES) {
                total += done.len();
            }
        }
    }
    builder.finish_statement(&mut out);
    (total + out.len(), sum)
}

fn in_place(block: &[u8], layouts: &[Layout], kinds: Vec<CellKind>) -> (usize, RowChecksum) {
    in_place_sized(block, layouts, kinds, DEFAULT_STATEMENT_SIZE, 1)
}

fn bench(c: &mut Criterion) {
    for (name, rows, kinds, layouts) in [
        ("mixed", mixed_rows(100_000), mixed_kinds(), mixed_layouts()),
        (
            "blobs",
            blob_rows(100_000),
            vec![CellKind::Exact, CellKind::Exact, CellKind::Hex],
            blob_layouts(),
        ),
    ] {
        let (bytes, sum) = serialise(&rows, kinds.clone());
        let mut group = c.benchmark_group("serialise");
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| b.iter(|| serialise(&rows, kinds.clone())));
        group.finish();

        let block = packets(&rows, &layouts);
        assert_eq!(
            in_place(&block, &layouts, kinds.clone()),
            (bytes, sum),
            "both paths write the same SQL"
        );
        let mut group = c.benchmark_group("in_place");
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| in_place(&block, &layouts, kinds.clone()))
        });
        group.finish();
    }
}

/// The same SQL (about 130 MB, two statements of the largest size) at each statement size:
/// throughput must not fall as the size grows.
fn statement_size(c: &mut Criterion) {
    let rows = mixed_rows(100_000);
    let (layouts, kinds) = (mixed_layouts(), mixed_kinds());
    let block = packets(&rows, &layouts);
    let (one_pass, _) = in_place(&block, &layouts, kinds.clone());
    let passes = (2usize * (64 << 20)).div_ceil(one_pass);
    let mut group = c.benchmark_group("statement_size");
    group.sample_size(10);
    for mib in [1usize, 4, 16, 64] {
        let limit = mib << 20;
        let (bytes, _) = in_place_sized(&block, &layouts, kinds.clone(), limit, passes);
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("{mib}MiB"), |b| {
            b.iter(|| in_place_sized(&block, &layouts, kinds.clone(), limit, passes))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, statement_size);
criterion_main!(benches);

//! Criterion benchmarks of the SQL serialisation hot path: rows of binary-protocol values into
//! extended INSERT statements, measured in bytes of SQL produced per second (target: 500 MB/s
//! per core).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mysql_async::Value;
use sfdbtools::rows::RowChecksum;
use sfdbtools::sql::insert::{DEFAULT_STATEMENT_SIZE, InsertBuilder};
use sfdbtools::sql::value::CellKind;

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
        if out.len() >= 1 << 20 {
            total += builder.take_complete(&mut out).len();
        }
    }
    builder.finish_statement(&mut out);
    (total + out.len(), sum)
}

fn bench(c: &mut Criterion) {
    for (name, rows, kinds) in [
        ("mixed", mixed_rows(100_000), mixed_kinds()),
        (
            "blobs",
            blob_rows(100_000),
            vec![CellKind::Exact, CellKind::Exact, CellKind::Hex],
        ),
    ] {
        let (bytes, _) = serialise(&rows, kinds.clone());
        let mut group = c.benchmark_group("serialise");
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| b.iter(|| serialise(&rows, kinds.clone())));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

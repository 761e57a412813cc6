//! Criterion benchmarks of the encryption stage's throughput (AES-256-GCM over 64 KiB chunks).
//!
//! The KDF is excluded: keys are derived with a tiny iteration count, because 600 000 PBKDF2
//! iterations are a fixed per-file cost that would swamp the per-byte numbers.

use std::hint::black_box;
use std::io::{Cursor, Read, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfdbtools::encrypt::{DecryptReader, EncryptWriter, Passphrase};

const SIZE: usize = 16 << 20;
const ITERATIONS: u32 = 1;
const SALT: [u8; 8] = [1; 8];
const NONCE: [u8; 12] = [2; 12];

fn plaintext() -> Vec<u8> {
    // Compressed dump data is what gets encrypted, so incompressible-looking bytes.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..SIZE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn encrypt(plain: &[u8], pass: &Passphrase, out: Vec<u8>) -> Vec<u8> {
    let mut w = EncryptWriter::with_params(out, pass, SALT, NONCE, ITERATIONS).unwrap();
    // 128 KiB writes, like a compression stage's output buffer.
    for piece in plain.chunks(128 << 10) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap().0
}

fn bench_crypto(c: &mut Criterion) {
    let pass = Passphrase::from("benchmark passphrase");
    let plain = plaintext();
    let sealed = encrypt(&plain, &pass, Vec::new());

    let mut group = c.benchmark_group("encrypt");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(20);
    let mut out = Vec::with_capacity(sealed.len());
    group.bench_function("EncryptWriter 16 MiB", |b| {
        b.iter(|| {
            out.clear();
            out = encrypt(black_box(&plain), &pass, std::mem::take(&mut out));
            black_box(out.len())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("decrypt");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(20);
    let mut buf = vec![0u8; 128 << 10];
    group.bench_function("DecryptReader 16 MiB", |b| {
        b.iter(|| {
            let mut r = DecryptReader::with_iterations(
                Cursor::new(black_box(&sealed)),
                &pass,
                &[ITERATIONS],
            )
            .unwrap();
            let mut total = 0usize;
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, SIZE);
            black_box(total)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_crypto);
criterion_main!(benches);

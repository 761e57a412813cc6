//! Property tests driven by mutated inputs: the stable, in-suite counterpart of the fuzz
//! targets in `fuzz/` (which need nightly and run for minutes through `scripts/fuzz.sh`).
//!
//! Each test takes real seed inputs (`tests/fixtures/fuzz/`, the Go tool's files in
//! `tests/fixtures/go/`, streams and containers made here), damages them a few thousand times
//! with a fixed-seed generator (bit flips, cuts, inserted bytes chosen to matter to the format,
//! removed bytes, repeated runs) and hands each result to the same checker the fuzz target
//! calls (`sfdbtools::fuzzing`), which panics when a property breaks. A failure names its
//! iteration; the seed is fixed, so it reproduces. No server is needed.
//!
//! The `regressions` test replays what the fuzzers found (`tests/fixtures/fuzz/*.regress`).

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sfdbtools::fuzzing;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One random damage to `data`: the bytes inserted come from `special` half the time (the
/// bytes that change a format's state: quotes, delimiters, brackets, length bytes).
fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, special: &[u8]) {
    let at = rng.random_range(0..=data.len());
    let byte = |rng: &mut StdRng| {
        if !special.is_empty() && rng.random_bool(0.5) {
            special[rng.random_range(0..special.len())]
        } else {
            rng.random()
        }
    };
    match rng.random_range(0..6) {
        0 if !data.is_empty() => {
            let i = at.min(data.len() - 1);
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 => data.truncate(at),
        2 => {
            let b = byte(rng);
            data.insert(at, b);
        }
        3 if at < data.len() => {
            data.remove(at);
        }
        4 => {
            let end = (at + rng.random_range(1..64)).min(data.len());
            let run = data[at..end].to_vec();
            data.splice(at..at, run);
        }
        _ if !data.is_empty() => {
            let i = at.min(data.len() - 1);
            data[i] = byte(rng);
        }
        _ => {}
    }
}

/// Runs `check` on `iterations` damaged copies of the seeds (1 to 4 damages each), and on the
/// seeds themselves first.
fn run(seed: u64, iterations: usize, seeds: &[Vec<u8>], special: &[u8], check: fn(&[u8])) {
    let mut rng = StdRng::seed_from_u64(seed);
    for s in seeds {
        check(s);
    }
    for i in 0..iterations {
        let mut data = seeds[i % seeds.len()].clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut rng, &mut data, special);
        }
        let outcome = std::panic::catch_unwind(|| check(&data));
        if let Err(panic) = outcome {
            let path = std::env::temp_dir().join(format!("fuzz_props-{seed}-{i}.bin"));
            let _ = std::fs::write(&path, &data);
            std::panic::resume_unwind(panic_with(panic, i, &path));
        }
    }
}

/// Adds the iteration and where its input was saved to the checker's panic message.
fn panic_with(
    panic: Box<dyn std::any::Any + Send>,
    i: usize,
    path: &Path,
) -> Box<dyn std::any::Any + Send> {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    Box::new(format!(
        "iteration {i}: {msg} (input saved to {})",
        path.display()
    ))
}

/// Control bytes in front of a seed: the targets read them first.
fn with_control(control: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = control.to_vec();
    v.extend_from_slice(data);
    v
}

#[test]
fn statements_keep_their_bytes_whatever_the_damage() {
    let dump = fixture("fuzz/dump.sql");
    let seeds = [
        with_control(&[0x00], &dump),
        with_control(&[0x06], &dump),
        with_control(&[0x80 | 0x02], &dump),
        with_control(
            &[0x3f],
            b"DELIMITER //\nSELECT '//';//\nDELIMITER ;\nSELECT 1",
        ),
    ];
    run(
        19,
        3000,
        &seeds,
        b"'\"`;\\\n/*!-#() ,+0xDELIMITER",
        fuzzing::statements,
    );
}

#[test]
fn containers_open_only_to_what_was_sealed() {
    let go = fixture("go/o600_filecmd_envkey_untrimmed.enc");
    let text = fixture("go/text1000.txt");
    let mut rng = StdRng::seed_from_u64(1919);
    // Sealed here, then damaged by the target's own edits: random control bytes.
    for i in 0..400 {
        let mode = if i % 2 == 0 { 1u8 } else { 2 };
        // Mostly under two chunks, sometimes past a chunk boundary.
        let length: u32 = if i % 8 == 0 {
            rng.random_range(0..200_000)
        } else {
            rng.random_range(0..3000)
        };
        let mut input = vec![mode, rng.random()];
        input.extend_from_slice(&length.to_le_bytes());
        let edits = rng.random_range(0..32u8);
        input.push(edits);
        input.extend((0..edits).map(|_| rng.random::<u8>()));
        input.extend_from_slice(&text[..rng.random_range(0..text.len())]);
        let outcome = std::panic::catch_unwind(|| fuzzing::container(&input));
        if let Err(panic) = outcome {
            let path = std::env::temp_dir().join(format!("fuzz_props-container-{i}.bin"));
            let _ = std::fs::write(&path, &input);
            std::panic::resume_unwind(panic_with(panic, i, &path));
        }
    }
    // Raw containers: the Go tool's one-shot file and a chunked file cut and forged.
    let mut forged = go[..28].to_vec();
    forged.extend_from_slice(&[0, 0, 0, 0]);
    let seeds = [
        with_control(&[0, 0, 0, 0, 0, 0], &go),
        with_control(&[0, 1, 0, 0, 0, 0], &forged),
    ];
    run(
        190,
        1500,
        &seeds,
        &[0, 0xff, 0x10, 0x01],
        fuzzing::container,
    );
}

#[test]
fn decompressors_return_what_was_written_or_an_error() {
    let dump = fixture("fuzz/dump.sql");
    let mut rng = StdRng::seed_from_u64(1920);
    for i in 0..1200 {
        // mode 1..=6: compressed with Codec::ALL[mode - 1]; levels kept low (xz 9 wants
        // 674 MiB).
        let mut input = vec![
            rng.random_range(1..=6u8),
            rng.random_range(0..3u8),
            rng.random(),
        ];
        let edits = rng.random_range(0..32u8);
        input.push(edits);
        input.extend((0..edits).map(|_| rng.random::<u8>()));
        let from = rng.random_range(0..dump.len());
        let to = rng.random_range(from..=dump.len());
        input.extend_from_slice(&dump[from..to]);
        let outcome = std::panic::catch_unwind(|| fuzzing::decompress(&input));
        if let Err(panic) = outcome {
            let path = std::env::temp_dir().join(format!("fuzz_props-decompress-{i}.bin"));
            let _ = std::fs::write(&path, &input);
            std::panic::resume_unwind(panic_with(panic, i, &path));
        }
    }
    // Raw streams: each codec's output of the dump, damaged by the mutator here.
    let seeds: Vec<Vec<u8>> = (1..=6u8)
        .map(|mode| {
            let mut input = vec![mode, 0, 0, 0];
            input.extend_from_slice(&dump);
            compressed(&input)
        })
        .map(|stream| with_control(&[0, 0, 10, 0], &stream))
        .collect();
    run(
        192,
        1500,
        &seeds,
        &[0, 0xff, 0x1f, 0x8b, 0x28, 0xb5],
        fuzzing::decompress,
    );
}

/// The stream the decompress target compresses from `input` (mode, level, buffer, no edits).
fn compressed(input: &[u8]) -> Vec<u8> {
    use sfdbtools::compress::{Codec, CompressWriter, Level};
    use std::io::Write;
    let codec = Codec::ALL[usize::from(input[0] - 1)];
    let mut w = CompressWriter::new(codec, Level::new(1).unwrap(), Vec::new(), 1).unwrap();
    w.write_all(&input[4..]).unwrap();
    w.finish().unwrap().0
}

#[test]
fn profiles_read_back_as_they_were_written() {
    let go = fixture("fuzz/profile.cnf");
    let seeds = [
        go.clone(),
        b"\xef\xbb\xbf[client]\nhost = h\nuser=u\n[Extra] ; c\nk = v = w\n[ssh]\nenabled=false\n"
            .to_vec(),
    ];
    run(193, 4000, &seeds, b"[]=\n\r ;#sshclient", fuzzing::profile);
}

#[test]
fn the_config_parser_names_its_file_in_every_message() {
    let seeds = [fixture("fuzz/config.yaml")];
    run(
        194,
        1500,
        &seeds,
        b":-[]{}\n #&*!|>'\"",
        fuzzing::config_file,
    );
}

#[test]
fn rows_from_the_wire_read_back_as_the_tuples_written() {
    let seeds = [fixture("fuzz/result_set.bin")];
    run(
        195,
        4000,
        &seeds,
        &[0, 0xfb, 0xfc, 0xfe, 0xff, 11, 12, 4, 8],
        fuzzing::result_set,
    );
}

/// Inputs the fuzzers found: `tests/fixtures/fuzz/<target>-<what>.regress`.
#[test]
fn regressions() {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".regress") else {
            continue;
        };
        let target = stem.split('-').next().unwrap();
        let check: fn(&[u8]) = match target {
            "statements" => fuzzing::statements,
            "container" => fuzzing::container,
            "decompress" => fuzzing::decompress,
            "profile" => fuzzing::profile,
            "config_file" => fuzzing::config_file,
            "result_set" => fuzzing::result_set,
            other => panic!("{name}: no fuzz target {other}"),
        };
        check(&std::fs::read(&path).unwrap());
        seen += 1;
    }
    eprintln!("{seen} regression inputs replayed");
}

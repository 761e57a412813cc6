//! Interoperability of the compression stage with the standard tools (gzip, zstd, xz, python zlib).
//!
//! A backup is only as good as the restore path an operator has at 3 a.m., which is often the
//! plain command-line tool, not sfdbtools. A missing tool fails the test (naming the package to
//! install) instead of skipping it: a skipped interop test is a silent gap.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use sfdbtools::compress::{Codec, CompressWriter, Level, detect, open_detect};

/// Enough for several pgzip blocks and zstd jobs, small enough to keep the test quick.
const SQL_BYTES: usize = 4 << 20;
const THREADS: usize = 4;

fn sql_dump() -> Vec<u8> {
    let mut s = String::from("-- sfdbtools dump\n/*!40101 SET NAMES utf8mb4 */;\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut id = 0;
    while s.len() < SQL_BYTES {
        s.push_str("INSERT INTO `t` VALUES ");
        for row in 0..100 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            id += 1;
            if row > 0 {
                s.push(',');
            }
            write!(
                s,
                "({id},{}.{:02},'name {}','2024-{:02}-{:02}',0x{x:016x})",
                x % 100_000,
                (x >> 20) % 100,
                x % 997,
                (x >> 8) % 12 + 1,
                (x >> 16) % 28 + 1
            )
            .unwrap();
        }
        s.push_str(";\n");
    }
    s.into_bytes()
}

/// The apt package providing each tool, for the failure message.
fn package(tool: &str) -> &'static str {
    match tool {
        "gzip" => "gzip",
        "zstd" => "zstd",
        "xz" => "xz-utils",
        "python3" => "python3",
        _ => "?",
    }
}

/// Runs `tool args`, feeding `stdin`; panics with an install hint if the tool is missing.
fn run(tool: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = match Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed; install it with `apt-get install -y {}` (scripts/test.sh does)",
            package(tool)
        ),
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    };
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // Feed stdin from another thread: the tool may fill its stdout pipe before reading it all.
    let feeder = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().unwrap();
    let fed = feeder.join().unwrap();
    // A tool that failed early closes its stdin; its exit status is the error worth reporting.
    if out.status.success() {
        fed.unwrap();
    }
    out
}

fn decode_with_tool(codec: Codec, path: &Path) -> Output {
    let p = path.to_str().unwrap();
    match codec {
        Codec::Gzip | Codec::Pgzip => run("gzip", &["-d", "-c", p], b""),
        Codec::Zstd => run("zstd", &["-d", "-c", "-q", p], b""),
        Codec::Xz => run("xz", &["-d", "-c", p], b""),
        Codec::Zlib => run(
            "python3",
            &[
                "-c",
                "import sys, zlib\n\
                 d = zlib.decompressobj()\n\
                 with open(sys.argv[1], 'rb') as f:\n\
                 \x20   while chunk := f.read(1 << 20):\n\
                 \x20       sys.stdout.buffer.write(d.decompress(chunk))\n\
                 sys.stdout.buffer.write(d.flush())\n\
                 sys.exit(0 if d.eof and not d.unused_data else 'incomplete zlib stream or trailing data')\n",
                p,
            ],
            b"",
        ),
        Codec::None => unreachable!(),
    }
}

fn compressed_codecs() -> impl Iterator<Item = Codec> {
    Codec::ALL.into_iter().filter(|c| *c != Codec::None)
}

#[test]
fn standard_tools_decode_our_files() {
    let sql = sql_dump();
    let dir = tempfile::tempdir().unwrap();
    for codec in compressed_codecs() {
        for level in [1, 9] {
            let path = dir
                .path()
                .join(format!("dump-{codec}-{level}.sql{}", codec.extension()));
            let file = File::create(&path).unwrap();
            let mut w =
                CompressWriter::new(codec, Level::new(level).unwrap(), file, THREADS).unwrap();
            w.write_all(&sql).unwrap();
            let (file, stats) = w.finish().unwrap();
            drop(file);
            assert_eq!(stats.input_bytes, sql.len() as u64);
            assert_eq!(stats.output_bytes, std::fs::metadata(&path).unwrap().len());

            let out = decode_with_tool(codec, &path);
            assert!(
                out.status.success(),
                "{codec} level {level}: tool failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.stdout == sql,
                "{codec} level {level}: tool decoded different bytes"
            );
        }
    }
}

#[test]
fn standard_tools_reject_our_truncated_files() {
    let sql = sql_dump();
    let dir = tempfile::tempdir().unwrap();
    for codec in compressed_codecs() {
        let mut w = CompressWriter::new(codec, Level::DEFAULT, Vec::new(), THREADS).unwrap();
        w.write_all(&sql).unwrap();
        let (bytes, _) = w.finish().unwrap();
        let path = dir.path().join(format!("cut{}", codec.extension()));
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        let out = decode_with_tool(codec, &path);
        assert!(
            !out.status.success(),
            "{codec}: tool accepted a truncated file"
        );
    }
}

/// The restore side must read what operators produce by hand (`mysqldump | gzip > x.sql.gz`).
#[test]
fn we_decode_files_made_by_the_standard_tools() {
    let sql = sql_dump();
    let made = [
        (Codec::Gzip, run("gzip", &["-c", "-6"], &sql)),
        (Codec::Zstd, run("zstd", &["-c", "-q", "-3"], &sql)),
        (Codec::Xz, run("xz", &["-c", "-3"], &sql)),
        (
            Codec::Zlib,
            run(
                "python3",
                &[
                    "-c",
                    "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 6))",
                ],
                &sql,
            ),
        ),
    ];
    for (codec, out) in made {
        assert!(
            out.status.success(),
            "{codec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(detect(&out.stdout), codec);
        let mut back = Vec::new();
        let mut r = open_detect(BufReader::new(&out.stdout[..])).unwrap();
        assert_eq!(r.codec(), codec);
        r.read_to_end(&mut back).unwrap();
        assert!(back == sql, "{codec}: decoded different bytes");
    }
}

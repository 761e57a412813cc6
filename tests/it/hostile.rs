//! Hostile files: a small compressed file whose SQL is one statement that never ends (a stray
//! quote or an open comment over many MiB: a "bomb") stops `verify` and `db-restore` at the
//! statement size limit with a message naming the statement, its line and byte, and the limit,
//! instead of buffering the whole stream; oversized metadata is refused unread. Memory itself
//! is measured by `scripts/hostile-rss.sh`, not asserted here.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TestDb, output_text, restore_single, verify};
use mysql_async::prelude::*;
use sfdbtools::compress::{Codec, CompressWriter, Level};

/// `head` then `n` bytes of `fill`, compressed with `codec` as it is written (never held whole).
fn bomb(dir: &Path, codec: Codec, head: &[u8], fill: u8, n: usize) -> PathBuf {
    let path = dir.join(format!("bomb.sql{}", codec.extension()));
    let file = std::fs::File::create(&path).unwrap();
    let mut w = CompressWriter::new(codec, Level::new(1).unwrap(), file, 1).unwrap();
    w.write_all(head).unwrap();
    let chunk = vec![fill; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        w.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
    w.finish().unwrap();
    path
}

/// Exit 1 and the limit's message for statement 2 at line 2, byte 10 (after `SELECT 1;\n`).
fn assert_stopped_at_limit(out: &Output, limit: &str, inside: &str) {
    let t = output_text(out);
    assert_eq!(out.status.code(), Some(1), "exit code; output: {t}");
    assert!(
        t.contains(&format!(
            "statement 2 (line 2, byte 10 of the SQL) is over the statement size limit of {limit} (--max-statement-size)"
        )),
        "{t}"
    );
    assert!(
        t.contains(inside) && t.contains("the file is damaged"),
        "{t}"
    );
}

#[test]
fn verify_stops_a_bomb_at_the_statement_limit() {
    let dir = common::out_dir();
    let quote = b"SELECT 1;\nINSERT INTO t VALUES ('";
    let zstd = bomb(dir.path(), Codec::Zstd, quote, b'a', 64 << 20);
    assert!(
        std::fs::metadata(&zstd).unwrap().len() < 1 << 20,
        "not a bomb"
    );
    let out = verify(&zstd, &["--max-statement-size", "1M"]);
    assert_stopped_at_limit(
        &out,
        "1 MiB (1048576 bytes)",
        "inside a quoted string opened at byte 32",
    );
    for codec in [Codec::Gzip, Codec::Xz] {
        let f = bomb(dir.path(), codec, quote, b'a', 8 << 20);
        let out = verify(&f, &["--max-statement-size", "1M"]);
        assert_stopped_at_limit(&out, "1 MiB (1048576 bytes)", "quoted string");
    }
    let comment = bomb(
        dir.path(),
        Codec::Zstd,
        b"SELECT 1;\nSELECT 2 /*",
        b'c',
        8 << 20,
    );
    let out = verify(&comment, &["--max-statement-size", "2M"]);
    assert_stopped_at_limit(
        &out,
        "2 MiB (2097152 bytes)",
        "inside a comment opened at byte 19",
    );
    // Between statements a comment is dropped as it is read: no limit, the cut is the error.
    let between = bomb(dir.path(), Codec::Zstd, b"SELECT 1;\n/*", b'c', 8 << 20);
    let out = verify(&between, &["--max-statement-size", "1M"]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("ends inside a comment") && !t.contains("size limit"),
        "{t}"
    );
}

/// The default limit, the server's `max_allowed_packet`, is in `serial` (it lowers it): here the
/// server's is 1 GiB, which a test should not fill.
#[tokio::test]
async fn restore_stops_a_bomb_at_the_statement_limit_in_every_mode() {
    let db = TestDb::new("hostile").await;
    let dir = common::out_dir();
    let quote = b"SELECT 1;\nINSERT INTO t VALUES ('";
    let f = bomb(dir.path(), Codec::Zstd, quote, b'a', 8 << 20);
    for extra in [&[][..], &["--drop-target"], &["--dry-run"]] {
        let mut args = vec!["--max-statement-size", "1M"];
        args.extend_from_slice(extra);
        let out = restore_single(&f, &db.name, &args);
        assert_stopped_at_limit(&out, "1 MiB (1048576 bytes)", "quoted string");
    }
    let mut conn = db.conn().await;
    let tables: Vec<String> = conn.query("SHOW TABLES").await.unwrap();
    assert!(tables.is_empty(), "{tables:?}");
    conn.disconnect().await.unwrap();
}

#[test]
fn metadata_larger_than_any_is_refused_unread() {
    let dir = common::out_dir();
    let file = dir.path().join("small.sql");
    std::fs::write(
        &file,
        "SELECT 1;\n-- Dump completed on 2026-01-01 00:00:00\n",
    )
    .unwrap();
    let meta = std::fs::File::create(dir.path().join("small.sql.meta.json")).unwrap();
    meta.set_len(65 << 20).unwrap();
    let out = verify(&file, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("metadata") && t.contains("more than 67108864 bytes"),
        "{t}"
    );
}

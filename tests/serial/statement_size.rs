//! `--statement-size`: sizes as the MySQL tools write them, and statements of the largest size
//! filled up to it and restored on a server left at the default `max_allowed_packet` (16 MiB).
//!
//! Alone on its server ([`common::serial`], in the `serial` binary): it lowers the server's
//! `max_allowed_packet` to the default for a moment, which must not meet another test's larger
//! rows.

use crate::common;

use common::{
    TestDb, assert_same, assert_success, backup, dump_file_in, metadata_of, out_dir,
    restore_single, restore_with_client, server,
};
use mysql_async::prelude::*;

const DEFAULT_PACKET: u64 = 16 << 20;

/// Puts the server's `max_allowed_packet` back when dropped, also when the test fails.
struct PacketSize(u64);

impl PacketSize {
    /// Sets the server's `max_allowed_packet` to `bytes` until the guard is dropped.
    async fn set(conn: &mut mysql_async::Conn, bytes: u64) -> PacketSize {
        let was: u64 = conn
            .query_first("SELECT @@GLOBAL.max_allowed_packet")
            .await
            .unwrap()
            .unwrap();
        let guard = PacketSize(was);
        conn.query_drop(format!("SET GLOBAL max_allowed_packet = {bytes}"))
            .await
            .unwrap();
        guard
    }
}

impl Drop for PacketSize {
    fn drop(&mut self) {
        let _ = server()
            .client(None)
            .arg("-e")
            .arg(format!("SET GLOBAL max_allowed_packet = {}", self.0))
            .output();
    }
}

#[tokio::test]
async fn statements_of_16m_fill_up_and_restore_at_the_default_packet_size() {
    let _serial = common::serial().await;
    let src = TestDb::new("ss_src").await;
    // Every kind of cell the serialiser writes differently, about 350 bytes a row: 21 MB of
    // SQL, one statement of nearly 16 MiB and the rest.
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, n BIGINT, d DECIMAL(12,2), f DOUBLE, \
         s VARCHAR(200), b VARBINARY(64), dt DATETIME(6), e ENUM('a','b','c'), x TEXT)",
    )
    .await;
    src.exec(
        "INSERT INTO t SELECT seq, seq * 7919, seq / 100, seq / 3e0, \
         CONCAT('row ', seq, ' it''s \"q\" \\\\ ', REPEAT('y', seq % 100)), \
         UNHEX(SHA2(seq, 256)), TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND, \
         ELT(1 + seq % 3, 'a', 'b', 'c'), IF(seq % 10 = 0, NULL, REPEAT('z', 150)) \
         FROM seq_1_to_60000",
    )
    .await;

    let mut conn = server().conn(None).await;
    let _restore_setting = PacketSize::set(&mut conn, DEFAULT_PACKET).await;

    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &src.name,
            "-c",
            "none",
            "-j",
            "2",
            "--statement-size",
            "16M",
            // One chunk: a table split by key ranges has statements per range.
            "--chunk-bytes",
            "1073741824",
        ],
        dir.path(),
    );
    assert_success(&out, "backup");
    let file = dump_file_in(dir.path());

    let largest = metadata_of(&file)["max_statement_bytes"].as_u64().unwrap();
    assert!(
        largest <= DEFAULT_PACKET && largest > DEFAULT_PACKET - 4096,
        "the largest statement is {largest} bytes"
    );
    let sql = std::fs::read(&file).unwrap();
    let inserts: Vec<usize> = sql
        .split(|&c| c == b'\n')
        .filter(|l| l.starts_with(b"INSERT INTO"))
        .map(|l| l.len() + 1)
        .collect();
    assert!(inserts.len() >= 2, "{} statements", inserts.len());
    assert_eq!(*inserts.iter().max().unwrap() as u64, largest);

    let by_client = TestDb::new("ss_client").await;
    restore_with_client(&by_client.name, &file);
    assert_same(&src.name, &by_client.name).await;

    let by_us = TestDb::new("ss_ours").await;
    let out = restore_single(&file, &by_us.name, &["-j", "2"]);
    assert_success(&out, "db-restore");
    assert_same(&src.name, &by_us.name).await;
}

/// 0, garbage and sizes past 16M are usage errors (exit 2) that name the option; nothing is
/// written.
#[test]
fn bad_sizes_exit_2_naming_the_option() {
    let dir = out_dir();
    for (size, says) in [
        ("0", "too small"),
        ("4X", "not a size"),
        ("1.5M", "not a size"),
        ("64M", "too large"),
    ] {
        let out = server()
            .sfdbtools()
            .args(["-q", "db-backup", "single", "--database", "x", "-t", "T"])
            .args(["--statement-size", size])
            .args(server().connection_args())
            .arg("-o")
            .arg(dir.path().join("never"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{size}: {stderr}");
        assert!(stderr.contains("--statement-size"), "{size}: {stderr}");
        assert!(stderr.contains(says), "{size}: {stderr}");
        assert!(!dir.path().join("never").exists());
    }
}

/// `db-restore` without `--max-statement-size` stops a statement that never ends at the
/// server's `max_allowed_packet` (lowered to 4 MiB here), which would refuse it anyway.
#[tokio::test]
async fn restore_stops_an_endless_statement_at_the_servers_max_allowed_packet() {
    use std::io::Write;
    let _serial = common::serial().await;
    let db = TestDb::new("ss_bomb").await;
    let dir = out_dir();
    let path = dir.path().join("bomb.sql.zst");
    let mut w = sfdbtools::compress::CompressWriter::new(
        sfdbtools::compress::Codec::Zstd,
        sfdbtools::compress::Level::new(1).unwrap(),
        std::fs::File::create(&path).unwrap(),
        1,
    )
    .unwrap();
    w.write_all(b"SELECT 1;\nINSERT INTO t VALUES ('").unwrap();
    for _ in 0..8 {
        w.write_all(&[b'a'; 1 << 20]).unwrap();
    }
    w.finish().unwrap();

    let mut conn = server().conn(None).await;
    let _restore_setting = PacketSize::set(&mut conn, 4 << 20).await;
    conn.disconnect().await.unwrap();
    let out = restore_single(&path, &db.name, &[]);
    let t = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(
            "statement 2 (line 2, byte 10 of the SQL) is over the statement size limit of 4 MiB \
             (4194304 bytes) (--max-statement-size)"
        ),
        "{t}"
    );
}

/// Statements over the restore's 16 MiB queue all run on one data connection, whatever the
/// number of connections: the driver keeps each connection's largest write buffer for its
/// life, so spreading them would leave one such buffer per connection in memory. Each row
/// records the connection that inserted it; small statements between them keep the other
/// connections busy.
#[tokio::test]
async fn statements_over_the_queue_run_on_one_data_connection() {
    use std::io::Write;
    let _serial = common::serial().await;
    let db = TestDb::new("ss_lane").await;
    let dir = out_dir();
    let path = dir.path().join("large.sql");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"CREATE TABLE t (id INT PRIMARY KEY, s LONGTEXT, c BIGINT);\n")
        .unwrap();
    let big = vec![b'a'; (16 << 20) + 1024];
    for i in 0..5 {
        for j in 0..8 {
            let id = 1000 + i * 100 + j;
            writeln!(f, "INSERT INTO t VALUES ({id}, 'small', CONNECTION_ID());").unwrap();
        }
        write!(f, "INSERT INTO t VALUES ({i}, '").unwrap();
        f.write_all(&big).unwrap();
        f.write_all(b"', CONNECTION_ID());\n").unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();

    let mut conn = server().conn(None).await;
    let _restore_setting = PacketSize::set(&mut conn, 64 << 20).await;
    conn.disconnect().await.unwrap();
    let out = restore_single(&path, &db.name, &["-j", "4"]);
    assert_success(&out, "db-restore");

    let (large, connections, small_connections): (u64, u64, u64) = db
        .conn()
        .await
        .query_first(
            "SELECT SUM(LENGTH(s) > 1000), COUNT(DISTINCT IF(LENGTH(s) > 1000, c, NULL)), \
             COUNT(DISTINCT IF(LENGTH(s) < 1000, c, NULL)) FROM t",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(large, 5);
    assert_eq!(
        connections, 1,
        "the large statements ran on {connections} connections"
    );
    // The small ones did spread: the test would prove nothing on one connection.
    assert!(small_connections > 1, "{small_connections}");
}

//! `--engine mysqldump`: the stock dump tool behind the same chain, names and metadata.

mod common;

use common::compare::{diff, image};
use common::{
    TestDb, assert_success, dump_file_in, metadata_of, out_dir, restore_with_client, server,
};

#[tokio::test]
async fn the_fallback_writes_the_same_files_and_restores() {
    let db = TestDb::new("fallback").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), b BLOB, d DATETIME(6));
         INSERT INTO t VALUES (1, 'it''s', 0x00FF, '2001-02-03 04:05:06.789'), (2, NULL, '', NULL);
         CREATE VIEW v AS SELECT id FROM t;",
    )
    .await;
    // An account with a password: it must reach the child without a command line.
    let user = common::TestUser::new("fallback", "p\"w d", "ALL ON *.*").await;
    let dir = out_dir();
    let out = user.backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "zstd",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    );
    assert_success(&out, "mysqldump engine");
    let file = dump_file_in(dir.path());
    assert!(file.to_string_lossy().ends_with(".sql.zst"));
    let meta = metadata_of(&file);
    assert_eq!(meta["engine"], "mysqldump");
    assert_eq!(meta["backup"]["type"], "single");
    assert_eq!(
        meta["file"]["size_bytes"].as_u64().unwrap(),
        std::fs::metadata(&file).unwrap().len()
    );
    if server().is_mariadb() {
        let gtid = meta["replication"]["gtid_info"].as_str().unwrap();
        assert!(
            gtid.starts_with("0-1-"),
            "the dump's own position is recorded: {gtid:?}"
        );
    }
    assert!(
        !std::env::temp_dir()
            .join(format!(".sfdbtools-mysqldump-{}.cnf", std::process::id()))
            .exists()
    );

    let mut sql = Vec::new();
    use std::io::Read;
    sfdbtools::input::open(&file, None)
        .unwrap()
        .read_to_end(&mut sql)
        .unwrap();
    let plain = dir.path().join("plain.sql");
    std::fs::write(&plain, &sql).unwrap();
    let copy = TestDb::new("fallback_copy").await;
    restore_with_client(&copy.name, &plain);
    let mut conn = server().conn(None).await;
    let d = diff(
        &image(&mut conn, &db.name).await,
        &image(&mut conn, &copy.name).await,
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// A view whose table is gone makes mariadb-dump fail; the old tool's `-f` hid that. Any
/// non-zero exit fails the run, shows the tool's message and leaves no file.
#[tokio::test]
async fn a_failing_mysqldump_fails_the_run_and_leaves_nothing() {
    let db = TestDb::new("fallback_broken").await;
    db.exec("CREATE TABLE t (id INT); CREATE VIEW v AS SELECT id FROM t; DROP TABLE t;")
        .await;
    let dir = out_dir();
    let out = common::backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed") && stderr.contains("`v`"),
        "the tool's own message must show: {stderr}"
    );
    let left = common::files_in(dir.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
}

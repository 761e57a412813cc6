//! Fault: the server restarts in the middle of a dump. In its own test binary because a restart
//! drops every connection of every test sharing the server.

mod common;

use common::{TestDb, backup, out_dir, server, wait_for_rows};

/// The server going away mid-dump fails the run loudly, naming the table and how far it got;
/// the dump never reconnects (a new connection would be outside the snapshot), leaves no file
/// and no metadata behind, and the restarted server takes DDL and a global lock right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_dump_fails_it_and_leaves_nothing() {
    let db = TestDb::new("restart").await;
    common::create_big_table(&db).await;
    let dir = out_dir();
    let (name, path) = (db.name.clone(), dir.path().to_owned());
    let dump = tokio::task::spawn_blocking(move || {
        backup(
            &["single", "--database", &name, "-c", "zstd", "-j", "2"],
            &path,
        )
    });
    wait_for_rows(&db.name).await;
    let restarted = tokio::task::spawn_blocking(|| server().restart())
        .await
        .unwrap();
    if restarted.is_none() {
        eprintln!("SFDB_TEST_URL points at an external server, which this test cannot restart");
        dump.await.unwrap();
        return;
    }
    let out = dump.await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`big`") && stderr.contains("connection lost"),
        "the message must name the table and what happened:\n{stderr}"
    );
    let left = common::files_in(dir.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
    // A fresh connection per statement: the restart dropped every earlier one.
    common::assert_no_lock_left(&db.name, "big").await;
}

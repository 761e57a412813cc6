//! Tests that must have the server to themselves, one at a time ([`common::serial`], in the
//! `serial` binary): a restart drops every connection of every test sharing the server, and a
//! transaction held open on purpose (to make a deadlock) stalls any dump's FLUSH TABLES WITH
//! READ LOCK (MariaDB's global read lock waits for open transactions that wrote, and new writes
//! wait behind it).

use crate::common;

use std::process::Stdio;

use common::{TestDb, assert_success, backup, out_dir, output_text, server, wait_for_rows};
use mysql_async::prelude::*;

/// The server going away mid-dump fails the run loudly, naming the table and how far it got;
/// the dump never reconnects (a new connection would be outside the snapshot), leaves no file
/// and no metadata behind, and the restarted server takes DDL and a global lock right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_dump_fails_it_and_leaves_nothing() {
    let _alone = common::serial().await;
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

/// Polls `sql` (one number, with `db` bound once) until it is above zero; false after 60 s.
///
/// Every 200 ms: InnoDB refreshes the cache behind information_schema.INNODB_TRX only when it
/// was not read for 100 ms, so a faster poll keeps reading the same stale rows.
async fn wait_until(conn: &mut mysql_async::Conn, sql: &str, db: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n: Option<u64> = conn.exec_first(sql, (db,)).await.unwrap();
        if n.unwrap_or(0) > 0 {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Stops a restore that a test gave up on and panics with what it printed.
fn give_up(mut child: std::process::Child, why: &str) -> ! {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "{why}; the restore ({}) printed:\n{}",
        out.status,
        output_text(&out)
    );
}

/// A row statement chosen as a deadlock's victim was rolled back whole (autocommit): the
/// restore runs it again instead of failing, and every row arrives once. The deadlock is made
/// on purpose: another transaction holds row 5, the restore's statement waits for it holding
/// rows 1-4, and the other transaction (heavier, so not the victim) then asks for row 2.
#[tokio::test]
async fn a_deadlocked_row_statement_is_run_again() {
    let _alone = common::serial().await;
    let dir = out_dir();
    let file = dir.path().join("gate.sql");
    let gate = format!("sfdb_gate_{}", std::process::id());
    std::fs::write(
        &file,
        format!(
            "-- sfdbtools 0.1.0 native dump\n\
             CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` INT) ENGINE=InnoDB;\n\
             DO GET_LOCK('{gate}', 60);\n\
             INSERT INTO `t` (`id`,`v`) VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,6);\n\
             DO RELEASE_LOCK('{gate}');\n\
             -- Dump completed\n"
        ),
    )
    .unwrap();
    let dst = TestDb::new("rs_deadlock").await;
    let mut other = server().conn(Some(&dst.name)).await;
    other
        .query_drop(format!("DO GET_LOCK('{gate}', 60)"))
        .await
        .unwrap();
    let child = server()
        .sfdbtools()
        .args(["-q", "db-restore", "single", "--file"])
        .arg(&file)
        .args(["--target-db", &dst.name, "-t", "TEST"])
        .args(server().connection_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watch = server().conn(None).await;
    if !wait_until(
        &mut watch,
        // The table too: the gate is no table's statement, so the restore may send it on a
        // data connection while the CREATE TABLE is still running on another (seen once).
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST p WHERE p.DB = ? \
         AND p.INFO LIKE 'DO GET_LOCK%' AND EXISTS (SELECT 1 FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = p.DB AND TABLE_NAME = 't')",
        &dst.name,
    )
    .await
    {
        give_up(child, "the restore never reached its gate");
    }
    // A committed row first: MariaDB loads into an empty table under a table lock (its bulk
    // insert), and the deadlock needs row locks. Then a heavier transaction than the
    // restore's statement (InnoDB rolls back the lighter one).
    other
        .query_drop("INSERT INTO t VALUES (3000, 0)")
        .await
        .unwrap();
    other.query_drop("BEGIN").await.unwrap();
    other
        .query_drop("INSERT INTO t SELECT seq, 0 FROM seq_100_to_2000")
        .await
        .unwrap();
    other
        .query_drop("INSERT INTO t VALUES (5, 50)")
        .await
        .unwrap();
    other
        .query_drop(format!("DO RELEASE_LOCK('{gate}')"))
        .await
        .unwrap();
    if !wait_until(
        &mut watch,
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p \
         ON p.ID = t.trx_mysql_thread_id WHERE p.DB = ? AND t.trx_state = 'LOCK WAIT'",
        &dst.name,
    )
    .await
    {
        let _ = other.query_drop("ROLLBACK").await;
        give_up(child, "the restore's statement never waited for row 5");
    }
    // The cycle: the restore holds row 2 and waits for 5; this asks for 2. The restore's
    // statement is the victim, so this one goes through.
    other
        .query_drop("INSERT INTO t VALUES (2, 20)")
        .await
        .expect("the restore's statement should have been the deadlock's victim");
    other.query_drop("ROLLBACK").await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_success(
        &out,
        "a restore whose row statement was a deadlock's victim",
    );
    let rows: Vec<(i32, i32)> = other
        .query("SELECT id, v FROM t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        rows,
        [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (3000, 0)]
    );
}

/// `--engine mysqldump --consistency lock`: the tool gets `--lock-all-tables` in place of the
/// default options' `--single-transaction` (mariadb-dump refuses the two together), and the
/// file restores whole. Alone on its server: the global read lock would stall other tests'
/// writes for the dump's length.
#[tokio::test]
async fn the_mysqldump_engine_dumps_under_consistency_lock() {
    let _alone = common::serial().await;
    let src = TestDb::new("md_lock").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO t VALUES (1,'a'),(2,'b')",
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &src.name,
            "--engine",
            "mysqldump",
            "--consistency",
            "lock",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "mysqldump engine under --consistency lock");
    let dst = TestDb::new("md_lock_to").await;
    let out = common::restore_single(&common::dump_file_in(dir.path()), &dst.name, &[]);
    assert_success(&out, "restore");
    common::assert_same(&src.name, &dst.name).await;
}

//! `db-copy --as-replica --start-replica`: a copy that leaves its target replicating from the
//! source, on a target server of its own.
//!
//! Alone on its server ([`common::serial`], in the `serial` binary): a replica limited to the
//! copied database still applies every procedure, function and event statement of the source
//! (MariaDB's table filters do not cover them), so another test's `CREATE PROCEDURE` in a
//! database of its own on the shared server would stop this replica with ERROR 1049. That is
//! MariaDB's behaviour, which the copy's summary tells the user about; not what this test is for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common;

use common::copying::{finished, gtid_seq, start_writer, wait_for_commits, writer_source};
use common::{assert_success, output_text, server, start_sandbox};
use mysql_async::prelude::*;

/// `--as-replica --start-replica` on a fresh server: the copy loads, the target replicates
/// from the snapshot's GTID while the writer goes on, and catches up to identical tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_a_replica_the_target_catches_up_to_identical_tables() {
    let _serial = common::serial().await;
    if !server().is_mariadb() || server().dir.is_none() {
        return; // MariaDB's GTID replication, from a server the harness started
    }
    let replica = start_sandbox("-replica", &["--server-id", "3"]);
    let mut r = replica.conn(None).await;
    let db = writer_source("copy_replica").await;

    // A target whose own binary log is ahead in the source's domain could never start from
    // the copy's position: refused before anything is copied, saying what to do.
    let source_seq: u64 = {
        let mut s = server().conn(None).await;
        let pos: String = s
            .query_first("SELECT @@gtid_binlog_pos")
            .await
            .unwrap()
            .unwrap_or_default();
        gtid_seq(&pos)
    };
    r.query_drop(format!(
        "SET SESSION gtid_domain_id = 0, gtid_seq_no = {}; CREATE DATABASE copy_clash; \
         DROP DATABASE copy_clash",
        source_seq + 1_000_000
    ))
    .await
    .unwrap();
    let mut c = server().sfdbtools();
    c.args([
        "db-copy",
        "single",
        "--database",
        &db.name,
        "--as-replica",
        "-q",
    ])
    .args(server().connection_args())
    .arg(format!("--target-host={}", replica.host))
    .arg(format!("--target-port={}", replica.port))
    .arg("--target-user=root")
    .env("SFDB_TARGET_PASSWORD", "");
    let out = c.output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("ERROR 1947") && text.contains("RESET MASTER"),
        "{text}"
    );
    let there: Option<String> = r
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (&db.name,),
        )
        .await
        .unwrap();
    assert_eq!(there, None, "the refused copy went ahead");
    r.query_drop("RESET MASTER").await.unwrap();
    let own_before = own_transactions(&mut r, 3).await;
    let user = format!("cp_repl_{}", std::process::id());
    let mut s = server().conn(None).await;
    s.query_drop(format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'replpw';
         GRANT REPLICATION SLAVE ON *.* TO '{user}'@'%';"
    ))
    .await
    .unwrap();
    let as_replica = |password: &str| {
        let mut c = server().sfdbtools();
        c.args([
            "--log-format",
            "json",
            "db-copy",
            "single",
            "--database",
            &db.name,
        ])
        .args(server().connection_args())
        .arg(format!("--target-host={}", replica.host))
        .arg(format!("--target-port={}", replica.port))
        .arg("--target-user=root")
        .args([
            "--as-replica",
            "--start-replica",
            "--replication-user",
            &user,
        ])
        .args(["-j", "2", "-q", "--position-table", "copy_meta.positions"])
        .env("SFDB_TARGET_PASSWORD", "")
        .env("SFDB_REPLICATION_PASSWORD", password);
        c
    };
    // The position's database, made outside the replica's binary log like everything else.
    r.query_drop(
        "SET SESSION sql_log_bin = 0; CREATE DATABASE copy_meta; SET SESSION sql_log_bin = 1",
    )
    .await
    .unwrap();

    // A wrong replication password: START SLAVE succeeds, the replica's login does not. The
    // run says so and fails, though every row arrived.
    let out = as_replica("not-the-password").output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot read the source's binary log") && text.contains("error 1045"),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "{text}");
    r.query_drop(format!(
        "SET SESSION sql_log_bin = 0; STOP SLAVE; RESET SLAVE ALL; DROP DATABASE {}",
        common::quote(&db.name)
    ))
    .await
    .unwrap();

    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = start_writer(db.name.clone(), stop.clone());
    wait_for_commits(&db, 5).await;

    let mut c = as_replica("replpw");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    // More writes after the copy: the replica must get them from the binary log.
    let more_until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < more_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let commits = writer.await.unwrap();
    assert_success(&out, "copy as a replica");
    // Limited to one database: the summary says what such a replica does not filter.
    let text = output_text(&out);
    assert!(
        text.contains("replicate_wild_do_table") && text.contains("sql_slave_skip_counter = 1"),
        "{text}"
    );
    let done = finished(&out);
    assert_eq!(done["replica_started"], true, "{done}");
    let statements = done["replica_statements"].to_string();
    assert!(
        !statements.contains("replpw"),
        "the password was printed: {statements}"
    );
    assert!(
        statements.contains("MASTER_USE_GTID = slave_pos"),
        "{statements}"
    );

    let source_pos: String = s
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let want = gtid_seq(&source_pos);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let row: Option<mysql_async::Row> = r.query_first("SHOW SLAVE STATUS").await.unwrap();
        let row = row.expect("the target is no replica");
        let sql_error: Option<String> = row.get("Last_SQL_Error");
        let io_error: Option<String> = row.get("Last_IO_Error");
        assert!(
            sql_error.as_deref().unwrap_or("").is_empty()
                && io_error.as_deref().unwrap_or("").is_empty(),
            "replication failed: {sql_error:?} {io_error:?}"
        );
        let pos: String = r
            .query_first("SELECT @@gtid_slave_pos")
            .await
            .unwrap()
            .unwrap_or_default();
        if !pos.is_empty() && gtid_seq(&pos) >= want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not catch up: {pos} < {source_pos}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(commits.len() > 5);
    for table in ["accounts", "ledger", "counter"] {
        let q = format!(
            "CHECKSUM TABLE {}.{table} EXTENDED",
            common::quote(&db.name)
        );
        let a: Option<(String, Option<u64>)> = s.query_first(q.as_str()).await.unwrap();
        let b: Option<(String, Option<u64>)> = r.query_first(q.as_str()).await.unwrap();
        assert_eq!(
            a.map(|x| x.1),
            b.map(|x| x.1),
            "{table} differs on the replica"
        );
    }
    // Nothing of the copy went into the replica's own binary log (its DROP and CREATE
    // DATABASE included): a transaction of its own in the source's domain would make the
    // source refuse it as a replica once the source's binary log moved on.
    assert_eq!(
        own_transactions(&mut r, 3).await,
        own_before,
        "the copy wrote into the replica's binary log"
    );
    let recorded: Option<u64> = r
        .query_first("SELECT COUNT(*) FROM copy_meta.positions")
        .await
        .unwrap();
    assert!(recorded >= Some(1), "no position recorded: {recorded:?}");
    r.query_drop("STOP SLAVE").await.unwrap();
    s.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
}

/// How many transactions the server `server_id` wrote into its own binary log (its GTID
/// events), in every binary log file it has.
async fn own_transactions(conn: &mut mysql_async::Conn, server_id: u32) -> usize {
    let files: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let mut n = 0;
    for f in files {
        let name: String = f.get(0).unwrap();
        let events: Vec<mysql_async::Row> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{name}'"))
            .await
            .unwrap();
        n += events
            .iter()
            .filter(|e| {
                e.get::<String, _>("Event_type").as_deref() == Some("Gtid")
                    && e.get::<u32, _>("Server_id") == Some(server_id)
            })
            .count();
    }
    n
}

//! Parallel dumps in one snapshot: a concurrent writer, chunk boundaries, locks and their
//! fallbacks, DDL during a dump, and locks released after a failure.
//!
//! The tests of this binary run at once on one server, and a dump's DDL block is server-wide:
//! the "nothing is left locked" checks wait up to 60 s, long enough for the other tests' dumps
//! to end, while a lock that was really left behind never goes away.

use crate::common;

use std::time::{Duration, Instant};

use common::compare::{diff, image};
use common::copying::gtid_seq;
use common::{
    TestDb, assert_success, backup, dump_file_in, metadata_of, out_dir, restore_with_client,
    server, wait_for_rows,
};
use mysql_async::prelude::*;

/// While a 4-thread dump runs, transfers, ledger appends and a counter commit concurrently. The
/// restored dump must be one point in time, and its GTID the last transaction it contains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_writer_sees_one_point_in_time() {
    if !server().is_mariadb() {
        eprintln!("GTID bookkeeping below is MariaDB's; on MySQL the invariants are still checked");
    }
    let db = TestDb::new("consistent").await;
    db.exec(
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL);
         INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_100;
         CREATE TABLE ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT, dst INT, amount INT, pad CHAR(200));
         INSERT INTO ledger (src, dst, amount, pad) SELECT 0, 0, 0, REPEAT('x', 200) FROM seq_1_to_200000;
         CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL);
         INSERT INTO counter VALUES (1, 200000);
         ANALYZE TABLE accounts, ledger, counter;",
    )
    .await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let name = db.name.clone();
        tokio::spawn(async move {
            let mut conn = server().conn(Some(&name)).await;
            let is_mariadb = server().is_mariadb();
            // (counter value after the commit, GTID sequence of the commit)
            let mut commits: Vec<(u64, u64)> = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut i: u64 = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst)
                && Instant::now() < deadline
                && i < 200_000
            {
                i += 1;
                let (a, b) = (1 + i % 100, 1 + (i * 7) % 100);
                conn.query_drop(format!(
                    "START TRANSACTION;
                     UPDATE accounts SET balance = balance - {i} % 50 WHERE id = {a};
                     UPDATE accounts SET balance = balance + {i} % 50 WHERE id = {b};
                     INSERT INTO ledger (src, dst, amount, pad) VALUES ({a}, {b}, {i} % 50, 'w');
                     UPDATE counter SET n = n + 1 WHERE id = 1;
                     COMMIT"
                ))
                .await
                .unwrap();
                if is_mariadb {
                    let last: String = conn
                        .query_first("SELECT @@last_gtid")
                        .await
                        .unwrap()
                        .unwrap();
                    commits.push((200_000 + i, gtid_seq(&last)));
                }
            }
            commits
        })
    };
    // Let the writer get going before the snapshot is taken: a few commits must be in.
    {
        let mut conn = db.conn().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n: u64 = conn
                .query_first("SELECT n FROM counter")
                .await
                .unwrap()
                .unwrap();
            if n >= 200_005 {
                break;
            }
            assert!(Instant::now() < deadline, "the writer never committed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "-j",
            "4",
            "--chunk-bytes",
            "2000000",
        ],
        dir.path(),
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let commits = writer.await.unwrap();
    assert_success(&out, "dump under concurrent writes");
    assert!(
        commits.len() > 10,
        "the writer committed only {} transactions",
        commits.len()
    );

    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    assert_eq!(meta["threads"], 4);
    let ledger_chunks = meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "ledger")
        .unwrap()["chunks"]
        .as_u64()
        .unwrap();
    assert!(
        ledger_chunks > 1,
        "ledger should have been split into chunks"
    );

    let dst = TestDb::new("consistent_restored").await;
    restore_with_client(&dst.name, &file);
    let mut conn = dst.conn().await;
    let total: i64 = conn
        .query_first("SELECT CAST(SUM(balance) AS SIGNED) FROM accounts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        total,
        100 * 1000,
        "money was created or destroyed: the tables are not one point in time"
    );
    let ledger: u64 = conn
        .query_first("SELECT COUNT(*) FROM ledger")
        .await
        .unwrap()
        .unwrap();
    let n: u64 = conn
        .query_first("SELECT n FROM counter")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ledger, n, "ledger rows and the counter disagree");
    assert!(
        n > 200_000 && n < 200_000 + commits.len() as u64 + 1,
        "the snapshot was taken outside the writes (n = {n})"
    );

    if server().is_mariadb() {
        let gtid = meta["replication"]["gtid_info"].as_str().unwrap();
        let seq = gtid_seq(gtid);
        let last_in = commits
            .iter()
            .find(|(c, _)| *c == n)
            .map(|(_, g)| *g)
            .expect("the restored counter is a commit");
        let next = commits.iter().find(|(c, _)| *c == n + 1).map(|(_, g)| *g);
        assert!(
            seq >= last_in,
            "GTID {gtid} is before the last transaction in the dump ({last_in})"
        );
        if let Some(next) = next {
            assert!(
                seq < next,
                "GTID {gtid} includes a transaction that is not in the dump ({next})"
            );
        }
        assert_eq!(meta["snapshot"]["gtid_binlog_pos"].as_str(), Some(gtid));
    }
}

/// Key ranges: sparse, negative and extreme keys, NULLs in a unique key, an ENUM inside a
/// composite key. Every row exactly once, whatever the chunking.
#[tokio::test]
async fn chunk_boundaries_lose_and_repeat_nothing() {
    let db = TestDb::new("chunks").await;
    db.exec(
        "CREATE TABLE sparse (id BIGINT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO sparse VALUES (-9223372036854775808,'min'),(-1000000,'a'),(-5,'b'),(0,'z'),(1,'c'),(2,'d'),
           (1000,'e'),(1000000000000,'f'),(9223372036854775807,'max');
         INSERT INTO sparse SELECT seq * 37, 'fill' FROM seq_3_to_3000;
         CREATE TABLE ubig (id BIGINT UNSIGNED PRIMARY KEY, v INT);
         INSERT INTO ubig VALUES (0, 1), (18446744073709551615, 2), (9223372036854775808, 3);
         INSERT INTO ubig SELECT seq * 1000003, seq FROM seq_1_to_2000;
         CREATE TABLE nullable_unique (u INT NULL UNIQUE, v INT);
         INSERT INTO nullable_unique VALUES (NULL, 1), (NULL, 2), (NULL, 3), (-7, 4), (0, 5), (7, 6);
         INSERT INTO nullable_unique SELECT seq * 3, seq FROM seq_10_to_3000;
         CREATE TABLE enum_composite (n INT NOT NULL, e ENUM('zebra','apple','mango') NOT NULL, v INT, PRIMARY KEY (n, e));
         INSERT INTO enum_composite SELECT seq % 500, ELT(1 + seq % 3, 'zebra', 'apple', 'mango'), seq FROM seq_1_to_1500;
         CREATE TABLE nokey (a INT, b INT);
         INSERT INTO nokey SELECT seq % 10, seq FROM seq_1_to_3000;
         ANALYZE TABLE sparse, ubig, nullable_unique, enum_composite, nokey;",
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "-j",
            "3",
            "--chunk-bytes",
            "4096",
        ],
        dir.path(),
    );
    assert_success(&out, "chunked dump");
    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    let tables = meta["tables"].as_array().unwrap();
    let chunks = |t: &str| {
        tables.iter().find(|x| x["table"] == t).unwrap()["chunks"]
            .as_u64()
            .unwrap()
    };
    for t in ["sparse", "ubig", "nullable_unique", "enum_composite"] {
        assert!(chunks(t) > 1, "{t} was not split: {}", chunks(t));
        // No COUNT(*) checks this during the dump any more (the ranges are proven to
        // partition the key before they are read): the rows the chunks wrote are the table's.
        let written = tables.iter().find(|x| x["table"] == t).unwrap()["rows"]
            .as_u64()
            .unwrap();
        assert_eq!(written, common::count_rows(&db.name, t).await, "{t}");
    }
    assert_eq!(
        chunks("nokey"),
        1,
        "a table without a usable key is one chunk"
    );

    let dst = TestDb::new("chunks_restored").await;
    restore_with_client(&dst.name, &file);
    let mut conn = server().conn(None).await;
    let d = diff(
        &image(&mut conn, &db.name).await,
        &image(&mut conn, &dst.name).await,
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// Without RELOAD the dump cannot block commits: it says so and still produces one snapshot.
#[tokio::test]
async fn without_reload_the_dump_falls_back_to_one_connection() {
    if !server().is_mariadb() {
        return; // account syntax below is MariaDB's
    }
    let db = TestDb::new("noreload").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3)")
        .await;
    let user = common::TestUser::new(
        "noreload",
        "pw",
        &format!("SELECT, SHOW VIEW, TRIGGER, EVENT ON `{}`.*", db.name),
    )
    .await;
    let mut conn = server().conn(None).await;
    let before: String = conn
        .query_first("SELECT @@GLOBAL.gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let dir = out_dir();
    let out = user.backup(
        &["single", "--database", &db.name, "-c", "none", "-j", "4"],
        dir.path(),
    );
    assert_success(&out, "dump without RELOAD");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RELOAD"),
        "the fallback must be explained:\n{stderr}"
    );
    let meta = metadata_of(&dump_file_in(dir.path()));
    assert_eq!(meta["threads"], 1);
    assert!(
        meta["consistency"]
            .as_str()
            .unwrap()
            .contains("single transaction"),
        "{}",
        meta["consistency"]
    );
    assert_eq!(meta["tables"][0]["rows"], 3);
    // Nothing blocks commits here, so the position comes from the snapshot's own binary log
    // coordinates (BINLOG_GTID_POS): at or after every commit before the dump began.
    let gtid = meta["snapshot"]["gtid_binlog_pos"]
        .as_str()
        .expect("the snapshot's GTID position is recorded without RELOAD");
    assert!(
        gtid_seq(gtid) >= gtid_seq(&before),
        "GTID {gtid} is before {before}, the position when the dump began"
    );
    assert_eq!(meta["replication"]["gtid_info"].as_str(), Some(gtid));

    // A MyISAM table is outside that snapshot and nothing blocks commits: the run says so,
    // naming it, instead of claiming commits are blocked; --strict refuses.
    db.exec("CREATE TABLE m (id INT PRIMARY KEY) ENGINE=MyISAM; INSERT INTO m VALUES (1)")
        .await;
    let dir = out_dir();
    let out = user.backup(
        &["single", "--database", &db.name, "-c", "none"],
        dir.path(),
    );
    assert_success(&out, "dump of a MyISAM table without RELOAD");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("commits could not be blocked")
            && stderr.contains(&format!("`{}`.`m`", db.name))
            && !stderr.contains("commits on the server are blocked"),
        "{stderr}"
    );
    assert!(
        metadata_of(&dump_file_in(dir.path()))
            .get("commits_blocked_ms")
            .is_none()
    );
    let dir = out_dir();
    let out = user.backup(
        &["single", "--database", &db.name, "-c", "none", "--strict"],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused with --strict"));
    assert!(
        common::files_in(dir.path())
            .iter()
            .all(|f| !f.ends_with(".sql"))
    );
}

/// Fills `db` with a table `big` of 300000 rows, starts a two-worker dump of it into `dir`, and
/// returns once a worker streams its rows: the dump's handle and that worker's connection id.
async fn dump_big_table_and_wait_for_rows(
    db: &TestDb,
    dir: &std::path::Path,
) -> (tokio::task::JoinHandle<std::process::Output>, u64) {
    common::create_big_table(db).await;
    let name = db.name.clone();
    let path = dir.to_owned();
    let dump = tokio::task::spawn_blocking(move || {
        backup(
            &["single", "--database", &name, "-c", "none", "-j", "2"],
            &path,
        )
    });
    let id = wait_for_rows(&db.name).await;
    (dump, id)
}

/// A DDL while the dump runs waits (DDL is blocked for the whole dump); it never changes a
/// table under the dump.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_during_the_dump_waits_for_it() {
    if !server().is_mariadb() {
        return;
    }
    let db = TestDb::new("ddl").await;
    let dir = out_dir();
    let (dump, _worker) = dump_big_table_and_wait_for_rows(&db, dir.path()).await;
    let mut conn = server().conn(Some(&db.name)).await;
    // No waiting: the DDL must find the table locked at this moment, while rows stream.
    conn.query_drop("SET SESSION lock_wait_timeout = 0")
        .await
        .unwrap();
    let alter = conn
        .query_drop("ALTER TABLE big ADD COLUMN extra INT")
        .await;
    let dumped = dump.await.unwrap();
    match alter {
        Err(mysql_async::Error::Server(e)) => {
            assert_eq!(e.code, 1205, "expected a lock wait timeout: {e}")
        }
        other => panic!("the ALTER went through during the dump: {other:?}"),
    }
    assert_success(&dumped, "dump with a concurrent DDL attempt");
    // Right after, DDL goes through.
    conn.query_drop("SET SESSION lock_wait_timeout = 60")
        .await
        .unwrap();
    conn.query_drop("ALTER TABLE big ADD COLUMN extra INT")
        .await
        .unwrap();
    let text = std::fs::read_to_string(dump_file_in(dir.path())).unwrap();
    assert!(
        !text.contains("`extra`"),
        "the dump must have the table as it was"
    );
}

/// A commit block that cannot be had in time fails the dump, naming the statement in the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_names_the_blocking_statement() {
    if !server().is_mariadb() {
        return;
    }
    let db = TestDb::new("locktimeout").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let name = db.name.clone();
    // A long write holds off FLUSH TABLES WITH READ LOCK (a long read no longer does).
    let blocker = tokio::spawn(async move {
        let mut c = server().conn(Some(&name)).await;
        let _ = c
            .query_drop("UPDATE t SET id = id WHERE SLEEP(6) = 0")
            .await;
    });
    common::wait_for_statement("UPDATE t SET id = id WHERE SLEEP(6) = 0").await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--lock-wait-timeout",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("UPDATE t SET id = id WHERE SLEEP(6) = 0"),
        "the blocker must be named:\n{stderr}"
    );
    assert!(stderr.contains("--lock-wait-timeout"), "{stderr}");
    assert!(
        common::files_in(dir.path())
            .iter()
            .all(|f| !f.ends_with(".sql")),
        "no file may be left"
    );
    blocker.await.unwrap();
    common::assert_no_lock_left(&db.name, "t").await;
}

/// A worker killed mid-dump fails the run loudly; no file stays under its final name and no
/// lock stays on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_fails_the_dump_and_releases_every_lock() {
    if !server().is_mariadb() {
        return;
    }
    let db = TestDb::new("killed").await;
    let dir = out_dir();
    let (dump, id) = dump_big_table_and_wait_for_rows(&db, dir.path()).await;
    let mut conn = server().conn(None).await;
    conn.query_drop(format!("KILL CONNECTION {id}"))
        .await
        .unwrap();
    let out = dump.await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`big`") && stderr.contains("rows"),
        "the message must name the table and position:\n{stderr}"
    );
    let left = common::files_in(dir.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
    common::assert_no_lock_left(&db.name, "big").await;
}

/// SIGINT (and SIGTERM) mid-dump: exit 130, no file left (not even the hidden partial one),
/// no lock left on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_dump_leaves_nothing_behind() {
    for signal in ["-INT", "-TERM"] {
        let db = TestDb::new("interrupted").await;
        common::create_big_table(&db).await;
        let dir = out_dir();
        let child = common::backup_command(
            &["single", "--database", &db.name, "-c", "zstd", "-j", "2"],
            dir.path(),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        wait_for_rows(&db.name).await;
        let out = common::interrupt(child, signal).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        let left = common::files_in(dir.path());
        assert!(left.is_empty(), "{signal}: files left behind: {left:?}");
        common::assert_no_lock_left(&db.name, "big").await;
    }
}

/// Without the DDL block (`--consistency none`), a table dropped before the dump reads it fails
/// the dump loudly, naming the table; nothing is left behind. (Once the dump has read a table,
/// its transaction holds the table's metadata lock and a DROP waits for the dump instead.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_dropped_during_an_unlocked_dump_fails_it_by_name() {
    let db = TestDb::new("dropped").await;
    db.exec(
        "CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(255));
         INSERT INTO big SELECT seq, REPEAT('d', 255) FROM seq_1_to_300000;
         CREATE TABLE zz_small (id INT PRIMARY KEY); INSERT INTO zz_small VALUES (1);
         ANALYZE TABLE big, zz_small;",
    )
    .await;
    // The dump's first read of `big` (largest first, before anything of `zz_small`) waits
    // behind this lock, which holds the dump between its catalog and its first read.
    let mut holder = server().conn(Some(&db.name)).await;
    holder.query_drop("LOCK TABLES big WRITE").await.unwrap();
    let dir = out_dir();
    let name = db.name.clone();
    let path = dir.path().to_owned();
    let dump = tokio::task::spawn_blocking(move || {
        backup(
            &[
                "single",
                "--database",
                &name,
                "-c",
                "none",
                "-j",
                "1",
                "--consistency",
                "none",
            ],
            &path,
        )
    });
    common::wait_for_statement_on_big(
        &db.name,
        "STATE LIKE 'Waiting for table metadata lock'",
        "the dump never reached `big`",
    )
    .await;
    let mut conn = server().conn(None).await;
    conn.query_drop(format!("DROP TABLE `{}`.zz_small", db.name))
        .await
        .unwrap();
    holder.query_drop("UNLOCK TABLES").await.unwrap();
    let out = dump.await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("zz_small") && stderr.contains("1146"),
        "{stderr}"
    );
    assert!(
        common::files_in(dir.path()).is_empty(),
        "no file may be left"
    );
}

/// An interrupted multi-file run removes the files it already completed as well: a backup set
/// cut short must not stay behind looking complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_multi_file_run_removes_its_finished_files() {
    let small = TestDb::new("intsmall").await;
    small
        .exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let big = TestDb::new("intbig").await;
    common::create_big_table(&big).await;
    let dir = out_dir();
    let child = common::backup_command(
        &[
            "filter",
            "--mode",
            "multi-file",
            "--db",
            &small.name,
            "--db",
            &big.name,
            "-c",
            "none",
            "-j",
            "2",
        ],
        dir.path(),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut child = child;
    wait_for_rows(&big.name).await;
    // The small database's file is complete (under its final name) before the big one's rows
    // are done; metadata comes only at the end of the run. The dump is stopped (SIGSTOP) while
    // the directory is looked at: a stopped process cannot finish, so once the small file is
    // there the interrupt certainly meets a run still going, however slowly this test is
    // scheduled on a busy machine (it once looked, and the run had ended before the signal).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        common::signal("-STOP", child.id());
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the dump ended ({status}) before the small database's file was seen");
        }
        if common::files_in(dir.path())
            .iter()
            .any(|f| f.starts_with(&small.name) && f.ends_with(".sql"))
        {
            break;
        }
        common::signal("-CONT", child.id());
        assert!(
            Instant::now() < deadline,
            "the small database's file never appeared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Delivered when the process continues.
    common::signal("-INT", child.id());
    common::signal("-CONT", child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let left = common::files_in(dir.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// The events of a `--log-format json` run, in order.
fn json_events(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect()
}

/// A MyISAM or Aria table anywhere in the dump is read before anything else, by all workers,
/// and commits go on before the first transactional table is read: here the non-transactional
/// tables are in the second database of a combined file, after a large InnoDB table that used
/// to be read while every commit on the server waited. Their rows still land in their own
/// database's part of the file, each row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_transactional_tables_are_read_first_and_commits_go_on_before_the_rest() {
    if !server().is_mariadb() {
        return; // Aria is MariaDB's
    }
    let first = TestDb::new("ntx_a").await;
    let second = TestDb::new("ntx_b").await;
    first
        .exec(
            "CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(100));
             INSERT INTO big SELECT seq, REPEAT('b', 100) FROM seq_1_to_50000;",
        )
        .await;
    second
        .exec(
            "CREATE TABLE m (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=MyISAM;
             INSERT INTO m SELECT seq, CONCAT('myisam ', seq) FROM seq_1_to_20000;
             CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=Aria;
             INSERT INTO a SELECT seq, CONCAT('aria ', seq) FROM seq_1_to_3000;
             CREATE TABLE i (id INT PRIMARY KEY) ENGINE=InnoDB;
             INSERT INTO i SELECT seq FROM seq_1_to_100;
             ANALYZE TABLE m, a, i;",
        )
        .await;
    let dir = out_dir();
    // Events in JSON, so -q (which hides them) is not used.
    let out = server()
        .sfdbtools()
        .args([
            "db-backup",
            "filter",
            "--db",
            &first.name,
            "--db",
            &second.name,
        ])
        .args([
            "--mode",
            "single-file",
            "-c",
            "none",
            "-j",
            "2",
            "--log-format",
            "json",
        ])
        // The MyISAM table is split into key ranges read by both workers into one spool.
        .args(["--chunk-bytes", "100000"])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir.path())
        .args(["-t", "TEST"])
        .output()
        .unwrap();
    assert_success(&out, "dump with non-transactional tables");
    let events = json_events(&out);
    let names = |e: &serde_json::Value| {
        (
            e["event"].as_str().unwrap_or_default().to_owned(),
            e["database"].as_str().unwrap_or_default().to_owned(),
            e["table"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let released = events
        .iter()
        .position(|e| e["event"] == "commits_released")
        .unwrap_or_else(|| panic!("no commits_released event: {events:?}"));
    for (i, e) in events.iter().enumerate() {
        let (event, db, table) = names(e);
        let non_transactional = db == second.name && (table == "m" || table == "a");
        if event == "table_started" {
            assert_eq!(
                i < released,
                non_transactional,
                "{db}.{table} started {} commits were released: {events:?}",
                if i < released { "before" } else { "after" }
            );
        }
        if event == "table_done" && non_transactional {
            assert!(i < released, "{db}.{table} finished after the release");
        }
    }
    let warning = events
        .iter()
        .find(|e| e["event"] == "warning")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        warning.contains(&format!("`{}`.`m`", second.name))
            && warning.contains(&format!("`{}`.`a`", second.name)),
        "the warning names the tables: {warning}"
    );

    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    assert!(
        meta["commits_blocked_ms"].is_u64(),
        "the metadata says how long commits were blocked: {meta}"
    );
    let m = meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "m")
        .unwrap();
    assert_eq!(m["rows"], 20000);
    assert!(
        m["chunks"].as_u64().unwrap() > 1,
        "m was read in ranges: {m}"
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "finished")
        .expect("finished event");
    assert_eq!(finished["commits_blocked_ms"], meta["commits_blocked_ms"]);

    // The combined file restores both databases exactly.
    let mut conn = server().conn(None).await;
    let before_a = image(&mut conn, &first.name).await;
    let before_b = image(&mut conn, &second.name).await;
    first.exec("DROP TABLE big").await;
    second.exec("DROP TABLE m, a, i").await;
    let load = server().load_file(&first.name, &file);
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let after_a = image(&mut conn, &first.name).await;
    let after_b = image(&mut conn, &second.name).await;
    assert_eq!(diff(&before_a, &after_a), Vec::<String>::new());
    assert_eq!(diff(&before_b, &after_b), Vec::<String>::new());
}

/// `--consistency none` gives up one point in time, not the dump: under concurrent writes the
/// workers' transactions start at different points, the run says so once and goes on, and
/// the metadata records `none` with no position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_none_dumps_under_writes_and_records_no_position() {
    let db = TestDb::new("cnone").await;
    db.exec(
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
         INSERT INTO t (v) SELECT seq FROM seq_1_to_20000;
         CREATE TABLE u (id INT PRIMARY KEY);
         INSERT INTO u SELECT seq FROM seq_1_to_10;",
    )
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let name = db.name.clone();
        tokio::spawn(async move {
            let mut conn = server().conn(Some(&name)).await;
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                conn.query_drop("INSERT INTO t (v) VALUES (0)")
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    {
        let mut conn = db.conn().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while conn
            .query_first::<u64, _>("SELECT COUNT(*) FROM t")
            .await
            .unwrap()
            .unwrap()
            < 20_010
        {
            assert!(Instant::now() < deadline, "the writer never committed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let dir = out_dir();
    // Several runs: each has a fresh chance of its workers starting at different points.
    for _ in 0..3 {
        let out = backup(
            &[
                "single",
                "--database",
                &db.name,
                "-c",
                "none",
                "-j",
                "4",
                "--consistency",
                "none",
            ],
            dir.path(),
        );
        assert_success(&out, "--consistency none under writes");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("not one point in time").count(),
            1,
            "said once: {stderr}"
        );
        let file = dump_file_in(dir.path());
        let meta = metadata_of(&file);
        assert_eq!(meta["consistency"], "none");
        assert_eq!(meta["replication"]["gtid_info"], "");
        assert_eq!(meta["snapshot"]["captured"], false, "{meta}");
        assert!(meta.get("commits_blocked_ms").is_none(), "{meta}");
        for f in common::files_in(dir.path()) {
            std::fs::remove_file(dir.path().join(f)).unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(writer.await.unwrap() > 0);
}

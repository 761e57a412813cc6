//! `db-copy` between two real servers: this binary's server as the source and a second private
//! server (`copy_target`) as the target. The replica test is in the `serial` binary
//! (`copy_replica.rs`): a replica of one database stops on another test's routine DDL.

use crate::common;

use std::process::Output;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::compare::{diff, image};
use common::copying::{finished, gtid_seq, start_writer, wait_for_commits, writer_source};
use common::{Server, TestDb, assert_success, output_text, server, start_sandbox};
use mysql_async::prelude::*;

/// The copies' target: a server of its own, server id 2.
fn copy_target() -> &'static Server {
    static TARGET: OnceLock<Server> = OnceLock::new();
    TARGET.get_or_init(|| start_sandbox("-copy", &["--server-id", "2"]))
}

/// `sfdbtools db-copy <args…>` from this binary's server into `target`, JSON log.
fn copy_into(target: &Server, args: &[&str]) -> Output {
    copy_command(target, args).output().expect("run sfdbtools")
}

/// [`copy_into`], to run or to spawn.
fn copy_command(target: &Server, args: &[&str]) -> std::process::Command {
    let mut c = server().sfdbtools();
    c.args(["--log-format", "json", "db-copy"])
        .args(args)
        .args(server().connection_args())
        .arg(format!("--target-host={}", target.host))
        .arg(format!("--target-port={}", target.port))
        .arg(format!("--target-user={}", target.user))
        .env(
            "SFDB_TARGET_PASSWORD",
            target.password.clone().unwrap_or_default(),
        )
        .args(["-t", "TEST", "-q"]);
    c
}

fn copy(args: &[&str]) -> Output {
    copy_into(copy_target(), args)
}

/// [`copy`] with its log's every event (`--log-file`, whatever `-q` keeps off the terminal),
/// which it must end well.
fn copy_logged(args: &[&str]) -> Vec<serde_json::Value> {
    let logs = common::out_dir();
    let log = logs.path().join("copy.log");
    let mut all = args.to_vec();
    all.extend(["--log-file", log.to_str().unwrap()]);
    assert_success(&copy(&all), &format!("copy {args:?}"));
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn drop_on(target: &Server, db: &str) {
    let mut c = target.conn(None).await;
    c.query_drop(format!("DROP DATABASE IF EXISTS {}", common::quote(db)))
        .await
        .unwrap();
}

/// Source and target images of a database compared (rows as HEX, definitions as SHOW CREATE).
async fn assert_copied(target: &Server, src: &str, dst: &str) {
    let mut s = server().conn(None).await;
    let mut t = target.conn(None).await;
    let a = image(&mut s, src).await;
    let b = image(&mut t, dst).await;
    let d = diff(&a, &b);
    assert!(d.is_empty(), "the copy differs:\n{}", d.join("\n"));
}

/// Tables of every kind the dump engine treats apart, with routines, triggers, views, an event
/// and a sequence: all of it arrives, unchanged.
async fn rich_source(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(100), b BLOB, d DATETIME(6), f FLOAT, j JSON);
         INSERT INTO t (v, b, d, f, j) SELECT CONCAT('v', seq, '\\'\\n\\\\'), RANDOM_BYTES(40), NOW(6), seq / 7, JSON_OBJECT('k', seq) FROM seq_1_to_30000;
         CREATE TABLE nopk (a INT, b TEXT);
         INSERT INTO nopk SELECT seq % 10, REPEAT('z', seq % 300) FROM seq_1_to_20000;
         CREATE TABLE m (id INT PRIMARY KEY, x TEXT) ENGINE=MyISAM;
         INSERT INTO m SELECT seq, REPEAT('x', seq % 100) FROM seq_1_to_3000;
         CREATE TABLE a (id INT PRIMARY KEY, x VARCHAR(10)) ENGINE=Aria;
         INSERT INTO a VALUES (1, 'one'), (2, NULL);
         CREATE TABLE parent (id INT PRIMARY KEY);
         CREATE TABLE child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id));
         INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (20, 2);
         CREATE TABLE hist (id INT PRIMARY KEY, x INT) WITH SYSTEM VERSIONING;
         INSERT INTO hist VALUES (1, 1); UPDATE hist SET x = 2 WHERE id = 1;
         CREATE SEQUENCE s START WITH 100 INCREMENT BY 5;
         CREATE VIEW vt AS SELECT id, v FROM t WHERE id < 10;
         CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = UPPER(NEW.v);
         CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
         CREATE PROCEDURE p() SELECT twice(1);
         CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1;",
    )
    .await;
    db
}

#[tokio::test]
async fn a_database_arrives_whole_with_its_objects_under_its_name_or_another() {
    if !server().is_mariadb() {
        return; // system versioning, Aria and sequences are MariaDB's
    }
    let db = rich_source("copy_rich").await;
    drop_on(copy_target(), &db.name).await;
    let out = copy(&[
        "single",
        "--database",
        &db.name,
        "-j",
        "3",
        "--statement-size",
        "16K",
    ]);
    assert_success(&out, "copy of a database");
    assert_copied(copy_target(), &db.name, &db.name).await;
    let done = finished(&out);
    assert_eq!(done["status"], "ok", "{done}");
    assert!(done["rows"].as_u64().unwrap() >= 53_000, "{done}");

    // The same into another name on the same target.
    let other = format!("{}_renamed", db.name);
    drop_on(copy_target(), &other).await;
    let out = copy(&["single", "--database", &db.name, "--target-db", &other]);
    assert_success(&out, "copy under another name");
    assert_copied(copy_target(), &db.name, &other).await;
    drop_on(copy_target(), &other).await;
    drop_on(copy_target(), &db.name).await;
}

/// `single` into another name keeps the copy in its target: a trigger of the source that writes
/// into another database by name stops it, and the message's flag exists on db-copy and lets
/// it run as written; a routine's `alias.column` after a statement is no such write.
#[tokio::test]
async fn a_write_into_another_database_needs_allow_other_databases() {
    let db = TestDb::new("copy_elsewhere").await;
    let log = TestDb::new("copy_elsewhere_log").await;
    db.exec(&format!(
        "CREATE TABLE t1 (id INT PRIMARY KEY); CREATE TABLE t2 (id INT PRIMARY KEY);
         INSERT INTO t1 VALUES (1), (2);
         CREATE PROCEDURE refill() MODIFIES SQL DATA BEGIN DELETE FROM t2; \
           INSERT INTO t2 SELECT a.id FROM t1 a; END;
         CREATE TRIGGER tr AFTER INSERT ON t2 FOR EACH ROW INSERT INTO {}.seen VALUES (NEW.id)",
        common::quote(&log.name)
    ))
    .await;
    let other = format!("{}_elsewhere", db.name);
    drop_on(copy_target(), &other).await;
    let out = copy(&["single", "--database", &db.name, "--target-db", &other]);
    assert!(!out.status.success(), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains(&format!(
            "writes into database {}",
            common::quote(&log.name)
        )) && text.contains("--allow-other-databases"),
        "{text}"
    );
    let out = copy(&[
        "single",
        "--database",
        &db.name,
        "--target-db",
        &other,
        "--drop-target",
        "--allow-other-databases",
    ]);
    assert_success(&out, "copy with --allow-other-databases");
    assert_copied(copy_target(), &db.name, &other).await;
    drop_on(copy_target(), &other).await;
}

#[tokio::test]
async fn an_existing_target_is_refused_before_anything_is_read_unless_drop_target() {
    let db = TestDb::new("copy_exists").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);")
        .await;
    let mut t = copy_target().conn(None).await;
    let name = common::quote(&db.name);
    t.query_drop(format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}; CREATE TABLE {name}.keep (x INT); INSERT INTO {name}.keep VALUES (42);"
    ))
    .await
    .unwrap();

    // A dry run reads nothing and changes nothing, and says the database would be replaced.
    let out = copy(&["single", "--database", &db.name, "--drop-target", "-d"]);
    assert_success(&out, "dry run");
    let text = output_text(&out);
    assert!(text.contains("REPLACED on the target"), "{text}");
    let kept: Option<u64> = t
        .query_first(format!("SELECT x FROM {name}.keep"))
        .await
        .unwrap();
    assert_eq!(kept, Some(42));

    let out = copy(&["single", "--database", &db.name]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("already holds database") && text.contains("--drop-target"),
        "{text}"
    );
    let kept: Option<u64> = t
        .query_first(format!("SELECT x FROM {name}.keep"))
        .await
        .unwrap();
    assert_eq!(kept, Some(42), "the refused copy changed the target");

    let out = copy(&["single", "--database", &db.name, "--drop-target"]);
    assert_success(&out, "copy with --drop-target");
    assert_copied(copy_target(), &db.name, &db.name).await;

    // The source as its own target: refused whatever the flags, even --drop-target.
    let mut c = server().sfdbtools();
    c.args([
        "db-copy",
        "single",
        "--database",
        &db.name,
        "--drop-target",
        "-q",
    ])
    .args(server().connection_args())
    .arg(format!("--target-host={}", server().host))
    .arg(format!("--target-port={}", server().port))
    .arg(format!("--target-user={}", server().user))
    .env(
        "SFDB_TARGET_PASSWORD",
        server().password.clone().unwrap_or_default(),
    );
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("onto itself"),
        "{}",
        output_text(&out)
    );
    assert_eq!(common::count_rows(&db.name, "t").await, 3);

    // The target's system databases are never written, not even with --drop-target.
    let out = copy(&[
        "filter",
        "--db",
        "mysql",
        "--exclude-system=false",
        "--drop-target",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("system database"),
        "{}",
        output_text(&out)
    );
    let mut t = copy_target().conn(None).await;
    let users: Option<u64> = t
        .query_first("SELECT COUNT(*) FROM mysql.user")
        .await
        .unwrap();
    assert!(users.unwrap_or(0) > 0, "the target's accounts are gone");
    drop_on(copy_target(), &db.name).await;
}

/// A failure on the target (here: an account that may not create triggers) stops the dump on
/// the source too; the error says which side failed and what the target holds.
#[tokio::test]
async fn a_target_failure_stops_both_sides_and_says_what_is_left() {
    let db = TestDb::new("copy_fails").await;
    common::create_big_table(&db).await;
    db.exec(
        "CREATE TABLE small (id INT PRIMARY KEY); INSERT INTO small VALUES (1);
         CREATE TRIGGER tr BEFORE INSERT ON small FOR EACH ROW SET NEW.id = NEW.id + 1;",
    )
    .await;
    let user = format!("cp_limited_{}", std::process::id());
    drop_on(copy_target(), &db.name).await;
    let out = copy_as(
        &user,
        "CREATE, DROP, INSERT, SELECT, ALTER, INDEX, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, \
         ALTER ROUTINE, EVENT",
        &db.name,
    )
    .await;
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The stream is named after the source: the failing server must be named too.
    let target = format!(
        "the target side ({user}@{}:{}) failed",
        copy_target().host,
        copy_target().port
    );
    assert!(text.contains(&target), "{text}");
    // The trigger is refused (no TRIGGER privilege, or no SUPER with the binary log on).
    assert!(
        text.contains("ERROR 114") || text.contains("ERROR 1419"),
        "{text}"
    );
    // Said as a copy: what to run again is the copy (a stream has no journal to resume from).
    assert!(
        text.contains("partially copied") && text.contains("or copy again with --drop-target"),
        "{text}"
    );
    assert!(
        !text.contains("restore again") && !text.contains("--resume"),
        "{text}"
    );
    // The source's snapshot and locks are gone with the run.
    common::assert_no_lock_left(&db.name, "big").await;
    drop_on(copy_target(), &db.name).await;
}

/// `db-copy single --database <db>` into the copy target as `user` (password `pw`), made on the
/// target for the run with `grants` on every database (none when empty) and dropped after.
async fn copy_as(user: &str, grants: &str, db: &str) -> std::process::Output {
    let mut t = copy_target().conn(None).await;
    t.query_drop(format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw';"
    ))
    .await
    .unwrap();
    if !grants.is_empty() {
        t.query_drop(format!("GRANT {grants} ON *.* TO '{user}'@'%'"))
            .await
            .unwrap();
    }
    let mut c = server().sfdbtools();
    c.args(["db-copy", "single", "--database", db, "-q"])
        .args(server().connection_args())
        .arg(format!("--target-host={}", copy_target().host))
        .arg(format!("--target-port={}", copy_target().port))
        .arg(format!("--target-user={user}"))
        .env("SFDB_TARGET_PASSWORD", "pw");
    let out = c.output().unwrap();
    t.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
    out
}

/// A target account that may create nothing: the copy fails at its first CREATE DATABASE and
/// says that nothing was copied (it said the target "may hold part of the copy").
#[tokio::test]
async fn a_target_that_refuses_everything_is_left_as_it_was_and_said_so() {
    let db = TestDb::new("copy_nopriv").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);")
        .await;
    let user = format!("cp_none_{}", std::process::id());
    drop_on(copy_target(), &db.name).await;
    let out = copy_as(&user, "", &db.name).await;
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("the target side ({user}@")),
        "{text}"
    );
    assert!(text.contains("ERROR 1044"), "{text}");
    assert!(
        text.contains("nothing was copied: the target is as it was"),
        "{text}"
    );
    assert!(!text.contains("may hold part of the copy"), "{text}");
    common::assert_no_lock_left(&db.name, "t").await;
}

/// A source connection killed while the big table streams: the copy fails naming the source,
/// and the target is told partial, not complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_failure_stops_the_restore_and_names_the_source() {
    let db = TestDb::new("copy_srcfail").await;
    common::create_big_table(&db).await;
    drop_on(copy_target(), &db.name).await;
    let name = db.name.clone();
    let running = tokio::task::spawn_blocking(move || {
        copy(&[
            "single",
            "--database",
            &name,
            "-j",
            "2",
            "--statement-size",
            "64K",
        ])
    });
    let id = common::wait_for_rows(&db.name).await;
    let mut c = server().conn(None).await;
    let _ = c.query_drop(format!("KILL CONNECTION {id}")).await;
    let out = running.await.unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let source = format!(
        "the source side ({}@{}:{}) failed",
        server().user,
        server().host,
        server().port
    );
    assert!(text.contains(&source), "{text}");
    // What the target holds: part of the copy, or (killed before its first table was made)
    // nothing, the database the copy had created removed again.
    assert!(
        text.contains("partially copied")
            || text.contains("this copy had created were removed again"),
        "{text}"
    );
    common::assert_no_lock_left(&db.name, "big").await;
    drop_on(copy_target(), &db.name).await;
}

/// Under a concurrent writer: the copy is one point in time (money neither made nor lost, the
/// ledger matches the counter), and the GTID it reports and records is exactly the last
/// transaction it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_under_writes_is_one_point_in_time_at_its_reported_gtid() {
    if !server().is_mariadb() {
        return; // @@last_gtid is MariaDB's
    }
    let db = writer_source("copy_writer").await;
    drop_on(copy_target(), &db.name).await;
    let posdb = format!("{}_pos", db.name);
    let mut t = copy_target().conn(None).await;
    t.query_drop(format!(
        "DROP DATABASE IF EXISTS {q}; CREATE DATABASE {q}",
        q = common::quote(&posdb)
    ))
    .await
    .unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = start_writer(db.name.clone(), stop.clone());
    wait_for_commits(&db, 5).await;
    let name = db.name.clone();
    let table = format!("{posdb}.copies");
    let out = tokio::task::spawn_blocking(move || {
        copy(&[
            "single",
            "--database",
            &name,
            "-j",
            "4",
            "--statement-size",
            "32K",
            "--position-table",
            &table,
        ])
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let commits = writer.await.unwrap();
    assert_success(&out, "copy under writes");
    let mut t = copy_target().conn(Some(&db.name)).await;
    let total: i64 = t
        .query_first("SELECT CAST(SUM(balance) AS SIGNED) FROM accounts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        total,
        50 * 1000,
        "money was made or lost: not one point in time"
    );
    let n: u64 = t
        .query_first("SELECT n FROM counter")
        .await
        .unwrap()
        .unwrap();
    let ledger: u64 = t
        .query_first("SELECT COUNT(*) FROM ledger WHERE src > 0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ledger, n, "the ledger and the counter disagree");
    assert!(n >= 5, "the snapshot was before the writer's first commits");

    let gtid = finished(&out)["gtid"].as_str().unwrap().to_owned();
    let seq = gtid_seq(&gtid);
    let last_in = commits.iter().find(|(i, _)| *i == n).unwrap().1;
    assert!(
        seq >= last_in,
        "GTID {gtid} is before the copy's last transaction ({last_in})"
    );
    if let Some((_, next)) = commits.iter().find(|(i, _)| *i == n + 1) {
        assert!(
            seq < *next,
            "GTID {gtid} covers a transaction the copy lacks ({next})"
        );
    }
    let recorded: Option<String> = t
        .query_first(format!(
            "SELECT gtid_binlog_pos FROM {}",
            common::quote(&posdb) + ".copies"
        ))
        .await
        .unwrap();
    assert_eq!(recorded.as_deref(), Some(gtid.as_str()));
    drop_on(copy_target(), &posdb).await;
    drop_on(copy_target(), &db.name).await;
}

/// Accounts only when asked: without `--grants` none is made on the target; with it, the
/// accounts with grants on the copied database are created there, with those grants.
#[tokio::test]
async fn accounts_are_copied_only_with_grants() {
    let db = TestDb::new("copy_grants").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);")
        .await;
    let user = format!("cp_app_{}", std::process::id());
    let mut s = server().conn(None).await;
    s.query_drop(format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'apppw';
         GRANT SELECT, INSERT ON {}.* TO '{user}'@'%';",
        common::quote(&db.name)
    ))
    .await
    .unwrap();
    let mut t = copy_target().conn(None).await;
    t.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    drop_on(copy_target(), &db.name).await;
    let count = format!("SELECT COUNT(*) FROM mysql.user WHERE User = '{user}'");
    let out = copy(&["single", "--database", &db.name]);
    assert_success(&out, "copy without --grants");
    let n: Option<u64> = t.query_first(count.as_str()).await.unwrap();
    assert_eq!(n, Some(0), "an account was made without --grants");

    drop_on(copy_target(), &db.name).await;
    let out = copy(&["single", "--database", &db.name, "--grants"]);
    assert_success(&out, "copy with --grants");
    let n: Option<u64> = t.query_first(count.as_str()).await.unwrap();
    assert_eq!(n, Some(1), "the account was not copied");
    let grants: Vec<String> = t
        .query(format!("SHOW GRANTS FOR '{user}'@'%'"))
        .await
        .unwrap();
    assert!(
        grants
            .iter()
            .any(|g| g.contains("SELECT, INSERT") && g.contains(&db.name)),
        "{grants:?}"
    );
    let done = finished(&out);
    assert_eq!(
        done["accounts"]["created"].as_array().map(Vec::len),
        Some(1),
        "{done}"
    );

    // Under another name, the grants follow the database: made on the target's name, never
    // on the source's (which on the target may be another database altogether).
    t.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
    let renamed = format!("{}_as", db.name);
    drop_on(copy_target(), &renamed).await;
    let out = copy(&[
        "single",
        "--database",
        &db.name,
        "--target-db",
        &renamed,
        "--grants",
    ]);
    assert_success(&out, "renamed copy with --grants");
    let grants: Vec<String> = t
        .query(format!("SHOW GRANTS FOR '{user}'@'%'"))
        .await
        .unwrap();
    let on = |name: &str| format!("ON {}.*", common::quote(name));
    assert!(
        grants.iter().any(|g| g.contains(&on(&renamed))),
        "{grants:?}"
    );
    assert!(
        !grants.iter().any(|g| g.contains(&on(&db.name))),
        "a grant on the source's name was made: {grants:?}"
    );
    let done = finished(&out);
    assert_eq!(done["accounts"]["repointed"][0]["grants"], 1, "{done}");

    // The account exists now: left alone, its grants are not made, and not counted as made.
    let again = format!("{}_again", db.name);
    drop_on(copy_target(), &again).await;
    let out = copy(&[
        "single",
        "--database",
        &db.name,
        "--target-db",
        &again,
        "--grants",
    ]);
    assert_success(&out, "renamed copy with --grants, the account existing");
    let done = finished(&out);
    assert_eq!(
        done["accounts"]["left_alone"].as_array().map(Vec::len),
        Some(1),
        "{done}"
    );
    assert_eq!(
        done["accounts"]["repointed"],
        serde_json::json!([]),
        "{done}"
    );
    let grants: Vec<String> = t
        .query(format!("SHOW GRANTS FOR '{user}'@'%'"))
        .await
        .unwrap();
    assert!(
        !grants.iter().any(|g| g.contains(&on(&again))),
        "an existing account was changed: {grants:?}"
    );
    drop_on(copy_target(), &again).await;
    drop_on(copy_target(), &renamed).await;
    t.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
    s.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
    drop_on(copy_target(), &db.name).await;
}

/// SIGINT while rows stream: exit 130, both sides stopped (no lock left on the source, no
/// connection of the copy left on the target), and the message says the target is partial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_stops_both_sides() {
    let db = TestDb::new("copy_int").await;
    common::create_big_table(&db).await;
    drop_on(copy_target(), &db.name).await;
    let child = copy_command(
        copy_target(),
        &["single", "--database", &db.name, "-j", "2"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    common::wait_for_rows(&db.name).await;
    let out = common::interrupt(child, "-INT").await;
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("may hold part of the copy"), "{text}");
    common::assert_no_lock_left(&db.name, "big").await;
    // The process is gone, and its connections with it: none is left on the target.
    let mut t = copy_target().conn(None).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: Option<u64> = t
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?",
                (&db.name,),
            )
            .await
            .unwrap();
        if n == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the copy's connections stayed on the target"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop_on(copy_target(), &db.name).await;
}

/// The target from a profile named by `SFDB_TARGET_PROFILE`, opened with
/// `SFDB_TARGET_PROFILE_KEY`, and the table selection of `db-backup`: only the tables taken
/// arrive.
#[tokio::test]
async fn the_target_comes_from_its_profile_and_the_table_selection_applies() {
    let db = TestDb::new("copy_prof").await;
    db.exec(
        "CREATE TABLE keep_me (id INT PRIMARY KEY); INSERT INTO keep_me VALUES (1), (2);
         CREATE TABLE leave_me (id INT PRIMARY KEY); INSERT INTO leave_me VALUES (3);",
    )
    .await;
    drop_on(copy_target(), &db.name).await;
    let dir = common::out_dir();
    let config = dir.path().join("config.yaml");
    let profiles = dir.path().join("profiles");
    std::fs::write(
        &config,
        format!("config_dir:\n  database_profile: {}\n", profiles.display()),
    )
    .unwrap();
    let key = "target key";
    let t = copy_target();
    let out = server()
        .sfdbtools()
        .env("SFDB_APPS_CONFIG", &config)
        .env("SFDB_SOURCE_PROFILE_KEY", key)
        .env("MYSQL_PWD", t.password.clone().unwrap_or_default())
        .env("HOME", dir.path())
        .args([
            "-q",
            "profile",
            "create",
            "-n",
            "copytarget",
            "--host",
            &t.host,
        ])
        .args(["-P", &t.port.to_string(), "-u", &t.user])
        .output()
        .unwrap();
    assert_success(&out, "profile create");
    let out = server()
        .sfdbtools()
        .env("SFDB_APPS_CONFIG", &config)
        .env("HOME", dir.path())
        .env("SFDB_TARGET_PROFILE", "copytarget")
        .env("SFDB_TARGET_PROFILE_KEY", key)
        .args(["-q", "db-copy", "single", "--database", &db.name, "-t", "T"])
        .args(server().connection_args())
        .args(["--tables", &format!("{}.keep_*", db.name)])
        .output()
        .unwrap();
    assert_success(&out, "copy to a profile's server");
    let mut c = t.conn(Some(&db.name)).await;
    let tables: Vec<String> = c.query("SHOW TABLES").await.unwrap();
    assert_eq!(tables, vec!["keep_me".to_owned()]);
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM keep_me").await.unwrap();
    assert_eq!(n, Some(2));
    drop_on(copy_target(), &db.name).await;
}

/// A target that cannot be reached: the advice names the target's flags, not the source's,
/// and nothing is read from the source.
#[tokio::test]
async fn an_unreachable_target_is_told_by_its_own_flags() {
    let db = TestDb::new("copy_unreachable").await;
    let mut c = server().sfdbtools();
    c.args(["db-copy", "single", "--database", &db.name, "-q"])
        .args(server().connection_args())
        .args(["--target-host=127.0.0.1", "--target-port=1"]);
    let out = c.output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot connect to") && text.contains("--target-host/--target-port"),
        "{text}"
    );
    assert!(!text.contains("--host/--port"), "{text}");
}

/// A position file that could not be written after the copy is refused before it: nothing is
/// read, nothing arrives on the target.
#[tokio::test]
async fn a_position_file_in_a_missing_directory_is_refused_before_the_copy() {
    let db = TestDb::new("copy_posdir").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);")
        .await;
    drop_on(copy_target(), &db.name).await;
    let dir = common::out_dir();
    let file = dir.path().join("no-such-dir/pos.json");
    let out = copy(&[
        "single",
        "--database",
        &db.name,
        "--position-file",
        file.to_str().unwrap(),
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cannot write there"), "{text}");
    let mut t = copy_target().conn(None).await;
    let there: Option<String> = t
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (&db.name,),
        )
        .await
        .unwrap();
    assert_eq!(there, None, "the copy went ahead");
    assert!(common::files_in(dir.path()).is_empty());
}

/// `--keys-after-rows`: the tables the source reports at least that large are loaded without
/// their plain secondary keys, built once their rows are in; small ones, and every table with
/// `off`, keep theirs while loading. Either way the copy is the source's.
#[tokio::test]
async fn large_tables_are_copied_with_their_keys_built_after_their_rows() {
    if !server().is_mariadb() {
        return; // ADD KEY IF NOT EXISTS is MariaDB's: a MySQL target keeps every key
    }
    let db = TestDb::new("copy_keys").await;
    // ANALYZE: InnoDB's sizes in information_schema are its statistics, updated in the
    // background after a large insert.
    db.exec(
        "CREATE TABLE big (id INT PRIMARY KEY, k INT, s VARCHAR(20), KEY kk (k),
           KEY ks (s, k DESC));
         INSERT INTO big SELECT seq, seq % 101, CONCAT('s', seq % 7) FROM seq_1_to_60000;
         CREATE TABLE small (id INT PRIMARY KEY, k INT, KEY kk (k));
         INSERT INTO small VALUES (1, 1), (2, 2);
         ANALYZE TABLE big, small;",
    )
    .await;
    drop_on(copy_target(), &db.name).await;
    let notes = copy_logged(&[
        "single",
        "--database",
        &db.name,
        "-j",
        "2",
        "--keys-after-rows",
        "1M",
    ]);
    assert_eq!(
        common::keys_built_after(&notes),
        [format!("`{}`.`big`", db.name)],
        "{notes:?}"
    );
    assert!(
        common::key_notes(&notes)[0].contains("`kk`, `ks`"),
        "{notes:?}"
    );
    assert_copied(copy_target(), &db.name, &db.name).await;

    let other = format!("{}_off", db.name);
    drop_on(copy_target(), &other).await;
    let notes = copy_logged(&[
        "single",
        "--database",
        &db.name,
        "--target-db",
        &other,
        "--keys-after-rows",
        "off",
    ]);
    assert_eq!(common::keys_built_after(&notes), Vec::<String>::new());
    assert_copied(copy_target(), &db.name, &other).await;
    drop_on(copy_target(), &other).await;
    drop_on(copy_target(), &db.name).await;
}

/// A table's keys are built as soon as the dump has finished it and its rows are in, while the
/// tables after it still load, not at the stream's end. One worker reads the tables largest
/// first: `a` (keyed), then `b` (no secondary key, large enough that its rows take a while to
/// load), then `c`: `a`'s keys start before `c` starts loading.
#[tokio::test]
async fn a_copied_tables_keys_are_built_when_the_dump_has_finished_it() {
    if !server().is_mariadb() {
        return; // ADD KEY IF NOT EXISTS is MariaDB's: a MySQL target keeps every key
    }
    let db = TestDb::new("copy_keys_early").await;
    db.exec(
        "CREATE TABLE a (id INT PRIMARY KEY, k INT, pad CHAR(100) NOT NULL DEFAULT 'a',
           KEY kk (k));
         INSERT INTO a (id, k) SELECT seq, seq % 101 FROM seq_1_to_90000;
         CREATE TABLE b (id INT PRIMARY KEY, pad CHAR(100) NOT NULL DEFAULT 'b');
         INSERT INTO b (id) SELECT seq FROM seq_1_to_60000;
         CREATE TABLE c (id INT PRIMARY KEY);
         INSERT INTO c VALUES (1);
         ANALYZE TABLE a, b, c;",
    )
    .await;
    drop_on(copy_target(), &db.name).await;
    let events = copy_logged(&[
        "single",
        "--database",
        &db.name,
        "-j",
        "1",
        // Statements of 64K: `b` is about a hundred of them, far more than a connection
        // holds queued, so `c` is sent well after `a`'s last one is answered.
        "--statement-size",
        "64K",
        "--keys-after-rows",
        "0",
    ]);
    // The log in short, for the messages: event, table, message.
    let short: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} {}", e["event"], e["table"], e["message"]))
        .collect();
    let at = |what: &dyn Fn(&serde_json::Value) -> bool| {
        events
            .iter()
            .position(what)
            .unwrap_or_else(|| panic!("not in the log: {short:#?}"))
    };
    let keys_of_a = at(&|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("`a`: building its secondary keys"))
    });
    let c_loads = at(&|e| e["event"] == "table_loading" && e["table"] == "c");
    let b_loads = at(&|e| e["event"] == "table_loading" && e["table"] == "b");
    assert!(b_loads < c_loads, "one worker, largest first: {short:#?}");
    assert!(keys_of_a < c_loads, "{short:#?}");
    assert_copied(copy_target(), &db.name, &db.name).await;
    drop_on(copy_target(), &db.name).await;
}

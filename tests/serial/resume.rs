//! `db-restore --resume`: a parallel restore killed (SIGKILL) at chosen points, during the
//! definitions, in the middle of a chunked table's rows, among the routines and triggers, and
//! one whose server restarted under it, then resumed and compared with its source: no
//! difference, no duplicate (the chunked table has no primary key, so a statement applied
//! twice would show). Here rather than in `it`: the points are held by freezing the whole
//! server (`FLUSH TABLES WITH READ LOCK`), and one test restarts it.
//!
//! A point is reached without hooks in the code: the test polls the target until it holds,
//! then freezes the server (commits and definitions wait), kills the restore, and lets the
//! server go on; what the killed restore had sent then runs to its end on the server, as it
//! would after a real kill.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;

use crate::common::{
    self, TestDb, assert_same, assert_success, database_exists, out_dir, output_text, serial,
    server,
};

/// Tables besides the chunked one: enough that creating them takes a while.
const TABLES: usize = 120;
/// Stored procedures and functions each: enough that creating them takes a while.
const ROUTINES: usize = 80;
/// Rows of the chunked table: about a thousand statements at `--statement-size 16K`.
const BIG_ROWS: u64 = 150_000;

/// A source with many small tables, the chunked table `big` (with or without a primary key),
/// a MyISAM table with rows, triggers, routines and views.
async fn source(tag: &str, primary_key: bool) -> TestDb {
    let db = TestDb::new(tag).await;
    let mut sql = String::new();
    for i in 0..TABLES {
        sql.push_str(&format!(
            "CREATE TABLE t{i:03} (id INT PRIMARY KEY, v VARCHAR(20)); \
             INSERT INTO t{i:03} VALUES (1, 'a{i}'), (2, 'b{i}');"
        ));
    }
    db.exec(&sql).await;
    let key = if primary_key { " PRIMARY KEY" } else { "" };
    db.exec(&format!(
        "CREATE TABLE big (id INT{key}, pad CHAR(100)); \
         INSERT INTO big SELECT seq, REPEAT(CHAR(65 + seq % 26), 100) FROM seq_1_to_{BIG_ROWS}; \
         CREATE TABLE mi (id INT PRIMARY KEY, pad CHAR(40)) ENGINE=MyISAM; \
         INSERT INTO mi SELECT seq, CONCAT('m', seq) FROM seq_1_to_20000; \
         CREATE TABLE logt (n INT); \
         CREATE VIEW v_big AS SELECT COUNT(*) AS n FROM big; \
         CREATE VIEW v_t AS SELECT id, v FROM t000"
    ))
    .await;
    for i in 0..ROUTINES {
        db.exec(&format!(
            "CREATE PROCEDURE p{i:03}(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM t{i:03}; END"
        ))
        .await;
        db.exec(&format!(
            "CREATE FUNCTION f{i:03}(x INT) RETURNS INT DETERMINISTIC RETURN x + {i}"
        ))
        .await;
    }
    for i in 0..30 {
        db.exec(&format!(
            "CREATE TRIGGER tr{i:03} AFTER INSERT ON t{i:03} FOR EACH ROW INSERT INTO logt \
             VALUES (NEW.id)"
        ))
        .await;
    }
    db
}

/// Drops what restores of the tests before left in the journal (those that fail on purpose
/// keep theirs): the tests here look for the journal's database to be gone at their end, and
/// with the server to themselves, no running restore's journal is lost.
async fn no_journal_yet() {
    let mut c = server().conn(None).await;
    c.query_drop("DROP DATABASE IF EXISTS sfdbtools_journal")
        .await
        .unwrap();
}

/// Our dump of `db`, its rows in statements of 16 KiB (big's rows in a thousand of them).
fn dump(db: &str, dir: &std::path::Path) -> std::path::PathBuf {
    common::dump_single(db, dir, &["--statement-size", "16K"])
}

/// `sfdbtools db-restore single --file F --target-db DB -j 4 <extra…>`.
fn restore_cmd(file: &std::path::Path, target: &str, extra: &[&str]) -> Command {
    let mut c = server().sfdbtools();
    c.args(["db-restore", "single", "--file"])
        .arg(file)
        .args(["--target-db", target, "-j", "4", "-t", "TEST"])
        .args(extra)
        .args(server().connection_args());
    c
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sfdbtools")
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// Polls `sql` (one number) until `holds` says so, 120 s at most; the restore must still run.
async fn wait_until(what: &str, sql: &str, holds: impl Fn(u64) -> bool, child: &mut Child) {
    let mut c = server().conn(None).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n: u64 = c.query_first(sql).await.unwrap().unwrap_or(0);
        if holds(n) {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before {what} (last value {n})"
        );
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in 120 s ({n})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Freezes the server (commits and definitions wait), kills the restore with SIGKILL, and
/// lets the server go on: what the restore had sent runs to its end there.
async fn kill_frozen(mut child: Child) -> Output {
    let mut c = server().conn(None).await;
    c.query_drop("SET SESSION lock_wait_timeout = 120")
        .await
        .unwrap();
    c.query_drop("FLUSH TABLES WITH READ LOCK").await.unwrap();
    child.kill().expect("SIGKILL the restore");
    let out = finish(child).await;
    c.query_drop("UNLOCK TABLES").await.unwrap();
    out
}

/// Resumes, then compares the target with the source and checks that the journal is gone.
async fn resume_and_compare(file: &std::path::Path, src: &str, dst: &str) -> String {
    let out = restore_cmd(file, dst, &["--resume"])
        .output()
        .expect("run sfdbtools");
    assert_success(&out, "db-restore --resume");
    let text = output_text(&out);
    eprintln!("{text}");
    assert!(text.contains("resuming restore"), "{text}");
    assert_same(src, dst).await;
    assert!(
        !database_exists("sfdbtools_journal").await,
        "the journal is left after a successful resume: {text}"
    );
    text
}

/// How many base tables `db` holds.
fn tables_in(db: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND \
         TABLE_TYPE = 'BASE TABLE'"
    )
}

/// 1 once the journal's tables exist.
const JOURNAL_MADE: &str = "SELECT COUNT(*) FROM information_schema.TABLES WHERE \
                            TABLE_SCHEMA = 'sfdbtools_journal' AND TABLE_NAME = 'done'";

/// Statements of `db`.`big` journaled as committed.
fn big_journaled(db: &str) -> String {
    format!("SELECT COUNT(*) FROM sfdbtools_journal.done WHERE tbl = 'big' AND db = '{db}'")
}

/// Killed while the tables are being created: some exist, most not, no row loaded yet.
#[tokio::test]
async fn resume_after_a_kill_during_the_definitions() {
    let _g = serial().await;
    no_journal_yet().await;
    let src = source("rsm_ddl", false).await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let dst = TestDb::new("rsm_ddl_dst").await;
    let mut child = spawn(restore_cmd(&file, &dst.name, &["-q"]));
    let tables = tables_in(&dst.name);
    wait_until("20 tables created", &tables, |n| n >= 20, &mut child).await;
    let killed = kill_frozen(child).await;
    assert!(!killed.status.success());
    let mut c = server().conn(None).await;
    let made: u64 = c.query_first(tables.as_str()).await.unwrap().unwrap();
    assert!(
        made < TABLES as u64,
        "the kill came after the definitions ({made} tables)"
    );
    let text = resume_and_compare(&file, &src.name, &dst.name).await;
    assert!(text.contains("read past"), "{text}");
}

/// Killed in the middle of the chunked table (no primary key: a statement applied twice
/// would be rows twice): some of its statements journaled, not all.
#[tokio::test]
async fn resume_after_a_kill_in_the_middle_of_a_chunked_table() {
    let _g = serial().await;
    no_journal_yet().await;
    let src = source("rsm_data", false).await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let dst = TestDb::new("rsm_data_dst").await;
    kill_mid_big(spawn(restore_cmd(&file, &dst.name, &["-q"])), &dst.name).await;
    let text = resume_and_compare(&file, &src.name, &dst.name).await;
    assert!(text.contains("reloaded whole"), "the MyISAM table: {text}");
}

/// Kills the restore `child` into `dst` once 30 statements of its chunked table are
/// journaled, and checks that the table was not loaded whole by then.
async fn kill_mid_big(mut child: Child, dst: &str) {
    // The journal's tables exist before the first statement; a poll before that sees none.
    wait_until("the journal", JOURNAL_MADE, |n| n == 1, &mut child).await;
    let journaled = big_journaled(dst);
    wait_until("30 statements of big", &journaled, |n| n >= 30, &mut child).await;
    let killed = kill_frozen(child).await;
    assert!(!killed.status.success());
    assert!(
        common::count_rows(dst, "big").await < BIG_ROWS,
        "the kill came after big was loaded"
    );
}

/// Killed while the chunked table loads without its secondary key (`--keys-after-rows 0`:
/// dropped before its rows, built after them): the resume, asked for the default, which
/// would leave this table's keys alone, builds it all the same, and only once.
#[tokio::test]
async fn resume_after_a_kill_while_a_tables_keys_are_left_out() {
    let _g = serial().await;
    no_journal_yet().await;
    let src = source("rsm_keys", false).await;
    src.exec("ALTER TABLE big ADD KEY kpad (pad(20), id)").await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let dst = TestDb::new("rsm_keys_dst").await;
    let child = spawn(restore_cmd(
        &file,
        &dst.name,
        &["-q", "--keys-after-rows", "0"],
    ));
    kill_mid_big(child, &dst.name).await;
    let keys = format!(
        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{}' AND \
         TABLE_NAME = 'big' AND INDEX_NAME = 'kpad'",
        dst.name
    );
    let mut c = server().conn(None).await;
    let there: u64 = c.query_first(keys.as_str()).await.unwrap().unwrap();
    assert_eq!(there, 0, "big's key was there while its rows loaded");
    resume_and_compare(&file, &src.name, &dst.name).await;
}

/// Killed among the routines (created one by one after the data): the data is all
/// journaled, the routines partly.
#[tokio::test]
async fn resume_after_a_kill_among_routines_and_triggers() {
    let _g = serial().await;
    no_journal_yet().await;
    let src = source("rsm_post", true).await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let dst = TestDb::new("rsm_post_dst").await;
    let mut child = spawn(restore_cmd(&file, &dst.name, &["-q"]));
    let routines = format!(
        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{}'",
        dst.name
    );
    wait_until("20 routines created", &routines, |n| n >= 20, &mut child).await;
    let killed = kill_frozen(child).await;
    assert!(!killed.status.success());
    let mut c = server().conn(None).await;
    let made: u64 = c.query_first(routines.as_str()).await.unwrap().unwrap();
    assert!(
        made < 2 * ROUTINES as u64,
        "the kill came after the routines ({made})"
    );
    resume_and_compare(&file, &src.name, &dst.name).await;
}

/// The server restarts under the restore (it fails, saying how to resume), then the resume
/// goes on: what committed before the restart is kept, nothing twice.
#[tokio::test]
async fn resume_after_a_server_restart() {
    let _g = serial().await;
    no_journal_yet().await;
    if server().dir.is_none() {
        eprintln!("skipped: an external server is not ours to restart");
        return;
    }
    let src = source("rsm_restart", false).await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let dst = TestDb::new("rsm_restart_dst").await;
    let mut child = spawn(restore_cmd(&file, &dst.name, &["-q"]));
    wait_until("the journal", JOURNAL_MADE, |n| n == 1, &mut child).await;
    let journaled = big_journaled(&dst.name);
    wait_until("30 statements of big", &journaled, |n| n >= 30, &mut child).await;
    tokio::task::spawn_blocking(|| server().restart())
        .await
        .unwrap();
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("--resume"),
        "the failure does not say how to go on: {}",
        output_text(&out)
    );
    resume_and_compare(&file, &src.name, &dst.name).await;
}

/// Two restores into the same server at once both succeed, and the journal they shared is
/// gone after both.
#[tokio::test]
async fn two_restores_at_once_share_the_journal_and_leave_none() {
    let _g = serial().await;
    no_journal_yet().await;
    let src = TestDb::new("rsm_two").await;
    src.exec(
        "CREATE TABLE a (id INT PRIMARY KEY, pad CHAR(100)); \
         INSERT INTO a SELECT seq, 'x' FROM seq_1_to_40000",
    )
    .await;
    let dir = out_dir();
    let file = dump(&src.name, dir.path());
    let one = TestDb::new("rsm_two_a").await;
    let two = TestDb::new("rsm_two_b").await;
    let first = spawn(restore_cmd(&file, &one.name, &["-q"]));
    let second = spawn(restore_cmd(&file, &two.name, &["-q"]));
    assert_success(&finish(first).await, "the first restore");
    assert_success(&finish(second).await, "the second restore");
    assert_same(&src.name, &one.name).await;
    assert_same(&src.name, &two.name).await;
    assert!(!database_exists("sfdbtools_journal").await);
}

/// `--no-journal`: a restore that fails leaves no journal, and there is nothing to resume.
#[tokio::test]
async fn no_journal_leaves_nothing_to_resume() {
    let _g = serial().await;
    no_journal_yet().await;
    let dir = out_dir();
    let file = dir.path().join("fails.sql");
    std::fs::write(
        &file,
        "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nINSERT INTO missing VALUES (1);\n",
    )
    .unwrap();
    let dst = TestDb::new("rsm_nojournal").await;
    let out = restore_cmd(&file, &dst.name, &["-q", "--no-journal"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        !output_text(&out).contains("--resume"),
        "{}",
        output_text(&out)
    );
    assert!(!database_exists("sfdbtools_journal").await);
    let out = restore_cmd(&file, &dst.name, &["-q", "--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("no interrupted restore"),
        "{}",
        output_text(&out)
    );
    assert!(!database_exists("sfdbtools_journal").await);
}

//! `db-restore single --target-db X` writes into X only: a statement that writes into another
//! database by name is refused before it runs (that database is left as it was), unless
//! `--allow-other-databases`; the file's own `USE`/`DROP DATABASE` are mapped onto X.

use crate::common;

use std::path::PathBuf;

use common::{TestDb, count_rows, out_dir, output_text, quote, restore_single};
use tempfile::TempDir;

/// A file of a table created and filled in the current database, then `statement`.
fn file_with(dir: &TempDir, name: &str, statement: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(
        &path,
        format!("CREATE TABLE here (a INT);\nINSERT INTO here VALUES (1);\n{statement};\n"),
    )
    .unwrap();
    path
}

async fn tables_of(db: &str) -> Vec<String> {
    use mysql_async::prelude::*;
    let mut c = common::server().conn(None).await;
    let v: Vec<String> = c
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME",
            (db,),
        )
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    v
}

#[tokio::test]
async fn statements_writing_into_another_database_are_refused() {
    let other = TestDb::new("cf_other").await;
    other.exec("CREATE TABLE t (a INT)").await;
    other.exec("INSERT INTO t VALUES (1)").await;
    let o = quote(&other.name);
    let dir = out_dir();
    for (i, statement) in [
        format!("INSERT INTO {o}.t VALUES (2)"),
        format!("UPDATE {o}.`t` SET a = 3"),
        format!("DELETE FROM {o}.t"),
        format!("DROP TABLE IF EXISTS here, {o}.t"),
        format!("CREATE TABLE {o}.u (a INT)"),
        format!("RENAME TABLE here TO {o}.moved"),
        format!("TRUNCATE TABLE {o}.t"),
        // Code the restore itself would run: a trigger its next rows fire, a procedure, an
        // event.
        format!("CREATE TRIGGER tr AFTER INSERT ON here FOR EACH ROW INSERT INTO {o}.t VALUES (9)"),
        format!("CREATE PROCEDURE p() MODIFIES SQL DATA UPDATE {o}.t SET a = 7"),
        format!("CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO DELETE FROM {o}.t"),
    ]
    .iter()
    .enumerate()
    {
        let target = TestDb::new("cf_target").await;
        let file = file_with(&dir, &format!("case{i}.sql"), statement);
        let out = restore_single(&file, &target.name, &[]);
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{statement}: {text}");
        for part in [
            "statement 3 (line 3",
            &format!("writes into database {o}"),
            "--allow-other-databases",
        ] {
            assert!(text.contains(part), "{statement}: no {part:?} in {text}");
        }
        assert_eq!(tables_of(&other.name).await, ["t"], "{statement}");
        assert_eq!(count_rows(&other.name, "t").await, 1, "{statement}");
        // What came before it was restored, as the message says.
        assert_eq!(count_rows(&target.name, "here").await, 1, "{statement}");
    }
}

/// The file's own database statements name the database it came from: they are mapped onto
/// the target (USE skipped, DROP DATABASE never run), so the database of that name is
/// untouched.
#[tokio::test]
async fn the_file_s_own_use_and_drop_database_stay_in_the_target() {
    let other = TestDb::new("cf_own").await;
    other.exec("CREATE TABLE t (a INT)").await;
    other.exec("INSERT INTO t VALUES (1)").await;
    let o = quote(&other.name);
    let dir = out_dir();
    let file = dir.path().join("own.sql");
    std::fs::write(
        &file,
        format!(
            "DROP DATABASE IF EXISTS {o};\nCREATE DATABASE {o};\nUSE {o};\n\
             CREATE TABLE t (a INT);\nINSERT INTO t VALUES (5), (6);\n"
        ),
    )
    .unwrap();
    let target = TestDb::new("cf_into").await;
    let out = restore_single(&file, &target.name, &[]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(count_rows(&other.name, "t").await, 1);
    assert_eq!(count_rows(&target.name, "t").await, 2);
}

#[tokio::test]
async fn allow_other_databases_runs_them_as_written() {
    let other = TestDb::new("cf_allowed").await;
    other.exec("CREATE TABLE t (a INT)").await;
    let dir = out_dir();
    let o = quote(&other.name);
    let file = file_with(
        &dir,
        "allowed.sql",
        &format!("INSERT INTO {o}.t VALUES (2)"),
    );
    let target = TestDb::new("cf_target_allowed").await;
    let out = restore_single(&file, &target.name, &["--allow-other-databases"]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(count_rows(&other.name, "t").await, 1);
    assert_eq!(count_rows(&target.name, "here").await, 1);
}

/// A body's statement ends at its `;`: the next statement's `alias.column` is no table it
/// writes (the employees sample's `show_departments` was refused as writing into a database
/// named after its alias). Dumped by us and restored under another name, it arrives.
#[tokio::test]
async fn an_alias_after_a_statement_in_a_body_is_no_database() {
    let src = TestDb::new("cf_alias").await;
    src.exec(
        "CREATE TABLE t1 (id INT PRIMARY KEY); CREATE TABLE t2 (id INT PRIMARY KEY);
         INSERT INTO t1 VALUES (1), (2);
         CREATE PROCEDURE refill() MODIFIES SQL DATA BEGIN DELETE FROM t2; \
           INSERT INTO t2 SELECT a.id FROM t1 a; END;
         CREATE PROCEDURE again() MODIFIES SQL DATA BEGIN DROP TABLE IF EXISTS t9; \
           SELECT dmd.id FROM t1 dmd; END",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_plain(&src.name, dir.path());
    let target = TestDb::new("cf_alias_into").await;
    let out = restore_single(&file, &target.name, &[]);
    assert!(out.status.success(), "{}", output_text(&out));
    common::assert_same(&src.name, &target.name).await;
}

/// Under sql_mode ORACLE `CALL pack.p2` calls a routine of the package `pack` the file
/// creates, not a procedure of a database `pack`: a dump holding such a caller restores under
/// another name (it was refused as a write into database `pack`), and the caller still runs.
#[tokio::test]
async fn a_call_into_a_package_of_the_file_is_no_write_elsewhere() {
    let src = TestDb::new("cf_pkg").await;
    src.exec(
        "SET sql_mode = 'ORACLE';
         CREATE TABLE calls (a VARCHAR(20));
         CREATE PACKAGE pack AS PROCEDURE p2; END;
         CREATE PACKAGE BODY pack AS PROCEDURE p2 AS BEGIN INSERT INTO calls VALUES ('pack.p2'); END; END;
         CREATE PROCEDURE caller AS BEGIN CALL pack.p2; END;",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_plain(&src.name, dir.path());
    let dst = TestDb::new("cf_pkg_dst").await;
    let out = restore_single(&file, &dst.name, &[]);
    common::assert_success(&out, "restore of a caller of a package routine");
    dst.exec("CALL caller()").await;
    assert_eq!(count_rows(&dst.name, "calls").await, 1);
    // A call into a database of that name is still one.
    let f = file_with(
        &dir,
        "call_other.sql",
        "CREATE PROCEDURE q() CALL pack.p2()",
    );
    let other = TestDb::new("cf_pkg_other").await;
    let out = restore_single(&f, &other.name, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("writes into database `pack`"),
        "{}",
        output_text(&out)
    );
}

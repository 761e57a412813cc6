//! `db-restore` loses nothing silently (issue #15): rows the server would skip or change on
//! LOAD DATA fail the restore naming table, row and warning; routines, triggers, events and
//! views written under ANSI_QUOTES, NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT and ORACLE restore
//! exactly; a function the server will refuse for want of a determinism clause is refused
//! before anything on the target changes.
//!
//! Each test runs alone ([`common::serial`]): they are DDL from start to end.

use crate::common;

use std::path::{Path, PathBuf};

use common::{
    TestDb, TestUser, assert_same, assert_success, count_rows, database_exists, dump_plain,
    out_dir, output_text, quote, restore_single, server,
};
use mysql_async::prelude::*;

/// The dump's header line that lets rows violating a CHECK constraint load (as the source
/// holds them); MariaDB 10.2.1+ only, hence the guard.
const CHECK_OFF: &str = "/*!100201 SET @OLD_CHECK_CONSTRAINT_CHECKS=@@CHECK_CONSTRAINT_CHECKS, \
                         CHECK_CONSTRAINT_CHECKS=0 */;";

/// `file` with every line that mentions CHECK_CONSTRAINT_CHECKS removed, or (with `add`)
/// with the setting present once, right after the header's SQL_MODE line.
fn with_check_setting(file: &Path, add: bool) -> PathBuf {
    let sql = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    for line in sql.lines() {
        if line
            .to_ascii_uppercase()
            .contains("CHECK_CONSTRAINT_CHECKS")
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if add && line.contains("SET @OLD_SQL_MODE=@@SQL_MODE") {
            out.push_str(CHECK_OFF);
            out.push('\n');
        }
    }
    assert!(
        !add || out.contains(CHECK_OFF),
        "the dump has no header SQL_MODE line"
    );
    let path = file.with_extension(if add { "check-off.sql" } else { "no-check.sql" });
    std::fs::write(&path, out).unwrap();
    path
}

/// A row that violates a CHECK constraint (loaded into the source with the checks off) is
/// skipped by LOAD DATA with only a warning: without the dump's header setting the restore
/// fails naming table, row and warning; with it, every row is restored.
#[tokio::test]
async fn a_row_violating_a_check_constraint_is_never_dropped_silently() {
    let _serial = common::serial().await;
    let src = TestDb::new("rf_check").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT, CONSTRAINT v_positive CHECK (v > 0));
         INSERT INTO t VALUES (1, 5), (3, 7);
         SET SESSION check_constraint_checks = 0;
         INSERT INTO t VALUES (2, -1);
         CREATE TABLE u (id INT PRIMARY KEY, w INT);
         INSERT INTO u SELECT seq, -seq FROM seq_1_to_50;
         ALTER TABLE u ADD CONSTRAINT w_positive CHECK (w > 0);",
    )
    .await;
    let dir = out_dir();
    let dump = dump_plain(&src.name, dir.path());

    let without = with_check_setting(&dump, false);
    let dst = TestDb::new("rf_check_lost").await;
    let out = restore_single(&without, &dst.name, &["-j", "2"]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("4025") && t.contains("CONSTRAINT"),
        "the warning is not named:\n{t}"
    );
    // Either table may be the one that fails first (two data connections).
    let names_t = t.contains(&format!("table {}.`t`", quote(&dst.name)))
        && t.contains("row 2 of the statement (2,-1)");
    let names_u = t.contains(&format!("table {}.`u`", quote(&dst.name)))
        && t.contains("row 1 of the statement (1,-1)");
    assert!(names_t || names_u, "table and row are not named:\n{t}");
    assert!(t.contains("statement "), "no statement position:\n{t}");

    let with = with_check_setting(&dump, true);
    for threads in ["1", "3"] {
        let dst = TestDb::new("rf_check_kept").await;
        let out = restore_single(&with, &dst.name, &["-j", threads]);
        assert_success(&out, "restore with the header's CHECK_CONSTRAINT_CHECKS=0");
        assert_eq!(count_rows(&dst.name, "t").await, 3);
        assert_same(&src.name, &dst.name).await;
    }
    let stock = TestDb::new("rf_check_stock").await;
    common::restore_with_client(&stock.name, &with);
    assert_same(&src.name, &stock.name).await;
}

/// A value LOAD DATA would truncate (the target's column is narrower than the file's rows)
/// fails the restore, naming the row and the server's warning, where it used to be counted.
#[tokio::test]
async fn a_row_changed_on_load_fails_the_restore() {
    let _serial = common::serial().await;
    let dir = out_dir();
    let file = dir.path().join("narrow.sql");
    std::fs::write(
        &file,
        "-- sfdbtools 0.1.0 native dump\n\
         /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES' */;\n\
         CREATE TABLE `n` (`id` INT PRIMARY KEY, `s` VARCHAR(2));\n\
         INSERT INTO `n` (`id`,`s`) VALUES (1,'ok'),(2,'too long'),(3,'ok');\n\
         -- Dump completed\n",
    )
    .unwrap();
    let dst = TestDb::new("rf_narrow").await;
    let out = restore_single(&file, &dst.name, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("table {}.`n`", quote(&dst.name)))
            && t.contains("statement 3 (line 4")
            && t.contains("1265")
            && t.contains("row 2 of the statement (2,'too long')"),
        "{t}"
    );
}

/// An ENUM's error value (`+0` in our dumps) is stored with the truncation warning the source
/// took it with: expected, so not counted and not refused by --strict. A truncation of another
/// column in the same statement still fails the restore.
#[tokio::test]
async fn an_enum_error_value_is_expected_but_hides_no_other_warning() {
    let _serial = common::serial().await;
    let dir = out_dir();
    let dump = |name: &str, rows: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!(
                "-- sfdbtools 0.1.0 native dump\n\
                 /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES' */;\n\
                 CREATE TABLE `e` (`id` INT PRIMARY KEY, `e` ENUM('a','b'), `s` VARCHAR(2));\n\
                 INSERT INTO `e` (`id`,`e`,`s`) VALUES {rows};\n\
                 -- Dump completed\n"
            ),
        )
        .unwrap();
        file
    };
    let exact = dump("exact.sql", "(1,+0,'ok'),(2,+2,'ok'),(3,NULL,NULL)");
    let dst = TestDb::new("rf_enum_exact").await;
    let out = restore_single(&exact, &dst.name, &["--strict"]);
    let t = output_text(&out);
    assert_success(&out, "restore of an ENUM error value with --strict");
    assert!(!t.contains("1265"), "an expected warning was reported: {t}");
    let mut c = server().conn(Some(&dst.name)).await;
    let stored: Vec<(i32, Option<u8>)> = c
        .query("SELECT id, e + 0 FROM e ORDER BY id")
        .await
        .unwrap();
    assert_eq!(stored, [(1, Some(0)), (2, Some(2)), (3, None)]);

    let mixed = dump("mixed.sql", "(1,+0,'ok'),(2,+1,'too long')");
    let dst = TestDb::new("rf_enum_mixed").await;
    let out = restore_single(&mixed, &dst.name, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("column 's'") && t.contains("1265"), "{t}");
}

/// A generated column the server computes with a warning (a BIT(10) from a BIT(15), as in
/// MariaDB's gcol and vcol tests) warns on restore as it did on the source, about a column the
/// file does not write: not a change of the file's values, so the restore goes on (it failed
/// with "not as the file holds them"). The stored values come back exactly.
#[tokio::test]
async fn a_warning_about_a_generated_column_is_not_a_change_of_the_rows() {
    let _serial = common::serial().await;
    let src = TestDb::new("rf_gcol_warn").await;
    src.exec(
        "SET sql_mode = '';
         CREATE TABLE t (id INT PRIMARY KEY, b BIT(15), v BIT(10) AS (b) VIRTUAL,
           s BIT(10) AS (b) STORED);
         INSERT INTO t (id, b) VALUES (1, 0x5C74), (2, 0x0001)",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let dst = TestDb::new("rf_gcol_warn_dst").await;
    let out = restore_single(&file, &dst.name, &[]);
    assert_success(&out, "restore of rows whose generated column warns");
    common::assert_same(&src.name, &dst.name).await;
}

/// A generated column whose expression warns without naming a column (`DAYNAME('')`, a zero
/// date plus an interval: MariaDB's vcol_utf32, gcol_select_myisam, innodb_virtual_index)
/// warns on restore as on the source; the restore stopped there with "not as the file holds
/// them". The rows come back exactly. (A CHECK constraint's warning cannot happen here: the
/// dump turns MariaDB's CHECK_CONSTRAINT_CHECKS off while it loads.)
#[tokio::test]
async fn an_expression_warning_of_a_generated_column_is_not_a_change_of_the_rows() {
    let _serial = common::serial().await;
    let src = TestDb::new("rf_expr_warn").await;
    src.exec(
        "SET sql_mode = '';
         CREATE TABLE g (id INT PRIMARY KEY, d DATE,
           c2 CHAR(1) AS (CONCAT('', DAYNAME(''))) VIRTUAL,
           n DATE AS (d + INTERVAL 1 DAY) STORED);
         INSERT INTO g (id, d) VALUES (1, '0000-00-00'), (2, '2001-01-01'), (3, NULL)",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let dst = TestDb::new("rf_expr_warn_dst").await;
    let out = restore_single(&file, &dst.name, &[]);
    assert_success(
        &out,
        "restore of rows whose generated column's expression warns",
    );
    common::assert_same(&src.name, &dst.name).await;
}

/// A nullable AUTO_INCREMENT column (`f INT AUTO_INCREMENT NULL`, MariaDB's
/// auto_increment tests): `SHOW CREATE TABLE` prints it without its NULL, which the server
/// reads back as NOT NULL, so the restored column was NOT NULL and its NULLs came back
/// numbered, silently (stock mariadb-dump too). Now the definition and every NULL come back.
#[tokio::test]
async fn a_nullable_auto_increment_column_keeps_its_nulls() {
    let _serial = common::serial().await;
    let src = TestDb::new("rf_ai_null").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, f INT AUTO_INCREMENT NULL COMMENT 'n', v CHAR(1),
           KEY (f));
         INSERT INTO t (id, f, v) VALUES (1, 5, 'a'), (2, 6, 'b'), (4, 9, 'c');
         UPDATE t SET f = NULL WHERE id IN (1, 4);
         INSERT INTO t (id, f, v) VALUES (5, NULL, 'd');
         CREATE TABLE a (f BIGINT UNSIGNED AUTO_INCREMENT NULL, UNIQUE KEY (f));
         INSERT INTO a VALUES (NULL), (NULL), (3);
         CREATE TABLE g (grp INT NOT NULL, f INT AUTO_INCREMENT NULL, KEY (grp, f))
           ENGINE=MyISAM;
         INSERT INTO g VALUES (1, NULL), (1, 4), (2, NULL);",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let dst = TestDb::new("rf_ai_null_dst").await;
    let out = restore_single(&file, &dst.name, &[]);
    assert_success(&out, "restore of a nullable AUTO_INCREMENT column");
    common::assert_same(&src.name, &dst.name).await;
    let mut c = server().conn(Some(&dst.name)).await;
    let rows: Vec<(i32, Option<i32>)> = c.query("SELECT id, f FROM t ORDER BY id").await.unwrap();
    assert_eq!(rows, [(1, None), (2, Some(6)), (4, None), (5, None)]);
    let nullable: Vec<String> = c
        .query(
            "SELECT IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'f' ORDER BY TABLE_NAME",
        )
        .await
        .unwrap();
    assert_eq!(nullable, ["YES", "YES", "YES"]);
}

/// One source object of each kind under `mode`: `(mode, statements)`.
fn objects_under_modes() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "NO_BACKSLASH_ESCAPES",
            vec![
                r#"CREATE FUNCTION nbe_f() RETURNS VARCHAR(20) DETERMINISTIC RETURN '\x\'"#,
                r#"CREATE PROCEDURE nbe_p(OUT s TEXT) BEGIN SET s = CONCAT('a\', "b\", '\n;'); END"#,
                r#"CREATE TRIGGER nbe_tr BEFORE INSERT ON base FOR EACH ROW SET NEW.s = CONCAT(NEW.s, '\t\')"#,
                r#"CREATE EVENT nbe_ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO INSERT INTO base (s) VALUES ('\e\')"#,
                r#"CREATE VIEW nbe_v AS SELECT '\x\' AS c, "q\" AS d, s FROM base"#,
            ],
        ),
        (
            "ANSI_QUOTES",
            vec![
                r#"CREATE FUNCTION aq_f() RETURNS TEXT DETERMINISTIC RETURN CONCAT('it''s "', 'a\\b')"#,
                r#"CREATE PROCEDURE aq_p() BEGIN SELECT "s" FROM "base" WHERE "id" = 1; END"#,
                r#"CREATE TRIGGER aq_tr BEFORE UPDATE ON "base" FOR EACH ROW SET NEW."s" = CONCAT(NEW."s", '"')"#,
                r#"CREATE EVENT aq_ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO UPDATE "base" SET "s" = 'e\\' WHERE "id" = 0"#,
                r#"CREATE VIEW "aq_v" AS SELECT "id", "s" AS "col ""q""" FROM "base""#,
            ],
        ),
        (
            "PIPES_AS_CONCAT",
            vec![
                r#"CREATE FUNCTION pc_f(a TEXT) RETURNS TEXT DETERMINISTIC RETURN a || '\\' || "|""#,
                r#"CREATE PROCEDURE pc_p(OUT r TEXT) BEGIN SET r = 'a' || 'b;'; END"#,
                r#"CREATE TRIGGER pc_tr AFTER INSERT ON base FOR EACH ROW SET @pc = NEW.s || '!'"#,
                r#"CREATE EVENT pc_ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO UPDATE base SET s = s || 'e' WHERE id = 0"#,
                r#"CREATE VIEW pc_v AS SELECT s || '|' AS c FROM base"#,
            ],
        ),
        (
            "ORACLE",
            vec![
                r#"CREATE FUNCTION ora_f(a INT) RETURN VARCHAR2 DETERMINISTIC AS BEGIN RETURN 'x\\' || a; END"#,
                r#"CREATE PROCEDURE ora_p(a IN INT) AS BEGIN NULL; END"#,
                r#"CREATE TRIGGER ora_tr BEFORE DELETE ON base FOR EACH ROW BEGIN SET @ora = :OLD.s || 'o\\'; END"#,
                r#"CREATE EVENT ora_ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO UPDATE base SET s = s || 'o' WHERE id = 0"#,
                r#"CREATE VIEW ora_v AS SELECT s || '"' AS c FROM base"#,
            ],
        ),
    ]
}

/// Routines, triggers, events and views created under each mode that changes how SQL reads
/// (`'\x\'` is a whole string under NO_BACKSLASH_ESCAPES) restore exactly with our restore
/// and with the stock client, from our dump.
#[tokio::test]
async fn objects_of_every_sql_mode_restore_exactly() {
    let _serial = common::serial().await;
    let src = TestDb::new("rf_modes").await;
    src.exec(
        r#"CREATE TABLE base (id INT PRIMARY KEY AUTO_INCREMENT, s TEXT);
          INSERT INTO base VALUES (1, 'a\\b'), (2, 'q\'\"');"#,
    )
    .await;
    let mut conn = src.conn().await;
    for (mode, statements) in objects_under_modes() {
        conn.query_drop(format!("SET SESSION sql_mode = '{mode}'"))
            .await
            .unwrap();
        for sql in statements {
            conn.query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("under {mode}: {sql}: {e}"));
        }
    }
    conn.disconnect().await.unwrap();

    let dir = out_dir();
    let dump = dump_plain(&src.name, dir.path());

    let dst = TestDb::new("rf_modes_dst").await;
    let out = restore_single(&dump, &dst.name, &["-j", "2"]);
    assert_success(&out, "restore");
    assert_same(&src.name, &dst.name).await;

    let stock = TestDb::new("rf_modes_stock").await;
    common::restore_with_client(&stock.name, &dump);
    assert_same(&src.name, &stock.name).await;
}

/// A hand-written file in mysqldump's style: the mode set, saved and restored around a
/// routine whose body ends in a backslash under NO_BACKSLASH_ESCAPES.
#[tokio::test]
async fn a_file_that_switches_to_no_backslash_escapes_is_read_as_the_server_reads_it() {
    let _serial = common::serial().await;
    let dir = out_dir();
    let file = dir.path().join("nbe.sql");
    std::fs::write(
        &file,
        "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='' */;\n\
         CREATE TABLE t (s TEXT);\n\
         INSERT INTO t VALUES ('a\\'b');\n\
         /*!50003 SET @saved_sql_mode = @@sql_mode */ ;\n\
         /*!50003 SET sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI' */ ;\n\
         DELIMITER ;;\n\
         CREATE FUNCTION f() RETURNS TEXT DETERMINISTIC RETURN '\\x\\';;\n\
         DELIMITER ;\n\
         INSERT INTO t VALUES ('c\\');\n\
         /*!50003 SET sql_mode = @saved_sql_mode */ ;\n\
         INSERT INTO t VALUES ('d\\'e');\n\
         /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n",
    )
    .unwrap();
    let dst = TestDb::new("rf_nbe_file").await;
    let out = restore_single(&file, &dst.name, &["-j", "2"]);
    assert_success(&out, "restore");
    let mut c = dst.conn().await;
    let mut rows: Vec<String> = c.query("SELECT s FROM t").await.unwrap();
    rows.sort();
    assert_eq!(rows, ["a'b", "c\\", "d'e"]);
    let f: Option<String> = c.query_first("SELECT f()").await.unwrap();
    assert_eq!(f.as_deref(), Some("\\x\\"));
}

/// With the binary log on and log_bin_trust_function_creators=0 the server refuses a
/// function that declares none of DETERMINISTIC, NO SQL, READS SQL DATA (ERROR 1418, for
/// root too): the restore says so before it creates or writes anything.
#[tokio::test]
async fn a_function_the_binlog_refuses_is_named_before_anything_changes() {
    let _serial = common::serial().await;
    let mut c = server().conn(None).await;
    let (log_bin, trust): (u8, u8) = c
        .query_first("SELECT @@log_bin, @@log_bin_trust_function_creators")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (log_bin, trust),
        (1, 0),
        "this test needs a server with the binary log on and log_bin_trust_function_creators=0 \
         (scripts/sandbox.sh starts one so)"
    );
    let dir = out_dir();
    let file = dir.path().join("functions.sql");
    std::fs::write(
        &file,
        "CREATE TABLE t (id INT PRIMARY KEY);\n\
         INSERT INTO t VALUES (1),(2);\n\
         DELIMITER ;;\n\
         CREATE FUNCTION fine() RETURNS INT DETERMINISTIC RETURN 1;;\n\
         CREATE DEFINER=CURRENT_USER FUNCTION `count t`() RETURNS INT\n    COMMENT 'not DETERMINISTIC'\nRETURN (SELECT COUNT(*) FROM t);;\n\
         DELIMITER ;\n",
    )
    .unwrap();
    let target = format!("rf_binlog_{}", std::process::id());
    let user = TestUser::new(
        "rf_restorer",
        "pw",
        &format!("ALL PRIVILEGES ON {}.*", quote(&target)),
    )
    .await;
    for (who, password) in [
        (user.name.as_str(), Some(user.password.as_str())),
        (server().user.as_str(), server().password.as_deref()),
    ] {
        let mut cmd = server().sfdbtools();
        match password {
            Some(p) => cmd.env("MYSQL_PWD", p),
            None => cmd.env_remove("MYSQL_PWD"),
        };
        let out = cmd
            .args(["-q", "db-restore", "single", "--file"])
            .arg(&file)
            .args(["--target-db", &target, "-t", "TEST"])
            .arg(format!("--host={}", server().host))
            .arg(format!("--port={}", server().port))
            .arg(format!("--user={who}"))
            .output()
            .unwrap();
        let t = output_text(&out);
        assert_eq!(out.status.code(), Some(1), "as {who}: {t}");
        assert!(
            t.contains("`count t`")
                && t.contains("statement 4 (line 5")
                && t.contains("SET GLOBAL log_bin_trust_function_creators=1")
                && t.contains("DETERMINISTIC, NO SQL or READS SQL DATA")
                && !t.contains("`fine`"),
            "as {who}: {t}"
        );
        assert!(
            !database_exists(&target).await,
            "as {who}: the target was created before the refusal"
        );
    }
}

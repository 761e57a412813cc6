//! Round trip of the fidelity corpus: dump with sfdbtools, restore with the stock client into
//! another database name, and compare every row and every definition.
//!
//! Each test runs alone ([`common::serial`]): they are DDL from start to end.

use crate::common;

use std::path::{Path, PathBuf};

use common::compare::{diff, image};
use common::{TestDb, assert_success, files_in, out_dir, server};

fn restore_stock(db: &str, file: &Path) {
    common::restore_with_client(db, file)
}

/// The comparison must see a one-byte change, or the round-trip test proves nothing.
#[tokio::test]
async fn comparison_detects_a_one_byte_change() {
    let _serial = common::serial().await;
    let src = TestDb::new("cmp_src").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY, b VARBINARY(10), f FLOAT, d DECIMAL(10,3))")
        .await;
    src.exec("INSERT INTO t VALUES (1, 0x000102, 0.010516252390057362, 1.5), (2, NULL, 1, 2)")
        .await;
    let dst = TestDb::new("cmp_dst").await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    restore_stock(&dst.name, &file);
    let mut conn = server().conn(None).await;
    let a = image(&mut conn, &src.name).await;
    assert!(diff(&a, &image(&mut conn, &dst.name).await).is_empty());

    for change in [
        "UPDATE t SET b = 0x000103 WHERE id = 1",
        "UPDATE t SET f = 0.0105162 WHERE id = 1",
        "UPDATE t SET d = 1.501 WHERE id = 1",
        "UPDATE t SET b = '' WHERE id = 2",
    ] {
        dst.exec(change).await;
        let d = diff(&a, &image(&mut conn, &dst.name).await);
        assert!(!d.is_empty(), "the comparison missed: {change}");
        restore_stock(&dst.name, &file);
    }
    dst.exec("ALTER TABLE t COMMENT 'x'").await;
    assert!(
        !diff(&a, &image(&mut conn, &dst.name).await).is_empty(),
        "a definition change was missed"
    );
}

/// FLOAT is exact: the stock dump prints 6 significant digits, we keep the stored value.
#[tokio::test]
async fn float_keeps_every_bit() {
    let _serial = common::serial().await;
    let src = TestDb::new("float").await;
    src.exec("CREATE TABLE f (id INT PRIMARY KEY, x FLOAT)")
        .await;
    src.exec(
        "INSERT INTO f VALUES (1, 0.010516252390057362), (2, 3.40282e38), (3, 1.17549435e-38), \
         (4, 1e-45), (5, -0e0), (6, -123.456789)",
    )
    .await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("0.010516252368688583"),
        "FLOAT written with too few digits:\n{text}"
    );
    let dst = TestDb::new("float_dst").await;
    restore_stock(&dst.name, &file);
    let mut conn = server().conn(None).await;
    let d = diff(
        &image(&mut conn, &src.name).await,
        &image(&mut conn, &dst.name).await,
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// A combined file carries CREATE DATABASE and USE per database and restores both.
#[tokio::test]
async fn combined_file_restores_every_database() {
    let _serial = common::serial().await;
    let a = TestDb::new("comb_a").await;
    let b = TestDb::new("comb_b").await;
    a.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO t VALUES (1,'a'),(2,'é')",
    )
    .await;
    b.exec("CREATE SEQUENCE s START WITH 5; CREATE TABLE u (id INT DEFAULT NEXTVAL(s), v JSON); INSERT INTO u (v) VALUES ('{\"k\": \"\\\\u00e9\"}')").await;
    let dir = out_dir();
    let out = server()
        .sfdbtools()
        .args([
            "-q",
            "db-backup",
            "filter",
            "--db",
            &a.name,
            "--db",
            &b.name,
            "--mode",
            "single-file",
            "-t",
            "T",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir.path())
        .args(["-c", "none"])
        .output()
        .unwrap();
    assert_success(&out, "filter single-file");
    let files = files_in(dir.path());
    let dump = files
        .iter()
        .find(|f| f.ends_with(".sql") && common::is_dump_file(f))
        .expect("a dump file");
    assert!(
        dump.starts_with("combined_") && dump.ends_with("_2db.sql"),
        "{dump}"
    );
    let text = std::fs::read_to_string(dir.path().join(dump)).unwrap();
    for db in [&a.name, &b.name] {
        assert!(text.contains(&format!("-- Current Database: `{db}`")));
        assert!(text.contains(&format!("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{db}`")));
        assert!(text.contains(&format!("USE `{db}`;")));
    }
    let mut conn = server().conn(None).await;
    let before_a = image(&mut conn, &a.name).await;
    let before_b = image(&mut conn, &b.name).await;
    a.exec(&format!("DROP DATABASE `{}`", a.name)).await;
    server()
        .client(None)
        .arg("-e")
        .arg(format!("DROP DATABASE `{}`", b.name))
        .output()
        .unwrap();
    let out = server()
        .client(None)
        .arg("--show-warnings")
        .stdin(std::fs::File::open(dir.path().join(dump)).unwrap())
        .output()
        .unwrap();
    assert_success(&out, "restoring the combined file");
    assert!(diff(&before_a, &image(&mut conn, &a.name).await).is_empty());
    assert!(diff(&before_b, &image(&mut conn, &b.name).await).is_empty());
}

/// Metadata: old keys in the old order, exact size and hash of the file, no secrets.
#[tokio::test]
async fn metadata_describes_the_file_exactly() {
    let _serial = common::serial().await;
    let src = TestDb::new("meta").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3)")
        .await;
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let meta_path = PathBuf::from(format!("{}.meta.json", file.display()));
    let text = std::fs::read_to_string(&meta_path).unwrap();
    let keys = [
        "\"backup\"",
        "\"time\"",
        "\"file\"",
        "\"compression\"",
        "\"encryption\"",
        "\"source\"",
        "\"replication\"",
        "\"version\"",
        "\"additional_files\"",
        "\"ticket\"",
        "\"generator\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(&format!("\n  {k}"))
                .unwrap_or_else(|| panic!("{k} missing"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "keys out of order:\n{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        v["file"]["size_bytes"].as_u64().unwrap(),
        bytes.len() as u64
    );
    use sha2::Digest;
    assert_eq!(
        v["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&bytes))
    );
    assert_eq!(v["ticket"], "TEST-1");
    assert_eq!(v["functions_needing_trust"], serde_json::json!([]));
    assert_eq!(v["backup"]["type"], "single");
    assert_eq!(v["tables"][0]["rows"], 3);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&meta_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

// ---------------------------------------------------------------------------------------------
// Schemas nobody here wrote (issue #15): each class of loss, built from the MariaDB manual and
// its mysql-test suite (`main/ddl_i18n_koi8r.test`, `main/mysqldump*.test`), dumped, restored
// by the stock client and by `db-restore`, and compared with the independent image.

/// Runs SQL bytes (any charset) through the stock client in `db` with `--default-character-set
/// charset`, the way a user of that charset creates objects.
fn run_bytes(db: &str, charset: &str, sql: &[u8]) {
    use std::io::Write;
    let mut child = server()
        .client(Some(db))
        .arg(format!("--default-character-set={charset}"))
        .arg("--comments")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(sql).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success(&out, "creating the source objects");
}

/// Dumps `src`, restores the file with the stock client and with `db-restore`, each into a
/// fresh database, and returns every difference of either (empty when both are exact), with
/// the dump file.
async fn differences_on_both_paths(src: &TestDb, dir: &Path) -> (Vec<String>, PathBuf) {
    differences_allowing(src, dir, None).await
}

/// [`differences_on_both_paths`], where the stock client may print exactly `warning` (a value
/// the source itself could only take with that warning).
async fn differences_allowing(
    src: &TestDb,
    dir: &Path,
    warning: Option<&str>,
) -> (Vec<String>, PathBuf) {
    let file = common::dump_single(&src.name, dir, &[]);
    let stock = TestDb::new("stock_dst").await;
    match warning {
        None => restore_stock(&stock.name, &file),
        Some(w) => {
            let out = server().load_file(&stock.name, &file);
            assert_success(&out, "the stock client's restore");
            let printed = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            for line in printed.lines().filter(|l| !l.trim().is_empty()) {
                assert_eq!(line.trim(), w, "the restore printed:\n{printed}");
            }
        }
    }
    let ours = TestDb::new("ours_dst").await;
    // Every table whose keys can be built after its rows has them so (see `restore::keys`).
    assert_success(
        &common::restore_single(&file, &ours.name, &["--keys-after-rows", "0"]),
        "sfdbtools db-restore single",
    );
    let mut conn = server().conn(None).await;
    let a = image(&mut conn, &src.name).await;
    let mut all = Vec::new();
    for (path, dst) in [("stock client", &stock), ("db-restore", &ours)] {
        let b = image(&mut conn, &dst.name).await;
        all.extend(diff(&a, &b).into_iter().map(|d| format!("[{path}] {d}")));
    }
    (all, file)
}

/// [`differences_on_both_paths`] of `src`, which must find none.
async fn assert_round_trips(src: &TestDb) {
    let dir = out_dir();
    let (d, _) = differences_on_both_paths(src, dir.path()).await;
    assert_exact(&d);
}

fn assert_exact(differences: &[String]) {
    assert!(
        differences.is_empty(),
        "differences after restore:\n{}",
        differences.join("\n")
    );
}

/// Rows the source accepted (loaded with check_constraint_checks=0, or before the constraint)
/// restore on both paths, and none is dropped.
#[tokio::test]
async fn rows_violating_a_check_constraint_restore() {
    let _serial = common::serial().await;
    let src = TestDb::new("check_rows").await;
    src.exec(
        "CREATE TABLE c (id INT PRIMARY KEY, a INT); INSERT INTO c VALUES (1, 1), (2, 50);
         SET check_constraint_checks = 0;
         ALTER TABLE c ADD CONSTRAINT small CHECK (a < 10);
         INSERT INTO c VALUES (3, 99);",
    )
    .await;
    assert_round_trips(&src).await;
}

/// A table whose every column is generated still holds rows: `()` each, written as
/// `INSERT INTO t () VALUES (),()` (found by a sweep of MariaDB's vcol tests: its rows were
/// silently lost, and `verify --against` said match).
#[tokio::test]
async fn rows_of_a_table_of_generated_columns_only_are_kept() {
    let _serial = common::serial().await;
    let src = TestDb::new("all_generated").await;
    src.exec(
        "CREATE TABLE v (c INT AS (1) VIRTUAL); INSERT INTO v () VALUES (), (), ();
         CREATE TABLE s (c INT AS (1) STORED, d INT AS (c + 1) VIRTUAL);
         INSERT INTO s () VALUES (), ();
         CREATE TABLE none_yet (c INT AS (2) VIRTUAL)",
    )
    .await;
    let dir = out_dir();
    let (d, file) = differences_on_both_paths(&src, dir.path()).await;
    assert_exact(&d);
    let sql = String::from_utf8(common::sql_body(&file)).unwrap();
    assert!(sql.contains("INSERT INTO `v` () VALUES (),(),();"), "{sql}");
    assert!(!sql.contains("INSERT INTO `none_yet`"), "{sql}");
}

/// A sequence whose next value lies behind its START (`ALTER SEQUENCE … START WITH` after
/// use, as MariaDB's `sql_sequence/alter.test` does) comes back with that next value: SETVAL
/// alone never moves a fresh sequence backwards, and the copy handed out START next.
#[tokio::test]
async fn a_sequence_behind_its_start_keeps_its_next_value() {
    let _serial = common::serial().await;
    let src = TestDb::new("seq_behind").await;
    src.exec(
        "CREATE SEQUENCE up START WITH 1 CACHE 10; SELECT NEXTVAL(up), NEXTVAL(up);
         ALTER SEQUENCE up START WITH 100;
         CREATE SEQUENCE down START WITH -1 INCREMENT BY -1 MINVALUE -1000 MAXVALUE -1 NOCACHE;
         SELECT NEXTVAL(down), NEXTVAL(down), NEXTVAL(down);
         ALTER SEQUENCE down START WITH -500;
         CREATE SEQUENCE cycled START WITH 5 MINVALUE 1 MAXVALUE 6 CYCLE NOCACHE;
         SELECT NEXTVAL(cycled), NEXTVAL(cycled), NEXTVAL(cycled);
         ALTER SEQUENCE cycled START WITH 6",
    )
    .await;
    assert_round_trips(&src).await;
}

/// A history row whose period is empty (ROW START = ROW END: a row changed twice under one
/// timestamp, as MariaDB's `versioning/replace.test` and `foreign.test` make) is refused by
/// every server on insert (ERROR 1525), so a dump holding it could not be restored: it is left
/// out and counted in a warning (an error with `--strict`), and the rest of the history
/// restores on both paths. No `FOR SYSTEM_TIME AS OF` saw it, so each answers the same.
#[tokio::test]
async fn history_rows_with_an_empty_period_are_left_out_and_said() {
    let _serial = common::serial().await;
    let src = TestDb::new("empty_period").await;
    src.exec(
        "SET timestamp = UNIX_TIMESTAMP('2020-05-12 01:01:08');
         CREATE TABLE r (a INT PRIMARY KEY, b INT) WITH SYSTEM VERSIONING;
         REPLACE INTO r VALUES (1, 1), (2, 2);
         REPLACE INTO r VALUES (1, 3), (2, 4);
         SET timestamp = UNIX_TIMESTAMP('2021-01-01 00:00:00');
         UPDATE r SET b = 5 WHERE a = 1;
         SET timestamp = DEFAULT;",
    )
    .await;
    let mut conn = server().conn(Some(&src.name)).await;
    use mysql_async::prelude::*;
    let empty: Option<u64> = conn
        .query_first("SELECT COUNT(*) FROM r FOR SYSTEM_TIME ALL WHERE row_end <= row_start")
        .await
        .unwrap();
    assert_eq!(empty, Some(2), "the source holds two empty periods");
    let dir = out_dir();
    let (file, text) = common::dump_single_said(&src.name, dir.path(), &[]);
    assert!(
        text.contains("`r`: 2 history row(s) whose ROW START equals their ROW END were left out"),
        "{text}"
    );
    let meta = common::metadata_of(&file);
    assert_eq!(meta["tables"][0]["history_rows_left_out"], 2, "{meta}");
    let strict_dir = out_dir();
    let out = common::backup_single(&src.name, strict_dir.path(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    assert!(
        common::output_text(&out).contains("refused with --strict"),
        "{}",
        common::output_text(&out)
    );
    let ours = TestDb::new("empty_period_ours").await;
    assert_success(&common::restore_single(&file, &ours.name, &[]), "restore");
    let stock = TestDb::new("empty_period_stock").await;
    restore_stock(&stock.name, &file);
    let versions = |db: &str| {
        format!(
            "SELECT GROUP_CONCAT(CONCAT_WS(',', a, b, row_start, row_end) ORDER BY row_start, a, \
             row_end SEPARATOR ';') FROM {}.r FOR SYSTEM_TIME ALL WHERE row_end > row_start",
            common::quote(db)
        )
    };
    let want: Option<String> = conn.query_first(versions(&src.name)).await.unwrap();
    for db in [&ours.name, &stock.name] {
        let got: Option<String> = conn.query_first(versions(db)).await.unwrap();
        assert_eq!(got, want, "{db}");
        let all: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {}.r FOR SYSTEM_TIME ALL",
                common::quote(db)
            ))
            .await
            .unwrap();
        assert_eq!(all, Some(3), "{db}: two current rows and one history row");
    }
}

/// System-versioned tables keep every row version with its exact period, implicit and
/// explicit period columns and partitioning by SYSTEM_TIME alike; transaction-id versioning,
/// which cannot be carried, keeps its current rows and is named in a warning and the metadata.
#[tokio::test]
async fn system_versioning_history_round_trips() {
    let _serial = common::serial().await;
    let src = TestDb::new("history").await;
    src.exec(
        "SET timestamp = UNIX_TIMESTAMP('2021-03-04 05:06:07.123456');
         CREATE TABLE implicit_p (id INT PRIMARY KEY, v VARCHAR(10)) WITH SYSTEM VERSIONING;
         CREATE TABLE explicit_p (id INT, v INT,
           s TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,
           e TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
           PERIOD FOR SYSTEM_TIME (s, e)) WITH SYSTEM VERSIONING;
         CREATE TABLE parted (id INT, v INT) WITH SYSTEM VERSIONING
           PARTITION BY SYSTEM_TIME (PARTITION p_hist HISTORY, PARTITION p_cur CURRENT);
         INSERT INTO implicit_p VALUES (1, 'one'), (2, 'two');
         INSERT INTO explicit_p (id, v) VALUES (1, 10);
         INSERT INTO parted VALUES (1, 1);
         SET timestamp = UNIX_TIMESTAMP('2022-01-01 00:00:00.5');
         UPDATE implicit_p SET v = 'uno' WHERE id = 1;
         DELETE FROM implicit_p WHERE id = 2;
         UPDATE explicit_p SET v = 11;
         UPDATE parted SET v = 2;
         SET timestamp = DEFAULT;",
    )
    .await;
    let dir = out_dir();
    let (d, file) = differences_on_both_paths(&src, dir.path()).await;
    assert_exact(&d);
    let meta = common::metadata_of(&file);
    let historic: Vec<&str> = meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["history"] == true)
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(historic.len(), 3, "{meta}");

    // Transaction-id versioning: current rows only, said by name.
    let trx = TestDb::new("history_trx").await;
    trx.exec(
        "CREATE TABLE by_trx (id INT PRIMARY KEY, v INT,
           s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START,
           e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END,
           PERIOD FOR SYSTEM_TIME (s, e)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
         INSERT INTO by_trx (id, v) VALUES (1, 1); UPDATE by_trx SET v = 2;
         CREATE TABLE dropped_trx (id INT PRIMARY KEY, v INT,
           s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START INVISIBLE,
           e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END INVISIBLE,
           PERIOD FOR SYSTEM_TIME (s, e)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
         INSERT INTO dropped_trx (id, v) VALUES (1, 1); UPDATE dropped_trx SET v = 2;
         SET system_versioning_alter_history = KEEP;
         ALTER TABLE dropped_trx DROP COLUMN s, DROP COLUMN e;",
    )
    .await;
    let dir = out_dir();
    let out = common::backup(
        &[
            "single",
            "--database",
            &trx.name,
            "-c",
            "none",
            "--skip-encrypt",
        ],
        dir.path(),
    );
    assert_success(&out, "dump of a transaction-id versioned table");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("by_trx") && stderr.contains("transaction id"),
        "no warning naming the table: {stderr}"
    );
    let meta = common::metadata_of(&common::dump_file_in(dir.path()));
    assert_eq!(meta["history_lost"][0]["table"], "by_trx", "{meta}");
    // Its transaction-id period columns dropped, a table keeps hidden BIGINT ones that
    // SHOW CREATE TABLE does not show: read as timestamps, its history made the restore
    // fail (ERROR 1525).
    assert_eq!(meta["history_lost"][1]["table"], "dropped_trx", "{meta}");
    let restored = TestDb::new("history_trx_dst").await;
    assert_success(
        &common::restore_single(&common::dump_file_in(dir.path()), &restored.name, &[]),
        "restore of the transaction-id versioned tables",
    );
    for table in ["by_trx", "dropped_trx"] {
        assert_eq!(
            answers(&restored.name, &[&format!("SELECT id, v FROM {table}")]).await,
            [format!("SELECT id, v FROM {table} -> 1,2")]
        );
    }

    // With --strict the loss is an error, and nothing is left under a final name.
    let strict_dir = out_dir();
    let out = common::backup(
        &[
            "single",
            "--database",
            &trx.name,
            "-c",
            "none",
            "--skip-encrypt",
            "--strict",
        ],
        strict_dir.path(),
    );
    let said = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("by_trx") && said.contains("--strict"),
        "{said}"
    );
    let left = common::files_in(strict_dir.path());
    assert!(left.is_empty(), "files left after a refused dump: {left:?}");
}

/// Definitions are bytes: a binary default and a latin1 literal in a view are not UTF-8, and
/// the dump carries them exactly.
#[tokio::test]
async fn definitions_that_are_not_utf8_round_trip() {
    let _serial = common::serial().await;
    let src = TestDb::new("bytes").await;
    src.exec(
        "CREATE TABLE b (id INT PRIMARY KEY, v VARBINARY(4) DEFAULT x'FF00E9',
           w BINARY(2) DEFAULT x'80FF');
         INSERT INTO b (id) VALUES (1);
         CREATE VIEW v AS SELECT _latin1 x'E9' AS c, _binary x'FF' AS d, v FROM b;",
    )
    .await;
    assert_round_trips(&src).await;
}

/// The database's defaults reach the restored database (restored under another name, into a
/// database created with other defaults), and routine parameters declared without a charset
/// keep the type the source gave them.
#[tokio::test]
async fn database_defaults_are_carried() {
    let _serial = common::serial().await;
    let src = TestDb::new("defaults").await;
    src.exec(&format!(
        "ALTER DATABASE `{}` CHARACTER SET cp1251 COLLATE cp1251_bin COMMENT 'кириллица'",
        src.name
    ))
    .await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10));
         CREATE FUNCTION f(p VARCHAR(10)) RETURNS VARCHAR(40) DETERMINISTIC
           RETURN CONCAT(p, ' ', COLLATION(p));",
    )
    .await;
    // A routine created while the database had another collation keeps that one.
    src.exec(&format!(
        "ALTER DATABASE `{}` COLLATE cp1251_general_ci",
        src.name
    ))
    .await;
    assert_round_trips(&src).await;
}

/// Views, routines, triggers and events written under koi8r, cp1251 and latin1 clients are
/// recreated under their own charsets, byte for byte (the case of MariaDB's
/// ddl_i18n_koi8r.test).
#[tokio::test]
async fn objects_keep_their_client_charsets() {
    let _serial = common::serial().await;
    let src = TestDb::new("i18n").await;
    src.exec(
        "CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, c VARCHAR(20) CHARACTER SET utf8mb4)",
    )
    .await;
    // 'текст' in koi8r and in cp1251, 'é' in latin1.
    let koi8r: &[u8] = b"\xd4\xc5\xcb\xd3\xd4";
    let cp1251: &[u8] = b"\xf2\xe5\xea\xf1\xf2";
    for (cs, word) in [
        ("koi8r", koi8r),
        ("cp1251", cp1251),
        ("latin1", &b"\xe9"[..]),
    ] {
        let mut sql = Vec::new();
        let put = |sql: &mut Vec<u8>, parts: &[&[u8]]| {
            for p in parts {
                sql.extend_from_slice(p);
            }
        };
        put(
            &mut sql,
            &[
                b"CREATE VIEW v_",
                cs.as_bytes(),
                b" AS SELECT '",
                word,
                b"' AS c1, _",
                cs.as_bytes(),
                b"'",
                word,
                b"' AS c2, COLLATION('",
                word,
                b"') AS c3;\nDELIMITER |\n",
                b"CREATE PROCEDURE p_",
                cs.as_bytes(),
                b"(x VARCHAR(10)) BEGIN SELECT '",
                word,
                b"', x, COLLATION(x); END|\n",
                b"CREATE FUNCTION f_",
                cs.as_bytes(),
                b"() RETURNS VARCHAR(10) DETERMINISTIC RETURN '",
                word,
                b"'|\n",
                b"CREATE TRIGGER t_",
                cs.as_bytes(),
                b" BEFORE INSERT ON log FOR EACH ROW SET @x_",
                cs.as_bytes(),
                b" = '",
                word,
                b"'|\n",
                b"CREATE EVENT e_",
                cs.as_bytes(),
                b" ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO INSERT INTO log (c) VALUES ('",
                word,
                b"')|\nDELIMITER ;\n",
            ],
        );
        run_bytes(&src.name, cs, &sql);
    }
    assert_round_trips(&src).await;
}

/// A body that ends in a `--` or `#` comment, without a newline, keeps its last line and does
/// not swallow the delimiter (MDEV-36183).
#[tokio::test]
async fn bodies_ending_in_a_comment_round_trip() {
    let _serial = common::serial().await;
    let src = TestDb::new("comment_end").await;
    // Sent one by one by the driver: the stock client itself cannot create these (its
    // delimiter would be inside the comment).
    for sql in [
        "CREATE TABLE t (a INT)",
        "CREATE PROCEDURE p1() SELECT 1 -- the last words",
        "CREATE FUNCTION f1() RETURNS INT DETERMINISTIC RETURN 1 # hash comment",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a = 1 -- trigger comment",
        "CREATE EVENT ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO SET @b = 2 # event",
    ] {
        src.exec(sql).await;
    }
    assert_round_trips(&src).await;
}

/// A MERGE table's rows are its children's: they are dumped once, with the children, and the
/// metadata names the tables dumped as structure only. (BLACKHOLE, FEDERATED, SPIDER and
/// CONNECT follow the same rule; their plugins are not loaded in the test server.)
#[tokio::test]
async fn merge_tables_are_structure_only() {
    let _serial = common::serial().await;
    let src = TestDb::new("merge").await;
    src.exec(
        "CREATE TABLE m1 (a INT) ENGINE=MyISAM; CREATE TABLE m2 (a INT) ENGINE=MyISAM;
         INSERT INTO m1 VALUES (1); INSERT INTO m2 VALUES (2);
         CREATE TABLE m_no (a INT) ENGINE=MERGE UNION=(m1, m2) INSERT_METHOD=NO;
         CREATE TABLE m_last (a INT) ENGINE=MERGE UNION=(m1, m2) INSERT_METHOD=LAST;",
    )
    .await;
    let dir = out_dir();
    let (d, file) = differences_on_both_paths(&src, dir.path()).await;
    assert_exact(&d);
    let meta = common::metadata_of(&file);
    let mut skipped: Vec<&str> = meta["structure_only"]
        .as_array()
        .unwrap_or_else(|| panic!("no structure_only in {meta}"))
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    skipped.sort();
    assert_eq!(skipped, ["m_last", "m_no"]);
}

/// ENUM and SET values restore as the stored numbers: the ENUM error value next to a ''
/// member, and SET members equal under the column's collation.
#[tokio::test]
async fn enum_and_set_values_are_exact() {
    let _serial = common::serial().await;
    let src = TestDb::new("enumset").await;
    src.exec(
        "SET sql_mode = '';
         CREATE TABLE es (id INT PRIMARY KEY,
           e ENUM('a', '', 'b', '2', '1'),
           s SET('x', 'y', 'ü', 'z''q', 'w\\\\v') CHARACTER SET latin1 COLLATE latin1_swedish_ci);
         INSERT INTO es VALUES (1, 'nosuch', 'x'), (2, '', 'y'), (3, '2', 'x,y'),
           (4, 4, 3), (5, NULL, NULL), (6, '1', 31);
         UPDATE es SET s = 4 WHERE id = 2;",
    )
    .await;
    let dir = out_dir();
    // The ENUM error value can only be stored with a warning, on the source as on restore.
    let (d, _) = differences_allowing(
        &src,
        dir.path(),
        Some("Warning (Code 1265): Data truncated for column 'e' at row 1"),
    )
    .await;
    assert_exact(&d);
}

/// A geometry column's SRID (REF_SYSTEM_ID), which SHOW CREATE TABLE does not show.
#[tokio::test]
async fn geometry_srid_is_kept() {
    let _serial = common::serial().await;
    let src = TestDb::new("srid").await;
    src.exec(
        "CREATE TABLE g (id INT PRIMARY KEY, p POINT REF_SYSTEM_ID=4326 NOT NULL,
           g GEOMETRY REF_SYSTEM_ID=3857);
         INSERT INTO g VALUES (1, ST_GeomFromText('POINT(1 2)', 4326), NULL);",
    )
    .await;
    assert_round_trips(&src).await;
}

/// `file` restored under new names by the stock client (`{tag}_stock`) and by `db-restore`
/// (`{tag}_ours`), which must succeed and pass `verify --against`: the copy's definitions,
/// with the qualifiers the dump kept now naming the copy, are the dump's.
async fn restored_both_ways(tag: &str, file: &Path) -> (TestDb, TestDb) {
    let stock = TestDb::new(&format!("{tag}_stock")).await;
    restore_stock(&stock.name, file);
    let ours = TestDb::new(&format!("{tag}_ours")).await;
    assert_success(&common::restore_single(file, &ours.name, &[]), "restore");
    assert_success(
        &verify_against(file, &ours.name),
        "verify --against the copy restored under another name",
    );
    (stock, ours)
}

/// `sfdbtools verify --file <file> --against <db>`, whatever its outcome.
fn verify_against(file: &Path, db: &str) -> std::process::Output {
    server()
        .sfdbtools()
        .args(["-q", "verify", "--file"])
        .arg(file)
        .args(["--against", db])
        .args(server().connection_args())
        .output()
        .unwrap()
}

/// `verify --against` tells a database that matches the dump from one that lost any of the
/// classes above: database defaults, history rows, an object's charsets, a routine's body,
/// ENUM values, SRIDs.
#[tokio::test]
async fn verify_against_catches_every_class() {
    let _serial = common::serial().await;
    let src = TestDb::new("vf_classes").await;
    src.exec(&format!(
        "ALTER DATABASE `{}` CHARACTER SET cp1251 COLLATE cp1251_general_ci",
        src.name
    ))
    .await;
    src.exec(
        "SET sql_mode = '';
         SET timestamp = UNIX_TIMESTAMP('2021-01-01 00:00:00');
         CREATE TABLE h (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
         INSERT INTO h VALUES (1, 1);
         SET timestamp = UNIX_TIMESTAMP('2022-01-01 00:00:00');
         UPDATE h SET v = 2;
         SET timestamp = DEFAULT;
         CREATE TABLE es (id INT PRIMARY KEY, e ENUM('a', '', 'b'));
         INSERT INTO es VALUES (1, 'nosuch'), (2, '');
         CREATE TABLE g (id INT PRIMARY KEY, p POINT REF_SYSTEM_ID=4326 NOT NULL);
         CREATE PROCEDURE p() SELECT 1 /* the body */;",
    )
    .await;
    run_bytes(
        &src.name,
        "koi8r",
        b"CREATE VIEW v AS SELECT '\xd4\xc5\xcb\xd3\xd4' AS c;\n",
    );
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let verify_against = |db: &str| verify_against(&file, db);
    let breakages: [(&str, &str); 7] = [
        ("ALTER DATABASE COLLATE cp1251_bin", "database"),
        (
            "SET sql_mode = 'STRICT_ALL_TABLES'; DROP PROCEDURE p; \
             CREATE PROCEDURE p() SELECT 1 /* the body */",
            "procedure p: created under other settings",
        ),
        ("DELETE HISTORY FROM h", "`h`"),
        ("UPDATE es SET e = 2 WHERE id = 1", "`es`"),
        ("ALTER TABLE g MODIFY p POINT NOT NULL", "table g"),
        (
            "DROP PROCEDURE p; CREATE PROCEDURE p() SELECT 1 /* another body */",
            "procedure p: its definition differs",
        ),
        ("CREATE OR REPLACE VIEW v AS SELECT 'текст' AS c", "view v"),
    ];
    for (breakage, named) in breakages {
        let dst = TestDb::new("vf_classes_dst").await;
        assert_success(&common::restore_single(&file, &dst.name, &[]), "db-restore");
        assert_success(&verify_against(&dst.name), "verify --against an exact copy");
        dst.exec(breakage).await;
        let out = verify_against(&dst.name);
        let said = common::output_text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{breakage} went unseen:\n{said}"
        );
        assert!(
            said.contains(named),
            "{breakage}: {named} not named:\n{said}"
        );
    }
}

/// A function without a determinism clause is listed in the metadata, and a restore onto a
/// server with the binary log on names it from there before it changes anything.
#[tokio::test]
async fn functions_the_binlog_refuses_are_recorded_and_named_up_front() {
    let _serial = common::serial().await;
    let src = TestDb::new("trust").await;
    let mut root = server().conn(None).await;
    // Only for creating the source's function: the test server runs with 0.
    mysql_async::prelude::Queryable::query_drop(
        &mut root,
        "SET GLOBAL log_bin_trust_function_creators = 1",
    )
    .await
    .unwrap();
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY);
         CREATE FUNCTION counted() RETURNS INT RETURN (SELECT COUNT(*) FROM t);
         CREATE FUNCTION fine() RETURNS INT DETERMINISTIC RETURN 1;
         CREATE FUNCTION reader() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM t);",
    )
    .await;
    mysql_async::prelude::Queryable::query_drop(
        &mut root,
        "SET GLOBAL log_bin_trust_function_creators = 0",
    )
    .await
    .unwrap();
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let meta = common::metadata_of(&file);
    assert_eq!(
        meta["functions_needing_trust"],
        serde_json::json!([{"database": src.name, "routine": "counted"}]),
        "{meta}"
    );
    let target = format!("t_trust_dst_{}", std::process::id());
    let out = common::restore_single(&file, &target, &[]);
    let said = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("its metadata lists a function") && said.contains("`counted`"),
        "{said}"
    );
    assert!(
        !said.contains("`fine`") && !said.contains("`reader`"),
        "{said}"
    );
    assert!(
        !common::database_exists(&target).await,
        "the target was created before the refusal"
    );
}

/// The answers of `queries` in database `db`, one string each.
async fn answers(db: &str, queries: &[&str]) -> Vec<String> {
    use mysql_async::prelude::*;
    let mut conn = server().conn(Some(db)).await;
    let mut out = Vec::new();
    for q in queries {
        let rows: Vec<mysql_async::Row> = conn
            .query(*q)
            .await
            .unwrap_or_else(|e| panic!("{db}: {q}: {e}"));
        let cells: Vec<String> = rows
            .iter()
            .flat_map(|r| {
                (0..r.len()).map(|i| {
                    let v: Option<Vec<u8>> = r.get(i).flatten();
                    v.map_or("NULL".into(), |b| String::from_utf8_lossy(&b).into_owned())
                })
            })
            .collect();
        out.push(format!("{q} -> {}", cells.join(",")));
    }
    out
}

/// A column in the server's `filename` character set (hidden from CHARACTER_SETS; MariaDB's
/// `ctype_filename.test`) keeps its bytes, also one that does not decode: the dump refused
/// the table ("character set filename is not known to this dump").
#[tokio::test]
async fn a_filename_charset_column_keeps_its_bytes() {
    let _serial = common::serial().await;
    let src = TestDb::new("filename_cs").await;
    src.exec(
        "CREATE TABLE f (id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET filename);
         INSERT INTO f VALUES (1, 'abc'), (2, 'a b/c'), (3, 'é'), (4, _filename X'404040'),
           (5, NULL), (6, '')",
    )
    .await;
    assert_round_trips(&src).await;
}

/// A view that opens only under the collation it was made under (MariaDB's ctype_ucs2_*
/// and view tests: `LPAD(HEX(n), 4, '0')` made under ucs2 is an illegal mix of collations
/// under utf8mb4, ERROR 1267; `'x' COLLATE latin1_german1_ci` made under latin1 names no
/// utf8mb4 collation) is read under its own and restores on both paths: the backup refused
/// it as a view the server cannot open (stock mariadb-dump fails on it too).
#[tokio::test]
async fn a_view_that_opens_only_under_its_own_collation_round_trips() {
    let _serial = common::serial().await;
    let src = TestDb::new("view_own_collation").await;
    src.exec(
        "CREATE TABLE t (a INT); INSERT INTO t VALUES (7);
         SET collation_connection = ucs2_general_ci;
         CREATE VIEW v_ucs2 AS SELECT LPAD(HEX(a), 4, '0') AS h FROM t;
         SET NAMES latin1;
         CREATE VIEW v_latin1 AS SELECT 'x' COLLATE latin1_german1_ci AS g, a FROM t;
         SET NAMES utf8mb4;
         CREATE VIEW v_plain AS SELECT a FROM t;",
    )
    .await;
    let queries = [
        "SET collation_connection = ucs2_general_ci",
        "SELECT h FROM v_ucs2",
        "SET NAMES latin1",
        "SELECT g, a FROM v_latin1",
        "SELECT a FROM v_plain",
    ];
    let want = answers(&src.name, &queries).await;
    assert_eq!(want[1], "SELECT h FROM v_ucs2 -> 0007");
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let (stock, ours) = restored_both_ways("view_own_collation", &file).await;
    for dst in [&stock, &ours] {
        assert_eq!(answers(&dst.name, &queries).await, want, "{}", dst.name);
    }
}

/// A database's own name is dropped from definitions only where it names the database (MariaDB
/// test-suite sweep): a table, alias or ROW variable named like the database keeps the
/// qualifier that picks its column (dropped, a correlated subquery compared the inner table
/// with itself), a stored function named like a native one (`db.reverse`) keeps the one that
/// makes it the stored function (and the dump says so), and a literal under
/// NO_BACKSLASH_ESCAPES (`'C:\'`) is read as the server reads it, never changed.
#[tokio::test]
async fn own_database_qualifiers_are_dropped_only_where_they_name_the_database() {
    let _serial = common::serial().await;
    let src = TestDb::new("own_qual").await;
    let db = common::quote(&src.name);
    src.exec(&format!(
        r"CREATE TABLE {db} (id INT PRIMARY KEY, x INT); INSERT INTO {db} VALUES (1, 10), (2, 20);
         CREATE TABLE items (id INT PRIMARY KEY, oid INT); INSERT INTO items VALUES (2, 1), (5, 2);
         CREATE TABLE log (a TEXT);
         CREATE FUNCTION reverse(s TEXT) RETURNS TEXT DETERMINISTIC RETURN CONCAT('mine:', s);
         CREATE FUNCTION `left`(s TEXT) RETURNS TEXT DETERMINISTIC RETURN CONCAT('left:', s);
         CREATE VIEW v_calls AS SELECT {db}.reverse('ab') AS r, {db}.`left`('x') AS l;
         CREATE VIEW v_corr AS SELECT COUNT(*) AS n FROM {db}
           WHERE EXISTS (SELECT 1 FROM items WHERE items.id = {db}.id);
         CREATE FUNCTION f_rev() RETURNS TEXT DETERMINISTIC RETURN {db}.reverse('cd');
         CREATE FUNCTION f_corr() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM {db}
           WHERE EXISTS (SELECT 1 FROM items WHERE items.id = {db}.id));
         CREATE FUNCTION f_alias() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*)
           FROM {db}.items AS {db} WHERE EXISTS (SELECT 1 FROM {db}.{db} AS s WHERE s.id = {db}.id));
         CREATE FUNCTION f_row() RETURNS INT DETERMINISTIC BEGIN DECLARE id INT DEFAULT 99;
           DECLARE {db} ROW(id INT, b INT) DEFAULT ROW(7, 8); RETURN {db}.id; END;
         CREATE PROCEDURE p_log(s TEXT) INSERT INTO {db}.log VALUES (CONCAT(s, {db}.`left`('')));
         SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');
         CREATE FUNCTION f_nbe() RETURNS TEXT READS SQL DATA
           RETURN CONCAT('C:\', ' {db}.items ', (SELECT COUNT(*) FROM {db}.items));
         SET sql_mode = DEFAULT;"
    ))
    .await;
    let queries = [
        "SELECT r, l FROM v_calls",
        "SELECT n FROM v_corr",
        "SELECT f_rev(), f_corr(), f_alias(), f_row(), f_nbe()",
    ];
    let want = answers(&src.name, &queries).await;
    assert_eq!(
        want[2],
        format!(r"{} -> mine:cd,1,1,7,C:\ {db}.items 2", queries[2]),
        "the source's own answers"
    );
    let dir = out_dir();
    let (file, said) = common::dump_single_said(&src.name, dir.path(), &[]);
    for object in ["view `v_calls`", "function `f_rev`"] {
        assert!(
            said.contains(&format!(
                "{object} in {db} calls `reverse` through the database's name"
            )),
            "{object}: {said}"
        );
    }
    assert!(!said.contains("calls `left`"), "{said}");
    assert!(
        said.contains("db-restore points the call at that database"),
        "{said}"
    );
    let sql = String::from_utf8(common::sql_body(&file)).unwrap();
    assert!(
        sql.contains("INSERT INTO log VALUES (CONCAT(s, `left`('')))"),
        "{sql}"
    );

    let (stock, ours) = restored_both_ways("own_qual", &file).await;
    for dst in [&stock, &ours] {
        assert_eq!(answers(&dst.name, &queries).await, want, "{}", dst.name);
        dst.exec("CALL p_log('x')").await;
        assert_eq!(
            answers(&dst.name, &["SELECT a FROM log"]).await,
            ["SELECT a FROM log -> xleft:"],
            "{}: the procedure writes into its own database",
            dst.name
        );
    }
    // Under another name the kept qualifier names the restored database: the source's
    // function changing does not change the copy's answers.
    src.exec(
        "DROP FUNCTION reverse; CREATE FUNCTION reverse(s TEXT) RETURNS TEXT DETERMINISTIC RETURN 'src'",
    )
        .await;
    assert_eq!(answers(&ours.name, &queries).await, want, "{}", ours.name);
    let sql_ours = answers(
        &ours.name,
        &[
            "SELECT VIEW_DEFINITION LIKE '%own_qual_ours%' FROM information_schema.VIEWS \
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'v_calls'",
        ],
    )
    .await;
    assert!(sql_ours[0].ends_with("-> 1"), "{sql_ours:?}");
}

/// In a package body `CALL db.p1` calls the standalone p1 and `CALL p1` the package's own
/// (MariaDB's `compat/oracle/sp-package-mysqldump.test`): the qualifier stays, or the
/// package's p1 called itself until the stack ran out. The dump says so; the database comes
/// back exactly under its own name and under another, where the call names the target.
#[tokio::test]
async fn a_package_calling_a_standalone_routine_of_its_own_name_keeps_the_qualifier() {
    let _serial = common::serial().await;
    let src = TestDb::new("pkg_shadow").await;
    let db = common::quote(&src.name);
    src.exec(&format!(
        "SET sql_mode = ORACLE;
         CREATE TABLE calls (n INT, what VARCHAR(20));
         CREATE PROCEDURE p1 AS BEGIN INSERT INTO calls VALUES (1, 'standalone'); END;
         CREATE PACKAGE pkg1 AS PROCEDURE p1; FUNCTION f1 RETURN INT; END;
         CREATE PACKAGE BODY pkg1 AS
           PROCEDURE p1 AS BEGIN INSERT INTO {db}.calls VALUES (2, 'package'); CALL {db}.p1; END;
           FUNCTION f1 RETURN INT AS BEGIN RETURN 7; END;
         END;
         CREATE VIEW v_pkg AS SELECT pkg1.f1() AS r FROM DUAL;
         CREATE FUNCTION f_calls RETURN INT DETERMINISTIC AS BEGIN CALL pkg1.p1; RETURN 1; END;"
    ))
    .await;
    // f_calls, a function, is dumped before the package it calls into (MariaDB's
    // sp-package.test): the restore under another name took `pkg1.p1` for a write into a
    // database `pkg1` until the package's specification came first.
    let queries = [
        "SET sql_mode = ORACLE",
        "CALL pkg1.p1()",
        "SELECT f_calls()",
        "SELECT n, what FROM calls ORDER BY n",
        // Stored as `db`.`pkg1`.`f1`(): without the database, pkg1 would be a database.
        "SELECT r FROM v_pkg",
    ];
    let want = answers(&src.name, &queries).await;
    assert_eq!(
        want[3],
        format!(
            "{} -> 1,standalone,1,standalone,2,package,2,package",
            queries[3]
        )
    );
    src.exec("DELETE FROM calls").await;
    let dir = out_dir();
    let (file, said) = common::dump_single_said(&src.name, dir.path(), &[]);
    assert!(
        said.contains(&format!(
            "package body `pkg1` in {db} calls `p1` through the database's name, which stays in \
             the dump because without it the package would call its own `p1`"
        )),
        "{said}"
    );
    let sql = String::from_utf8(common::sql_body(&file)).unwrap();
    assert!(
        sql.contains("INSERT INTO calls VALUES (2, 'package')"),
        "{sql}"
    );
    assert_success(
        &common::restore_single(&file, &src.name, &["--drop-target"]),
        "restore under its own name",
    );
    assert_eq!(answers(&src.name, &queries).await, want);
    // Under another name the package calls the standalone p1 restored beside it (the restore
    // used to refuse the call into the source database).
    let other = TestDb::new("pkg_shadow_other").await;
    assert_success(
        &common::restore_single(&file, &other.name, &[]),
        "restore under another name",
    );
    src.exec("DELETE FROM calls").await;
    assert_eq!(answers(&other.name, &queries).await, want);
    assert_eq!(
        answers(&src.name, &["SELECT COUNT(*) FROM calls"]).await,
        ["SELECT COUNT(*) FROM calls -> 0"],
        "nothing written into the source database"
    );
}

/// A routine created under sjis whose literal ends in `表` (0x95 0x5C: a backslash as second
/// byte) restores whole: the restore's splitter follows the file's `SET
/// character_set_client`, and the dump's rewrite steps over the character (it read `\'` as
/// an escape and dropped the qualifier inside the next literal).
#[tokio::test]
async fn a_routine_in_sjis_keeps_a_character_ending_in_a_backslash() {
    let _serial = common::serial().await;
    let src = TestDb::new("sjis_body").await;
    src.exec("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2)")
        .await;
    let db = common::quote(&src.name);
    let mut body = b"SET NAMES sjis;\nCREATE FUNCTION f() RETURNS VARCHAR(80) CHARSET sjis \
READS SQL DATA RETURN CONCAT('\x95\x5c', ' "
        .to_vec();
    body.extend_from_slice(db.as_bytes());
    body.extend_from_slice(b".t ', (SELECT COUNT(*) FROM ");
    body.extend_from_slice(db.as_bytes());
    body.extend_from_slice(b".t));\n");
    let mut client = server()
        .client(Some(&src.name))
        .arg("--default-character-set=sjis")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    client.stdin.take().unwrap().write_all(&body).unwrap();
    assert_success(
        &client.wait_with_output().unwrap(),
        "creating the sjis function",
    );
    let query = ["SELECT HEX(f())"];
    let want = answers(&src.name, &query).await;
    assert!(
        want[0].ends_with(&format!(
            "955C20{}2E742032",
            hex::encode_upper(db.as_bytes())
        )),
        "{want:?}"
    );
    let dir = out_dir();
    let file = common::dump_single(&src.name, dir.path(), &[]);
    let ours = TestDb::new("sjis_body_ours").await;
    assert_success(&common::restore_single(&file, &ours.name, &[]), "restore");
    assert_eq!(answers(&ours.name, &query).await, want);
}

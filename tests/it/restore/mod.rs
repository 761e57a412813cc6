//! `db-restore`: our dumps, stock mariadb-dump files and old-tool packages (compressed and
//! encrypted by an independent implementation) restored in parallel, compared row by row and
//! definition by definition with their source; failures that say where and what is left (in
//! [`failures`]).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::compare::{diff, image};
use common::{
    TestDb, assert_same, assert_success, backup, database_exists, dump_file_in, out_dir,
    output_text, quote, server,
};
use mysql_async::prelude::*;

/// `sfdbtools -q db-restore <mode> <args…>` against the test server, ticket given.
fn restore(mode: &str, args: &[&str]) -> Output {
    restore_cmd(mode, args).output().expect("run sfdbtools")
}

fn restore_cmd(mode: &str, args: &[&str]) -> Command {
    let mut c = server().sfdbtools();
    c.args(["-q", "db-restore", mode])
        .args(args)
        .args(server().connection_args())
        .args(["-t", "TEST"]);
    c
}

async fn drop_database(name: &str) {
    let mut c = server().conn(None).await;
    c.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(name)))
        .await
        .unwrap();
}

/// A combined file: every database under its own name; --exclude-db leaves one out;
/// a database that already holds tables is refused unless --drop-target.
#[tokio::test]
async fn combined_file_restores_each_database_and_excludes_on_request() {
    let a = TestDb::new("rs_comb_a").await;
    let b = TestDb::new("rs_comb_b").await;
    a.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO t VALUES (1,'a'),(2,'é')",
    )
    .await;
    a.exec("CREATE VIEW v AS SELECT COUNT(*) AS n FROM t").await;
    b.exec("CREATE TABLE u (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES u (id)); INSERT INTO u VALUES (1,NULL),(2,1)")
        .await;
    b.exec("CREATE TRIGGER tr BEFORE INSERT ON u FOR EACH ROW SET NEW.p = NEW.p")
        .await;
    let dir = out_dir();
    let out = backup(
        &[
            "filter",
            "--db",
            &a.name,
            "--db",
            &b.name,
            "--mode",
            "single-file",
            "-c",
            "gzip",
        ],
        dir.path(),
    );
    assert_success(&out, "backup");
    let file = dump_file_in(dir.path());
    let f = file.to_str().unwrap();
    let mut conn = server().conn(None).await;
    let before_a = image(&mut conn, &a.name).await;
    let before_b = image(&mut conn, &b.name).await;

    // Into databases that hold the tables already: refused, nothing changed.
    let out = restore("all", &["--file", f]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("--drop-target"),
        "{}",
        output_text(&out)
    );

    drop_database(&a.name).await;
    drop_database(&b.name).await;
    let out = restore("all", &["--file", f, "--exclude-db", &b.name, "-j", "2"]);
    assert_success(&out, "restore all --exclude-db");
    assert!(diff(&before_a, &image(&mut conn, &a.name).await).is_empty());
    assert!(
        !database_exists(&b.name).await,
        "an excluded database was restored"
    );

    let out = restore("all", &["--file", f, "--drop-target", "-j", "2"]);
    assert_success(&out, "restore all --drop-target");
    let d = diff(&before_a, &image(&mut conn, &a.name).await);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let d = diff(&before_b, &image(&mut conn, &b.name).await);
    assert!(d.is_empty(), "{}", d.join("\n"));

    // A combined file is not one database.
    let other = TestDb::new("rs_comb_one").await;
    let out = restore("single", &["--file", f, "--target-db", &other.name]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("db-restore all"),
        "{}",
        output_text(&out)
    );
}

/// Objects of every kind that stock mariadb-dump writes (DELIMITER blocks, versioned
/// comments, LOCK TABLES, one row per line) in a database it round-trips exactly.
async fn stock_friendly_source(tag: &str) -> TestDb {
    let src = TestDb::new(tag).await;
    src.exec(
        "CREATE TABLE p (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(40), d DECIMAL(10,2), \
         t DATETIME(3), b VARBINARY(8), j JSON, KEY (s)) ENGINE=InnoDB",
    )
    .await;
    src.exec(
        "INSERT INTO p (s, d, t, b, j) VALUES ('plain', 1.50, '2024-02-29 12:00:00.125', 0x00FF27, '{\"a\": [1, 2]}'), \
         ('it''s; a \\\\ \"q\" \\n line', -0.01, NULL, '', NULL), ('ünïcødé 😀', 99999999.99, '1970-01-01 00:00:01', NULL, '[]')",
    )
    .await;
    src.exec("INSERT INTO p (s) SELECT CONCAT('row-', seq) FROM seq_1_to_2000")
        .await;
    src.exec("CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))")
        .await;
    src.exec("INSERT INTO c VALUES (1, 1), (2, 3)").await;
    src.exec("CREATE TABLE log (n INT)").await;
    src.exec("CREATE TRIGGER c_ins AFTER INSERT ON c FOR EACH ROW BEGIN INSERT INTO log VALUES (NEW.id); INSERT INTO log VALUES (-NEW.id); END").await;
    src.exec("CREATE VIEW pv AS SELECT s, d FROM p WHERE d > 0")
        .await;
    src.exec("CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC BEGIN DECLARE y INT; SET y = x * 2; RETURN y; END")
        .await;
    src.exec("CREATE PROCEDURE count_p(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM p; END")
        .await;
    src.exec("CREATE EVENT ev ON SCHEDULE AT '2037-01-01 00:00:00' DISABLE DO DELETE FROM log")
        .await;
    src
}

fn mariadb_dump(db: &str, extra: &[&str], out: &Path) {
    let s = server();
    let mut c = Command::new("mariadb-dump");
    c.arg("--no-defaults")
        .arg(format!("--host={}", s.host))
        .arg(format!("--port={}", s.port))
        .arg(format!("--user={}", s.user))
        .arg("--protocol=TCP")
        .args(extra)
        .arg(db)
        .stdout(std::fs::File::create(out).unwrap());
    if let Some(p) = &s.password {
        c.env("MYSQL_PWD", p);
    }
    let r = c.output().expect("run mariadb-dump");
    assert_success(&r, "mariadb-dump");
}

/// A stock `mariadb-dump --routines --events` file, gzip-compressed with the gzip tool.
#[tokio::test]
async fn stock_mariadb_dump_file_restores_exactly() {
    let src = stock_friendly_source("rs_stock").await;
    let dir = out_dir();
    let sql = dir.path().join("stock.sql");
    mariadb_dump(&src.name, &["--routines", "--events"], &sql);
    let text_sql = String::from_utf8_lossy(&std::fs::read(&sql).unwrap()).into_owned();
    assert!(text_sql.contains("LOCK TABLES") && text_sql.contains("DELIMITER ;;"));
    let gz = Command::new("gzip").arg("-k").arg(&sql).output().unwrap();
    assert_success(&gz, "gzip");
    let dst = TestDb::new("rs_stock_dst").await;
    let file = dir.path().join("stock.sql.gz");
    let out = restore(
        "single",
        &[
            "--file",
            file.to_str().unwrap(),
            "--target-db",
            &dst.name,
            "-j",
            "2",
        ],
    );
    assert_success(&out, "restore of a stock dump");
    assert_same(&src.name, &dst.name).await;
}

fn python_encrypt(input: &Path, output: &Path, key: &str, iterations: u32) {
    let script = common::root().join("tests/interop/sfdb_container.py");
    let out = Command::new("python3")
        .arg(script)
        .args([
            "encrypt",
            "--format",
            "chunked",
            "--iterations",
            &iterations.to_string(),
        ])
        .arg(input)
        .arg(output)
        .env("SFDB_PASSPHRASE", key)
        .output()
        .expect("run python3 (needs the cryptography package: scripts/test.sh installs it)");
    assert_success(&out, "sfdb_container.py encrypt");
}

/// An old-tool package: mariadb-dump with the old tool's options, zstd, encrypted by an
/// independent implementation (legacy 100 000 iterations), a metadata file of the old shape
/// whose database_details names the _dmart companion, and a plaintext grants file. `primary`
/// restores both databases, and the accounts of the grants file named with `--grants-file`.
#[tokio::test]
async fn old_tool_primary_package_restores_with_its_dmart_and_grants() {
    let main_src = stock_friendly_source("rs_old").await;
    // The old tool's options have no --events: its backups never held events.
    main_src.exec("DROP EVENT ev").await;
    let dmart_src = TestDb::new("rs_old_dm").await;
    dmart_src
        .exec("CREATE TABLE facts (k VARCHAR(10) PRIMARY KEY, v DOUBLE); INSERT INTO facts VALUES ('a', 0.1), ('b', 1e300)")
        .await;
    let dir = out_dir();
    let key = "old tool key";
    let old_args = [
        "-fQq",
        "--max-statement-time=0",
        "--max-allowed-packet=1G",
        "--hex-blob",
        "--order-by-primary",
        "--single-transaction",
        "--routines=true",
        "--triggers=true",
        "--opt",
        "--net-buffer-length=16M",
    ];
    let mut names = Vec::new();
    for (db, stem) in [
        (&main_src.name, "dbsf_nbc_x_20260105_120000_db01"),
        (&dmart_src.name, "dbsf_nbc_x_dmart_20260105_120000_db01"),
    ] {
        let sql = dir.path().join(format!("{stem}.sql"));
        mariadb_dump(db, &old_args, &sql);
        let z = Command::new("zstd")
            .args(["-q", "-3", "--rm"])
            .arg(&sql)
            .output()
            .unwrap();
        assert_success(&z, "zstd");
        let zst = dir.path().join(format!("{stem}.sql.zst"));
        let enc = dir.path().join(format!("{stem}.sql.zst.enc"));
        python_encrypt(&zst, &enc, key, 100_000);
        std::fs::remove_file(&zst).unwrap();
        names.push(enc);
    }
    let user = format!("rs_old_user_{}", std::process::id());
    let old_grants = dir.path().join("dbsf_nbc_x_20260105_120000_db01_users.sql");
    std::fs::write(
        &old_grants,
        format!(
            "-- grants\nCREATE USER '{user}'@'%' IDENTIFIED BY 'pw';\n\
             GRANT SELECT ON `{}`.* TO '{user}'@'%';\nFLUSH PRIVILEGES;\n",
            main_src.name.replace('`', "``")
        ),
    )
    .unwrap();
    let size = |p: &PathBuf| std::fs::metadata(p).unwrap().len();
    let meta = serde_json::json!({
        "backup": {"file": names[0], "type": "primary", "status": "success",
                   "databases": [main_src.name], "excluded_databases": [], "exclude_data": false},
        "database_details": [
            {"database_name": main_src.name, "backup_file": names[0], "file_size_bytes": size(&names[0]), "file_size_human": "x"},
            {"database_name": format!("{}_dmart", main_src.name), "backup_file": "/elsewhere/dbsf_nbc_x_dmart_20260105_120000_db01.sql.zst.enc",
             "file_size_bytes": size(&names[1]), "file_size_human": "x"}
        ],
        "time": {"start_time": "2026-01-05 12:00:00", "end_time": "2026-01-05 12:00:01", "duration": "1s"},
        "file": {"size_bytes": size(&names[0]), "size_human": "x"},
        "compression": {"enabled": true, "type": "zstd"},
        "encryption": {"enabled": true},
        "source": {"hostname": "db01", "host": "10.0.0.5", "port": 3306},
        "replication": {"gtid_info": "0-1-5"},
        "version": {"mariadb": "10.11.6-MariaDB-log"},
        "additional_files": {"user_grants": "none"},
        "ticket": "OLD-1",
        "generator": {"generated_by": "sfdbtools", "generated_at": "2026-01-05T12:00:01+07:00"}
    });
    std::fs::write(
        format!("{}.meta.json", names[0].display()),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();

    let target = format!("rs_old_restored_{}", std::process::id());
    let out = restore(
        "primary",
        &[
            "--file",
            names[0].to_str().unwrap(),
            "--target-db",
            &target,
            "-K",
            key,
            "-j",
            "2",
            // The old tool wrote the accounts file in plaintext next to an encrypted dump:
            // --grants does not trust that, naming it does.
            "--grants-file",
            old_grants.to_str().unwrap(),
        ],
    );
    let restored_user = async {
        let mut c = server().conn(None).await;
        let g: Vec<String> = c
            .query(format!("SHOW GRANTS FOR '{user}'@'%'"))
            .await
            .unwrap_or_default();
        c.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
            .await
            .unwrap();
        g
    }
    .await;
    assert_success(&out, "restore primary");
    assert_same(&main_src.name, &target).await;
    assert_same(&dmart_src.name, &format!("{target}_dmart")).await;
    assert!(
        restored_user.iter().any(|g| g.contains("GRANT SELECT")),
        "the grants file was not applied: {restored_user:?}"
    );
    drop_database(&target).await;
    drop_database(&format!("{target}_dmart")).await;
}

/// --dry-run reads the file and reports, and changes nothing.
#[tokio::test]
async fn dry_run_changes_nothing() {
    let src = TestDb::new("rs_dry").await;
    src.exec("CREATE TABLE t (id INT); INSERT INTO t VALUES (1)")
        .await;
    let dir = out_dir();
    assert_success(
        &backup(&["single", "--database", &src.name, "-c", "xz"], dir.path()),
        "backup",
    );
    let file = dump_file_in(dir.path());
    let target = format!("rs_dry_target_{}", std::process::id());
    let out = restore(
        "single",
        &[
            "--file",
            file.to_str().unwrap(),
            "--target-db",
            &target,
            "--dry-run",
        ],
    );
    assert_success(&out, "dry run");
    assert!(
        output_text(&out).contains("would be created"),
        "{}",
        output_text(&out)
    );
    assert!(!database_exists(&target).await);
}

/// The grants file next to a dump is applied with --grants only (not by default, not with
/// --skip-grants); an encrypted one named with --grants-file is read with the dump's key.
#[tokio::test]
async fn grants_files_only_when_asked_by_name_or_not_at_all() {
    let dir = out_dir();
    let dump = dir.path().join("app_20260105_020000_db01.sql");
    std::fs::write(
        &dump,
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n",
    )
    .unwrap();
    let user = format!("rs_grant_{}", std::process::id());
    let grants = format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw';\nGRANT SELECT ON *.* TO '{user}'@'%';\n"
    );
    std::fs::write(
        dir.path().join("app_20260105_020000_db01_users.sql"),
        &grants,
    )
    .unwrap();
    let has_user = || async {
        let mut c = server().conn(None).await;
        let n: Option<u64> = c
            .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (&user,))
            .await
            .unwrap();
        c.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
            .await
            .unwrap();
        n == Some(1)
    };
    let f = dump.to_str().unwrap();

    let a = TestDb::new("rs_gr_skip").await;
    let out = restore(
        "single",
        &["--file", f, "--target-db", &a.name, "--skip-grants"],
    );
    assert_success(&out, "restore --skip-grants");
    assert!(!has_user().await, "--skip-grants applied the grants");

    let b = TestDb::new("rs_gr_default").await;
    let out = restore("single", &["--file", f, "--target-db", &b.name]);
    assert_success(&out, "restore without --grants");
    assert!(
        !has_user().await,
        "the grants were applied without --grants"
    );

    let b2 = TestDb::new("rs_gr_asked").await;
    let out = restore(
        "single",
        &["--file", f, "--target-db", &b2.name, "--grants"],
    );
    assert_success(&out, "restore with the sibling grants file");
    assert!(has_user().await, "the sibling grants file was not applied");

    let elsewhere = out_dir();
    let plain = elsewhere.path().join("g.sql");
    let sealed = elsewhere.path().join("g.sql.enc");
    std::fs::write(&plain, &grants).unwrap();
    let enc = server()
        .sfdbtools()
        .args(["crypto", "encrypt-file", "-k", "gkey", "-i"])
        .arg(&plain)
        .arg("-o")
        .arg(&sealed)
        .output()
        .unwrap();
    assert_success(&enc, "crypto encrypt-file");
    let c = TestDb::new("rs_gr_named").await;
    let out = restore(
        "single",
        &[
            "--file",
            f,
            "--target-db",
            &c.name,
            "--grants-file",
            sealed.to_str().unwrap(),
            "-K",
            "gkey",
        ],
    );
    assert_success(&out, "restore --grants-file (encrypted)");
    assert!(has_user().await, "the named grants file was not applied");
}

/// `db-restore <mode> <args…>` with `--log-format json` (no -q): the events on stderr, one JSON
/// object a line, after asserting success.
fn restore_events(mode: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let out = server()
        .sfdbtools()
        .args(["--log-format", "json", "db-restore", mode])
        .args(args)
        .args(server().connection_args())
        .args(["-t", "TEST"])
        .stdin(Stdio::null())
        .output()
        .expect("run sfdbtools");
    assert_success(&out, "restore --log-format json");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The `table_loaded` events: (table, rows, statements), in order; each table's
/// `table_loading` came before it, in the target database.
fn tables_loaded(events: &[serde_json::Value], target: &str) -> Vec<(String, u64, u64)> {
    let mut loading: Vec<String> = Vec::new();
    let mut loaded = Vec::new();
    for e in events {
        let table = e["table"].as_str().unwrap_or_default().to_owned();
        match e["event"].as_str() {
            Some("table_loading") => {
                assert_eq!(e["database"], target, "{e}");
                loading.push(table);
            }
            Some("table_loaded") => {
                assert_eq!(e["database"], target, "{e}");
                assert!(
                    loading.contains(&table),
                    "{table} loaded before it was loading"
                );
                assert!(e["bytes"].as_u64().unwrap() > 0, "{e}");
                loaded.push((
                    table,
                    e["rows"].as_u64().unwrap(),
                    e["statements"].as_u64().unwrap(),
                ));
            }
            _ => {}
        }
    }
    loaded
}

/// A dump with `-j 2` of two tables of a few MB of SQL each, in small statements: the two
/// workers' output (flushed every `rows::FLUSH_BYTES`) alternates, so the data statements of
/// the tables interleave in the file (`tables` unit tests cover that case deterministically).
/// The restore reports each table loaded exactly once with its exact rows (JSON and text
/// lines), and the final summary holds them too; with -q it prints nothing at all.
#[tokio::test]
async fn each_table_is_reported_loaded_once_with_its_rows() {
    let src = TestDb::new("rs_tables").await;
    src.exec(
        "CREATE TABLE big1 (id INT PRIMARY KEY, s VARCHAR(200));
         INSERT INTO big1 SELECT seq, REPEAT('1', 200) FROM seq_1_to_15000;
         CREATE TABLE big2 (id INT PRIMARY KEY, s VARCHAR(200));
         INSERT INTO big2 SELECT seq, REPEAT('2', 200) FROM seq_1_to_12000;
         CREATE TABLE small (id INT PRIMARY KEY); INSERT INTO small VALUES (1),(2),(3);
         CREATE TABLE empty (id INT PRIMARY KEY);
         CREATE VIEW v AS SELECT COUNT(*) AS n FROM big1;
         ANALYZE TABLE big1, big2;",
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &src.name,
            "-c",
            "none",
            "-j",
            "2",
            "--statement-size",
            "16384",
        ],
        dir.path(),
    );
    assert_success(&out, "backup");
    let file = dump_file_in(dir.path());
    let f = file.to_str().unwrap();
    let expected = [("big1", 15000), ("big2", 12000), ("small", 3)];

    let dst = TestDb::new("rs_tables_json").await;
    let events = restore_events(
        "single",
        &["--file", f, "--target-db", &dst.name, "-j", "2"],
    );
    let mut loaded = tables_loaded(&events, &dst.name);
    loaded.sort();
    let got: Vec<(&str, u64)> = loaded.iter().map(|(t, r, _)| (t.as_str(), *r)).collect();
    // `empty` has no data statement: nothing loads into it.
    assert_eq!(got, expected, "table_loaded events: {loaded:?}");
    assert!(
        loaded[0].2 > 10 && loaded[1].2 > 1,
        "the big tables should take several statements: {loaded:?}"
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "finished")
        .expect("a finished event");
    let mut summary: Vec<(String, u64)> = finished["files"][0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_owned(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    summary.sort();
    let summary: Vec<(&str, u64)> = summary.iter().map(|(t, r)| (t.as_str(), *r)).collect();
    assert_eq!(summary, expected);
    assert_same(&src.name, &dst.name).await;

    // Text without a terminal: one line per table loaded.
    let lines = TestDb::new("rs_tables_lines").await;
    let out = server()
        .sfdbtools()
        .args([
            "db-restore",
            "single",
            "--file",
            f,
            "--target-db",
            &lines.name,
        ])
        .args(server().connection_args())
        .args(["-t", "TEST", "-j", "2"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_success(&out, "restore with text lines");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (table, rows) in expected {
        // Counts as the totals print them: 15,000.
        let digits = rows.to_string();
        let mut grouped = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(d);
        }
        let head = format!("  {}.{table}: {grouped} rows, ", lines.name);
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with(&head)).count(),
            1,
            "one line {head:?} expected:\n{stderr}"
        );
    }
    assert!(stderr.contains("27,003 rows in 3 table(s)"), "{stderr}");

    let quiet = TestDb::new("rs_tables_quiet").await;
    let out = restore(
        "single",
        &["--file", f, "--target-db", &quiet.name, "-j", "2"],
    );
    assert_success(&out, "restore -q");
    assert!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "-q printed:\n{}",
        output_text(&out)
    );
}

/// A stock mariadb-dump file (one table after the other, several INSERTs for the big one):
/// each table is reported loaded with its exact rows as soon as its `ENABLE KEYS` or the next
/// table's definition waits for it, before the next table starts loading.
#[tokio::test]
async fn stock_dump_tables_are_reported_loaded_in_turn() {
    let src = stock_friendly_source("rs_stock_tables").await;
    // Before `c` in name order, and without a trigger (whose creation would wait for all data).
    src.exec("CREATE TABLE b (id INT PRIMARY KEY); INSERT INTO b VALUES (1),(2),(3),(4)")
        .await;
    let dir = out_dir();
    let sql = dir.path().join("stock.sql");
    mariadb_dump(
        &src.name,
        &["--routines", "--events", "--net-buffer-length=4096"],
        &sql,
    );
    let dst = TestDb::new("rs_stock_tables_dst").await;
    let events = restore_events(
        "single",
        &[
            "--file",
            sql.to_str().unwrap(),
            "--target-db",
            &dst.name,
            "-j",
            "2",
        ],
    );
    let loaded = tables_loaded(&events, &dst.name);
    let got: Vec<(&str, u64)> = loaded.iter().map(|(t, r, _)| (t.as_str(), *r)).collect();
    // mariadb-dump writes the tables in name order; `log` is empty.
    assert_eq!(got, [("b", 4), ("c", 2), ("p", 2003)], "{loaded:?}");
    assert!(loaded[2].2 > 1, "p should take several INSERTs: {loaded:?}");
    let order: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "table_loading" || e["event"] == "table_loaded")
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap(),
                e["table"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            "table_loading b",
            "table_loaded b",
            "table_loading c",
            "table_loaded c",
            "table_loading p",
            "table_loaded p"
        ]
    );
    assert_same(&src.name, &dst.name).await;
}

/// Our dump's row statements go to the server as LOAD DATA LOCAL INFILE (the server skips its
/// SQL parser); a server with `local_infile` off gets the INSERTs instead. Both restore the
/// same bytes, YEAR 0, tabs, newlines, backslashes, empty and NULL binary values included.
#[tokio::test]
async fn our_rows_go_as_load_data_and_as_inserts_where_it_is_refused() {
    let src = TestDb::new("rs_load").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, y YEAR, b BLOB, s TEXT, d DOUBLE, n DECIMAL(30,10),
           bits BIT(9), e ENUM('0','1','x'));
         INSERT INTO t VALUES
           (1, 0, 0x00FF09, 'a\tb\nc\\\\d\\N', 0.1, -0.0000000001, b'101010101', '0'),
           (2, NULL, '', '', NULL, 0, b'0', 'x'),
           (3, 2024, NULL, NULL, -1e300, 99999999999999999999.9999999999, NULL, NULL),
           (4, 1, 0x5C4E, '\\\\N', 0, 1, b'1', '1');
         CREATE TABLE empty_one (id INT PRIMARY KEY);",
    )
    .await;
    let dir = out_dir();
    assert_success(
        &backup(
            &["single", "--database", &src.name, "-c", "none"],
            dir.path(),
        ),
        "backup",
    );
    let file = dump_file_in(dir.path());
    let f = file.to_str().unwrap();

    let loaded = |events: &[serde_json::Value]| {
        events
            .iter()
            .find(|e| e["event"] == "finished")
            .expect("a finished event")["files"][0]["load_data_statements"]
            .as_u64()
            .unwrap()
    };
    // MySQL 8 ships with local_infile off; MariaDB with it on.
    let mut conn = server().conn(None).await;
    let was: u64 = conn
        .query_first("SELECT @@GLOBAL.local_infile")
        .await
        .unwrap()
        .unwrap();
    conn.query_drop("SET GLOBAL local_infile = 1")
        .await
        .unwrap();
    let dst = TestDb::new("rs_load_dst").await;
    let events = restore_events("single", &["--file", f, "--target-db", &dst.name]);
    assert!(loaded(&events) > 0, "no row statement went as LOAD DATA");
    assert_same(&src.name, &dst.name).await;

    // Turned off for the whole server for a moment: other tests' restores fall back too,
    // which is what this shows to be harmless.
    conn.query_drop("SET GLOBAL local_infile = 0")
        .await
        .unwrap();
    let refused = TestDb::new("rs_load_refused").await;
    let events = restore_events("single", &["--file", f, "--target-db", &refused.name]);
    conn.query_drop(format!("SET GLOBAL local_infile = {was}"))
        .await
        .unwrap();
    assert_eq!(loaded(&events), 0, "LOAD DATA counted where it was refused");
    assert_same(&src.name, &refused.name).await;
}

/// Binary values travel to MariaDB as their own bytes in the LOAD DATA rows (cast to a binary
/// string), not as hex: every two-byte value, and every byte that starts a UTF-8 sequence
/// followed by the loader's specials (tab, newline, backslash, NUL…) and by continuation bytes,
/// in each kind of binary column, restore exactly. The server reads the rows as utf8mb4, so
/// a lead byte must not swallow the escape or the separator after it.
#[tokio::test]
async fn every_byte_sequence_in_binary_columns_loads_exactly() {
    let src = TestDb::new("rs_bytes").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, vb VARBINARY(4), fixed BINARY(5), lb LONGBLOB,
           bits BIT(16), g GEOMETRY);
         INSERT INTO t SELECT seq, UNHEX(LPAD(HEX(seq), 4, '0')), UNHEX(LPAD(HEX(seq), 4, '0')),
           UNHEX(LPAD(HEX(seq), 4, '0')), seq,
           ST_PointFromText(CONCAT('POINT(', seq / 7, ' ', -seq, ')'))
           FROM seq_0_to_65535;",
    )
    .await;
    let specials = [0x00u8, 0x09, 0x0A, 0x0D, 0x27, 0x4E, 0x5C, 0x80, 0xBF, 0xFF];
    let mut values = Vec::new();
    for lead in 0xC0u8..=0xFF {
        for a in specials {
            for b in specials {
                values.push(vec![lead, a, b]);
                values.push(vec![lead, 0x90, a, b]);
            }
        }
    }
    let mut sql = String::from("INSERT INTO t (id, vb, lb) VALUES ");
    for (i, v) in values.iter().enumerate() {
        let hex: String = v.iter().map(|b| format!("{b:02X}")).collect();
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("({}, 0x{hex}, 0x{hex}{hex})", 100_000 + i));
    }
    src.exec(&sql).await;

    let dir = out_dir();
    let file = common::dump_plain(&src.name, dir.path());
    let dst = TestDb::new("rs_bytes_dst").await;
    let events = restore_events(
        "single",
        &["--file", file.to_str().unwrap(), "--target-db", &dst.name],
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "finished")
        .expect("a finished event");
    assert!(
        finished["files"][0]["load_data_statements"]
            .as_u64()
            .unwrap()
            > 0,
        "the rows did not go as LOAD DATA"
    );
    assert_same(&src.name, &dst.name).await;
}

/// A table's second statement is not sent while its first is out. On MariaDB the first INSERT
/// or LOAD DATA into an empty InnoDB table under `UNIQUE_CHECKS=0, FOREIGN_KEY_CHECKS=0`
/// (every dump's header) locks the whole table until it commits: a second statement sent
/// meanwhile waited inside InnoDB, and a `FLUSH TABLES WITH READ LOCK` arriving then (another
/// tool's backup) waited for it while the first one's commit waited for the flush, until
/// InnoDB's lock wait timeout failed the restore (ERROR 1205). Statements of 4 MiB: the first
/// holds the table's lock long enough to be seen; no statement may wait on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tables_second_statement_waits_for_its_first_to_commit() {
    let src = TestDb::new("rs_first").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40));
         INSERT INTO t SELECT seq, CONCAT('row of the first statement ', seq)
           FROM seq_1_to_400000;",
    )
    .await;
    let dir = out_dir();
    let args = ["single", "--database", &src.name, "-c", "none"];
    let sized = [&args[..], &["--statement-size", "4M"]].concat();
    assert_success(&backup(&sized, dir.path()), "backup");
    let f = dump_file_in(dir.path()).to_str().unwrap().to_owned();
    let dst = TestDb::new("rs_first_dst").await;
    let target = dst.name.clone();
    let run = tokio::task::spawn_blocking(move || {
        restore("single", &["--file", &f, "--target-db", &target, "-j", "2"])
    });
    let table = format!("{}.`t`", quote(&dst.name));
    let mut c = server().conn(None).await;
    let mut waits = 0u64;
    while !run.is_finished() {
        let n: u64 = c
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.INNODB_LOCKS WHERE lock_table = ?",
                (&table,),
            )
            .await
            .unwrap()
            .unwrap_or(0);
        waits = waits.max(n);
        // The server refreshes what INNODB_LOCKS shows only when it was not read for 100 ms.
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    }
    let out = run.await.unwrap();
    assert_success(&out, "db-restore");
    assert_same(&src.name, &dst.name).await;
    assert_eq!(
        waits, 0,
        "a statement of the restore waited for the lock of the first one's insert into the \
         empty table"
    );
}

/// Single-database restores write into their target only.
mod confine;
/// Restores that fail or are refused, and what they leave.
mod failures;
mod integrity;
/// Secondary keys built after the rows.
mod keys;
/// `--resume` after a failed statement, and what it refuses.
mod resume;
/// `db-restore secondary`.
mod secondary;
/// Part of a file: --tables, --ignore-table.
mod tables;

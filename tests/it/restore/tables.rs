//! Part of a file: `db-restore --tables`, `--tables-file`, `--ignore-table`,
//! `--ignore-table-data`, on our dumps, the mysqldump engine's and stock mariadb-dump files;
//! exactly the tables, rows, views and triggers chosen arrive, and a pattern that matches no
//! table is refused (before anything changes when the metadata lists the tables).

use super::{drop_database, mariadb_dump, restore, restore_events};
use crate::common;

use common::{
    TestDb, assert_success, backup, database_exists, dump_file_in, out_dir, output_text, server,
};
use mysql_async::prelude::*;

/// Two tables joined by a foreign key, two log tables, a trigger on each of the first two
/// (`b_ins` writes into `log_1`), a view over `a` and one over `b` and `a`, a procedure.
async fn source(tag: &str) -> TestDb {
    let src = TestDb::new(tag).await;
    src.exec(
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'ü');
         CREATE TABLE b (id INT PRIMARY KEY, aid INT, FOREIGN KEY (aid) REFERENCES a (id));
         INSERT INTO b VALUES (1, 1), (2, 3);
         CREATE TABLE log_1 (n INT); INSERT INTO log_1 VALUES (5), (6);
         CREATE TABLE log_2 (n INT); INSERT INTO log_2 VALUES (7);
         CREATE TRIGGER a_ins BEFORE INSERT ON a FOR EACH ROW SET NEW.v = UPPER(NEW.v);
         CREATE TRIGGER b_ins AFTER INSERT ON b FOR EACH ROW INSERT INTO log_1 VALUES (NEW.id);
         CREATE VIEW va AS SELECT id, v FROM a;
         CREATE VIEW vb AS SELECT b.id, a.v FROM b JOIN a ON a.id = b.aid;
         CREATE PROCEDURE p() SELECT 1;",
    )
    .await;
    src
}

/// What a database holds, one line per object: `table t: N rows, checksum C`, `view v`,
/// `trigger tr on t`, `routine p`; sorted.
async fn objects(db: &str) -> Vec<String> {
    let mut c = server().conn(None).await;
    let mut out = Vec::new();
    let tables: Vec<(String, String)> = c
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    for (t, kind) in tables {
        if kind == "VIEW" {
            out.push(format!("view {t}"));
            continue;
        }
        let q = format!("{}.{}", common::quote(db), common::quote(&t));
        let n: u64 = c
            .query_first(format!("SELECT COUNT(*) FROM {q}"))
            .await
            .unwrap()
            .unwrap();
        let sum: (String, Option<u64>) = c
            .query_first(format!("CHECKSUM TABLE {q}"))
            .await
            .unwrap()
            .unwrap();
        out.push(format!("table {t}: {n} rows, checksum {:?}", sum.1));
    }
    let triggers: Vec<(String, String)> = c
        .exec(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    out.extend(
        triggers
            .iter()
            .map(|(t, on)| format!("trigger {t} on {on}")),
    );
    let routines: Vec<String> = c
        .exec(
            "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    out.extend(routines.iter().map(|r| format!("routine {r}")));
    out.sort();
    out
}

/// The lines of `all` (from [`objects`]) about the objects named, in order.
fn only(all: &[String], names: &[&str]) -> Vec<String> {
    all.iter()
        .filter(|l| {
            let name = l.split([' ', ':']).nth(1).unwrap_or_default();
            names.contains(&name)
        })
        .cloned()
        .collect()
}

/// For our dump and the mysqldump engine's (mysqldump's format, metadata without a table
/// list): `--tables` restores the tables and views named, with their triggers and rows,
/// under another name than the source's (the patterns name the source); `--ignore-table`
/// everything else; `--ignore-table-data` keeps a table's schema without its rows.
#[tokio::test]
async fn the_tables_chosen_arrive_with_their_rows_views_and_triggers() {
    let src = source("rsel_src").await;
    let all = objects(&src.name).await;
    let s = &src.name;
    for engine in ["native", "mysqldump"] {
        let dir = out_dir();
        let out = backup(
            &["single", "--database", s, "-c", "none", "--engine", engine],
            dir.path(),
        );
        assert_success(&out, engine);
        let file = dump_file_in(dir.path());
        let f = file.to_str().unwrap();

        let chosen = TestDb::new("rsel_chosen").await;
        let tables = format!("{s}.a,{s}.va,{s}.log_*");
        let events = restore_events(
            "single",
            &[
                "--file",
                f,
                "--target-db",
                &chosen.name,
                "--tables",
                &tables,
            ],
        );
        let mut want = only(&all, &["a", "va", "log_1", "log_2", "a_ins", "p"]);
        want.sort();
        assert_eq!(objects(&chosen.name).await, want, "{engine} --tables");
        let finished = events.iter().find(|e| e["event"] == "finished").unwrap();
        let selection = finished["files"][0]["selection"].as_array().unwrap();
        let left_out: Vec<&str> = selection
            .iter()
            .filter(|t| t["restored"] == false)
            .map(|t| t["table"].as_str().unwrap())
            .collect();
        assert_eq!(left_out, ["b", "vb"], "{engine}: {finished}");
        assert!(selection.iter().all(|t| t["database"] == s.as_str()));

        let ignored = TestDb::new("rsel_ignored").await;
        let out = restore(
            "single",
            &[
                "--file",
                f,
                "--target-db",
                &ignored.name,
                "--ignore-table",
                &format!("{s}.b"),
                "--ignore-table",
                &format!("{s}.vb"),
                "--ignore-table-data",
                &format!("`{s}`.log_2"),
            ],
        );
        assert_success(&out, "--ignore-table");
        let mut want: Vec<String> = only(&all, &["a", "va", "log_1", "a_ins", "p"]);
        want.push("table log_2: 0 rows, checksum Some(0)".into());
        want.sort();
        assert_eq!(
            objects(&ignored.name).await,
            want,
            "{engine} --ignore-table"
        );
    }
}

/// A view taken whose table is left out cannot be created: a warning names it and the rest is
/// restored. A stock mariadb-dump file without metadata: its header names the database.
#[tokio::test]
async fn a_view_over_a_table_left_out_is_a_warning() {
    let src = source("rsel_view").await;
    let all = objects(&src.name).await;
    let dir = out_dir();
    let sql = dir.path().join("stock.sql");
    mariadb_dump(&src.name, &["--routines"], &sql);
    let dst = TestDb::new("rsel_view_dst").await;
    let out = server()
        .sfdbtools()
        .args(["db-restore", "single", "--file"])
        .arg(&sql)
        .args(["--target-db", &dst.name, "--tables"])
        .arg(format!("{0}.a,{0}.vb", src.name))
        .args(server().connection_args())
        .args(["-t", "TEST"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_success(&out, "restore of a view without its table");
    let text = output_text(&out);
    assert!(
        text.contains(&format!("view `{}`.`vb` was not restored", src.name)),
        "{text}"
    );
    assert!(
        text.contains("1 restored, 5 left out by the selection"),
        "{text}"
    );
    let mut want = only(&all, &["a", "a_ins", "p"]);
    want.sort();
    assert_eq!(objects(&dst.name).await, want);
}

/// A pattern that matches no table: with our metadata, refused before the server changes
/// (exit 2); without metadata (a stock file), found once the file is read, saying what was
/// restored (exit 1);
/// `--dry-run` finds it without changing anything. A file that names its database nowhere
/// takes `*.table` only.
#[tokio::test]
async fn a_pattern_that_matches_nothing_is_refused() {
    let src = source("rsel_none").await;
    let s = &src.name;
    let dir = out_dir();
    let out = backup(&["single", "--database", s, "-c", "none"], dir.path());
    assert_success(&out, "backup");
    let ours = dump_file_in(dir.path());
    let target = format!("rsel_none_target_{}", std::process::id());
    let refused = |file: &std::path::Path, args: &[&str]| {
        let mut all = vec!["--file", file.to_str().unwrap(), "--target-db", &target];
        all.extend(args);
        let out = restore("single", &all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            output_text(&out)
        );
        output_text(&out)
    };

    let typo = format!("{s}.log_3");
    let text = refused(&ours, &["--tables", &format!("{s}.a"), "--tables", &typo]);
    assert!(
        text.contains(&format!("--tables {typo} matches no table or view")),
        "{text}"
    );
    assert!(text.contains("nothing was restored"), "{text}");
    let text = refused(&ours, &["--ignore-table", &format!("{s}.A")]);
    assert!(text.contains("differing only in case"), "{text}");
    let text = refused(&ours, &["--tables", "a"]);
    assert!(text.contains("give the database too"), "{text}");
    let text = refused(
        &ours,
        &["--tables", &format!("{s}.*"), "--ignore-table", "*.*"],
    );
    assert!(text.contains("takes no table"), "{text}");
    assert!(
        !database_exists(&target).await,
        "a refused restore created the target"
    );

    let stock = dir.path().join("stock.sql");
    mariadb_dump(s, &[], &stock);
    let text = refused(&stock, &["--tables", &typo, "--dry-run"]);
    assert!(text.contains("matches no table"), "{text}");
    assert!(
        !database_exists(&target).await,
        "a dry run created the target"
    );
    // Found after the tables taken were restored: a failure (exit 1), not a usage error,
    // since the target changed.
    let out = restore(
        "single",
        &[
            "--file",
            stock.to_str().unwrap(),
            "--target-db",
            &target,
            "--tables",
            &format!("{s}.a,{typo}"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains(&format!("--tables {typo} matches no table"))
            && text.contains(&format!("restored into `{target}`")),
        "{text}"
    );
    assert_eq!(
        objects(&target).await,
        only(&objects(s).await, &["a", "a_ins"])
    );
    drop_database(&target).await;

    // No metadata, no USE, no header.
    let bare = dir.path().join("bare.sql");
    std::fs::write(
        &bare,
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\nCREATE TABLE u (id INT);\n",
    )
    .unwrap();
    let text = refused(&bare, &["--tables", &format!("{s}.t")]);
    assert!(text.contains("write the pattern as *.table"), "{text}");
    assert!(
        !database_exists(&target).await,
        "the target created for nothing was left"
    );
    let dst = TestDb::new("rsel_bare").await;
    let out = restore(
        "single",
        &[
            "--file",
            bare.to_str().unwrap(),
            "--target-db",
            &dst.name,
            "--tables",
            "*.t",
        ],
    );
    assert_success(&out, "*.t on a file without a database name");
    let restored = objects(&dst.name).await;
    assert!(
        restored.len() == 1 && restored[0].starts_with("table t: 1 rows"),
        "{restored:?}"
    );
}

/// A combined file of two databases that both hold a table `t`: a pattern picks one table of
/// one database; the other database is not created at all. Both for our dump and the
/// mysqldump engine's; `--tables-file` and `--dry-run` too.
#[tokio::test]
async fn one_table_of_one_database_of_a_combined_file() {
    let one = TestDb::new("rsel_comb_1").await;
    let two = TestDb::new("rsel_comb_2").await;
    for db in [&one, &two] {
        db.exec(
            "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);
             CREATE TABLE u (id INT); INSERT INTO u VALUES (9);
             CREATE PROCEDURE p() SELECT 1;",
        )
        .await;
    }
    two.exec("INSERT INTO t VALUES (3)").await;
    let before = objects(&two.name).await;
    for engine in ["native", "mysqldump"] {
        let dir = out_dir();
        let out = backup(
            &[
                "filter",
                "--db",
                &one.name,
                "--db",
                &two.name,
                "--mode",
                "single-file",
                "-c",
                "none",
                "--engine",
                engine,
            ],
            dir.path(),
        );
        assert_success(&out, engine);
        let file = dump_file_in(dir.path());
        let f = file.to_str().unwrap();
        let list = dir.path().join("tables.txt");
        std::fs::write(&list, format!("# the table\n\n{}.t\r\n", two.name)).unwrap();
        drop_database(&one.name).await;
        drop_database(&two.name).await;

        let out = restore(
            "all",
            &["--file", f, "--tables-file", list.to_str().unwrap(), "-d"],
        );
        assert_success(&out, "dry run");
        let text = output_text(&out);
        assert!(
            text.contains(&format!("would restore: `{}`.`t`\n", two.name)),
            "{text}"
        );
        assert!(!database_exists(&two.name).await);

        let out = restore(
            "all",
            &["--file", f, "--tables-file", list.to_str().unwrap()],
        );
        assert_success(&out, engine);
        assert!(
            !database_exists(&one.name).await,
            "{engine}: a database the selection does not touch was created"
        );
        assert_eq!(
            objects(&two.name).await,
            only(&before, &["t", "p"]),
            "{engine}"
        );
        // Back as they were for the next engine.
        drop_database(&two.name).await;
        let out = restore("all", &["--file", f]);
        assert_success(&out, "whole restore");
        assert_eq!(objects(&two.name).await, before);
    }
}

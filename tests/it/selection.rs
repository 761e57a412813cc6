//! Table selection in a backup (`--tables`, `--tables-file`, `--ignore-table`,
//! `--ignore-table-data`, `--where`, `--no-create-info`, `--skip-*`), end to end: what the file
//! holds once restored, what the metadata records, what the run says, and what it refuses
//! before writing anything; with the native engine and with `--engine mysqldump`.

use crate::common;

use std::path::Path;

use common::{
    TestDb, assert_success, backup, count_rows, dump_file_in, files_in, metadata_of, out_dir,
    output_text, quote, restore_with_client, server,
};
use mysql_async::prelude::*;

/// A shop: `orders` (1000 rows, key `id`, its trigger writes `audit`), `notes` (no key, 6
/// rows), `log_a` (2 rows, a trigger of its own) and `log_b` (1 row), the views `v_logs` over
/// the logs and `v_orders` over orders, a procedure, a function and an event.
async fn shop(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec(
        "CREATE TABLE orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(20));
         INSERT INTO orders SELECT seq, seq * 10, CONCAT('order ', seq) FROM seq_1_to_1000;
         CREATE TABLE notes (n INT, txt VARCHAR(10));
         INSERT INTO notes VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f');
         CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT);
         CREATE TABLE log_a (id INT PRIMARY KEY, msg VARCHAR(10));
         INSERT INTO log_a VALUES (1, 'x'), (2, 'y');
         CREATE TABLE log_b (id INT PRIMARY KEY);
         INSERT INTO log_b VALUES (1);
         CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW
           INSERT INTO audit (order_id) VALUES (NEW.id);
         CREATE TRIGGER log_a_bi BEFORE INSERT ON log_a FOR EACH ROW SET NEW.msg = UPPER(NEW.msg);
         CREATE VIEW v_logs AS SELECT a.id, a.msg FROM log_a a JOIN log_b b USING (id);
         CREATE VIEW v_orders AS SELECT id, amount FROM orders;
         CREATE PROCEDURE p_count() SELECT COUNT(*) FROM orders;
         CREATE FUNCTION f_twice(x INT) RETURNS INT DETERMINISTIC RETURN 2 * x;
         CREATE EVENT e_nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit;",
    )
    .await;
    db
}

/// `db-backup single` of `db`, uncompressed and unencrypted, with `extra`; the output.
fn dump(db: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let args: Vec<&str> = [
        "single",
        "--database",
        db,
        "-c",
        "none",
        "--skip-encrypt",
        "-e",
    ]
    .iter()
    .chain(extra)
    .copied()
    .collect();
    backup(&args, dir)
}

/// The names of `db`'s objects of one kind, sorted: `BASE TABLE`, `VIEW` (from TABLES), or
/// `TRIGGER`, `PROCEDURE`, `FUNCTION`, `EVENT`.
async fn objects(db: &str, kind: &str) -> Vec<String> {
    let mut c = server().conn(None).await;
    let sql = match kind {
        "TRIGGER" => "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS \
                      WHERE TRIGGER_SCHEMA = ? ORDER BY 1"
            .to_owned(),
        "EVENT" => "SELECT EVENT_NAME FROM information_schema.EVENTS \
                    WHERE EVENT_SCHEMA = ? ORDER BY 1"
            .to_owned(),
        "PROCEDURE" | "FUNCTION" => format!(
            "SELECT ROUTINE_NAME FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = '{kind}' ORDER BY 1"
        ),
        _ => format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = '{kind}' ORDER BY 1"
        ),
    };
    let names: Vec<String> = c.exec(sql, (db,)).await.unwrap();
    c.disconnect().await.unwrap();
    names
}

async fn tables(db: &str) -> Vec<String> {
    objects(db, "BASE TABLE").await
}

/// `--ignore-table` leaves tables out with their triggers; a view over them is still dumped,
/// with a warning and a metadata entry; routines and events stay.
#[tokio::test]
async fn ignore_table_leaves_tables_and_their_triggers_out_and_warns_of_views_over_them() {
    let src = shop("sel_ignore").await;
    let dir = out_dir();
    let pattern = format!("{}.log_*", src.name);
    let out = dump(&src.name, dir.path(), &["--ignore-table", &pattern]);
    assert_success(&out, "backup with --ignore-table");
    let text = output_text(&out);
    assert!(
        text.contains(&format!("view `{}`.`v_logs` is dumped but reads", src.name))
            && text.contains(&format!("{}.log_a, {}.log_b", src.name, src.name)),
        "{text}"
    );
    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    assert_eq!(
        meta["selection"]["ignore_table"],
        serde_json::json!([pattern])
    );
    assert_eq!(
        meta["selection"]["views_over_left_out"],
        serde_json::json!([{
            "database": src.name,
            "view": "v_logs",
            "left_out": [format!("{}.log_a", src.name), format!("{}.log_b", src.name)],
        }])
    );
    let recorded: Vec<&str> = meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert!(
        !recorded.iter().any(|t| t.starts_with("log_")),
        "{recorded:?}"
    );

    // The view is created only where what it reads exists: the target has the logs already.
    let copy = TestDb::new("sel_ignore_copy").await;
    copy.exec("CREATE TABLE log_a (id INT PRIMARY KEY, msg VARCHAR(10)); CREATE TABLE log_b (id INT PRIMARY KEY);")
        .await;
    restore_with_client(&copy.name, &file);
    assert_eq!(
        tables(&copy.name).await,
        ["audit", "log_a", "log_b", "notes", "orders"]
    );
    assert_eq!(count_rows(&copy.name, "log_a").await, 0, "not the dump's");
    assert_eq!(objects(&copy.name, "VIEW").await, ["v_logs", "v_orders"]);
    assert_eq!(objects(&copy.name, "TRIGGER").await, ["orders_ai"]);
    assert_eq!(objects(&copy.name, "PROCEDURE").await, ["p_count"]);
    assert_eq!(objects(&copy.name, "FUNCTION").await, ["f_twice"]);
    assert_eq!(objects(&copy.name, "EVENT").await, ["e_nightly"]);
    assert_eq!(count_rows(&copy.name, "orders").await, 1000);
}

/// `--tables` (list and file) takes only the matching tables and views, and a database none
/// of whose tables matches is not backed up at all; the dry run says why.
#[tokio::test]
async fn tables_take_only_their_tables_and_databases_they_match() {
    let a = shop("sel_tables_a").await;
    let b = shop("sel_tables_b").await;
    let dir = out_dir();
    let lists = out_dir();
    let list = lists.path().join("tables.txt");
    std::fs::write(&list, format!("# the order side\n{}.v_orders\n", a.name)).unwrap();
    let list = list.display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        [
            "filter",
            "--db",
            &a.name,
            "--db",
            &b.name,
            "--mode",
            "multi-file",
            "-c",
            "none",
            "-e",
            "--tables",
            &format!("{}.o*,{}.notes", a.name, a.name),
            "--tables-file",
            &list,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let dry = out_dir();
    let plan = backup(
        &args(&["-d"]).iter().map(String::as_str).collect::<Vec<_>>(),
        dry.path(),
    );
    assert_success(&plan, "dry run");
    let text = output_text(&plan);
    assert!(
        text.contains(&format!(
            "left out by --tables (none of their tables matches): {}",
            b.name
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}: 3 table(s) and view(s) taken, 4 left out",
            a.name
        )),
        "{text}"
    );
    assert!(files_in(dry.path()).is_empty());

    let out = backup(
        &args(&[]).iter().map(String::as_str).collect::<Vec<_>>(),
        dir.path(),
    );
    assert_success(&out, "backup with --tables");
    let dumps: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| common::is_dump_file(f))
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    assert!(dumps[0].starts_with(&a.name), "{dumps:?}");
    let file = dir.path().join(&dumps[0]);
    let meta = metadata_of(&file);
    assert_eq!(
        meta["selection"]["databases_left_out"],
        serde_json::json!([b.name])
    );
    assert!(
        meta["backup"]["excluded_databases"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(b.name))
    );
    let copy = TestDb::new("sel_tables_copy").await;
    restore_with_client(&copy.name, &file);
    assert_eq!(tables(&copy.name).await, ["notes", "orders"]);
    assert_eq!(objects(&copy.name, "VIEW").await, ["v_orders"]);
    // The trigger of a table taken comes along (its body's table need not exist).
    assert_eq!(objects(&copy.name, "TRIGGER").await, ["orders_ai"]);
    assert_eq!(objects(&copy.name, "PROCEDURE").await, ["p_count"]);
    assert_eq!(count_rows(&copy.name, "notes").await, 6);
}

/// `--ignore-table-data` keeps the schema, leaves the rows out, and says so in `data_skipped`;
/// the file proves itself with verify, and verify --against does not count the rows left out.
#[tokio::test]
async fn ignore_table_data_keeps_the_schema_and_is_recorded() {
    let src = shop("sel_nodata").await;
    let dir = out_dir();
    let out = dump(
        &src.name,
        dir.path(),
        &["--ignore-table-data", &format!("{}.log_a", src.name)],
    );
    assert_success(&out, "backup with --ignore-table-data");
    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    assert_eq!(
        meta["data_skipped"],
        serde_json::json!([{"database": src.name, "table": "log_a"}])
    );
    let copy = TestDb::new("sel_nodata_copy").await;
    restore_with_client(&copy.name, &file);
    assert!(tables(&copy.name).await.contains(&"log_a".to_owned()));
    assert_eq!(count_rows(&copy.name, "log_a").await, 0);
    assert_eq!(count_rows(&copy.name, "log_b").await, 1);
    assert_eq!(
        objects(&copy.name, "TRIGGER").await,
        ["log_a_bi", "orders_ai"]
    );
    let out = common::verify(&file, &[]);
    assert_success(&out, "verify");
    let mut against = vec!["--against".to_owned(), src.name.clone()];
    against.extend(server().connection_args());
    let refs: Vec<&str> = against.iter().map(String::as_str).collect();
    let out = common::verify(&file, &refs);
    assert_success(&out, "verify --against the source");
}

/// `--where` reads only the rows its condition accepts, on a table split into many key ranges
/// (each range AND the condition, counted with it) and on one read whole; the metadata holds
/// each condition next to the rows, and verify (file and --against) compares the filtered rows.
#[tokio::test]
async fn where_filters_rows_across_chunks_and_is_recorded() {
    let src = shop("sel_where").await;
    let dir = out_dir();
    let orders = format!("{}.orders:amount % 30 = 0 OR id > 990", src.name);
    let notes = format!("{}.notes:n > 2", src.name);
    let notes_too = format!("{}.no*:txt <> 'e'", src.name);
    let out = dump(
        &src.name,
        dir.path(),
        &[
            "--where",
            &orders,
            "--where",
            &notes,
            "--where",
            &notes_too,
            "--chunk-bytes",
            "2000",
            "-j",
            "3",
        ],
    );
    assert_success(&out, "backup with --where");
    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    let table = |name: &str| {
        meta["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == name)
            .unwrap_or_else(|| panic!("{name} not in {}", meta["tables"]))
            .clone()
    };
    // 1000 / 3 multiples of 30 (of 10..10000), and 991..1000 minus 993, 996, 999.
    let o = table("orders");
    assert_eq!(o["rows"], 333 + 7, "{o}");
    assert_eq!(o["condition"], "(amount % 30 = 0 OR id > 990)");
    assert!(o["chunks"].as_u64().unwrap() > 1, "split into ranges: {o}");
    let n = table("notes");
    assert_eq!(n["rows"], 3, "{n}");
    assert_eq!(n["condition"], "(n > 2) AND (txt <> 'e')");
    assert_eq!(n["chunks"], 1);
    assert!(table("log_a").get("condition").is_none());
    assert_eq!(meta["selection"]["where"].as_array().unwrap().len(), 3);

    let copy = TestDb::new("sel_where_copy").await;
    restore_with_client(&copy.name, &file);
    assert_eq!(count_rows(&copy.name, "orders").await, 340);
    let mut c = copy.conn().await;
    let outside: u64 = c
        .query_first("SELECT COUNT(*) FROM orders WHERE NOT (amount % 30 = 0 OR id > 990)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outside, 0);
    let notes_left: Vec<i32> = c.query("SELECT n FROM notes ORDER BY n").await.unwrap();
    assert_eq!(notes_left, [3, 4, 6]);
    c.disconnect().await.unwrap();
    assert_eq!(count_rows(&copy.name, "log_a").await, 2);

    assert_success(&common::verify(&file, &[]), "verify");
    let mut against = vec!["--against".to_owned(), src.name.clone()];
    against.extend(server().connection_args());
    let refs: Vec<&str> = against.iter().map(String::as_str).collect();
    let out = common::verify(&file, &refs);
    assert_success(
        &out,
        "verify --against a database with more rows than the dump",
    );
    let text = output_text(&out);
    assert!(
        text.contains("rows where (amount % 30 = 0 OR id > 990) (--where)"),
        "{text}"
    );
    // A row the condition accepts that the dump does not have is still a difference.
    src.exec("INSERT INTO orders VALUES (5000, 30, 'late')")
        .await;
    let out = common::verify(&file, &refs);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(output_text(&out).contains("row count differs"));
}

/// A condition the server refuses stops the run before any file is started (exit 2), naming
/// the table, the condition and the server's error; one it refuses only when rows are read
/// stops the run in the middle, and no file is left.
#[tokio::test]
async fn a_condition_the_server_refuses_leaves_nothing() {
    let src = shop("sel_badwhere").await;
    let dir = out_dir();
    let out = dump(
        &src.name,
        dir.path(),
        &[
            "--where",
            &format!("{}.orders:no_such_column > 1", src.name),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains(&format!("`{}`.`orders`", src.name))
            && text.contains("(no_such_column > 1)")
            && text.contains("ERROR 1054"),
        "{text}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    // Accepted as SQL, refused when evaluated on the rows (a subquery of several rows).
    let runtime = format!(
        "{}.orders:id > (SELECT id FROM {}.log_a)",
        src.name,
        quote(&src.name)
    );
    let out = dump(
        &src.name,
        dir.path(),
        &["--where", &runtime, "--chunk-bytes", "2000"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("ERROR 1242") && text.contains("(--where)"),
        "{text}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// A pattern matching nothing is a usage error naming the flag and the pattern, with the name
/// that differs only in case; `--allow-missing` makes it a warning. `single` refuses a pattern
/// of another database.
#[tokio::test]
async fn a_pattern_that_matches_nothing_is_refused_unless_allowed() {
    let src = shop("sel_nomatch").await;
    let dir = out_dir();
    let wrong = format!("{}.ORDERS", src.name);
    let out = dump(&src.name, dir.path(), &["--ignore-table", &wrong]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains(&format!("--ignore-table {wrong} matches no table"))
            && text.contains(&format!("did you mean {}.orders?", src.name)),
        "{text}"
    );
    assert!(files_in(dir.path()).is_empty());

    let take = format!("{wrong},{}.notes", src.name);
    let out = dump(
        &src.name,
        dir.path(),
        &["--tables", &take, "--allow-missing"],
    );
    assert_success(&out, "backup with --allow-missing");
    assert!(output_text(&out).contains(&format!("--tables {wrong} matches no table")));
    let meta = metadata_of(&dump_file_in(dir.path()));
    let recorded: Vec<&str> = meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, ["notes"]);

    let other = out_dir();
    let out = dump(&src.name, other.path(), &["--tables", "elsewhere.notes"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("--tables elsewhere.notes: single backs up database"),
        "{}",
        output_text(&out)
    );
    assert!(files_in(other.path()).is_empty());
}

/// `--skip-triggers`, `--skip-routines`, `--skip-events` leave their objects out;
/// `--no-create-info` writes rows (and the rest) for tables that exist.
#[tokio::test]
async fn object_flags_leave_their_kind_out() {
    let src = shop("sel_objects").await;
    let dir = out_dir();
    let out = dump(
        &src.name,
        dir.path(),
        &["--skip-triggers", "--skip-routines", "--skip-events"],
    );
    assert_success(&out, "backup with --skip-*");
    let file = dump_file_in(dir.path());
    assert_eq!(
        metadata_of(&file)["selection"]["objects_left_out"],
        serde_json::json!(["triggers", "routines", "events"])
    );
    let copy = TestDb::new("sel_objects_copy").await;
    restore_with_client(&copy.name, &file);
    assert_eq!(tables(&copy.name).await.len(), 5);
    for kind in ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"] {
        assert!(objects(&copy.name, kind).await.is_empty(), "{kind}");
    }

    // Rows only, into the tables a schema-only dump made.
    let schema = out_dir();
    assert_success(
        &dump(&src.name, schema.path(), &["-x", "--skip-triggers"]),
        "schema",
    );
    let target = TestDb::new("sel_objects_rows").await;
    restore_with_client(&target.name, &dump_file_in(schema.path()));
    let rows = out_dir();
    let out = dump(
        &src.name,
        rows.path(),
        &["--no-create-info", "--skip-routines", "--skip-events"],
    );
    assert_success(&out, "backup with --no-create-info");
    let file = dump_file_in(rows.path());
    let sql = std::fs::read_to_string(&file).unwrap();
    assert!(
        !sql.contains("CREATE TABLE")
            && !sql.contains("CREATE VIEW")
            && !sql.contains("ALTER DATABASE"),
        "create info in {}",
        file.display()
    );
    restore_with_client(&target.name, &file);
    assert_eq!(count_rows(&target.name, "orders").await, 1000);
    assert_eq!(count_rows(&target.name, "log_a").await, 2);
    // The triggers came with the rows, after them: the audit table stays as dumped (empty).
    assert_eq!(count_rows(&target.name, "audit").await, 0);
    assert_eq!(
        objects(&target.name, "TRIGGER").await,
        ["log_a_bi", "orders_ai"]
    );
}

/// `--engine mysqldump` is given the selection in its own options: the tables left out by
/// `--ignore-table`, the rows by `--ignore-table-data`, one `--where` for all the tables of a
/// file, `--skip-triggers`; two conditions in one file are refused before anything is written.
#[tokio::test]
async fn the_mysqldump_engine_is_given_the_selection() {
    let src = shop("sel_mysqldump").await;
    let dir = out_dir();
    let db = &src.name;
    let out = dump(
        db,
        dir.path(),
        &[
            "--engine",
            "mysqldump",
            "--tables",
            &format!("{db}.*order*,{db}.log_?,{db}.v_logs"),
            "--ignore-table",
            &format!("{db}.v_logs"),
            "--ignore-table-data",
            &format!("{db}.log_b"),
            "--where",
            &format!("{db}.*:id <= 5"),
            "--skip-triggers",
        ],
    );
    assert_success(&out, "mysqldump engine with a selection");
    let file = dump_file_in(dir.path());
    let meta = metadata_of(&file);
    assert_eq!(meta["engine"], "mysqldump");
    assert_eq!(
        meta["data_skipped"],
        serde_json::json!([{"database": db, "table": "log_b"}])
    );
    let copy = TestDb::new("sel_mysqldump_copy").await;
    restore_with_client(&copy.name, &file);
    assert_eq!(tables(&copy.name).await, ["log_a", "log_b", "orders"]);
    assert_eq!(objects(&copy.name, "VIEW").await, ["v_orders"]);
    assert!(objects(&copy.name, "TRIGGER").await.is_empty());
    assert_eq!(count_rows(&copy.name, "orders").await, 5);
    assert_eq!(count_rows(&copy.name, "log_a").await, 2);
    assert_eq!(count_rows(&copy.name, "log_b").await, 0);

    // Refused before it writes: not even the backup directory it would have made is left.
    let refused = out_dir();
    let new_dir = refused.path().join("new");
    let out = dump(
        db,
        &new_dir,
        &[
            "--engine",
            "mysqldump",
            "--where",
            &format!("{db}.orders:id <= 5"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains(&format!("--where \"{db}.orders:id <= 5\""))
            && text.contains("--engine native"),
        "{text}"
    );
    assert!(
        !new_dir.exists(),
        "the refused run left {}",
        new_dir.display()
    );
}

/// A backup of `db` that stops with exit 1 before writing any file, saying `code` (the
/// server's error), and a dry run that refuses it the same way, before the night's run does:
/// what the backup said.
fn refused_before_writing(db: &str, dir: &Path, code: &str) -> String {
    let out = dump(db, dir, &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(code), "{text}");
    assert!(files_in(dir).is_empty(), "{:?}", files_in(dir));
    let dry = dump(db, dir, &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", output_text(&dry));
    assert!(output_text(&dry).contains(code), "{}", output_text(&dry));
    text
}

/// A table the server cannot open (a MERGE table whose underlying table was changed, as in
/// MariaDB's merge.test; a missing tablespace) stops the backup before its file is written,
/// with the server's error and what to do; left out with `--ignore-table`, the rest is dumped.
#[tokio::test]
async fn a_table_the_server_cannot_open_stops_the_backup_and_says_how_to_go_on() {
    let src = TestDb::new("sel_broken_merge").await;
    src.exec(
        "CREATE TABLE a (id INT) ENGINE=MyISAM; CREATE TABLE fine (id INT); INSERT INTO fine VALUES (1);
         CREATE TABLE m (id INT) ENGINE=MERGE UNION=(a);
         ALTER TABLE a ADD COLUMN x INT",
    )
    .await;
    let dir = out_dir();
    let text = refused_before_writing(&src.name, dir.path(), "ERROR 1168");
    assert!(
        text.contains(&format!(
            "reading table `{}`.`m`, which the server cannot open (repair it, or leave it out \
             with --ignore-table {}.m)",
            src.name, src.name
        )),
        "{text}"
    );
    let pattern = format!("{}.m", src.name);
    let out = dump(&src.name, dir.path(), &["--ignore-table", &pattern]);
    assert_success(&out, "backup without the table the server cannot open");
    let dst = TestDb::new("sel_broken_merge_dst").await;
    restore_with_client(&dst.name, &dump_file_in(dir.path()));
    assert_eq!(count_rows(&dst.name, "fine").await, 1);
}

/// A view the server cannot open (its table lost a column it reads) has no columns to stand
/// in for it and would be refused where the file is restored: the backup stops before its file
/// is written, naming the view, the server's reason and what to do, and leaves no file; left out
/// with `--ignore-table`, the rest is dumped.
#[tokio::test]
async fn a_view_the_server_cannot_open_stops_the_backup_and_says_how_to_go_on() {
    let src = TestDb::new("sel_broken_view").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, gone INT); INSERT INTO t VALUES (1, 1);
         CREATE VIEW v_ok AS SELECT id FROM t;
         CREATE VIEW v_broken AS SELECT id, gone FROM t;
         CREATE VIEW `v.dot` AS SELECT gone FROM t;
         ALTER TABLE t DROP COLUMN gone",
    )
    .await;
    let dir = out_dir();
    let text = refused_before_writing(&src.name, dir.path(), "ERROR 1356");
    // Both views at once, each with a flag the command line takes as it is printed.
    let dotted = format!("'`{}`.`v.dot`'", src.name);
    assert!(
        text.contains(&format!("`{}`.`v_broken`", src.name))
            && text.contains(&format!("`{}`.`v.dot`", src.name))
            && text.contains("ERROR 1356")
            && text.contains(&format!("--ignore-table {}.v_broken", src.name))
            && text.contains(&format!("--ignore-table {dotted}")),
        "{text}"
    );

    let pattern = format!("{}.v_broken", src.name);
    let literal = dotted.trim_matches('\'').to_owned();
    let out = dump(
        &src.name,
        dir.path(),
        &["--ignore-table", &pattern, "--ignore-table", &literal],
    );
    assert_success(&out, "backup without the broken view");
    let dst = TestDb::new("sel_broken_view_dst").await;
    restore_with_client(&dst.name, &dump_file_in(dir.path()));
    assert_eq!(objects(&dst.name, "VIEW").await, ["v_ok"]);
    assert_eq!(count_rows(&dst.name, "t").await, 1);
}

/// A trigger that uses a column its table no longer has (`OLD.at` after `DROP COLUMN at`)
/// cannot be created again (ERROR 1054), so its dump could not be restored: the backup stops
/// before its file is written, naming the trigger, the column and what to do; left out with
/// `--ignore-table`, the rest is dumped.
#[tokio::test]
async fn a_trigger_on_a_dropped_column_stops_the_backup_and_says_how_to_go_on() {
    let src = TestDb::new("sel_broken_trigger").await;
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, at INT); CREATE TABLE log (x INT);
         CREATE TABLE fine (id INT);
         CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW INSERT INTO log VALUES (OLD.at);
         CREATE TRIGGER ok AFTER INSERT ON fine FOR EACH ROW INSERT INTO log VALUES (NEW.id);
         ALTER TABLE t DROP COLUMN at",
    )
    .await;
    let dir = out_dir();
    let text = refused_before_writing(&src.name, dir.path(), "ERROR 1054");
    assert!(
        text.contains(&format!(
            "trigger `tr` on `{}`.`t` uses OLD.`at`, a column the table no longer has",
            src.name
        )) && text.contains("ERROR 1054")
            && text.contains(&format!("--ignore-table {}.t", src.name)),
        "{text}"
    );
    assert!(!text.contains("`ok`"), "{text}");

    let pattern = format!("{}.t", src.name);
    let out = dump(&src.name, dir.path(), &["--ignore-table", &pattern]);
    assert_success(&out, "backup without the table of the broken trigger");
    let dst = TestDb::new("sel_broken_trigger_dst").await;
    restore_with_client(&dst.name, &dump_file_in(dir.path()));
    assert_eq!(objects(&dst.name, "TRIGGER").await, ["ok"]);
}

//! Round trip of the fidelity corpus: dump with sfdbtools, restore with the stock client into
//! another database name, and compare every row and every definition.

mod common;

use std::path::{Path, PathBuf};

use common::compare::{diff, image};
use common::{TestDb, assert_success, files_in, out_dir, server};

fn dump_single(db: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let out = server()
        .sfdbtools()
        .args([
            "-q",
            "db-backup",
            "single",
            "--database",
            db,
            "-t",
            "TEST-1",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir)
        .args(["-c", "none", "--skip-encrypt"])
        .args(extra)
        .output()
        .unwrap();
    assert_success(&out, "sfdbtools db-backup single");
    let sql: Vec<String> = files_in(dir)
        .into_iter()
        .filter(|f| f.ends_with(".sql") && common::is_dump_file(f))
        .collect();
    assert_eq!(sql.len(), 1, "one dump file expected, found {sql:?}");
    dir.join(&sql[0])
}

fn restore_stock(db: &str, file: &Path) {
    common::restore_with_client(db, file)
}

#[tokio::test]
async fn corpus_round_trips_into_another_name_with_zero_differences() {
    let src = TestDb::new("fidelity_src").await;
    common::load_corpus(&src.name);
    let dir = out_dir();
    let file = dump_single(&src.name, dir.path(), &[]);

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("CREATE DATABASE"),
        "a single-database file has no CREATE DATABASE"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("USE ")),
        "a single-database file has no USE"
    );
    assert!(
        !text.contains(&format!("`{}`.", src.name)),
        "own-schema qualifiers must be stripped"
    );
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("-- Dump completed on ")
    );

    // An odd target name: spaces, a backquote and non-ASCII.
    let dst = TestDb::new("restored ` tâblé").await;
    restore_stock(&dst.name, &file);

    let mut conn = server().conn(None).await;
    let a = image(&mut conn, &src.name).await;
    let b = image(&mut conn, &dst.name).await;
    assert!(
        a.tables.len() >= 10,
        "the corpus should have many tables, got {}",
        a.tables.len()
    );
    for kind in [
        "view ",
        "trigger ",
        "function ",
        "procedure ",
        "event ",
        "sequence ",
        "package ",
    ] {
        assert!(
            a.objects.keys().any(|k| k.starts_with(kind)),
            "the corpus has no {kind}object: the test would prove nothing about it"
        );
    }
    let differences = diff(&a, &b);
    assert!(
        differences.is_empty(),
        "differences after restore:\n{}",
        differences.join("\n")
    );
}

/// The comparison must see a one-byte change, or the round-trip test proves nothing.
#[tokio::test]
async fn comparison_detects_a_one_byte_change() {
    let src = TestDb::new("cmp_src").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY, b VARBINARY(10), f FLOAT, d DECIMAL(10,3))")
        .await;
    src.exec("INSERT INTO t VALUES (1, 0x000102, 0.010516252390057362, 1.5), (2, NULL, 1, 2)")
        .await;
    let dst = TestDb::new("cmp_dst").await;
    let dir = out_dir();
    let file = dump_single(&src.name, dir.path(), &[]);
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
    let src = TestDb::new("float").await;
    src.exec("CREATE TABLE f (id INT PRIMARY KEY, x FLOAT)")
        .await;
    src.exec(
        "INSERT INTO f VALUES (1, 0.010516252390057362), (2, 3.40282e38), (3, 1.17549435e-38), \
         (4, 1e-45), (5, -0e0), (6, -123.456789)",
    )
    .await;
    let dir = out_dir();
    let file = dump_single(&src.name, dir.path(), &[]);
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
    let src = TestDb::new("meta").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3)")
        .await;
    let dir = out_dir();
    let file = dump_single(&src.name, dir.path(), &[]);
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

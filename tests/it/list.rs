//! `list` and the record `verify` leaves for it: the sets under a directory (dated
//! subdirectories included) with what their metadata and their last verify say, as a table
//! and as JSON; a record only beside our metadata, replaced by each verify, removed by
//! `cleanup` with its set; `verify`'s verdict as JSON events.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    TestDb, assert_success, backup, copy_with, dump_file_in, out_dir, server, stderr, stdout,
    verify,
};

/// `sfdbtools <global…> list <args…>`, without a config file unless `config` names one.
fn list(global: &[&str], args: &[&str], config: Option<&Path>) -> Output {
    let mut c = server().sfdbtools();
    if let Some(config) = config {
        c.env("SFDB_APPS_CONFIG", config);
    }
    c.args(global)
        .arg("list")
        .args(args)
        .output()
        .expect("run sfdbtools")
}

/// A database with two small tables.
async fn small_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20));
         INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
         CREATE TABLE u (id INT PRIMARY KEY); INSERT INTO u VALUES (7);",
    )
    .await;
    db
}

fn record_of(dump: &Path) -> PathBuf {
    PathBuf::from(format!("{}.verify.json", dump.display()))
}

fn json_of(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Four sets in dated directories and one beside them: verified good, never verified, a
/// damaged copy whose verify failed, and one whose metadata is not JSON. The table has a row
/// for each, the garbled one saying so (and a warning naming it); the JSON says the same,
/// oldest first; without DIR the config's base directory is listed.
#[tokio::test]
async fn list_shows_every_set_with_what_its_last_verify_said() {
    let db = small_db("list").await;
    let base = out_dir();
    let (day1, day2) = (base.path().join("20260104"), base.path().join("20260105"));
    assert_success(
        &backup(&["single", "--database", &db.name], &day1),
        "backup",
    );
    let good = dump_file_in(&day1);
    assert_success(
        &backup(
            &["single", "--database", &db.name, "-c", "gzip", "-K", "k"],
            &day2,
        ),
        "encrypted backup",
    );
    let never = dump_file_in(&day2);
    assert_success(&verify(&good, &[]), "verify");
    let damaged_dir = base.path().join("damaged");
    std::fs::create_dir(&damaged_dir).unwrap();
    let damaged = copy_with(&good, &damaged_dir, true, |b| {
        let n = b.len();
        b[n / 2] ^= 0x40;
    });
    assert_eq!(verify(&damaged, &[]).status.code(), Some(1), "damaged copy");
    let garbled = base.path().join("crm_20250101_010101_h.sql");
    std::fs::write(&garbled, "-- x\n").unwrap();
    std::fs::write(
        format!("{}.meta.json", garbled.display()),
        "{\"ticket\": \"\u{1b}[2J",
    )
    .unwrap();

    let out = list(&[], &[base.path().to_str().unwrap()], None);
    assert_success(&out, "list");
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "a header and a row per set:\n{table}");
    assert!(
        lines[0].starts_with("time ") && lines[0].contains("verified"),
        "{table}"
    );
    let row = |file: &Path| {
        let name = file.file_name().unwrap().to_str().unwrap();
        let dir = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        lines
            .iter()
            .find(|l| l.ends_with(&format!("{dir}/{name}")) || l.ends_with(&format!("  {name}")))
            .unwrap_or_else(|| panic!("no row for {}:\n{table}", file.display()))
            .to_string()
    };
    assert!(row(&good).contains(" passed 20"), "{table}");
    assert!(
        row(&good).contains(&db.name) && row(&good).contains(" zstd "),
        "{table}"
    );
    assert!(
        row(&never).contains(" never ") && row(&never).contains(" yes "),
        "{table}"
    );
    assert!(row(&damaged).contains(" failed 20"), "{table}");
    assert!(row(&garbled).contains("(metadata unreadable)"), "{table}");
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(
        stderr(&out).contains("crm_20250101_010101_h.sql: metadata unreadable: "),
        "{}",
        stderr(&out)
    );

    let config = base.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "backup:\n  output:\n    base_directory: {}\n",
            base.path().display()
        ),
    )
    .unwrap();
    let out = list(&["--log-format", "json"], &["--json"], Some(&config));
    assert_success(&out, "list --json");
    let sets: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sets.len(), 4, "{sets:#?}");
    let times: Vec<&str> = sets.iter().map(|s| s["time"].as_str().unwrap()).collect();
    let parsed: Vec<chrono::DateTime<chrono::FixedOffset>> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap())
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] <= w[1]),
        "not oldest first: {times:?}"
    );
    let set = |file: &Path| {
        sets.iter()
            .find(|s| s["file"] == file.to_str().unwrap())
            .unwrap_or_else(|| panic!("no entry for {}: {sets:#?}", file.display()))
    };
    let g = set(&good);
    assert_eq!(g["verified"]["status"], "passed");
    assert!(g["verified"]["at"].is_string() && g["verified"]["against"].is_null());
    assert_eq!(g["databases"], serde_json::json!([db.name]));
    assert_eq!(g["size_bytes"], std::fs::metadata(&good).unwrap().len());
    assert_eq!(
        (g["codec"].as_str(), g["encrypted"].as_bool()),
        (Some("zstd"), Some(false))
    );
    assert_eq!(g["ticket"], "TEST");
    assert!(g["gtid"].as_str().is_some_and(|p| !p.is_empty()), "{g}");
    assert!(g["problem"].is_null());
    let n = set(&never);
    assert_eq!(n["verified"]["status"], "never");
    assert_eq!(
        (n["codec"].as_str(), n["encrypted"].as_bool()),
        (Some("gzip"), Some(true))
    );
    let d = set(&damaged);
    assert_eq!(d["verified"]["status"], "failed");
    assert!(d["verified"]["detail"].is_string(), "{d}");
    let bad = set(&garbled);
    assert!(
        bad["problem"]
            .as_str()
            .unwrap()
            .starts_with("metadata unreadable: ")
    );
    assert_eq!(bad["verified"]["status"], "never");
    // --log-format json: the warning is a JSON event too.
    for line in stderr(&out).lines() {
        let e: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            ["warning", "finished"].contains(&e["event"].as_str().unwrap()),
            "{line}"
        );
    }

    // A new backup of the same name would leave the record about another file: stale.
    let mut meta = json_of(&PathBuf::from(format!("{}.meta.json", good.display())));
    meta["sha256"] = serde_json::json!("00".repeat(32));
    std::fs::write(format!("{}.meta.json", good.display()), meta.to_string()).unwrap();
    let out = list(&[], &["--json", base.path().to_str().unwrap()], None);
    let sets: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let g = sets
        .iter()
        .find(|s| s["file"] == good.to_str().unwrap())
        .unwrap();
    assert_eq!(g["verified"]["status"], "stale", "{g}");

    // No directory and no config: a usage error naming both ways.
    let out = list(&[], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("backup.output.base_directory"),
        "{}",
        stderr(&out)
    );
}

/// The record: what ran, when, with what result and SHA-256, at the metadata's mode; replaced
/// by `--against`; none beside a file without metadata; a directory where it cannot be
/// written costs a warning, not the verdict; `cleanup` removes it with its set, and leaves a
/// file of that name that is not ours.
#[tokio::test]
async fn verify_leaves_a_record_that_cleanup_takes_with_its_set() {
    use std::os::unix::fs::PermissionsExt;
    let db = small_db("vrec").await;
    let dir = out_dir();
    assert_success(
        &backup(&["single", "--database", &db.name], dir.path()),
        "backup",
    );
    let file = dump_file_in(dir.path());
    let metadata = common::metadata_of(&file);
    assert_success(&verify(&file, &[]), "verify");
    let record = record_of(&file);
    let r = json_of(&record);
    assert_eq!(r["record"], "sfdbtools verify");
    assert_eq!(r["passed"], true);
    assert_eq!(r["sha256"], metadata["sha256"]);
    assert_eq!(r["metadata_sha256"], metadata["sha256"]);
    assert_eq!(r["size_bytes"], std::fs::metadata(&file).unwrap().len());
    assert!(
        r["against"].is_null() && r["tool_version"].is_string(),
        "{r}"
    );
    chrono::DateTime::parse_from_rfc3339(r["verified_at"].as_str().unwrap()).unwrap();
    let checks: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in ["content", "end", "size", "sha256"] {
        assert!(checks.contains(&want), "{want} not in {checks:?}");
    }
    assert_eq!(
        (
            r["tables_compared"].as_u64(),
            r["tables_differing"].as_u64()
        ),
        (Some(2), Some(0))
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&record),
        mode(&PathBuf::from(format!("{}.meta.json", file.display())))
    );

    let mut against = vec!["--against".to_owned(), db.name.clone()];
    against.extend(server().connection_args());
    let against: Vec<&str> = against.iter().map(String::as_str).collect();
    assert_success(&verify(&file, &against), "verify --against");
    let r = json_of(&record);
    assert_eq!(
        (r["against"].as_str(), r["passed"].as_bool()),
        (Some(db.name.as_str()), Some(true))
    );
    assert!(r["sha256"].is_null(), "the file was not read: {r}");

    let bare_dir = out_dir();
    let bare = copy_with(&file, bare_dir.path(), false, |_| {});
    assert_success(&verify(&bare, &[]), "verify without metadata");
    assert!(!record_of(&bare).exists(), "a record beside no metadata");

    // The record's name taken by a directory: no rename replaces it, root's neither.
    let blocked_dir = out_dir();
    let blocked = copy_with(&file, blocked_dir.path(), true, |_| {});
    std::fs::create_dir(record_of(&blocked)).unwrap();
    let out = verify(&blocked, &[]);
    assert_success(&out, "verify where the record cannot be written");
    let err = stderr(&out);
    assert!(err.contains("warning: writing the verify record"), "{err}");

    // Old enough for cleanup: the set goes, record included; a file of the record's name
    // that something else wrote stays, beside another set that goes.
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = copy_with(&file, &other_dir, true, |_| {});
    let foreign = record_of(&other);
    std::fs::write(&foreign, "{\"notes\": \"not sfdbtools\"}").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
    for f in [&file, &other] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let out = server()
        .sfdbtools()
        .args(["-q", "cleanup", "--days", "30", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&out, "cleanup");
    assert!(
        stdout(&out).contains(&format!("removing {}", record.display())),
        "{}",
        stdout(&out)
    );
    assert!(!record.exists() && !file.exists() && !other.exists());
    assert!(foreign.exists(), "cleanup removed a file it did not write");
}

/// `--log-format json`: a `check` event per check, a `table_check` per table with the
/// expected and actual rows and checksums, then the `verdict`; every stderr line is JSON, and
/// stdout keeps its answer. A changed row makes its table's checksum differ, not its count.
#[tokio::test]
async fn verify_s_verdict_comes_as_json_events_per_check_and_per_table() {
    let db = small_db("vjson").await;
    let dir = out_dir();
    assert_success(
        &backup(&["single", "--database", &db.name], dir.path()),
        "backup",
    );
    let file = dump_file_in(dir.path());
    // Every line of stderr is JSON, a failed run's closing error included.
    let run = |extra: &[String]| {
        let out = server()
            .sfdbtools()
            .args(["--log-format", "json", "verify", "--file"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap();
        let events: Vec<serde_json::Value> = stderr(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out, events)
    };
    let (out, events) = run(&[]);
    assert_success(&out, "verify");
    assert_eq!(
        events.len(),
        stderr(&out).lines().count(),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("verified: ok"), "{}", stdout(&out));
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["event"] == kind).collect()
    };
    let checks = of("check");
    assert!(checks.len() >= 4, "{events:#?}");
    assert!(
        checks
            .iter()
            .all(|c| c["passed"] == true && c["name"].is_string() && c["detail"].is_string())
    );
    let tables = of("table_check");
    assert_eq!(tables.len(), 2, "{events:#?}");
    let t = tables.iter().find(|t| t["table"] == "t").unwrap();
    assert_eq!(
        (t["expected_rows"].as_u64(), t["actual_rows"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (t["rows_match"].as_bool(), t["checksum_match"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(t["database"], db.name.as_str());
    let verdict = of("verdict");
    assert_eq!(verdict.len(), 1);
    assert_eq!(verdict[0]["passed"], true);
    assert_eq!(verdict[0]["record"], record_of(&file).to_str().unwrap());
    // The verdict, then the run's end, which repeats it.
    let n = events.len();
    assert_eq!(events[n - 2]["event"], "verdict");
    assert_eq!(events[n - 1]["event"], "finished");
    assert_eq!(events[n - 1]["verdict"]["passed"], true);

    db.exec("UPDATE t SET s = 'changed' WHERE id = 2").await;
    let mut extra = vec!["--against".to_owned(), db.name.clone()];
    extra.extend(server().connection_args());
    let (out, events) = run(&extra);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let t = events
        .iter()
        .find(|e| e["event"] == "table_check" && e["table"] == "t")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(t["passed"], false);
    assert_eq!(
        (t["rows_match"].as_bool(), t["checksum_match"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(t["verdict"], "content differs");
    let v = events.iter().find(|e| e["event"] == "verdict").unwrap();
    assert_eq!(
        (v["passed"].as_bool(), v["tables_failed"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(json_of(&record_of(&file))["passed"], false);
}

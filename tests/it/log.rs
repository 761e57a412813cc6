//! The run's log (`cli::log`): with `--log-format json` every stderr line is one JSON object
//! with the envelope (time, level, run id, command, ticket), and every run ends with one
//! `finished` event: on success, failure, usage error and SIGINT. `--log-file` gets the same
//! events as JSON lines whatever the terminal shows; `--log-level` filters both.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{self, TestDb, assert_success, dump_file_in, out_dir, server, wait_for_rows};

/// Every stderr line of `out` as JSON, with the envelope checked on each: a line that is not
/// an object, lacks a field, or whose run id differs from the first line's fails the test.
fn json_lines(out: &Output) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    assert!(!events.is_empty(), "nothing on stderr");
    check_envelopes(&events);
    events
}

fn check_envelopes(events: &[Value]) {
    let run_id = events[0]["run_id"].as_str().expect("a run_id").to_owned();
    let mut last = None;
    for e in events {
        let ts = e["ts"].as_str().unwrap_or_else(|| panic!("no ts: {e}"));
        let ts = chrono::DateTime::parse_from_rfc3339(ts)
            .unwrap_or_else(|err| panic!("ts is not RFC 3339: {e}: {err}"));
        assert!(last.is_none_or(|l| l <= ts), "time went back: {e}");
        last = Some(ts);
        assert!(
            ["error", "warn", "info", "debug"].contains(&e["level"].as_str().unwrap_or("")),
            "level: {e}"
        );
        assert_eq!(e["run_id"], run_id.as_str(), "{e}");
        assert!(
            e.get("ticket").is_some() && e.get("command").is_some(),
            "{e}"
        );
        assert!(e["event"].is_string(), "{e}");
    }
}

/// The one `finished` event, which must be the last line.
fn finished(events: &[Value]) -> &Value {
    let n = events.iter().filter(|e| e["event"] == "finished").count();
    assert_eq!(n, 1, "finished events: {events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "finished", "{events:?}");
    last
}

async fn small_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3)")
        .await;
    db
}

fn backup(db: &str, dir: &Path, first: &[&str]) -> Command {
    let mut c = server().sfdbtools();
    c.args(first)
        .args([
            "db-backup",
            "single",
            "--database",
            db,
            "-t",
            "T-21",
            "-c",
            "zstd",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir)
        .stdin(Stdio::null());
    c
}

#[tokio::test]
async fn json_runs_log_only_json_and_end_with_one_finished_event() {
    let db = small_db("log_json").await;
    let dir = out_dir();
    let out = backup(&db.name, dir.path(), &["--log-format", "json"])
        .output()
        .unwrap();
    assert_success(&out, "json backup");
    let events = json_lines(&out);
    let end = finished(&events);
    assert_eq!(
        (end["status"].as_str(), end["exit_code"].as_i64()),
        (Some("ok"), Some(0))
    );
    assert_eq!(end["command"], "db-backup");
    assert!(end["seconds"].as_f64().is_some(), "{end}");
    assert_eq!(end["files"][0]["databases"][0], db.name.as_str(), "{end}");
    // The ticket is in every line once the run knows it (from the first event on).
    assert!(events.iter().all(|e| e["ticket"] == "T-21"), "{events:?}");

    // A restore and a verify of that file, likewise.
    let file = dump_file_in(dir.path());
    let target = TestDb::new("log_json_r").await;
    let out = server()
        .sfdbtools()
        .args(["--log-format=json", "db-restore", "single", "-f"])
        .arg(&file)
        .args(["--target-db", &target.name, "-t", "T-22"])
        .args(server().connection_args())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_success(&out, "json restore");
    let events = json_lines(&out);
    assert_eq!(finished(&events)["status"], "ok");
    assert_eq!(finished(&events)["command"], "db-restore");
    let out = server()
        .sfdbtools()
        .args(["--log-format", "json", "verify", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out, "json verify");
    let events = json_lines(&out);
    assert_eq!(finished(&events)["command"], "verify");
}

/// A failure is said once (an `error` event, no text line), then `finished` with its code and
/// status: `failed` (exit 1), `usage_error` (exit 2: here a database that does not exist).
#[tokio::test]
async fn a_failed_run_says_its_error_once_then_finishes() {
    let db = small_db("log_fail").await;
    let dir = out_dir();
    for (database, out_dir, status, code, named) in [
        (
            db.name.as_str(),
            Path::new("/proc/sfdbtools-log-test"),
            "failed",
            1,
            "/proc/sfdbtools-log-test",
        ),
        (
            "log_no_such_db_21",
            dir.path(),
            "usage_error",
            2,
            "log_no_such_db_21",
        ),
    ] {
        let out = backup(database, out_dir, &["--log-format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events = json_lines(&out);
        let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
        assert_eq!(errors.len(), 1, "{events:?}");
        assert!(
            errors[0]["message"].as_str().unwrap().contains(named),
            "{}",
            errors[0]
        );
        assert_eq!(errors[0]["level"], "error");
        let end = finished(&events);
        assert_eq!(end["status"], status);
        assert_eq!(end["exit_code"].as_i64(), Some(code as i64));

        // With text, the error is one line, not two.
        let out = backup(database, out_dir, &[]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches(named).count(), 1, "{stderr}");
    }
}

/// clap's errors and our own checks of the raw arguments are JSON too (exit 2); help is the
/// answer on stdout.
#[test]
fn usage_errors_are_json_objects() {
    for args in [
        &["--log-format", "json", "db-backup", "--bogus"][..],
        &[
            "db-backup",
            "single",
            "--log-format=json",
            "--threads",
            "many",
        ],
        &["--log-format", "json", "verify"],
        &[
            "--log-format",
            "json",
            "db-backup",
            "single",
            "-h",
            "--database",
            "x",
        ],
    ] {
        let out = server().sfdbtools().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let events = json_lines(&out);
        let end = finished(&events);
        assert_eq!(end["status"], "usage_error", "{args:?}");
        assert_eq!(end["exit_code"], 2);
        assert_eq!(events[0]["event"], "error", "{args:?}");
        assert!(!events[0]["message"].as_str().unwrap().is_empty());
    }
    let out = server()
        .sfdbtools()
        .args(["--log-format", "json", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGINT mid-dump: the run still ends with `finished` (interrupted, 130), every line JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_finishes_with_its_event() {
    let db = TestDb::new("log_sigint").await;
    common::create_big_table(&db).await;
    let dir = out_dir();
    let child = backup(&db.name, dir.path(), &["--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&db.name).await;
    let out = common::interrupt(child, "-INT").await;
    assert_eq!(out.status.code(), Some(130));
    let events = json_lines(&out);
    let end = finished(&events);
    assert_eq!(
        (end["status"].as_str(), end["exit_code"].as_i64()),
        (Some("interrupted"), Some(130))
    );
    assert!(events.iter().any(|e| e["event"] == "error"), "{events:?}");
    assert!(common::files_in(dir.path()).is_empty());
}

/// `--log-file` (and config `log.file`): JSON lines of every event even when the terminal
/// shows nothing (-q), appended run after run, readable by the owner only. `--log-level warn`
/// (and config `log.level`) keeps warnings, errors and `finished`.
#[tokio::test]
async fn the_log_file_gets_every_event_whatever_the_terminal_shows() {
    use std::os::unix::fs::PermissionsExt;
    let db = small_db("log_file").await;
    let dir = out_dir();
    let logs = tempfile::tempdir().unwrap();
    let path = logs.path().join("runs.log");
    let out = backup(
        &db.name,
        dir.path(),
        &["-q", "--log-file", path.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_success(&out, "backup -q with a log file");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // The second run through the config file's keys, at level warn.
    let config = logs.path().join("config.yaml");
    std::fs::write(
        &config,
        format!("log:\n  level: warning\n  file: {}\n", path.display()),
    )
    .unwrap();
    let dir2 = out_dir();
    let out = backup(&db.name, dir2.path(), &["-q"])
        .env("SFDB_APPS_CONFIG", &config)
        .output()
        .unwrap();
    assert_success(&out, "backup with config log keys");

    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    let ends: Vec<usize> = (0..events.len())
        .filter(|&i| events[i]["event"] == "finished")
        .collect();
    assert_eq!(ends.len(), 2, "{text}");
    let (first, second) = events.split_at(ends[0] + 1);
    check_envelopes(first);
    check_envelopes(second);
    assert_ne!(first[0]["run_id"], second[0]["run_id"]);
    let kinds: Vec<&str> = first.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in [
        "start",
        "table_started",
        "table_done",
        "file_written",
        "finished",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    // Level warn: nothing at info but the finished event.
    assert!(
        second
            .iter()
            .all(|e| e["level"] != "info" || e["event"] == "finished"),
        "{second:?}"
    );
    assert_eq!(second.last().unwrap()["status"], "ok");

    // A log file that cannot be opened stops the run before it does anything.
    let fresh = out_dir();
    let out = backup(
        &db.name,
        fresh.path(),
        &["-q", "--log-file", "/proc/sfdbtools/x.log"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/proc/sfdbtools/x.log"), "{stderr}");
    assert!(common::files_in(fresh.path()).is_empty());
}

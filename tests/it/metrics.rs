//! `--metrics-file`: node_exporter's textfile format after every backup that starts, read
//! back line by line against the exposition format; a failed or interrupted run marks its
//! databases failed and keeps the time of their last success, so that an alert on its age
//! fires when backups stop working.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{TestDb, assert_success, dump_file_in, out_dir, server};

/// One sample: metric name and `database` label (empty when none) → value.
type Samples = BTreeMap<(String, String), f64>;

/// Reads a metrics file as the exposition format says, failing on any line that is not a
/// `# HELP`/`# TYPE` comment or a `name{database="…"} value` sample, and on a sample whose
/// family has not had its HELP and `TYPE … gauge` lines before it.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    let (mut helped, mut typed) = (Vec::<String>::new(), Vec::<String>::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(line);
            assert!(!help.is_empty(), "{line}");
            helped.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert_eq!(kind, "gauge", "{line}");
            typed.push(name.to_owned());
            continue;
        }
        let name_end = line.find(['{', ' ']).expect(line);
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "not a metric name: {line}"
        );
        assert!(
            helped.last().map(String::as_str) == Some(name),
            "no HELP before {line}"
        );
        assert!(
            typed.last().map(String::as_str) == Some(name),
            "no TYPE before {line}"
        );
        let mut rest = &line[name_end..];
        let mut database = String::new();
        if let Some(labels) = rest.strip_prefix("{database=\"") {
            // The value up to its closing unescaped quote, `\\`, `\"` and `\n` unescaped.
            let mut chars = labels.char_indices();
            let end = loop {
                match chars.next().expect(line) {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().expect(line).1 {
                        'n' => database.push('\n'),
                        c @ ('\\' | '"') => database.push(c),
                        c => panic!("unknown escape \\{c}: {line}"),
                    },
                    (_, c) => database.push(c),
                }
            };
            rest = labels[end + 1..].strip_prefix('}').expect(line);
        }
        let value = rest.strip_prefix(' ').expect(line);
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a value: {line}"));
        let fresh = samples.insert((name.to_owned(), database), value);
        assert!(fresh.is_none(), "a sample twice: {line}");
    }
    samples
}

fn get(samples: &Samples, metric: &str, db: &str) -> f64 {
    *samples
        .get(&(format!("sfdbtools_backup_{metric}"), db.to_owned()))
        .unwrap_or_else(|| panic!("no {metric} for {db:?}: {samples:?}"))
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn read(path: &Path) -> Samples {
    parse(&std::fs::read_to_string(path).unwrap())
}

/// `sfdbtools -q db-backup <args…> -t TEST --metrics-file M` with `conn` for the connection.
fn backup(args: &[&str], conn: &[String], dir: &Path, metrics: &Path) -> Output {
    server()
        .sfdbtools()
        .args(["-q", "db-backup"])
        .args(args)
        .args(conn)
        .arg("-o")
        .arg(dir)
        .args(["-t", "TEST", "--metrics-file"])
        .arg(metrics)
        .output()
        .expect("run sfdbtools")
}

/// A success writes each database's series (a name with a quote escaped in its label);
/// a failure (a database that does not exist, then a server that does not answer) sets status
/// 0 and a later last run, and keeps the last success of the earlier file.
#[tokio::test]
async fn a_backup_writes_the_metrics_file_and_a_failure_keeps_the_last_success() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new("met\"rics").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_25;
         CREATE TABLE u (id INT PRIMARY KEY); INSERT INTO u VALUES (1), (2);",
    )
    .await;
    let (dir, watch) = (out_dir(), out_dir());
    let metrics = watch.path().join("sfdbtools.prom");
    let conn = server().connection_args();
    let before = now();
    let out = backup(
        &["single", "--database", &db.name],
        &conn,
        dir.path(),
        &metrics,
    );
    assert_success(&out, "backup");
    let after = now();
    let s = read(&metrics);
    let name = db.name.as_str();
    assert_eq!(get(&s, "last_status", name), 1.0);
    let success = get(&s, "last_success_timestamp_seconds", name);
    assert!(
        before - 1.0 <= success && success <= after + 1.0,
        "{success} not in the run"
    );
    assert_eq!(get(&s, "last_run_timestamp_seconds", name), success);
    assert_eq!(get(&s, "rows", name), 27.0);
    let file = dump_file_in(dir.path());
    assert_eq!(
        get(&s, "bytes", name),
        std::fs::metadata(&file).unwrap().len() as f64
    );
    assert!(get(&s, "duration_seconds", name) > 0.0);
    let mode = std::fs::metadata(&metrics).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "node_exporter must be able to read it");
    assert_eq!(
        common::files_in(watch.path()),
        ["sfdbtools.prom"],
        "a temporary file stayed"
    );

    // A database that is not there: a usage error, and a failure for the monitoring.
    let missing = format!("{name}_missing");
    let out = backup(
        &["single", "--database", &missing],
        &conn,
        dir.path(),
        &metrics,
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    let s = read(&metrics);
    assert_eq!(get(&s, "last_status", name), 0.0);
    assert_eq!(get(&s, "last_success_timestamp_seconds", name), success);
    assert_eq!(get(&s, "rows", name), 27.0, "the last success's rows");
    assert_eq!(get(&s, "last_status", &missing), 0.0);
    assert_eq!(get(&s, "last_success_timestamp_seconds", &missing), 0.0);

    // Nothing listens on the port: the run fails before it knows a database.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = vec![
        "--host=127.0.0.1".to_owned(),
        format!("--port={port}"),
        format!("--user={}", server().user),
    ];
    let ran = now();
    let out = backup(&["all"], &unreachable, dir.path(), &metrics);
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let s = read(&metrics);
    assert_eq!(get(&s, "last_status", name), 0.0);
    assert_eq!(get(&s, "last_success_timestamp_seconds", name), success);
    assert!(get(&s, "last_run_timestamp_seconds", name) >= ran - 1.0);

    // A garbled earlier file: a warning, and the file is whole again after the run.
    std::fs::write(&metrics, "not { a metrics file\n").unwrap();
    let out = backup(
        &["single", "--database", name],
        &conn,
        dir.path().join("again").as_path(),
        &metrics,
    );
    assert_success(&out, "backup over a garbled metrics file");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line(s) that cannot be read"),
        "{}",
        common::output_text(&out)
    );
    assert_eq!(get(&read(&metrics), "last_status", name), 1.0);
}

/// SIGINT mid-dump: exit 130, and the metrics file says the run failed, keeping the last
/// success it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backup_is_a_failure_in_the_metrics_file() {
    let db = TestDb::new("met_int").await;
    common::create_big_table(&db).await;
    let (dir, watch) = (out_dir(), out_dir());
    let metrics = watch.path().join("sfdbtools.prom");
    std::fs::write(
        &metrics,
        format!(
            "sfdbtools_backup_last_success_timestamp_seconds{{database=\"{}\"}} 1234\n",
            db.name
        ),
    )
    .unwrap();
    let flag = format!("--metrics-file={}", metrics.display());
    let child = common::backup_command(
        &["single", "--database", &db.name, "-j", "2", &flag],
        dir.path(),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    common::wait_for_rows(&db.name).await;
    let out = common::interrupt(child, "-INT").await;
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        common::output_text(&out)
    );
    let s = read(&metrics);
    assert_eq!(get(&s, "last_status", &db.name), 0.0);
    assert_eq!(get(&s, "last_success_timestamp_seconds", &db.name), 1234.0);
    assert!(
        common::files_in(dir.path()).is_empty(),
        "the dump's files stay removed"
    );
}

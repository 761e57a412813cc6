//! The command line as cron sees it: modes, file names, exit codes and messages.

use crate::common;

use common::compare::{diff, image};
use common::{
    TestDb, assert_success, backup, files_in, metadata_of, out_dir, restore_with_client, server,
};

#[tokio::test]
async fn filter_multi_file_writes_one_restorable_file_per_database() {
    let a = TestDb::new("multi_a").await;
    let b = TestDb::new("multi_b").await;
    a.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2)")
        .await;
    b.exec("CREATE TABLE u (s VARCHAR(5)); INSERT INTO u VALUES ('x'),(NULL)")
        .await;
    let dir = out_dir();
    let out = backup(
        &[
            "filter",
            "--db",
            &a.name,
            "--db",
            &b.name.to_uppercase(),
            "--mode",
            "multi-file",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "filter multi-file");
    let files: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".sql") && common::is_dump_file(f))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let hostname = {
        let mut c = server().conn(None).await;
        use mysql_async::prelude::*;
        c.query_first::<String, _>("SELECT @@hostname")
            .await
            .unwrap()
            .unwrap()
    };
    let mut conn = server().conn(None).await;
    for db in [&a, &b] {
        let file = files
            .iter()
            .find(|f| f.starts_with(&format!("{}_", db.name)))
            .expect("a file per database");
        // {db}_{YYYYMMDD}_{HHMMSS}_{hostname}.sql
        let rest = file.strip_prefix(&format!("{}_", db.name)).unwrap();
        let parts: Vec<&str> = rest.trim_end_matches(".sql").splitn(3, '_').collect();
        assert_eq!(parts[0].len(), 8, "{file}");
        assert_eq!(parts[1].len(), 6, "{file}");
        assert_eq!(parts[2], hostname, "{file}");
        let path = dir.path().join(file);
        assert_eq!(metadata_of(&path)["backup"]["type"], "separated");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("CREATE DATABASE"),
            "one database per file: no CREATE DATABASE"
        );
        let copy = TestDb::new("multi_copy").await;
        restore_with_client(&copy.name, &path);
        assert!(
            diff(
                &image(&mut conn, &db.name).await,
                &image(&mut conn, &copy.name).await
            )
            .is_empty()
        );
    }
}

/// Usage errors exit 2 with a message naming what is missing, and write nothing.
#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let dir = out_dir();
    let cases: [(&[&str], &str); 5] = [
        (&["single", "--database", "x"], "ticket"),
        (&["filter", "--db", "x", "-t", "T"], "--mode"),
        (
            &["single", "--database", "x", "-t", "T", "-c", "brotli"],
            "brotli",
        ),
        (&["single", "--database", "x", "-t", "T", "-l", "10"], "1"),
        (
            &["single", "--database", "x", "-t", "T", "-f", "../escape"],
            "--filename",
        ),
    ];
    for (args, expect) in cases {
        let out = server()
            .sfdbtools()
            .arg("-q")
            .arg("db-backup")
            .args(args)
            .args(server().connection_args())
            .arg("-o")
            .arg(dir.path().join("never"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{args:?}: expected {expect:?} in {stderr}"
        );
        assert!(
            !dir.path().join("never").exists(),
            "{args:?} created the backup directory"
        );
    }
}

#[test]
fn a_missing_database_fails_with_its_name() {
    let dir = out_dir();
    let out = backup(
        &["single", "--database", "no_such_db_here", "-c", "none"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`no_such_db_here` does not exist"));
    assert!(files_in(dir.path()).is_empty());
}

/// `single --database x` against 127.0.0.1:1, where nothing listens, writing into `dir`.
fn backup_against_a_closed_port(dir: &std::path::Path) -> std::process::Output {
    server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", "x", "-t", "T"])
        .args(["--host", "127.0.0.1", "--port", "1"])
        .arg("-o")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn an_unreachable_server_fails_with_exit_1_and_names_it() {
    let dir = out_dir();
    let out = backup_against_a_closed_port(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect to root@127.0.0.1:1"),
        "{stderr}"
    );
}

/// An output directory that cannot be written fails before any connection is made.
#[test]
fn an_unwritable_directory_fails_before_connecting() {
    // Nothing listens on the port: reaching the server would fail differently.
    let target = std::path::Path::new("/proc/sfdbtools-cannot-write-here/20260105");
    let out = backup_against_a_closed_port(target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("backup directory can be written"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/proc/sfdbtools-cannot-write-here/20260105"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cannot connect"),
        "must fail before connecting: {stderr}"
    );
}

/// `--log-format json`: every line on stderr is one JSON event, from start to finished.
#[tokio::test]
async fn json_log_is_one_object_per_event() {
    let db = TestDb::new("jsonlog").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2)")
        .await;
    let dir = out_dir();
    let out = server()
        .sfdbtools()
        .args([
            "--log-format",
            "json",
            "db-backup",
            "single",
            "--database",
            &db.name,
            "-t",
            "T",
            "-c",
            "none",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_success(&out, "json log");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    assert!(kinds.contains(&"file_written"), "{kinds:?}");
    let done = events
        .iter()
        .find(|e| e["event"] == "table_done")
        .expect("a table_done event");
    assert_eq!(done["rows"], 2);
}

/// `--dry-run` connects and selects, prints the plan, and writes nothing, not even the directory.
#[tokio::test]
async fn dry_run_prints_the_plan_and_writes_nothing() {
    let db = TestDb::new("dryrun").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3)")
        .await;
    let dir = out_dir();
    let target = dir.path().join("20260105");
    let out = server()
        .sfdbtools()
        .args([
            "-q",
            "db-backup",
            "single",
            "--database",
            &db.name,
            "--dry-run",
            "-c",
            "none",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_success(&out, "dry run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&db.name), "{stdout}");
    assert!(
        stdout.contains(&format!("{}/{}_", target.display(), db.name)),
        "the file name: {stdout}"
    );
    assert!(
        !target.exists(),
        "a dry run must not create the backup directory"
    );
    assert!(files_in(dir.path()).is_empty());
}

/// `cleanup --days N` removes whole old sets (dump, metadata, grants) and nothing newer;
/// `--dry-run` only lists them.
#[test]
fn cleanup_removes_only_old_sets_together() {
    let dir = out_dir();
    let day = dir.path().join("20200101");
    std::fs::create_dir_all(&day).unwrap();
    let old = [
        "shop_20200101_010000_h.sql.zst.enc",
        "shop_20200101_010000_h.sql.zst.enc.meta.json",
        "shop_20200101_010000_h_users.sql.enc",
    ];
    let new = [
        "shop_20260101_010000_h.sql.gz",
        "shop_20260101_010000_h.sql.gz.meta.json",
    ];
    let other = ["crm_20200101_010000_h.sql", "notes.txt"];
    for f in old.iter().chain(&new).chain(&other) {
        std::fs::write(day.join(f), b"x").unwrap();
    }
    for f in old
        .iter()
        .chain(&["crm_20200101_010000_h.sql", "notes.txt"])
    {
        let status = std::process::Command::new("touch")
            .args(["-d", "40 days ago"])
            .arg(day.join(f))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let run = |extra: &[&str]| {
        server()
            .sfdbtools()
            .args(["-q", "cleanup", "--days", "30", "--pattern", "shop_*", "-o"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert_success(&dry, "cleanup --dry-run");
    let listed = String::from_utf8_lossy(&dry.stdout);
    for f in old {
        assert!(listed.contains(f), "{f} should be listed:\n{listed}");
        assert!(day.join(f).exists(), "a dry run removes nothing");
    }
    assert_success(&run(&[]), "cleanup");
    for f in old {
        assert!(!day.join(f).exists(), "{f} should be gone");
    }
    for f in new.iter().chain(&other) {
        assert!(
            day.join(f).exists(),
            "{f} must stay (newer, or not matching the pattern)"
        );
    }
}

/// mysqldump's `-h HOST` is help here: with any other argument it is a usage error naming
/// `--host`, never help with exit 0 (a cron job "succeeding" without a backup); alone, after
/// nothing but subcommand names, it still prints help.
#[test]
fn short_h_prints_help_only_on_its_own() {
    let refused: [&[&str]; 6] = [
        &["-h", "127.0.0.1"],
        &["db-backup", "-h", "127.0.0.1"],
        &["db-backup", "single", "--database", "x", "-h", "db1"],
        &["db-backup", "all", "-hdb1"],
        &["-q", "db-backup", "all", "-h"],
        &["db-restore", "single", "-h", "db1", "-f", "x.sql"],
    ];
    for args in refused {
        let out = server().sfdbtools().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--host"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed help");
    }
    let helped: [&[&str]; 5] = [
        &["-h"],
        &["db-backup", "-h"],
        &["backup", "single", "-h"],
        &["verify", "-h"],
        &["db-backup", "single", "--database", "x", "--help"],
    ];
    for args in helped {
        let out = server().sfdbtools().args(args).output().unwrap();
        assert_success(&out, &format!("{args:?}"));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}: no help printed"
        );
    }
    // A short flag taking a value swallows the `h`: `-th` is ticket "h", not help.
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", "x", "-th"])
        .args(["--connect-timeout", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--connect-timeout must be"), "{stderr}");
}

/// A database named by --db (or --db-file, or the config's include list) that the server
/// does not have is a usage error, and nothing is written; --allow-missing backs up the
/// others with a warning.
#[tokio::test]
async fn a_named_database_that_does_not_exist_is_a_usage_error() {
    let db = TestDb::new("named").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let missing = format!("nosuch_{}", std::process::id());
    let dir = out_dir();
    let list = dir.path().join("dbs.txt");
    std::fs::write(&list, format!("{}\n{missing}\n", db.name)).unwrap();
    let out_of = |name: &str| dir.path().join(name);
    let by_flag = [
        "filter",
        "--db",
        &missing,
        "--db",
        &db.name,
        "--mode",
        "single-file",
        "-c",
        "none",
    ];
    let list_arg = list.to_string_lossy().into_owned();
    let by_file = [
        "filter",
        "--db-file",
        &list_arg,
        "--mode",
        "multi-file",
        "-c",
        "none",
    ];
    for (args, out) in [(&by_flag[..], "flag"), (&by_file[..], "file")] {
        let result = backup(args, &out_of(out));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("`{missing}`")), "{stderr}");
        assert!(stderr.contains("--allow-missing"), "{stderr}");
        assert!(
            !out_of(out).exists(),
            "{args:?} created the backup directory"
        );
    }
    // The config's include list, in `all` mode.
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "backup:\n  include:\n    databases: [{}, {missing}]\n",
            db.name
        ),
    )
    .unwrap();
    let result = common::backup_command(&["all", "-c", "none"], &out_of("config"))
        .env("SFDB_APPS_CONFIG", &config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("`{missing}`")), "{stderr}");
    assert!(!out_of("config").exists());

    let mut allowed = by_flag.to_vec();
    allowed.push("--allow-missing");
    let result = backup(&allowed, &out_of("allowed"));
    assert_success(&result, "filter --allow-missing");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!("`{missing}`")) && stderr.contains("does not exist"),
        "the warning names the database: {stderr}"
    );
    let dumps: Vec<String> = files_in(&out_of("allowed"))
        .into_iter()
        .filter(|f| common::is_dump_file(f))
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    let text = std::fs::read_to_string(out_of("allowed").join(&dumps[0])).unwrap();
    assert!(
        text.contains(&format!("`{}`", db.name)),
        "the existing one is backed up"
    );
}

/// A port nothing listens on: the port of a listener that was bound and closed again.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `-q db-backup single --database x` with `connection` flags; stderr and exit code.
fn backup_connecting_with(connection: &[&str]) -> (Option<i32>, String) {
    let dir = out_dir();
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", "x", "-t", "T"])
        .args(connection)
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(files_in(dir.path()).is_empty());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Each way of failing to connect says what it is and where to look, and none of them is
/// called a connection lost mid-run.
#[test]
fn connection_failures_each_get_their_own_hint() {
    let port = closed_port().to_string();
    let (code, refused) = backup_connecting_with(&["--host", "127.0.0.1", "--port", &port]);
    assert_eq!(code, Some(1), "{refused}");
    assert!(
        refused.contains(&format!("cannot connect to root@127.0.0.1:{port}"))
            && refused.contains("nothing listens there"),
        "{refused}"
    );

    // The reserved .invalid top-level domain never resolves; a slow resolver must not turn
    // this into a timeout.
    let (code, unresolved) = backup_connecting_with(&[
        "--host",
        "sfdbtools-test.invalid",
        "--connect-timeout",
        "120",
    ]);
    assert_eq!(code, Some(1), "{unresolved}");
    assert!(
        unresolved.contains("\"sfdbtools-test.invalid\" does not resolve"),
        "{unresolved}"
    );

    let s = server();
    let (code, denied) = backup_connecting_with(&[
        "--host",
        &s.host,
        "--port",
        &s.port.to_string(),
        "--user",
        &s.user,
        "--password",
        "certainly-not-the-password",
    ]);
    assert_eq!(code, Some(1), "{denied}");
    assert!(
        denied.contains("ERROR 1045") && denied.contains("check the user and password"),
        "{denied}"
    );

    for stderr in [&refused, &unresolved, &denied] {
        assert!(!stderr.contains("not retried"), "{stderr}");
        assert!(!stderr.contains("connection lost"), "{stderr}");
    }
}

/// `--connect-timeout`: a listener that takes connections and never greets ends a backup, a
/// restore and `verify --against` after that long, saying so, instead of hanging.
#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // A real dump with its metadata, for restore and verify --against to start from.
    let db = TestDb::new("timeout").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let dir = out_dir();
    let out = backup(
        &["single", "--database", &db.name, "-c", "none"],
        dir.path(),
    );
    assert_success(&out, "backup");
    let dump = dir.path().join(
        files_in(dir.path())
            .into_iter()
            .find(|f| common::is_dump_file(f))
            .unwrap(),
    );

    // The kernel completes the TCP handshake for connections in the backlog; no one speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let target = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--connect-timeout",
        "1",
    ];
    let file = dump.to_string_lossy().into_owned();
    let never = dir.path().join("never").to_string_lossy().into_owned();
    let runs: [Vec<&str>; 3] = [
        [
            "-q",
            "db-backup",
            "single",
            "--database",
            "x",
            "-t",
            "T",
            "-o",
            &never,
        ]
        .to_vec(),
        [
            "-q",
            "db-restore",
            "single",
            "--target-db",
            "x",
            "-t",
            "T",
            "--skip-grants",
            "-f",
            &file,
        ]
        .to_vec(),
        ["-q", "verify", "--against", &db.name, "-f", &file].to_vec(),
    ];
    for args in runs {
        let mut child = server()
            .sfdbtools()
            .args(&args)
            .args(target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{args:?} still waiting for the silent server after 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot connect to root@127.0.0.1:{port}"))
                && stderr.contains("timed out after 1 s"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!std::path::Path::new(&never).exists());
    drop(silent);
}

/// Run where the operator happens to be, cleanup once planned to remove `./notes.sql` and a
/// project's migrations. It needs the backup directory named, refuses `--days 0`, and takes
/// only files named as the tool names them that have their metadata; a directory it cannot
/// list is skipped with a warning.
#[test]
fn cleanup_takes_only_backups_from_a_named_directory() {
    use rustix::fs::{CWD, Mode, OFlags, mkdirat, openat};
    let home = out_dir();
    let migrations = home.path().join("projects/app/migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    let old_files = [
        home.path().join("notes.sql"),
        migrations.join("001_init.sql"),
        home.path().join("shop_20200101_010000_h.sql"),
        home.path().join("shop_20200101_010000_h.sql.meta.json"),
    ];
    for f in &old_files {
        std::fs::write(f, b"x").unwrap();
        let status = std::process::Command::new("touch")
            .args(["-d", "40 days ago"])
            .arg(f)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let run = |args: &[&str]| {
        server()
            .sfdbtools()
            .current_dir(home.path())
            .args(["cleanup"])
            .args(args)
            .output()
            .unwrap()
    };
    // No directory (the harness's config names no base directory).
    let out = run(&["--days", "30"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("-o/--backup-dir"), "{err}");
    let out = run(&["--days", "0", "-o", "."]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--days 0"), "{err}");
    assert!(old_files.iter().all(|f| f.exists()), "nothing removed yet");

    // A directory whose path is longer than PATH_MAX: not even root can list it.
    let component = "d".repeat(250);
    let mut fd = openat(CWD, home.path(), OFlags::DIRECTORY, Mode::empty()).unwrap();
    for _ in 0..(4096 / 251 + 1) {
        mkdirat(&fd, component.as_str(), Mode::from_raw_mode(0o700)).unwrap();
        fd = openat(&fd, component.as_str(), OFlags::DIRECTORY, Mode::empty()).unwrap();
    }
    let out = server()
        .sfdbtools()
        .args(["cleanup", "--days", "30", "-o"])
        .arg(home.path())
        .output()
        .unwrap();
    assert_success(&out, "cleanup with a directory");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("warning: cannot list") && err.contains(&component),
        "{err}"
    );
    assert!(listed.contains("shop_20200101_010000_h.sql"), "{listed}");
    assert!(!old_files[2].exists() && !old_files[3].exists());
    assert!(old_files[0].exists(), "notes.sql must stay:\n{listed}");
    assert!(old_files[1].exists(), "a migration must stay:\n{listed}");
}

/// The terminal went away (`sfdbtools … 2>&1 | head -1`, a log shipper that died): the
/// messages that cannot be written are dropped and the backup is done all the same, exit 0,
/// nothing half-written left. std's print macros used to panic (exit 101) and leave the
/// temporary file behind.
#[tokio::test]
async fn a_closed_output_pipe_does_not_stop_the_backup() {
    let db = common::TestDb::new("closed_pipe").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM;
         INSERT INTO t SELECT seq, 'x' FROM seq_1_to_1000;
         CREATE TABLE u (id INT PRIMARY KEY);
         INSERT INTO u SELECT seq FROM seq_1_to_1000;",
    )
    .await;
    for format in ["text", "json"] {
        // One directory each: two runs in one second would want the same file name.
        let dir = common::out_dir();
        let mut child = common::server()
            .sfdbtools()
            .args(["db-backup", "single", "--database", &db.name, "-c", "none"])
            .args(["--log-format", format, "-t", "T"])
            .args(common::server().connection_args())
            .arg("-o")
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Both read ends closed before the run writes anything.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "--log-format {format}");
        let files = common::files_in(dir.path());
        assert!(
            files.iter().all(|f| !f.starts_with('.')),
            "temporary files left: {files:?}"
        );
        assert_eq!(
            files
                .iter()
                .filter(|f| f.ends_with(".sql.meta.json"))
                .count(),
            1,
            "{files:?}"
        );
    }
}

/// `completions`, `man-pages` and `--version` work from the installed binary alone: a broken
/// config file does not stop them (they do not read it), a closed pipe does not fail them,
/// and `--version` names the commit.
#[test]
fn completions_man_pages_and_version_come_from_the_binary() {
    let dir = out_dir();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "backup: [unclosed\n").unwrap();
    let run = |args: &[&str]| {
        let out = server()
            .sfdbtools()
            .env("SFDB_APPS_CONFIG", &broken)
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, &args.join(" "));
        String::from_utf8(out.stdout).unwrap()
    };
    let script = run(&["completions", "bash"]);
    let file = dir.path().join("sfdbtools.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p sfdbtools",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("-F _sfdbtools"),
        "the script does not register a completion: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let pages = run(&["man-pages", &dir.path().join("man").display().to_string()]);
    assert!(
        pages
            .lines()
            .any(|l| l.ends_with("/sfdbtools-db-backup-all.1")),
        "{pages}"
    );
    let version = run(&["--version"]);
    assert!(
        version.lines().any(|l| l.starts_with("commit:")),
        "{version}"
    );
    // `| head`: the reader leaves after a few bytes; the exit status is still 0.
    let piped = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' completions zsh | head -c 10 >/dev/null",
            env!("CARGO_BIN_EXE_sfdbtools")
        ))
        .status()
        .unwrap();
    assert!(piped.success());
}

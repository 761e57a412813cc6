//! `--engine mysqldump`: the stock dump tool behind the same chain, names and metadata.

use crate::common;

use common::compare::{diff, image};
use common::{
    TestDb, assert_success, dump_file_in, files_in, metadata_of, out_dir, restore_with_client,
    server,
};
use mysql_async::prelude::*;

#[tokio::test]
async fn the_fallback_writes_the_same_files_and_restores() {
    let db = TestDb::new("fallback").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), b BLOB, d DATETIME(6));
         INSERT INTO t VALUES (1, 'it''s', 0x00FF, '2001-02-03 04:05:06.789'), (2, NULL, '', NULL);
         CREATE VIEW v AS SELECT id FROM t;",
    )
    .await;
    // An account with a password: it must reach the child without a command line.
    let user = common::TestUser::new("fallback", "p\"w d", "ALL ON *.*").await;
    let dir = out_dir();
    // Its own TMPDIR: the option file must not outlive the run.
    let tmp = out_dir();
    let out = user
        .backup_command(
            &[
                "single",
                "--database",
                &db.name,
                "-c",
                "zstd",
                "--engine",
                "mysqldump",
            ],
            dir.path(),
        )
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_success(&out, "mysqldump engine");
    assert!(
        files_in(tmp.path()).is_empty(),
        "left in TMPDIR: {:?}",
        files_in(tmp.path())
    );
    let file = dump_file_in(dir.path());
    assert!(file.to_string_lossy().ends_with(".sql.zst"));
    let meta = metadata_of(&file);
    assert_eq!(meta["engine"], "mysqldump");
    assert_eq!(meta["backup"]["type"], "single");
    assert_eq!(
        meta["file"]["size_bytes"].as_u64().unwrap(),
        std::fs::metadata(&file).unwrap().len()
    );
    if server().is_mariadb() {
        let gtid = meta["replication"]["gtid_info"].as_str().unwrap();
        assert!(
            gtid.starts_with("0-1-"),
            "the dump's own position is recorded: {gtid:?}"
        );
    }

    let mut sql = Vec::new();
    use std::io::Read;
    sfdbtools::read::open(&file, None)
        .unwrap()
        .read_to_end(&mut sql)
        .unwrap();
    let plain = dir.path().join("plain.sql");
    std::fs::write(&plain, &sql).unwrap();
    let copy = TestDb::new("fallback_copy").await;
    restore_with_client(&copy.name, &plain);
    let mut conn = server().conn(None).await;
    let d = diff(
        &image(&mut conn, &db.name).await,
        &image(&mut conn, &copy.name).await,
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// A view whose table is gone makes mariadb-dump fail; the old tool's `-f` hid that. Any
/// non-zero exit fails the run, shows the tool's message and leaves no file.
#[tokio::test]
async fn a_failing_mysqldump_fails_the_run_and_leaves_nothing() {
    let db = TestDb::new("fallback_broken").await;
    db.exec("CREATE TABLE t (id INT); CREATE VIEW v AS SELECT id FROM t; DROP TABLE t;")
        .await;
    let dir = out_dir();
    let out = common::backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed") && stderr.contains("`v`"),
        "the tool's own message must show: {stderr}"
    );
    let left = common::files_in(dir.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// A `mariadb-dump` first on PATH that records what it was given (its arguments, environment,
/// and the mode of its option file's directory) in `out`, then runs the real tool.
fn recording_dump_tool(dir: &std::path::Path, out: &std::path::Path) -> std::ffi::OsString {
    let real = ["mariadb-dump", "mysqldump"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap())
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .expect("mariadb-dump or mysqldump installed");
    let script = format!(
        "#!/bin/sh\n\
         echo $$ > '{out}/pid'\n\
         printf '%s\\n' \"$@\" > '{out}/args'\n\
         env > '{out}/env'\n\
         for a in \"$@\"; do case \"$a\" in --defaults-extra-file=*) \
         f=\"${{a#--defaults-extra-file=}}\"; stat -c '%a' \"$(dirname \"$f\")\" > '{out}/dirmode';; \
         esac; done\n\
         exec '{real}' \"$@\"\n",
        out = out.display(),
        real = real.display()
    );
    let tool = dir.join("mariadb-dump");
    std::fs::write(&tool, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = std::ffi::OsString::from(dir);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap());
    path
}

/// The child gets the databases after `--` (a name is never an option), no SFDB_* key of
/// ours, and its option file in a directory only we can enter.
#[tokio::test]
async fn the_child_gets_names_after_dashes_and_none_of_our_keys() {
    let a = TestDb::new("fb_names_a").await;
    let b = TestDb::new("fb_names_b").await;
    a.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    b.exec("CREATE TABLE u (id INT PRIMARY KEY); INSERT INTO u VALUES (2)")
        .await;
    let (dir, tmp, shim, record) = (out_dir(), out_dir(), out_dir(), out_dir());
    let path = recording_dump_tool(shim.path(), record.path());
    let out = common::backup_command(
        &[
            "filter",
            "--db",
            &a.name,
            "--db",
            &b.name,
            "--mode",
            "single-file",
            "-c",
            "none",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    )
    .env("PATH", path)
    .env("TMPDIR", tmp.path())
    .env("SFDB_BACKUP_ENCRYPTION_KEY", "backup key of the test")
    .env("SFDB_TARGET_PROFILE_KEY", "profile key of the test")
    .output()
    .unwrap();
    assert_success(&out, "mysqldump engine, combined");
    let args = std::fs::read_to_string(record.path().join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let dashes = args
        .iter()
        .position(|a| *a == "--")
        .expect("-- in the arguments");
    assert_eq!(args[dashes - 1], "--databases", "{args:?}");
    let mut names = args[dashes + 1..].to_vec();
    names.sort();
    assert_eq!(names, [a.name.as_str(), b.name.as_str()], "{args:?}");
    let env = std::fs::read_to_string(record.path().join("env")).unwrap();
    assert!(
        !env.contains("SFDB_"),
        "the child must not see our keys:\n{env}"
    );
    assert!(!env.contains("key of the test"), "{env}");
    let mode = std::fs::read_to_string(record.path().join("dirmode")).unwrap();
    assert_eq!(mode.trim(), "700");
    assert!(
        files_in(tmp.path()).is_empty(),
        "{:?}",
        files_in(tmp.path())
    );
    // The dump itself went through: both databases are in it.
    let mut sql = String::new();
    use std::io::Read;
    sfdbtools::read::open(
        &dump_file_in(dir.path()),
        Some(&"backup key of the test".to_owned().into()),
    )
    .unwrap()
    .read_to_string(&mut sql)
    .unwrap();
    assert!(sql.contains(&format!("USE `{}`", a.name)), "{sql}");
    assert!(sql.contains(&format!("USE `{}`", b.name)), "{sql}");
}

/// A database whose name begins with `-` is refused before the dump tool runs.
#[tokio::test]
async fn a_database_named_like_an_option_is_refused() {
    let name = format!("--host=127.0.0.2_{}", std::process::id());
    let mut root = server().conn(None).await;
    root.query_drop(format!("CREATE DATABASE `{name}`"))
        .await
        .unwrap();
    let (dir, shim, record) = (out_dir(), out_dir(), out_dir());
    let path = recording_dump_tool(shim.path(), record.path());
    let out = common::backup_command(
        &[
            "single",
            &format!("--database={name}"),
            "-c",
            "none",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    )
    .env("PATH", path)
    .output()
    .unwrap();
    root.query_drop(format!("DROP DATABASE `{name}`"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("begins with '-'") && stderr.contains(&name),
        "{stderr}"
    );
    assert!(
        !record.path().join("args").exists(),
        "the dump tool must not run"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// SIGTERM while the dump tool runs: the option file with the password goes with the run, and
/// so does the dump tool, which would otherwise stay waiting for its lock (and keep every
/// write on the server queued behind that request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_removes_the_option_file() {
    let db = TestDb::new("fb_signal").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let (dir, tmp, tools, record) = (out_dir(), out_dir(), out_dir(), out_dir());
    let path = recording_dump_tool(tools.path(), record.path());
    // Holds the dump tool (its FLUSH TABLES WITH READ LOCK, or its SELECT) while the signal
    // comes.
    let mut lock = db.conn().await;
    lock.query_drop("LOCK TABLES t WRITE").await.unwrap();
    let child = common::backup_command(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--engine",
            "mysqldump",
        ],
        dir.path(),
    )
    .env("TMPDIR", tmp.path())
    .env("PATH", &path)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let option_file = loop {
        let found = files_in(tmp.path())
            .into_iter()
            .map(|d| tmp.path().join(d).join("client.cnf"))
            .find(|f| f.exists());
        if let Some(f) = found {
            break f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no option file appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let pid_file = record.path().join("pid");
    while !pid_file.exists()
        || std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the dump tool never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let tool = std::path::PathBuf::from(format!(
        "/proc/{}",
        std::fs::read_to_string(&pid_file).unwrap().trim()
    ));
    // Signalled only once the tool waits for the lock: earlier, it would die of the closed pipe
    // on its first write anyway, and the test would prove nothing.
    let mut watcher = server().conn(None).await;
    loop {
        let waiting: u64 = watcher
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting%' \
                 AND (INFO LIKE 'FLUSH%' OR DB = ?)",
                (&db.name,),
            )
            .await
            .unwrap()
            .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dump tool never waited for the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let out = common::interrupt(child, "-TERM").await;
    // The lock is still held: the tool must go because it was told to, not because it got it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tool.exists()
        && !std::fs::read_to_string(tool.join("stat"))
            .unwrap_or_default()
            .contains(") Z ")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the dump tool ({}) still runs 30 s after the run was stopped",
            tool.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        !option_file.exists(),
        "{} left behind",
        option_file.display()
    );
    assert!(
        files_in(tmp.path()).is_empty(),
        "{:?}",
        files_in(tmp.path())
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// `--statement-size` bounds the dump tool's INSERTs too (its `--net-buffer-length`), and the
/// metadata records the longest statement written, so that a restore can compare it with the
/// server's max_allowed_packet before it changes anything (it recorded 0).
#[tokio::test]
async fn the_statement_size_reaches_the_dump_tool_and_the_metadata() {
    let db = TestDb::new("fb_stmt").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100));
         INSERT INTO t SELECT seq, REPEAT('v', 100) FROM seq_1_to_5000;",
    )
    .await;
    let (dir, shim, record) = (out_dir(), out_dir(), out_dir());
    let path = recording_dump_tool(shim.path(), record.path());
    let out = common::backup_command(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--engine",
            "mysqldump",
            "--statement-size",
            "64K",
        ],
        dir.path(),
    )
    .env("PATH", path)
    .output()
    .unwrap();
    assert_success(&out, "mysqldump engine with --statement-size 64K");
    let args = std::fs::read_to_string(record.path().join("args")).unwrap();
    let buffers: Vec<&str> = args
        .lines()
        .filter(|a| a.starts_with("--net-buffer-length="))
        .collect();
    assert_eq!(
        buffers.last(),
        Some(&"--net-buffer-length=65536"),
        "the last one wins: {buffers:?}"
    );
    let file = dump_file_in(dir.path());
    let sql = std::fs::read(&file).unwrap();
    let inserts: Vec<&[u8]> = sql
        .split(|b| *b == b'\n')
        .filter(|l| l.starts_with(b"INSERT INTO"))
        .collect();
    assert!(inserts.len() > 5, "5000 rows in 64K statements");
    let longest_insert = inserts.iter().map(|l| l.len() + 1).max().unwrap();
    assert!(longest_insert <= 65536, "{longest_insert}");
    let recorded = common::metadata_of(&file)["max_statement_bytes"]
        .as_u64()
        .unwrap() as usize;
    assert!(
        recorded >= longest_insert && recorded <= 65536 + 1024,
        "recorded {recorded}, longest INSERT {longest_insert}"
    );
}

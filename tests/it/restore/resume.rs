//! `db-restore --resume` after a failed statement, and what it refuses with nothing changed:
//! no stopped restore, another file, other options. (Kills at chosen points, a server restart
//! and the journal's removal are in the serial binary's `resume`, which has the server to
//! itself.)

use std::path::{Path, PathBuf};

use super::restore;
use crate::common::{self, TestDb, count_rows, database_exists, out_dir, output_text, server};
use mysql_async::prelude::*;

/// A plain SQL file (no metadata: the restore hashes it for the journal) that fails at its
/// third statement until `b` exists; `tag` makes its bytes this test's own.
fn failing_file(dir: &Path, tag: &str) -> PathBuf {
    let file = dir.join(format!("{tag}.sql"));
    std::fs::write(
        &file,
        format!(
            "-- {tag}\nCREATE TABLE a (id INT, s VARCHAR(10));\n\
             INSERT INTO a VALUES (1, 'x'), (2, 'y');\nINSERT INTO b VALUES (1);\n\
             INSERT INTO a VALUES (3, 'z');\n"
        ),
    )
    .unwrap();
    file
}

/// A restore that failed on a statement says how to go on; a new restore into its target is
/// refused, naming --resume; once the cause is fixed, --resume runs the rest only: the rows
/// that committed before are not loaded twice.
#[tokio::test]
async fn a_failed_restore_goes_on_with_resume_once_the_cause_is_fixed() {
    let dst = TestDb::new("rsr_fixed").await;
    let dir = out_dir();
    let file = failing_file(dir.path(), &dst.name);
    let f = file.to_str().unwrap();
    let args = ["--file", f, "--target-db", &dst.name, "-j", "2"];
    let out = restore("single", &args);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("with --resume") && text.contains("sfdbtools_journal"),
        "{text}"
    );

    // Not resumed: the target holds the stopped restore's table.
    let out = restore("single", &args);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("--resume"),
        "{}",
        output_text(&out)
    );

    dst.exec("CREATE TABLE b (id INT)").await;
    let out = restore("single", &[&args[..], &["--resume"]].concat());
    common::assert_success(&out, "db-restore --resume");
    assert_eq!(
        count_rows(&dst.name, "a").await,
        3,
        "rows loaded twice or lost"
    );
    assert_eq!(count_rows(&dst.name, "b").await, 1);
    // Done: nothing left to resume.
    let out = restore("single", &[&args[..], &["--resume"]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("no interrupted restore"),
        "{}",
        output_text(&out)
    );
}

/// Another file, or the same file with another table selection, does not resume a stopped
/// restore: refused naming what differs, and the stopped restore can still be resumed.
#[tokio::test]
async fn resume_refuses_another_file_or_other_options() {
    let dst = TestDb::new("rsr_other").await;
    let dir = out_dir();
    let file = failing_file(dir.path(), &dst.name);
    let f = file.to_str().unwrap();
    let out = restore("single", &["--file", f, "--target-db", &dst.name]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));

    let other_dir = out_dir();
    let other = failing_file(other_dir.path(), &format!("{}_other", dst.name));
    let out = restore(
        "single",
        &[
            "--file",
            other.to_str().unwrap(),
            "--target-db",
            &dst.name,
            "--resume",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("a different file cannot resume it")
            && text.contains(f)
            && text.contains(other.to_str().unwrap()),
        "{text}"
    );

    let out = restore(
        "single",
        &[
            "--file",
            f,
            "--target-db",
            &dst.name,
            "--resume",
            "--ignore-table",
            "*.b",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("asked for something else") && text.contains("--ignore-table *.b"),
        "{text}"
    );

    dst.exec("CREATE TABLE b (id INT)").await;
    let out = restore(
        "single",
        &["--file", f, "--target-db", &dst.name, "--resume"],
    );
    common::assert_success(&out, "db-restore --resume");
    assert_eq!(count_rows(&dst.name, "a").await, 3);
}

/// Nothing to resume: refused, and the target is not even created.
#[tokio::test]
async fn resume_without_a_stopped_restore_changes_nothing() {
    let dir = out_dir();
    let name = format!("t_rsr_none_{}", std::process::id());
    let file = failing_file(dir.path(), &name);
    let out = restore(
        "single",
        &[
            "--file",
            file.to_str().unwrap(),
            "--target-db",
            &name,
            "--resume",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("no interrupted restore of"),
        "{}",
        output_text(&out)
    );
    assert!(!database_exists(&name).await);
    // --resume needs the journal, and changes things: not with --no-journal or --dry-run.
    for flag in ["--no-journal", "--dry-run"] {
        let out = server()
            .sfdbtools()
            .args(["-q", "db-restore", "single", "--target-db", "x", "--file"])
            .arg(&file)
            .args(["--resume", flag, "-t", "T"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", output_text(&out));
        assert!(output_text(&out).contains("cannot be used with"), "{flag}");
    }
}

/// The definition in doubt (it ran, its journal row did not commit: a kill between the two)
/// is run again on resume, and "already exists" from it means it had run: said, and counted
/// as done. Made here by taking its journal row away.
#[tokio::test]
async fn the_definition_in_doubt_is_rechecked() {
    let dst = TestDb::new("rsr_doubt").await;
    let dir = out_dir();
    let file = failing_file(dir.path(), &dst.name);
    let f = file.to_str().unwrap();
    let args = ["--file", f, "--target-db", &dst.name];
    let out = restore("single", &args);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let mut c = server().conn(None).await;
    c.exec_drop(
        "DELETE FROM sfdbtools_journal.done WHERE main = 1 AND restore_id IN \
         (SELECT restore_id FROM sfdbtools_journal.targets WHERE name = ?)",
        (&dst.name,),
    )
    .await
    .unwrap();
    dst.exec("CREATE TABLE b (id INT)").await;
    let out = server()
        .sfdbtools()
        .args(["db-restore", "single", "--resume", "-t", "TEST"])
        .args(args)
        .args(server().connection_args())
        .output()
        .unwrap();
    common::assert_success(&out, "db-restore --resume");
    let text = output_text(&out);
    assert!(
        text.contains("had run before the restore stopped") && text.contains("ERROR 1050"),
        "{text}"
    );
    assert!(
        text.contains("1 statement(s) in doubt had run (re-checked)"),
        "{text}"
    );
    assert_eq!(count_rows(&dst.name, "a").await, 3);
}

/// `--continue-on-error`: a restore that went to the end with failed statements keeps its
/// journal, and a resume runs only those statements again.
#[tokio::test]
async fn statements_that_failed_under_continue_on_error_run_again_on_resume() {
    let dst = TestDb::new("rsr_gaps").await;
    let dir = out_dir();
    let file = failing_file(dir.path(), &dst.name);
    let f = file.to_str().unwrap();
    let args = ["--file", f, "--target-db", &dst.name, "--continue-on-error"];
    let out = restore("single", &args);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("restored with gaps") && output_text(&out).contains("--resume"),
        "{}",
        output_text(&out)
    );
    assert_eq!(count_rows(&dst.name, "a").await, 3);
    dst.exec("CREATE TABLE b (id INT)").await;
    let out = restore("single", &[&args[..], &["--resume"]].concat());
    common::assert_success(&out, "db-restore --resume");
    assert_eq!(count_rows(&dst.name, "a").await, 3, "rows loaded twice");
    assert_eq!(count_rows(&dst.name, "b").await, 1);
}

/// An account that may not write the journal restores all the same, warned that the restore
/// cannot be resumed.
#[tokio::test]
async fn without_rights_on_the_journal_the_restore_goes_on_unjournaled() {
    let src = TestDb::new("rsr_rights_src").await;
    src.exec("CREATE TABLE a (id INT PRIMARY KEY); INSERT INTO a VALUES (1), (2)")
        .await;
    let dir = out_dir();
    let file = common::dump_plain(&src.name, dir.path());
    let dst = TestDb::new("rsr_rights").await;
    let user = common::TestUser::new(
        "rsr_rights",
        "pw",
        &format!("ALL ON {}.*", common::quote(&dst.name)),
    )
    .await;
    let out = server()
        .sfdbtools()
        .env("MYSQL_PWD", &user.password)
        .args(["-q", "db-restore", "single", "--file"])
        .arg(&file)
        .args(["--target-db", &dst.name, "-t", "TEST"])
        .arg(format!("--host={}", server().host))
        .arg(format!("--port={}", server().port))
        .arg(format!("--user={}", user.name))
        .output()
        .unwrap();
    common::assert_success(&out, "restore without rights on the journal");
    assert!(
        output_text(&out).contains("this restore cannot be resumed if it stops"),
        "{}",
        output_text(&out)
    );
    common::assert_same(&src.name, &dst.name).await;
}

/// Two `--resume` of one stopped restore at once: one waits for the other, which finishes the
/// restore; the one that waited then finds it ended and says so (exit 2), changing nothing.
/// The test holds the restore's lock until both are waiting for it, so neither can be done
/// before the other has started.
#[tokio::test]
async fn a_resume_that_waited_for_another_finding_it_done_changes_nothing() {
    use std::io::BufRead;

    let dst = TestDb::new("rsr_twice").await;
    let dir = out_dir();
    let file = failing_file(dir.path(), &dst.name);
    let f = file.to_str().unwrap().to_owned();
    let args = ["--file", &f, "--target-db", &dst.name];
    let out = restore("single", &args);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let mut c = server().conn(None).await;
    let id: u64 = c
        .exec_first(
            "SELECT id FROM sfdbtools_journal.restores WHERE INSTR(CONVERT(files USING utf8mb4), ?) > 0",
            (&f,),
        )
        .await
        .unwrap()
        .expect("the stopped restore is in the journal");
    let held: Option<i64> = c
        .exec_first(
            "SELECT GET_LOCK(?, 10)",
            (format!("sfdbtools_journal.{id}"),),
        )
        .await
        .unwrap();
    assert_eq!(held, Some(1));
    dst.exec("CREATE TABLE b (id INT)").await;

    let start = || {
        let mut cmd = server().sfdbtools();
        cmd.args(["--log-format", "json", "db-restore", "single"])
            .args(args)
            .arg("--resume")
            .args(server().connection_args())
            .args(["-t", "TEST"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Its stderr, read on a thread: a line on `waiting` once it waits for the lock, and
        // all of it at the end.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                if line.contains("waiting up to") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        (child, rx, reader)
    };
    let runs = [start(), start()];
    for (_, waiting, _) in &runs {
        waiting
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a --resume never waited for the stopped restore's lock");
    }
    c.exec_drop(
        "SELECT RELEASE_LOCK(?)",
        (format!("sfdbtools_journal.{id}"),),
    )
    .await
    .unwrap();
    let mut codes = Vec::new();
    let mut texts = Vec::new();
    for (child, _, reader) in runs {
        let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap().status)
            .await
            .unwrap();
        codes.push(status.code());
        texts.push(reader.join().unwrap());
    }
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)], "{texts:#?}");
    assert!(
        texts.iter().any(|t| t.contains("was ended by another run")),
        "{texts:#?}"
    );
    assert!(!texts.iter().any(|t| t.contains("1146")), "{texts:#?}");
    assert_eq!(
        count_rows(&dst.name, "a").await,
        3,
        "rows loaded twice or lost"
    );
}

/// A restore is never registered in the journal without holding its lock: a restore that
/// finishes takes a registered one whose lock is free for one that stopped before it made a
/// database ready, discards it and, when nothing else is left, drops the journal's database
/// under it (the running one then failed at its next journal row: "Table
/// 'sfdbtools_journal.done' doesn't exist"). The probe waits for the registry lock as a
/// finishing restore does, and looks at this restore's row the moment it gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_restore_holds_its_lock_from_the_first_moment() {
    let dst = TestDb::new("rsr_reg").await;
    let dir = out_dir();
    let file = dir.path().join(format!("{}.sql", dst.name));
    std::fs::write(
        &file,
        format!(
            "-- {}\nCREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1), (2);\n",
            dst.name
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap().to_owned();
    let probe = format!(
        "DO GET_LOCK('sfdbtools_journal', 60); SELECT id, IS_USED_LOCK(CONCAT( \
         'sfdbtools_journal.', id)) IS NOT NULL FROM sfdbtools_journal.restores WHERE \
         INSTR(files, X'{}') > 0",
        hex::encode(&f)
    );
    let mut c = server().conn(None).await;
    let target = dst.name.clone();
    let run = tokio::task::spawn_blocking(move || {
        restore("single", &["--file", &f, "--target-db", &target, "-j", "2"])
    });
    let mut seen = None;
    while seen.is_none() && !run.is_finished() {
        let rows = async {
            let mut r = c.query_iter(probe.as_str()).await?;
            let mut rows: Vec<(u64, i64)> = Vec::new();
            while !r.is_empty() {
                rows.extend(r.collect::<(u64, i64)>().await?);
            }
            Ok::<_, mysql_async::Error>(rows)
        }
        .await;
        // The driver may hand the SELECT's error to the next query instead.
        let released = c.query_drop("DO RELEASE_LOCK('sfdbtools_journal')").await;
        match rows.and_then(|rows| released.map(|()| rows)) {
            Ok(rows) => seen = rows.first().copied(),
            // No journal yet (1049 database, 1146 table): a new connection, which the
            // server's named lock does not outlive.
            Err(mysql_async::Error::Server(e)) if [1049, 1146].contains(&e.code) => {
                c = server().conn(None).await;
            }
            Err(e) => panic!("probing the journal: {e}"),
        }
    }
    let out = run.await.unwrap();
    common::assert_success(&out, "db-restore");
    let (id, held) = seen.expect("the restore was never seen in the journal");
    assert_eq!(
        held, 1,
        "restore {id} was registered while its lock was free: a restore finishing then \
         would have discarded it"
    );
    assert_eq!(count_rows(&dst.name, "a").await, 2);
}

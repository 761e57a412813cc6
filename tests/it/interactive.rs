//! The questions of interactive runs, answered on a pseudo-terminal ([`common::Terminal`]):
//! the review of a backup writes the files it showed, and changes encryption and threads;
//! `filter`'s mode is asked until the answer is one of the two; a profile key or the key of an
//! encrypted file that does not open it is asked again (by the profile commands too); a
//! file's key is asked for when none is given, and without a terminal its lack is a usage
//! error before anything connects; a cancel exits 3.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Terminal, TestDb, assert_success, dump_file_in, files_in, is_dump_file, metadata_of, out_dir,
    server,
};

/// `sfdbtools db-backup <mode…>` of the test server into `dir`, uncompressed, with a ticket
/// and the password as a flag (nothing but the questions under test is asked).
fn backup_on_terminal(dir: &Path, mode: &[&str]) -> Command {
    let mut c = server().sfdbtools();
    c.arg("db-backup")
        .args(mode)
        .args(server().connection_args())
        .arg(format!(
            "--password={}",
            server().password.clone().unwrap_or_default()
        ))
        .args(["-t", "T-TTY", "-c", "none", "-o"])
        .arg(dir);
    c
}

async fn db_with_rows(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .await;
    db
}

/// The files the review lists under "files:", by name.
fn shown_files(screen: &str) -> Vec<String> {
    let review = &screen[screen.rfind("backup to run").expect("a review")..];
    let listed = &review[review.find("  files:").expect("the files") + "  files:".len()..];
    listed
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| l.starts_with('/'))
        .map(|l| {
            Path::new(l)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The review's file names carry the time of the review; the run must write those files, not
/// names of its own start (a second or more later when the operator takes time to answer).
#[tokio::test]
async fn the_review_shows_the_files_the_run_writes() {
    let db = db_with_rows("tty_names").await;
    let dir = out_dir();
    let mut t = Terminal::spawn(&backup_on_terminal(
        dir.path(),
        &["single", "--database", &db.name],
    ));
    let screen = t.wait_for("3) cancel");
    let shown = shown_files(&screen);
    assert_eq!(shown.len(), 2, "the dump and its accounts file: {screen}");
    // The operator reads the review: answer only once the clock has passed the second the
    // names carry, so that names taken at the start of the run would differ.
    let stamp = chrono::Local::now().format("%Y%m%d_%H%M%S").to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while chrono::Local::now().format("%Y%m%d_%H%M%S").to_string() == stamp {
        assert!(Instant::now() < deadline, "the clock does not move");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.type_line("1");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    let mut written: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| !f.ends_with(".meta.json"))
        .collect();
    let mut shown = shown;
    written.sort();
    shown.sort();
    assert_eq!(written, shown, "{screen}");
}

/// Encryption is switched on at the review (the key typed twice, without echo) and threads
/// changed; the file written is encrypted with that key and the metadata has the threads.
#[tokio::test]
async fn encryption_and_threads_change_at_the_review() {
    let db = db_with_rows("tty_enc").await;
    let dir = out_dir();
    let key = "typed at the review";
    let mut t = Terminal::spawn(&backup_on_terminal(
        dir.path(),
        &["single", "--database", &db.name, "-j", "2"],
    ));
    t.wait_for("3) cancel");
    // 8) encryption, 9) threads (after ticket, directory, compression, level, schema only,
    // file name, user grants).
    t.type_line("2");
    t.wait_for(" 8) encryption         no");
    t.type_line("8");
    t.wait_for("Backup encryption key: ");
    t.type_line(key);
    t.wait_for("Backup encryption key again: ");
    t.type_line(key);
    t.wait_for("  encryption     yes");
    t.type_line("2");
    t.wait_for(" 9) threads            2");
    t.type_line("9");
    t.wait_for("new threads: ");
    t.type_line("0");
    t.wait_for("not changed: threads is a whole number, at least 1");
    t.type_line("2");
    t.wait_for(" 9) threads            2");
    t.type_line("9");
    t.type_line("3");
    t.wait_for("  threads        3");
    t.type_line("1");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains(key), "the key was echoed: {screen}");
    let dump = dump_file_in(dir.path());
    assert!(dump.to_string_lossy().ends_with(".sql.enc"), "{dump:?}");
    let meta = metadata_of(&dump);
    assert_eq!(meta["encryption"]["enabled"], true);
    assert_eq!(meta["threads"], 3);
    let out = common::verify(&dump, &["-K", key]);
    assert_success(&out, "verify with the key typed at the review");
}

/// A database password mistyped at its prompt is typed again at the review ("password", the
/// last option) instead of starting the command over; the review says how when the server
/// denied the login.
#[tokio::test]
async fn a_mistyped_password_is_typed_again_at_the_review() {
    let db = db_with_rows("tty_pw").await;
    let user = format!("tty_pw_{}", std::process::id());
    db.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'right pw';
         GRANT ALL ON *.* TO '{user}'@'%'"
    ))
    .await;
    let dir = out_dir();
    let mut c = server().sfdbtools();
    c.env_remove("MYSQL_PWD")
        .args(["db-backup", "single", "--database", &db.name])
        .arg(format!("--host={}", server().host))
        .arg(format!("--port={}", server().port))
        .arg(format!("--user={user}"))
        .args(["-t", "T-PW", "-c", "none", "-o"])
        .arg(dir.path());
    let mut t = Terminal::spawn(&c);
    t.wait_for("Password for ");
    t.type_line("wrong pw");
    t.wait_for("cannot plan this run: ");
    t.wait_for("(2, then \"password\", types the password again)");
    t.wait_for("3) cancel");
    t.type_line("2");
    t.wait_for(" 11) password           (given)");
    t.type_line("11");
    t.wait_for("Password for ");
    t.type_line("right pw");
    t.wait_for("  files:");
    t.wait_for("3) cancel");
    t.type_line("1");
    let (code, screen) = t.finish();
    db.exec(&format!("DROP USER '{user}'@'%'")).await;
    assert_eq!(code, Some(0), "{screen}");
    for typed in ["wrong pw", "right pw"] {
        assert!(!screen.contains(typed), "{typed:?} was echoed: {screen}");
    }
    assert!(dump_file_in(dir.path()).exists(), "{screen}");
}

/// SIGTERM while a password prompt holds the terminal without echo (`timeout`, a service
/// manager): the terminal gets its echo back and the command ends as interrupted (exit 130,
/// its last log line). It used to die with the terminal left silent.
#[test]
fn sigterm_at_a_password_prompt_gives_the_terminal_back() {
    let dir = out_dir();
    let user = format!("sigterm_probe_{}", std::process::id());
    let mut backup = server().sfdbtools();
    backup
        .env_remove("MYSQL_PWD")
        .args(["db-backup", "single", "--database", "d"])
        .arg(format!("--host={}", server().host))
        .arg(format!("--port={}", server().port))
        .arg(format!("--user={user}"))
        .args(["-t", "T", "-o"])
        .arg(dir.path());
    let t = Terminal::spawn_with(&backup, "; echo \"rc=$?\"; stty -a");
    t.wait_for(&format!("Password for {user}@"));
    let pid = sfdbtools_running_with(&user);
    common::signal("-TERM", pid);
    let (_, screen) = t.finish();
    assert!(screen.contains("rc=130"), "{screen}");
    assert!(screen.contains("interrupted: SIGTERM"), "{screen}");
    let flags: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        flags.contains(&"echo") && !flags.contains(&"-echo"),
        "the terminal was left without echo: {screen}"
    );
}

/// With stderr redirected to a file, the questions and the review still show on the
/// terminal the answers come from (they went into the file, and the run seemed to hang).
#[tokio::test]
async fn with_stderr_redirected_the_review_shows_on_the_terminal() {
    let db = db_with_rows("tty_err").await;
    let dir = out_dir();
    let err = dir.path().join("err.log");
    let backup = backup_on_terminal(&dir.path().join("out"), &["single", "--database", &db.name]);
    let mut t = Terminal::spawn_with(&backup, &format!(" 2>'{}'; echo \"rc=$?\"", err.display()));
    t.wait_for("backup to run");
    t.wait_for("3) cancel");
    t.type_line("3");
    let (_, screen) = t.finish();
    assert!(screen.contains("rc=3"), "{screen}");
    let logged = std::fs::read_to_string(&err).unwrap();
    assert!(
        !logged.contains("backup to run"),
        "the review went to stderr: {logged}"
    );
    assert!(logged.contains("cancelled at the review"), "{logged}");
}

/// The pid of the `sfdbtools` process whose command line holds `marker` (not its shell's).
fn sfdbtools_running_with(marker: &str) -> u32 {
    let out = Command::new("pgrep").args(["-f", marker]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sfdbtools")
        })
        .unwrap_or_else(|| panic!("no sfdbtools process with {marker:?}"))
}

/// Cancelling at the review is the operator's answer, not an interruption: exit 3, its own
/// message, nothing written.
#[tokio::test]
async fn cancelling_at_the_review_exits_3_and_writes_nothing() {
    let db = db_with_rows("tty_cancel").await;
    let dir = out_dir();
    let mut t = Terminal::spawn(&backup_on_terminal(
        dir.path(),
        &["single", "--database", &db.name],
    ));
    t.wait_for("3) cancel");
    t.type_line("3");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(3), "{screen}");
    assert!(
        screen.contains("sfdbtools: the backup was cancelled at the review; nothing was written"),
        "{screen}"
    );
    assert!(!screen.contains("interrupted"), "{screen}");
    assert!(files_in(dir.path()).is_empty());
}

/// `filter` without `--mode` asks for it; an answer that is neither mode is refused and asked
/// again (it used to be taken as single-file).
#[tokio::test]
async fn filter_mode_is_asked_until_the_answer_is_a_mode() {
    let (a, b) = (
        db_with_rows("tty_mode_a").await,
        db_with_rows("tty_mode_b").await,
    );
    let dir = out_dir();
    let mut t = Terminal::spawn(&backup_on_terminal(
        dir.path(),
        &["filter", "--db", &a.name, "--db", &b.name],
    ));
    t.wait_for("mode: 1) single-file  2) multi-file [1]: ");
    t.type_line("multi");
    t.wait_for("\"multi\" is not a mode: answer 1 (single-file) or 2 (multi-file)");
    t.type_line("Multi-File");
    t.wait_for("3) cancel");
    t.type_line("1");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    let dumps: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| is_dump_file(f))
        .collect();
    assert_eq!(dumps.len(), 2, "one file per database: {dumps:?}");
}

/// Creates a profile of the test server at `path`, sealed with `key`.
fn create_profile(path: &Path, key: &str) {
    let port = server().port.to_string();
    let out = server()
        .sfdbtools()
        .args(["-q", "profile", "create", "-n"])
        .arg(path)
        .args(["--host", &server().host, "-P", &port, "-u", &server().user])
        .args(["-k", key])
        .env("MYSQL_PWD", server().password.clone().unwrap_or_default())
        .output()
        .unwrap();
    assert_success(&out, "profile create");
}

/// A password typed twice whose entries differ is typed again, not the end of `profile
/// create` (which lost the host and user answered before it); three mismatches end it.
#[test]
fn differing_entries_of_a_new_password_are_typed_again() {
    let work = out_dir();
    let profile = work.path().join("typed.cnf.enc");
    let port = server().port.to_string();
    let mut create = server().sfdbtools();
    create
        .env_remove("MYSQL_PWD")
        .args(["profile", "create", "-n"])
        .arg(&profile)
        .args(["--host", &server().host, "-P", &port, "-u", &server().user])
        .args(["-k", "profile key"]);
    let mut t = Terminal::spawn(&create);
    t.wait_for("Database password: ");
    t.type_line("first try");
    t.wait_for("Database password again: ");
    t.type_line("first trx");
    t.wait_for("the two entries of the database password differ; type it again");
    t.wait_for("Database password: ");
    t.type_line("second");
    t.wait_for("Database password again: ");
    t.type_line("second");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(profile.exists(), "{screen}");

    let mut t = Terminal::spawn(&create);
    for typed in ["a", "b", "c", "d", "e", "f"] {
        t.wait_for("Database password");
        t.type_line(typed);
    }
    let (code, screen) = t.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("differed 3 times"), "{screen}");
}

/// A profile key typed wrong (or empty) is said and asked again (three tries), instead of
/// ending the run; three wrong ones end it as a usage error.
#[tokio::test]
async fn a_wrong_profile_key_is_asked_again() {
    let db = db_with_rows("tty_pkey").await;
    let work = out_dir();
    let profile = work.path().join("p.cnf.enc");
    create_profile(&profile, "right key");
    let command = |dir: &Path| {
        let mut c = server().sfdbtools();
        c.env_remove("MYSQL_PWD")
            .args(["db-backup", "single", "--database", &db.name, "-p"])
            .arg(&profile)
            .args(["-t", "T", "-c", "none", "-o"])
            .arg(dir);
        c
    };
    let dir = out_dir();
    let mut t = Terminal::spawn(&command(dir.path()));
    t.wait_for(&format!("Profile key for {}: ", profile.display()));
    t.type_line("wrong key");
    t.wait_for("that key does not open profile");
    t.type_line("right key");
    t.wait_for("3) cancel");
    t.type_line("1");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("; try again"), "{screen}");
    assert_eq!(
        files_in(dir.path())
            .iter()
            .filter(|f| is_dump_file(f))
            .count(),
        1
    );

    let never = out_dir();
    let mut t = Terminal::spawn(&command(&never.path().join("x")));
    // An empty answer (Enter by mistake) is a try too, not the end.
    for typed in ["", "wrong key", "wrong key"] {
        t.type_line(typed);
    }
    let (code, screen) = t.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("the key is empty; try again"), "{screen}");
    assert!(screen.contains("3 keys did not open profile"), "{screen}");
    assert!(files_in(never.path()).is_empty());
}

/// The profile commands ask again too; declining a delete is a cancel (exit 3), not an error.
#[test]
fn profile_show_asks_the_key_again_and_a_declined_delete_is_a_cancel() {
    let work = out_dir();
    let profile = work.path().join("s.cnf.enc");
    create_profile(&profile, "show key");
    let mut show = server().sfdbtools();
    show.args(["profile", "show", "-n"]).arg(&profile);
    let mut t = Terminal::spawn(&show);
    t.wait_for(&format!("Profile key for {}: ", profile.display()));
    t.type_line("not it");
    t.wait_for("that key does not open profile");
    t.type_line("show key");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains(&server().host), "{screen}");

    let mut delete = server().sfdbtools();
    delete.args(["profile", "delete", "-n"]).arg(&profile);
    let mut t = Terminal::spawn(&delete);
    t.wait_for("(y/N)");
    t.type_line("n");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(3), "{screen}");
    assert!(screen.contains("was not deleted"), "{screen}");
    assert!(profile.exists());
}

/// An encrypted file given without a key: on a terminal its key is asked for (again when it
/// does not open the file); without one, a usage error that says how to give it, before any
/// connection is opened or any progress drawn.
#[tokio::test]
async fn an_encrypted_file_s_key_is_asked_for_or_named() {
    let db = db_with_rows("tty_fkey").await;
    let dir = out_dir();
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", &db.name])
        .args(server().connection_args())
        .args(["-t", "T", "-K", "the file key", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&out, "encrypted backup");
    let dump = dump_file_in(dir.path());

    let mut verify = server().sfdbtools();
    verify.arg("verify").arg("-f").arg(&dump);
    let mut t = Terminal::spawn(&verify);
    t.wait_for("Backup key: ");
    t.type_line("not the key");
    t.wait_for("that key does not open");
    t.type_line("the file key");
    let (code, screen) = t.finish();
    assert_eq!(code, Some(0), "{screen}");

    // No terminal: the restore stops before it connects (to a closed port here) and draws
    // nothing.
    let out = server()
        .sfdbtools()
        .args(["db-restore", "single", "--target-db", "never_made", "-f"])
        .arg(&dump)
        .args(["--host", "127.0.0.1", "--port", "1", "-t", "T"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is encrypted: pass its key with -K/--backup-key"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("rows") && !stderr.contains("connect"),
        "{stderr}"
    );
}

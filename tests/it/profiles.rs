//! Encrypted connection profiles through the binary: create, list, show, edit, delete, and
//! backups that take their connection from a profile named by bare name, relative and absolute
//! path; profiles sealed by an independent implementation (Python `cryptography`) at both
//! iteration counts; the `[ssh]` section.

use crate::common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TestDb, TestUser, assert_success, dump_file_in, out_dir, server, stderr, stdout};
use mysql_async::prelude::*;

const KEY: &str = "profile key ✓";

/// A scratch directory with a config file whose `config_dir.database_profile` is `profiles/`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let w = Workspace { dir: out_dir() };
        std::fs::write(
            w.config(),
            format!(
                "config_dir:\n  database_profile: {}\n",
                w.profiles().display()
            ),
        )
        .unwrap();
        w
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    fn profiles(&self) -> PathBuf {
        self.dir.path().join("profiles")
    }

    /// `sfdbtools <args>` run in the workspace, with its config, the key in the environment,
    /// no password in the environment, and HOME the workspace (no default SSH keys, whoever
    /// runs the tests).
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run sfdbtools")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = server().sfdbtools();
        c.current_dir(self.dir.path())
            .env("SFDB_APPS_CONFIG", self.config())
            .env("SFDB_SOURCE_PROFILE_KEY", KEY)
            .env("HOME", self.dir.path())
            .env_remove("MYSQL_PWD")
            .args(args);
        c
    }

    /// `-q db-backup single` of `db` into `out` with the connection from `-p profile` only.
    fn backup(&self, profile: &str, db: &str, out: &Path, extra: &[&str]) -> Output {
        self.command(&["-q", "db-backup", "single", "--database", db, "-p", profile])
            .args(["-c", "none", "-t", "TEST", "-o"])
            .arg(out)
            .args(extra)
            .output()
            .expect("run sfdbtools")
    }
}

/// The SQL of the one dump file in `dir`.
fn dump_sql(dir: &Path) -> String {
    let mut sql = String::new();
    sfdbtools::read::open(&dump_file_in(dir), None)
        .unwrap()
        .read_to_string(&mut sql)
        .unwrap();
    sql
}

async fn table_with_rows(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20)); INSERT INTO t VALUES (1, 'from-profile')")
        .await;
    db
}

/// A port nothing listens on: a backup that reaches the server cannot have used it.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn create_list_show_edit_back_up_and_delete() {
    let db = table_with_rows("prof_life").await;
    let user = TestUser::new("prof_life", "pw of profile", "ALL ON *.*").await;
    let w = Workspace::new();
    let (host, port) = (server().host.clone(), server().port.to_string());
    let wrong_port = closed_port().to_string();

    // -q names what is missing instead of prompting.
    let out = w.run(&[
        "-q", "profile", "create", "-n", "prod", "--host", &host, "-u", &user.name,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MYSQL_PWD"), "{}", stderr(&out));
    let out = w
        .command(&["-q", "profile", "create", "-n", "prod", "-u", &user.name])
        .env("MYSQL_PWD", &user.password)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--host"), "{}", stderr(&out));
    let out = w
        .command(&[
            "-q", "profile", "create", "-n", "prod", "--host", &host, "-u", &user.name,
        ])
        .env("MYSQL_PWD", &user.password)
        .env_remove("SFDB_SOURCE_PROFILE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SFDB_SOURCE_PROFILE_KEY"),
        "{}",
        stderr(&out)
    );
    assert!(!w.profiles().exists(), "a failed create writes nothing");

    // Created with the wrong port on purpose: edit must fix it.
    let out = w
        .command(&[
            "-q",
            "profile",
            "create",
            "-n",
            "prod",
            "--host",
            &host,
            "-P",
            &wrong_port,
        ])
        .args(["-u", &user.name])
        .env("MYSQL_PWD", &user.password)
        .output()
        .unwrap();
    assert_success(&out, "profile create");
    let file = w.profiles().join("prod.cnf.enc");
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(b"Salted__"));
    assert!(!String::from_utf8_lossy(&sealed).contains(&user.password));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dir_mode = std::fs::metadata(w.profiles())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);

    let out = w
        .command(&[
            "-q", "profile", "create", "-n", "prod", "--host", &host, "-u", "x",
        ])
        .env("MYSQL_PWD", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "create never overwrites");
    assert!(stderr(&out).contains("already exists"));
    assert_eq!(std::fs::read(&file).unwrap(), sealed);

    let out = w.run(&["profile", "list"]);
    assert_success(&out, "profile list");
    assert!(
        stdout(&out).contains(&format!("prod\t{}@{host}:{wrong_port}", user.name)),
        "{}",
        stdout(&out)
    );

    let out = w.run(&["profile", "show", "-n", "prod"]);
    assert_success(&out, "profile show");
    let shown = stdout(&out);
    assert!(
        shown.contains(&user.name) && shown.contains(&wrong_port),
        "{shown}"
    );
    assert!(!shown.contains(&user.password), "redacted: {shown}");
    let out = w.run(&["profile", "show", "-n", "prod", "--reveal-password"]);
    assert!(stdout(&out).contains(&format!("password: {}", user.password)));

    let out = w
        .command(&["profile", "show", "-n", "prod"])
        .env("SFDB_SOURCE_PROFILE_KEY", "not the key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("prod.cnf.enc") && stderr(&out).contains("wrong key"));

    // The profile's port is closed: the backup fails; --port overrides the profile's field.
    let out_a = out_dir();
    let out = w.backup("prod", &db.name, out_a.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&wrong_port), "{}", stderr(&out));
    let out = w.backup("prod", &db.name, out_a.path(), &["--port", &port]);
    assert_success(&out, "backup with -p and --port");
    assert!(dump_sql(out_a.path()).contains("from-profile"));

    // edit changes the given field only, and keeps the file private.
    let out = w.run(&["-q", "profile", "edit", "-n", "prod", "-P", &port]);
    assert_success(&out, "profile edit");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let shown = stdout(&w.run(&["profile", "show", "-n", "prod", "--reveal-password"]));
    assert!(shown.contains(&format!("port:     {port}")), "{shown}");
    assert!(
        shown.contains(&user.password) && shown.contains(&user.name),
        "{shown}"
    );
    let out = w.run(&["-q", "profile", "edit", "-n", "prod"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "edit without a field is a usage error"
    );

    // Bare name, bare name with extension, relative path (from the workspace), absolute path,
    // and the SFDB_SOURCE_PROFILE variable.
    for (i, profile) in [
        "prod".to_owned(),
        "prod.cnf.enc".to_owned(),
        "profiles/prod.cnf.enc".to_owned(),
        file.display().to_string(),
    ]
    .iter()
    .enumerate()
    {
        let out_dir = out_dir();
        let out = w.backup(profile, &db.name, out_dir.path(), &[]);
        assert_success(&out, &format!("backup {i} with -p {profile}"));
        assert!(dump_sql(out_dir.path()).contains("from-profile"));
    }
    let out_env = out_dir();
    let out = w
        .command(&["-q", "db-backup", "single", "--database", &db.name])
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(out_env.path())
        .env("SFDB_SOURCE_PROFILE", "prod")
        .output()
        .unwrap();
    assert_success(&out, "backup with SFDB_SOURCE_PROFILE");

    // A profile is asked for and the key is missing: an error naming the key, no prompt.
    let out = w
        .command(&[
            "-q",
            "db-backup",
            "single",
            "--database",
            &db.name,
            "-p",
            "prod",
            "-t",
            "T",
        ])
        .env_remove("SFDB_SOURCE_PROFILE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("profile key"), "{}", stderr(&out));

    // delete: refused without confirmation when not interactive, done with -q.
    let out = w.run(&["profile", "delete", "-n", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(file.exists());
    let out = w.run(&["-q", "profile", "delete", "-n", "prod"]);
    assert_success(&out, "profile delete");
    assert!(!file.exists());
    let out = w.run(&["-q", "profile", "delete", "-n", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    let out = w.backup("prod", &db.name, out_dir().path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

/// A missing `cryptography` package must fail the run, not skip it.
fn python_seal(plain: &str, iterations: u32, out: &Path) {
    let script = common::root().join("tests/interop/sfdb_container.py");
    let input = out.with_extension("plain");
    std::fs::write(&input, plain).unwrap();
    let result = Command::new("python3")
        .arg(script)
        .args(["encrypt", "--format", "oneshot", "--iterations"])
        .arg(iterations.to_string())
        .arg(&input)
        .arg(out)
        .env("SFDB_PASSPHRASE", KEY)
        .output()
        .expect("python3 must be installed (scripts/test.sh installs it)");
    assert!(
        result.status.success(),
        "sealing with Python failed (pip install cryptography; scripts/test.sh does): {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::remove_file(input).unwrap();
}

#[tokio::test]
async fn profiles_sealed_by_python_open_at_both_iteration_counts() {
    let db = table_with_rows("prof_py").await;
    let user = TestUser::new("prof_py", "py;pw=#1", "ALL ON *.*").await;
    let w = Workspace::new();
    std::fs::create_dir(w.profiles()).unwrap();
    // The old tool's layout: comments, mixed case, CRLF, spaces around `=`.
    let ini = format!(
        "; sfDBTools profile\r\n[CLIENT]\r\nHost = {}\r\nPort={}\r\nuser={}\r\npassword={}\r\n",
        server().host,
        server().port,
        user.name,
        user.password
    );
    for iterations in [600_000, 100_000] {
        let name = format!("py{iterations}");
        let file = w.profiles().join(format!("{name}.cnf.enc"));
        python_seal(&ini, iterations, &file);
        let shown = stdout(&w.run(&["profile", "show", "-n", &name, "--reveal-password"]));
        assert!(
            shown.contains(&format!("password: {}", user.password)),
            "{shown}"
        );
        let out = out_dir();
        let result = w.backup(&name, &db.name, out.path(), &[]);
        assert_success(
            &result,
            &format!("backup with the {iterations}-iteration profile"),
        );
        assert!(dump_sql(out.path()).contains("from-profile"));
    }
}

#[tokio::test]
async fn an_ssh_section_is_read_and_an_enabled_tunnel_without_a_login_refused() {
    let db = table_with_rows("prof_ssh").await;
    let w = Workspace::new();
    std::fs::create_dir(w.profiles()).unwrap();
    let client = format!(
        "[client]\nhost={}\nport={}\nuser={}\npassword={}\n",
        server().host,
        server().port,
        server().user,
        server().password.clone().unwrap_or_default()
    );
    let tunnel = w.profiles().join("tunnel.cnf.enc");
    python_seal(
        &format!("{client}[ssh]\nenabled=true\nhost=jump.example\nuser=ops\nport=2222\n"),
        600_000,
        &tunnel,
    );
    let out_a = out_dir();
    let out = w.backup("tunnel", &db.name, out_a.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    // The tunnel is used now (tests/it/ssh.rs); this one has no way to log in.
    assert!(
        err.contains("has neither identity_file nor ssh_password"),
        "{err}"
    );
    assert!(err.contains(&tunnel.display().to_string()), "{err}");
    assert!(common::files_in(out_a.path()).is_empty());
    let shown = stdout(&w.run(&["profile", "show", "-n", "tunnel"]));
    assert!(
        shown.contains("enabled (every connection goes through it)")
            && shown.contains("ops@jump.example:2222"),
        "{shown}"
    );

    // enabled=false: the section is noted and the backup connects directly.
    python_seal(
        &format!("{client}[ssh]\nenabled=false\nhost=jump.example\n"),
        600_000,
        &w.profiles().join("off.cnf.enc"),
    );
    let out_b = out_dir();
    let out = w
        .command(&["db-backup", "single", "--database", &db.name, "-p", "off"])
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(out_b.path())
        .output()
        .unwrap();
    assert_success(&out, "backup with a disabled [ssh] section");
    assert!(stderr(&out).contains("enabled=false"), "{}", stderr(&out));
    assert!(dump_sql(out_b.path()).contains("from-profile"));
}

/// Interactively, with no profile and no connection flags, the saved profiles are offered by
/// name and the chosen one connects; answering 0 keeps the flag defaults.
#[tokio::test]
async fn interactively_a_profile_is_chosen_from_the_profile_directory() {
    let db = TestDb::new("prof_pick").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (42)")
        .await;
    let user = TestUser::new("prof_pick", "pick pw", &format!("ALL ON `{}`.*", db.name)).await;
    let w = Workspace::new();
    let (port, closed) = (server().port.to_string(), closed_port().to_string());
    for name in ["alpha", "beta"] {
        // alpha points at a closed port: choosing it would fail.
        let p = if name == "alpha" { &closed } else { &port };
        let out = w
            .command(&[
                "-q",
                "profile",
                "create",
                "-n",
                name,
                "--host",
                &server().host,
                "-P",
                p,
                "-u",
                &user.name,
            ])
            .env("MYSQL_PWD", &user.password)
            .output()
            .unwrap();
        assert_success(&out, "profile create");
    }
    let out_dir = out_dir();
    let sfdbtools = env!("CARGO_BIN_EXE_sfdbtools");
    let command = format!(
        "'{sfdbtools}' db-backup single --database '{}' -t T -c none -o '{}'",
        db.name,
        out_dir.path().display()
    );
    // Pick "beta" by name, then start at the review.
    let mut child = Command::new("script")
        .current_dir(w.dir.path())
        .env("SFDB_APPS_CONFIG", w.config())
        .env("SFDB_SOURCE_PROFILE_KEY", KEY)
        .env_remove("MYSQL_PWD")
        .env_remove("SFDB_SOURCE_PROFILE")
        .env_remove("SFDB_BACKUP_ENCRYPTION_KEY")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"beta\n1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("1) alpha") && screen.contains("2) beta"),
        "{screen}"
    );
    assert!(dump_sql(out_dir.path()).contains("(42)"), "{screen}");
}

/// `db-restore` and `verify --against` connect to a target: they take their profile from
/// `SFDB_TARGET_PROFILE` and its key from `SFDB_TARGET_PROFILE_KEY`, not from the source's
/// variables; a backup reads the source's and ignores the target's.
#[tokio::test]
async fn restore_and_verify_take_the_target_profile_backup_the_source_one() {
    let src = table_with_rows("prof_target_src").await;
    let user = TestUser::new("prof_target", "pw of target", "ALL ON *.*").await;
    let w = Workspace::new();
    let port = server().port.to_string();
    let out = w
        .command(&[
            "-q",
            "profile",
            "create",
            "-n",
            "tgt",
            "--host",
            &server().host,
        ])
        .args(["-P", &port, "-u", &user.name])
        .env("MYSQL_PWD", &user.password)
        .output()
        .unwrap();
    assert_success(&out, "profile create");

    // The backup: connection flags and MYSQL_PWD; a target profile that does not exist must
    // not matter to it.
    let dumps = out_dir();
    let mut backup = w.command(&["-q", "db-backup", "single", "--database", &src.name]);
    backup
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(dumps.path())
        .args(server().connection_args())
        .env("SFDB_TARGET_PROFILE", "no-such-target")
        .env("SFDB_TARGET_PROFILE_KEY", "not the key");
    if let Some(p) = &server().password {
        backup.env("MYSQL_PWD", p);
    }
    let out = backup.output().unwrap();
    assert_success(&out, "backup beside a target profile");
    let dump = dump_file_in(dumps.path());

    // The restore: no connection flag, only the target variables (the default 127.0.0.1:3306
    // as root would not reach the test server); the source ones name nothing usable.
    let target = TestDb::new("prof_target_dst").await;
    let restore = |args: &[&str]| {
        w.command(args)
            .env("SFDB_TARGET_PROFILE", "tgt")
            .env("SFDB_TARGET_PROFILE_KEY", KEY)
            .env("SFDB_SOURCE_PROFILE", "no-such-source")
            .env("SFDB_SOURCE_PROFILE_KEY", "not the key")
            .output()
            .unwrap()
    };
    let file = dump.to_str().unwrap();
    let out = restore(&[
        "-q",
        "db-restore",
        "single",
        "--file",
        file,
        "--target-db",
        &target.name,
        "-t",
        "TEST",
    ]);
    assert_success(&out, "restore with SFDB_TARGET_PROFILE");
    let mut c = target.conn().await;
    let s: Option<String> = c.query_first("SELECT s FROM t").await.unwrap();
    assert_eq!(s.as_deref(), Some("from-profile"));

    let out = restore(&["-q", "verify", "--file", file, "--against", &target.name]);
    assert_success(&out, "verify --against with SFDB_TARGET_PROFILE");

    // The target key is the one asked for when it is missing.
    let out = w
        .command(&["-q", "db-restore", "single", "--file", file])
        .args(["--target-db", &target.name, "-t", "TEST", "--drop-target"])
        .env("SFDB_TARGET_PROFILE", "tgt")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SFDB_TARGET_PROFILE_KEY"),
        "{}",
        stderr(&out)
    );
}

/// The profile commands serve either end, as the old tool's did: `show` and `edit` work on the
/// profile `SFDB_SOURCE_PROFILE` or `SFDB_TARGET_PROFILE` names when `-n` is not given, with
/// whichever of `SFDB_TARGET_PROFILE_KEY` and `SFDB_SOURCE_PROFILE_KEY` opens it; `delete`
/// deletes only what `-n` names.
#[test]
fn profile_commands_take_either_end_s_variables() {
    let w = Workspace::new();
    let both_keys = |c: &mut Command| {
        c.env("SFDB_SOURCE_PROFILE_KEY", KEY)
            .env("SFDB_TARGET_PROFILE_KEY", "target key");
    };
    let out = w
        .command(&[
            "-q",
            "profile",
            "create",
            "-n",
            "tgt",
            "--host",
            "target.db",
            "-u",
            "u",
        ])
        .env("MYSQL_PWD", "pw")
        .env_remove("SFDB_SOURCE_PROFILE_KEY")
        .env("SFDB_TARGET_PROFILE_KEY", "target key")
        .output()
        .unwrap();
    assert_success(&out, "create with the target key");
    let out = w
        .command(&[
            "-q",
            "profile",
            "create",
            "-n",
            "src",
            "--host",
            "source.db",
            "-u",
            "u",
        ])
        .env("MYSQL_PWD", "pw")
        .output()
        .unwrap();
    assert_success(&out, "create with the source key");

    // Each end's profile by its variable, both keys set: each opens with its own.
    for (var, profile, host) in [
        ("SFDB_TARGET_PROFILE", "tgt", "target.db"),
        ("SFDB_SOURCE_PROFILE", "src", "source.db"),
    ] {
        let mut c = w.command(&["-q", "profile", "show"]);
        both_keys(&mut c);
        let out = c.env(var, profile).output().unwrap();
        assert_success(&out, &format!("show by {var}"));
        assert!(stdout(&out).contains(host), "{}", stdout(&out));
    }
    // `edit` by the variable, sealed again with the key that opened it.
    let mut c = w.command(&["-q", "profile", "edit", "-P", "3307"]);
    both_keys(&mut c);
    let out = c.env("SFDB_TARGET_PROFILE", "tgt").output().unwrap();
    assert_success(&out, "edit by SFDB_TARGET_PROFILE");
    let out = w
        .command(&["-q", "profile", "show", "-n", "tgt"])
        .env_remove("SFDB_SOURCE_PROFILE_KEY")
        .env("SFDB_TARGET_PROFILE_KEY", "target key")
        .output()
        .unwrap();
    assert_success(&out, "show the edited profile with the target key alone");
    assert!(stdout(&out).contains("3307"), "{}", stdout(&out));

    // Two profiles named: either could be meant.
    let out = w
        .command(&["-q", "profile", "show"])
        .env("SFDB_SOURCE_PROFILE", "src")
        .env("SFDB_TARGET_PROFILE", "tgt")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("-n/--name"), "{}", stderr(&out));

    // `delete` does not take a variable's profile.
    let out = w
        .command(&["-q", "profile", "delete"])
        .env("SFDB_SOURCE_PROFILE", "src")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(w.profiles().join("src.cnf.enc").exists());
}

//! SSH tunnels through the binary (issue #18): a tunnel lost mid-dump and mid-restore, password
//! auth from a profile's `[ssh]` section, VERIFY_IDENTITY through a tunnel, the PREFERRED
//! warning for a server across the network (and the auth guard on the way), and the `[ssh]`
//! section that `profile create`/`edit` write. The helpers are the parent module's.

use super::*;

/// An sshd the binary tunnels through: the shared one, or one of a test's own.
struct Jump {
    port: u16,
    /// Holds `user_key` and `known_hosts`.
    dir: PathBuf,
}

impl Jump {
    fn shared() -> Jump {
        Jump {
            port: sshd().port,
            dir: sshd().dir.clone(),
        }
    }

    /// A second sshd in `dir`, so that stopping it disturbs no other test. Key auth only: the
    /// password account is the machine's, and a start would change the shared sshd's password.
    fn start(dir: &Path) -> Jump {
        let out = std::process::Command::new(common::root().join("scripts/sshd.sh"))
            .arg("start")
            .arg(dir)
            .arg("--watch")
            .arg(std::process::id().to_string())
            .arg("--no-password")
            .output()
            .unwrap();
        assert_success(&out, "a second sshd");
        let port = std::fs::read_to_string(dir.join("port")).unwrap();
        Jump {
            port: port.trim().parse().unwrap(),
            dir: dir.to_owned(),
        }
    }

    /// Stops this sshd and ends the connections it serves (the tunnel's, among them).
    fn stop(&self) {
        let out = std::process::Command::new(common::root().join("scripts/sshd.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output()
            .unwrap();
        assert_success(&out, "stopping the sshd");
    }

    /// "127.0.0.1:port", as messages name the SSH host.
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A fresh `HOME` whose `~/.ssh/known_hosts` knows this sshd's host key.
    fn home(&self) -> tempfile::TempDir {
        let home = out_dir();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        std::fs::copy(
            self.dir.join("known_hosts"),
            home.path().join(".ssh/known_hosts"),
        )
        .unwrap();
        home
    }

    /// `sfdbtools <args>` as `db`'s account, through this sshd with `--ssh-*` flags and key
    /// auth, to the database at `db_host:db_port` as the SSH host reaches it.
    fn command(
        &self,
        home: &Path,
        db: &common::Server,
        (db_host, db_port): (&str, u16),
        args: &[&str],
    ) -> std::process::Command {
        let mut c = db.sfdbtools();
        c.env("HOME", home)
            .args(args)
            .arg(format!("--host={db_host}"))
            .arg(format!("--port={db_port}"))
            .arg(format!("--user={}", db.user))
            .arg("--ssh-host=127.0.0.1")
            .arg(format!("--ssh-port={}", self.port))
            .arg(format!("--ssh-user={}", sshd().user))
            .arg(format!(
                "--ssh-identity={}",
                self.dir.join("user_key").display()
            ));
        c
    }

    /// Whether this sshd logged a `direct-tcpip` request to `host:port`: proof that a
    /// connection went through it.
    fn forwarded_to(&self, host: &str, port: u16) -> bool {
        let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap();
        log.contains(&format!("target {host} port {port}"))
    }
}

/// Runs `c` to its end, at most `limit`: a run still going then is killed (by its id) and
/// fails the test, since a lost tunnel must fail the run, not hang it.
async fn output_within(mut c: std::process::Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sfdbtools");
    let pid = child.id().to_string();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    match tokio::time::timeout(limit, waiting).await {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            panic!("sfdbtools still ran {limit:?} after its tunnel went away");
        }
    }
}

/// Waits (60 s at most) until a statement of `run` containing `needle` waits for a metadata
/// lock (a table's, or its database's) or for the backup lock; returns the statement. The
/// backup lock: another test's dump on the shared server holds `BACKUP STAGE BLOCK_DDL` for
/// its whole run, and a DDL statement then waits for it before it reaches the table lock this
/// test holds; either way the run is connected and waiting on the server, which is all the
/// test needs before it stops the sshd.
async fn wait_for_lock_wait(
    needle: &str,
    run: &mut tokio::task::JoinHandle<std::process::Output>,
) -> String {
    use mysql_async::prelude::*;
    let mut conn = server().conn(None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let info: Option<String> = conn
            .exec_first(
                "SELECT INFO FROM information_schema.PROCESSLIST \
                 WHERE (STATE LIKE 'Waiting for % metadata lock' \
                        OR STATE = 'Waiting for backup lock') \
                   AND INSTR(INFO, ?) > 0 LIMIT 1",
                (needle,),
            )
            .await
            .unwrap();
        if let Some(info) = info {
            return info;
        }
        if run.is_finished() {
            let out = run.await.unwrap();
            panic!(
                "the run ended before it waited on {needle} ({}):\n{}",
                out.status,
                common::output_text(&out)
            );
        }
        if std::time::Instant::now() > deadline {
            let all: Vec<(Option<String>, Option<String>)> = conn
                .query("SELECT STATE, INFO FROM information_schema.PROCESSLIST")
                .await
                .unwrap();
            panic!("no statement on {needle} waited for its lock within 60 s: {all:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a failed run that says its connection was lost and names the SSH host.
fn assert_lost_through(out: &std::process::Output, jump: &Jump) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("connection lost"), "{err}");
    assert!(
        err.contains(&format!("SSH tunnel via {}@{}", sshd().user, jump.addr())),
        "the message must name the SSH host:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The sshd stopped while the dump waits to read a table: the run fails as a lost connection,
/// naming the tunnel, and leaves no file, final or temporary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sshd_stopped_mid_dump_fails_the_run_and_leaves_nothing() {
    use mysql_async::prelude::*;

    let db = TestDb::new("ssh_lost").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40));
         INSERT INTO t SELECT seq, 'lost-tunnel' FROM seq_1_to_1000;",
    )
    .await;
    let sshd_dir = out_dir();
    let jump = Jump::start(&sshd_dir.path().join("sshd"));
    let home = jump.home();
    // The dump's read of `t` waits behind this lock: the run is connected, its catalog read,
    // its output open, and no row of `t` read yet. `--consistency none`: the snapshot's FLUSH
    // TABLES WITH READ LOCK would wait behind it too, before anything is under way.
    let mut holder = db.conn().await;
    holder.query_drop("LOCK TABLES t WRITE").await.unwrap();
    let out_a = out_dir();
    let mut c = jump.command(
        home.path(),
        server(),
        (&server().host, server().port),
        &["-q", "db-backup", "single", "--database", &db.name],
    );
    c.args(["-c", "zstd", "-j", "1", "--consistency", "none"])
        .args(["-t", "TEST", "-o"])
        .arg(out_a.path());
    let mut run = tokio::spawn(output_within(c, Duration::from_secs(120)));
    let waiting = wait_for_lock_wait(&format!("`{}`.`t`", db.name), &mut run).await;
    jump.stop();
    holder.query_drop("UNLOCK TABLES").await.unwrap();
    let out = run.await.unwrap();
    assert_lost_through(&out, &jump);
    let left = common::files_in(out_a.path());
    assert!(
        left.is_empty(),
        "files left behind: {left:?} (the dump waited in {waiting})"
    );
}

/// The sshd stopped while the restore waits to drop the target's table: the run fails as a
/// lost connection, naming the tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sshd_stopped_mid_restore_fails_the_run() {
    use mysql_async::prelude::*;

    let src = TestDb::new("ssh_lost_src").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .await;
    let dumped = out_dir();
    let file = common::dump_plain(&src.name, dumped.path());
    let target = TestDb::new("ssh_lost_to").await;
    target.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let sshd_dir = out_dir();
    let jump = Jump::start(&sshd_dir.path().join("sshd"));
    let home = jump.home();
    // --drop-target's DROP DATABASE waits behind this transaction's metadata lock on the
    // target's table. Not LOCK TABLES ... WRITE: that also holds off every other test's
    // BACKUP STAGE START on this shared server, and the queued backup stage in turn holds off
    // the restore's first DDL (its journal's CREATE DATABASE), so neither side moved for a
    // minute.
    let mut holder = target.conn().await;
    holder
        .query_drop("START TRANSACTION; SELECT COUNT(*) FROM t")
        .await
        .unwrap();
    let mut c = jump.command(
        home.path(),
        server(),
        (&server().host, server().port),
        &[
            "-q",
            "db-restore",
            "single",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    c.args(["--target-db", &target.name, "--drop-target", "-t", "TEST"]);
    let mut run = tokio::spawn(output_within(c, Duration::from_secs(120)));
    wait_for_lock_wait(&common::quote(&target.name), &mut run).await;
    jump.stop();
    holder.query_drop("ROLLBACK").await.unwrap();
    let out = run.await.unwrap();
    assert_lost_through(&out, &jump);
}

/// A profile's `[ssh]` section with `ssh_password`: the binary opens the tunnel with password
/// auth; a wrong password fails before anything is written, naming the SSH host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_s_ssh_password_tunnels_a_backup_and_a_wrong_one_is_refused() {
    use sfdbtools::config::profile::{self, Profile, SshTunnel};
    use sfdbtools::encrypt::Passphrase;

    let Some(pw_user) = password_user() else {
        return;
    };
    let password = std::fs::read_to_string(sshd().dir.join("ssh_password")).unwrap();
    let db = TestDb::new("ssh_profile_pw").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'password-profile')")
        .await;
    let jump = Jump::shared();
    let home = jump.home();
    // 2130706433 is 127.0.0.1 in inet_aton's one-number form, which only this test asks the
    // SSH host for: its log proves the tunnel.
    let db_host = "2130706433";
    let backup = |ssh_password: &str, out: &Path| {
        let mut p = Profile::new(
            db_host.into(),
            server().port,
            server().user.clone(),
            Secret::new(server().password.clone().unwrap_or_default()),
        );
        p.ssh = Some(SshTunnel {
            enabled: true,
            host: Some("127.0.0.1".into()),
            port: jump.port,
            user: Some(pw_user.clone()),
            password: Some(Secret::new(ssh_password)),
            identity_file: None,
            local_port: None,
        });
        let path = home.path().join("jump-pw.cnf.enc");
        let key = "profile key";
        profile::save(&path, &Passphrase::new(Secret::new(key)), &p, true).unwrap();
        server()
            .sfdbtools()
            .env("HOME", home.path())
            .env("SFDB_SOURCE_PROFILE_KEY", key)
            .env_remove("MYSQL_PWD")
            .args(["-q", "db-backup", "single", "--database", &db.name, "-p"])
            .arg(&path)
            .args(["-c", "none", "-t", "TEST", "-o"])
            .arg(out)
            .output()
            .unwrap()
    };

    let out_a = out_dir();
    let out = backup(password.trim(), out_a.path());
    assert_success(&out, "backup with a profile's ssh_password");
    assert!(dump_sql(out_a.path()).contains("password-profile"));
    assert!(
        jump.forwarded_to(db_host, server().port),
        "no forwarding to {db_host} in the sshd log"
    );

    let out_b = out_dir();
    let wrong = "not-the-ssh-password";
    let out = backup(wrong, out_b.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} refused password authentication for user {pw_user}",
            jump.addr()
        )),
        "{err}"
    );
    assert!(
        !err.contains(wrong),
        "the password must not be shown: {err}"
    );
    let left = common::files_in(out_b.path());
    assert!(left.is_empty(), "files written: {left:?}");
}

/// VERIFY_IDENTITY through a tunnel checks the certificate against the database's host as the
/// SSH host reaches it: `localhost` (in the certificate) passes; 127.0.0.2 (a relay to the same
/// server, not in the certificate) fails as a name mismatch, although the tunnel's local end,
/// 127.0.0.1, is in the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_identity_through_a_tunnel_checks_the_database_s_name() {
    let t = common::tls_server();
    let db = crate::tls::tls_db("ssh").await;
    let jump = Jump::shared();
    let home = jump.home();
    let ca = format!("--ssl-ca={}", t.cert("ca.pem").display());
    let backup = |to: (&str, u16), out: &Path| {
        let mut c = jump.command(
            home.path(),
            &t.server,
            to,
            &["-q", "db-backup", "single", "--database", &db],
        );
        c.args(["--ssl-mode", "VERIFY_IDENTITY", &ca])
            .args(["-c", "none", "-t", "TEST", "-o"])
            .arg(out);
        c.output().unwrap()
    };

    let out_a = out_dir();
    let out = backup(("localhost", t.server.port), out_a.path());
    assert_success(&out, "VERIFY_IDENTITY through a tunnel to localhost");
    assert!(dump_sql(out_a.path()).contains("tls-marker-row"));
    assert!(jump.forwarded_to("localhost", t.server.port));

    let relay = crate::tls::relay_to(std::net::Ipv4Addr::new(127, 0, 0, 2), t.server.port);
    let out_b = out_dir();
    let out = backup(("127.0.0.2", relay.port()), out_b.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not name the host connected to"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.2:{}", relay.port())),
        "{err}"
    );
    assert!(jump.forwarded_to("127.0.0.2", relay.port()));
    assert!(common::files_in(out_b.path()).is_empty());
    crate::tls::drop_db(&db).await;
}

/// PREFERRED to a server that offers no TLS warns once when the server is on the network, and
/// not when it is this machine or the user chose plaintext. Through the tunnel, the database's
/// address as the SSH host reaches it decides; `0x7f.1` (127.0.0.1 in an inet_aton form) is not
/// recognised as loopback here, so it stands for a server across the network: the plaintext
/// connections then also go through the guard of `connect::auth`, which lets this MariaDB's
/// ordinary login through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_warns_once_about_plaintext_to_a_server_on_the_network() {
    const WARNING: &str = "offers no TLS: under --ssl-mode PREFERRED";
    let db = TestDb::new("ssh_plain_warn").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .await;
    let home = out_dir();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::copy(known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    let backup = |db_host: &str, extra: &[&str]| {
        let out_dir = out_dir();
        let mut c = with_ssh_flags(
            home.path(),
            db_host,
            &["db-backup", "single", "--database", &db.name],
        );
        c.args(["-c", "none", "-t", "TEST"])
            .args(extra)
            .arg("-o")
            .arg(out_dir.path());
        let out = c.output().expect("run sfdbtools");
        assert_success(&out, &format!("backup to {db_host} {extra:?}"));
        let sql = dump_sql(out_dir.path());
        // Ours writes (1),(2); mariadb-dump puts each row on a line of its own.
        assert!(sql.contains("(1),") && sql.contains("(2);"), "{sql}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = backup("0x7f.1", &[]);
    assert_eq!(err.matches(WARNING).count(), 1, "{err}");
    assert!(
        err.contains("0x7f.1"),
        "the warning names the server: {err}"
    );
    let err = backup("0x7f.1", &["--ssl-mode", "DISABLED"]);
    assert!(!err.contains(WARNING), "{err}");
    let err = backup("127.0.0.1", &[]);
    assert!(!err.contains(WARNING), "{err}");
    // The mysqldump engine's one connection goes through the guard too, and works.
    backup("0x7f.1", &["--engine", "mysqldump"]);
}

/// `profile create` writes an `[ssh]` section from its `--ssh-*` flags, a backup with `-p` then
/// goes through that tunnel, and `profile edit --no-ssh` switches it off; a tunnel without a
/// host is refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_create_writes_an_ssh_section_that_backups_go_through() {
    const KEY: &str = "profile key of the ssh test";
    let db = TestDb::new("ssh_prof_flags").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (7)")
        .await;
    let w = out_dir();
    let home = w.path();
    std::fs::create_dir(home.join(".ssh")).unwrap();
    std::fs::copy(known_hosts(), home.join(".ssh/known_hosts")).unwrap();
    let config = home.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "config_dir:\n  database_profile: {}/profiles\n",
            home.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = server().sfdbtools();
        c.env("HOME", home)
            .env("SFDB_APPS_CONFIG", &config)
            .env("SFDB_SOURCE_PROFILE_KEY", KEY)
            .env("MYSQL_PWD", server().password.clone().unwrap_or_default())
            .args(args);
        c.output().expect("run sfdbtools")
    };
    // 0177.0.0.1 is 127.0.0.1 in octal, which only this test asks sshd for.
    let db_host = "0177.0.0.1";
    let port = server().port.to_string();
    let ssh_port = sshd().port.to_string();
    let identity = sshd().dir.join("user_key").display().to_string();
    let create = |extra: &[&str]| {
        let mut args = vec!["-q", "profile", "create", "-n", "jump", "--host", db_host];
        args.extend(["-P", &port, "-u", &server().user]);
        args.extend(extra);
        run(&args)
    };
    let out = create(&["--ssh-user", &sshd().user]);
    assert_eq!(out.status.code(), Some(2), "no --ssh-host");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs its host"), "{err}");
    assert!(!home.join("profiles/jump.cnf.enc").exists());

    let out = create(&[
        "--ssh-host",
        "127.0.0.1",
        "--ssh-port",
        &ssh_port,
        "--ssh-user",
        &sshd().user,
        "--ssh-identity",
        &identity,
    ]);
    assert_success(&out, "profile create with --ssh-*");
    let listed = run(&["profile", "list", "-k", KEY]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("(through ssh"),
        "{listed:?}"
    );
    let out_a = out_dir();
    let ok = run(&[
        "-q",
        "db-backup",
        "single",
        "--database",
        &db.name,
        "-p",
        "jump",
        "-c",
        "none",
        "-t",
        "TEST",
        "-o",
        &out_a.path().display().to_string(),
    ]);
    assert_success(&ok, "backup through the profile's tunnel");
    assert!(dump_sql(out_a.path()).contains("(7)"));
    let log = std::fs::read_to_string(sshd().dir.join("sshd.log")).unwrap();
    let target = format!("target {db_host} port {port}");
    assert!(log.contains(&target), "no '{target}' in the sshd log");

    let out = run(&["-q", "profile", "edit", "-n", "jump", "--no-ssh"]);
    assert_success(&out, "profile edit --no-ssh");
    let listed = run(&["profile", "list", "-k", KEY]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("(through ssh"),
        "{listed:?}"
    );
}

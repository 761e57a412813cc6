//! SSH tunnels (issue #18) against a real OpenSSH server the harness starts
//! (`scripts/sshd.sh`): a backup through the tunnel with key auth and with password auth, a
//! passphrase-protected PEM key, and the host key rules (unknown refused, accept-new recorded, changed refused).
//!
//! Most tests open the tunnel in the test process (the library's `Tunnel`) and point the binary
//! at its local end; the others go through the binary: its `--ssh-*` flags, a profile's `[ssh]`
//! (key and password auth), an sshd stopped mid-dump and mid-restore, VERIFY_IDENTITY through
//! a tunnel.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TestDb, assert_success, dump_file_in, out_dir, server, sshd};
use sfdbtools::connect::tunnel::{SshAuth, SshSettings, Tunnel, TunnelError, UnknownHost};
use sfdbtools::secret::Secret;

fn settings(known_hosts: &Path, auth: SshAuth) -> SshSettings {
    SshSettings {
        host: "127.0.0.1".into(),
        port: sshd().port,
        user: sshd().user.clone(),
        auth,
        known_hosts: known_hosts.to_owned(),
        unknown_host: UnknownHost::Refuse,
        local_port: None,
        connect_timeout: Duration::from_secs(20),
    }
}

fn key(name: &str, passphrase: Option<&str>) -> SshAuth {
    SshAuth::Key {
        path: sshd().dir.join(name),
        passphrase: passphrase.map(Secret::new),
    }
}

fn known_hosts() -> PathBuf {
    sshd().dir.join("known_hosts")
}

async fn open(s: &SshSettings) -> Result<Tunnel, TunnelError> {
    Tunnel::open(s, &server().host, server().port).await
}

/// `db-backup single` of `db` into `out`, connecting to `port` on 127.0.0.1. Run on a blocking
/// thread: the tunnel is served by this test's runtime meanwhile.
async fn backup_through(port: u16, db: &str, out: &Path) -> std::process::Output {
    let mut c = server().sfdbtools();
    c.args(["-q", "db-backup", "single", "--database", db])
        .arg("--host=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(format!("--user={}", server().user))
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(out);
    tokio::task::spawn_blocking(move || c.output().expect("run sfdbtools"))
        .await
        .unwrap()
}

fn dump_sql(dir: &Path) -> String {
    use std::io::Read;
    let mut sql = String::new();
    sfdbtools::read::open(&dump_file_in(dir), None)
        .unwrap()
        .read_to_string(&mut sql)
        .unwrap();
    sql
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_through_the_tunnel_with_key_auth() {
    let db = TestDb::new("ssh_key").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'through-the-tunnel'), (2, 'second row')")
        .await;
    let tunnel = open(&settings(&known_hosts(), key("user_key", None)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(tunnel.local_addr().ip().is_loopback());
    let out_a = out_dir();
    let out = backup_through(tunnel.local_addr().port(), &db.name, out_a.path()).await;
    assert_success(&out, "backup through the tunnel");
    assert!(tunnel.failure().is_none(), "{:?}", tunnel.failure());
    assert!(dump_sql(out_a.path()).contains("through-the-tunnel"));
    // The connections went through sshd: it logged a direct-tcpip request to the database.
    let log = std::fs::read_to_string(sshd().dir.join("sshd.log")).unwrap();
    let target = format!("target {} port {}", server().host, server().port);
    assert!(
        log.contains(&target),
        "no '{target}' in the sshd log:\n{log}"
    );
    drop(tunnel);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_protected_pem_rsa_and_openssh_keys_log_in() {
    let s = settings(
        &known_hosts(),
        key("user_key_enc", Some(common::Sshd::KEY_PASSPHRASE)),
    );
    open(&s).await.unwrap_or_else(|e| panic!("{e}"));

    let s = settings(
        &known_hosts(),
        key("user_key_pass", Some(common::Sshd::KEY_PASSPHRASE)),
    );
    let tunnel = open(&s).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!tunnel.is_closed());

    assert!(sfdbtools::connect::tunnel::key_is_encrypted(
        &sshd().dir.join("user_key_pass")
    ));
    assert!(!sfdbtools::connect::tunnel::key_is_encrypted(
        &sshd().dir.join("user_key")
    ));
    let none = settings(&known_hosts(), key("user_key_pass", None));
    let err = open(&none).await.err().expect("no passphrase fails");
    assert!(err.to_string().contains("is encrypted"), "{err}");

    let wrong = settings(&known_hosts(), key("user_key_pass", Some("not it")));
    let err = open(&wrong).await.err().expect("a wrong passphrase fails");
    assert!(matches!(err, TunnelError::Key { .. }), "{err}");
    assert!(err.to_string().contains("user_key_pass"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_in_authorized_keys_is_denied() {
    // The host key is a valid key that authorized_keys does not list.
    let err = open(&settings(&known_hosts(), key("host_key", None)))
        .await
        .err()
        .expect("an unlisted key is denied");
    assert!(matches!(err, TunnelError::Denied { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("refused public key authentication"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_key_is_refused_and_accept_new_records_it() {
    let dir = out_dir();
    // In a .ssh that does not exist yet: accepting makes it, private as OpenSSH's.
    let file = dir.path().join(".ssh/known_hosts");
    let s = settings(&file, key("user_key", None));
    let err = open(&s).await.err().expect("an unknown host is refused");
    assert!(matches!(err, TunnelError::UnknownHostKey { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("--ssh-accept-new") && msg.contains("SHA256:"),
        "{msg}"
    );
    assert!(!file.exists(), "a refusal records nothing");

    let accept = SshSettings {
        unknown_host: UnknownHost::AcceptNew,
        ..s.clone()
    };
    let tunnel = open(&accept).await.unwrap_or_else(|e| panic!("{e}"));
    drop(tunnel);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join(".ssh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    // russh starts a new file with an empty line (it saw no final newline); OpenSSH skips it.
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert!(
        recorded
            .trim_start()
            .starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd().port)),
        "{recorded}"
    );
    // Now known: the default (refuse unknown) connects.
    open(&s).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_even_with_accept_new() {
    let dir = out_dir();
    let file = dir.path().join("known_hosts");
    // Another ed25519 key recorded for the host: what a man in the middle would look like.
    let other = std::fs::read_to_string(sshd().dir.join("user_key.pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    std::fs::write(
        &file,
        format!("[127.0.0.1]:{} {} {}\n", sshd().port, other[0], other[1]),
    )
    .unwrap();
    let s = SshSettings {
        unknown_host: UnknownHost::AcceptNew,
        ..settings(&file, key("user_key", None))
    };
    let err = open(&s).await.err().expect("a changed key is refused");
    assert!(
        matches!(err, TunnelError::ChangedHostKey { line: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("NOT the one"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        1,
        "nothing is recorded"
    );
}

/// `sfdbtools <args>` with `--ssh-*` flags to the harness's sshd and `HOME` set to `home`
/// (whose `.ssh/known_hosts` is checked), connecting to the database by the address the SSH
/// host reaches it at.
fn with_ssh_flags(home: &Path, db_host: &str, args: &[&str]) -> std::process::Command {
    let mut c = server().sfdbtools();
    c.env("HOME", home)
        .args(args)
        .arg(format!("--host={db_host}"))
        .arg(format!("--port={}", server().port))
        .arg(format!("--user={}", server().user))
        .arg("--ssh-host=127.0.0.1")
        .arg(format!("--ssh-port={}", sshd().port))
        .arg(format!("--ssh-user={}", sshd().user))
        .arg(format!(
            "--ssh-identity={}",
            sshd().dir.join("user_key").display()
        ));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ssh_flags_tunnel_backup_restore_and_verify_and_an_unknown_host_fails_them() {
    let db = TestDb::new("ssh_flags").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'flag-tunnel')")
        .await;
    let home = out_dir();
    let backup = |out: &Path| {
        let mut c = with_ssh_flags(
            home.path(),
            &server().host,
            &["-q", "db-backup", "single", "--database", &db.name],
        );
        c.args(["-c", "none", "-t", "TEST", "-o"]).arg(out);
        c.output().expect("run sfdbtools")
    };

    // No known_hosts yet: refused before anything is written.
    let out_a = out_dir();
    let out = backup(out_a.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is not in") && err.contains("--ssh-accept-new"),
        "{err}"
    );
    assert!(common::files_in(out_a.path()).is_empty());

    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::copy(known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    let out_b = out_dir();
    let out = backup(out_b.path());
    assert_success(&out, "backup with --ssh-host");
    assert!(dump_sql(out_b.path()).contains("flag-tunnel"));

    // Restore and verify --against through the tunnel too. The database's address is spelled
    // in ways only these commands use (inet_aton forms of 127.0.0.1): sshd's log of the
    // forwarding targets proves the connections went through it.
    let file = dump_file_in(out_b.path());
    let file = file.to_str().unwrap();
    let target = TestDb::new("ssh_flags_to").await;
    let out = with_ssh_flags(
        home.path(),
        "127.1",
        &["-q", "db-restore", "single", "--file", file],
    )
    .args(["--target-db", &target.name, "-t", "TEST"])
    .output()
    .unwrap();
    assert_success(&out, "restore with --ssh-host");
    let out = with_ssh_flags(home.path(), "127.0.1", &["-q", "verify", "--file", file])
        .args(["--against", &target.name])
        .output()
        .unwrap();
    assert_success(&out, "verify --against with --ssh-host");
    let log = std::fs::read_to_string(sshd().dir.join("sshd.log")).unwrap();
    for host in ["127.1", "127.0.1"] {
        let target = format!("target {host} port {}", server().port);
        assert!(log.contains(&target), "no '{target}' in the sshd log");
    }
}

#[test]
fn ssh_flags_without_ssh_host_are_a_usage_error() {
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", "x", "-t", "T"])
        .arg("--ssh-user=u")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("need --ssh-host"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_s_ssh_section_tunnels_a_backup() {
    use sfdbtools::config::profile::{self, Profile, SshTunnel};
    use sfdbtools::encrypt::Passphrase;

    let db = TestDb::new("ssh_profile").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'profile-tunnel')")
        .await;
    let home = out_dir();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::copy(known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    // "localhost", which only this test asks the SSH host for: its log proves the tunnel.
    let mut p = Profile::new(
        "localhost".into(),
        server().port,
        server().user.clone(),
        Secret::new(server().password.clone().unwrap_or_default()),
    );
    p.ssh = Some(SshTunnel {
        enabled: true,
        host: Some("127.0.0.1".into()),
        port: sshd().port,
        user: Some(sshd().user.clone()),
        password: None,
        identity_file: Some(sshd().dir.join("user_key").display().to_string()),
        local_port: None,
    });
    let path = home.path().join("jump.cnf.enc");
    let key = "profile key";
    profile::save(&path, &Passphrase::new(Secret::new(key)), &p, false).unwrap();
    let out_a = out_dir();
    let mut c = server().sfdbtools();
    c.env("HOME", home.path())
        .env("SFDB_SOURCE_PROFILE_KEY", key)
        .env_remove("MYSQL_PWD")
        .args(["-q", "db-backup", "single", "--database", &db.name, "-p"])
        .arg(&path)
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(out_a.path());
    let out = c.output().unwrap();
    assert_success(&out, "backup with a profile's [ssh] tunnel");
    assert!(dump_sql(out_a.path()).contains("profile-tunnel"));
    // The metadata names the database as the SSH host reaches it, not the tunnel's local end.
    let meta = common::metadata_of(&dump_file_in(out_a.path()));
    assert_eq!(meta["source"]["host"], "localhost", "{meta}");
    assert_eq!(meta["source"]["port"], server().port, "{meta}");
    let log = std::fs::read_to_string(sshd().dir.join("sshd.log")).unwrap();
    let target = format!("target localhost port {}", server().port);
    assert!(log.contains(&target), "no '{target}' in the sshd log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_through_the_tunnel_with_password_auth() {
    let Some(pw_user) = password_user() else {
        return;
    };
    let password = std::fs::read_to_string(sshd().dir.join("ssh_password")).unwrap();
    let s = SshSettings {
        user: pw_user.clone(),
        ..settings(
            &known_hosts(),
            SshAuth::Password(Secret::new(password.trim())),
        )
    };
    let db = TestDb::new("ssh_pw").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'password-tunnel')")
        .await;
    let tunnel = open(&s).await.unwrap_or_else(|e| panic!("{e}"));
    let out_a = out_dir();
    let out = backup_through(tunnel.local_addr().port(), &db.name, out_a.path()).await;
    assert_success(&out, "backup through a password-auth tunnel");
    assert!(dump_sql(out_a.path()).contains("password-tunnel"));

    let wrong = SshSettings {
        user: pw_user,
        ..settings(&known_hosts(), SshAuth::Password(Secret::new("not it")))
    };
    let err = open(&wrong)
        .await
        .err()
        .expect("a wrong password is denied");
    assert!(
        matches!(
            err,
            TunnelError::Denied {
                method: "password",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("not it"), "{err}");
}

/// A second sshd of this test's own, stopped while a connection goes through it: the
/// connection fails as a lost one, and the tunnel says it is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sshd_that_goes_away_breaks_the_connection_through_it() {
    use mysql_async::prelude::*;

    let dir = out_dir();
    let sshd_dir = dir.path().join("sshd");
    let script = common::root().join("scripts/sshd.sh");
    let out = std::process::Command::new(&script)
        .arg("start")
        .arg(&sshd_dir)
        .arg("--watch")
        .arg(std::process::id().to_string())
        .arg("--no-password")
        .output()
        .unwrap();
    assert_success(&out, "a second sshd");
    let port: u16 = std::fs::read_to_string(sshd_dir.join("port"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let s = SshSettings {
        port,
        ..settings(
            &sshd_dir.join("known_hosts"),
            SshAuth::Key {
                path: sshd_dir.join("user_key"),
                passphrase: None,
            },
        )
    };
    let tunnel = open(&s).await.unwrap_or_else(|e| panic!("{e}"));
    let local = tunnel.point(&sfdbtools::connect::ConnectionSettings {
        host: server().host.clone(),
        port: server().port,
        user: server().user.clone(),
        password: server().password.clone().map(Secret::new),
        ..Default::default()
    });
    let (mut conn, _) = sfdbtools::connect::open(&local, "test").await.unwrap();
    let one: Option<u8> = conn.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));

    let out = std::process::Command::new(&script)
        .arg("stop")
        .arg(&sshd_dir)
        .output()
        .unwrap();
    assert_success(&out, "stopping the second sshd");
    let lost = tokio::time::timeout(
        Duration::from_secs(30),
        conn.query_drop("SELECT SLEEP(0.1)"),
    )
    .await
    .expect("the lost tunnel is noticed within 30 s");
    let err = sfdbtools::error::DbError(lost.expect_err("the query fails"));
    assert!(err.is_connection_lost(), "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !tunnel.is_closed() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tunnel.is_closed());
}

// Defaults as OpenSSH's client has them (h18-a): the local user name and the default keys.

/// A HOME whose `.ssh` holds the harness's known_hosts and, under each default key name, a
/// copy of the harness key given (`None`: no such file).
fn home_with_keys(keys: [(&str, &str); 3]) -> tempfile::TempDir {
    let home = out_dir();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    std::fs::copy(known_hosts(), ssh.join("known_hosts")).unwrap();
    for (name, from) in keys {
        if !from.is_empty() {
            std::fs::copy(sshd().dir.join(from), ssh.join(name)).unwrap();
        }
    }
    home
}

/// `db-backup single` of `db` through the harness's sshd with only `--ssh-host`/`--ssh-port`:
/// the user from `USER`, the keys from `home`'s `.ssh`. Without `-q` (and without a
/// terminal), so that notes are printed.
fn backup_with_default_login(home: &Path, db: &str, out: &Path) -> std::process::Output {
    server()
        .sfdbtools()
        .env("HOME", home)
        .env("USER", &sshd().user)
        .env_remove("LOGNAME")
        .args(["db-backup", "single", "--database", db])
        .arg(format!("--host={}", server().host))
        .arg(format!("--port={}", server().port))
        .arg(format!("--user={}", server().user))
        .arg("--ssh-host=127.0.0.1")
        .arg(format!("--ssh-port={}", sshd().port))
        .args(["-c", "none", "-t", "TEST", "-o"])
        .arg(out)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sfdbtools")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ssh_user_and_identity_the_local_user_and_default_keys_log_in() {
    let db = TestDb::new("ssh_defaults").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40)); INSERT INTO t VALUES (1, 'default-key-tunnel')")
        .await;

    // ~/.ssh/id_ed25519 is the harness's user key.
    let home = home_with_keys([("id_ed25519", "user_key"), ("id_ecdsa", ""), ("id_rsa", "")]);
    let out_a = out_dir();
    let out = backup_with_default_login(home.path(), &db.name, out_a.path());
    assert_success(&out, "backup with the default key");
    assert!(dump_sql(out_a.path()).contains("default-key-tunnel"));

    // An encrypted id_ed25519 is skipped without a terminal (with a note); id_rsa, the
    // accepted key, is tried after it.
    let home = home_with_keys([
        ("id_ed25519", "user_key_enc"),
        ("id_ecdsa", ""),
        ("id_rsa", "user_key"),
    ]);
    let out_b = out_dir();
    let out = backup_with_default_login(home.path(), &db.name, out_b.path());
    assert_success(&out, "backup with the second default key");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipping the encrypted SSH key") && err.contains("id_ed25519"),
        "{err}"
    );
    assert!(dump_sql(out_b.path()).contains("default-key-tunnel"));

    // No default key the SSH host accepts: the run fails naming each file tried.
    let home = home_with_keys([
        ("id_ed25519", "user_key_enc"),
        ("id_ecdsa", "host_key"),
        ("id_rsa", ""),
    ]);
    let out_c = out_dir();
    let out = backup_with_default_login(home.path(), &db.name, out_c.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("accepted none of the default keys")
            && err.contains(".ssh/id_ed25519 (encrypted")
            && err.contains(".ssh/id_ecdsa (refused)"),
        "{err}"
    );
    assert!(common::files_in(out_c.path()).is_empty());
}

/// The account of the shared sshd's password auth. Only root can create it (scripts/sshd.sh):
/// as root (CI) its absence fails the test; otherwise the test is skipped, saying so.
fn password_user() -> Option<String> {
    if let Some(user) = sshd().pw_user.clone() {
        return Some(user);
    }
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    assert_ne!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "scripts/sshd.sh runs as root but offers no password account (is there an sfdbssh \
         account it did not create?)"
    );
    eprintln!("skipped: scripts/sshd.sh offers no password account (not root)");
    None
}

mod through_binary;

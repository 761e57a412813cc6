//! The rules of `inputs`, without a terminal (`quiet`, so nothing is asked) and without the
//! process's environment (an [`Env`] made up by each test). The helpers are shared with
//! the commands' tests.

use std::path::Path;

use sfdbtools::config::profile::Profile;
use sfdbtools::encrypt::{self, NONCE_LEN, SALT_LEN};

use super::*;

/// Settings from the text of a config file.
pub fn config(yaml: &str) -> Settings {
    sfdbtools::config::file::parse(yaml, Path::new("test-config.yaml")).expect("config")
}

/// Whether `pass` is the passphrase `key` (it has no accessor: a blob sealed with one
/// opens with the other; one KDF round keeps it fast).
pub fn is_key(pass: &Passphrase, key: &str) -> bool {
    let sealed = encrypt::seal_oneshot_with_params(b"x", pass, [0; SALT_LEN], [0; NONCE_LEN], 1)
        .expect("seal");
    let other = Passphrase::new(Secret::new(key));
    encrypt::open_oneshot_with_iterations(&sealed, &other, &[1]).is_ok()
}

pub fn env(backup_key: Option<&str>, mysql_pwd: Option<&str>) -> Env {
    Env {
        backup_key: backup_key.map(str::to_owned),
        mysql_pwd: mysql_pwd.map(str::to_owned),
        home: None,
        user: None,
    }
}

#[test]
fn ssh_flags_make_a_tunnel_checked_in_home_known_hosts() {
    let mut f = flags();
    f.ssh.ssh_host = Some("jump".into());
    f.ssh.ssh_user = Some("ops".into());
    f.ssh.ssh_identity = Some("/keys/id".into());
    let e = Env {
        home: Some("/home/ops".into()),
        ..env(None, Some(""))
    };
    let c = connection(f, target(None, None), true, &Settings::default(), &e).unwrap();
    let ssh = c.ssh.expect("a tunnel");
    assert_eq!(
        (ssh.host.as_str(), ssh.port, ssh.user.as_str()),
        ("jump", 22, "ops")
    );
    assert_eq!(ssh.known_hosts, Path::new("/home/ops/.ssh/known_hosts"));
    assert_eq!(ssh.unknown_host, UnknownHost::Refuse);
    assert!(
        matches!(ssh.auth, SshAuth::Key { ref path, passphrase: None } if path == Path::new("/keys/id"))
    );
    assert_eq!(ssh.connect_timeout.as_secs(), 30);
}

#[test]
fn incomplete_or_conflicting_ssh_flags_are_usage_errors() {
    let e = Env {
        home: Some("/home/ops".into()),
        ..env(None, Some(""))
    };
    let s = Settings::default();
    let usage = |f: ConnectionArgs| {
        matches!(
            connection(f, target(None, None), true, &s, &e),
            Err(Error::Usage(_))
        )
    };
    let mut f = flags();
    f.ssh.ssh_user = Some("ops".into());
    assert!(usage(f), "--ssh-user without --ssh-host");
    let mut f = flags();
    f.ssh.ssh_host = Some("jump".into());
    f.ssh.ssh_user = Some("ops".into());
    assert!(usage(f), "no --ssh-identity");
    let mut f = flags();
    f.ssh.ssh_host = Some("jump".into());
    f.ssh.ssh_user = Some("ops".into());
    f.ssh.ssh_identity = Some("/keys/id".into());
    f.socket = Some("/run/mysqld.sock".into());
    assert!(usage(f), "--socket with --ssh-host");
}

fn flags() -> ConnectionArgs {
    ConnectionArgs {
        host: None,
        port: None,
        user: None,
        password: None,
        socket: None,
        connect_timeout: 30,
        ssl_mode: None,
        ssl_ca: None,
        ssl_cert: None,
        ssl_key: None,
        ssh: SshArgs::default(),
    }
}

#[test]
fn tls_flags_default_to_preferred_and_a_ca_alone_to_verify_ca() {
    assert_eq!(flag_tls(None, None).unwrap().mode, SslMode::Preferred);
    // Any readable file will do: the driver parses it when it connects.
    let file = tempfile::NamedTempFile::new().unwrap();
    let ca = || Some(file.path().to_path_buf());
    let with_ca = flag_tls(None, ca()).unwrap();
    assert_eq!(with_ca.mode, SslMode::VerifyCa);
    let explicit = flag_tls(Some(SslMode::Required), ca()).unwrap();
    assert_eq!(explicit.mode, SslMode::Required);
    let missing = flag_tls(None, Some("/nonexistent/ca.pem".into()));
    assert!(
        matches!(&missing, Err(Error::Usage(m)) if m.starts_with("--ssl-ca /nonexistent/ca.pem")),
        "{missing:?}"
    );
    assert!(matches!(
        flag_tls(Some(SslMode::Disabled), Some("/ca.pem".into())),
        Err(Error::Usage(_))
    ));
}

/// The TLS settings of `--ssl-mode` and `--ssl-ca` alone.
fn flag_tls(mode: Option<SslMode>, ca: Option<PathBuf>) -> Result<TlsSettings, Error> {
    let flags = TlsKeys {
        mode,
        ca,
        ..TlsKeys::default()
    };
    let none = Origins {
        profile: None,
        config: None,
    };
    tls(flags, None, &TlsKeys::default(), &none)
}

fn target(profile: Option<&Path>, key: Option<&str>) -> TargetProfileArgs {
    TargetProfileArgs {
        profile: profile.map(|p| p.display().to_string()),
        profile_key: key.map(str::to_owned),
    }
}

fn password(c: &ConnectionSettings) -> Option<&str> {
    c.password.as_ref().map(Secret::expose)
}

#[test]
fn without_flags_or_profile_the_connection_is_the_default() {
    let c = connection(
        flags(),
        target(None, None),
        true,
        &Settings::default(),
        &env(None, None),
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.user.as_str()),
        ("127.0.0.1", 3306, "root")
    );
    assert_eq!(password(&c), None);
    assert_eq!(c.socket, None);
    assert_eq!(c.connect_timeout.as_secs(), 30);
}

#[test]
fn connection_flags_beat_the_defaults() {
    let mut f = flags();
    f.host = Some("db1".into());
    f.port = Some(3307);
    f.user = Some("backup".into());
    f.socket = Some("/run/mysqld.sock".into());
    f.connect_timeout = 5;
    let c = connection(
        f,
        target(None, None),
        true,
        &Settings::default(),
        &env(None, None),
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.user.as_str()),
        ("db1", 3307, "backup")
    );
    assert_eq!(c.socket.as_deref(), Some(Path::new("/run/mysqld.sock")));
    assert_eq!(c.connect_timeout.as_secs(), 5);
}

#[test]
fn the_password_flag_beats_mysql_pwd_which_beats_nothing() {
    let s = Settings::default();
    let c = connection(
        flags(),
        target(None, None),
        true,
        &s,
        &env(None, Some("ambient")),
    )
    .unwrap();
    assert_eq!(password(&c), Some("ambient"));
    // Set but empty: an account without a password, not "unset".
    let c = connection(flags(), target(None, None), true, &s, &env(None, Some(""))).unwrap();
    assert_eq!(password(&c), Some(""));
    let mut f = flags();
    f.password = Some("given".into());
    let c = connection(f, target(None, None), true, &s, &env(None, Some("ambient"))).unwrap();
    assert_eq!(password(&c), Some("given"));
}

#[test]
fn a_zero_connect_timeout_is_a_usage_error() {
    let mut f = flags();
    f.connect_timeout = 0;
    let e = connection(
        f,
        target(None, None),
        true,
        &Settings::default(),
        &env(None, None),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert_eq!(e.to_string(), "--connect-timeout must be at least 1 second");
}

#[test]
fn flags_beat_the_profile_which_beats_defaults_and_mysql_pwd() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.cnf.enc");
    let key = Passphrase::new(Secret::new("profile key"));
    let saved = Profile::new("db.prod".into(), 3310, "dumper".into(), Secret::new("pw"));
    profile::save(&path, &key, &saved, false).unwrap();
    let s = Settings::default();
    let ambient = env(None, Some("ambient"));

    let c = connection(
        flags(),
        target(Some(&path), Some("profile key")),
        true,
        &s,
        &ambient,
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.user.as_str()),
        ("db.prod", 3310, "dumper")
    );
    // MYSQL_PWD is ambient; the profile was asked for.
    assert_eq!(password(&c), Some("pw"));

    let mut f = flags();
    f.port = Some(3311);
    f.password = Some("given".into());
    let c = connection(
        f,
        target(Some(&path), Some("profile key")),
        true,
        &s,
        &ambient,
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.user.as_str()),
        ("db.prod", 3311, "dumper")
    );
    assert_eq!(password(&c), Some("given"));
}

#[test]
fn a_missing_profile_key_names_the_variable_of_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.cnf.enc");
    let s = Settings::default();
    let e = connection(
        flags(),
        target(Some(&path), None),
        true,
        &s,
        &env(None, None),
    )
    .unwrap_err();
    assert!(e.to_string().contains("SFDB_TARGET_PROFILE_KEY"), "{e}");
    assert_eq!(e.exit_code(), 2);
    let source = SourceProfileArgs {
        profile: Some(path.display().to_string()),
        profile_key: Some("  ".into()),
    };
    let e = connection(flags(), source, true, &s, &env(None, None)).unwrap_err();
    assert!(e.to_string().contains("SFDB_SOURCE_PROFILE_KEY"), "{e}");
}

#[test]
fn a_file_key_is_the_flag_then_the_config_then_the_environment() {
    let keyed = config("backup:\n  encryption:\n    key: from-config\n");
    let none = Settings::default();
    let ambient = env(Some("from-env"), None);
    let key = |flag: Option<&str>, s: &Settings, e: &Env| {
        reading_passphrase(flag.map(str::to_owned), s, e)
    };
    assert!(is_key(
        &key(Some("flag"), &keyed, &ambient).unwrap(),
        "flag"
    ));
    // A blank flag counts as not given.
    assert!(is_key(
        &key(Some(" "), &keyed, &ambient).unwrap(),
        "from-config"
    ));
    assert!(is_key(&key(None, &keyed, &ambient).unwrap(), "from-config"));
    assert!(is_key(&key(None, &none, &ambient).unwrap(), "from-env"));
    assert!(key(None, &none, &env(None, None)).is_none());
}

#[test]
fn the_thread_count_is_the_flag_else_the_cpus_up_to_8() {
    assert_eq!(thread_count(Some(12)).unwrap(), 12);
    let e = thread_count(Some(0)).unwrap_err();
    assert_eq!(e.to_string(), "-j/--threads must be at least 1");
    assert_eq!(e.exit_code(), 2);
    assert!((1..=8).contains(&thread_count(None).unwrap()));
}

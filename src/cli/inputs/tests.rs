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
        ..Env::default()
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
        get_server_public_key: false,
        server_public_key_path: None,
        ssh: SshArgs::default(),
    }
}

#[test]
fn tls_flags_default_to_preferred_and_a_ca_alone_to_verify_ca() {
    assert_eq!(flag_tls(None, None).unwrap().mode, SslMode::Preferred);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), TEST_PEM).unwrap();
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
    // Read now, not when connecting: a file that is no CA, or a directory, names the flag.
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    for bad in [not_pem.path(), std::path::Path::new("/tmp")] {
        let e = flag_tls(None, Some(bad.to_path_buf()));
        assert!(
            matches!(&e, Err(Error::Usage(m)) if m.contains("--ssl-ca")),
            "{e:?}"
        );
    }
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

/// Where the TLS and SSH layering tests keep their files: readable PEM stand-ins (the driver
/// parses them only when it connects), a profile, and a home directory.
/// A self-signed CA certificate and its key in one file (made once with the openssl CLI, valid
/// for a century): good as --ssl-ca, --ssl-cert and --ssl-key alike, since the files are now
/// read when the run is set up.
const TEST_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBmTCCAT+gAwIBAgIUa0/8E3hh6bPxtI4R4LjZ2MGSeJ8wCgYIKoZIzj0EAwIw\n\
ITEfMB0GA1UEAwwWc2ZkYnRvb2xzIHVuaXQtdGVzdCBDQTAgFw0yNjEyMDIxNzM1\n\
NDVaGA8yMTI2MTEwODE3MzU0NVowITEfMB0GA1UEAwwWc2ZkYnRvb2xzIHVuaXQt\n\
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHF3WZnr0j++mBQLY3oL\n\
vNNYjs+iz+xNyx+WhXS+Hv6pAp2j6txEWv1oFAOegUXB5gEerpV2HjeKlIWrfkO4\n\
BAyjUzBRMB0GA1UdDgQWBBQGtnY/pNVoffqktS2c36Ac0p9kJTAfBgNVHSMEGDAW\n\
gBQGtnY/pNVoffqktS2c36Ac0p9kJTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49\n\
BAMCA0gAMEUCIDNPBfTWEXst1YF1rPSPUP+lpQhxP1y3yfPlMwt94giCAiEAzTEw\n\
bS+PhH/k8d0lCMPFmc1+7zy3SLfiVX1ldU/YvFw=\n\
-----END CERTIFICATE-----\n\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+FGzXJFGYWwB++D2\n\
8UEX5GshGYK3ReqiaxOhPmjNTDuhRANCAARxd1mZ69I/vpgUC2N6C7zTWI7Pos/s\n\
TcsfloV0vh7+qQKdo+rcRFr9aBQDnoFFweYBHq6Vdh43ipSFq35DuAQM\n\
-----END PRIVATE KEY-----\n\
";

struct Layers {
    dir: tempfile::TempDir,
}

impl Layers {
    fn new() -> Layers {
        let l = Layers {
            dir: tempfile::tempdir().unwrap(),
        };
        for name in ["f.pem", "p.pem", "c.pem"] {
            std::fs::write(l.file(name), TEST_PEM).unwrap();
        }
        l
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `p` saved as this directory's profile; the target profile flags that name it.
    fn profile(&self, p: &Profile) -> TargetProfileArgs {
        let path = self.file("p.cnf.enc");
        let _ = std::fs::remove_file(&path);
        let key = Passphrase::new(Secret::new("k"));
        profile::save(&path, &key, p, false).unwrap();
        target(Some(&path), Some("k"))
    }

    fn env(&self, user: Option<&str>) -> Env {
        Env {
            home: Some(self.dir.path().to_owned()),
            user: user.map(str::to_owned),
            ..env(None, Some(""))
        }
    }
}

fn plain_profile() -> Profile {
    Profile::new("db".into(), 3306, "u".into(), Secret::new("pw"))
}

#[test]
fn each_tls_key_is_the_flag_else_the_profile_else_the_config_else_the_default() {
    let l = Layers::new();
    let s = config(&format!(
        "connection:\n  ssl:\n    mode: VERIFY_CA\n    ca: {c}\n    cert: {c}\n    key: {c}\n",
        c = l.file("c.pem").display()
    ));
    let mut p = plain_profile();
    p.tls.mode = Some(SslMode::Required);
    p.tls.ca = Some(l.file("p.pem"));
    let mut f = flags();
    f.ssl_mode = Some(SslMode::VerifyIdentity);
    let tls_of = |f, p: Option<&Profile>, s: &Settings| {
        let choice = match p {
            Some(p) => l.profile(p),
            None => target(None, None),
        };
        connection(f, choice, true, s, &l.env(None)).unwrap().tls
    };
    // Flag mode; the profile's CA; the config's certificate and key.
    let t = tls_of(f, Some(&p), &s);
    assert_eq!(t.mode, SslMode::VerifyIdentity);
    assert_eq!(t.ca, Some(l.file("p.pem")));
    assert_eq!(
        (t.cert, t.key),
        (Some(l.file("c.pem")), Some(l.file("c.pem")))
    );
    // No flag: the profile's mode.
    let t = tls_of(flags(), Some(&p), &s);
    assert_eq!(t.mode, SslMode::Required);
    // No profile: the config's mode and CA.
    let t = tls_of(flags(), None, &s);
    assert_eq!((t.mode, t.ca), (SslMode::VerifyCa, Some(l.file("c.pem"))));
    // Nothing anywhere: PREFERRED; a CA from any layer without a mode from any: VERIFY_CA.
    let t = tls_of(flags(), None, &Settings::default());
    assert_eq!((t.mode, t.ca), (SslMode::Preferred, None));
    let mut ca_only = plain_profile();
    ca_only.tls.ca = Some(l.file("p.pem"));
    let t = tls_of(flags(), Some(&ca_only), &Settings::default());
    assert_eq!(t.mode, SslMode::VerifyCa);
}

#[test]
fn a_certificate_without_its_key_after_layering_is_a_usage_error_naming_its_layer() {
    let l = Layers::new();
    let cert_only = config(&format!(
        "connection:\n  ssl:\n    cert: {}\n",
        l.file("c.pem").display()
    ));
    let e = connection(flags(), target(None, None), true, &cert_only, &l.env(None)).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("connection.ssl.cert of config file test-config.yaml")
            && msg.contains("without --ssl-key"),
        "{msg}"
    );
    // The profile's key completes the config's certificate.
    let mut p = plain_profile();
    p.tls.key = Some(l.file("p.pem"));
    p.tls.cert = Some(l.file("p.pem"));
    let c = connection(flags(), l.profile(&p), true, &cert_only, &l.env(None)).unwrap();
    assert_eq!(c.tls.cert, Some(l.file("p.pem")), "the profile's wins");
    // A profile's file that is missing is named with the profile.
    p.tls.ca = Some(l.file("missing.pem"));
    let e = connection(flags(), l.profile(&p), true, &cert_only, &l.env(None)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("ssl-ca of profile ") && msg.contains("missing.pem: cannot read it"),
        "{msg}"
    );
}

#[test]
fn disabled_drops_the_files_of_lower_layers_and_refuses_those_of_its_own() {
    let l = Layers::new();
    let s = config(&format!(
        "connection:\n  ssl:\n    ca: {}\n",
        l.file("c.pem").display()
    ));
    let mut f = flags();
    f.ssl_mode = Some(SslMode::Disabled);
    let c = connection(f, target(None, None), true, &s, &l.env(None)).unwrap();
    assert_eq!((c.tls.mode, c.tls.ca), (SslMode::Disabled, None));
    let mut p = plain_profile();
    p.tls.mode = Some(SslMode::Disabled);
    let mut f = flags();
    f.ssl_ca = Some(l.file("f.pem"));
    let e = connection(f, l.profile(&p), true, &s, &l.env(None)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("ssl-mode of profile ") && msg.contains("but --ssl-ca is given"),
        "{msg}"
    );
}

/// An enabled `[ssh]` with only a host and a password.
fn tunnel_profile(port: u16, user: Option<&str>) -> Profile {
    let mut p = plain_profile();
    p.ssh = Some(SshTunnel {
        enabled: true,
        host: Some("p-jump".into()),
        port,
        user: user.map(str::to_owned),
        password: Some(Secret::new("ssh pw")),
        identity_file: None,
        local_port: Some(3399),
    });
    p
}

#[test]
fn each_ssh_key_is_the_flag_else_the_profile_else_the_config_else_openssh_s_default() {
    let l = Layers::new();
    let s = config(
        "connection:\n  ssh:\n    host: c-jump\n    port: 2200\n    user: c-user\n    \
         identity_file: ~/keys/c\n    accept_new: true\n",
    );
    let ssh_of = |f, choice, s: &Settings, user: Option<&str>| {
        connection(f, choice, true, s, &l.env(user))
            .unwrap()
            .ssh
            .expect("a tunnel")
    };
    // The config alone: all its keys, `~/` under HOME.
    let t = ssh_of(flags(), target(None, None), &s, Some("me"));
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("c-jump", 2200, "c-user")
    );
    assert!(matches!(&t.auth, SshAuth::Key { path, .. } if *path == l.file("keys/c")));
    assert_eq!(t.unknown_host, UnknownHost::AcceptNew);
    // The profile over it: its host, port (22 when it says none), password and local port.
    let t = ssh_of(
        flags(),
        l.profile(&tunnel_profile(22, None)),
        &s,
        Some("me"),
    );
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("p-jump", 22, "c-user")
    );
    assert!(matches!(&t.auth, SshAuth::Password(p) if p.expose() == "ssh pw"));
    assert_eq!(t.local_port, Some(3399));
    // The flags over both.
    let mut f = flags();
    f.ssh.ssh_host = Some("f-jump".into());
    f.ssh.ssh_port = Some(2022);
    f.ssh.ssh_user = Some("f-user".into());
    f.ssh.ssh_identity = Some("/keys/f".into());
    let t = ssh_of(f, l.profile(&tunnel_profile(22, Some("p-user"))), &s, None);
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("f-jump", 2022, "f-user")
    );
    assert!(matches!(&t.auth, SshAuth::Key { path, .. } if path == Path::new("/keys/f")));
    // Neither says a user: the local one, as OpenSSH's client.
    let bare = config("connection:\n  ssh:\n    host: c-jump\n");
    let t = ssh_of(
        flags(),
        l.profile(&tunnel_profile(2222, None)),
        &bare,
        Some("me"),
    );
    assert_eq!((t.port, t.user.as_str()), (2222, "me"));
    assert_eq!(t.unknown_host, UnknownHost::Refuse);
    // A socket connection leaves the config's tunnel (a default for remote runs) alone.
    let mut f = flags();
    f.socket = Some("/run/mysqld.sock".into());
    let c = connection(f, target(None, None), true, &s, &l.env(None)).unwrap();
    assert!(c.ssh.is_none());
}

#[test]
fn without_a_key_or_password_the_default_keys_that_exist_are_tried_in_order() {
    let l = Layers::new();
    let mut f = flags();
    f.ssh.ssh_host = Some("jump".into());
    let e = connection(
        f,
        target(None, None),
        true,
        &Settings::default(),
        &l.env(Some("me")),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa")
            && msg.contains("--ssh-host"),
        "{msg}"
    );
    std::fs::create_dir(l.file(".ssh")).unwrap();
    for name in ["id_rsa", "id_ecdsa"] {
        std::fs::write(l.file(".ssh").join(name), "a key").unwrap();
    }
    let mut f = flags();
    f.ssh.ssh_host = Some("jump".into());
    let t = connection(
        f,
        target(None, None),
        true,
        &Settings::default(),
        &l.env(Some("me")),
    )
    .unwrap()
    .ssh
    .unwrap();
    assert_eq!(t.user, "me");
    let SshAuth::Keys(keys) = &t.auth else {
        panic!("{:?}", t.auth)
    };
    let paths: Vec<&Path> = keys.iter().map(|k| k.path.as_path()).collect();
    assert_eq!(
        paths,
        [l.file(".ssh/id_ecdsa"), l.file(".ssh/id_rsa")],
        "OpenSSH's order, only those that exist"
    );
}

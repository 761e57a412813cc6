//! What several commands take alike, each resolved in one place by one rule, flags > config
//! file > environment > built-in defaults: the connection (profile, flags, password), the keys
//! of profiles and of backup files to read, the number of worker connections; and [`Env`], the
//! environment variables the binary reads itself.

use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::profile;
use sfdbtools::connect::auth::{self, ServerKey};
use sfdbtools::connect::tunnel::{self, SshAuth, SshSettings, UnknownHost};
use sfdbtools::connect::{ConnectionSettings, SslMode, TlsSettings};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

use super::args::{
    ConnectionArgs, SOURCE_PROFILE_KEY_ENV, SourceProfileArgs, SshArgs, TARGET_PROFILE_KEY_ENV,
    TargetProfileArgs,
};
use super::prompt;

/// The backup's encryption key variable; read after the config's key (docs/compat.md §1 order).
pub const BACKUP_KEY_ENV: &str = "SFDB_BACKUP_ENCRYPTION_KEY";

/// The environment variables the binary reads itself (clap reads the profile and `crypto` ones
/// through `env = …`). Read once, at the start, so that turning arguments into a run depends
/// only on what it is given, and the rules can be tested without touching the process's
/// environment. No `Debug`: it holds secrets.
#[derive(Default)]
pub struct Env {
    /// `SFDB_BACKUP_ENCRYPTION_KEY`, unless unset or blank.
    pub backup_key: Option<String>,
    /// `MYSQL_PWD` when set, even empty (an account without a password).
    pub mysql_pwd: Option<String>,
    /// `HOME`, unless unset or empty: where `~/.ssh/known_hosts` is.
    pub home: Option<std::path::PathBuf>,
}

impl Env {
    pub fn read() -> Env {
        Env {
            backup_key: std::env::var(BACKUP_KEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            mysql_pwd: std::env::var("MYSQL_PWD").ok(),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(Into::into),
        }
    }
}

/// The connection: the profile's fields (when `-p` is given), each replaced by its flag when
/// the flag is given. The password: `--password`, else the profile's, else `MYSQL_PWD`, else a
/// prompt. `MYSQL_PWD` does not override a profile: it is ambient, the profile was asked for.
/// The TLS flags as one setting. As in the MySQL client, a CA given without a mode means
/// VERIFY_CA: a CA is given to be checked against.
fn tls(
    mode: Option<SslMode>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<TlsSettings, Error> {
    let mode = mode.unwrap_or(if ca.is_some() {
        SslMode::VerifyCa
    } else {
        SslMode::Preferred
    });
    if mode == SslMode::Disabled && (ca.is_some() || cert.is_some()) {
        return Err(Error::Usage(
            "--ssl-mode DISABLED with --ssl-ca/--ssl-cert: the files would not be used; drop \
             them or choose another --ssl-mode"
                .into(),
        ));
    }
    // The driver reads them only when it connects, and a missing file then looks like a
    // missing server (its io::Error is NotFound): say it here, naming the flag.
    for (flag, path) in [
        ("--ssl-ca", &ca),
        ("--ssl-cert", &cert),
        ("--ssl-key", &key),
    ] {
        if let Some(path) = path {
            std::fs::File::open(path).map_err(|e| {
                Error::Usage(format!("{flag} {}: cannot read it ({e})", path.display()))
            })?;
        }
    }
    Ok(TlsSettings {
        mode,
        ca,
        cert,
        key,
    })
}

pub fn connection(
    c: ConnectionArgs,
    profile: impl Into<ProfileChoice>,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<ConnectionSettings, Error> {
    if c.connect_timeout == 0 {
        return Err(Error::Usage(
            "--connect-timeout must be at least 1 second".into(),
        ));
    }
    let profile: ProfileChoice = profile.into();
    let chosen = match profile.profile.as_deref().filter(|p| !p.is_empty()) {
        Some(arg) => Some(profile::resolve(arg, settings.profile_dir.as_deref())?),
        // Interactively, with no way of connecting given, offer the saved profiles.
        None if prompt::interactive(quiet)
            && c.host.is_none()
            && c.port.is_none()
            && c.user.is_none()
            && c.socket.is_none() =>
        {
            match profile::directory(settings.profile_dir.as_deref()) {
                Ok(dir) => prompt::pick_profile(&profile::list(&dir)?)?,
                Err(_) => None,
            }
        }
        None => None,
    };
    let (mut conn, from_profile) = match chosen {
        Some(path) => {
            let key = profile_key_from(profile.key, profile.key_env, quiet, false)?;
            let loaded = profile::load(&path, &key)?;
            let conn = loaded.connection(&path, env.home.as_deref())?;
            if let Some(note) = loaded.ssh_note(&path).filter(|_| !quiet) {
                eprintln!("sfdbtools: note: {note}");
            }
            (conn, true)
        }
        None => (ConnectionSettings::default(), false),
    };
    if let Some(host) = c.host {
        conn.host = host;
    }
    if let Some(port) = c.port {
        conn.port = port;
    }
    if let Some(user) = c.user {
        conn.user = user;
    }
    conn.socket = c.socket;
    conn.connect_timeout = std::time::Duration::from_secs(c.connect_timeout);
    conn.tls = tls(c.ssl_mode, c.ssl_ca, c.ssl_cert, c.ssl_key)?;
    conn.server_key = match (c.get_server_public_key, c.server_public_key_path) {
        (_, Some(path)) => {
            // Read now: a wrong file is the user's to fix before anything connects.
            auth::read_pinned(&path).map_err(Error::Usage)?;
            ServerKey::Pinned(path)
        }
        (true, None) => ServerKey::Fetch,
        (false, None) => ServerKey::Refuse,
    };
    let accept_new = c.ssh.ssh_accept_new;
    if let Some(t) = conn.ssh.as_mut() {
        // The profile's tunnel: the flags' timeout, and --ssh-accept-new, apply to it too.
        t.connect_timeout = conn.connect_timeout;
        if accept_new {
            t.unknown_host = UnknownHost::AcceptNew;
        }
    }
    let profile_tunnel = conn.ssh.is_some();
    if let Some(ssh) = ssh_tunnel(c.ssh, profile_tunnel, conn.connect_timeout, env)? {
        if conn.socket.is_some() {
            return Err(Error::Usage(
                "--socket and --ssh-host do not go together: a tunnel reaches a host and port"
                    .into(),
            ));
        }
        conn.ssh = Some(ssh);
    }
    // An encrypted key's passphrase is asked for now, before anything connects; without a
    // terminal, opening the tunnel fails saying the key is encrypted.
    if let Some(SshAuth::Key { path, passphrase }) = conn.ssh.as_mut().map(|t| &mut t.auth)
        && passphrase.is_none()
        && prompt::interactive(quiet)
        && tunnel::key_is_encrypted(path)
    {
        let p = rpassword::prompt_password(format!("Passphrase for SSH key {}: ", path.display()))
            .map_err(|e| Error::Usage(format!("cannot read the key's passphrase: {e}")))?;
        *passphrase = Some(Secret::new(p));
    }
    if let Some(p) = c.password {
        conn.password = Some(Secret::new(p));
    } else if !from_profile {
        conn.password = match env.mysql_pwd.clone() {
            Some(p) => Some(Secret::new(p)),
            None if prompt::interactive(quiet) => {
                let p = rpassword::prompt_password(format!("Password for {}: ", conn.user))
                    .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?;
                Some(Secret::new(p))
            }
            None => None,
        };
    }
    Ok(conn)
}

/// The SSH tunnel of the `--ssh-*` flags, when `--ssh-host` is given. Key auth only from
/// flags (a password prompt and key passphrases are still to come); host keys are checked in
/// `$HOME/.ssh/known_hosts`.
fn ssh_tunnel(
    a: SshArgs,
    profile_tunnel: bool,
    connect_timeout: std::time::Duration,
    env: &Env,
) -> Result<Option<SshSettings>, Error> {
    let Some(host) = a.ssh_host else {
        // --ssh-accept-new alone is fine for a profile's tunnel.
        if a.ssh_port.is_some()
            || a.ssh_user.is_some()
            || a.ssh_identity.is_some()
            || (a.ssh_accept_new && !profile_tunnel)
        {
            return Err(Error::Usage(
                "--ssh-port, --ssh-user, --ssh-identity and --ssh-accept-new need --ssh-host"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let user = a
        .ssh_user
        .ok_or_else(|| Error::Usage("--ssh-host needs --ssh-user (the SSH account)".into()))?;
    let path = a.ssh_identity.ok_or_else(|| {
        Error::Usage("--ssh-host needs --ssh-identity (the private key that logs in)".into())
    })?;
    let home = env.home.clone().ok_or_else(|| {
        Error::Config("HOME is not set: no ~/.ssh/known_hosts to check the SSH host key in".into())
    })?;
    Ok(Some(SshSettings {
        host,
        port: a.ssh_port.unwrap_or(22),
        user,
        auth: SshAuth::Key {
            path,
            passphrase: None,
        },
        known_hosts: home.join(".ssh").join("known_hosts"),
        unknown_host: if a.ssh_accept_new {
            UnknownHost::AcceptNew
        } else {
            UnknownHost::Refuse
        },
        local_port: None,
        connect_timeout,
    }))
}

/// A profile's passphrase: `-k/--profile-key` (or `SFDB_SOURCE_PROFILE_KEY`), else a prompt.
pub fn profile_key(given: Option<String>, quiet: bool, confirm: bool) -> Result<Passphrase, Error> {
    profile_key_from(given, SOURCE_PROFILE_KEY_ENV, quiet, confirm)
}

/// A profile's passphrase: `-k/--profile-key` (or the variable `env`), else a prompt.
fn profile_key_from(
    given: Option<String>,
    env: &str,
    quiet: bool,
    confirm: bool,
) -> Result<Passphrase, Error> {
    match given.filter(|k| !k.trim().is_empty()) {
        Some(k) => Ok(Passphrase::new(Secret::new(k))),
        None => prompt::key(
            quiet,
            "Profile key",
            &format!("missing profile key: pass -k/--profile-key or set {env}"),
            confirm,
        ),
    }
}

/// The profile flags of either end, and the variable that gives their key.
pub struct ProfileChoice {
    profile: Option<String>,
    key: Option<String>,
    key_env: &'static str,
}

impl From<SourceProfileArgs> for ProfileChoice {
    fn from(a: SourceProfileArgs) -> Self {
        ProfileChoice {
            profile: a.profile,
            key: a.profile_key,
            key_env: SOURCE_PROFILE_KEY_ENV,
        }
    }
}

impl From<TargetProfileArgs> for ProfileChoice {
    fn from(a: TargetProfileArgs) -> Self {
        ProfileChoice {
            profile: a.profile,
            key: a.profile_key,
            key_env: TARGET_PROFILE_KEY_ENV,
        }
    }
}

/// The key of a file to read: `-K`, then config `backup.encryption.key`, then
/// `SFDB_BACKUP_ENCRYPTION_KEY` (the backup's order, docs/compat.md §1). None when the file may be plain.
pub fn reading_passphrase(
    flag: Option<String>,
    settings: &Settings,
    env: &Env,
) -> Option<Passphrase> {
    if let Some(k) = flag.filter(|k| !k.trim().is_empty()) {
        return Some(Passphrase::new(Secret::new(k)));
    }
    if let Some(k) = &settings.encryption_key {
        return Some(Passphrase::new(k.clone()));
    }
    env.backup_key
        .clone()
        .map(|k| Passphrase::new(Secret::new(k)))
}

/// The number of worker connections: the flag, or the CPUs (at most 8).
pub fn thread_count(flag: Option<usize>) -> Result<usize, Error> {
    match flag {
        Some(0) => Err(Error::Usage("-j/--threads must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism()
            .map(|n| n.get().min(8))
            .unwrap_or(1)),
    }
}

#[cfg(test)]
pub mod tests {
    //! The rules above, without a terminal (`quiet`, so nothing is asked) and without the
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
        let sealed =
            encrypt::seal_oneshot_with_params(b"x", pass, [0; SALT_LEN], [0; NONCE_LEN], 1)
                .expect("seal");
        let other = Passphrase::new(Secret::new(key));
        encrypt::open_oneshot_with_iterations(&sealed, &other, &[1]).is_ok()
    }

    pub fn env(backup_key: Option<&str>, mysql_pwd: Option<&str>) -> Env {
        Env {
            backup_key: backup_key.map(str::to_owned),
            mysql_pwd: mysql_pwd.map(str::to_owned),
            home: None,
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
        assert_eq!(
            tls(None, None, None, None).unwrap().mode,
            SslMode::Preferred
        );
        // Any readable file will do: the driver parses it when it connects.
        let file = tempfile::NamedTempFile::new().unwrap();
        let ca = || Some(file.path().to_path_buf());
        let with_ca = tls(None, ca(), None, None).unwrap();
        assert_eq!(with_ca.mode, SslMode::VerifyCa);
        let explicit = tls(Some(SslMode::Required), ca(), None, None).unwrap();
        assert_eq!(explicit.mode, SslMode::Required);
        let missing = tls(None, Some("/nonexistent/ca.pem".into()), None, None);
        assert!(
            matches!(&missing, Err(Error::Usage(m)) if m.starts_with("--ssl-ca /nonexistent/ca.pem")),
            "{missing:?}"
        );
        assert!(matches!(
            tls(Some(SslMode::Disabled), Some("/ca.pem".into()), None, None),
            Err(Error::Usage(_))
        ));
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
}

//! What several commands take alike, each resolved in one place by one rule, flags > config
//! file > environment > built-in defaults (the connection: flags > profile > config file >
//! defaults, key by key): the connection (profile, flags, password, TLS, SSH tunnel), the keys
//! of profiles and of backup files to read, the number of worker connections; and [`Env`], the
//! environment variables the binary reads itself.

use std::path::{Path, PathBuf};

use sfdbtools::Error;
use sfdbtools::config::TlsKeys;
use sfdbtools::config::file::{Settings, SshKeys};
use sfdbtools::config::profile::{self, Profile, SshTunnel};
use sfdbtools::connect::auth::{self, ServerKey};
use sfdbtools::connect::tunnel::{self, SshAuth, SshSettings, UnknownHost};
use sfdbtools::connect::{ConnectionSettings, SslMode, TlsSettings};
use sfdbtools::encrypt::{DecryptReader, EncryptError, Passphrase};
use sfdbtools::secret::Secret;

use super::args::{
    ConnectionArgs, SOURCE_PROFILE_ENV, SOURCE_PROFILE_KEY_ENV, SourceProfileArgs, SshArgs,
    TARGET_PROFILE_ENV, TARGET_PROFILE_KEY_ENV, TargetProfileArgs,
};
use super::{hidden, prompt};

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
    /// `SFDB_TARGET_PASSWORD` when set (`db-copy`'s target; before `MYSQL_PWD`).
    pub target_pwd: Option<String>,
    /// `SFDB_REPLICATION_PASSWORD` when set (`db-copy --start-replica`).
    pub replication_pwd: Option<String>,
    /// `HOME`, unless unset or empty: where `~/.ssh/known_hosts` is.
    pub home: Option<std::path::PathBuf>,
    /// `USER`, else `LOGNAME` (unless empty): the SSH user when none is given, as for
    /// OpenSSH's client.
    pub user: Option<String>,
    /// Both ends' profile variables, for the `profile` commands, which serve either end (a
    /// backup or a restore has clap read its own end's).
    pub profiles: ProfileVars,
}

/// `SFDB_SOURCE_PROFILE[_KEY]` and `SFDB_TARGET_PROFILE[_KEY]`, each unless unset or empty.
#[derive(Default)]
pub struct ProfileVars {
    pub source: Option<String>,
    pub source_key: Option<String>,
    pub target: Option<String>,
    pub target_key: Option<String>,
}

impl Env {
    pub fn read() -> Env {
        Env {
            backup_key: std::env::var(BACKUP_KEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            mysql_pwd: std::env::var("MYSQL_PWD").ok(),
            target_pwd: std::env::var(super::args::copy::TARGET_PASSWORD_ENV).ok(),
            replication_pwd: std::env::var(super::args::copy::REPLICATION_PASSWORD_ENV).ok(),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(Into::into),
            user: ["USER", "LOGNAME"]
                .into_iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty())),
            profiles: {
                let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
                ProfileVars {
                    source: var(SOURCE_PROFILE_ENV),
                    source_key: var(SOURCE_PROFILE_KEY_ENV),
                    target: var(TARGET_PROFILE_ENV),
                    target_key: var(TARGET_PROFILE_KEY_ENV),
                }
            },
        }
    }
}

/// Which layer a connection setting came from; the order is the precedence (docs/compat.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Config,
    Profile,
    Flag,
}

/// The profile and config files of a run, which messages about their settings name.
struct Origins<'a> {
    profile: Option<&'a Path>,
    config: Option<&'a Path>,
}

impl Origins<'_> {
    /// How the TLS setting of `flag` ("--ssl-ca") is named in `layer`: the flag, the profile's
    /// key, or the config file's.
    fn tls_name(&self, layer: Layer, flag: &str) -> String {
        let key = flag.trim_start_matches("--");
        let file = |p: Option<&Path>| p.map_or(String::new(), |p| p.display().to_string());
        match layer {
            Layer::Flag => flag.to_owned(),
            Layer::Profile => format!("{key} of profile {}", file(self.profile)),
            Layer::Config => format!(
                "connection.ssl.{} of config file {}",
                key.trim_start_matches("ssl-"),
                file(self.config)
            ),
        }
    }
}

/// The first layer that sets a key: the flag, else the profile, else the config file.
fn pick<T>(flag: Option<T>, profile: Option<T>, config: Option<T>) -> Option<(T, Layer)> {
    flag.map(|v| (v, Layer::Flag))
        .or_else(|| profile.map(|v| (v, Layer::Profile)))
        .or_else(|| config.map(|v| (v, Layer::Config)))
}

/// The TLS settings, key by key: flags > profile > config file > defaults. As in the MySQL
/// client, a CA given (by any layer) without a mode (from any layer) means VERIFY_CA: a CA is
/// given to be checked against. DISABLED drops the files of the layers below it (a flag may
/// turn TLS off for one run whatever the config file says) and refuses those of its own
/// layer or above, which would silently not be used.
fn tls(
    flags: TlsKeys,
    profile: Option<&TlsKeys>,
    config: &TlsKeys,
    from: &Origins,
) -> Result<TlsSettings, Error> {
    let p = profile.cloned().unwrap_or_default();
    let c = config.clone();
    let mode = pick(flags.mode, p.mode, c.mode);
    let mut ca = pick(flags.ca, p.ca, c.ca);
    let mut cert = pick(flags.cert, p.cert, c.cert);
    let mut key = pick(flags.key, p.key, c.key);
    if let Some((SslMode::Disabled, off)) = mode {
        for (flag, file) in [
            ("--ssl-ca", &mut ca),
            ("--ssl-cert", &mut cert),
            ("--ssl-key", &mut key),
        ] {
            match file {
                Some((_, layer)) if *layer >= off => {
                    return Err(Error::Usage(format!(
                        "{} is DISABLED but {} is given: the file would not be used; drop it or \
                         choose another ssl-mode",
                        from.tls_name(off, "--ssl-mode"),
                        from.tls_name(*layer, flag)
                    )));
                }
                _ => *file = None,
            }
        }
    }
    let missing = |(_, layer): &(PathBuf, Layer), has: &str, lacks: &str| {
        Error::Usage(format!(
            "{} is given without {lacks}: a client certificate and its key go together; give \
             {lacks} (as a flag, in the profile, or in the config file's connection.ssl)",
            from.tls_name(*layer, has)
        ))
    };
    match (&cert, &key) {
        (Some(c), None) => return Err(missing(c, "--ssl-cert", "--ssl-key")),
        (None, Some(k)) => return Err(missing(k, "--ssl-key", "--ssl-cert")),
        _ => {}
    }
    // The driver reads them only when it connects, and a missing file then looks like a
    // missing server (its io::Error is NotFound): say it here, naming where it was set.
    for (flag, file) in [
        ("--ssl-ca", &ca),
        ("--ssl-cert", &cert),
        ("--ssl-key", &key),
    ] {
        if let Some((path, layer)) = file {
            std::fs::File::open(path).map_err(|e| {
                Error::Usage(format!(
                    "{} {}: cannot read it ({e})",
                    from.tls_name(*layer, flag),
                    path.display()
                ))
            })?;
        }
    }
    let settings = TlsKeys {
        mode: mode.map(|(m, _)| m),
        ca: ca.map(|(p, _)| p),
        cert: cert.map(|(p, _)| p),
        key: key.map(|(p, _)| p),
    }
    .settings();
    // Their content too, as the row reader reads them: a file that is not PEM, a certificate
    // and a key that do not go together are the user's to fix before anything connects (the
    // server would otherwise be blamed for an "untrusted" certificate).
    settings
        .client_config()
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(settings)
}

/// The connection: the profile's fields (when `-p` is given), each replaced by its flag when
/// the flag is given; TLS and the SSH tunnel key by key from the flags, the profile, the config
/// file (docs/compat.md §7). The password: `--password`, else the profile's, else `MYSQL_PWD`,
/// else a prompt. `MYSQL_PWD` does not override a profile: it is ambient, the profile was
/// asked for.
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
    let loaded: Option<(PathBuf, Profile)> = match chosen {
        Some(path) => {
            let p = open_profile(&path, profile.key, profile.key_env, quiet)?;
            Some((path, p))
        }
        None => None,
    };
    let mut conn = ConnectionSettings::default();
    if let Some((_, p)) = &loaded {
        conn.host = p.host.clone();
        conn.port = p.port;
        conn.user = p.user.clone();
        conn.password = (!p.password.is_empty()).then(|| p.password.clone());
    }
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
    let from = Origins {
        profile: loaded.as_ref().map(|(path, _)| path.as_path()),
        config: settings.source.as_deref(),
    };
    let flags = TlsKeys {
        mode: c.ssl_mode,
        ca: c.ssl_ca,
        cert: c.ssl_cert,
        key: c.ssl_key,
    };
    conn.tls = tls(
        flags,
        loaded.as_ref().map(|(_, p)| &p.tls),
        &settings.tls,
        &from,
    )?;
    conn.server_key = match (c.get_server_public_key, c.server_public_key_path) {
        (_, Some(path)) => {
            // Read now: a wrong file is the user's to fix before anything connects.
            auth::read_pinned(&path).map_err(Error::Usage)?;
            ServerKey::Pinned(path)
        }
        (true, None) => ServerKey::Fetch,
        (false, None) => ServerKey::Refuse,
    };
    let profile_tunnel = loaded.as_ref().and_then(|(_, p)| p.tunnel());
    // A socket is local: the config file's tunnel (a default for every run) is not for it.
    let config_ssh = match conn.socket {
        Some(_) => SshKeys::default(),
        None => settings.ssh.clone(),
    };
    conn.ssh = ssh_tunnel(c.ssh, profile_tunnel, &config_ssh, &from, env)?;
    if let Some(t) = conn.ssh.as_mut() {
        t.connect_timeout = conn.connect_timeout;
        if conn.socket.is_some() {
            return Err(Error::Usage(
                "--socket and an SSH tunnel (--ssh-host, or the profile's [ssh]) do not go \
                 together: a tunnel reaches a host and port"
                    .into(),
            ));
        }
    }
    if let Some((path, p)) = &loaded
        && conn.ssh.is_none()
        && let Some(note) = p.ssh_note(path).filter(|_| !quiet)
    {
        eprintln!("sfdbtools: note: {note}");
    }
    ask_key_passphrases(conn.ssh.as_mut().map(|t| &mut t.auth), quiet)?;
    if let Some(p) = c.password {
        conn.password = Some(Secret::new(p));
    } else if loaded.is_none() {
        conn.password = match env.mysql_pwd.clone() {
            Some(p) => Some(Secret::new(p)),
            None if prompt::interactive(quiet) => {
                let p = hidden::read(&format!("Password for {}: ", conn.describe()))
                    .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?;
                Some(p)
            }
            None => None,
        };
    }
    Ok(conn)
}

/// An encrypted key's passphrase is asked for now, before anything connects. Without a
/// terminal, `--ssh-identity`'s key then fails to load (saying it is encrypted), and an
/// encrypted default key is skipped, with a note.
fn ask_key_passphrases(auth: Option<&mut SshAuth>, quiet: bool) -> Result<(), Error> {
    let ask = |path: &Path, what: &str| {
        hidden::read(&format!(
            "Passphrase for SSH key {}{what}: ",
            path.display()
        ))
        .map_err(|e| {
            Error::Usage(format!(
                "cannot read the passphrase of {}: {e}",
                path.display()
            ))
        })
    };
    // A mistyped passphrase is said at once and asked again (three tries), rather than found
    // out after the database password, as a cryptographic error.
    let ask_until_it_opens = |path: &Path, what: &str| -> Result<Option<Secret>, Error> {
        for attempt in 1..=3 {
            let p = ask(path, what)?;
            if p.is_empty() && !what.is_empty() {
                return Ok(None);
            }
            if tunnel::passphrase_opens(path, &p) {
                return Ok(Some(p));
            }
            eprintln!(
                "sfdbtools: that passphrase does not open {}{}",
                path.display(),
                if attempt < 3 { "; try again" } else { "" }
            );
        }
        Err(Error::Usage(format!(
            "three passphrases did not open the SSH key {}",
            path.display()
        )))
    };
    match auth {
        Some(SshAuth::Key { path, passphrase })
            if passphrase.is_none()
                && prompt::interactive(quiet)
                && tunnel::key_is_encrypted(path) =>
        {
            *passphrase = ask_until_it_opens(path, "")?;
        }
        Some(SshAuth::Keys(keys)) => {
            for k in keys.iter_mut() {
                if k.passphrase.is_some() || !tunnel::key_is_encrypted(&k.path) {
                    continue;
                }
                if prompt::interactive(quiet) {
                    k.passphrase = ask_until_it_opens(&k.path, " (empty: skip this key)")?;
                } else if !quiet {
                    eprintln!(
                        "sfdbtools: note: skipping the encrypted SSH key {}: there is no \
                         terminal to ask its passphrase on (give a key with --ssh-identity)",
                        k.path.display()
                    );
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The SSH tunnel, key by key: `--ssh-*` flags > the profile's enabled `[ssh]` > the config
/// file's `connection.ssh` > OpenSSH's defaults (port 22, the local user, the default keys; see
/// [`SshTunnel::settings`]). There is one when any layer names a host. The login: the flag's
/// key, else the profile's `identity_file` or `ssh_password`, else the config's
/// `identity_file`, else the default keys. A profile's `[ssh]` port counts as set (it
/// defaults to 22 there, as in the old tool). Host keys are checked in
/// `$HOME/.ssh/known_hosts`; `--ssh-accept-new` or `accept_new: true` record unknown ones.
fn ssh_tunnel(
    a: SshArgs,
    profile: Option<&SshTunnel>,
    config: &SshKeys,
    from: &Origins,
    env: &Env,
) -> Result<Option<SshSettings>, Error> {
    let host = pick(
        a.ssh_host,
        profile.and_then(|t| t.host.clone()),
        config.host.clone(),
    );
    let origin = match (&host, profile) {
        (Some((_, Layer::Flag)), _) => "--ssh-host".to_owned(),
        (_, Some(_)) => format!(
            "profile {}",
            from.profile.unwrap_or(Path::new("")).display()
        ),
        (Some(_), None) => format!(
            "config file {} (connection.ssh)",
            from.config.unwrap_or(Path::new("")).display()
        ),
        (None, None) => {
            if a.ssh_port.is_some()
                || a.ssh_user.is_some()
                || a.ssh_identity.is_some()
                || a.ssh_accept_new
            {
                return Err(Error::Usage(
                    "--ssh-port, --ssh-user, --ssh-identity and --ssh-accept-new need \
                     --ssh-host (or a profile \
                     with an enabled [ssh] section, or connection.ssh.host in the config file)"
                        .into(),
                ));
            }
            return Ok(None);
        }
    };
    let mut t = profile.cloned().unwrap_or_default();
    t.host = host.map(|(h, _)| h);
    match (a.ssh_port, profile, config.port) {
        (Some(port), _, _) | (None, None, Some(port)) => t.port = port,
        _ => {}
    }
    t.user = a.ssh_user.or(t.user).or_else(|| config.user.clone());
    if let Some(key) = a.ssh_identity {
        t.identity_file = Some(key.display().to_string());
    } else if t.identity_file.is_none() && t.password.is_none() {
        t.identity_file = config.identity_file.clone();
    }
    let mut ssh = t.settings(&origin, env.home.as_deref(), env.user.as_deref())?;
    if a.ssh_accept_new || config.accept_new == Some(true) {
        ssh.unknown_host = UnknownHost::AcceptNew;
    }
    Ok(Some(ssh))
}

/// A profile's passphrase: `-k/--profile-key` (or the variable `env`, which the message
/// names), else a prompt.
pub fn profile_key_from(
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

/// How many keys typed at the terminal may fail to open a profile or a file before the run
/// ends.
const KEY_TRIES: u32 = 3;

/// The profile at `path`, opened with `-k` or its variable `env` when given (a wrong one ends
/// the run: it was given, not typed), else with a key typed at the terminal
/// ([`typed_profile_key`]).
fn open_profile(
    path: &Path,
    given: Option<String>,
    env: &str,
    quiet: bool,
) -> Result<Profile, Error> {
    if let Some(k) = given.filter(|k| !k.trim().is_empty()) {
        return profile::load(path, &Passphrase::new(Secret::new(k)));
    }
    typed_profile_key(path, env, quiet).map(|(p, _)| p)
}

/// The profile at `path` and its key, typed at the terminal ([`ask_until_it_opens`]); `env`
/// names the variables that could have given it.
pub fn typed_profile_key(
    path: &Path,
    env: &str,
    quiet: bool,
) -> Result<(Profile, Passphrase), Error> {
    // Read once, after the first key (without a terminal, the missing key is the error).
    let mut sealed: Option<Vec<u8>> = None;
    // Named: db-copy may ask for two profiles' keys in a row.
    ask_until_it_opens(
        quiet,
        &format!("Profile key for {}", path.display()),
        &format!("missing profile key: pass -k/--profile-key or set {env}"),
        &format!("profile {}", path.display()),
        &format!(
            "check the key the profile was created with, then pass it with -k/--profile-key \
             or {env}, or type it"
        ),
        |key| {
            let sealed = match &mut sealed {
                Some(s) => s,
                None => sealed.insert(profile::read_sealed(path)?),
            };
            Ok(profile::open_sealed(sealed, path, key)?.map(|p| (p, key.clone())))
        },
    )
}

/// A key typed at the terminal (`what` is the prompt), taken when `open` opens `object` with
/// it; a key that does not, or an empty one, is said and asked again, [`KEY_TRIES`] times in
/// all, then the run ends saying `hint`. Without a terminal: the usage error `missing`.
fn ask_until_it_opens<T>(
    quiet: bool,
    what: &str,
    missing: &str,
    object: &str,
    hint: &str,
    mut open: impl FnMut(&Passphrase) -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    for attempt in 1..=KEY_TRIES {
        let typed = prompt::secret(quiet, what, missing, false)?;
        let again = if attempt < KEY_TRIES {
            "; try again"
        } else {
            ""
        };
        if typed.expose().trim().is_empty() {
            prompt::tell(&format!("sfdbtools: the key is empty{again}"));
            continue;
        }
        if let Some(opened) = open(&Passphrase::new(typed))? {
            return Ok(opened);
        }
        prompt::tell(&format!(
            "sfdbtools: that key does not open {object}{again}"
        ));
    }
    Err(Error::Usage(format!(
        "{KEY_TRIES} keys did not open {object}; {hint}"
    )))
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

/// The key of the backup file `file` to read: [`reading_passphrase`]; else, when the file is
/// encrypted, one typed at the terminal (asked again when it does not open the file,
/// [`KEY_TRIES`] times), or a usage error before anything connects when nobody can type it.
/// A file that cannot be read is left to the run, which says why.
pub fn file_passphrase(
    flag: Option<String>,
    file: &Path,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<Option<Passphrase>, Error> {
    if let Some(p) = reading_passphrase(flag, settings, env) {
        return Ok(Some(p));
    }
    let head = sfdbtools::read::source::head(file, 8);
    if !head.is_ok_and(|h| sfdbtools::encrypt::sniff(&h)) {
        return Ok(None);
    }
    let missing = format!(
        "{} is encrypted: pass its key with -K/--backup-key, config backup.encryption.key or \
         {BACKUP_KEY_ENV}",
        file.display()
    );
    let key = ask_until_it_opens(
        quiet,
        "Backup key",
        &missing,
        &file.display().to_string(),
        &format!(
            "pass the key it was written with (-K/--backup-key, config \
             backup.encryption.key or {BACKUP_KEY_ENV})"
        ),
        |key| {
            let f =
                sfdbtools::read::source::open(file).map_err(|e| Error::file("opening", file, e))?;
            // Any other failure than a wrong key is the run's to report, where it reads.
            Ok(match DecryptReader::new(std::io::BufReader::new(f), key) {
                Err(EncryptError::WrongKey) => None,
                _ => Some(key.clone()),
            })
        },
    )?;
    Ok(Some(key))
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
pub mod tests;

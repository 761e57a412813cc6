//! What several commands take alike, each resolved in one place by one rule, flags > config
//! file > environment > built-in defaults: the connection (profile, flags, password), the keys
//! of profiles and of backup files to read, the number of worker connections; and [`Env`], the
//! environment variables the binary reads itself.

use sfdbtools::Error;
use sfdbtools::connect::ConnectionSettings;
use sfdbtools::encrypt::Passphrase;
use sfdbtools::profile;
use sfdbtools::secret::Secret;
use sfdbtools::settings::Settings;

use super::args::{
    ConnectionArgs, SOURCE_PROFILE_KEY_ENV, SourceProfileArgs, TARGET_PROFILE_KEY_ENV,
    TargetProfileArgs,
};
use super::prompt;

/// The backup's encryption key variable; read after the config's key (compat §1 order).
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
}

impl Env {
    pub fn read() -> Env {
        Env {
            backup_key: std::env::var(BACKUP_KEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            mysql_pwd: std::env::var("MYSQL_PWD").ok(),
        }
    }
}

/// The connection: the profile's fields (when `-p` is given), each replaced by its flag when
/// the flag is given. The password: `--password`, else the profile's, else `MYSQL_PWD`, else a
/// prompt. `MYSQL_PWD` does not override a profile: it is ambient, the profile was asked for.
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
            let conn = loaded.connection(&path)?;
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
/// `SFDB_BACKUP_ENCRYPTION_KEY` (the backup's order, compat §1). None when the file may be plain.
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

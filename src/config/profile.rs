//! Encrypted connection profiles (`<name>.cnf.enc`, docs/compat.md §7): INI text sealed in the one-shot container.
//!
//! The plaintext is what the old tool wrote:
//!
//! ```ini
//! [client]
//! host=10.0.0.5
//! port=3306
//! user=admin
//! password=s3cr3t
//! [ssh]            ; optional: enabled, host, port, user, ssh_password, identity_file, local_port
//! ```
//!
//! Sections and keys are case-insensitive, `;` and `#` start comment lines, a line is split at
//! its first `=` and both sides are trimmed. Keys this version does not use are kept, so
//! `profile edit` never drops what another tool put there. The file is sealed with
//! [`crate::encrypt::seal_oneshot`] (600000 PBKDF2 iterations) and opened with either count.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::connect::ConnectionSettings;
use crate::connect::tunnel::{SshAuth, SshSettings, UnknownHost};
use crate::encrypt::{self, EncryptError, Passphrase};
use crate::error::{Error, Result};
use crate::output::file::AtomicFile;
use crate::secret::Secret;

/// What a bare profile name gets appended when it lacks it.
pub const EXTENSION: &str = ".cnf.enc";

/// Profiles hold passwords: only their owner may read them.
pub const FILE_MODE: u32 = 0o600;

/// The profile directory is created with this mode when `profile create` needs it.
pub const DIR_MODE: u32 = 0o700;

const DEFAULT_PORT: u16 = 3306;
const DEFAULT_SSH_PORT: u16 = 22;

/// A database connection profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Empty when the account has no password.
    pub password: Secret,
    /// The `[ssh]` section, when there is one.
    pub ssh: Option<SshTunnel>,
    /// Keys and sections this version does not use, in file order.
    pub other: Vec<Entry>,
}

/// The `[ssh]` section: a tunnel through a jump host (`enabled=true`: every connection goes
/// through it, see `connect::tunnel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTunnel {
    pub enabled: bool,
    pub host: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub identity_file: Option<String>,
    pub local_port: Option<u16>,
}

/// One `key=value` line of a section this version does not interpret. The value may be a
/// secret, so it is kept as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: Secret,
}

impl Profile {
    /// A profile of plain `[client]` settings.
    pub fn new(host: String, port: u16, user: String, password: Secret) -> Profile {
        Profile {
            host,
            port,
            user,
            password,
            ssh: None,
            other: Vec::new(),
        }
    }

    /// Parses the INI plaintext; `origin` is only named in messages. A line's content is
    /// never quoted in a message: it could be a password.
    pub fn parse(text: &str, origin: &Path) -> Result<Profile> {
        let fail = |line: usize, msg: &str| {
            Error::Config(format!(
                "profile {}: line {line}: {msg}; fix the profile (sfdbtools profile edit) or create it again",
                origin.display()
            ))
        };
        let mut section: Option<String> = None;
        let (mut host, mut port, mut user, mut password) = (None, None, None, None);
        let mut ssh: Option<SshTunnel> = None;
        let mut other = Vec::new();
        for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                // `[ssh]   ; a comment` is how the old tool's template reads.
                let name = rest
                    .split_once(']')
                    .map(|(name, _)| name.trim().to_ascii_lowercase())
                    .ok_or_else(|| fail(n, "a section header without its `]`"))?;
                if name == "ssh" && ssh.is_none() {
                    ssh = Some(SshTunnel::default());
                }
                section = Some(name);
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| fail(n, "expected `key=value`, a `[section]` or a comment"))?;
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            let number = |what: &str| {
                value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail(n, &format!("{what} must be a port number 1-65535")))
            };
            match (section.as_deref(), key.as_str()) {
                (None, _) => return Err(fail(n, "a key before any [section]")),
                (Some("client"), "host") => host = Some(value.to_owned()),
                (Some("client"), "port") => port = Some(number("port")?),
                (Some("client"), "user") => user = Some(value.to_owned()),
                (Some("client"), "password") => password = Some(Secret::new(value)),
                (Some("ssh"), _) => {
                    let t = ssh.get_or_insert_with(SshTunnel::default);
                    match key.as_str() {
                        "enabled" => {
                            t.enabled = parse_bool(value)
                                .ok_or_else(|| fail(n, "[ssh] enabled must be true or false"))?
                        }
                        "host" => t.host = non_empty(value),
                        "port" => t.port = number("[ssh] port")?,
                        "user" => t.user = non_empty(value),
                        "ssh_password" => t.password = Some(Secret::new(value)),
                        "identity_file" => t.identity_file = non_empty(value),
                        "local_port" => t.local_port = Some(number("[ssh] local_port")?),
                        _ => other.push(Entry::new("ssh", &key, value)),
                    }
                }
                (Some(s), _) => other.push(Entry::new(s, &key, value)),
            }
        }
        let missing = |what: &str| {
            Error::Config(format!(
                "profile {}: [client] has no {what}; add it with `sfdbtools profile edit --{what} …`",
                origin.display()
            ))
        };
        Ok(Profile {
            host: host
                .filter(|h| !h.is_empty())
                .ok_or_else(|| missing("host"))?,
            port: port.unwrap_or(DEFAULT_PORT),
            user: user
                .filter(|u| !u.is_empty())
                .ok_or_else(|| missing("user"))?,
            password: password.unwrap_or_default(),
            ssh,
            other,
        })
    }

    /// The INI plaintext (zeroed when dropped: it holds the password).
    pub fn to_ini(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::new());
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "[client]\nhost={}\nport={}\nuser={}\npassword={}\n",
            self.host,
            self.port,
            self.user,
            self.password.expose()
        );
        self.write_other(&mut s, "client");
        if let Some(t) = &self.ssh {
            let _ = writeln!(s, "[ssh]\nenabled={}", t.enabled);
            let optional = [
                ("host", t.host.as_deref()),
                ("user", t.user.as_deref()),
                ("ssh_password", t.password.as_ref().map(Secret::expose)),
                ("identity_file", t.identity_file.as_deref()),
            ];
            let _ = writeln!(s, "port={}", t.port);
            for (k, v) in optional {
                if let Some(v) = v {
                    let _ = writeln!(s, "{k}={v}");
                }
            }
            if let Some(p) = t.local_port {
                let _ = writeln!(s, "local_port={p}");
            }
            self.write_other(&mut s, "ssh");
        }
        let mut sections: Vec<&str> = Vec::new();
        for e in &self.other {
            if e.section != "client"
                && e.section != "ssh"
                && !sections.contains(&e.section.as_str())
            {
                sections.push(&e.section);
            }
        }
        for section in sections {
            let _ = writeln!(s, "[{section}]");
            self.write_other(&mut s, section);
        }
        s
    }

    fn write_other(&self, s: &mut String, section: &str) {
        for e in self.other.iter().filter(|e| e.section == section) {
            let _ = writeln!(s, "{}={}", e.key, e.value.expose());
        }
    }

    /// Refuses values the INI form cannot carry back unchanged (a line break, surrounding
    /// spaces, which reading trims), so a saved profile always reads back as it was given.
    pub fn check_storable(&self) -> Result<()> {
        let fields = [
            ("host", self.host.as_str()),
            ("user", self.user.as_str()),
            ("password", self.password.expose()),
        ];
        for (what, value) in fields {
            if value.contains(['\n', '\r']) || value.trim() != value {
                return Err(Error::Usage(format!(
                    "the {what} cannot be stored in a profile: it has a line break or surrounding \
                     spaces, which the profile format does not keep"
                )));
            }
        }
        if self.host.is_empty() || self.user.is_empty() {
            return Err(Error::Usage("a profile needs a host and a user".into()));
        }
        Ok(())
    }

    /// Where and as whom to connect, through the `[ssh]` tunnel when it is enabled. `home` is
    /// where `~/.ssh/known_hosts` (the tunnel's host keys) and a `~/` identity file are.
    pub fn connection(&self, origin: &Path, home: Option<&Path>) -> Result<ConnectionSettings> {
        let ssh = match self.ssh.as_ref().filter(|t| t.enabled) {
            Some(t) => Some(t.settings(origin, home)?),
            None => None,
        };
        Ok(ConnectionSettings {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            ssh,
            ..ConnectionSettings::default()
        })
    }

    /// A note for the operator when the profile has an `[ssh]` section that is switched off.
    pub fn ssh_note(&self, origin: &Path) -> Option<String> {
        self.ssh.as_ref().filter(|t| !t.enabled).map(|_| {
            format!(
                "profile {} has an [ssh] section with enabled=false: connecting directly to {}:{}",
                origin.display(),
                self.host,
                self.port
            )
        })
    }

    /// A human-readable listing; the passwords are shown only when `reveal` is set.
    pub fn describe(&self, origin: &Path, reveal: bool) -> String {
        let hide = |s: &Secret| match (s.is_empty(), reveal) {
            (true, _) => "(none)".to_owned(),
            (false, true) => s.expose().to_owned(),
            (false, false) => "******** (--reveal-password shows it)".to_owned(),
        };
        let mut s = String::new();
        let _ = writeln!(s, "profile:  {}", origin.display());
        let _ = writeln!(s, "host:     {}", self.host);
        let _ = writeln!(s, "port:     {}", self.port);
        let _ = writeln!(s, "user:     {}", self.user);
        let _ = writeln!(s, "password: {}", hide(&self.password));
        match &self.ssh {
            None => {
                let _ = writeln!(s, "ssh:      none");
            }
            Some(t) => {
                let state = if t.enabled {
                    "enabled (every connection goes through it)"
                } else {
                    "disabled (ignored)"
                };
                let _ = writeln!(s, "ssh:      {state}");
                let _ = writeln!(
                    s,
                    "  via:    {}@{}:{}",
                    t.user.as_deref().unwrap_or("?"),
                    t.host.as_deref().unwrap_or("?"),
                    t.port
                );
                if let Some(f) = &t.identity_file {
                    let _ = writeln!(s, "  identity_file: {f}");
                }
                if let Some(p) = &t.password {
                    let _ = writeln!(s, "  ssh_password: {}", hide(p));
                }
                if let Some(p) = t.local_port {
                    let _ = writeln!(s, "  local_port: {p}");
                }
            }
        }
        for e in &self.other {
            // Unknown keys might be secrets too.
            let value = if reveal { e.value.expose() } else { "…" };
            let _ = writeln!(s, "[{}] {}={value}", e.section, e.key);
        }
        s
    }
}

impl SshTunnel {
    /// The tunnel's settings: key auth when `identity_file` is set, else `ssh_password`. An
    /// unknown host key is refused (`--ssh-accept-new` changes that).
    fn settings(&self, origin: &Path, home: Option<&Path>) -> Result<SshSettings> {
        let fail = |what: &str| {
            Error::Config(format!(
                "profile {}: its [ssh] section enables a tunnel but {what}; fix the profile \
                 (sfdbtools profile edit)",
                origin.display()
            ))
        };
        let host = self.host.clone().filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| fail("has no host"))?;
        let user = self.user.clone().filter(|u| !u.is_empty());
        let user = user.ok_or_else(|| fail("has no user"))?;
        let home = home.ok_or_else(|| {
            fail("HOME is not set: there is no ~/.ssh/known_hosts to check the host key in")
        })?;
        let auth = match (&self.identity_file, &self.password) {
            (Some(f), _) if !f.is_empty() => SshAuth::Key {
                path: match f.strip_prefix("~/") {
                    Some(rest) => home.join(rest),
                    None => PathBuf::from(f),
                },
                passphrase: None,
            },
            (_, Some(p)) if !p.is_empty() => SshAuth::Password(p.clone()),
            _ => return Err(fail("has neither identity_file nor ssh_password")),
        };
        Ok(SshSettings {
            host,
            port: self.port,
            user,
            auth,
            known_hosts: home.join(".ssh").join("known_hosts"),
            unknown_host: UnknownHost::Refuse,
            local_port: self.local_port,
            connect_timeout: crate::connect::DEFAULT_CONNECT_TIMEOUT,
        })
    }
}

impl Default for SshTunnel {
    fn default() -> Self {
        SshTunnel {
            enabled: false,
            host: None,
            port: DEFAULT_SSH_PORT,
            user: None,
            password: None,
            identity_file: None,
            local_port: None,
        }
    }
}

impl Entry {
    fn new(section: &str, key: &str, value: &str) -> Entry {
        Entry {
            section: section.to_owned(),
            key: key.to_owned(),
            value: Secret::new(value),
        }
    }
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Reads and decrypts a profile (600000 or, for files of v1.0.0–v1.0.5, 100000 iterations).
pub fn load(path: &Path, key: &Passphrase) -> Result<Profile> {
    let sealed = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Config(format!(
            "profile {} does not exist; `sfdbtools profile list` shows the profiles",
            path.display()
        )),
        _ => Error::file("reading the profile", path, e),
    })?;
    let plain = encrypt::open_oneshot(&sealed, key).map_err(|e| {
        let hint = match e {
            EncryptError::WrongKey => {
                "; check the profile key (-k/--profile-key or SFDB_SOURCE_PROFILE_KEY)"
            }
            _ => "",
        };
        Error::Config(format!("cannot open profile {}: {e}{hint}", path.display()))
    })?;
    let text = std::str::from_utf8(&plain).map_err(|_| {
        Error::Config(format!(
            "profile {}: the decrypted profile is not UTF-8 text",
            path.display()
        ))
    })?;
    Profile::parse(text, path)
}

/// Seals and writes a profile atomically with mode 0600. `replace` allows an existing file
/// to be replaced (edit); otherwise an existing file is an error (create).
pub fn save(path: &Path, key: &Passphrase, profile: &Profile, replace: bool) -> Result<()> {
    profile.check_storable()?;
    let sealed = encrypt::seal_oneshot(profile.to_ini().as_bytes(), key)
        .map_err(|e| Error::Config(format!("cannot encrypt profile {}: {e}", path.display())))?;
    let opened = if replace {
        AtomicFile::replacing(path, FILE_MODE)
    } else {
        AtomicFile::create(path, FILE_MODE)
    };
    let mut file = opened.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Usage(format!(
            "profile {} already exists; change it with `sfdbtools profile edit` or delete it first",
            path.display()
        )),
        _ => Error::file("creating the profile", path, e),
    })?;
    file.write_all(&sealed)
        .map_err(|e| Error::file("writing the profile", path, e))?;
    file.finish()
        .map_err(|e| Error::file("completing the profile", path, e))?;
    Ok(())
}

/// The file a `--profile` value names: an absolute or relative path (anything with a `/`) as
/// it is; a bare name in the profile [`directory`] (from `configured`), with [`EXTENSION`]
/// appended when it lacks it. The directory is only looked for when a bare name needs it.
pub fn resolve(arg: &str, configured: Option<&Path>) -> Result<PathBuf> {
    if arg.trim().is_empty() || arg == "." || arg == ".." {
        return Err(Error::Usage(format!(
            "{arg:?} is not a profile name: give a bare name or a path"
        )));
    }
    if arg.contains('/') {
        return Ok(PathBuf::from(arg));
    }
    let name = if arg.ends_with(EXTENSION) {
        arg.to_owned()
    } else {
        format!("{arg}{EXTENSION}")
    };
    Ok(directory(configured)?.join(name))
}

/// Where bare profile names live: config `config_dir.database_profile`, else
/// `$XDG_CONFIG_HOME/sfdbtools/profiles` (`~/.config/sfdbtools/profiles`): per user, since a
/// profile holds a password and creating one should not need root.
pub fn directory(configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = configured {
        return Ok(dir.to_owned());
    }
    let base = crate::config::file::user_config_home().ok_or_else(|| {
        Error::Config(
            "no profile directory: set config_dir.database_profile in the config, or HOME".into(),
        )
    })?;
    Ok(base.join("sfdbtools").join("profiles"))
}

/// The profile files in `dir`, sorted by name; none when the directory does not exist.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::file("listing the profiles in", dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.ends_with(EXTENSION) && !n.starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A profile's name: its file name without [`EXTENSION`].
pub fn name_of(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.strip_suffix(EXTENSION).unwrap_or(&file).to_owned()
}

/// Deletes a profile file after checking it is one (an encrypted container), so a mistyped
/// path cannot remove some other file.
pub fn delete(path: &Path) -> Result<()> {
    let mut head = [0u8; 8];
    let is_container = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .map(|()| encrypt::sniff(&head));
    match is_container {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::Usage(format!(
                "{} is not an encrypted profile; not deleting it",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "profile {} does not exist",
                path.display()
            )));
        }
        Err(e) => return Err(Error::file("reading the profile", path, e)),
    }
    std::fs::remove_file(path).map_err(|e| Error::file("deleting the profile", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encrypt::{LEGACY_ITERATIONS, seal_oneshot_with_params};
    use std::os::unix::fs::PermissionsExt;

    fn origin() -> &'static Path {
        Path::new("/p/test.cnf.enc")
    }

    #[test]
    fn the_old_tools_ini_parses() {
        let text = "\u{feff}; written by sfDBTools\r\n[Client]\r\nHOST = 10.0.0.5\r\nport=3307\r\n\
                    user=admin\r\n# a comment\r\npassword=p=w;#x \r\n\r\n[ssh]   ; optional\r\n\
                    Enabled=False\r\nhost=jump\r\nuser=ops\r\nssh_password=pw2\r\n\
                    identity_file=/k/id\r\nlocal_port=3310\r\n";
        let p = Profile::parse(text, origin()).unwrap();
        assert_eq!(p.host, "10.0.0.5");
        assert_eq!(p.port, 3307);
        assert_eq!(p.user, "admin");
        assert_eq!(p.password.expose(), "p=w;#x", "split at the first `=` only");
        let t = p.ssh.as_ref().unwrap();
        assert!(!t.enabled);
        assert_eq!(t.host.as_deref(), Some("jump"));
        assert_eq!(t.port, 22);
        assert_eq!(t.user.as_deref(), Some("ops"));
        assert_eq!(t.password.as_ref().unwrap().expose(), "pw2");
        assert_eq!(t.identity_file.as_deref(), Some("/k/id"));
        assert_eq!(t.local_port, Some(3310));
        assert!(p.other.is_empty());
        assert!(p.connection(origin(), None).is_ok());
        assert!(p.ssh_note(origin()).unwrap().contains("enabled=false"));
    }

    #[test]
    fn defaults_and_missing_fields() {
        let p = Profile::parse("[client]\nhost=h\nuser=u\n", origin()).unwrap();
        assert_eq!((p.port, p.password.is_empty()), (3306, true));
        assert_eq!(p.connection(origin(), None).unwrap().password, None);
        for (text, needle) in [
            ("[client]\nuser=u\n", "no host"),
            ("[client]\nhost=h\n", "no user"),
            ("host=h\n", "line 1: a key before any [section]"),
            ("[client]\nhost=h\nport=99999\n", "line 3: port"),
            ("[client]\nhost\n", "line 2: expected `key=value`"),
            ("[client\n", "line 1: a section header"),
            (
                "[client]\nhost=h\nuser=u\n[ssh]\nenabled=perhaps\n",
                "line 5: [ssh] enabled",
            ),
        ] {
            let e = Profile::parse(text, origin()).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e}");
            assert!(e.contains("/p/test.cnf.enc"), "{e}");
        }
    }

    #[test]
    fn a_parse_error_never_quotes_the_line() {
        let e = Profile::parse("[client]\nhunter2secret\n", origin())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2secret"), "{e}");
    }

    #[test]
    fn an_enabled_tunnel_becomes_the_connection_s_ssh_settings() {
        let p = Profile::parse(
            "[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\nhost=jump\nport=2222\nuser=ops\n\
             identity_file=~/.ssh/id_ed25519\nssh_password=pw\nlocal_port=3307\n",
            origin(),
        )
        .unwrap();
        let c = p
            .connection(origin(), Some(Path::new("/home/ops")))
            .unwrap();
        assert_eq!((c.host.as_str(), c.port), ("db", 3306));
        let t = c.ssh.expect("a tunnel");
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("jump", 2222, "ops")
        );
        assert_eq!(t.local_port, Some(3307));
        assert_eq!(t.known_hosts, Path::new("/home/ops/.ssh/known_hosts"));
        assert_eq!(t.unknown_host, UnknownHost::Refuse);
        // The key wins over the password, and ~/ is the home directory.
        assert!(
            matches!(&t.auth, SshAuth::Key { path, .. } if path == Path::new("/home/ops/.ssh/id_ed25519"))
        );

        let p = Profile::parse(
            "[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\nhost=jump\nuser=ops\nssh_password=pw\n",
            origin(),
        )
        .unwrap();
        let t = p
            .connection(origin(), Some(Path::new("/h")))
            .unwrap()
            .ssh
            .unwrap();
        assert!(matches!(&t.auth, SshAuth::Password(p) if p.expose() == "pw"));
        assert_eq!(t.port, 22);
    }

    #[test]
    fn an_incomplete_tunnel_is_refused_with_the_profile_named() {
        for (section, missing) in [
            (
                "host=jump\nuser=ops\n",
                "neither identity_file nor ssh_password",
            ),
            ("user=ops\nssh_password=pw\n", "no host"),
            ("host=jump\nssh_password=pw\n", "no user"),
        ] {
            let p = Profile::parse(
                &format!("[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\n{section}"),
                origin(),
            )
            .unwrap();
            let e = p.connection(origin(), Some(Path::new("/h"))).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let e = e.to_string();
            assert!(e.contains(missing) && e.contains("/p/test.cnf.enc"), "{e}");
        }
    }

    #[test]
    fn ini_round_trips_including_unknown_keys() {
        let text = "[client]\nhost=h\nport=1\nuser=u\npassword=pw\nsocket=/s\n[ssh]\nenabled=true\n\
                    host=j\nport=2222\nkeepalive=5\n[extra]\na=b\n";
        let p = Profile::parse(text, origin()).unwrap();
        assert_eq!(p.other.len(), 3);
        let again = Profile::parse(&p.to_ini(), origin()).unwrap();
        assert_eq!(again, p);
        assert!(p.to_ini().contains("[extra]\na=b\n"));
    }

    #[test]
    fn values_the_format_cannot_keep_are_refused() {
        for pw in ["two\nlines", " padded", "trailing "] {
            let p = Profile::new("h".into(), 1, "u".into(), Secret::new(pw));
            assert!(p.check_storable().is_err(), "{pw:?}");
        }
        let p = Profile::new("h".into(), 1, "u".into(), Secret::new("in ner=;#"));
        p.check_storable().unwrap();
    }

    #[test]
    fn show_hides_the_passwords_unless_asked() {
        let text = "[client]\nhost=h\nuser=u\npassword=hunter2\n[ssh]\nssh_password=jump2\n[x]\ntoken=t0k3n\n";
        let p = Profile::parse(text, origin()).unwrap();
        let hidden = p.describe(origin(), false);
        for secret in ["hunter2", "jump2", "t0k3n"] {
            assert!(!hidden.contains(secret), "{hidden}");
            assert!(p.describe(origin(), true).contains(secret));
        }
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn save_and_load_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.cnf.enc");
        let key = Passphrase::from("k");
        let p = Profile::new("db".into(), 3307, "me".into(), Secret::new("pw"));
        save(&path, &key, &p, false).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path, &key).unwrap(), p);
        assert!(
            save(&path, &key, &p, false).is_err(),
            "create never overwrites"
        );
        let mut changed = p.clone();
        changed.port = 1;
        save(&path, &key, &changed, true).unwrap();
        assert_eq!(load(&path, &key).unwrap().port, 1);
        let e = load(&path, &Passphrase::from("wrong"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong key") && e.contains("prod.cnf.enc"), "{e}");
        assert_eq!(files_in(dir.path()), ["prod.cnf.enc"], "no temp file left");
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn legacy_profiles_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.cnf.enc");
        let key = Passphrase::from("k");
        let sealed = seal_oneshot_with_params(
            b"[client]\nhost=old\nuser=u\npassword=p\n",
            &key,
            rand::random(),
            rand::random(),
            LEGACY_ITERATIONS,
        )
        .unwrap();
        std::fs::write(&path, sealed).unwrap();
        assert_eq!(load(&path, &key).unwrap().host, "old");
    }

    #[test]
    fn names_resolve_to_paths() {
        let dir = Some(Path::new("/profiles"));
        assert_eq!(
            resolve("prod", dir).unwrap(),
            Path::new("/profiles/prod.cnf.enc")
        );
        assert_eq!(
            resolve("prod.cnf.enc", dir).unwrap(),
            Path::new("/profiles/prod.cnf.enc")
        );
        assert_eq!(resolve("./prod", dir).unwrap(), Path::new("./prod"));
        assert_eq!(
            resolve("a/b.cnf.enc", dir).unwrap(),
            Path::new("a/b.cnf.enc")
        );
        assert_eq!(resolve("/x/y", dir).unwrap(), Path::new("/x/y"));
        assert!(resolve("", dir).is_err());
        assert!(resolve("..", dir).is_err());
        assert_eq!(name_of(Path::new("/profiles/prod.cnf.enc")), "prod");
    }

    #[test]
    fn list_and_delete_touch_only_profiles() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
        let key = Passphrase::from("k");
        let p = Profile::new("h".into(), 1, "u".into(), Secret::default());
        for name in ["b", "a"] {
            save(
                &dir.path().join(format!("{name}{EXTENSION}")),
                &key,
                &p,
                false,
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::write(dir.path().join("fake.cnf.enc"), "plain text").unwrap();
        let names: Vec<String> = list(dir.path())
            .unwrap()
            .iter()
            .map(|p| name_of(p))
            .collect();
        assert_eq!(names, ["a", "b", "fake"]);
        assert!(delete(&dir.path().join("fake.cnf.enc")).is_err());
        assert!(delete(&dir.path().join("nope.cnf.enc")).is_err());
        delete(&dir.path().join("a.cnf.enc")).unwrap();
        assert_eq!(
            files_in(dir.path()),
            ["b.cnf.enc", "fake.cnf.enc", "notes.txt"]
        );
    }
}

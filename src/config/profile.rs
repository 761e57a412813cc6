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
//! ssl-mode=VERIFY_IDENTITY   ; optional, added: ssl-mode, ssl-ca, ssl-cert, ssl-key
//! [ssh]            ; optional: enabled, host, port, user, ssh_password, identity_file, local_port
//! ```
//!
//! The TLS keys are spelt as MySQL option files spell them (`ssl_ca` too). Sections and keys are
//! case-insensitive, `;` and `#` start comment lines, a line is split at
//! its first `=` and both sides are trimmed. Keys this version does not use are kept, so
//! `profile edit` never drops what another tool put there. The file is sealed with
//! [`crate::encrypt::seal_oneshot`] (600000 PBKDF2 iterations) and opened with either count.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{TlsKeys, parse_ssl_mode};
use crate::connect::ConnectionSettings;
use crate::connect::tunnel::{self, KeyFile, SshAuth, SshSettings, UnknownHost};
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
    /// `[client]`'s `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key` (added: the old tool had no TLS).
    pub tls: TlsKeys,
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
            tls: TlsKeys::default(),
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
        let mut tls = TlsKeys::default();
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
                (Some("client"), "ssl-mode" | "ssl_mode") => {
                    tls.mode = Some(parse_ssl_mode(value).map_err(|e| fail(n, &e))?)
                }
                (Some("client"), "ssl-ca" | "ssl_ca") => tls.ca = non_empty(value).map(Into::into),
                (Some("client"), "ssl-cert" | "ssl_cert") => {
                    tls.cert = non_empty(value).map(Into::into)
                }
                (Some("client"), "ssl-key" | "ssl_key") => {
                    tls.key = non_empty(value).map(Into::into)
                }
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
            tls,
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
        if let Some(mode) = self.tls.mode {
            let _ = writeln!(s, "ssl-mode={}", mode.name());
        }
        for (k, v) in self.tls_files() {
            let _ = writeln!(s, "{k}={v}");
        }
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

    /// The TLS files that are set, as `(key, path)`.
    fn tls_files(&self) -> impl Iterator<Item = (&'static str, std::path::Display<'_>)> {
        [
            ("ssl-ca", &self.tls.ca),
            ("ssl-cert", &self.tls.cert),
            ("ssl-key", &self.tls.key),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.display())))
    }

    fn write_other(&self, s: &mut String, section: &str) {
        for e in self.other.iter().filter(|e| e.section == section) {
            let _ = writeln!(s, "{}={}", e.key, e.value.expose());
        }
    }

    /// Refuses values the INI form cannot carry back unchanged (a line break, surrounding
    /// spaces, which reading trims), so a saved profile always reads back as it was given.
    pub fn check_storable(&self) -> Result<()> {
        let files: Vec<(&str, String)> =
            self.tls_files().map(|(k, v)| (k, v.to_string())).collect();
        let fields = [
            ("host", self.host.as_str()),
            ("user", self.user.as_str()),
            ("password", self.password.expose()),
        ]
        .into_iter()
        .chain(files.iter().map(|(k, v)| (*k, v.as_str())));
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
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(Error::Usage(
                "a profile's client certificate needs its key: give both --ssl-cert and --ssl-key"
                    .into(),
            ));
        }
        if let Some(t) = self.ssh.as_ref().filter(|t| t.enabled) {
            if t.host.as_deref().is_none_or(str::is_empty) {
                return Err(Error::Usage(
                    "a profile's [ssh] tunnel needs its host: give --ssh-host (or --no-ssh to \
                     switch the tunnel off)"
                        .into(),
                ));
            }
            let ssh_fields = [
                ("SSH host", t.host.as_deref()),
                ("SSH user", t.user.as_deref()),
                ("SSH identity file", t.identity_file.as_deref()),
                ("SSH password", t.password.as_ref().map(Secret::expose)),
            ];
            for (what, value) in ssh_fields {
                if value.is_some_and(|v| v.contains(['\n', '\r']) || v.trim() != v) {
                    return Err(Error::Usage(format!(
                        "the {what} cannot be stored in a profile: it has a line break or \
                         surrounding spaces, which the profile format does not keep"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Where and as whom to connect, with the profile's TLS keys, through the `[ssh]` tunnel
    /// when it is enabled: the profile alone (the binary layers flags and the config file over
    /// it). `home` is where `~/.ssh/known_hosts` (the tunnel's host keys), a `~/` identity file
    /// and the default keys are.
    pub fn connection(&self, origin: &Path, home: Option<&Path>) -> Result<ConnectionSettings> {
        let ssh = match self.tunnel() {
            Some(t) => {
                let origin = format!("profile {}", origin.display());
                Some(t.settings(&origin, home, None)?)
            }
            None => None,
        };
        Ok(ConnectionSettings {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            tls: self.tls.settings(),
            ssh,
            ..ConnectionSettings::default()
        })
    }

    /// The `[ssh]` section when it is enabled.
    pub fn tunnel(&self) -> Option<&SshTunnel> {
        self.ssh.as_ref().filter(|t| t.enabled)
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
        let mode = match self.tls.mode {
            Some(m) => m.name(),
            None if self.tls.ca.is_some() => "(not set: VERIFY_CA, since ssl-ca is)",
            None => "(not set: PREFERRED)",
        };
        let _ = writeln!(s, "ssl-mode: {mode}");
        for (k, v) in self.tls_files() {
            let _ = writeln!(s, "{:<10}{v}", format!("{k}:"));
        }
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
                    t.user.as_deref().unwrap_or("$USER"),
                    t.host.as_deref().unwrap_or("?"),
                    t.port
                );
                if let Some(f) = &t.identity_file {
                    let _ = writeln!(s, "  identity_file: {f}");
                } else if t.password.is_none() {
                    let _ = writeln!(
                        s,
                        "  identity_file: (not set: the default keys ~/.ssh/{})",
                        tunnel::DEFAULT_IDENTITIES.join(", ~/.ssh/")
                    );
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
    /// The tunnel's settings, as OpenSSH's client would make them: key auth when
    /// `identity_file` is set, else `ssh_password`, else the default keys that exist in
    /// `~/.ssh` ([`tunnel::default_identities`], tried in order); the user, when not set, is
    /// `local_user` (the local account's name). An unknown host key is refused
    /// (`--ssh-accept-new` changes that). `origin` names where the settings came from in
    /// messages ("profile /p/prod.cnf.enc", or the layers the binary merged).
    pub fn settings(
        &self,
        origin: &str,
        home: Option<&Path>,
        local_user: Option<&str>,
    ) -> Result<SshSettings> {
        let fail = |what: &str| {
            Error::Usage(format!(
                "{origin}: the SSH tunnel {what}; fix the profile's [ssh] section (sfdbtools \
                 profile edit), or give the --ssh-* flags"
            ))
        };
        let host = self.host.clone().filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| fail("has no host"))?;
        let user = self
            .user
            .as_deref()
            .or(local_user)
            .filter(|u| !u.is_empty());
        let user = user
            .ok_or_else(|| fail("has no user (and $USER and $LOGNAME are not set)"))?
            .to_owned();
        let home = home.ok_or_else(|| {
            fail("cannot check the host key: HOME is not set, so there is no ~/.ssh/known_hosts")
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
            _ => {
                let keys = tunnel::default_identities(home);
                if keys.is_empty() {
                    return Err(fail(&format!(
                        "has neither identity_file nor ssh_password (nor --ssh-identity, nor \
                         the config file's connection.ssh.identity_file), and none of the \
                         default keys {} exists: there is nothing to log in with",
                        tunnel::DEFAULT_IDENTITIES
                            .map(|k| format!("~/.ssh/{k}"))
                            .join(", ")
                    )));
                }
                SshAuth::Keys(
                    keys.into_iter()
                        .map(|path| KeyFile {
                            path,
                            passphrase: None,
                        })
                        .collect(),
                )
            }
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
    let sealed = read_sealed(path)?;
    open_sealed(&sealed, path, key)?.ok_or_else(|| {
        Error::Config(format!(
            "cannot open profile {}: {}; check the profile key (-k/--profile-key, or \
             SFDB_SOURCE_PROFILE_KEY for a backup's, SFDB_TARGET_PROFILE_KEY for a restore's)",
            path.display(),
            EncryptError::WrongKey
        ))
    })
}

/// The sealed bytes of the profile at `path`, for [`open_sealed`]: read once however many
/// keys are tried on it.
pub fn read_sealed(path: &Path) -> Result<Vec<u8>> {
    crate::limits::read_file(path, crate::limits::PROFILE_FILE, "profile").map_err(|e| {
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::Config(format!(
                "profile {} does not exist; `sfdbtools profile list` shows the profiles",
                path.display()
            )),
            _ => Error::file("reading the profile", path, e),
        }
    })
}

/// The profile sealed in `sealed` (read from `path`), or None when `key` does not open it.
pub fn open_sealed(sealed: &[u8], path: &Path, key: &Passphrase) -> Result<Option<Profile>> {
    let plain = match encrypt::open_oneshot(sealed, key) {
        Ok(plain) => plain,
        Err(EncryptError::WrongKey) => return Ok(None),
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot open profile {}: {e}",
                path.display()
            )));
        }
    };
    let text = std::str::from_utf8(&plain).map_err(|_| {
        Error::Config(format!(
            "profile {}: the decrypted profile is not UTF-8 text",
            path.display()
        ))
    })?;
    Profile::parse(text, path).map(Some)
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
mod tests;

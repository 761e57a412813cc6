//! The YAML config file (docs/compat.md §7): where it is, and its values checked key by key. Read only.
//!
//! Every value is optional here: `None` means "the file does not say", and the CLI then uses its
//! flag or the built-in default (flags > config > defaults). The file is never written: the old
//! tool rewrote it on every run, which destroyed operators' comments and formatting.
//!
//! Keys are matched case-insensitively (the old tool read its config through viper, which does
//! the same). A key this version does not know is a warning, not an error, so one config file
//! can serve the old and the new tool; a known key with a value of the wrong kind is an error
//! naming the key, so a typo in a value never silently falls back to a default.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

mod old_tool;

use super::{TlsKeys, parse_ssl_mode};
use crate::compress::{Codec, Level};
use crate::connect::SslMode;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Environment variable naming the config file explicitly.
pub const CONFIG_ENV: &str = "SFDB_APPS_CONFIG";

/// The system-wide config file of the old tool.
pub const SYSTEM_CONFIG: &str = "/etc/sfDBTools/config.yaml";

/// The output directory pattern under `backup.output.base_directory` when the config sets none.
pub const DEFAULT_PATTERN: &str = "{year}{month}{day}/";

/// Placeholders `backup.output.structure.pattern` may use (see `dump::naming::expand_pattern`).
const PATTERN_PLACEHOLDERS: [&str; 7] = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "timestamp",
];

/// What the config file says. `None` or empty: the file does not set it.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The file these came from; `None` when no config file exists.
    pub source: Option<PathBuf>,
    /// Unknown keys and values that have no effect, for the binary to print.
    pub warnings: Vec<String>,

    /// `backup.compression.type`
    pub compression_type: Option<Codec>,
    /// `backup.compression.level`
    pub compression_level: Option<Level>,
    /// `backup.compression.enabled`: `false` means no compression whatever the type says.
    pub compression_enabled: Option<bool>,
    /// `backup.encryption.enabled`: `false` means no encryption unless `-K` is given.
    pub encryption_enabled: Option<bool>,
    /// `backup.encryption.key` (an empty value counts as unset).
    pub encryption_key: Option<Secret>,

    /// `backup.exclude.system_databases`
    pub exclude_system_databases: Option<bool>,
    /// `backup.exclude.data`: schema only.
    pub exclude_data: Option<bool>,
    /// `backup.exclude.empty`: skip databases without tables.
    pub exclude_empty: Option<bool>,
    /// `backup.exclude.user`: `true` means no grants file (read here, used by grants export).
    pub exclude_user: Option<bool>,
    /// `backup.exclude.databases` (for database selection).
    pub exclude_databases: Vec<String>,
    /// `backup.exclude.file`: a list file, one name per line (for database selection).
    pub exclude_file: Option<PathBuf>,
    /// `backup.include.databases` (for database selection).
    pub include_databases: Vec<String>,
    /// `backup.include.file` (for database selection).
    pub include_file: Option<PathBuf>,
    /// `backup.include.include_dmart` (for primary/secondary).
    pub include_dmart: Option<bool>,

    /// `backup.output.base_directory`
    pub base_directory: Option<PathBuf>,
    /// `backup.output.structure.pattern`, checked: relative, known placeholders only.
    pub structure_pattern: Option<String>,
    /// `backup.output.file_permissions`, permission bits of dump files.
    pub file_permissions: Option<u32>,
    /// `backup.output.metadata_permissions`, permission bits of `.meta.json` files.
    pub metadata_permissions: Option<u32>,
    /// `backup.output.save_backup_info`: false writes no `.meta.json`.
    pub save_backup_info: Option<bool>,
    /// `backup.replication.capture_gtid`: false reads no GTID/binlog position.
    pub capture_gtid: Option<bool>,
    /// `backup.cleanup.days`: the default of `cleanup --days` and the age for
    /// `backup.cleanup.enabled`; 0 is the old tool's "no cleanup" (its packaged value).
    pub cleanup_days: Option<u64>,
    /// `backup.cleanup.enabled`: remove old sets after a successful backup (`cli::backup`).
    pub cleanup_enabled: Option<bool>,
    /// `backup.metrics.file`: the Prometheus metrics file of `--metrics-file` (ours: the old
    /// tool had none).
    pub metrics_file: Option<PathBuf>,
    /// `backup.mysqldump_args`: options of the mysqldump engine (a string split at whitespace,
    /// or a list of strings taken as they are).
    pub mysqldump_args: Option<Vec<String>>,
    /// `config_dir.database_profile`: where bare profile names are looked up.
    pub profile_dir: Option<PathBuf>,

    // Added (the old tool had neither): `connection.ssl.*` and `connection.ssh.*`, for every
    // command that connects. A section of its own rather than under `backup`, since restore and
    // verify use them too; the sub-keys are the flags' and the profile's names in this file's
    // snake_case (`mode`, `ca` for `--ssl-mode`, `--ssl-ca`; `identity_file` as in the
    // profile's [ssh]; `accept_new` for `--ssh-accept-new`). Layered key by key under the
    // flags and the profile (docs/compat.md §7).
    /// `connection.ssl.{mode,ca,cert,key}`.
    pub tls: TlsKeys,
    /// `connection.ssh.{host,port,user,identity_file,accept_new}`.
    pub ssh: SshKeys,

    /// `log.level`, the old tool's key (and its logrus names), checked: `error`, `warn`,
    /// `info`, `debug` and their aliases. The binary's `--log-level` default.
    pub log_level: Option<String>,
    /// `log.file` (ours: the old tool's `log.output.file.*` wrote rotated files of its own,
    /// read past): every event of every run appended as JSON lines.
    pub log_file: Option<PathBuf>,
}

/// The config file's `connection.ssh` keys: a tunnel for runs whose flags and profile set none
/// (or the parts they leave out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshKeys {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `~/` is the home directory, as in a profile's `identity_file`.
    pub identity_file: Option<String>,
    pub accept_new: Option<bool>,
}

/// `$XDG_CONFIG_HOME`, else `$HOME/.config`: the user's configuration directory.
pub fn user_config_home() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// Where the config file is, from the process environment (see [`locate_in`]).
pub fn locate() -> Result<Option<PathBuf>> {
    locate_in(
        std::env::var_os(CONFIG_ENV).map(PathBuf::from),
        Path::new(SYSTEM_CONFIG),
        user_config_home(),
    )
}

/// `$SFDB_APPS_CONFIG` when set (it must exist: an explicit choice that silently fell back to
/// another file would be worse than an error), else the first of `system` and
/// `<xdg>/sfdbtools/config.yaml` that exists; the files are never merged.
pub fn locate_in(
    explicit: Option<PathBuf>,
    system: &Path,
    xdg_config_home: Option<PathBuf>,
) -> Result<Option<PathBuf>> {
    if let Some(path) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        if !path.exists() {
            return Err(Error::Config(format!(
                "{CONFIG_ENV} names {}, which does not exist; fix the path or unset {CONFIG_ENV}",
                path.display()
            )));
        }
        return Ok(Some(path));
    }
    let user = xdg_config_home.map(|d| d.join("sfdbtools").join("config.yaml"));
    Ok(std::iter::once(system.to_owned())
        .chain(user)
        .find(|p| p.exists()))
}

/// The settings of the config file found by [`locate`]; empty settings when there is none.
pub fn load_default() -> Result<Settings> {
    match locate()? {
        Some(path) => load(&path),
        None => Ok(Settings::default()),
    }
}

/// Reads and checks one config file.
pub fn load(path: &Path) -> Result<Settings> {
    let text =
        crate::limits::read_text(path, crate::limits::CONFIG_FILE, "config file").map_err(|e| {
            Error::Config(format!(
                "cannot read the config file {}: {e}; fix it or point {CONFIG_ENV} at another file",
                path.display()
            ))
        })?;
    parse(&text, path)
}

/// Checks the YAML `text`; `path` is only named in messages.
pub fn parse(text: &str, path: &Path) -> Result<Settings> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        Error::Config(format!(
            "config file {}: not valid YAML: {e}",
            path.display()
        ))
    })?;
    let mut settings = Settings {
        source: Some(path.to_owned()),
        ..Settings::default()
    };
    let root = match docs.first() {
        None | Some(Yaml::Null) => return Ok(settings),
        Some(root @ Yaml::Hash(_)) => root,
        Some(other) => {
            return Err(Error::Config(format!(
                "config file {}: the top level must be a mapping of keys (backup:, config_dir:), \
                 found {}",
                path.display(),
                kind(other)
            )));
        }
    };
    if docs.len() > 1 {
        settings.warnings.push(format!(
            "config file {}: only the first of its {} YAML documents is read",
            path.display(),
            docs.len()
        ));
    }
    let mut doc = Doc {
        root,
        path,
        visited: HashSet::new(),
    };
    let s = &mut settings;
    s.compression_type = doc.get("backup.compression.type", codec)?;
    s.compression_level = doc.get("backup.compression.level", level)?;
    s.compression_enabled = doc.get("backup.compression.enabled", boolean)?;
    s.encryption_enabled = doc.get("backup.encryption.enabled", boolean)?;
    s.encryption_key = doc.get("backup.encryption.key", secret)?.flatten();
    s.exclude_system_databases = doc.get("backup.exclude.system_databases", boolean)?;
    s.exclude_data = doc.get("backup.exclude.data", boolean)?;
    s.exclude_empty = doc.get("backup.exclude.empty", boolean)?;
    s.exclude_user = doc.get("backup.exclude.user", boolean)?;
    s.exclude_databases = doc
        .get("backup.exclude.databases", names)?
        .unwrap_or_default();
    s.exclude_file = doc.get("backup.exclude.file", path_value)?;
    s.include_databases = doc
        .get("backup.include.databases", names)?
        .unwrap_or_default();
    s.include_file = doc.get("backup.include.file", path_value)?;
    s.include_dmart = doc.get("backup.include.include_dmart", boolean)?;
    s.base_directory = doc.get("backup.output.base_directory", path_value)?;
    s.structure_pattern = doc.get("backup.output.structure.pattern", pattern)?;
    s.file_permissions = doc.get("backup.output.file_permissions", permissions)?;
    s.metadata_permissions = doc.get("backup.output.metadata_permissions", permissions)?;
    s.save_backup_info = doc.get("backup.output.save_backup_info", boolean)?;
    s.capture_gtid = doc.get("backup.replication.capture_gtid", boolean)?;
    s.cleanup_days = doc.get("backup.cleanup.days", days)?;
    s.cleanup_enabled = doc.get("backup.cleanup.enabled", boolean)?;
    s.metrics_file = doc.get("backup.metrics.file", path_value)?;
    s.mysqldump_args = doc.get("backup.mysqldump_args", arguments)?;
    s.profile_dir = doc.get("config_dir.database_profile", path_value)?;
    s.tls = TlsKeys {
        mode: doc.get("connection.ssl.mode", ssl_mode)?,
        ca: doc.get("connection.ssl.ca", path_value)?,
        cert: doc.get("connection.ssl.cert", path_value)?,
        key: doc.get("connection.ssl.key", path_value)?,
    };
    s.ssh = SshKeys {
        host: doc.get("connection.ssh.host", word)?,
        port: doc.get("connection.ssh.port", port)?,
        user: doc.get("connection.ssh.user", word)?,
        identity_file: doc
            .get("connection.ssh.identity_file", path_value)?
            .map(|p| p.display().to_string()),
        accept_new: doc.get("connection.ssh.accept_new", boolean)?,
    };
    s.log_level = doc.get("log.level", log_level)?;
    s.log_file = doc.get("log.file", path_value)?;

    let file = path.display();
    let mut unknown = Vec::new();
    doc.unknown(root, "", &mut unknown);
    s.warnings.extend(
        unknown
            .into_iter()
            .map(|k| format!("config file {file}: unknown key `{k}` ignored")),
    );
    Ok(settings)
}

/// The parsed document and the keys that were asked for, so the rest can be reported.
struct Doc<'a> {
    root: &'a Yaml,
    path: &'a Path,
    /// Lower-case dotted keys looked up, and every section on their way.
    visited: HashSet<String>,
}

impl Doc<'_> {
    /// The value at dotted `key` converted by `convert`; `None` when absent or null.
    fn get<T>(&mut self, key: &str, convert: fn(&Yaml) -> Result<T, String>) -> Result<Option<T>> {
        let mut node = self.root;
        let mut walked = String::new();
        for part in key.split('.') {
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(part);
            self.visited.insert(walked.clone());
            let map = match node {
                Yaml::Hash(map) => map,
                Yaml::Null => return Ok(None),
                other => {
                    let section = walked.rsplit_once('.').map_or("", |(s, _)| s);
                    return Err(self.invalid(
                        section,
                        &format!("expected a mapping of keys, found {}", kind(other)),
                    ));
                }
            };
            // Keys are case-insensitive; the first spelling in the file wins.
            match map
                .iter()
                .find(|(k, _)| scalar_text(k).is_some_and(|k| k.eq_ignore_ascii_case(part)))
            {
                Some((_, v)) => node = v,
                None => return Ok(None),
            }
        }
        match node {
            Yaml::Null => Ok(None),
            // The old tool wrote its whole config back on every run, with empty strings for
            // what was not set: an empty value says nothing, as null does.
            Yaml::String(s) if s.trim().is_empty() => Ok(None),
            value => convert(value)
                .map(Some)
                .map_err(|msg| self.invalid(key, &msg)),
        }
    }

    fn invalid(&self, key: &str, msg: &str) -> Error {
        Error::Config(format!(
            "config file {}: `{key}`: {msg}; fix the value or remove the key",
            self.path.display()
        ))
    }

    /// Collects the dotted keys under `node` that nothing asked for (a whole unknown section
    /// is reported once, by its own name).
    fn unknown(&self, node: &Yaml, prefix: &str, out: &mut Vec<String>) {
        let Yaml::Hash(map) = node else { return };
        for (k, v) in map {
            let name = scalar_text(k).unwrap_or_else(|| format!("{k:?}"));
            let dotted = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            let lower = dotted.to_ascii_lowercase();
            if self.visited.contains(&lower) {
                self.unknown(v, &dotted, out);
            } else if !old_tool::KEYS.contains(&lower.as_str()) {
                out.push(dotted);
            }
        }
    }
}

/// How a value is named in messages (never its content: it might be a key).
fn kind(v: &Yaml) -> &'static str {
    match v {
        Yaml::Real(_) => "a number",
        Yaml::Integer(_) => "an integer",
        Yaml::String(_) => "a string",
        Yaml::Boolean(_) => "a boolean",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a mapping",
        Yaml::Alias(_) => "an alias",
        Yaml::Null => "nothing",
        Yaml::BadValue => "an unreadable value",
    }
}

/// A scalar as text: mapping keys and list items may be numbers or booleans too.
fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn boolean(v: &Yaml) -> Result<bool, String> {
    match v {
        Yaml::Boolean(b) => Ok(*b),
        // YAML 1.1 spellings, which the old tool's parser accepted.
        Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(true),
            "false" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, found {s:?}")),
        },
        other => Err(format!("expected true or false, found {}", kind(other))),
    }
}

fn string(v: &Yaml) -> Result<String, String> {
    match v {
        Yaml::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, found {}", kind(other))),
    }
}

/// A non-empty string without spaces (a host or account name).
fn word(v: &Yaml) -> Result<String, String> {
    let s = string(v)?;
    if s.is_empty() || s.contains(char::is_whitespace) {
        return Err(format!("expected a name without spaces, found {s:?}"));
    }
    Ok(s)
}

/// The level names `--log-level` knows, and the old tool's (logrus) aliases of them.
pub const LOG_LEVELS: [&str; 8] = [
    "error", "fatal", "panic", "warn", "warning", "info", "debug", "trace",
];

fn log_level(v: &Yaml) -> Result<String, String> {
    let w = word(v)?.to_ascii_lowercase();
    if LOG_LEVELS.contains(&w.as_str()) {
        Ok(w)
    } else {
        Err(format!(
            "{w:?} is not a level: use error, warn, info or debug"
        ))
    }
}

fn port(v: &Yaml) -> Result<u16, String> {
    match v {
        Yaml::Integer(p) => u16::try_from(*p)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("expected a port number 1-65535, found {p}")),
        other => Err(format!("expected a port number, found {}", kind(other))),
    }
}

fn ssl_mode(v: &Yaml) -> Result<SslMode, String> {
    parse_ssl_mode(&string(v)?)
}

fn codec(v: &Yaml) -> Result<Codec, String> {
    string(v)?.parse().map_err(|e| format!("{e}"))
}

fn level(v: &Yaml) -> Result<Level, String> {
    let text = match v {
        Yaml::Integer(_) | Yaml::String(_) => scalar_text(v).unwrap_or_default(),
        other => return Err(format!("expected a level 1 to 9, found {}", kind(other))),
    };
    text.parse().map_err(|e| format!("{e}"))
}

fn secret(v: &Yaml) -> Result<Option<Secret>, String> {
    match v {
        Yaml::String(s) if s.trim().is_empty() => Ok(None),
        Yaml::String(s) => Ok(Some(Secret::new(s.clone()))),
        // A key of digits only is still a passphrase; its text is what the user typed.
        Yaml::Integer(_) | Yaml::Real(_) => Ok(scalar_text(v).map(Secret::new)),
        other => Err(format!(
            "expected a passphrase string, found {}",
            kind(other)
        )),
    }
}

fn path_value(v: &Yaml) -> Result<PathBuf, String> {
    let s = string(v)?;
    if s.trim().is_empty() {
        return Err("expected a path, found an empty string".into());
    }
    Ok(PathBuf::from(s))
}

fn names(v: &Yaml) -> Result<Vec<String>, String> {
    let Yaml::Array(items) = v else {
        return Err(format!(
            "expected a list of database names ([a, b] or one `- name` per line), found {}",
            kind(v)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match scalar_text(item) {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(format!("item {} is not a database name", i + 1)),
        })
        .collect()
}

fn pattern(v: &Yaml) -> Result<String, String> {
    let p = string(v)?;
    if p.starts_with('/') {
        return Err(format!(
            "{p:?} must be relative: it is placed under backup.output.base_directory"
        ));
    }
    if p.split('/').any(|part| part == "..") {
        return Err(format!("{p:?} must not contain `..`"));
    }
    let mut rest = p.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("{p:?} has a `{{` without its `}}`"))?;
        let name = &after[..close];
        if !PATTERN_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in {p:?}; known: {}",
                PATTERN_PLACEHOLDERS.map(|n| format!("{{{n}}}")).join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(p)
}

/// Octal permission bits, as `"0600"`, `"600"`, `"0o600"` or a bare `0600` (which YAML 1.2
/// reads as the decimal number 600, so its digits are taken as octal). Group- or
/// world-writable modes are refused: a backup anyone can alter cannot be trusted to restore.
fn permissions(v: &Yaml) -> Result<u32, String> {
    let text = match v {
        Yaml::String(s) => s.trim().to_owned(),
        Yaml::Integer(i) => i.to_string(),
        other => {
            return Err(format!(
                "expected octal permissions like \"0600\", found {}",
                kind(other)
            ));
        }
    };
    let digits = text.strip_prefix("0o").unwrap_or(&text);
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("expected octal permissions like \"0600\", found {text:?}"))?;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{text} lets the group or others write the backup; use 0600, 0640 or 0644"
        ));
    }
    if mode & 0o600 != 0o600 {
        return Err(format!(
            "{text} does not let the owner read and write the file; use 0600, 0640 or 0644"
        ));
    }
    Ok(mode)
}

/// Days of `backup.cleanup.days`; 0 means no cleanup, as in the old tool's packaged config.
fn days(v: &Yaml) -> Result<u64, String> {
    match v {
        Yaml::Integer(d) if *d >= 0 => Ok(*d as u64),
        Yaml::Integer(d) => Err(format!(
            "{d} days is not an age; expected 1 or more (0: no cleanup)"
        )),
        other => Err(format!("expected a number of days, found {}", kind(other))),
    }
}

/// A string is split at whitespace (the old tool's form); a list is taken item by item, for
/// options whose value holds a space.
fn arguments(v: &Yaml) -> Result<Vec<String>, String> {
    match v {
        Yaml::String(s) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Yaml::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                scalar_text(item).ok_or_else(|| format!("item {} is not a string", i + 1))
            })
            .collect(),
        other => Err(format!(
            "expected a string of options or a list of options, found {}",
            kind(other)
        )),
    }
}

#[cfg(test)]
mod tests;

//! The configuration layers a user knows, each in its own module so that "config" never means
//! two things: [`run`] is the validated configuration of one run (what the binary builds from
//! flags > config file > defaults, and what the engine obeys); [`file`](mod@file) is the YAML
//! config file an operator edits (every value optional, read only); [`profile`] holds the
//! encrypted connection profiles; [`dump_args`] reads the config's mysqldump options for the
//! native engine. Secrets are `crate::secret`, below all of them (see its
//! header).

pub mod dump_args;
pub mod file;
pub mod profile;
pub mod run;

use std::path::PathBuf;

use crate::connect::{SslMode, TlsSettings};

/// The TLS keys as a profile's `[client]` (`ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`) or the
/// config file's `connection.ssl` gives them: each optional, since the binary layers them key by
/// key (flags > profile > config file > defaults, docs/compat.md §7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsKeys {
    pub mode: Option<SslMode>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsKeys {
    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        *self == TlsKeys::default()
    }

    /// These keys alone as connection settings. The mode defaults as the MySQL client's does:
    /// VERIFY_CA when a CA is given (a CA is given to be checked against), else PREFERRED.
    pub fn settings(&self) -> TlsSettings {
        TlsSettings {
            mode: self.mode.unwrap_or(if self.ca.is_some() {
                SslMode::VerifyCa
            } else {
                SslMode::Preferred
            }),
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

/// An `ssl-mode` value as the flag takes it (any case; `-` for `_` too, as option files are
/// written by hand); the error lists the allowed values.
pub(crate) fn parse_ssl_mode(text: &str) -> Result<SslMode, String> {
    use clap::ValueEnum;
    SslMode::from_str(&text.trim().replace('-', "_"), true).map_err(|_| {
        let allowed: Vec<&str> = SslMode::value_variants().iter().map(|m| m.name()).collect();
        format!("ssl-mode must be one of {}", allowed.join(", "))
    })
}

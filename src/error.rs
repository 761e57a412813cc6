//! The library's error type: every message names the object, the phase and the position.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an SSH tunnel (`connect::tunnel`) could not be opened, each with what to check.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error(
        "cannot reach the SSH host {host}:{port}: {source}; check the ssh host and port (the \
         profile's [ssh] section or --ssh-host/--ssh-port)"
    )]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: io::Error,
    },

    #[error(
        "timed out after {} s opening the SSH connection to {host}:{port} (--connect-timeout); \
         check the ssh host and port",
        .timeout.as_secs()
    )]
    TimedOut {
        host: String,
        port: u16,
        timeout: std::time::Duration,
    },

    #[error(
        "the SSH host {host}:{port} is not in {known_hosts} (its {fingerprint} key); refusing \
         to trust a key on first sight: check the fingerprint with the host's administrator, \
         then run once with --ssh-accept-new to record it, or add it with ssh-keyscan"
    )]
    UnknownHostKey {
        host: String,
        port: u16,
        fingerprint: String,
        known_hosts: String,
    },

    #[error(
        "the SSH host {host}:{port} presented the key {fingerprint}, which is NOT the one \
         recorded in {known_hosts} line {line}: someone may be intercepting the connection, or \
         the host's key was replaced; refusing. If the change is expected, remove the old line \
         (ssh-keygen -R '{host_entry}' -f {known_hosts}) and record the new key"
    )]
    ChangedHostKey {
        host: String,
        port: u16,
        host_entry: String,
        fingerprint: String,
        known_hosts: String,
        line: usize,
    },

    #[error(
        "the SSH host {host}:{port} presented a host certificate; only plain host keys are checked, refusing"
    )]
    HostCertificate { host: String, port: u16 },

    #[error("reading or recording host keys in {known_hosts}: {source}; check the file")]
    KnownHosts {
        known_hosts: String,
        #[source]
        source: russh::keys::Error,
    },

    #[error(
        "cannot load the SSH key {path}: {source}; check the identity file (and its \
         passphrase, if it has one: without -q, in a terminal, it is asked for)"
    )]
    Key {
        path: String,
        #[source]
        source: russh::keys::Error,
    },

    #[error(
        "the SSH host {host}:{port} refused {method} authentication for user {user}; check \
         the ssh user and {what}"
    )]
    Denied {
        host: String,
        port: u16,
        user: String,
        method: &'static str,
        what: &'static str,
    },

    #[error(
        "the SSH host {host}:{port} accepted none of the default keys for user {user}: tried \
         {tried}; give the key with --ssh-identity (or identity_file in the profile's [ssh]), \
         or add one of these to the account's authorized_keys"
    )]
    NoKeyAccepted {
        host: String,
        port: u16,
        user: String,
        tried: String,
    },

    #[error("SSH connection to {host}:{port} failed while {phase}: {source}")]
    Protocol {
        host: String,
        port: u16,
        phase: &'static str,
        #[source]
        source: russh::Error,
    },

    #[error(
        "cannot listen on 127.0.0.1:{port} for the tunnel: {source}; choose another \
         local_port in the profile's [ssh] section, or leave it out for a free one"
    )]
    Listen {
        port: u16,
        #[source]
        source: io::Error,
    },
}

/// A server or driver error, displayed once and plainly (`ERROR 1146 (42S02): …`).
///
/// mysql_async's own `Display` wraps server errors in "Server error: `…'"; operators grep for the
/// server's code, so the code comes first and only once.
#[derive(Debug)]
pub struct DbError(pub mysql_async::Error);

impl DbError {
    /// The server's error number, when the server sent one.
    pub fn server_code(&self) -> Option<u16> {
        match &self.0 {
            mysql_async::Error::Server(e) => Some(e.code),
            _ => None,
        }
    }

    /// True when the connection itself broke (killed, server gone, network error).
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            &self.0,
            mysql_async::Error::Io(_)
                | mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed)
        ) || matches!(self.server_code(), Some(1053 | 1927 | 2006 | 2013 | 4031))
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            mysql_async::Error::Server(e) => {
                write!(f, "ERROR {} ({}): {}", e.code, e.state, e.message)
            }
            // The server answers a packet over its max_allowed_packet with this message and
            // closes the connection: the fix is a setting, not a retry.
            mysql_async::Error::Io(e) if e.to_string().contains("max_allowed_packet") => write!(
                f,
                "connection lost: {e} (the server closed the connection because a statement is \
                 larger than its max_allowed_packet: raise it, e.g. SET GLOBAL \
                 max_allowed_packet = 1073741824, and run again)"
            ),
            // Never retried: a new connection would not share the dump's snapshot.
            mysql_async::Error::Io(e) => write!(
                f,
                "connection lost: {e} (the server restarted or killed this connection; not retried)"
            ),
            mysql_async::Error::Driver(e) => write!(f, "{e}"),
            // The row reader's protocol errors: the message says it all.
            mysql_async::Error::Other(e) => write!(f, "{e}"),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<mysql_async::Error> for DbError {
    fn from(e: mysql_async::Error) -> Self {
        DbError(e)
    }
}

/// Why a connection could not be opened, each kind with what to check: the driver's own words
/// for these ("connection refused", "failed to lookup address") do not say where to look.
/// The advice names the flags of the connection that failed ([`FlagSet`]): `db-copy`'s target
/// is set by `--target-host` and the like, not by `--host`.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.advice(FlagSet::Main))]
pub enum ConnectError {
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },

    /// Refused, or no socket file: nothing accepts connections at the address.
    NotListening {
        #[source]
        source: io::Error,
    },

    /// No server greeting (or no TCP answer at all) within `--connect-timeout`.
    TimedOut(std::time::Duration),

    /// The server refused the account (wrong password, unknown user, host not allowed).
    Denied(DbError),

    /// Any other network error before the session was open (unreachable, reset, closed).
    Network {
        #[source]
        source: io::Error,
    },

    /// Plaintext refused: MySQL's error 3159 (require_secure_transport), or MariaDB's
    /// "access denied" to a login sent with `--ssl-mode DISABLED` (MariaDB says no more than
    /// that, and a server that requires TLS is the likely cause).
    PlaintextRefused(DbError),

    /// `--ssl-mode REQUIRED` or above, and the server's greeting offers no TLS.
    NoTlsOffered(&'static str),

    /// The server's certificate does not chain to a trusted root, or is expired.
    CertificateNotTrusted(String),

    /// The certificate is trusted but names other hosts. Under VERIFY_CA too: mysql_async
    /// 0.37.1 cannot skip the name check with rustls 0.23.46 (mysql_async issue #404, fixed by
    /// its PR #408, not released yet), so VERIFY_CA checks names as VERIFY_IDENTITY does.
    NameMismatch { detail: String, verify_ca: bool },

    /// The server's TLS layer refused our client certificate, or wanted one and got none.
    ClientCertificateRefused(String),

    /// Any other TLS failure: an unreadable or malformed --ssl-ca/--ssl-cert/--ssl-key file, a
    /// handshake the two sides could not agree on.
    Tls(String),

    /// caching_sha2_password wanted the password in full over plaintext TCP and the user
    /// allowed no RSA key (`connect::auth`).
    ServerKeyRefused(String),

    /// Anything else: a server error during the handshake (too many connections…), a
    /// protocol error.
    Other(DbError),
}

/// Which flags set a connection, for the advice of its errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlagSet {
    /// The command's own `--host`, `--user`, … (and `--profile`).
    #[default]
    Main,
    /// `db-copy`'s target: `--target-host`, `--target-user`, … (and `--target-profile`).
    Target,
}

impl FlagSet {
    /// The name of the main flag `main` in this set. The target has no flag for a client
    /// certificate or a server key: its profile sets those.
    fn name(self, main: &'static str) -> &'static str {
        match self {
            FlagSet::Main => main,
            FlagSet::Target => match main {
                "--host" => "--target-host",
                "--port" => "--target-port",
                "--host/--port" => "--target-host/--target-port",
                "--user" => "--target-user",
                "--password" => "--target-password",
                "MYSQL_PWD" => "SFDB_TARGET_PASSWORD",
                "--socket" => "--target-socket",
                "--ssl-mode" => "--target-ssl-mode",
                "--ssl-ca" => "--target-ssl-ca",
                "the profile" => "the target's profile",
                "the profile's host" => "the target profile's host",
                "--connect-timeout" => "--connect-timeout",
                _ => "the target profile's TLS settings",
            },
        }
    }
}

impl ConnectError {
    /// The message, with the flags of `flags` in its advice.
    pub fn advice(&self, flags: FlagSet) -> String {
        let f = |main: &'static str| flags.name(main);
        match self {
            ConnectError::Resolve { host, source } => format!(
                "host name {host:?} does not resolve ({source}); check {} (or {}) and the DNS \
                 or /etc/hosts entry",
                f("--host"),
                f("the profile's host")
            ),
            ConnectError::NotListening { source } => format!(
                "{source}: nothing listens there; check that the server is running and that {} \
                 (or {}, or {}) name it",
                f("--host/--port"),
                f("--socket"),
                f("the profile")
            ),
            ConnectError::TimedOut(after) => format!(
                "timed out after {} s with no answer from the server (--connect-timeout); a \
                 firewall dropping packets, a port that is not the server's, or a server too \
                 busy to accept; check {}, or raise --connect-timeout",
                after.as_secs(),
                f("--host/--port")
            ),
            ConnectError::Denied(e) => format!(
                "{e}; check the user and password ({}, {}, {} or {}) and the hosts the account \
                 may connect from",
                f("--user"),
                f("--password"),
                f("MYSQL_PWD"),
                f("the profile")
            ),
            ConnectError::Network { source } => format!(
                "{source} (before the session was open); check {} (or {}) and the network \
                 between here and the server",
                f("--host/--port"),
                f("--socket")
            ),
            ConnectError::PlaintextRefused(e) => format!(
                "{e}; {mode} DISABLED sent the login without TLS, and the server may require TLS \
                 (require_secure_transport=ON, or an account that REQUIRE SSL); use {mode} \
                 VERIFY_IDENTITY with {ca}, or check the user and password",
                mode = f("--ssl-mode"),
                ca = f("--ssl-ca")
            ),
            ConnectError::NoTlsOffered(mode) => format!(
                "the server offers no TLS, and {flag} {mode} does not fall back to plaintext; \
                 configure TLS on the server (ssl_cert, ssl_key), or use {flag} PREFERRED or \
                 DISABLED if plaintext to this server is acceptable",
                flag = f("--ssl-mode")
            ),
            ConnectError::CertificateNotTrusted(e) => format!(
                "the server's TLS certificate is not trusted ({e}); give the CA that signed it \
                 with {} (without it only the public roots are trusted)",
                f("--ssl-ca")
            ),
            ConnectError::NameMismatch { detail, verify_ca } => format!(
                "the server's TLS certificate does not name the host connected to ({detail}); \
                 connect with a {} the certificate names{}",
                f("--host"),
                // VERIFY_CA cannot help today, so it is not offered as the way out.
                if *verify_ca {
                    format!(
                        " ({} VERIFY_CA checks the name too for now: the driver cannot skip it)",
                        f("--ssl-mode")
                    )
                } else {
                    String::new()
                }
            ),
            ConnectError::ClientCertificateRefused(e) => format!(
                "the server refused the client certificate ({e}); check {} and {}, and that \
                 they are signed by a CA the server trusts (its ssl_ca)",
                f("--ssl-cert"),
                f("--ssl-key")
            ),
            ConnectError::Tls(e) => match flags {
                FlagSet::Main => {
                    format!("TLS failed: {e}; check --ssl-ca, --ssl-cert and --ssl-key")
                }
                FlagSet::Target => format!(
                    "TLS failed: {e}; check --target-ssl-ca and the target profile's TLS settings"
                ),
            },
            ConnectError::ServerKeyRefused(e) => format!(
                "{e}; use TLS ({} REQUIRED or above, with {}), or pin the server's key with \
                 {} (its caching_sha2_password_public_key_path), or accept an unverified key \
                 with {}; logging in once over TLS or the server's socket also caches the \
                 account so that later logins need neither",
                f("--ssl-mode"),
                f("--ssl-ca"),
                match flags {
                    FlagSet::Main => "--server-public-key-path FILE",
                    FlagSet::Target => "the target profile's server public key",
                },
                match flags {
                    FlagSet::Main => "--get-server-public-key",
                    FlagSet::Target => "the target profile's get-server-public-key setting",
                }
            ),
            ConnectError::Other(e) => e.to_string(),
        }
    }

    /// Sorts a driver error of the connect phase; a timeout and a failed look-up are told
    /// apart where they happen, before the driver sees them, and TLS failures by
    /// `connect::tls`, which knows the mode.
    pub fn from_driver(e: mysql_async::Error) -> ConnectError {
        match e {
            mysql_async::Error::Io(mysql_async::IoError::Io(source)) => match source.kind() {
                io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => {
                    ConnectError::NotListening { source }
                }
                _ => ConnectError::Network { source },
            },
            e => {
                let e = DbError(e);
                // 1045 access denied, 1698 refused by an auth plugin, 1130 host not allowed.
                if e.server_code() == Some(3159) {
                    ConnectError::PlaintextRefused(e)
                } else if matches!(e.server_code(), Some(1045 | 1698 | 1130)) {
                    ConnectError::Denied(e)
                } else {
                    ConnectError::Other(e)
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong flags or combination of flags: exit code 2.
    #[error("{0}")]
    Usage(String),

    /// A configuration file, profile or environment value is invalid: exit code 2.
    #[error("{0}")]
    Config(String),

    /// The SSH tunnel the connections go through could not be opened (boxed: its fields would
    /// make every `Result` of the crate larger).
    #[error("{0}")]
    Tunnel(Box<TunnelError>),

    /// A run failed while its connections went through an SSH tunnel that failed under them
    /// (`connect::tunnel::Tunnel::explain`): `cause` names the SSH host and says what happened.
    #[error("{source}; {cause}")]
    ThroughTunnel { source: Box<Error>, cause: String },

    #[error("cannot connect to {target}: {}", source.advice(*flags))]
    Connect {
        target: String,
        #[source]
        source: ConnectError,
        /// Whose flags the advice names.
        flags: FlagSet,
    },

    /// A statement failed; `context` says what was being done to which object.
    #[error("{context}: {source}")]
    Server {
        context: String,
        #[source]
        source: DbError,
    },

    /// The rows of a table could not be read to the end.
    #[error(
        "dumping rows of {table} (chunk {chunk}, after {rows} rows): {source}; the dump is incomplete"
    )]
    Rows {
        table: String,
        chunk: usize,
        rows: u64,
        #[source]
        source: DbError,
    },

    /// The server sent something the engine refuses to guess about.
    #[error("{0}")]
    Unsupported(String),

    /// A table pattern of a restore that matched nothing in the file, found only once the
    /// file was read (its metadata lists no tables): the restore has changed the target by
    /// then, so it is a failure (exit 1), not a usage error that promises nothing was done.
    #[error("{0}")]
    Unmatched(String),

    #[error("{action} {}{}: {source}", path.display(), at_byte(*offset))]
    File {
        action: &'static str,
        path: PathBuf,
        /// Where in the file, when it matters (writing, reading); None for opening or creating.
        offset: Option<u64>,
        #[source]
        source: io::Error,
    },

    /// A lock could not be had; the message names what holds it.
    #[error("{0}")]
    Lock(String),

    /// Replication that was set up did not run (`db-copy --start-replica`).
    #[error("{0}")]
    Replication(String),

    #[error("interrupted: {0}")]
    Interrupted(String),

    /// The operator answered a question of an interactive run with "cancel": nothing was
    /// done; the message says what was cancelled where. Exit code 3: not a failure, not a
    /// usage error, and not a signal either.
    #[error("{0}")]
    Cancelled(String),

    /// This part stopped because another part failed first; that failure is the one to report.
    #[error("{0}")]
    Stopped(String),

    /// Statements of a restore failed, each reported when it failed, and the restore went on
    /// to the end (`--continue-on-error`): a count, not a stop.
    #[error("{0} statement(s) failed (--continue-on-error)")]
    StatementsFailed(usize),

    /// A statement of a restored file failed (or, with `--strict`, warned).
    #[error(
        "{}: statement {statement} (line {line}, byte {offset} of the SQL): {problem}",
        file.display()
    )]
    Statement {
        file: PathBuf,
        statement: u64,
        line: u64,
        offset: u64,
        problem: String,
    },

    /// A `db-copy` stopped: `side` (source or target) failed first, and the other side was
    /// stopped with it; `server` names that side's server (the stream's name is the source's,
    /// so a target failure would otherwise name only the other server); `state` says what the
    /// target holds now.
    #[error("the {side} side ({server}) failed: {source}; {state}")]
    Copy {
        side: &'static str,
        server: String,
        #[source]
        source: Box<Error>,
        state: String,
    },

    /// A restore stopped part way; `state` says what the target databases hold now.
    #[error("{source}; {state}")]
    Restore {
        #[source]
        source: Box<Error>,
        state: String,
    },

    /// A file read for a restore is not the one its metadata describes, or a dump of ours
    /// ends without its footer: `problem` says which and what to do.
    #[error("{}: {problem}", file.display())]
    Integrity { file: PathBuf, problem: String },

    /// A backup file failed verification; the message says what is wrong and where.
    #[error("verification failed: {0}")]
    Verify(String),

    /// A stage thread ended without reporting (a bug or a panic); named so it can be found.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Of two failures of one run, the one to report: a cause beats a consequence.
    pub fn prefer(current: Option<Error>, new: Error) -> Option<Error> {
        match current {
            Some(Error::Stopped(_)) | None => Some(new),
            keep => keep,
        }
    }

    /// The process exit code for this error: 2 usage/config, 3 cancelled by the operator,
    /// 130 interrupted, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config(_) => 2,
            Error::Cancelled(_) => 3,
            Error::Interrupted(_) => 130,
            Error::Restore { source, .. }
            | Error::Copy { source, .. }
            | Error::ThroughTunnel { source, .. } => source.exit_code(),
            _ => 1,
        }
    }

    /// True when a connection broke under the run (killed, server gone, network error), as far
    /// as the error still tells: a failed statement of a restored file keeps only its text.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::Server { source, .. } | Error::Rows { source, .. } => {
                source.is_connection_lost()
            }
            Error::Connect {
                source: ConnectError::Network { .. } | ConnectError::TimedOut(_),
                ..
            } => true,
            Error::Restore { source, .. }
            | Error::Copy { source, .. }
            | Error::ThroughTunnel { source, .. } => source.is_connection_lost(),
            _ => false,
        }
    }

    /// A file error at no particular offset (opening, creating, completing).
    pub fn file(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::File {
            action,
            path: path.into(),
            offset: None,
            source,
        }
    }

    pub(crate) fn server(context: impl Into<String>, source: mysql_async::Error) -> Self {
        Error::Server {
            context: context.into(),
            source: DbError(source),
        }
    }
}

impl From<TunnelError> for Error {
    fn from(e: TunnelError) -> Self {
        Error::Tunnel(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn at_byte(offset: Option<u64>) -> String {
    offset
        .map(|o| format!(" (at byte {o})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_advice_names_the_flags_of_the_side_that_failed() {
        let refused = || ConnectError::NotListening {
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let main = refused().to_string();
        assert!(main.contains("--host/--port (or --socket"), "{main}");
        let target = refused().advice(FlagSet::Target);
        assert!(
            target.contains(
                "--target-host/--target-port (or --target-socket, or the target's profile)"
            ),
            "{target}"
        );
        let e = Error::Connect {
            target: "root@db2:3306".into(),
            source: ConnectError::TimedOut(std::time::Duration::from_secs(5)),
            flags: FlagSet::Target,
        }
        .to_string();
        assert!(e.contains("check --target-host/--target-port"), "{e}");
        let tls = ConnectError::NoTlsOffered("REQUIRED").advice(FlagSet::Target);
        assert!(tls.contains("--target-ssl-mode REQUIRED"), "{tls}");
        assert!(!tls.contains(" --ssl-mode"), "{tls}");
    }

    #[test]
    fn a_packet_over_max_allowed_packet_says_what_to_raise() {
        let lost = |msg: &str| {
            DbError(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::other(msg.to_owned()),
            )))
            .to_string()
        };
        let big = lost("Got a packet bigger than 'max_allowed_packet' bytes");
        assert!(big.contains("raise it"), "{big}");
        assert!(!big.contains("restarted"), "{big}");
        let other = lost("broken pipe");
        assert!(other.contains("not retried"), "{other}");
    }

    #[test]
    fn a_lost_connection_is_told_through_the_wrappers_and_keeps_its_exit_code() {
        let io = || {
            DbError(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::other("connection closed"),
            )))
        };
        let rows = Error::Rows {
            table: "`d`.`t`".into(),
            chunk: 0,
            rows: 0,
            source: io(),
        };
        assert!(rows.is_connection_lost());
        let restore = Error::Restore {
            source: Box::new(Error::Server {
                context: "dropping database `d`".into(),
                source: io(),
            }),
            state: "`d` is as it was".into(),
        };
        assert!(restore.is_connection_lost());
        assert!(!Error::Lock("held by 7".into()).is_connection_lost());
        let through = Error::ThroughTunnel {
            source: Box::new(Error::Interrupted("SIGINT".into())),
            cause: "the tunnel closed".into(),
        };
        assert_eq!(through.exit_code(), 130);
        assert!(through.to_string().ends_with("; the tunnel closed"));
    }
}

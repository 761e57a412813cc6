//! Opening server connections with the session state every dump connection needs.
//!
//! Two kinds of connection: mysql_async's `Conn` (catalogs, locks, restore, verify) and the row
//! reader's [`wire::WireConn`] (a worker's reads inside the snapshot). [`QueryConn`] is what
//! both answer, so the session setup here and the snapshot, count and bounds helpers exist
//! once for either.

pub mod auth;
mod query;
pub mod tls;
pub mod tunnel;
pub mod wire;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use mysql_async::prelude::*;
use mysql_async::{Conn, OptsBuilder};

use crate::error::{ConnectError, Error, Result};
use crate::secret::Secret;
pub use query::TextRow;
pub(crate) use query::{QueryConn, cell_text};
pub use tls::{SslMode, TlsSettings};

/// Where and as whom to connect. Flags fill it today; a profile can fill the same fields.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    /// A Unix socket path; used instead of host/port when set.
    pub socket: Option<PathBuf>,
    /// How long opening a connection (look-up, TCP, handshake, login) may take.
    pub connect_timeout: Duration,
    /// `--ssl-mode` and its files; a socket connection never uses TLS (it is local, and
    /// servers count it as secure transport).
    pub tls: TlsSettings,
    /// Set once a PREFERRED connection found that the server offers no TLS, so that the other
    /// connections of the run (clones share it) go straight to plaintext instead of each
    /// greeting the server twice: a server counts a client that leaves after the greeting as
    /// a connect error (`max_connect_errors` blocks the host after enough of them).
    pub no_tls_offered: tls::NoTlsOffered,
    /// Where the server's RSA key may come from for a full caching_sha2_password login
    /// outside TLS (`--get-server-public-key`, `--server-public-key-path`; see [`auth`]).
    pub server_key: auth::ServerKey,
    /// The SSH tunnel to reach host/port through (host and port as the jump host resolves
    /// them). The command opens it once and points the settings at its local end
    /// ([`tunnel::Tunnel::point`]), which clears this field.
    pub ssh: Option<tunnel::SshSettings>,
    /// Set by [`tunnel::Tunnel::point`]: the database's host and port as the SSH host reaches
    /// them, and the SSH host ("user@host:port"), while `host`/`port` are the tunnel's local
    /// end. Messages and the metadata name the database by these.
    pub tunnelled: Option<Tunnelled>,
}

/// Where a tunnelled connection really goes (see [`ConnectionSettings::tunnelled`]).
#[derive(Clone, Debug)]
pub struct Tunnelled {
    pub host: String,
    pub port: u16,
    pub ssh: String,
}

/// `--connect-timeout`'s default: a server that has not greeted us in 10 s is not coming.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "root".into(),
            password: None,
            socket: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            tls: TlsSettings::default(),
            no_tls_offered: tls::NoTlsOffered::default(),
            server_key: auth::ServerKey::default(),
            ssh: None,
            tunnelled: None,
        }
    }
}

impl ConnectionSettings {
    /// How the target is named in messages (never with the password).
    pub fn describe(&self) -> String {
        match (&self.socket, &self.tunnelled) {
            (Some(s), _) => format!("{}@{} (socket)", self.user, s.display()),
            (None, Some(t)) => format!(
                "{}@{}:{} (through the SSH tunnel via {}, local end {}:{})",
                self.user, t.host, t.port, t.ssh, self.host, self.port
            ),
            (None, None) => format!("{}@{}:{}", self.user, self.host, self.port),
        }
    }

    /// The server as the metadata's `source.host` names it: the host connected to; through a
    /// tunnel the database's host as the SSH host reaches it (not the local end); over a
    /// socket `localhost`, as the MySQL clients call that connection (a path is no host to a
    /// reader of the old metadata; it goes in `source.socket`).
    pub fn source_host(&self) -> &str {
        match (&self.socket, &self.tunnelled) {
            (Some(_), _) => "localhost",
            (None, Some(t)) => &t.host,
            (None, None) => &self.host,
        }
    }

    /// The addresses of host:port (nothing for a socket), looked up here rather than in the
    /// driver, so that a name that does not resolve is said to be one.
    pub(crate) async fn resolve(&self) -> std::result::Result<Vec<SocketAddr>, ConnectError> {
        if self.socket.is_some() {
            return Ok(Vec::new());
        }
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let resolve_err = |source| ConnectError::Resolve {
            host: self.host.clone(),
            source,
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(resolve_err)?
            .collect();
        if addrs.is_empty() {
            return Err(resolve_err(std::io::Error::other("no address")));
        }
        Ok(addrs)
    }

    /// Runs `connecting` (look-up to login) within `connect_timeout`; the error names the target.
    pub(crate) async fn within_timeout<T>(
        &self,
        connecting: impl Future<Output = std::result::Result<T, ConnectError>>,
    ) -> Result<T> {
        let outcome = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .unwrap_or(Err(ConnectError::TimedOut(self.connect_timeout)));
        outcome.map_err(|source| Error::Connect {
            target: self.describe(),
            source,
            flags: crate::error::FlagSet::Main,
        })
    }

    /// The name a server certificate must carry under VERIFY_IDENTITY: the host connected
    /// to, or through a tunnel the database's host as the SSH host reaches it (the local end
    /// is 127.0.0.1, which no certificate of the database names).
    pub(crate) fn tls_name(&self) -> &str {
        self.tunnelled.as_ref().map_or(&self.host, |t| &t.host)
    }

    /// The warning for a run that went on in plaintext over the network under PREFERRED, the
    /// first time it is asked for (see [`tls::NoTlsOffered::warning`]).
    pub fn plaintext_warning(&self) -> Option<String> {
        self.no_tls_offered.warning(&self.describe())
    }

    /// Whether connections go over TCP with TLS options (the driver would send the TLS request
    /// on a socket too, and then talk plaintext: never give it options there).
    pub(crate) fn tls_over_tcp(&self) -> bool {
        self.socket.is_none() && self.tls.mode != SslMode::Disabled
    }

    fn opts(&self, resolved: Vec<SocketAddr>, tls: bool) -> OptsBuilder {
        let ips: Vec<IpAddr> = resolved.iter().map(SocketAddr::ip).collect();
        let mut b = OptsBuilder::default()
            // The driver checks the certificate against this name and connects to the
            // resolved addresses: through a tunnel, the database's name, at the local end.
            .ip_or_hostname(self.tls_name().to_owned())
            .resolved_ips((!ips.is_empty()).then_some(ips))
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            // mysql_async takes a String of its own and keeps it in its Opts for the life of
            // the pool: that copy is beyond our reach (the driver does not zero it); this
            // process is at least non-dumpable (see the binary's `forbid_core_dumps`).
            .pass(self.password.as_ref().map(|p| p.expose().to_owned()))
            // One connection per role; statements are one-off.
            .stmt_cache_size(0)
            // Otherwise mysql_async asks for @@socket and quietly reconnects through it.
            .prefer_socket(false);
        if let Some(sock) = &self.socket {
            b = b.socket(Some(sock.to_string_lossy().into_owned()));
        }
        if tls && self.socket.is_none() {
            b = b.ssl_opts(self.tls.ssl_opts());
        }
        b
    }

    /// Opens a driver connection with this run's TLS rules: PREFERRED tries TLS and, when the
    /// server offers none, connects again in plaintext (mysql_async has no "if offered" mode:
    /// with TLS options it fails on a server without TLS, before sending the login); REQUIRED
    /// and above never fall back. A refused plaintext login under DISABLED says TLS may be why.
    pub(crate) async fn connect_driver(&self) -> std::result::Result<Conn, ConnectError> {
        let resolved = self.resolve().await?;
        if self.tls_over_tcp() && !self.no_tls_offered.seen() {
            match Conn::new(self.opts(resolved.clone(), true)).await {
                Ok(conn) => return Ok(conn),
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )) if self.tls.mode == SslMode::Preferred => self
                    .no_tls_offered
                    .remember(auth::is_local(self, &resolved)),
                Err(e) => return Err(tls::connect_error(e, self.tls.mode)),
            }
        }
        // Plaintext over the network: through the guard that keeps mysql_async from fetching
        // the server's RSA key unless the user allowed it (`auth`).
        let Some((local, verdict)) = auth::guard_unless_local(self, &resolved).await? else {
            return Conn::new(self.opts(resolved, false))
                .await
                .map_err(|e| tls::connect_error(e, self.tls.mode));
        };
        let opts = self.opts(vec![local], false).tcp_port(local.port());
        Conn::new(opts).await.map_err(|e| match verdict.refusal() {
            Some(why) => ConnectError::ServerKeyRefused(why),
            None => tls::connect_error(e, self.tls.mode),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    MariaDb,
    MySql,
}

/// What the server is; statements that differ between MariaDB and MySQL branch on it.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub flavor: Flavor,
    /// `@@version`, e.g. `10.11.6-MariaDB-log`.
    pub version: String,
    pub hostname: String,
    /// (major, minor, patch) parsed from `@@version`.
    pub numeric: (u16, u16, u16),
}

impl ServerInfo {
    /// MySQL 8.4 renamed `SHOW MASTER STATUS` to `SHOW BINARY LOG STATUS`.
    pub fn binary_log_status_sql(&self) -> &'static str {
        match self.flavor {
            Flavor::MySql if self.numeric >= (8, 4, 0) => "SHOW BINARY LOG STATUS",
            _ => "SHOW MASTER STATUS",
        }
    }
}

/// The statements run on every dump connection before it reads anything.
///
/// Empty sql_mode: no PAD_CHAR_TO_FULL_LENGTH, ANSI_QUOTES or NO_BACKSLASH_ESCAPES changing the
/// text we read. UTC: TIMESTAMPs read without DST ambiguity. utf8mb4: no `?` for emoji. Long
/// network timeouts: a slow compressor must not make the server drop a streaming result.
pub fn session_setup_sql(flavor: Flavor) -> Vec<&'static str> {
    let mut sql = vec![
        "SET SESSION sql_mode = ''",
        "SET SESSION time_zone = '+00:00'",
        "SET NAMES utf8mb4",
        "SET SESSION net_write_timeout = 31536000",
        "SET SESSION net_read_timeout = 31536000",
        "SET SESSION wait_timeout = 31536000",
    ];
    match flavor {
        // MDEV-18702: a statement timeout silently cut a dump short.
        Flavor::MariaDb => sql.push("SET SESSION max_statement_time = 0"),
        Flavor::MySql => sql.push("SET SESSION max_execution_time = 0"),
    }
    sql
}

/// The statements run on every restore connection before it applies a file.
///
/// The server's own sql_mode and time zone stay (a dump sets its own in its header, as the
/// `mariadb` client would see them); utf8mb4 as the client's default; foreign key checks off,
/// since tables load in parallel in no particular order; no statement timeout and long
/// network timeouts, since one statement may carry megabytes of rows.
pub fn restore_setup_sql(flavor: Flavor) -> Vec<&'static str> {
    let mut sql = vec![
        "SET NAMES utf8mb4",
        "SET SESSION foreign_key_checks = 0",
        "SET SESSION net_write_timeout = 31536000",
        "SET SESSION net_read_timeout = 31536000",
        "SET SESSION wait_timeout = 31536000",
    ];
    match flavor {
        Flavor::MariaDb => sql.push("SET SESSION max_statement_time = 0"),
        Flavor::MySql => sql.push("SET SESSION max_execution_time = 0"),
    }
    sql
}

/// Opens one connection, identifies the server and prepares the session for dumping.
pub async fn open(settings: &ConnectionSettings, role: &str) -> Result<(Conn, ServerInfo)> {
    open_with(settings, role, session_setup_sql).await
}

/// Opens one connection, identifies the server and runs `setup`'s statements on it.
pub async fn open_with(
    settings: &ConnectionSettings,
    role: &str,
    setup: fn(Flavor) -> Vec<&'static str>,
) -> Result<(Conn, ServerInfo)> {
    let mut conn = settings.within_timeout(settings.connect_driver()).await?;
    let identified: std::result::Result<Option<(String, Option<String>)>, _> =
        match conn.query_first("SELECT @@version, @@hostname").await {
            // A server (or a proxy in front of it) that does not know @@hostname: the name
            // falls back, the version is still needed.
            Err(mysql_async::Error::Server(_)) => conn
                .query_first::<String, _>("SELECT @@version")
                .await
                .map(|v| v.map(|v| (v, None))),
            other => other,
        };
    let (version, hostname) = identified
        .map_err(|e| Error::server(format!("identifying the server ({role} connection)"), e))?
        .ok_or_else(|| Error::Internal("SELECT @@version returned no row".into()))?;
    let hostname = server_name(hostname.as_deref(), settings);
    let flavor = if version.to_ascii_lowercase().contains("mariadb") {
        Flavor::MariaDb
    } else {
        Flavor::MySql
    };
    let info = ServerInfo {
        flavor,
        numeric: parse_version(&version),
        version,
        hostname,
    };
    prepare_session(&mut conn, role, &setup(flavor), "read or write").await?;
    Ok((conn, info))
}

/// Runs `setup` on a new session of either kind, then checks that results arrive as utf8mb4:
/// a session that would convert text is refused (`refusing` says what it would have done with
/// it: "dump" for the row reader, "read or write" for driver connections, which restore uses).
pub(crate) async fn prepare_session<C: QueryConn>(
    conn: &mut C,
    role: &str,
    setup: &[&str],
    refusing: &str,
) -> Result<()> {
    for stmt in setup {
        conn.run(stmt)
            .await
            .map_err(|e| Error::server(format!("preparing the {role} session: {stmt}"), e))?;
    }
    let rows = conn
        .text_rows("SELECT @@character_set_results")
        .await
        .map_err(|e| Error::server(format!("checking the {role} session charset"), e))?;
    let results = rows.first().and_then(|r| r.first()).and_then(cell_text);
    if results.as_deref() != Some("utf8mb4") {
        return Err(Error::Unsupported(format!(
            "the {role} session reads results as {results:?} after SET NAMES utf8mb4; \
             refusing to {refusing} text that would be converted"
        )));
    }
    Ok(())
}

/// The server's name in file names and the metadata (docs/compat.md §3): its `@@hostname`,
/// else the host connected to ([`ConnectionSettings::source_host`]: the profile's or the
/// flag's), else `unknown`, as the old tool has it. An empty `@@hostname` (a container
/// without a host name) once made `shop_20260105_120304_.sql`, which `cleanup` does not
/// take for a backup.
fn server_name(server: Option<&str>, settings: &ConnectionSettings) -> String {
    [server.unwrap_or_default(), settings.source_host()]
        .into_iter()
        .map(str::trim)
        .find(|n| !n.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

fn parse_version(v: &str) -> (u16, u16, u16) {
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u16>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("10.11.6-MariaDB-log"), (10, 11, 6));
        assert_eq!(parse_version("8.4.0"), (8, 4, 0));
    }

    #[test]
    fn mysql_84_uses_the_new_status_statement() {
        let mut info = ServerInfo {
            flavor: Flavor::MySql,
            version: "8.4.0".into(),
            hostname: "h".into(),
            numeric: (8, 4, 0),
        };
        assert_eq!(info.binary_log_status_sql(), "SHOW BINARY LOG STATUS");
        info.numeric = (8, 0, 36);
        assert_eq!(info.binary_log_status_sql(), "SHOW MASTER STATUS");
        info.flavor = Flavor::MariaDb;
        info.numeric = (10, 11, 6);
        assert_eq!(info.binary_log_status_sql(), "SHOW MASTER STATUS");
    }

    #[test]
    fn a_tunnelled_connection_is_named_by_the_database_and_the_ssh_host() {
        let c = ConnectionSettings {
            host: "127.0.0.1".into(),
            port: 40000,
            user: "dumper".into(),
            tunnelled: Some(Tunnelled {
                host: "db.internal".into(),
                port: 3306,
                ssh: "ops@jump:22".into(),
            }),
            ..ConnectionSettings::default()
        };
        let d = c.describe();
        assert!(d.starts_with("dumper@db.internal:3306 "), "{d}");
        assert!(
            d.contains("ops@jump:22") && d.contains("127.0.0.1:40000"),
            "{d}"
        );
    }

    #[test]
    fn the_server_name_falls_back_to_the_host_then_unknown() {
        let tcp = ConnectionSettings {
            host: "db01.example".into(),
            ..ConnectionSettings::default()
        };
        assert_eq!(server_name(Some("db01"), &tcp), "db01");
        assert_eq!(server_name(Some(" "), &tcp), "db01.example");
        assert_eq!(server_name(None, &tcp), "db01.example");
        let socket = ConnectionSettings {
            socket: Some("/run/mysqld/mysqld.sock".into()),
            ..tcp.clone()
        };
        assert_eq!(server_name(Some(""), &socket), "localhost");
        let tunnelled = ConnectionSettings {
            tunnelled: Some(Tunnelled {
                host: "db.internal".into(),
                port: 3306,
                ssh: "ops@jump:22".into(),
            }),
            host: "127.0.0.1".into(),
            ..ConnectionSettings::default()
        };
        assert_eq!(server_name(None, &tunnelled), "db.internal");
        let nameless = ConnectionSettings {
            host: String::new(),
            ..ConnectionSettings::default()
        };
        assert_eq!(server_name(Some(""), &nameless), "unknown");
    }

    #[test]
    fn both_flavors_get_their_statement_timeout_off() {
        assert!(session_setup_sql(Flavor::MariaDb).contains(&"SET SESSION max_statement_time = 0"));
        assert!(session_setup_sql(Flavor::MySql).contains(&"SET SESSION max_execution_time = 0"));
    }
}

//! SSH tunnels (issue #18, docs/compat.md §7 `[ssh]`): one in-process SSH connection to a jump
//! host, and a listener on 127.0.0.1 whose every accepted connection is forwarded through a
//! `direct-tcpip` channel of its own to the database's host and port.
//!
//! Why a local listener rather than handing channels to the two connection kinds: the driver
//! (`mysql_async`) only opens its own TCP or Unix sockets, and the row reader connects its own
//! socket too; pointing [`ConnectionSettings`] at the listener keeps both unchanged, and each
//! worker still gets a connection (and a channel) of its own. The listener binds loopback only,
//! so only this machine's processes can use it; they could reach the jump host's network anyway
//! only with the key, which is the one trade-off of this design (see the hand-over notes).
//!
//! Host keys are checked against a known_hosts file in OpenSSH's format: a key that differs from
//! the recorded one always refuses; a host with no recorded key refuses unless
//! [`UnknownHost::AcceptNew`] is asked for, which records it (`ssh -o
//! StrictHostKeyChecking=accept-new`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::{ConnectionSettings, Tunnelled};
use crate::error::Error;
// In `error` beside `ConnectError`, so that `Error` can hold it without `error` importing
// `connect` (scripts/module-cycles.py); named here too, where it is raised.
pub use crate::error::TunnelError;
use crate::secret::Secret;

/// How to log in to the jump host.
#[derive(Clone, Debug)]
pub enum SshAuth {
    /// A private key file (OpenSSH or PEM), with its passphrase when it is encrypted.
    Key {
        path: PathBuf,
        passphrase: Option<Secret>,
    },
    /// The account's password (the profile's `ssh_password`).
    Password(Secret),
    /// Several keys, tried in order until the SSH host accepts one, as OpenSSH's client tries
    /// its default keys ([`default_identities`]). A key that is encrypted and has no
    /// passphrase, or does not load, is skipped; the error when none is accepted names each.
    Keys(Vec<KeyFile>),
}

/// A private key file of [`SshAuth::Keys`], with its passphrase when it is encrypted.
#[derive(Clone, Debug)]
pub struct KeyFile {
    pub path: PathBuf,
    pub passphrase: Option<Secret>,
}

/// The keys OpenSSH's client tries without `-i`, in its order (under `~/.ssh`), minus the DSA
/// and security-key (`_sk`) kinds, which this client does not use.
pub const DEFAULT_IDENTITIES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// The [`DEFAULT_IDENTITIES`] that exist under `home`/.ssh, in order.
pub fn default_identities(home: &Path) -> Vec<PathBuf> {
    DEFAULT_IDENTITIES
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .filter(|path| path.is_file())
        .collect()
}

/// What to do with a jump host whose key known_hosts does not record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownHost {
    /// Refuse (the default): trusting a key on first sight is the operator's decision.
    Refuse,
    /// Trust it and append it to known_hosts (`--ssh-accept-new`).
    AcceptNew,
}

/// Where the tunnel goes and how it logs in.
#[derive(Clone, Debug)]
pub struct SshSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: SshAuth,
    /// The known_hosts file (`~/.ssh/known_hosts` unless told otherwise).
    pub known_hosts: PathBuf,
    pub unknown_host: UnknownHost,
    /// The listener's port (the profile's `local_port`); an ephemeral one when `None`.
    pub local_port: Option<u16>,
    /// How long reaching and logging in to the jump host may take.
    pub connect_timeout: Duration,
}

/// An open tunnel: the SSH connection and the local listener's forwarding task. Dropping it
/// stops accepting and closes the SSH connection (and with it every channel).
pub struct Tunnel {
    local: SocketAddr,
    /// "user@host:port" of the SSH host, for messages.
    ssh: String,
    accept: JoinHandle<()>,
    session: Arc<client::Handle<HostKeyCheck>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Tunnel {
    /// Connects to the jump host, checks its key, logs in, and starts forwarding connections
    /// to 127.0.0.1:`local_addr().port()` to `target_host`:`target_port` (as the jump host
    /// resolves that name).
    pub async fn open(
        ssh: &SshSettings,
        target_host: &str,
        target_port: u16,
    ) -> Result<Tunnel, TunnelError> {
        let session = tokio::time::timeout(ssh.connect_timeout, login(ssh))
            .await
            .unwrap_or_else(|_| {
                Err(TunnelError::TimedOut {
                    host: ssh.host.clone(),
                    port: ssh.port,
                    timeout: ssh.connect_timeout,
                })
            })?;
        let session = Arc::new(session);
        let port = ssh.local_port.unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| TunnelError::Listen { port, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| TunnelError::Listen { port, source })?;
        let failure = Arc::new(Mutex::new(None));
        let accept = tokio::spawn(forward(
            listener,
            Arc::clone(&session),
            target_host.to_owned(),
            target_port,
            Arc::clone(&failure),
        ));
        Ok(Tunnel {
            local,
            ssh: format!("{}@{}:{}", ssh.user, ssh.host, ssh.port),
            accept,
            session,
            failure,
        })
    }

    /// The listener's address (always on 127.0.0.1).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `conn` pointed at the tunnel's local end (the user and password stay: they are the
    /// database's, checked by the database as before).
    pub fn point(&self, conn: &ConnectionSettings) -> ConnectionSettings {
        ConnectionSettings {
            host: self.local.ip().to_string(),
            port: self.local.port(),
            socket: None,
            ssh: None,
            tunnelled: Some(Tunnelled {
                host: conn.host.clone(),
                port: conn.port,
                ssh: self.ssh.clone(),
            }),
            ..conn.clone()
        }
    }

    /// The first channel that could not be opened, if any: a connection through the tunnel
    /// that failed without a server error was most likely refused here.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// True once the SSH connection is gone (the jump host closed it or the network broke).
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// `error`, the failure of a run whose connections went through this tunnel, as the user
    /// should read it: when the SSH connection closed, that is what lost the connections (the
    /// driver only saw its socket close, and guesses that the server ended it), so the message
    /// says so and names the SSH host; when a channel could not be opened, why. Otherwise
    /// `error` as it is. It may wait [`CLOSING_NOTICED`]: call it outside the runtime.
    pub fn explain(&self, error: Error) -> Error {
        // The database clients see their sockets close about when the SSH session's task sees
        // its connection end; a lost connection gives the task a moment to catch up.
        if error.is_connection_lost() {
            let deadline = Instant::now() + CLOSING_NOTICED;
            while !self.is_closed() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let cause = if self.is_closed() {
            format!(
                "the connections went through the SSH tunnel via {}, which closed during the run: \
                 the SSH host, or the network to it, went away, and every connection through the \
                 tunnel was lost with it; check the SSH host and run again",
                self.ssh
            )
        } else if let Some(failure) = self.failure() {
            format!("through the SSH tunnel via {}: {failure}", self.ssh)
        } else {
            return error;
        };
        Error::ThroughTunnel {
            source: Box::new(error),
            cause,
        }
    }
}

/// How long [`Tunnel::explain`] waits, after a lost connection, for the tunnel's closing to be
/// noticed: its socket and the database clients' close together, and the SSH session's task
/// sees it within milliseconds on a live machine.
pub const CLOSING_NOTICED: Duration = Duration::from_secs(5);

impl Drop for Tunnel {
    fn drop(&mut self) {
        // The accept task holds the session too; aborting it drops the last handle, which
        // ends the SSH connection's own task.
        self.accept.abort();
    }
}

/// Connects, checks the host key and authenticates.
async fn login(ssh: &SshSettings) -> Result<client::Handle<HostKeyCheck>, TunnelError> {
    let config = Arc::new(client::Config {
        // A tunnel idle between a dump's phases must stay up; keepalives notice a dead peer
        // (3 unanswered, 30 s apart) so that the run fails instead of hanging.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let check = HostKeyCheck {
        host: ssh.host.clone(),
        port: ssh.port,
        known_hosts: ssh.known_hosts.clone(),
        unknown_host: ssh.unknown_host,
        refusal: Arc::clone(&refusal),
    };
    let protocol = |phase: &'static str| {
        move |source: russh::Error| TunnelError::Protocol {
            host: ssh.host.clone(),
            port: ssh.port,
            phase,
            source,
        }
    };
    let mut session = match client::connect(config, (ssh.host.as_str(), ssh.port), check).await {
        Ok(s) => s,
        Err(e) => {
            // The handler's refusal is the real reason; russh only reports "unknown key".
            if let Some(reason) = refusal.lock().ok().and_then(|mut r| r.take()) {
                return Err(reason);
            }
            return Err(match e {
                russh::Error::IO(source) => TunnelError::Connect {
                    host: ssh.host.clone(),
                    port: ssh.port,
                    source,
                },
                other => protocol("exchanging keys")(other),
            });
        }
    };
    let (result, method, what) = match &ssh.auth {
        SshAuth::Key { path, passphrase } => {
            let key = load_key(path, passphrase.as_ref())?;
            let r = authenticate_key(&mut session, &ssh.user, key)
                .await
                .map_err(protocol("authenticating with the key"))?;
            (r, "public key", "that the key is in its authorized_keys")
        }
        SshAuth::Password(password) => {
            // russh makes a String of its own for the request and does not zero it: beyond
            // our reach, like mysql_async's copy of the database password.
            let r = session
                .authenticate_password(ssh.user.clone(), password.expose())
                .await
                .map_err(protocol("authenticating with the password"))?;
            (r, "password", "ssh_password")
        }
        SshAuth::Keys(keys) => {
            let mut tried = Vec::new();
            for k in keys {
                let key = match russh::keys::load_secret_key(
                    &k.path,
                    k.passphrase.as_ref().map(Secret::expose),
                ) {
                    Ok(key) => key,
                    Err(russh::keys::Error::KeyIsEncrypted) => {
                        tried.push(format!(
                            "{} (encrypted, and no passphrase was given: skipped)",
                            k.path.display()
                        ));
                        continue;
                    }
                    Err(e) => {
                        tried.push(format!("{} (cannot be loaded: {e})", k.path.display()));
                        continue;
                    }
                };
                let r = authenticate_key(&mut session, &ssh.user, key)
                    .await
                    .map_err(protocol("authenticating with a default key"))?;
                if r.success() {
                    return Ok(session);
                }
                tried.push(format!("{} (refused)", k.path.display()));
            }
            return Err(TunnelError::NoKeyAccepted {
                host: ssh.host.clone(),
                port: ssh.port,
                user: ssh.user.clone(),
                tried: tried.join(", "),
            });
        }
    };
    if !result.success() {
        return Err(TunnelError::Denied {
            host: ssh.host.clone(),
            port: ssh.port,
            user: ssh.user.clone(),
            method,
            what,
        });
    }
    Ok(session)
}

/// One public key attempt. RSA keys sign with the best hash the server announces
/// (rsa-sha2-512/256), not the SHA-1 that current OpenSSH refuses.
async fn authenticate_key(
    session: &mut client::Handle<HostKeyCheck>,
    user: &str,
    key: PrivateKey,
) -> Result<client::AuthResult, russh::Error> {
    let hash = if key.algorithm().is_rsa() {
        session.best_supported_rsa_hash().await?.flatten()
    } else {
        None
    };
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
    session.authenticate_publickey(user.to_owned(), key).await
}

/// True when the key file at `path` needs a passphrase, so that the command can ask for it
/// before connecting. A file that cannot be read or parsed is not judged here: opening the
/// tunnel reports it.
pub fn key_is_encrypted(path: &Path) -> bool {
    matches!(
        russh::keys::load_secret_key(path, None),
        Err(russh::keys::Error::KeyIsEncrypted)
    )
}

/// Whether `passphrase` opens the key at `path` (asked for before connecting, so that a typo is
/// caught while the user is still at the prompt).
pub fn passphrase_opens(path: &Path, passphrase: &Secret) -> bool {
    russh::keys::load_secret_key(path, Some(passphrase.expose())).is_ok()
}

fn load_key(path: &Path, passphrase: Option<&Secret>) -> Result<PrivateKey, TunnelError> {
    russh::keys::load_secret_key(path, passphrase.map(Secret::expose)).map_err(|source| {
        TunnelError::Key {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Accepts local connections and forwards each through a channel of its own until the tunnel
/// is dropped. A channel that cannot be opened closes its local connection (the client then
/// reports a lost connection) and is remembered for [`Tunnel::failure`].
async fn forward(
    listener: TcpListener,
    session: Arc<client::Handle<HostKeyCheck>>,
    target_host: String,
    target_port: u16,
    failure: Arc<Mutex<Option<String>>>,
) {
    loop {
        let (local, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors, usually: a pause instead of a busy loop; the client
            // waiting on it times out (--connect-timeout) if it lasts.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let session = Arc::clone(&session);
        let target_host = target_host.clone();
        let failure = Arc::clone(&failure);
        tokio::spawn(async move {
            if let Err(e) = relay(local, peer, &session, &target_host, target_port).await
                && let Ok(mut f) = failure.lock()
            {
                f.get_or_insert(e);
            }
        });
    }
}

/// One forwarded connection: a `direct-tcpip` channel, copied both ways until either side
/// closes.
async fn relay(
    mut local: TcpStream,
    peer: SocketAddr,
    session: &client::Handle<HostKeyCheck>,
    target_host: &str,
    target_port: u16,
) -> Result<(), String> {
    let _ = local.set_nodelay(true);
    let channel = session
        .channel_open_direct_tcpip(
            target_host,
            u32::from(target_port),
            peer.ip().to_string(),
            u32::from(peer.port()),
        )
        .await
        .map_err(|e| {
            format!(
                "the SSH host did not open a channel to {target_host}:{target_port}: {e}; check \
                 that the database host and port are reachable from the SSH host and that it \
                 allows TCP forwarding (AllowTcpForwarding)"
            )
        })?;
    let mut remote = channel.into_stream();
    // A copy that ends with an error is a connection that broke; the database client on the
    // local end sees it closed and reports it as a lost connection, which fails the run.
    let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
    Ok(())
}

/// The host key check, run by russh during key exchange. A refusal is recorded in `refusal`:
/// russh's own error for it does not say why.
struct HostKeyCheck {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    unknown_host: UnknownHost,
    refusal: Arc<Mutex<Option<TunnelError>>>,
}

impl HostKeyCheck {
    fn judge(&self, key: &PublicKey) -> Result<(), TunnelError> {
        let known_hosts = self.known_hosts.display().to_string();
        let recorded = russh::keys::known_hosts::known_host_keys_path(
            &self.host,
            self.port,
            &self.known_hosts,
        )
        .map_err(|source| TunnelError::KnownHosts {
            known_hosts: known_hosts.clone(),
            source,
        })?;
        if recorded.iter().any(|(_, k)| k.key_data() == key.key_data()) {
            return Ok(());
        }
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        // Any recorded key for the host, of whatever type, that is not this one is a change:
        // OpenSSH's accept-new also records keys only for hosts it knows nothing about.
        if let Some((line, _)) = recorded.first() {
            return Err(TunnelError::ChangedHostKey {
                host: self.host.clone(),
                port: self.port,
                host_entry: host_entry(&self.host, self.port),
                fingerprint,
                known_hosts,
                line: *line,
            });
        }
        match self.unknown_host {
            UnknownHost::Refuse => Err(TunnelError::UnknownHostKey {
                host: self.host.clone(),
                port: self.port,
                fingerprint,
                known_hosts,
            }),
            UnknownHost::AcceptNew => {
                // A ~/.ssh made here is private, as OpenSSH makes it (russh would make it 0755).
                if let Some(dir) = self.known_hosts.parent()
                    && !dir.exists()
                {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(dir)
                        .map_err(|e| TunnelError::KnownHosts {
                            known_hosts: known_hosts.clone(),
                            source: e.into(),
                        })?;
                }
                russh::keys::known_hosts::learn_known_hosts_path(
                    &self.host,
                    self.port,
                    key,
                    &self.known_hosts,
                )
                .map_err(|source| TunnelError::KnownHosts {
                    known_hosts,
                    source,
                })
            }
        }
    }
}

/// How OpenSSH names host:port in known_hosts.
fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match server_public_key.certificate() {
            None => self.judge(&server_public_key.public_key()),
            Some(_) => Err(TunnelError::HostCertificate {
                host: self.host.clone(),
                port: self.port,
            }),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(e) => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(e);
                }
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_names_non_default_ports_in_brackets() {
        assert_eq!(host_entry("jump", 22), "jump");
        assert_eq!(host_entry("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }
}

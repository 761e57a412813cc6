//! `caching_sha2_password` outside TLS: when the server has no cached entry for the account it
//! asks for the password itself ("full authentication"), which a client may send in clear only
//! over TLS or a Unix socket; otherwise encrypted with the server's RSA key. A key fetched over
//! plaintext is a key a man in the middle can replace with his own, and then read the password.
//! So the key is fetched that way only when the user asks (`--get-server-public-key`), or comes
//! from a file the user pins (`--server-public-key-path`); otherwise the login is refused,
//! saying why. Connections to this machine (loopback, or through an SSH tunnel to the jump
//! host's own loopback) are exempt: no one can sit between their ends who could not read this
//! process's memory.
//!
//! The row reader applies the rule in its own handshake. mysql_async has no such option (it
//! always fetches the key), so its plaintext TCP connections go through [`guard`]: a relay on
//! 127.0.0.1 that watches the handshake, stops the connection when the server asks for the
//! password in full and the rule says no, answers the key request itself with a pinned key,
//! and after the login only copies bytes.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rsa::pkcs8::DecodePublicKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

use super::ConnectionSettings;

/// caching_sha2_password's "send the password in full" message, and the key request.
const FULL_AUTH: [u8; 2] = [0x01, 0x04];
const KEY_REQUEST: [u8; 1] = [0x02];

/// The largest handshake packet the guard reads (a greeting, a login, a key are far smaller):
/// a hostile server cannot make it buffer more.
const MAX_HANDSHAKE_PACKET: usize = 64 << 10;

/// The relay's buffers once the login is through, each way.
const RELAY_BUFFER: usize = 256 << 10;

/// Where the server's RSA key may come from when the password must be sent in full outside
/// TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ServerKey {
    /// Nowhere: such a login fails, saying how to allow it.
    #[default]
    Refuse,
    /// From the server, unverified (`--get-server-public-key`).
    Fetch,
    /// From this PEM file (`--server-public-key-path`), never from the server.
    Pinned(PathBuf),
}

/// Why a full authentication outside TLS was not done.
pub(crate) const REFUSED: &str = "the server asks for the password in full \
     (caching_sha2_password with no cached entry for this account), and this connection is \
     neither TLS nor local: sending it would need the server's RSA key, fetched over an \
     unverified channel where a man in the middle can replace it";

/// Whether the connections of `settings` never leave this machine unencrypted: a Unix socket,
/// addresses that are all loopback, or a tunnel whose far end is the jump host's loopback.
pub(crate) fn is_local(settings: &ConnectionSettings, resolved: &[SocketAddr]) -> bool {
    if settings.socket.is_some() {
        return true;
    }
    match &settings.tunnelled {
        Some(t) => {
            t.host.eq_ignore_ascii_case("localhost")
                || t.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => !resolved.is_empty() && resolved.iter().all(|a| a.ip().is_loopback()),
    }
}

/// The password as caching_sha2_password sends it under RSA: NUL-terminated, XORed with the
/// handshake's nonce, encrypted with OAEP (SHA-1) under the server's key `pem`.
pub(crate) fn encrypt_password(
    password: &[u8],
    nonce: &[u8],
    pem: &str,
) -> Result<Vec<u8>, String> {
    if nonce.is_empty() {
        return Err("the server sent no nonce".into());
    }
    let key = rsa::PublicKey::from_public_key_pem(pem.trim())
        .map_err(|e| format!("the server's RSA key is not a PEM public key ({e})"))?;
    let mut message = nul_terminated(password);
    for (i, b) in message.iter_mut().enumerate() {
        *b ^= nonce[i % nonce.len()];
    }
    key.encrypt(&mut rand::rng(), rsa::Oaep::<sha1::Sha1>::new(), &message)
        .map_err(|e| format!("RSA encryption of the password failed ({e})"))
}

/// `password` and a NUL, in a buffer zeroed when dropped and sized before the password goes
/// in: `to_vec` then `push` would move it to a larger buffer and free the first copy as it was.
pub(crate) fn nul_terminated(password: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() + 1));
    out.extend_from_slice(password);
    out.push(0);
    out
}

/// Reads a pinned key file; the error names it.
pub fn read_pinned(path: &Path) -> Result<String, String> {
    let pem = crate::limits::read_text(path, crate::limits::KEY_FILE, "PEM public key")
        .map_err(|e| format!("--server-public-key-path {}: {e}", path.display()))?;
    rsa::PublicKey::from_public_key_pem(pem.trim()).map_err(|e| {
        format!(
            "--server-public-key-path {}: not a PEM public key ({e}); it is the server's \
             caching_sha2_password_public_key_path file",
            path.display()
        )
    })?;
    Ok(pem)
}

/// What the guard saw, for the error of a connection it stopped.
#[derive(Clone, Debug, Default)]
pub(crate) struct Verdict(Arc<Mutex<Option<String>>>);

impl Verdict {
    /// Why the guard stopped the connection, if it did.
    pub(crate) fn refusal(&self) -> Option<String> {
        self.0.lock().ok().and_then(|v| v.clone())
    }

    fn refuse(&self, why: String) {
        if let Ok(mut v) = self.0.lock() {
            *v = Some(why);
        }
    }
}

/// The guard for one plaintext TCP connection of `settings` to `resolved`, or None when the
/// connection never leaves this machine ([`is_local`]) and needs none. The one decision for
/// every caller (the driver's connections, the mysqldump engine's).
pub(crate) async fn guard_unless_local(
    settings: &ConnectionSettings,
    resolved: &[SocketAddr],
) -> Result<Option<(SocketAddr, Verdict)>, crate::error::ConnectError> {
    if is_local(settings, resolved) {
        return Ok(None);
    }
    guard(
        resolved.to_vec(),
        settings.server_key.clone(),
        settings.connect_timeout,
    )
    .await
    .map(Some)
    .map_err(|source| crate::error::ConnectError::Network { source })
}

/// Starts a guard for one connection to `server` (its addresses, tried in order): returns the
/// local address to connect to instead. The relay ends with the connection; if nothing
/// connects within `timeout` it ends too.
pub(crate) async fn guard(
    server: Vec<SocketAddr>,
    key: ServerKey,
    timeout: std::time::Duration,
) -> io::Result<(SocketAddr, Verdict)> {
    let pinned = match &key {
        ServerKey::Pinned(path) => Some(read_pinned(path).map_err(io::Error::other)?),
        _ => None,
    };
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let local = listener.local_addr()?;
    let verdict = Verdict::default();
    let seen = verdict.clone();
    tokio::spawn(async move {
        let Ok(Ok((client, _))) = tokio::time::timeout(timeout, listener.accept()).await else {
            return;
        };
        drop(listener);
        let Ok(Ok(upstream)) = tokio::time::timeout(timeout, TcpStream::connect(&*server)).await
        else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        relay(client, upstream, key, pinned, seen, timeout).await;
    });
    Ok((local, verdict))
}

async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    key: ServerKey,
    pinned: Option<String>,
    verdict: Verdict,
    timeout: std::time::Duration,
) {
    // The login within the connect timeout, as the driver's side has it: a server that stops
    // answering mid-login does not keep the relay waiting after the driver gave up.
    let login = watch_login(&mut client, &mut server, &key, pinned.as_deref());
    match tokio::time::timeout(timeout, login)
        .await
        .unwrap_or(Err(Stop::Io))
    {
        Ok(()) => {
            let _ = tokio::io::copy_bidirectional_with_sizes(
                &mut client,
                &mut server,
                RELAY_BUFFER,
                RELAY_BUFFER,
            )
            .await;
        }
        // Both sockets close here: the driver sees the connection end before it sent anything.
        Err(Stop::Refused(why)) => verdict.refuse(why),
        Err(Stop::Io) => {}
    }
}

enum Stop {
    Refused(String),
    Io,
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Stop {
        Stop::Io
    }
}

/// One packet: its sequence id and payload.
struct Packet {
    seq: u8,
    payload: Vec<u8>,
}

async fn read(from: &mut TcpStream) -> Result<Packet, Stop> {
    let mut header = [0u8; 4];
    from.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    if len > MAX_HANDSHAKE_PACKET {
        return Err(Stop::Io);
    }
    let mut payload = vec![0; len];
    from.read_exact(&mut payload).await?;
    Ok(Packet {
        seq: header[3],
        payload,
    })
}

async fn write(to: &mut TcpStream, seq: u8, payload: &[u8]) -> Result<(), Stop> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
    out.push(seq);
    out.extend_from_slice(payload);
    to.write_all(&out).await?;
    Ok(())
}

/// Relays the connection phase packet by packet until the server's verdict (OK or error) or
/// the start of TLS, applying the key rule.
async fn watch_login(
    client: &mut TcpStream,
    server: &mut TcpStream,
    key: &ServerKey,
    pinned: Option<&str>,
) -> Result<(), Stop> {
    const CLIENT_SSL: u32 = 1 << 11;
    let greeting = read(server).await?;
    write(client, greeting.seq, &greeting.payload).await?;
    let login = read(client).await?;
    write(server, login.seq, &login.payload).await?;
    let caps = login
        .payload
        .get(..4)
        .map_or(0, |c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    if login.payload.len() == 32 && caps & CLIENT_SSL != 0 {
        // An SSL request: TLS from here; the driver sends the password only inside it.
        return Ok(());
    }
    // Packets the guard answered itself, which the server never saw: the sequence ids of the
    // rest of the exchange shift by this much.
    let mut shift = 0u8;
    loop {
        let p = read(server).await?;
        let seq = p.seq.wrapping_add(shift);
        match p.payload.first() {
            Some(0x00 | 0xff) => {
                write(client, seq, &p.payload).await?;
                return Ok(());
            }
            // Cached: the OK follows from the server.
            Some(0x01) if p.payload == [0x01, 0x03] => {
                write(client, seq, &p.payload).await?;
                continue;
            }
            _ => {}
        }
        let full = p.payload == FULL_AUTH;
        if full && *key == ServerKey::Refuse {
            return Err(Stop::Refused(REFUSED.into()));
        }
        write(client, seq, &p.payload).await?;
        // The client's answer to an auth switch, to more auth data, or to the full-auth request.
        let mut answer = read(client).await?;
        if full
            && answer.payload == KEY_REQUEST
            && let Some(pem) = pinned
        {
            // The pinned key instead of the server's; the server never sees the request.
            let mut reply = vec![0x01];
            reply.extend_from_slice(pem.as_bytes());
            write(client, answer.seq.wrapping_add(1), &reply).await?;
            answer = read(client).await?;
            shift = shift.wrapping_add(2);
        }
        write(server, answer.seq.wrapping_sub(shift), &answer.payload).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Tunnelled;

    fn at(ip: &str) -> Vec<SocketAddr> {
        vec![SocketAddr::new(ip.parse().unwrap(), 3306)]
    }

    #[test]
    fn only_loopback_sockets_and_tunnels_to_the_jump_host_itself_are_local() {
        let mut s = ConnectionSettings::default();
        assert!(is_local(&s, &at("127.0.0.1")));
        assert!(is_local(&s, &at("::1")));
        assert!(!is_local(&s, &at("10.0.0.5")));
        assert!(!is_local(&s, &[at("127.0.0.1"), at("10.0.0.5")].concat()));
        s.tunnelled = Some(Tunnelled {
            host: "db.internal".into(),
            port: 3306,
            ssh: "me@bastion:22".into(),
        });
        // The local end of a tunnel is loopback; what counts is the jump host's side.
        assert!(!is_local(&s, &at("127.0.0.1")));
        s.tunnelled.as_mut().unwrap().host = "localhost".into();
        assert!(is_local(&s, &at("127.0.0.1")));
        s.tunnelled = None;
        s.socket = Some("/run/mysqld/mysqld.sock".into());
        assert!(is_local(&s, &[]));
    }

    /// A key pair made here: the public half as the server would send it, the private half to
    /// check what the client encrypted.
    fn key_pair() -> (rsa::PrivateKey, String) {
        use rsa::pkcs8::EncodePublicKey;
        let private = rsa::PrivateKey::new(&mut rand::rng(), 1024).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        (private, pem)
    }

    #[test]
    fn a_nul_terminated_password_is_built_in_one_buffer() {
        let p = nul_terminated(b"s3cr3t");
        assert_eq!(p.as_slice(), b"s3cr3t\0");
        // Grown from a first buffer, it would have left a copy of the password behind.
        assert_eq!(p.capacity(), p.len());
    }

    #[test]
    fn the_password_is_encrypted_as_the_server_decrypts_it() {
        let (private, pem) = key_pair();
        let nonce = b"0123456789abcdefghij";
        let sealed = encrypt_password(b"s3cr3t \xe2\x9c\x93", nonce, &pem).unwrap();
        let mut plain = private
            .decrypt(rsa::Oaep::<sha1::Sha1>::new(), &sealed)
            .unwrap();
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= nonce[i % nonce.len()];
        }
        assert_eq!(plain, b"s3cr3t \xe2\x9c\x93\0");
        assert!(encrypt_password(b"x", nonce, "not a key").is_err());
        assert!(encrypt_password(b"x", b"", &pem).is_err());
    }

    /// A scripted server speaking caching_sha2_password's full authentication (MariaDB has no
    /// such plugin, so the harness's servers cannot): the greeting, then after the login
    /// `01 04`, then it expects either a key request or an RSA-encrypted password, then OK.
    /// Returns what the client sent after the login.
    async fn scripted_server(
        listener: TcpListener,
        key_pem: String,
    ) -> tokio::task::JoinHandle<Vec<Vec<u8>>> {
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut greeting = vec![10];
            greeting.extend_from_slice(b"8.0.40\0");
            greeting.extend_from_slice(&[0; 40]);
            let _ = write(&mut s, 0, &greeting).await;
            let mut seen = Vec::new();
            let Ok(login) = read(&mut s).await else {
                return seen;
            };
            let mut seq = login.seq.wrapping_add(1);
            let _ = write(&mut s, seq, &FULL_AUTH).await;
            loop {
                let Ok(p) = read(&mut s).await else {
                    return seen;
                };
                assert_eq!(
                    p.seq,
                    seq.wrapping_add(1),
                    "sequence ids as the server counts"
                );
                seen.push(p.payload.clone());
                seq = p.seq.wrapping_add(1);
                if p.payload == KEY_REQUEST {
                    let mut reply = vec![0x01];
                    reply.extend_from_slice(key_pem.as_bytes());
                    let _ = write(&mut s, seq, &reply).await;
                } else {
                    let _ = write(&mut s, seq, &[0x00, 0, 0, 2, 0, 0, 0]).await;
                    return seen;
                }
            }
        })
    }

    /// The driver's side: login, then whatever the full-auth request calls for under `key`
    /// (as mysql_async answers it: key request, then the encrypted password).
    async fn client_through(local: SocketAddr) -> Result<Option<String>, Stop> {
        let mut c = TcpStream::connect(local).await?;
        let g = read(&mut c).await?;
        write(&mut c, g.seq + 1, b"login").await?;
        let p = read(&mut c).await?;
        assert_eq!(p.payload, FULL_AUTH);
        write(&mut c, p.seq + 1, &KEY_REQUEST).await?;
        let key = read(&mut c).await?;
        write(&mut c, key.seq + 1, b"sealed password").await?;
        let ok = read(&mut c).await?;
        assert_eq!(ok.payload[0], 0x00);
        assert_eq!(ok.seq, key.seq + 2);
        Ok(Some(
            String::from_utf8_lossy(&key.payload[1..]).into_owned(),
        ))
    }

    async fn through_guard(key: ServerKey) -> (Option<String>, Vec<Vec<u8>>, Verdict) {
        let (_, server_pem) = key_pair();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = scripted_server(listener, server_pem).await;
        let (local, verdict) = guard(vec![addr], key, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let got = client_through(local).await.ok().flatten();
        (got, server.await.unwrap(), verdict)
    }

    #[tokio::test]
    async fn the_guard_stops_a_key_fetch_the_user_did_not_allow() {
        let (got, server_saw, verdict) = through_guard(ServerKey::Refuse).await;
        assert_eq!(got, None, "the client got no key");
        assert!(
            server_saw.is_empty(),
            "nothing after the login: {server_saw:?}"
        );
        assert_eq!(verdict.refusal().as_deref(), Some(REFUSED));
    }

    #[tokio::test]
    async fn the_guard_lets_an_allowed_fetch_through() {
        let (got, server_saw, verdict) = through_guard(ServerKey::Fetch).await;
        assert!(got.unwrap().contains("BEGIN PUBLIC KEY"));
        assert_eq!(
            server_saw,
            vec![KEY_REQUEST.to_vec(), b"sealed password".to_vec()]
        );
        assert_eq!(verdict.refusal(), None);
    }

    #[tokio::test]
    async fn the_guard_answers_with_the_pinned_key_and_the_server_never_sees_the_request() {
        let (_, pinned) = key_pair();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server_public_key.pem");
        std::fs::write(&path, &pinned).unwrap();
        let (got, server_saw, verdict) = through_guard(ServerKey::Pinned(path)).await;
        assert_eq!(got.as_deref(), Some(pinned.as_str()));
        assert_eq!(server_saw, vec![b"sealed password".to_vec()]);
        assert_eq!(verdict.refusal(), None);
    }

    #[test]
    fn a_pinned_file_that_is_not_a_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        let err = read_pinned(&path).unwrap_err();
        assert!(
            err.contains("key.pem") && err.contains("not a PEM public key"),
            "{err}"
        );
    }

    #[test]
    fn a_pinned_file_larger_than_any_key_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(2 << 20)
            .unwrap();
        let err = read_pinned(&path).unwrap_err();
        assert!(
            err.contains("key.pem") && err.contains("more than 1048576 bytes"),
            "{err}"
        );
    }
}

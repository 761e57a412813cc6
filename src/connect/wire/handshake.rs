//! The connection phase: the server's greeting, the capabilities both sides use, and
//! authentication with `mysql_native_password` or `caching_sha2_password` (including an auth
//! switch to the plugin the account uses).

use std::sync::Arc;

use rustls::pki_types::ServerName;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::packet::{MAX_PACKET, Reader, io_error, protocol, put_lenenc, server_error};
use super::{WireConn, WireResult};
use crate::connect::ConnectionSettings;
use crate::connect::auth::{self, ServerKey};

/// The row reader's TLS for one connection: the rules and the name the certificate must carry.
pub(super) type TlsStart = (Arc<rustls::ClientConfig>, ServerName<'static>);

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_LONG_FLAG: u32 = 1 << 2;
const CLIENT_PROTOCOL_41: u32 = 1 << 9;
const CLIENT_SSL: u32 = 1 << 11;
const CLIENT_TRANSACTIONS: u32 = 1 << 13;
const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
const CLIENT_PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;
pub(super) const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

/// What the client asks for; DEPRECATE_EOF and the auth flags only when the server has them.
pub(super) const WANTED: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_DATA
    | CLIENT_DEPRECATE_EOF;
/// Without these the handshake is not the one this client speaks (pre-4.1 servers).
const REQUIRED: u32 = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;

/// utf8mb4_general_ci for the handshake; the session's `SET NAMES utf8mb4` is what counts.
const HANDSHAKE_COLLATION: u8 = 45;

impl WireConn {
    /// Reads the server's greeting, switches to TLS when `tls` says so and the server offers it
    /// (a server without TLS is an error when the mode requires it), answers the greeting with
    /// the capabilities in `wanted` the server has, and authenticates `settings.user`.
    pub(super) async fn handshake(
        &mut self,
        settings: &ConnectionSettings,
        tls: Option<TlsStart>,
        wanted: u32,
    ) -> WireResult<()> {
        let greeting = self.read_packet().await?;
        if greeting.first() == Some(&0xff) {
            return Err(server_error(&greeting));
        }
        let g = Greeting::parse(&greeting)?;
        if g.capabilities & REQUIRED != REQUIRED {
            return Err(protocol(format!(
                "the server ({}) does not speak the 4.1 protocol with secure authentication",
                g.version
            )));
        }
        self.id = g.connection_id;
        let mut caps = wanted & (g.capabilities | CLIENT_LONG_PASSWORD);
        self.deprecate_eof = caps & CLIENT_DEPRECATE_EOF != 0;
        if let Some((config, name)) = tls {
            if g.capabilities & CLIENT_SSL != 0 {
                caps |= CLIENT_SSL;
                // The SSL request: the login's first 32 bytes, then TLS, then the login.
                self.write_packet(&login_prefix(caps)).await?;
                self.stream
                    .start_tls(config, name)
                    .await
                    .map_err(io_error)?;
            } else if settings.tls.mode.requires_tls() {
                return Err(mysql_async::DriverError::NoClientSslFlagFromServer.into());
            } else {
                settings.no_tls_offered.remember(self.local);
            }
        }
        let password = settings
            .password
            .as_ref()
            .map(|p| p.expose().as_bytes())
            .unwrap_or_default();

        let mut plugin = match g.plugin.as_str() {
            "caching_sha2_password" => "caching_sha2_password",
            // Anything else: answer as native; the server switches us to what the account uses.
            _ => "mysql_native_password",
        };
        let mut nonce = g.scramble.clone();
        let auth = scramble(plugin, password, &nonce)?;
        let mut p = Zeroizing::new(login_prefix(caps));
        p.extend_from_slice(settings.user.as_bytes());
        p.push(0);
        if caps & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut p, auth.len() as u64);
        } else {
            p.push(auth.len() as u8);
        }
        p.extend_from_slice(&auth);
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            p.extend_from_slice(plugin.as_bytes());
            p.push(0);
        }
        self.write_packet(&p).await?;

        loop {
            let reply = self.read_packet().await?;
            match reply.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => return Err(server_error(&reply)),
                // Auth switch: another plugin, with its own scramble.
                Some(0xfe) => {
                    let rest = &reply[1..];
                    let nul = rest.iter().position(|b| *b == 0).ok_or_else(|| {
                        protocol("the server asked for the old (pre-4.1) password scheme")
                    })?;
                    let name = String::from_utf8_lossy(&rest[..nul]).into_owned();
                    let data = &rest[nul + 1..];
                    let data = data.strip_suffix(&[0]).unwrap_or(data);
                    plugin = match name.as_str() {
                        "mysql_native_password" => "mysql_native_password",
                        "caching_sha2_password" => "caching_sha2_password",
                        other => {
                            return Err(protocol(format!(
                                "the account uses the {other} authentication plugin, which the \
                                 row reader does not speak"
                            )));
                        }
                    };
                    nonce = data.to_vec();
                    let auth = scramble(plugin, password, &nonce)?;
                    self.write_packet(&auth).await?;
                }
                // More data of caching_sha2_password: 3 = cached, OK follows; 4 = full auth.
                Some(0x01) if plugin == "caching_sha2_password" => match reply.get(1) {
                    Some(3) => {}
                    // The server takes the password itself over a channel it trusts.
                    Some(4) if self.unix_socket || self.stream.is_tls() => {
                        let clear = auth::nul_terminated(password);
                        self.write_packet(&clear).await?;
                    }
                    Some(4) => {
                        let sealed = self.seal_password(settings, password, &nonce).await?;
                        self.write_packet(&sealed).await?;
                    }
                    _ => return Err(protocol("unexpected caching_sha2_password message")),
                },
                _ => {
                    return Err(protocol(format!(
                        "unexpected packet 0x{:02X} during authentication",
                        reply.first().copied().unwrap_or(0)
                    )));
                }
            }
        }
    }
}

impl WireConn {
    /// The password encrypted with the server's RSA key, for a full caching_sha2_password
    /// login outside TLS and a socket: the pinned key, or the server's when the user allowed
    /// fetching it or the connection never leaves this machine; otherwise refused
    /// (`connect::auth`).
    async fn seal_password(
        &mut self,
        settings: &ConnectionSettings,
        password: &[u8],
        nonce: &[u8],
    ) -> WireResult<Vec<u8>> {
        let pem = match &settings.server_key {
            ServerKey::Pinned(path) => auth::read_pinned(path).map_err(protocol)?,
            ServerKey::Refuse if !self.local => return Err(protocol(auth::REFUSED)),
            ServerKey::Fetch | ServerKey::Refuse => {
                self.write_packet(&[0x02]).await?;
                let reply = self.read_packet().await?;
                match reply.split_first() {
                    Some((0x01, key)) => String::from_utf8_lossy(key).into_owned(),
                    _ => return Err(protocol("the server did not send its RSA public key")),
                }
            }
        };
        auth::encrypt_password(password, nonce, &pem).map_err(protocol)
    }
}

/// The login's fixed first 32 bytes (capabilities, max packet size, collation, filler), which
/// are also the whole SSL request.
fn login_prefix(caps: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(128);
    p.extend_from_slice(&caps.to_le_bytes());
    p.extend_from_slice(&(MAX_PACKET as u32).to_le_bytes());
    p.push(HANDSHAKE_COLLATION);
    p.extend_from_slice(&[0; 23]);
    p
}

/// The server's first packet (HandshakeV10).
pub(crate) struct Greeting {
    version: String,
    connection_id: u32,
    capabilities: u32,
    scramble: Vec<u8>,
    plugin: String,
}

impl Greeting {
    pub(crate) fn parse(p: &[u8]) -> WireResult<Greeting> {
        let bad = || protocol("the server's handshake could not be read");
        if p.first() != Some(&10) {
            return Err(protocol(format!(
                "handshake protocol version {:?} is not 10",
                p.first()
            )));
        }
        let nul = p[1..].iter().position(|b| *b == 0).ok_or_else(bad)? + 1;
        let version = String::from_utf8_lossy(&p[1..nul]).into_owned();
        let mut r = Reader {
            buf: p,
            pos: nul + 1,
        };
        let connection_id = u32::from_le_bytes(r.array().map_err(|_| bad())?);
        let mut scramble = r.take(8).map_err(|_| bad())?.to_vec();
        r.take(1).map_err(|_| bad())?;
        let low = u16::from_le_bytes(r.array().map_err(|_| bad())?);
        let mut capabilities = u32::from(low);
        let mut plugin = String::new();
        if r.pos < p.len() {
            let _charset = r.u8().map_err(|_| bad())?;
            let _status: [u8; 2] = r.array().map_err(|_| bad())?;
            let high = u16::from_le_bytes(r.array().map_err(|_| bad())?);
            capabilities |= u32::from(high) << 16;
            let auth_len = usize::from(r.u8().map_err(|_| bad())?);
            r.take(10).map_err(|_| bad())?;
            if capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let n = auth_len.saturating_sub(8).max(13);
                let part = r.take(n.min(p.len() - r.pos)).map_err(|_| bad())?;
                let part = part.strip_suffix(&[0]).unwrap_or(part);
                scramble.extend_from_slice(part);
            }
            if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                let rest = &p[r.pos..];
                let rest = rest.split(|b| *b == 0).next().unwrap_or_default();
                plugin = String::from_utf8_lossy(rest).into_owned();
            }
        }
        Ok(Greeting {
            version,
            connection_id,
            capabilities,
            scramble,
            plugin,
        })
    }
}

/// The authentication response of `plugin` for `password` and the server's `nonce`.
fn scramble(plugin: &str, password: &[u8], nonce: &[u8]) -> WireResult<Zeroizing<Vec<u8>>> {
    if password.is_empty() {
        return Ok(Zeroizing::new(Vec::new()));
    }
    let nonce = &nonce[..nonce.len().min(20)];
    let out = match plugin {
        // SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))
        "mysql_native_password" => {
            let h1 = Zeroizing::new(Sha1::digest(password).to_vec());
            let h2 = Sha1::digest(h1.as_slice());
            let mut m = Sha1::new();
            m.update(nonce);
            m.update(h2);
            let mask = m.finalize();
            h1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
        }
        // SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce)
        "caching_sha2_password" => {
            let h1 = Zeroizing::new(Sha256::digest(password).to_vec());
            let h2 = Sha256::digest(h1.as_slice());
            let mut m = Sha256::new();
            m.update(h2);
            m.update(nonce);
            let mask = m.finalize();
            h1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
        }
        other => {
            return Err(protocol(format!(
                "authentication plugin {other} is not supported by the row reader"
            )));
        }
    };
    Ok(Zeroizing::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_scramble_matches_the_reference() {
        // The server stores SHA1(SHA1(password)); check the client's proof against it the way
        // the server does: SHA1(nonce + stored) XOR proof = SHA1(password), whose SHA1 is stored.
        let nonce = b"abcdefghijklmnopqrst";
        let proof = scramble("mysql_native_password", b"secret", nonce).unwrap();
        let stored = Sha1::digest(Sha1::digest(b"secret"));
        let mut m = Sha1::new();
        m.update(nonce);
        m.update(stored);
        let mask = m.finalize();
        let h1: Vec<u8> = proof.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&h1), stored);
        assert!(
            scramble("mysql_native_password", b"", nonce)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn caching_sha2_scramble_matches_the_reference() {
        let nonce = b"01234567890123456789";
        let proof = scramble("caching_sha2_password", b"secret", nonce).unwrap();
        let stored = Sha256::digest(Sha256::digest(b"secret"));
        let mut m = Sha256::new();
        m.update(stored);
        m.update(nonce);
        let mask = m.finalize();
        let h1: Vec<u8> = proof.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha256::digest(&h1), stored);
        assert!(scramble("client_ed25519", b"x", nonce).is_err());
    }

    #[test]
    fn greetings_of_both_servers_parse() {
        // MariaDB 10.11 style: no CLIENT_MYSQL bit, 21-byte auth data, plugin name.
        let mut g = vec![10];
        g.extend_from_slice(b"5.5.5-10.11.6-MariaDB\0");
        g.extend_from_slice(&42u32.to_le_bytes());
        g.extend_from_slice(b"12345678\0");
        let caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        g.extend_from_slice(&(caps as u16).to_le_bytes());
        g.push(45);
        g.extend_from_slice(&[2, 0]);
        g.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        g.push(21);
        g.extend_from_slice(&[0; 10]);
        g.extend_from_slice(b"abcdefghijkl\0");
        g.extend_from_slice(b"mysql_native_password\0");
        let parsed = Greeting::parse(&g).unwrap();
        assert_eq!(parsed.connection_id, 42);
        assert_eq!(parsed.scramble, b"12345678abcdefghijkl");
        assert_eq!(parsed.plugin, "mysql_native_password");
        assert_eq!(parsed.capabilities, caps);
        assert!(Greeting::parse(&[9, 0]).is_err());
    }

    /// A MySQL 8 server's side of caching_sha2_password's full authentication, scripted (no
    /// MariaDB has the plugin): greeting, login, "send it in full", then a key request if the
    /// client makes one (answered with the public half of `private`), then the password, which
    /// it decrypts and checks before its OK. True when the client authenticated.
    async fn scripted_mysql(
        mut s: tokio::net::UnixStream,
        private: rsa::PrivateKey,
        expect_key_request: bool,
    ) -> bool {
        use super::super::framed;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let nonce = b"12345678abcdefghijkl";
        let mut g = vec![10];
        g.extend_from_slice(b"8.0.40\0");
        g.extend_from_slice(&7u32.to_le_bytes());
        g.extend_from_slice(&nonce[..8]);
        g.push(0);
        let caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        g.extend_from_slice(&(caps as u16).to_le_bytes());
        g.push(45);
        g.extend_from_slice(&[2, 0]);
        g.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        g.push(21);
        g.extend_from_slice(&[0; 10]);
        g.extend_from_slice(&nonce[8..]);
        g.push(0);
        g.extend_from_slice(b"caching_sha2_password\0");
        async fn read(s: &mut tokio::net::UnixStream) -> Option<(u8, Vec<u8>)> {
            let mut h = [0u8; 4];
            s.read_exact(&mut h).await.ok()?;
            let mut p = vec![0; u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize];
            s.read_exact(&mut p).await.ok()?;
            Some((h[3], p))
        }
        let send = |seq: u8, payload: Vec<u8>| framed(seq, &payload).0;
        s.write_all(&send(0, g)).await.unwrap();
        let Some((1, _login)) = read(&mut s).await else {
            return false;
        };
        s.write_all(&send(2, vec![0x01, 0x04])).await.unwrap();
        let Some((mut seq, mut p)) = read(&mut s).await else {
            return false;
        };
        if expect_key_request {
            assert_eq!((seq, p.as_slice()), (3, &[0x02][..]));
            let mut reply = vec![0x01];
            reply.extend_from_slice(public_pem(&private).as_bytes());
            s.write_all(&send(4, reply)).await.unwrap();
            (seq, p) = read(&mut s).await.unwrap();
        }
        assert_ne!(p, [0x02], "a key request the script did not expect");
        let mut plain = private
            .decrypt(rsa::Oaep::<sha1::Sha1>::new(), &p)
            .expect("the password encrypted with this server's key");
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= nonce[i % nonce.len()];
        }
        assert_eq!(plain, b"pw\0");
        s.write_all(&send(seq + 1, vec![0x00, 0, 0, 2, 0, 0, 0]))
            .await
            .unwrap();
        true
    }

    fn public_pem(private: &rsa::PrivateKey) -> String {
        use rsa::pkcs8::EncodePublicKey;
        private
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
    }

    /// The row reader's handshake over TCP-like conditions (no socket, no TLS) against the
    /// script; `pin` writes the server's public key to a file and pins it.
    async fn full_auth(key: ServerKey, local: bool, pin: bool) -> (WireResult<()>, bool) {
        let private = rsa::PrivateKey::new(&mut rand::rng(), 1024).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key = if pin {
            let path = dir.path().join("server_public_key.pem");
            std::fs::write(&path, public_pem(&private)).unwrap();
            ServerKey::Pinned(path)
        } else {
            key
        };
        let (client, server) = tokio::net::UnixStream::pair().unwrap();
        let server = tokio::spawn(scripted_mysql(server, private, !pin));
        let mut conn = super::super::over(client, 4096);
        // As over TCP: the password in clear is not for this connection.
        conn.unix_socket = false;
        conn.local = local;
        let settings = ConnectionSettings {
            password: Some(crate::secret::Secret::new("pw")),
            server_key: key,
            ..Default::default()
        };
        let result = conn.handshake(&settings, None, WANTED).await;
        drop(conn);
        (result, server.await.expect("the script's checks"))
    }

    #[tokio::test]
    async fn a_full_caching_sha2_login_outside_tls_follows_the_key_rule() {
        // Over the network with no key allowed: refused before the key is asked for.
        let (result, authenticated) = full_auth(ServerKey::Refuse, false, false).await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("neither TLS nor local"), "{err}");
        assert!(!authenticated);
        // Allowed, or local: fetched and used.
        for (key, local) in [(ServerKey::Fetch, false), (ServerKey::Refuse, true)] {
            let (result, authenticated) = full_auth(key.clone(), local, false).await;
            result.unwrap_or_else(|e| panic!("{key:?} local={local}: {e}"));
            assert!(authenticated);
        }
        // Pinned: used without asking the server (the script fails on a key request).
        let (result, authenticated) = full_auth(ServerKey::Refuse, false, true).await;
        result.unwrap_or_else(|e| panic!("pinned: {e}"));
        assert!(authenticated);
    }
}

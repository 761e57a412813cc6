//! TLS for every connection of a run: `--ssl-mode` and its files, turned into the driver's
//! `SslOpts` (mysql_async connections) and into a rustls `ClientConfig` with the same rules
//! (the row reader, `wire/`), and TLS failures sorted into the four a user can act on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mysql_async::SslOpts;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
};

use crate::error::ConnectError;

/// `--ssl-mode`, spelt as the MySQL clients spell it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SslMode {
    /// Plaintext only.
    Disabled,
    /// TLS when the server offers it, unverified unless a CA is given (then the chain is
    /// checked); plaintext otherwise.
    #[default]
    Preferred,
    /// TLS or nothing; the certificate is not checked (it is, against --ssl-ca, if given).
    Required,
    /// TLS with a certificate signed by --ssl-ca (or a public root); any host name.
    VerifyCa,
    /// As VERIFY_CA, and the certificate must name the host connected to.
    VerifyIdentity,
}

impl SslMode {
    /// The name as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    /// Whether a connection must not go ahead without TLS.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity
        )
    }
}

/// How connections of a run use TLS: the mode and the files that go with it (paths, read by the
/// driver when it connects).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// CA certificates (PEM) the server's certificate must chain to. Given, they are the only
    /// roots; not given, the public roots compiled in (webpki-roots) are, as for a managed
    /// service.
    pub ca: Option<PathBuf>,
    /// The client certificate chain (PEM), for accounts that `REQUIRE X509`.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether the server's certificate chain is checked; None when there is no TLS at all.
    /// One rule for both connection kinds.
    fn verifies_chain(&self) -> Option<bool> {
        match self.mode {
            SslMode::Disabled => None,
            SslMode::Preferred | SslMode::Required => Some(self.ca.is_some()),
            SslMode::VerifyCa | SslMode::VerifyIdentity => Some(true),
        }
    }

    /// The driver's TLS options for a TCP connection, or None for plaintext.
    ///
    /// PREFERRED and REQUIRED with --ssl-ca verify the chain when TLS is used: a CA given is a
    /// CA meant to be checked (REQUIRED as the MySQL client; PREFERRED would otherwise take a
    /// wrong CA in silence).
    pub(crate) fn ssl_opts(&self) -> Option<SslOpts> {
        let verify_chain = self.verifies_chain()?;
        let mut opts = SslOpts::default()
            .with_danger_accept_invalid_certs(!verify_chain)
            .with_danger_skip_domain_validation(self.mode != SslMode::VerifyIdentity);
        if let Some(ca) = &self.ca {
            opts = opts
                .with_root_certs(vec![ca.clone().into()])
                .with_disable_built_in_roots(true);
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            opts = opts.with_client_identity(Some(mysql_async::ClientIdentity::new(
                cert.clone().into(),
                key.clone().into(),
            )));
        }
        Some(opts)
    }
    /// The row reader's TLS configuration, checking what [`TlsSettings::ssl_opts`] checks:
    /// nothing under PREFERRED and REQUIRED (the chain when a CA is given), the chain under VERIFY_CA,
    /// the chain and the name under VERIFY_IDENTITY. None under DISABLED. Unlike the driver,
    /// VERIFY_CA here really skips the name (mysql_async issue #404).
    pub fn client_config(&self) -> Result<Option<Arc<ClientConfig>>, ConnectError> {
        let Some(verify_chain) = self.verifies_chain() else {
            return Ok(None);
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = if verify_chain {
            let roots = Arc::new(self.roots()?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| ConnectError::Tls(format!("the TLS certificate checks: {e}")))?;
            match self.mode {
                SslMode::VerifyIdentity => webpki,
                _ => Arc::new(AnyName(webpki)),
            }
        } else {
            Arc::new(Unverified(algorithms))
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| pem_error(cert, "--ssl-cert", e))?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| pem_error(key, "--ssl-key", e))?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    ConnectError::Tls(format!(
                        "the client certificate {} and key {} do not go together: {e}",
                        cert.display(),
                        key.display()
                    ))
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(Arc::new(config)))
    }

    /// The CA file's certificates, or the public roots (webpki-roots) without one.
    fn roots(&self) -> Result<RootCertStore, ConnectError> {
        let Some(ca) = &self.ca else {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        };
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| pem_error(ca, "--ssl-ca", e))?;
        let (_, unusable) = roots.add_parsable_certificates(certs);
        if roots.is_empty() {
            return Err(ConnectError::Tls(format!(
                "--ssl-ca {} holds no usable CA certificate ({unusable} unusable)",
                ca.display()
            )));
        }
        Ok(roots)
    }
}

/// The server name a TLS session checks the certificate against (an IP address or a DNS name).
/// Only VERIFY_IDENTITY needs it to be one; below, a host name rustls cannot take (an
/// underscore in it) is sent as no name at all.
pub(crate) fn server_name(host: &str, mode: SslMode) -> Result<ServerName<'static>, ConnectError> {
    match ServerName::try_from(host.to_owned()) {
        Ok(name) => Ok(name),
        Err(_) if mode != SslMode::VerifyIdentity => Ok(ServerName::IpAddress(
            std::net::Ipv4Addr::UNSPECIFIED.into(),
        )),
        Err(e) => Err(ConnectError::Tls(format!(
            "{host:?} cannot be checked as a TLS name ({e}); connect by a name the \
             certificate carries, or use --ssl-mode VERIFY_CA"
        ))),
    }
}

fn pem_error(path: &std::path::Path, flag: &str, e: rustls::pki_types::pem::Error) -> ConnectError {
    ConnectError::Tls(format!(
        "{flag} {}: not a readable PEM file ({e})",
        path.display()
    ))
}

/// PREFERRED and REQUIRED without a CA: any certificate, as the MySQL clients do; the
/// handshake's signatures are still checked, so the session is with the certificate's holder.
#[derive(Debug)]
struct Unverified(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// VERIFY_CA: the chain must reach a trusted root; the names in the certificate do not count
/// (webpki checks the chain first, so a name error means the chain was good).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Whether a PREFERRED connection of this run found the server without TLS; clones share it.
#[derive(Clone, Debug, Default)]
pub struct NoTlsOffered(Arc<Plaintext>);

#[derive(Debug, Default)]
struct Plaintext {
    seen: AtomicBool,
    /// The server is on the network (not this machine): worth a warning.
    remote: AtomicBool,
    warned: AtomicBool,
}

impl NoTlsOffered {
    pub(crate) fn seen(&self) -> bool {
        self.0.seen.load(Ordering::Relaxed)
    }

    /// The server offered no TLS; `local` when the connection never leaves this machine.
    pub(crate) fn remember(&self, local: bool) {
        self.0.seen.store(true, Ordering::Relaxed);
        if !local {
            self.0.remote.store(true, Ordering::Relaxed);
        }
    }

    /// Once per run, after a connection went on in plaintext over the network under PREFERRED:
    /// what to tell the user (the login and the rows crossed the network in clear).
    pub fn warning(&self, target: &str) -> Option<String> {
        let remote = self.0.remote.load(Ordering::Relaxed);
        (remote && !self.0.warned.swap(true, Ordering::Relaxed)).then(|| {
            format!(
                "{target} offers no TLS: under --ssl-mode PREFERRED (the default) the login and \
                 the data cross the network in clear; configure TLS on the server, or say \
                 --ssl-mode DISABLED to accept plaintext (and silence this), or REQUIRED to \
                 refuse it"
            )
        })
    }
}

/// Which TLS failure a driver error is, when it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server's greeting has no SSL capability.
    NotOffered,
    /// The certificate does not chain to a trusted root (or is expired, revoked…): the detail.
    NotTrusted(String),
    /// The certificate is valid but for other names: the detail says which.
    NameMismatch(String),
    /// The server refused our client certificate (or wanted one and got none).
    ClientCertRefused(String),
    /// Anything else in the TLS layer (a file that is not PEM, a protocol error).
    Other(String),
}

/// A driver error of the connect phase as the user reads it: a TLS failure under `mode`, or
/// whatever [`ConnectError::from_driver`] makes of the rest.
pub(crate) fn connect_error(e: mysql_async::Error, mode: SslMode) -> ConnectError {
    match classify(&e) {
        Some(TlsFailure::NotOffered) => ConnectError::NoTlsOffered(mode.name()),
        Some(TlsFailure::NotTrusted(d)) => ConnectError::CertificateNotTrusted(d),
        Some(TlsFailure::NameMismatch(detail)) => ConnectError::NameMismatch {
            detail,
            verify_ca: mode == SslMode::VerifyCa,
        },
        Some(TlsFailure::ClientCertRefused(d)) => ConnectError::ClientCertificateRefused(d),
        Some(TlsFailure::Other(d)) => ConnectError::Tls(d),
        None => match ConnectError::from_driver(e) {
            ConnectError::Denied(e) if mode == SslMode::Disabled => {
                ConnectError::PlaintextRefused(e)
            }
            other => other,
        },
    }
}

/// Sorts a driver error of the connect phase; None when it is not about TLS.
pub(crate) fn classify(e: &mysql_async::Error) -> Option<TlsFailure> {
    use mysql_async::{DriverError, Error, IoError, TlsError};
    match e {
        Error::Driver(DriverError::NoClientSslFlagFromServer) => Some(TlsFailure::NotOffered),
        Error::Io(IoError::Tls(TlsError::Tls(r))) => Some(classify_rustls(r)),
        Error::Io(IoError::Tls(other)) => Some(TlsFailure::Other(other.to_string())),
        // tokio-rustls reports handshake failures as io::Error wrapping the rustls error.
        Error::Io(IoError::Io(io)) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(classify_rustls),
        _ => None,
    }
}

fn classify_rustls(e: &rustls::Error) -> TlsFailure {
    let detail = e.to_string();
    match e {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => TlsFailure::NameMismatch(detail),
        rustls::Error::InvalidCertificate(_) => TlsFailure::NotTrusted(detail),
        // The server's verdict on our certificate comes back as an alert.
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateRequired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied,
        ) => TlsFailure::ClientCertRefused(detail),
        _ => TlsFailure::Other(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_means_no_tls_options_and_the_rest_some() {
        let mut t = TlsSettings::default();
        assert_eq!(t.mode, SslMode::Preferred);
        assert!(t.ssl_opts().is_some());
        t.mode = SslMode::Disabled;
        assert!(t.ssl_opts().is_none());
    }

    #[test]
    fn each_mode_checks_what_it_says() {
        let check = |mode, ca: Option<&str>| {
            let o = TlsSettings {
                mode,
                ca: ca.map(PathBuf::from),
                ..TlsSettings::default()
            }
            .ssl_opts()
            .unwrap();
            (o.accept_invalid_certs(), o.skip_domain_validation())
        };
        assert_eq!(check(SslMode::Preferred, None), (true, true));
        assert_eq!(check(SslMode::Preferred, Some("/ca.pem")), (false, true));
        assert_eq!(check(SslMode::Required, None), (true, true));
        assert_eq!(check(SslMode::Required, Some("/ca.pem")), (false, true));
        assert_eq!(check(SslMode::VerifyCa, None), (false, true));
        assert_eq!(check(SslMode::VerifyIdentity, None), (false, false));
    }

    #[test]
    fn a_ca_file_replaces_the_public_roots() {
        let o = TlsSettings {
            mode: SslMode::VerifyIdentity,
            ca: Some("/ca.pem".into()),
            ..TlsSettings::default()
        }
        .ssl_opts()
        .unwrap();
        assert!(o.disable_built_in_roots());
        assert_eq!(o.root_certs().len(), 1);
    }

    #[test]
    fn rustls_errors_sort_into_what_the_user_can_fix() {
        let bad = |e| classify_rustls(&rustls::Error::InvalidCertificate(e));
        assert!(matches!(
            bad(CertificateError::UnknownIssuer),
            TlsFailure::NotTrusted(_)
        ));
        assert!(matches!(
            bad(CertificateError::NotValidForName),
            TlsFailure::NameMismatch(_)
        ));
        assert!(matches!(
            classify_rustls(&rustls::Error::AlertReceived(AlertDescription::UnknownCA)),
            TlsFailure::ClientCertRefused(_)
        ));
        let no_tls: mysql_async::Error = mysql_async::DriverError::NoClientSslFlagFromServer.into();
        assert_eq!(classify(&no_tls), Some(TlsFailure::NotOffered));
    }
}

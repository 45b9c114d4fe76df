//! TLS to the MySQL/MariaDB server (`database.ssl.*`), for the binlog connection and every
//! snapshot, heartbeat and signal connection alike.
//!
//! Modes as MySQL's clients name them (and Debezium passes them to Connector/J):
//! `disabled` (plain TCP), `preferred` (TLS when the server offers it, certificate not checked,
//! plain otherwise), `required` (TLS or no connection; certificate not checked), `verify_ca`
//! (the certificate must chain to a trusted CA; its names are not compared with
//! `database.hostname`) and `verify_identity` (as `verify_ca`, and a name of the certificate must
//! be `database.hostname`).
//!
//! Certificates: Debezium reads Java keystores; this connector reads PEM, the form `openssl`,
//! AWS (the RDS CA bundle) and MySQL's own `ssl-ca`/`ssl-cert`/`ssl-key` use.
//! `database.ssl.truststore` is a PEM file of CA certificates: when given, these are the only
//! trusted roots (as a Java truststore replaces the JVM's); otherwise the Mozilla roots
//! (webpki-roots) are. `database.ssl.keystore` is a PEM file holding the client certificate chain
//! and its private key, for servers that require client certificates (`REQUIRE X509`). Files are
//! read once when the connector starts; a file that cannot be read or is not PEM is an error
//! naming the property. The TLS itself is rustls through mysql_async.

use std::path::Path;
use std::sync::Arc;

use mysql_async::{ClientIdentity, SslOpts};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ConfigError, SslMode};

/// TLS settings of the connections to the server, files already read.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// `database.ssl.mode`.
    pub mode: SslMode,
    /// `database.ssl.truststore`: PEM CA certificates (the only trusted roots when given).
    pub ca: Option<Arc<[u8]>>,
    /// `database.ssl.keystore`: PEM client certificate chain and private key.
    pub identity: Option<Arc<[u8]>>,
}

impl Default for TlsOptions {
    /// Debezium's default, `preferred`, with no certificates.
    fn default() -> Self {
        TlsOptions { mode: SslMode::Preferred, ca: None, identity: None }
    }
}

impl TlsOptions {
    /// Read and check the PEM files of `database.ssl.truststore` / `database.ssl.keystore`.
    pub fn load(mode: SslMode, truststore: Option<&Path>, keystore: Option<&Path>) -> Result<TlsOptions, ConfigError> {
        let ca = match truststore {
            Some(path) => {
                let pem = read("database.ssl.truststore", path)?;
                let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>();
                match certs {
                    Ok(c) if !c.is_empty() => Some(Arc::from(pem)),
                    _ => return Err(not_pem("database.ssl.truststore", path, "CA certificates (BEGIN CERTIFICATE)")),
                }
            }
            None => None,
        };
        let identity = match keystore {
            Some(path) => {
                let pem = read("database.ssl.keystore", path)?;
                let has_cert = CertificateDer::pem_slice_iter(&pem).next().is_some_and(|c| c.is_ok());
                if !has_cert {
                    return Err(not_pem("database.ssl.keystore", path, "the client certificate (BEGIN CERTIFICATE)"));
                }
                if PrivateKeyDer::from_pem_slice(&pem).is_err() {
                    let encrypted = String::from_utf8_lossy(&pem).contains("ENCRYPTED PRIVATE KEY");
                    let why = if encrypted {
                        "its private key is encrypted; store it unencrypted (openssl pkey -in KEY -out KEY.pem) and protect the file instead".to_string()
                    } else {
                        "no private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) in it; put the client certificate and its key in one PEM file".to_string()
                    };
                    return Err(ConfigError::invalid("database.ssl.keystore", &path.display().to_string(), why));
                }
                Some(Arc::from(pem))
            }
            None => None,
        };
        Ok(TlsOptions { mode, ca, identity })
    }

    /// mysql_async's TLS settings for this mode (None: plain TCP).
    pub fn ssl_opts(&self) -> Option<SslOpts> {
        let mut ssl = SslOpts::default();
        match self.mode {
            SslMode::Disabled => return None,
            // Encryption only, as MySQL's clients do in these modes.
            SslMode::Preferred | SslMode::Required => ssl = ssl.with_danger_accept_invalid_certs(true),
            SslMode::VerifyCa => ssl = ssl.with_danger_skip_domain_validation(true),
            SslMode::VerifyIdentity => {}
        }
        if let Some(ca) = &self.ca {
            ssl = ssl.with_root_certs(vec![ca.to_vec().into()]).with_disable_built_in_roots(true);
        }
        if let Some(id) = &self.identity {
            ssl = ssl.with_client_identity(Some(ClientIdentity::new(id.to_vec().into(), id.to_vec().into())));
        }
        Some(ssl)
    }
}

/// rustls needs one process-wide crypto provider; two are compiled in (ring here, aws-lc-rs for
/// another dependency), so it cannot pick one by itself. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read(property: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::invalid(property, &path.display().to_string(), format!("cannot read it: {e}")))
}

fn not_pem(property: &str, path: &Path, what: &str) -> ConfigError {
    ConfigError::invalid(
        property,
        &path.display().to_string(),
        format!(
            "expected a PEM file with {what}; a Java keystore (JKS/PKCS12) converts with `keytool -exportcert -rfc` or `openssl pkcs12 -nodes`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, body: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn files_that_are_not_pem_name_the_property() {
        let dir = tempfile::tempdir().unwrap();
        let jks = write(&dir, "trust.jks", &[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]);
        let e = TlsOptions::load(SslMode::VerifyCa, Some(&jks), None).unwrap_err();
        assert_eq!(e.property(), Some("database.ssl.truststore"));
        assert!(e.to_string().contains("PEM"), "{e}");
        let missing = dir.path().join("nope.pem");
        let e = TlsOptions::load(SslMode::VerifyCa, None, Some(&missing)).unwrap_err();
        assert_eq!(e.property(), Some("database.ssl.keystore"));
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[test]
    fn keystore_needs_certificate_and_unencrypted_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()]).unwrap().self_signed(&key).unwrap();
        let only_cert = write(&dir, "c.pem", cert.pem().as_bytes());
        let e = TlsOptions::load(SslMode::Required, None, Some(&only_cert)).unwrap_err();
        assert!(e.to_string().contains("no private key"), "{e}");
        let encrypted =
            format!("{}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", cert.pem());
        let enc = write(&dir, "e.pem", encrypted.as_bytes());
        let e = TlsOptions::load(SslMode::Required, None, Some(&enc)).unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
        let both = write(&dir, "both.pem", format!("{}{}", cert.pem(), key.serialize_pem()).as_bytes());
        let ok = TlsOptions::load(SslMode::Required, Some(&only_cert), Some(&both)).unwrap();
        assert!(ok.identity.is_some() && ok.ca.is_some());
        assert!(ok.ssl_opts().is_some());
        assert!(TlsOptions { mode: SslMode::Disabled, ..ok }.ssl_opts().is_none());
    }
}

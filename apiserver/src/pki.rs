//! The cluster's certificates: a CA, the apiserver's serving certificate and the admin client
//! certificate, created on first start under `DATA_DIR/pki` and reused afterwards; and the
//! admin kubeconfig that points `kubectl` at the server.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Validity of certificates rkube issues (the CA a bit longer, so it outlives what it signs).
const CA_DAYS: i64 = 3650;
const CERT_DAYS: i64 = 3650 - 1;

pub struct Pki {
    dir: PathBuf,
    pub ca_pem: String,
    ca_key: KeyPair,
    /// PEM chain and key of the serving certificate.
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
}

impl Pki {
    /// Loads the CA from `dir` (creating it on first start) and makes sure the serving
    /// certificate covers `hosts` (IP addresses or DNS names), reissuing it if not.
    pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (ca_cert, ca_key) = match (read(dir, "ca.crt")?, read(dir, "ca.key")?) {
            (Some(cert), Some(key)) => (cert, KeyPair::from_pem(&key).context("parsing ca.key")?),
            _ => {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::default();
                params.distinguished_name = name("rkube-ca", &[]);
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages =
                    vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
                validity(&mut params, CA_DAYS);
                let cert = params.self_signed(&key)?.pem();
                write(dir, "ca.crt", &cert)?;
                write(dir, "ca.key", &key.serialize_pem())?;
                tracing::info!(dir = %dir.display(), "created the cluster CA");
                (cert, key)
            }
        };
        let mut pki = Self {
            dir: dir.to_path_buf(),
            ca_pem: ca_cert,
            ca_key,
            serving_cert_pem: String::new(),
            serving_key_pem: String::new(),
        };
        match (read(dir, "apiserver.crt")?, read(dir, "apiserver.key")?) {
            (Some(cert), Some(key)) if covers(&cert, hosts) => {
                pki.serving_cert_pem = cert;
                pki.serving_key_pem = key;
            }
            _ => {
                let (cert, key) = pki.issue("kube-apiserver", &[], hosts, ExtendedKeyUsagePurpose::ServerAuth)?;
                write(dir, "apiserver.crt", &cert)?;
                write(dir, "apiserver.key", &key)?;
                pki.serving_cert_pem = cert;
                pki.serving_key_pem = key;
            }
        }
        Ok(pki)
    }

    /// The client certificate and key of `user` in `groups` (issued once, then reused), as
    /// stored under `<file>.crt` / `<file>.key`.
    pub fn client(&self, file: &str, user: &str, groups: &[&str]) -> Result<(String, String)> {
        let (crt, key) = (format!("{file}.crt"), format!("{file}.key"));
        if let (Some(cert), Some(key)) = (read(&self.dir, &crt)?, read(&self.dir, &key)?) {
            return Ok((cert, key));
        }
        let (cert, key_pem) = self.issue(user, groups, &[], ExtendedKeyUsagePurpose::ClientAuth)?;
        write(&self.dir, &crt, &cert)?;
        write(&self.dir, &key, &key_pem)?;
        Ok((cert, key_pem))
    }

    fn issue(
        &self,
        cn: &str,
        orgs: &[&str],
        sans: &[String],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(String, String)> {
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, &self.ca_key).context("loading the CA")?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(cn, orgs);
        params.subject_alt_names = sans
            .iter()
            .map(|h| match h.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(h.clone().try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![usage];
        validity(&mut params, CERT_DAYS);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// Writes a kubeconfig for `user` with an embedded client certificate.
pub fn write_kubeconfig(path: &Path, server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<()> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: rkube\n\
         contexts:\n- context:\n    cluster: rkube\n    user: admin\n  name: rkube\ncurrent-context: rkube\n\
         users:\n- name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(ca_pem),
        cert = b64(cert_pem),
        key = b64(key_pem),
    );
    write_private(path, &text)
}

fn name(cn: &str, orgs: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for org in orgs {
        dn.push(DnType::OrganizationName, *org);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(unix_now());
    // Backdate an hour so a slightly skewed client clock still accepts a fresh certificate.
    params.not_before = now - std::time::Duration::from_secs(3600);
    params.not_after = now + std::time::Duration::from_secs(days as u64 * 86_400);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whether the PEM certificate's SANs include every host.
fn covers(cert_pem: &str, hosts: &[String]) -> bool {
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()) else { return false };
    let Ok(cert) = pem.parse_x509() else { return false };
    let Ok(Some(san)) = cert.subject_alternative_name() else { return false };
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                4 => Some(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    hosts.iter().all(|h| names.contains(h))
}

fn read(dir: &Path, file: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.join(file).display())),
    }
}

fn write(dir: &Path, file: &str, text: &str) -> Result<()> {
    write_private(&dir.join(file), text)
}

/// Writes a file readable by its owner only (keys and kubeconfigs hold secrets), atomically.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_created_once_and_reissued_only_for_new_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let first = Pki::load_or_create(dir.path(), &hosts).unwrap();
        let again = Pki::load_or_create(dir.path(), &hosts).unwrap();
        assert_eq!(first.ca_pem, again.ca_pem);
        assert_eq!(first.serving_cert_pem, again.serving_cert_pem, "reused when it covers the hosts");
        assert!(covers(&first.serving_cert_pem, &hosts));

        let more = vec!["127.0.0.1".to_string(), "10.96.0.1".to_string()];
        let third = Pki::load_or_create(dir.path(), &more).unwrap();
        assert_eq!(third.ca_pem, first.ca_pem, "the CA never changes");
        assert_ne!(third.serving_cert_pem, first.serving_cert_pem);
        assert!(covers(&third.serving_cert_pem, &more));

        let (c1, _) = third.client("admin", "kubernetes-admin", &["system:masters"]).unwrap();
        let (c2, _) = third.client("admin", "kubernetes-admin", &["system:masters"]).unwrap();
        assert_eq!(c1, c2);
    }
}

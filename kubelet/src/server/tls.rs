//! The kubelet API's TLS: a self-signed serving certificate (kept under `<root>/pki`, reissued
//! when the node's names change), as upstream's kubelet makes without `--tls-cert-file`; and
//! client certificates required, verified against the cluster CA (upstream's
//! `--client-ca-file`), which signs the apiserver's kubelet-client certificate.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn issue(names: &[String]) -> anyhow::Result<(String, String)> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("{}@rkube-kubelet", names.first().cloned().unwrap_or_default()));
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + std::time::Duration::from_secs(365 * 24 * 3600)).into();
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The serving certificate and key for `names` (DNS names or IPs), reused from `dir` when the
/// stored one was made for the same names.
pub fn serving_certificate(dir: &Path, names: &[String]) -> anyhow::Result<(String, String)> {
    std::fs::create_dir_all(dir)?;
    let (crt, key, made_for) = (dir.join("kubelet.crt"), dir.join("kubelet.key"), dir.join("kubelet.names"));
    let wanted = names.join(",");
    if let (Ok(c), Ok(k), Ok(n)) =
        (std::fs::read_to_string(&crt), std::fs::read_to_string(&key), std::fs::read_to_string(&made_for))
        && n == wanted
    {
        return Ok((c, k));
    }
    let (c, k) = issue(names)?;
    std::fs::write(&crt, &c)?;
    std::fs::write(&key, &k)?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::fs::write(&made_for, wanted)?;
    Ok((c, k))
}

/// TLS for the kubelet API: `cert`/`key` served, client certificates of `client_ca` required.
pub fn server_config(cert: &str, key: &str, client_ca: &str) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(client_ca.as_bytes()) {
        roots.add(ca.context("parsing the client CA")?)?;
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

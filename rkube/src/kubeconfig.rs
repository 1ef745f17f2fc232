//! Reaching an apiserver the way upstream components do: through a kubeconfig (`--kubeconfig`,
//! else $KUBECONFIG, else ~/.kube/config).

use std::path::{Path, PathBuf};

/// The kubeconfig to use: the flag's, else $KUBECONFIG, else ~/.kube/config.
pub fn path(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| {
        std::env::var_os("KUBECONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".kube").join("config"))
    })
}

/// A client from the kubeconfig at `path`, and its certificate authority as PEM (if it names one).
/// It introduces itself as `component` (the User-Agent upstream components send, which the
/// apiserver also takes as the field manager of their writes).
pub async fn client(path: &Path, component: &str) -> anyhow::Result<(kube::Client, Option<String>)> {
    let file = kube::config::Kubeconfig::read_from(path)?;
    let mut config = kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await?;
    let agent = format!(
        "{component}/v1.33.0 ({}/{}) rkube/{}",
        std::env::consts::OS,
        kubelet::node::go_arch(),
        env!("CARGO_PKG_VERSION")
    );
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_str(&agent)?));
    let ca = config.root_cert.as_ref().and_then(|certs| certs.first()).map(|der| pem(der));
    Ok((kube::Client::try_from(config)?, ca))
}

/// A DER certificate as PEM.
fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

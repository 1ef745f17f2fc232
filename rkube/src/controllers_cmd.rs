//! `rkube controller-manager`: the controllers of `controllers/` against an apiserver reached
//! through a kubeconfig (the one `rkube server` writes, or any other cluster's).

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ControllerManagerArgs {
    /// The kubeconfig to reach the apiserver with (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The cluster CA (PEM) to publish as kube-root-ca.crt in every namespace (default: the
    /// kubeconfig's certificate authority).
    #[arg(long)]
    pub root_ca_file: Option<PathBuf>,
}

pub async fn run(args: ControllerManagerArgs) -> anyhow::Result<()> {
    let kubeconfig = match args.kubeconfig {
        Some(path) => path,
        None => std::env::var_os("KUBECONFIG").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".kube").join("config")
        }),
    };
    let root_ca = match &args.root_ca_file {
        Some(path) => Some(std::fs::read_to_string(path)?),
        None => None,
    };
    run_with(&kubeconfig, root_ca, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Runs the controllers with a client from `kubeconfig` until `shutdown` resolves.
pub async fn run_with(
    kubeconfig: &Path,
    root_ca: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await?;
    let root_ca = root_ca.or_else(|| config.root_cert.as_ref().and_then(|certs| certs.first()).map(|der| pem(der)));
    let client = kube::Client::try_from(config)?;
    controllers::run_elected(controllers::Context { client, root_ca }, controllers::identity(), shutdown).await
}

/// A DER certificate as PEM.
fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

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
    let root_ca = match &args.root_ca_file {
        Some(path) => Some(std::fs::read_to_string(path)?),
        None => None,
    };
    run_with(&crate::kubeconfig::path(args.kubeconfig), root_ca, async {
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
    let (client, kubeconfig_ca) = crate::kubeconfig::client(kubeconfig).await?;
    let root_ca = root_ca.or(kubeconfig_ca);
    controllers::run_elected(controllers::Context { client, root_ca }, controllers::identity(), shutdown).await
}

//! `rkube controller-manager`: the controllers of `controllers/` against an apiserver reached
//! through a kubeconfig (the one `rkube server` writes, or any other cluster's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Where to serve /metrics and /healthz (plain HTTP; upstream serves HTTPS on 10257).
    #[arg(long, default_value = "127.0.0.1:10257")]
    pub bind_address: std::net::SocketAddr,
    #[command(flatten)]
    pub options: ControllerOptions,
}

/// Controller settings, also accepted by `rkube server`.
#[derive(Args, Debug, Clone)]
pub struct ControllerOptions {
    /// The range node IPAM gives each node's pod CIDR from (IPv4).
    #[arg(long, default_value = "10.244.0.0/16")]
    pub cluster_cidr: String,
    /// The prefix length of each node's pod CIDR.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,
    /// How long a node may be silent before it is marked Ready=Unknown (seconds).
    #[arg(long, default_value_t = 40)]
    pub node_monitor_grace_period: u64,
    /// Finished pods kept before the oldest are deleted (0: keep all).
    #[arg(long, default_value_t = 12_500)]
    pub terminated_pod_gc_threshold: usize,
}

impl ControllerOptions {
    pub fn options(&self) -> controllers::Options {
        controllers::Options {
            cluster_cidr: self.cluster_cidr.clone(),
            node_cidr_mask_size: self.node_cidr_mask_size,
            node_monitor_grace_period: std::time::Duration::from_secs(self.node_monitor_grace_period),
            terminated_pod_gc_threshold: self.terminated_pod_gc_threshold,
        }
    }
}

pub async fn run(args: ControllerManagerArgs) -> anyhow::Result<()> {
    let root_ca = match &args.root_ca_file {
        Some(path) => Some(std::fs::read_to_string(path)?),
        None => None,
    };
    let metrics = Arc::new(controllers::framework::Metrics::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let encoder = metrics.clone();
    let served =
        tokio::spawn(crate::metrics_server::serve(args.bind_address, move || encoder.encode(), until_stopped()));
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    let kubeconfig = crate::kubeconfig::path(args.kubeconfig);
    let result = run_with(&kubeconfig, root_ca, metrics, args.options.options(), until_stopped()).await;
    served.abort();
    result
}

/// Runs the controllers with a client from `kubeconfig` until `shutdown` resolves.
pub async fn run_with(
    kubeconfig: &Path,
    root_ca: Option<String>,
    metrics: Arc<controllers::framework::Metrics>,
    options: controllers::Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (client, kubeconfig_ca) = crate::kubeconfig::client(kubeconfig, "kube-controller-manager").await?;
    let root_ca = root_ca.or(kubeconfig_ca);
    controllers::run_elected(controllers::Context::new(client, root_ca, metrics, options), shutdown).await
}

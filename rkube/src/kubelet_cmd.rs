//! `rkube kubelet`: the node agent. Only its hollow mode exists yet (`--hollow`): a simulated
//! node that registers, keeps its Lease and status fresh and reports its pods Running, with no
//! container runtime behind it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use kubelet::hollow::{self, Capacity, Metrics};

/// What each hollow node reports, and where its healthz/metrics endpoint listens (shared by
/// `rkube kubelet --hollow` and `rkube up`).
#[derive(Args, Debug, Clone)]
pub struct HollowArgs {
    /// CPU capacity (and allocatable) of each hollow node.
    #[arg(long, default_value = "4")]
    pub capacity_cpu: String,
    /// Memory capacity (and allocatable) of each hollow node.
    #[arg(long, default_value = "16Gi")]
    pub capacity_memory: String,
    /// Ephemeral-storage capacity (and allocatable) of each hollow node.
    #[arg(long, default_value = "100Gi")]
    pub capacity_ephemeral_storage: String,
    /// Pods each hollow node takes (its `pods` capacity).
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,
    /// Address of the plain-HTTP (no TLS, no authentication) /healthz and /metrics endpoint.
    #[arg(long, default_value = "127.0.0.1")]
    pub healthz_bind_address: IpAddr,
    /// Port of that endpoint; 0 disables it.
    #[arg(long, default_value_t = 10248)]
    pub healthz_port: u16,
}

impl HollowArgs {
    pub fn capacity(&self) -> anyhow::Result<Capacity> {
        for (flag, value) in [
            ("--capacity-cpu", &self.capacity_cpu),
            ("--capacity-memory", &self.capacity_memory),
            ("--capacity-ephemeral-storage", &self.capacity_ephemeral_storage),
        ] {
            if controllers::quantity::parse_milli(value).is_none_or(|v| v <= 0) {
                bail!("{flag} {value:?} is not a positive quantity (e.g. 4, 500m, 16Gi)");
            }
        }
        Ok(Capacity {
            cpu: self.capacity_cpu.clone(),
            memory: self.capacity_memory.clone(),
            pods: self.max_pods,
            ephemeral_storage: self.capacity_ephemeral_storage.clone(),
        })
    }

    /// Serves /healthz and /metrics until `shutdown` (unless the port is 0). A port already in
    /// use is logged, not fatal, as upstream's kubelet does.
    pub async fn serve_healthz(&self, metrics: Arc<Metrics>, shutdown: impl Future<Output = ()> + Send + 'static) {
        if self.healthz_port == 0 {
            return;
        }
        let address = SocketAddr::new(self.healthz_bind_address, self.healthz_port);
        match hollow::metrics::serve(address, metrics, shutdown).await {
            Ok((bound, _)) => tracing::info!(address = %bound, "serving /healthz and /metrics (plain HTTP)"),
            Err(e) => tracing::warn!(error = %e, "no healthz endpoint"),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct KubeletArgs {
    /// Run a hollow node: simulated, no container runs. It registers the Node, renews its Lease,
    /// and reports the pods bound to it Running with fake IPs from the node's spec.podCIDR.
    #[arg(long)]
    pub hollow: bool,
    /// The kubeconfig to reach the apiserver with (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The Node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The node's (fake) InternalIP (default: derived from the node name, in 100.96.0.0/11).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    #[command(flatten)]
    pub node: HollowArgs,
}

pub async fn run(args: KubeletArgs) -> anyhow::Result<()> {
    if !args.hollow {
        bail!(
            "the real kubelet (running containers through a CRI runtime) is not built yet; \
             `rkube kubelet --hollow` runs a simulated node"
        );
    }
    let capacity = args.node.capacity()?;
    let name = match args.node_name {
        Some(name) => name,
        None => {
            std::fs::read_to_string("/proc/sys/kernel/hostname").context("reading the host name")?.trim().to_string()
        }
    }
    .to_lowercase();
    let kubeconfig = crate::kubeconfig::path(args.kubeconfig);
    let (client, _) = crate::kubeconfig::client(&kubeconfig, "kubelet")
        .await
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let ip = args.node_ip.unwrap_or_else(|| hollow::node_ip_for_name(&name));
    let metrics = Arc::new(Metrics::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    args.node.serve_healthz(metrics.clone(), until_stopped()).await;
    let (progress, _) = tokio::sync::watch::channel(hollow::Progress::default());
    let shutdown = async move {
        crate::server_cmd::shutdown_signal().await;
        let _ = stop.send(true);
    };
    tracing::info!(node = %name, %ip, "hollow kubelet starting (simulated node: no container runs)");
    hollow::run(client, vec![hollow::Identity { name, ip }], capacity, metrics, progress, shutdown).await
}

//! `rkube kubelet`: the node agent. By default a real node running pods through a CRI runtime
//! (its own containerd when no `--container-runtime-endpoint` is given); with `--hollow` a
//! simulated node that registers, keeps its Lease and status fresh and reports its pods Running,
//! with no container runtime behind it.

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
    /// Address of the plain-HTTP (no TLS, no authentication) /healthz endpoint (a hollow
    /// node's serves /metrics there too; a real node's are on its HTTPS port).
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
            if apimachinery::quantity::parse_milli(value).is_none_or(|v| v <= 0) {
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

/// Settings of real nodes (shared by `rkube kubelet` and `rkube up`).
#[derive(Args, Debug, Clone)]
pub struct RealNodeArgs {
    /// The CRI socket of a running container runtime (e.g. unix:///run/containerd/containerd.sock).
    /// Without it the kubelet starts and supervises a containerd of its own under its root dir.
    #[arg(long)]
    pub container_runtime_endpoint: Option<String>,
    /// Where the CNI plugins are (Debian's containernetworking-plugins: /usr/lib/cni).
    #[arg(long, default_value = kubelet::containerd::DEFAULT_CNI_BIN_DIR)]
    pub cni_bin_dir: String,
    /// Where to write the pod network's CNI configuration (default: the supervised
    /// containerd's; with an external runtime, nowhere unless given).
    #[arg(long)]
    pub cni_conf_dir: Option<PathBuf>,
    /// DNS server IPs for pods with dnsPolicy ClusterFirst, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<IpAddr>,
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// A registry (host:port) the supervised containerd pulls from over plain HTTP, like a
    /// local development registry; repeatable.
    #[arg(long)]
    pub insecure_registry: Vec<String>,
    /// Image file system usage (percent) at which unused images are removed; 100 disables it.
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub image_gc_high_threshold: u8,
    /// Usage (percent) image garbage collection brings the image file system down to.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub image_gc_low_threshold: u8,
    /// Unused images younger than this are never collected.
    #[arg(long, default_value = "2m", value_parser = crate::server_cmd::parse_duration)]
    pub minimum_image_gc_age: std::time::Duration,
    /// How often image use is checked and collection considered (upstream's fixed 5m).
    #[arg(long, default_value = "5m", value_parser = crate::server_cmd::parse_duration)]
    pub image_gc_period: std::time::Duration,
}

impl RealNodeArgs {
    /// The kubelet configuration of node `name` keeping its files in `root_dir`; `client_ca`:
    /// the cluster CA (from the kubeconfig), whose certificates may call the kubelet API.
    pub fn config(
        &self,
        name: &str,
        ip: IpAddr,
        root_dir: PathBuf,
        port: u16,
        max_pods: u32,
        client_ca: Option<String>,
    ) -> anyhow::Result<(kubelet::Config, kubelet::Runtime)> {
        if self.image_gc_low_threshold >= self.image_gc_high_threshold {
            bail!(
                "--image-gc-low-threshold ({}) must be less than --image-gc-high-threshold ({})",
                self.image_gc_low_threshold,
                self.image_gc_high_threshold
            );
        }
        let mut config = kubelet::Config::new(name.to_string(), ip, root_dir.clone(), String::new());
        config.port = port;
        config.client_ca_pem = client_ca;
        config.max_pods = max_pods;
        config.cluster_dns = self.cluster_dns.clone();
        config.cluster_domain = self.cluster_domain.clone();
        config.cni_conf_dir = self.cni_conf_dir.clone();
        config.image_gc_high_threshold = self.image_gc_high_threshold;
        config.image_gc_low_threshold = self.image_gc_low_threshold;
        config.image_minimum_gc_age = self.minimum_image_gc_age;
        config.image_gc_period = self.image_gc_period;
        let runtime = match &self.container_runtime_endpoint {
            Some(endpoint) => kubelet::Runtime::Endpoint(endpoint.clone()),
            None => kubelet::Runtime::Supervised {
                dir: root_dir.join("containerd"),
                cni_bin_dir: self.cni_bin_dir.clone(),
                insecure_registries: self.insecure_registry.clone(),
            },
        };
        Ok((config, runtime))
    }
}

#[derive(Args, Debug, Clone)]
pub struct KubeletArgs {
    /// Run a hollow node: simulated, no container runs. It registers the Node, renews its Lease,
    /// and reports the pods bound to it Running with fake IPs from the node's spec.podCIDR.
    #[arg(long)]
    pub hollow: bool,
    /// Where a real node keeps pod files, logs and its containerd
    /// (default /var/lib/rkube/kubelet as root, ~/.rkube/kubelet otherwise).
    #[arg(long)]
    pub root_dir: Option<PathBuf>,
    /// The kubelet's HTTPS port (logs, exec, attach, port-forward).
    #[arg(long, default_value_t = 10250)]
    pub port: u16,
    /// CA (PEM) whose client certificates may call the kubelet API (default: the kubeconfig's
    /// certificate authority, which signs the apiserver's kubelet-client certificate).
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub real: RealNodeArgs,
    /// The kubeconfig to reach the apiserver with (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The Node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The node's InternalIP (default: the address of the default route; for a hollow node a
    /// fake one derived from its name, in 100.96.0.0/11).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    #[command(flatten)]
    pub node: HollowArgs,
}

pub async fn run(args: KubeletArgs) -> anyhow::Result<()> {
    if !args.hollow {
        return run_real(args).await;
    }
    let capacity = args.node.capacity()?;
    let name = args.node_name.unwrap_or_else(kubelet::host::hostname).to_lowercase();
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

async fn run_real(args: KubeletArgs) -> anyhow::Result<()> {
    let name = args.node_name.clone().unwrap_or_else(kubelet::host::hostname).to_lowercase();
    let root_dir = args.root_dir.clone().unwrap_or_else(|| crate::store_cmd::data_dir(None).join("kubelet"));
    let ip = args.node_ip.unwrap_or_else(kubelet::host::default_ip);
    let kubeconfig = crate::kubeconfig::path(args.kubeconfig.clone());
    let (client, ca) = crate::kubeconfig::client(&kubeconfig, "kubelet")
        .await
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let client_ca = match &args.client_ca_file {
        Some(file) => Some(std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?),
        None => ca,
    };
    let (mut config, runtime) = args.real.config(&name, ip, root_dir, args.port, args.node.max_pods, client_ca)?;
    config.healthz_port = args.node.healthz_port;
    config.healthz_bind_address = args.node.healthz_bind_address;
    tracing::info!(node = %name, %ip, root_dir = %config.root_dir.display(), "kubelet starting");
    kubelet::run_node(client, config, runtime, crate::server_cmd::shutdown_signal()).await
}

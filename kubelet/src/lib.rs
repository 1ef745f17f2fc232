//! rkube's kubelet, the node agent. The real kubelet runs pods through a CRI runtime
//! (containerd): `run` registers the Node (`nodestatus.rs`), renews its Lease (`nodelease.rs`)
//! and syncs the pods bound to it (`pods/`), over the runtime client in `cri.rs`. `containerd.rs`
//! supervises a containerd of its own when no runtime endpoint is given; `network.rs` writes its
//! pod network; `oci.rs` builds the sandbox image; `imagegc.rs` removes unused images when the
//! disk fills; `metrics.rs` is what `/metrics` of the kubelet API shows. Hollow mode (`hollow/`) simulates nodes
//! without containers, like upstream's kubemark.

pub mod cgroups;
pub mod config;
pub mod containerd;
pub mod cri;
pub mod hollow;
pub mod host;
pub mod imagegc;
pub mod logs;
pub mod metrics;
pub mod network;
pub mod node;
pub mod nodelease;
pub mod nodestatus;
pub mod oci;
pub mod pods;
pub mod qos;
pub mod server;
pub mod volumes;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use controllers::framework::Recorder;
use kube::{Api, Client};

pub use config::Config;

/// `status.nodeInfo.kubeletVersion` of every rkube node.
pub const KUBELET_VERSION: &str = "v1.33.0-rkube";

/// Runs the kubelet of `config.node_name` against the apiserver behind `client` until
/// `shutdown` resolves.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(metrics::Metrics::default());
    let cri = cri::Cri::connect(&config.runtime_endpoint)?.with_metrics(metrics.clone());
    let version = cri.wait_ready(&cri::socket_path(&config.runtime_endpoint), Duration::from_secs(30)).await?;
    tracing::info!(node = %config.node_name, runtime = %version.runtime_name, version = %version.runtime_version, "container runtime ready");
    std::fs::create_dir_all(&config.root_dir)?;
    let (_, allocatable) = nodestatus::resources(&config);
    let quantity =
        |name: &str, parse: fn(&str) -> Option<i64>| allocatable.get(name).and_then(|q| parse(&q.0)).unwrap_or(0);
    let shared = Arc::new(pods::manager::Shared {
        client: client.clone(),
        cri: cri.clone(),
        runtime_name: version.runtime_name.clone(),
        recorder: Recorder::new(client.clone(), "kubelet", &config.node_name),
        host_resolv_conf: std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        node_memory: host::memory().total,
        allocatable_milli_cpu: quantity("cpu", apimachinery::quantity::parse_milli),
        allocatable_memory: quantity("memory", apimachinery::quantity::parse_value),
        services: Mutex::new(Default::default()),
        pods: Mutex::new(Default::default()),
        metrics,
        config: config.clone(),
    });
    let agent = Arc::new(nodestatus::NodeAgent {
        config: config.clone(),
        cri,
        nodes: Api::all(client.clone()),
        leases: Api::namespaced(client, nodelease::NAMESPACE),
        runtime_version: format!("{}://{}", version.runtime_name, version.runtime_version),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let api = match &config.client_ca_pem {
        Some(ca) => {
            let names = [
                config.node_name.clone(),
                host::hostname(),
                config.node_ip.to_string(),
                "localhost".into(),
                "127.0.0.1".into(),
            ];
            let mut names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
            names.dedup();
            let (cert, key) = server::tls::serving_certificate(&config.pki_dir(), &names)?;
            let tls = server::tls::server_config(&cert, &key, ca)?;
            let address = std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), config.port);
            let listener = server::bind(address).await?;
            Some(tokio::spawn(server::serve(shared.clone(), listener, tls, until(stopped.clone()))))
        }
        None => {
            tracing::warn!("no client CA: the kubelet API (logs, exec, port-forward) is not served");
            None
        }
    };
    if config.healthz_port != 0 {
        let address = std::net::SocketAddr::new(config.healthz_bind_address, config.healthz_port);
        tokio::spawn(server::serve_healthz(address, until(stopped.clone())));
    }
    let image_gc = imagegc::ImageGc {
        config: config.clone(),
        cri: shared.cri.clone(),
        recorder: shared.recorder.clone(),
        metrics: shared.metrics.clone(),
    };
    tokio::spawn(image_gc.run(until(stopped.clone())));
    let node_task = tokio::spawn(agent.run(until(stopped.clone())));
    let pods_task = tokio::spawn(pods::manager::run(shared, until(stopped)));
    shutdown.await;
    let _ = stop.send(true);
    let _ = pods_task.await;
    if let Some(api) = api {
        let _ = api.await;
    }
    node_task.await??;
    Ok(())
}

/// Where a real node's container runtime comes from.
#[derive(Clone, Debug)]
pub enum Runtime {
    /// A CRI endpoint someone else runs (`--container-runtime-endpoint`).
    Endpoint(String),
    /// A containerd of our own, configured and kept under `dir`; CNI plugins from `cni_bin_dir`;
    /// registries pulled from over plain HTTP.
    Supervised { dir: std::path::PathBuf, cni_bin_dir: String, insecure_registries: Vec<String> },
}

/// Runs a real node: the runtime (started here when supervised), then the kubelet until
/// `shutdown`. A supervised containerd takes its pods down with it: nothing of the node keeps
/// running after it stops.
pub async fn run_node(
    client: Client,
    mut config: Config,
    runtime: Runtime,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    match runtime {
        Runtime::Endpoint(endpoint) => {
            config.runtime_endpoint = endpoint;
            run(client, config, shutdown).await
        }
        Runtime::Supervised { dir, cni_bin_dir, insecure_registries } => {
            let layout = containerd::Layout { dir };
            let (supervised, cri) =
                containerd::Containerd::start(layout.clone(), &cni_bin_dir, &insecure_registries).await?;
            config.runtime_endpoint = layout.socket().to_string_lossy().into_owned();
            config.cni_conf_dir.get_or_insert(layout.cni_conf_dir());
            let network = network::PodNetwork::for_node(&config.root_dir);
            let cgroup_root = config.cgroup_root.clone();
            let result = run(client, config, shutdown).await;
            containerd::remove_all_pods(&cri).await;
            supervised.stop().await;
            network::delete_bridge(&network.bridge).await;
            cgroups::remove_node(&cgroup_root);
            result
        }
    }
}

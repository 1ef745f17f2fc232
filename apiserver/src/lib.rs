//! rkube's apiserver: the Kubernetes REST and watch protocol over TLS, on top of the store.
//!
//! Start reading at [`run`]: it opens the store, loads or creates the certificates, builds the
//! [`registry`] (every resource, its strategy and watch cache) and serves HTTPS through
//! [`server`]. Requests flow `server` -> `handlers` -> `registry` -> `store`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

pub mod admission;
pub mod apply;
pub mod authn;
mod bootstrap;
pub mod cached;
pub mod connect;
pub mod crd;
mod defaults;
pub mod fieldvalidation;
pub mod handlers;
pub mod metrics;
pub mod object;
mod openapi;
pub mod patch;
pub mod pki;
mod plugins;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod resources;
mod reviews;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod status;
pub mod storage;
pub mod table;
pub mod validation;
pub mod watchcache;

/// The apiserver's settings (upstream's flag names).
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    /// 0 picks a free port (tests); the kubeconfig names the one in use.
    pub secure_port: u16,
    pub store: store::Backend,
    pub service_cluster_ip_range: String,
    pub service_node_port_range: String,
    pub token_auth_file: Option<PathBuf>,
    pub compaction_interval: Duration,
    /// `--enable-admission-plugins`: plugins run besides the default ones.
    pub enable_admission_plugins: Vec<String>,
    /// `--disable-admission-plugins`: default plugins not run.
    pub disable_admission_plugins: Vec<String>,
    /// Metrics of components running in the same process (`rkube server`'s controllers),
    /// appended to the apiserver's `/metrics`.
    pub extra_metrics: Vec<MetricsSource>,
}

/// Text exposition of some component's metrics.
#[derive(Clone)]
pub struct MetricsSource(pub Arc<dyn Fn() -> String + Send + Sync>);

impl std::fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsSource")
    }
}

impl Config {
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.data_dir.join("admin.kubeconfig")
    }
}

/// Runs the apiserver until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    run_notify(config, shutdown, None).await
}

/// `run`, telling `ready` once the apiserver serves and its bootstrap objects exist (so
/// in-process components can start their clients).
pub async fn run_notify(
    config: Config,
    shutdown: impl Future<Output = ()>,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let allocators = registry::Allocators::new(&config.service_cluster_ip_range, &config.service_node_port_range)?;
    let tokens = match &config.token_auth_file {
        Some(path) => authn::TokenFile::load(path)?,
        None => authn::TokenFile::default(),
    };

    let chain = admission::Chain::select(
        plugins::available(),
        &config.enable_admission_plugins,
        &config.disable_admission_plugins,
    )
    .map_err(|e| anyhow::anyhow!("--enable-admission-plugins/--disable-admission-plugins: {e}"))?;
    tracing::info!(plugins = ?chain.names(), "admission chain");

    let listener = server::bind(SocketAddr::new(config.bind_address, config.secure_port)).await?;
    let addr = listener.local_addr()?;
    // Clients reach an unspecified bind address on loopback.
    let advertise =
        if config.bind_address.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { config.bind_address };
    let hostname =
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let mut hosts = vec!["127.0.0.1".to_string(), "localhost".to_string(), allocators.first_ip().to_string()];
    hosts.extend(
        ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
            .map(String::from),
    );
    if !hostname.is_empty() {
        hosts.push(hostname);
    }
    if !advertise.is_loopback() {
        hosts.push(advertise.to_string());
    }
    let pki = pki::Pki::load_or_create(&config.data_dir.join("pki"), &hosts)?;
    let (cert, key) = pki.client("admin", "kubernetes-admin", &["system:masters"])?;
    let server_url = format!("https://{}", SocketAddr::new(advertise, addr.port()));
    pki::write_kubeconfig(&config.kubeconfig_path(), &server_url, &pki.ca_pem, &cert, &key)?;

    let store = store::open(&config.store).await.context("opening the store")?;
    let compactor = store::Compactor::spawn(store.clone(), config.compaction_interval);
    let registry = Arc::new(registry::Registry::new(store, allocators, chain));
    registry.start_caches().await.map_err(|e| anyhow::anyhow!("starting watch caches: {e}"))?;
    let definitions = crd::controller::spawn(registry.clone());
    let admission = admission::spawn(registry.clone());
    registry.admission.wait_ready().await;
    let (kubelet_cert, kubelet_key) =
        pki.client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", &["system:masters"])?;
    let api = Arc::new(server::Api {
        kubelet: connect::KubeletClient::new(&kubelet_cert, &kubelet_key)?,
        registry,
        tokens,
        metrics: metrics::Metrics::default(),
        extra_metrics: config.extra_metrics.clone(),
        ready: AtomicBool::new(false),
        address: SocketAddr::new(advertise, addr.port()).to_string(),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let serving =
        tokio::spawn(server::serve(listener, server::tls_config(&pki)?, server::router(api.clone()), stopped));
    tracing::info!(address = %addr, kubeconfig = %config.kubeconfig_path().display(), "apiserver serving");

    bootstrap::run(&api.registry, &advertise.to_string(), addr.port())
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
    api.ready.store(true, Ordering::Release);
    tracing::info!("apiserver ready");
    if let Some(ready) = ready {
        let _ = ready.send(());
    }

    shutdown.await;
    tracing::info!("apiserver shutting down");
    let _ = stop.send(true);
    compactor.abort();
    definitions.abort();
    admission.abort();
    let _ = serving.await;
    Ok(())
}

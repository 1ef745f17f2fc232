//! rkube's controllers, each a plain kube-rs client of the apiserver (so they run inside
//! `rkube server` or against any apiserver, upstream's included), written after upstream's
//! kube-controller-manager loops and named like them:
//!
//! - `namespace.rs`: deleting a namespace deletes everything in it, then the namespace
//!   (upstream's namespace controller and its `kubernetes` finalizer);
//! - `serviceaccount.rs`: the `default` ServiceAccount in every namespace;
//! - `root_ca_publisher.rs`: the `kube-root-ca.crt` ConfigMap in every namespace.
//!
//! Each is a kube-runtime `Controller`; `run` starts them all and returns when `shutdown`
//! resolves; `run_elected` does so only while this process holds the controller-manager's
//! leader Lease (`leader.rs`), so that of several controller-managers one is active.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::join_all;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod framework;
pub mod garbagecollector;
pub mod leader;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod podgc;
pub mod podutil;
pub mod replicaset;
pub mod replication_controller;
pub mod root_ca_publisher;
pub mod serviceaccount;
pub mod taint_eviction;

/// What the controllers share.
pub struct Context {
    pub client: Client,
    /// The cluster CA (PEM) that `kube-root-ca.crt` publishes; `None`: not published.
    pub root_ca: Option<String>,
    /// One watch per resource type, shared by the controllers.
    pub informers: framework::Informers,
    pub metrics: Arc<framework::Metrics>,
    /// This process in events it records (reportingInstance) and in leader election.
    pub identity: String,
    pub options: Options,
}

/// The controller-manager's settings (upstream's flags of the same names).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--cluster-cidr`: the range node IPAM carves pod CIDRs from.
    pub cluster_cidr: String,
    /// `--node-cidr-mask-size`: the prefix length of each node's pod CIDR.
    pub node_cidr_mask_size: u8,
    /// `--node-monitor-grace-period`: how long a silent node stays Ready.
    pub node_monitor_grace_period: std::time::Duration,
    /// `--terminated-pod-gc-threshold`: finished pods kept before the oldest are deleted.
    pub terminated_pod_gc_threshold: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cluster_cidr: "10.244.0.0/16".into(),
            node_cidr_mask_size: 24,
            node_monitor_grace_period: std::time::Duration::from_secs(40),
            terminated_pod_gc_threshold: 12_500,
        }
    }
}

impl Context {
    pub fn new(client: Client, root_ca: Option<String>, metrics: Arc<framework::Metrics>, options: Options) -> Self {
        let informers = framework::Informers::new(client.clone());
        Self { informers, client, root_ca, metrics, identity: identity(), options }
    }
}

/// Runs every controller until `shutdown` resolves.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let ctx = Arc::new(ctx);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let controllers = vec![
        tokio::spawn(namespace::run(ctx.clone(), signal())),
        tokio::spawn(serviceaccount::run(ctx.clone(), signal())),
        tokio::spawn(root_ca_publisher::run(ctx.clone(), signal())),
        tokio::spawn(deployment::run(ctx.clone(), signal())),
        tokio::spawn(garbagecollector::run(ctx.clone(), signal())),
        tokio::spawn(nodeipam::run(ctx.clone(), signal())),
        tokio::spawn(nodelifecycle::run(ctx.clone(), signal())),
        tokio::spawn(taint_eviction::run(ctx.clone(), signal())),
        tokio::spawn(podgc::run(ctx.clone(), signal())),
        tokio::spawn(endpoints::run(ctx.clone(), signal())),
        tokio::spawn(endpointslice::run(ctx.clone(), signal())),
        tokio::spawn(replicaset::run::<k8s_openapi::api::apps::v1::ReplicaSet>(ctx.clone(), "replicaset", signal())),
        tokio::spawn(replicaset::run::<k8s_openapi::api::core::v1::ReplicationController>(
            ctx.clone(),
            "replicationcontroller",
            signal(),
        )),
    ];
    tracing::info!(controllers = controllers.len(), "controllers running");
    shutdown.await;
    let _ = stop.send(true);
    for result in join_all(controllers).await {
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "controller stopped with an error");
        }
    }
    Ok(())
}

/// The Lease the controller-managers elect their leader on (upstream's name, in kube-system).
pub const LEASE: &str = "kube-controller-manager";

/// `run` while elected leader: returns `Ok` on shutdown and `Err` if leadership is lost (the
/// process should then exit, as upstream's does).
pub async fn run_elected(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let elector = leader::Elector::new(ctx.client.clone(), leader::Settings::new(LEASE, ctx.identity.clone()));
    leader::run(elector, shutdown, move |mut stopped| async move {
        run(ctx, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await
    })
    .await
}

/// A candidate identity as upstream forms it: the host name and something unique.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "localhost".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{:x}{:08x}", host.trim(), std::process::id(), nanos)
}

/// Runs a controller of namespaces that keeps one object of kind `K` named `child` in each
/// (the default ServiceAccount, the root CA ConfigMap): `reconcile` sees every namespace, and
/// again whenever its `child` changes or goes.
pub(crate) async fn per_namespace<K, R, Fut>(
    ctx: Arc<Context>,
    child: &'static str,
    controller: &'static str,
    reconcile: R,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    R: FnMut(Arc<Namespace>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let namespaces = Api::<Namespace>::all(ctx.client.clone());
    let children = Api::<K>::all(ctx.client.clone());
    let error_policy = move |ns: Arc<Namespace>, error: &Error, _: Arc<Context>| {
        tracing::warn!(namespace = %ns.name_any(), %error, controller);
        Action::requeue(std::time::Duration::from_secs(1))
    };
    Controller::new(namespaces, watcher::Config::default())
        .watches(children, watcher::Config::default().fields(&format!("metadata.name={child}")), |o| {
            o.namespace().map(|ns| ObjectRef::new(&ns))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

/// Errors of a reconcile: retried with back-off by the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Other(String),
}

//! rkube's kube-scheduler: a plain kube-rs client of the apiserver (so it runs inside
//! `rkube server`, alone as `rkube scheduler`, or against any apiserver) that assigns pending
//! pods to nodes, written after upstream's scheduler and named like it:
//!
//! - `framework.rs`: what the scheduler keeps of pods and nodes, computed once per object;
//! - `cache.rs`: nodes and the pods on them, with pods *assumed* on their node until the
//!   watch confirms the binding;
//! - `queue.rs`: activeQ / backoffQ / unschedulable pods;
//! - `plugins/`: the default profile's filters and scores;
//! - `preemption.rs`: DefaultPreemption;
//! - `schedule_one.rs`: the loop that decides one pod at a time and binds many at once;
//! - `metrics.rs`: Prometheus metrics and `/healthz` over plain HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;

pub mod cache;
pub mod framework;
pub mod metrics;
pub mod plugins;
pub mod preemption;
pub mod queue;
pub mod schedule_one;

pub use plugins::ScoringStrategy;

pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// The Lease the schedulers elect their leader on (upstream's name, in kube-system).
pub const LEASE: &str = "kube-scheduler";

#[derive(Clone, Debug)]
pub struct Config {
    /// Pods whose `spec.schedulerName` is this are ours.
    pub scheduler_name: String,
    /// Where to serve `/metrics` and `/healthz` (plain HTTP); `None`: not served.
    pub bind_address: Option<SocketAddr>,
    pub scoring_strategy: ScoringStrategy,
    /// 0: upstream's adaptive rule.
    pub percentage_of_nodes_to_score: u32,
    /// The events' reportingInstance (`run_elected` uses the leader election identity).
    pub instance: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            bind_address: None,
            scoring_strategy: ScoringStrategy::LeastAllocated,
            percentage_of_nodes_to_score: 0,
            instance: None,
        }
    }
}

/// Watches `api` on its own task (decoding off the scheduling loop) and forwards its events.
fn forward<K, T>(api: Api<K>, tx: mpsc::UnboundedSender<schedule_one::Message>, wrap: T) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    T: Fn(watcher::Event<K>) -> schedule_one::Message + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default().page_size(5000)).default_backoff().boxed();
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    if tx.send(wrap(event)).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::warn!(error = %e, kind = %K::kind(&()), "watch failed; retrying"),
            }
        }
    })
}

fn map_event<A, B>(event: watcher::Event<A>, f: impl Fn(A) -> B) -> watcher::Event<B> {
    match event {
        watcher::Event::Apply(a) => watcher::Event::Apply(f(a)),
        watcher::Event::Delete(a) => watcher::Event::Delete(f(a)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(a) => watcher::Event::InitApply(f(a)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

/// Serves `/metrics` and `/healthz` (if `config.bind_address`) while `work` runs; the server
/// runs whether or not this process leads, as upstream's does.
async fn with_metrics_server<F>(config: &Config, work: impl FnOnce(Arc<metrics::Metrics>) -> F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>>,
{
    let metrics = Arc::new(metrics::Metrics::default());
    let Some(addr) = config.bind_address else { return work(metrics).await };
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let until = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let mut server = tokio::spawn(metrics::serve(addr, metrics.clone(), until));
    let outcome = tokio::select! {
        outcome = work(metrics) => outcome,
        // A server that cannot bind its address stops the scheduler (as upstream's).
        served = &mut server => return served.map_err(anyhow::Error::from).and_then(|r| r),
    };
    let _ = stop.send(true);
    match server.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics server failed"),
        Err(e) => tracing::warn!(error = %e, "metrics server task failed"),
        Ok(Ok(())) => {}
    }
    outcome
}

/// Runs the scheduler until `shutdown` resolves.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    with_metrics_server(&config.clone(), |metrics| schedule(client, config, metrics, shutdown)).await
}

async fn schedule(
    client: Client,
    config: Config,
    metrics: Arc<metrics::Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (tx, rx) = mpsc::unbounded_channel();
    let watches = vec![
        forward(Api::<Node>::all(client.clone()), tx.clone(), |e| schedule_one::Message::Node(Box::new(e))),
        forward(Api::<Pod>::all(client.clone()), tx.clone(), |e| {
            schedule_one::Message::Pod(map_event(e, |p| Arc::new(framework::PodInfo::new(&p))))
        }),
        forward(Api::<Namespace>::all(client.clone()), tx.clone(), |e| {
            schedule_one::Message::Namespace(map_event(e, |n| {
                (n.metadata.name.unwrap_or_default(), n.metadata.labels.unwrap_or_default())
            }))
        }),
    ];
    tracing::info!(scheduler = %config.scheduler_name, "scheduler running");
    let scheduler = schedule_one::Scheduler::new(client, &config, metrics, tx);
    let mut looping = tokio::spawn(scheduler.run(rx, stopped));
    let outcome = tokio::select! {
        _ = shutdown => Ok(()),
        result = &mut looping => result.map_err(|e| anyhow::anyhow!("scheduling loop failed: {e}")),
    };
    let _ = stop.send(true);
    for w in watches {
        w.abort();
    }
    let _ = looping.await;
    outcome
}

/// `run` while elected leader on the `kube-system/kube-scheduler` Lease: returns `Ok` on
/// shutdown and `Err` if leadership is lost (the process should then exit, as upstream's does).
pub async fn run_elected(
    client: Client,
    config: Config,
    identity: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = Config { instance: config.instance.or_else(|| Some(identity.clone())), ..config };
    let elector =
        controllers::leader::Elector::new(client.clone(), controllers::leader::Settings::new(LEASE, identity));
    with_metrics_server(&config.clone(), move |metrics| {
        controllers::leader::run(elector, shutdown, move |mut stopped| async move {
            schedule(client, config, metrics, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        })
    })
    .await
}

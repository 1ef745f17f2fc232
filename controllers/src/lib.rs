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

use futures::future::join_all;
use kube::Client;

pub mod leader;
pub mod namespace;
pub mod root_ca_publisher;
pub mod serviceaccount;

/// What the controllers share.
pub struct Context {
    pub client: Client,
    /// The cluster CA (PEM) that `kube-root-ca.crt` publishes; `None`: not published.
    pub root_ca: Option<String>,
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
pub async fn run_elected(
    ctx: Context,
    identity: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let elector = leader::Elector::new(ctx.client.clone(), leader::Settings::new(LEASE, identity));
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

/// Errors of a reconcile: retried with back-off by the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Other(String),
}

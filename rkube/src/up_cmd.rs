//! `rkube up`: the control plane of `rkube server` plus nodes in one process, with progress on
//! stderr and the `export KUBECONFIG=...` line once every node is Ready. Nodes are hollow
//! (simulated) for now; real nodes need the CRI kubelet.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use kubelet::hollow::{self, Metrics, Progress};

use crate::kubelet_cmd::HollowArgs;
use crate::server_cmd::ServerArgs;

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Real local nodes (kubelet on containerd). Not available yet: pass --nodes 0.
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// Hollow (simulated) nodes run in this process, named hollow-node-0, hollow-node-1, ...;
    /// no container runs on them.
    #[arg(long, default_value_t = 0)]
    pub hollow_nodes: usize,
    #[command(flatten)]
    pub node: HollowArgs,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    if args.nodes > 0 {
        bail!(
            "real nodes (--nodes {}) need the CRI kubelet, which is not built yet: pass --nodes 0 \
             (with --hollow-nodes M for simulated nodes)",
            args.nodes
        );
    }
    let capacity = args.node.capacity()?;
    let kubeconfig = args.server.config().kubeconfig_path();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    tokio::spawn(async move {
        crate::server_cmd::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let (serving, is_serving) = tokio::sync::oneshot::channel();
    let mut server = tokio::spawn(crate::server_cmd::run_until(args.server, true, until_stopped(), Some(serving)));
    tokio::select! {
        served = is_serving => if served.is_err() {
            // The server ended before serving: its error says why.
            return server.await.context("server task")?;
        },
        ended = &mut server => return ended.context("server task")?,
    }
    eprintln!("rkube up: apiserver serving");
    let started = Instant::now();
    let total = args.hollow_nodes;
    let fleet = if total > 0 {
        let (client, _) = crate::kubeconfig::client(&kubeconfig, "kubelet").await?;
        let metrics = Arc::new(Metrics::default());
        args.node.serve_healthz(metrics.clone(), until_stopped()).await;
        let identities = (0..total)
            .map(|i| hollow::Identity { name: format!("hollow-node-{i}"), ip: hollow::fleet_node_ip(i) })
            .collect();
        let (progress, progress_rx) = tokio::sync::watch::channel(Progress::default());
        tokio::spawn(report_progress(progress_rx, total, started, kubeconfig.clone()));
        Some(tokio::spawn(hollow::run(client, identities, capacity, metrics, progress, until_stopped())))
    } else {
        None
    };
    if fleet.is_none() {
        println!("export KUBECONFIG={}", kubeconfig.display());
    }
    let served = server.await.context("server task")?;
    if let Some(fleet) = fleet {
        fleet.await.context("hollow nodes task")??;
    }
    served
}

/// Progress lines on stderr (at most one a second), then the `export KUBECONFIG` line on stdout
/// once every node is Ready.
async fn report_progress(
    mut progress: tokio::sync::watch::Receiver<Progress>,
    total: usize,
    started: Instant,
    kubeconfig: PathBuf,
) {
    let mut printed = Instant::now();
    while progress.changed().await.is_ok() {
        let now = *progress.borrow_and_update();
        if now.ready >= total {
            eprintln!("rkube up: nodes registered {}/{total}, Ready {}/{total}", now.registered, now.ready);
            eprintln!("rkube up: {total} hollow nodes Ready in {:.1}s", started.elapsed().as_secs_f64());
            println!("export KUBECONFIG={}", kubeconfig.display());
            return;
        }
        // At most a line a second, however fast nodes come.
        if printed.elapsed() >= Duration::from_secs(1) {
            eprintln!("rkube up: nodes registered {}/{total}, Ready {}/{total}", now.registered, now.ready);
            printed = Instant::now();
        }
    }
}

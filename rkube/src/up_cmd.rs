//! `rkube up`: the control plane of `rkube server` plus nodes in one process, with progress on
//! stderr and the `export KUBECONFIG=...` line once every node is Ready: `--nodes N` real nodes
//! (each a kubelet with its own containerd, files under `DATA_DIR/nodes/<name>`) and
//! `--hollow-nodes M` simulated ones.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use kubelet::hollow::{self, Metrics, Progress};

use crate::kubelet_cmd::{HollowArgs, RealNodeArgs};
use crate::server_cmd::ServerArgs;

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Real local nodes: a kubelet each, running pods on a containerd it starts (or on
    /// --container-runtime-endpoint). One node is named after the host; several are
    /// HOST-1, HOST-2, ... (HOST: the host name)
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// HTTPS port of the first real node's kubelet; the next nodes take the following ports.
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// InternalIP of the real nodes (default: the address of the default route).
    #[arg(long)]
    pub node_ip: Option<std::net::IpAddr>,
    #[command(flatten)]
    pub real: RealNodeArgs,
    /// Hollow (simulated) nodes run in this process, named hollow-node-0, hollow-node-1, ...;
    /// no container runs on them.
    #[arg(long, default_value_t = 0)]
    pub hollow_nodes: usize,
    #[command(flatten)]
    pub node: HollowArgs,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let capacity = args.node.capacity()?;
    if args.nodes > 1 && args.real.container_runtime_endpoint.is_some() {
        bail!(
            "several real nodes cannot share one --container-runtime-endpoint: leave it out and each starts its own containerd"
        );
    }
    let config = args.server.config();
    let kubeconfig = config.kubeconfig_path();
    let data_dir = config.data_dir.clone();
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
    let mut server =
        tokio::spawn(crate::server_cmd::run_until(args.server.clone(), true, until_stopped(), Some(serving)));
    tokio::select! {
        served = is_serving => if served.is_err() {
            // The server ended before serving: its error says why.
            return server.await.context("server task")?;
        },
        ended = &mut server => return ended.context("server task")?,
    }
    eprintln!("rkube up: apiserver serving");
    let started = Instant::now();
    let client = || crate::kubeconfig::client(&kubeconfig, "kubelet");
    let mut nodes = Vec::new();
    let host = kubelet::host::hostname();
    let ip = args.node_ip.unwrap_or_else(kubelet::host::default_ip);
    let real_names: Vec<String> = match args.nodes {
        1 => vec![host],
        n => (1..=n).map(|i| format!("{host}-{i}")).collect(),
    };
    for (i, name) in real_names.iter().enumerate() {
        let port = args.kubelet_port.checked_add(i as u16).context("--kubelet-port too high for this many nodes")?;
        let root = data_dir.join("nodes").join(name);
        let (client, ca) = client().await?;
        let (config, runtime) = args.real.config(name, ip, root, port, args.node.max_pods, ca)?;
        let name = name.clone();
        let node = kubelet::run_node(client, config, runtime, until_stopped());
        nodes.push(tokio::spawn(async move { node.await.with_context(|| format!("node {name}")) }));
    }
    let total = args.hollow_nodes;
    let (progress, progress_rx) = tokio::sync::watch::channel(Progress::default());
    let fleet = if total > 0 {
        let (client, _) = client().await?;
        let metrics = Arc::new(Metrics::default());
        args.node.serve_healthz(metrics.clone(), until_stopped()).await;
        let identities = (0..total)
            .map(|i| hollow::Identity { name: format!("hollow-node-{i}"), ip: hollow::fleet_node_ip(i) })
            .collect();
        Some(tokio::spawn(hollow::run(client, identities, capacity, metrics, progress, until_stopped())))
    } else {
        None
    };
    let (client, _) = client().await?;
    tokio::spawn(report_progress(client, real_names, progress_rx, total, started, kubeconfig.clone()));
    let served = server.await.context("server task")?;
    for node in nodes {
        node.await.context("node task")??;
    }
    if let Some(fleet) = fleet {
        fleet.await.context("hollow nodes task")??;
    }
    served
}

/// Progress lines on stderr (at most one a second), then the `export KUBECONFIG` line on stdout
/// once every node, real and hollow, is Ready.
async fn report_progress(
    client: kube::Client,
    real: Vec<String>,
    hollow: tokio::sync::watch::Receiver<Progress>,
    hollow_total: usize,
    started: Instant,
    kubeconfig: PathBuf,
) {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
    let total = real.len() + hollow_total;
    let mut printed: Option<(usize, usize)> = None;
    let mut last_print = Instant::now();
    loop {
        let (mut registered, mut ready) = (0, 0);
        if !real.is_empty()
            && let Ok(list) = nodes.list(&Default::default()).await
        {
            for node in list.items.iter().filter(|n| n.metadata.name.as_ref().is_some_and(|name| real.contains(name))) {
                registered += 1;
                if kubelet::node::ready_status(node) == Some("True") {
                    ready += 1;
                }
            }
        }
        let fleet = *hollow.borrow();
        registered += fleet.registered;
        ready += fleet.ready;
        if ready >= total {
            eprintln!("rkube up: nodes registered {registered}/{total}, Ready {ready}/{total}");
            eprintln!(
                "rkube up: {total} nodes Ready in {:.1}s ({} real, {hollow_total} hollow)",
                started.elapsed().as_secs_f64(),
                real.len()
            );
            println!("export KUBECONFIG={}", kubeconfig.display());
            return;
        }
        if printed != Some((registered, ready)) && last_print.elapsed() >= Duration::from_secs(1) {
            eprintln!("rkube up: nodes registered {registered}/{total}, Ready {ready}/{total}");
            printed = Some((registered, ready));
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

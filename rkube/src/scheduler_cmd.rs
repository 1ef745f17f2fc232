//! `rkube scheduler`: the kube-scheduler of `scheduler/` against an apiserver reached through a
//! kubeconfig (the one `rkube server` writes, or any other cluster's).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Scoring {
    LeastAllocated,
    MostAllocated,
}

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// The kubeconfig to reach the apiserver with (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Schedule the pods whose spec.schedulerName is this.
    #[arg(long, default_value = scheduler::DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    /// Elect a leader on the kube-system/kube-scheduler Lease so that one of several schedulers
    /// is active.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Where to serve /metrics and /healthz. Plain HTTP, unlike upstream's HTTPS on 10259.
    #[arg(long, default_value = "127.0.0.1:10259")]
    pub bind_address: SocketAddr,
    /// NodeResourcesFit's scoring strategy.
    #[arg(long, value_enum, default_value_t = Scoring::LeastAllocated)]
    pub scoring_strategy: Scoring,
    /// Percentage of nodes to find feasible before scoring; 0: upstream's adaptive rule.
    #[arg(long, default_value_t = 0)]
    pub percentage_of_nodes_to_score: u32,
}

pub async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let config = scheduler::Config {
        scheduler_name: args.scheduler_name.clone(),
        bind_address: Some(args.bind_address),
        scoring_strategy: match args.scoring_strategy {
            Scoring::LeastAllocated => scheduler::ScoringStrategy::LeastAllocated,
            Scoring::MostAllocated => scheduler::ScoringStrategy::MostAllocated,
        },
        percentage_of_nodes_to_score: args.percentage_of_nodes_to_score,
        instance: None,
    };
    run_with(&crate::kubeconfig::path(args.kubeconfig), config, args.leader_elect, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Runs the scheduler with a client from `kubeconfig` until `shutdown` resolves.
pub async fn run_with(
    kubeconfig: &Path,
    config: scheduler::Config,
    leader_elect: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (client, _) = crate::kubeconfig::client(kubeconfig, "kube-scheduler").await?;
    if leader_elect {
        scheduler::run_elected(client, config, controllers::identity(), shutdown).await
    } else {
        scheduler::run(client, config, shutdown).await
    }
}

/// The scheduler inside `rkube server`, elected like a standalone one (so an external
/// `rkube scheduler` never binds at the same time), until `stopped` turns true. No metrics
/// port: several servers on one host would contend for it.
pub async fn in_server(kubeconfig: PathBuf, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let until = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = run_with(&kubeconfig, scheduler::Config::default(), true, until).await {
        tracing::warn!(error = %e, "scheduler stopped with an error");
    }
}

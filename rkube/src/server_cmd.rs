//! `rkube server` (the control plane in one process: the apiserver, then the controllers and the
//! scheduler as its clients) and `rkube apiserver`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::store_cmd::{StoreKind, data_dir};

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Where the cluster keeps its store, certificates and admin.kubeconfig
    /// (default /var/lib/rkube as root, ~/.rkube otherwise).
    #[arg(long, env = "RKUBE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTPS port; 0 picks a free one (the kubeconfig names it).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    #[arg(long = "store", value_enum, default_value_t = StoreKind::Embedded)]
    pub store: StoreKind,
    /// etcd client URLs, comma separated (with --store etcd).
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
    pub etcd_servers: Vec<String>,
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Static bearer tokens: CSV lines `token,user,uid,"group1,group2"`.
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// How often to compact the store's history (upstream's --etcd-compaction-interval).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub etcd_compaction_interval: Duration,
    /// Admission plugins to run besides the default ones, comma separated (upstream's names;
    /// they always run in upstream's order).
    #[arg(long, value_delimiter = ',')]
    pub enable_admission_plugins: Vec<String>,
    /// Default admission plugins not to run, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub disable_admission_plugins: Vec<String>,
    #[command(flatten)]
    pub controllers: crate::controllers_cmd::ControllerOptions,
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("invalid duration {s:?} (use s, m or h)")),
    }
}

impl ServerArgs {
    pub fn config(&self) -> apiserver::Config {
        let data_dir = data_dir(self.data_dir.clone());
        let store = match self.store {
            StoreKind::Embedded => store::Backend::Embedded { data_dir: data_dir.join("store") },
            StoreKind::Etcd => store::Backend::Etcd { endpoints: self.etcd_servers.clone() },
        };
        apiserver::Config {
            data_dir,
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            store,
            service_cluster_ip_range: self.service_cluster_ip_range.clone(),
            service_node_port_range: self.service_node_port_range.clone(),
            token_auth_file: self.token_auth_file.clone(),
            compaction_interval: self.etcd_compaction_interval,
            enable_admission_plugins: self.enable_admission_plugins.clone(),
            disable_admission_plugins: self.disable_admission_plugins.clone(),
            extra_metrics: Vec::new(),
        }
    }
}

pub async fn run(args: ServerArgs, with_controllers: bool) -> anyhow::Result<()> {
    run_until(args, with_controllers, shutdown_signal(), None).await
}

/// `run` until `shutdown` resolves; with the controllers, `serving` is told once the apiserver
/// serves (`rkube up` starts its nodes then).
pub async fn run_until(
    args: ServerArgs,
    with_controllers: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
    serving: Option<tokio::sync::oneshot::Sender<()>>,
) -> anyhow::Result<()> {
    let mut config = args.config();
    let metrics = std::sync::Arc::new(controllers::framework::Metrics::default());
    if with_controllers {
        let encoder = metrics.clone();
        config.extra_metrics.push(apiserver::MetricsSource(std::sync::Arc::new(move || encoder.encode())));
    }
    let kubeconfig = config.kubeconfig_path();
    let ca = config.data_dir.join("pki").join("ca.crt");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    eprintln!("rkube: admin kubeconfig at {} (export KUBECONFIG={0})", kubeconfig.display());
    let (ready, is_ready) = tokio::sync::oneshot::channel();
    let controllers = with_controllers.then(|| {
        tokio::spawn(async move {
            // The controllers are clients like any other, once the apiserver serves.
            if is_ready.await.is_err() {
                return Ok(());
            }
            if let Some(serving) = serving {
                let _ = serving.send(());
            }
            tokio::spawn(crate::scheduler_cmd::in_server(kubeconfig.clone(), stopped.clone()));
            let mut stopped = stopped.clone();
            let until_stopped = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let options = args.controllers.options();
            crate::controllers_cmd::run_with(
                &kubeconfig,
                std::fs::read_to_string(&ca).ok(),
                metrics,
                options,
                until_stopped,
            )
            .await
        })
    });
    let served = apiserver::run_notify(config, shutdown, Some(ready)).await;
    if let Some(controllers) = controllers {
        match controllers.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "controllers stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "controllers task failed"),
            Ok(Ok(())) => {}
        }
    }
    served
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_upstream_flags() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5x").is_err());
    }
}

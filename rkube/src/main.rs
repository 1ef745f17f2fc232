//! `rkube`: every rkube component behind one binary, `rkube <component>`. Thin wiring only: the
//! components live in their own crates.

use clap::{Parser, Subcommand};

mod controllers_cmd;
mod kubeconfig;
mod kubelet_cmd;
mod logging;
mod metrics_server;
mod scheduler_cmd;
mod server_cmd;
mod store_cmd;
mod up_cmd;

#[derive(Parser, Debug)]
#[command(name = "rkube", version, about = "A Kubernetes-compatible cluster in one binary")]
struct Cli {
    /// Log format; the level comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value_t = logging::Format::Text)]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The control plane in one process (the apiserver, the controllers and the scheduler).
    /// Creates the CA and certificates on first start and writes DATA_DIR/admin.kubeconfig.
    Server(server_cmd::ServerArgs),
    /// The Kubernetes API server alone.
    Apiserver(server_cmd::ServerArgs),
    /// The controllers alone, against any apiserver (`--kubeconfig`, else $KUBECONFIG).
    ControllerManager(controllers_cmd::ControllerManagerArgs),
    /// `server` plus nodes in one process: `--nodes N` real nodes (a kubelet on its own
    /// containerd each) and `--hollow-nodes M` simulated ones; prints `export KUBECONFIG=...`
    /// once every node is Ready.
    Up(up_cmd::UpArgs),
    /// The node agent: runs the pods bound to its Node through a CRI runtime (containerd). With
    /// `--hollow`, a simulated node (no container runs) that registers, renews its Lease and
    /// reports the pods bound to it Running.
    Kubelet(kubelet_cmd::KubeletArgs),
    /// The scheduler alone, against any apiserver (`--kubeconfig`, else $KUBECONFIG).
    Scheduler(scheduler_cmd::SchedulerArgs),
    /// Inspect or compact the cluster's store (like etcdctl): keys, values, revisions.
    Store(store_cmd::StoreArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("rkube: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => server_cmd::run(args, true).await,
            Command::Apiserver(args) => server_cmd::run(args, false).await,
            Command::ControllerManager(args) => controllers_cmd::run(args).await,
            Command::Up(args) => up_cmd::run(args).await,
            Command::Kubelet(args) => kubelet_cmd::run(args).await,
            Command::Scheduler(args) => scheduler_cmd::run(args).await,
            Command::Store(args) => store_cmd::run(args).await,
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rkube: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The e2e harness: starts a real `rkube server` process (on a free port, in a temporary data
//! directory, on the embedded store or a real etcd) and drives it with the stock kubectl
//! binaries installed on the machine and with kube-rs.

pub mod bench;
pub mod greeting;
pub mod https;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use store::testing::EtcdServer;

/// Which store the cluster runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Etcd,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    child: Child,
    args: Vec<String>,
    _etcd: Option<EtcdServer>,
}

/// The rkube binary built alongside the tests (`$RKUBE_BIN` overrides).
pub fn rkube_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("RKUBE_BIN") {
        return PathBuf::from(bin);
    }
    // Test binaries live in target/<profile>/deps, other binaries (the benchmark) in
    // target/<profile>, beside rkube.
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("rkube"))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("rkube"))
}

/// The directory holding `kubectl.1.27` ... `kubectl.1.33` beside the `kubectl` dispatcher.
pub fn kubectl_dir() -> PathBuf {
    let dispatcher = which("kubectl").unwrap_or_else(|| PathBuf::from("/usr/local/bin/kubectl"));
    let real = std::fs::canonicalize(&dispatcher).unwrap_or(dispatcher);
    real.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.exists())
}

/// The path of stock kubectl `version` (e.g. "1.33"); fails the test if it is not installed.
pub fn kubectl_path(version: &str) -> PathBuf {
    let path = kubectl_dir().join(format!("kubectl.{version}"));
    assert!(path.exists(), "kubectl {version} is not installed at {}", path.display());
    path
}

impl Cluster {
    pub async fn start(backend: Backend) -> Result<Self> {
        Self::start_with(backend, &[]).await
    }

    /// Starts a cluster with extra `rkube server` flags.
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Result<Self> {
        Self::start_command(backend, "server", extra).await
    }

    /// Starts `rkube apiserver` alone (no controllers).
    pub async fn start_apiserver(backend: Backend) -> Result<Self> {
        Self::start_command(backend, "apiserver", &[]).await
    }

    /// Starts `rkube up` (the server plus in-process nodes, e.g. `--nodes 0 --hollow-nodes 3`).
    pub async fn start_up(backend: Backend, extra: &[&str]) -> Result<Self> {
        Self::start_command(backend, "up", extra).await
    }

    /// Starts `rkube kubelet --hollow --node-name NAME` (and `extra` flags) against this cluster,
    /// logging to `kubelet-NAME.log` in the cluster's directory.
    pub fn start_hollow_kubelet(&self, name: &str, extra: &[&str]) -> Result<Process> {
        let log = std::fs::File::create(self.dir.path().join(format!("kubelet-{name}.log")))?;
        let kubeconfig = self.kubeconfig.display().to_string();
        let child = Command::new(rkube_bin())
            .args(["kubelet", "--hollow", "--kubeconfig", &kubeconfig, "--node-name", name])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", rkube_bin().display()))?;
        Ok(Process(child))
    }

    async fn start_command(backend: Backend, command: &str, extra: &[&str]) -> Result<Self> {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let dir = tempfile::tempdir()?;
        let (etcd, store_args) = match backend {
            Backend::Embedded => (None, vec![]),
            Backend::Etcd => {
                let etcd = EtcdServer::start(&dir.path().join("etcd")).await?;
                let args = vec![
                    "--store".to_string(),
                    "etcd".to_string(),
                    "--etcd-servers".to_string(),
                    etcd.endpoint.clone(),
                ];
                (Some(etcd), args)
            }
        };
        let mut args =
            vec![command.to_string(), "--data-dir".to_string(), dir.path().join("data").display().to_string()];
        args.extend(["--secure-port", "0"].map(String::from));
        args.extend(store_args);
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = spawn(&args, dir.path())?;
        let kubeconfig = dir.path().join("data").join("admin.kubeconfig");
        let mut cluster = Self { dir, kubeconfig, child, args, _etcd: etcd };
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    /// Kills the server with SIGKILL (no chance to clean up) and starts it again on the same
    /// data; it may come back on another port (the kubeconfig says which).
    pub async fn crash_and_restart(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        std::fs::remove_file(&self.kubeconfig)?;
        self.child = spawn(&self.args, self.dir.path())?;
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("rkube server exited at start ({status}):\n{}", self.log());
            }
            if self.kubeconfig.exists()
                && let Ok(client) = self.client().await
                && let Ok(body) = client.request_text(http_get("/readyz")).await
                && body == "ok"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("rkube server not ready within 60s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server process id (to read its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rkube.log")).unwrap_or_default()
    }

    /// The server's address (`https://127.0.0.1:PORT`), from the kubeconfig.
    pub fn server_url(&self) -> String {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap_or_default();
        text.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap_or_default().to_string()
    }

    pub async fn client(&self) -> Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Runs stock kubectl `version` with this cluster's kubeconfig.
    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        self.kubectl_cmd(version).args(args).output().unwrap_or_else(|e| panic!("running kubectl {version}: {e}"))
    }

    /// Runs kubectl `version` with `args` until it succeeds with an output `want` accepts (the
    /// cluster's controllers work asynchronously); fails the test after 30 s.
    pub fn eventually(&self, version: &str, args: &[&str], want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.kubectl(version, args);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() && want(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "kubectl {args:?} never satisfied the test; last output:\n{text}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn kubectl_cmd(&self, version: &str) -> Command {
        let mut cmd = Command::new(kubectl_path(version));
        cmd.env("KUBECONFIG", &self.kubeconfig).env_remove("KUBECTL_EXTERNAL_DIFF");
        cmd
    }
}

fn spawn(args: &[String], dir: &Path) -> Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("rkube.log"))?;
    Command::new(rkube_bin())
        .args(args)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", rkube_bin().display()))
}

/// A child process, killed (SIGKILL) when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).unwrap_or_default()
}

/// stdout of a kubectl run that must succeed.
#[track_caller]
pub fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "kubectl failed ({}):\nstdout: {stdout}\nstderr: {stderr}", out.status);
    stdout
}

/// stderr of a kubectl run that must fail.
#[track_caller]
pub fn fails(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "kubectl should have failed:\nstdout: {stdout}\nstderr: {stderr}");
    stderr
}

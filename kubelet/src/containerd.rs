//! containerd as a child process, for `rkube up` on a machine where no runtime endpoint is
//! given: a generated configuration with every path under one directory (so clusters side by
//! side never share state), the settings these machines need (cgroupfs, an unprivileged OOM
//! score, CNI plugins from Debian's path) and the sandbox image imported before the first pod.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cri::Cri;
use crate::oci::Image;

/// The reference of the sandbox image rkube builds (`pause.rs`); never pulled, always imported.
pub const SANDBOX_IMAGE: &str = "rkube.local/pause:3.10";
/// Where Debian's containernetworking-plugins put the CNI binaries.
pub const DEFAULT_CNI_BIN_DIR: &str = "/usr/lib/cni";

/// Where a supervised containerd keeps everything.
#[derive(Clone, Debug)]
pub struct Layout {
    pub dir: PathBuf,
}

/// The `hosts.toml` making containerd pull from `registry` (`host:port`) over plain HTTP.
pub fn insecure_registry_hosts(registry: &str) -> String {
    format!(
        "server = \"http://{registry}\"\n\n[host.\"http://{registry}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
    )
}

impl Layout {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    /// CNI network configurations containerd loads (the kubelet writes its conflist here).
    pub fn cni_conf_dir(&self) -> PathBuf {
        self.dir.join("net.d")
    }
    /// `certs.d`-style registry host configurations (`<registry>/hosts.toml`).
    pub fn registry_config_dir(&self) -> PathBuf {
        self.dir.join("certs.d")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("containerd.log")
    }
}

fn toml_string(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).unwrap_or_default()
}

/// containerd 1.6's configuration (version 2) for `layout`.
pub fn config(layout: &Layout, cni_bin_dir: &str) -> String {
    let dir = &layout.dir;
    format!(
        r#"version = 2
root = {root}
state = {state}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing"]

[grpc]
  address = {socket}

[ttrpc]
  address = {ttrpc}

[plugins."io.containerd.internal.v1.opt"]
  path = {opt}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox}"
  # root lacks CAP_SYS_RESOURCE in these VMs: a negative oom_score_adj fails the sandbox.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # No systemd on these machines: the cgroupfs driver, as the kubelet's cgroup parents say.
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir}"
    conf_dir = {cni_conf}
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = {registry}
"#,
        root = toml_string(&dir.join("root")),
        state = toml_string(&dir.join("state")),
        socket = toml_string(&layout.socket()),
        ttrpc = toml_string(&dir.join("containerd.sock.ttrpc")),
        opt = toml_string(&dir.join("opt")),
        sandbox = SANDBOX_IMAGE,
        cni_conf = toml_string(&layout.cni_conf_dir()),
        registry = toml_string(&layout.registry_config_dir()),
    )
}

/// The sandbox image: the static pause program alone.
pub fn sandbox_image() -> std::io::Result<Image> {
    let pause = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));
    let entries = [crate::oci::Entry::File { path: "/pause".into(), mode: 0o755, data: pause.to_vec() }];
    let run = crate::oci::RunConfig { entrypoint: vec!["/pause".into()], ..Default::default() };
    Image::build(&entries, &run)
}

/// A running containerd child process.
pub struct Containerd {
    pub layout: Layout,
    child: Child,
}

impl Containerd {
    /// Writes the configuration, starts containerd, waits until CRI answers and imports the
    /// sandbox image into the `k8s.io` namespace (with the `ctr` shipped beside containerd).
    /// Registries in `insecure_registries` (`host:port`) are pulled from over plain HTTP.
    pub async fn start(
        layout: Layout,
        cni_bin_dir: &str,
        insecure_registries: &[String],
    ) -> anyhow::Result<(Containerd, Cri)> {
        use anyhow::Context;
        for dir in [layout.dir.clone(), layout.cni_conf_dir(), layout.registry_config_dir()] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        for registry in insecure_registries {
            let dir = layout.registry_config_dir().join(registry);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("hosts.toml"), insecure_registry_hosts(registry))?;
        }
        std::fs::write(layout.config(), config(&layout, cni_bin_dir))?;
        let log = std::fs::File::create(layout.log())?;
        let mut command = Command::new("containerd");
        command
            .arg("--config")
            .arg(layout.config())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        // containerd must not outlive us if we are killed: the kernel signals it then.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().context("starting containerd (Debian package containerd)")?;
        let mut containerd = Containerd { layout, child };
        let cri = Cri::connect(&containerd.layout.socket().to_string_lossy())?;
        let socket = containerd.layout.socket();
        let ready = cri.wait_ready(&socket, Duration::from_secs(30));
        tokio::select! {
            ready = ready => {
                let version = ready.with_context(|| format!("containerd did not answer; see {}", containerd.layout.log().display()))?;
                tracing::info!(version = version.runtime_version, socket = %containerd.layout.socket().display(), "containerd ready");
            }
            exit = containerd.child.wait() => {
                anyhow::bail!("containerd exited at start ({:?}); see {}", exit.ok(), containerd.layout.log().display());
            }
        }
        containerd.import_sandbox_image().await?;
        Ok((containerd, cri))
    }

    async fn import_sandbox_image(&self) -> anyhow::Result<()> {
        use anyhow::Context;
        let archive = self.layout.dir.join("pause.oci.tar");
        std::fs::write(&archive, sandbox_image()?.oci_archive(SANDBOX_IMAGE)?)?;
        let output = Command::new("ctr")
            .arg("--address")
            .arg(self.layout.socket())
            .args(["--namespace", "k8s.io", "images", "import", "--no-unpack"])
            .arg(&archive)
            .output()
            .await
            .context("running ctr (Debian package containerd)")?;
        anyhow::ensure!(
            output.status.success(),
            "importing the sandbox image: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }

    /// Stops containerd (SIGTERM, then SIGKILL after 10 s). Containers it started keep running
    /// in their shims until someone stops them.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// Stops and removes every pod sandbox of a runtime we own (their containers go with them).
pub async fn remove_all_pods(cri: &Cri) {
    let sandboxes = cri.list_pod_sandboxes(None).await.unwrap_or_default();
    let removals = sandboxes.iter().map(|s| async move {
        let _ = cri.stop_pod_sandbox(&s.id).await;
        if let Err(e) = cri.remove_pod_sandbox(&s.id).await {
            tracing::warn!(sandbox = %s.id, error = %e, "removing a sandbox at shutdown");
        }
    });
    futures::future::join_all(removals).await;
    if !sandboxes.is_empty() {
        tracing::info!(count = sandboxes.len(), "pod sandboxes removed at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keeps_every_path_under_the_directory() {
        let layout = Layout { dir: PathBuf::from("/data/node-1/containerd") };
        let text = config(&layout, "/usr/lib/cni");
        for line in text.lines().filter(|l| l.contains("= \"/")) {
            assert!(line.contains("\"/data/node-1/containerd/") || line.contains("/usr/lib/cni"), "{line}");
        }
        assert!(text.contains("restrict_oom_score_adj = true"));
        assert!(text.contains("SystemdCgroup = false"));
        assert!(text.contains(SANDBOX_IMAGE));
    }
}

//! Helpers for tests and benchmarks: a throw-away etcd server on loopback ports.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::etcd::EtcdStore;
use crate::{Result, StoreError};

/// A local `etcd` process (Debian's `etcd-server` package, or `$ETCD_BIN`) that lives as long as
/// this value. Its ports are picked free at start, so several can run side by side.
pub struct EtcdServer {
    child: Child,
    pub endpoint: String,
    pub data_dir: PathBuf,
}

impl EtcdServer {
    /// Starts etcd with its data under `data_dir` and waits until it serves. A free port can be
    /// taken by another process between picking and binding it (tests start many etcds at
    /// once), so an etcd that exits at start is tried again on other ports.
    pub async fn start(data_dir: &Path) -> Result<Self> {
        let mut attempt = 0;
        let fresh = !data_dir.join("etcd").exists();
        loop {
            match Self::start_once(data_dir).await {
                Err(StoreError::Unavailable(why)) if why.starts_with("etcd exited at start") && attempt < 4 => {
                    attempt += 1;
                    tracing::warn!(attempt, %why, "etcd did not start; trying other ports");
                    // What the failed attempt bootstrapped would pin the old ports.
                    if fresh {
                        let _ = std::fs::remove_dir_all(data_dir.join("etcd"));
                    }
                }
                other => return other,
            }
        }
    }

    async fn start_once(data_dir: &Path) -> Result<Self> {
        let binary = std::env::var("ETCD_BIN").unwrap_or_else(|_| "etcd".into());
        let (client, peer) = (free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut command = Command::new(&binary);
        command
            .arg("--name=rkube-test")
            .arg(format!("--data-dir={}", data_dir.join("etcd").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=rkube-test={peer_url}"))
            .arg("--logger=zap")
            .arg("--log-level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // If this process dies without running Drop (a test killed on timeout), take etcd along.
        // (The signal follows the spawning thread: an async runtime worker, which lives as long
        // as the runtime the server is used from.)
        // SAFETY: prctl is async-signal-safe and the closure touches no other state.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot run {binary:?} ({e}); install Debian's etcd-server or set ETCD_BIN"
            ))
        })?;
        let mut server = Self { child, endpoint, data_dir: data_dir.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(StoreError::Unavailable(format!("etcd exited at start: {status}")));
            }
            match EtcdStore::connect(std::slice::from_ref(&server.endpoint)).await {
                Ok(_) => return Ok(server),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn connect(&self) -> Result<EtcdStore> {
        EtcdStore::connect(std::slice::from_ref(&self.endpoint)).await
    }

    /// The etcd process id, e.g. to read its memory use.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| StoreError::Unavailable(e.to_string()))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| StoreError::Unavailable(e.to_string()))
}

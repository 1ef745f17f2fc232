//! The Python clients users reach for, as installed from PyPI by `scripts/setup.sh --tests`:
//! kr8s's basic operations (`e2e/python/kr8s_basics.py`) and the official client on what its
//! own e2e tests tripped over (`e2e/python/client_basics.py`), against hollow nodes.

use std::process::Command;

use e2e::{Backend, Cluster, python_path, workspace_root};

async fn run_script(script: &str) {
    let c = Cluster::start_up(Backend::Embedded, &["--nodes", "0", "--hollow-nodes", "1", "--healthz-port", "0"])
        .await
        .expect("cluster with a hollow node");
    c.eventually("1.33", &["get", "nodes", "--no-headers"], |t| t.contains(" Ready "));
    let out = Command::new(python_path())
        .arg(workspace_root().join("e2e/python").join(script))
        .env("KUBECONFIG", &c.kubeconfig)
        .env("HOME", c.dir.path())
        .output()
        .expect("running python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("every step passed"), "{script}:\n{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kr8s_basic_operations() {
    run_script("kr8s_basics.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_on_conflicts_deletes_and_create_from_yaml() {
    run_script("client_basics.py").await;
}

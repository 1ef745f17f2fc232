//! The controllers inside `rkube server`, seen through stock kubectl: every namespace gets its
//! `default` ServiceAccount and `kube-root-ca.crt`; deleting a namespace empties it (custom
//! resources too, waiting for their finalizers) and then removes it.

use std::time::{Duration, Instant};

use e2e::{Backend, Cluster, ok};

const V: &str = "1.33";

fn write(c: &Cluster, name: &str, text: &str) -> String {
    let path = c.dir.path().join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_string_lossy().to_string()
}

const DEFINITION: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, kind: Widget}\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_get_their_defaults_and_are_emptied_on_delete() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    ok(c.kubectl(V, &["create", "namespace", "team"]));
    c.eventually(V, &["get", "serviceaccount", "default", "-n", "team", "-o", "name"], |t| t.contains("default"));
    let ca = c.eventually(
        V,
        &["get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "jsonpath={.data.ca\\.crt}"],
        |t| t.contains("BEGIN CERTIFICATE"),
    );
    assert!(ca.trim_end().ends_with("-----END CERTIFICATE-----"), "{ca}");
    // The defaults come back when deleted; an edited CA bundle is put right.
    ok(c.kubectl(V, &["delete", "serviceaccount", "default", "-n", "team"]));
    c.eventually(V, &["get", "serviceaccount", "default", "-n", "team", "-o", "name"], |t| t.contains("default"));
    ok(c.kubectl(V, &["patch", "configmap", "kube-root-ca.crt", "-n", "team", "-p", r#"{"data":{"ca.crt":"x"}}"#]));
    c.eventually(V, &["get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "jsonpath={.data.ca\\.crt}"], |t| {
        t.contains("BEGIN CERTIFICATE")
    });

    // Content of every kind, a custom object held by a finalizer among it.
    ok(c.kubectl(V, &["apply", "-f", &write(c, "crd.yaml", DEFINITION)]));
    ok(c.kubectl(V, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]));
    ok(c.kubectl(V, &["create", "configmap", "settings", "-n", "team", "--from-literal=a=b"]));
    ok(c.kubectl(V, &["create", "deployment", "web", "-n", "team", "--image=nginx"]));
    let held = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: held, namespace: team, finalizers: [example.com/hold]}\n";
    let held = write(c, "held.yaml", held);
    c.eventually(V, &["apply", "-f", &held], |_| true);

    ok(c.kubectl(V, &["delete", "namespace", "team", "--wait=false"]));
    let remaining = c.eventually(
        V,
        &[
            "get",
            "namespace",
            "team",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"NamespaceContentRemaining\")].message}",
        ],
        |t| t.contains("widgets.example.com has 1 resource instances"),
    );
    assert!(!remaining.contains("configmaps"), "the rest is gone: {remaining}");
    let left = ok(c.kubectl(V, &["get", "configmaps,deployments", "-n", "team", "-o", "name"]));
    assert_eq!(left.trim(), "", "only the held widget is left");
    ok(c.kubectl(
        V,
        &["patch", "widget", "held", "-n", "team", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#],
    ));
    ok(c.kubectl(V, &["wait", "--for=delete", "namespace/team", "--timeout=30s"]));
}

/// A `rkube controller-manager` process, killed when dropped.
struct Manager(std::process::Child);

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn holder(c: &Cluster) -> String {
    let out = c.kubectl(
        V,
        &["get", "lease", "kube-controller-manager", "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}"],
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The pid a candidate identity (`host_<pid hex><8 hex digits>`) names.
fn pid_of(identity: &str) -> Option<u32> {
    let tail = identity.rsplit('_').next()?;
    u32::from_str_radix(tail.get(..tail.len().checked_sub(8)?)?, 16).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_controller_manager_leads_and_another_takes_over() {
    let cluster = Cluster::start_apiserver(Backend::Embedded).await.expect("apiserver starts");
    let c = &cluster;
    let start = |name: &str| {
        let log = std::fs::File::create(c.dir.path().join(name)).expect("log file");
        let child = std::process::Command::new(e2e::rkube_bin())
            .args(["controller-manager", "--kubeconfig", &c.kubeconfig.to_string_lossy()])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("controller-manager starts");
        Manager(child)
    };
    let mut managers = vec![start("cm-a.log"), start("cm-b.log")];
    let leader =
        c.eventually(V, &["get", "lease", "kube-controller-manager", "-n", "kube-system", "-o", "name"], |t| {
            !t.is_empty()
        });
    assert!(leader.contains("kube-controller-manager"));
    let first = holder(c);
    let leader_pid = pid_of(&first).expect("identity names a pid");
    let index = managers.iter().position(|m| m.0.id() == leader_pid).expect("the holder is one of ours");
    // The leader works: a new namespace gets its ServiceAccount.
    ok(c.kubectl(V, &["create", "namespace", "first"]));
    c.eventually(V, &["get", "serviceaccount", "default", "-n", "first", "-o", "name"], |t| t.contains("default"));

    // kill -9 the leader: the other takes the Lease once it expires (15 s) and works.
    let killed = Instant::now();
    drop(managers.remove(index));
    let deadline = Instant::now() + Duration::from_secs(25);
    let second = loop {
        let now = holder(c);
        if !now.is_empty() && now != first {
            break now;
        }
        assert!(Instant::now() < deadline, "nobody took over from {first}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let took = killed.elapsed();
    assert_eq!(pid_of(&second), Some(managers[0].0.id()));
    assert!(took <= Duration::from_secs(15 + 2 * 2), "took over after {took:?}");
    ok(c.kubectl(V, &["create", "namespace", "second"]));
    c.eventually(V, &["get", "serviceaccount", "default", "-n", "second", "-o", "name"], |t| t.contains("default"));
}

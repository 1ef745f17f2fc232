//! Pod volumes on a real node, read from inside the containers with `kubectl exec`: configMap,
//! secret, downwardAPI and projected files (and a configMap update reaching a running pod),
//! emptyDir on disk and in memory, hostPath, subPath; a missing ConfigMap holds the pod.

use std::time::{Duration, Instant};

use e2e::{Cluster, ok};

const V: &str = "1.33";

fn exec(c: &Cluster, args: &[&str]) -> String {
    let mut all = vec!["exec", "vols", "--"];
    all.extend(args);
    ok(c.kubectl(V, &all))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_show_api_data_and_follow_updates() {
    let c = Cluster::start_nodes(1, &[]).await.expect("cluster with a real node");
    let host_dir = c.dir.path().join("host-share");
    std::fs::create_dir_all(&host_dir).expect("host dir");
    std::fs::write(host_dir.join("from-host"), "hello from the node").expect("host file");
    ok(c.kubectl(V, &["create", "configmap", "settings", "--from-literal=color=blue", "--from-literal=size=L"]));
    ok(c.kubectl(V, &["create", "secret", "generic", "creds", "--from-literal=password=s3cret"]));
    let manifest = r#"
apiVersion: v1
kind: Pod
metadata:
  name: vols
  labels: {app: web, tier: front}
  annotations: {note: hi}
spec:
  containers:
  - name: main
    image: IMAGE
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: config, mountPath: /etc/color.txt, subPath: color}
    - {name: secret, mountPath: /etc/secret}
    - {name: podinfo, mountPath: /etc/podinfo}
    - {name: proj, mountPath: /etc/proj}
    - {name: cache, mountPath: /cache}
    - {name: mem, mountPath: /mem}
    - {name: host, mountPath: /host}
  volumes:
  - name: config
    configMap: {name: settings}
  - name: secret
    secret: {secretName: creds, defaultMode: 0400}
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
  - name: proj
    projected:
      sources:
      - configMap: {name: settings, items: [{key: size, path: sizes/size}]}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  - name: cache
    emptyDir: {}
  - name: mem
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
  - name: host
    hostPath: {path: HOSTDIR, type: Directory}
---
apiVersion: v1
kind: Pod
metadata:
  name: waits
spec:
  containers:
  - name: main
    image: IMAGE
    volumeMounts: [{name: missing, mountPath: /etc/missing}]
  volumes:
  - name: missing
    configMap: {name: not-there}
"#
    .replace("IMAGE", &c.test_image())
    .replace("HOSTDIR", &host_dir.to_string_lossy());
    let path = c.dir.path().join("vols.yaml");
    std::fs::write(&path, manifest).expect("manifest");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]));
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/vols", "--timeout=60s"]));

    assert_eq!(exec(&c, &["cat", "/etc/config/color", "/etc/config/size"]), "blueL");
    assert_eq!(exec(&c, &["cat", "/etc/color.txt"]), "blue");
    assert_eq!(exec(&c, &["cat", "/etc/secret/password"]), "s3cret");
    let mode = exec(&c, &["ls", "-lL", "/etc/secret/password"]);
    assert!(mode.starts_with("-r--------"), "defaultMode 0400: {mode}");
    assert_eq!(exec(&c, &["cat", "/etc/podinfo/labels"]), "app=\"web\"\ntier=\"front\"");
    assert_eq!(exec(&c, &["cat", "/etc/podinfo/name"]), "vols");
    assert_eq!(exec(&c, &["cat", "/etc/proj/sizes/size", "/etc/proj/ns"]), "Ldefault");
    assert_eq!(exec(&c, &["cat", "/host/from-host"]), "hello from the node");
    exec(&c, &["sh", "-c", "echo kept > /cache/file && echo fast > /mem/file"]);
    assert_eq!(exec(&c, &["cat", "/cache/file", "/mem/file"]), "kept\nfast\n");
    let mounts = exec(&c, &["cat", "/proc/mounts"]);
    assert!(mounts.lines().any(|l| l.contains(" /mem tmpfs ")), "medium Memory is a tmpfs:\n{mounts}");
    // Secrets, downward API and projected files live in memory; configMaps on disk.
    for path in ["/etc/secret", "/etc/podinfo", "/etc/proj"] {
        assert!(mounts.lines().any(|l| l.contains(&format!(" {path} tmpfs "))), "{path} is a tmpfs:\n{mounts}");
    }
    assert!(!mounts.lines().any(|l| l.contains(" /etc/config tmpfs ")), "configMaps stay on disk:\n{mounts}");
    // API data is read-only for containers.
    let write = c.kubectl(V, &["exec", "vols", "--", "sh", "-c", "echo x > /etc/config/new"]);
    assert!(!write.status.success());

    // An update of the ConfigMap reaches the running pod (not its subPath copy).
    ok(c.kubectl(V, &["patch", "configmap", "settings", "-p", r#"{"data":{"color":"red"}}"#]));
    let deadline = Instant::now() + Duration::from_secs(60);
    while exec(&c, &["cat", "/etc/config/color"]) != "red" {
        assert!(Instant::now() < deadline, "the configMap update never reached the volume");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(exec(&c, &["cat", "/etc/color.txt"]), "blue", "a subPath mount keeps its file");

    // A missing ConfigMap: FailedMount, the pod waits in ContainerCreating.
    let events = c.eventually(V, &["get", "events", "--field-selector", "involvedObject.name=waits"], |out| {
        out.contains("FailedMount")
    });
    assert!(events.contains("configmap \"not-there\" not found"), "{events}");
    let waits = ok(c.kubectl(V, &["get", "pod", "waits", "--no-headers"]));
    assert!(waits.contains("ContainerCreating"), "{waits}");
    ok(c.kubectl(V, &["create", "configmap", "not-there", "--from-literal=a=b"]));
    ok(c.kubectl(V, &["wait", "--for=condition=Ready", "pod/waits", "--timeout=60s"]));
}

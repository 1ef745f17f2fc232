//! Protocol details a client relies on, checked over the wire: authentication, watch edge
//! cases, subresources, allocations, limits and errors.

use std::process::Command;
use std::time::Duration;

use e2e::{Backend, Cluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(e2e::Backend::Embedded).await;
            }
        )*}
        mod etcd {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(e2e::Backend::Etcd).await;
            }
        )*}
    };
}

on_both_stores!(
    anonymous_requests_reach_only_health_and_tokens_authenticate,
    bad_requests_get_upstream_errors_and_the_server_keeps_serving,
    watches_resume_expire_and_follow_selectors,
    status_binding_and_generation_follow_the_spec_status_split,
    services_get_distinct_cluster_ips_and_release_them,
);

/// curl, for requests kube-rs would not send (anonymous, oversized, malformed, HTTP/2).
fn curl(cluster: &Cluster, args: &[&str]) -> (u16, String) {
    let out =
        Command::new("curl").args(["-sk", "-o", "-", "-w", "\n%{http_code}"]).args(args).output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let _ = cluster;
    (code.trim().parse().unwrap_or(0), body.to_string())
}

async fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "p"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap()
}

async fn anonymous_requests_reach_only_health_and_tokens_authenticate(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cret,alice,1001,\"devs,ops\"\n").unwrap();
    let cluster = Cluster::start_with(backend, &["--token-auth-file", tokens.to_str().unwrap()]).await.unwrap();
    let url = cluster.server_url();
    for path in ["/healthz", "/livez", "/readyz"] {
        assert_eq!(curl(&cluster, &[&format!("{url}{path}")]), (200, "ok".into()), "{path}");
    }
    let (code, body) = curl(&cluster, &[&format!("{url}/version")]);
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["minor"], "33");
    let (code, body) = curl(&cluster, &[&format!("{url}/api/v1/namespaces")]);
    assert_eq!(code, 401);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["reason"], "Unauthorized");
    let (code, _) = curl(&cluster, &["-H", "Authorization: Bearer wrong", &format!("{url}/api/v1/namespaces")]);
    assert_eq!(code, 401);
    let review = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    let (code, body) = curl(
        &cluster,
        &[
            "-H",
            "Authorization: Bearer s3cret",
            "-H",
            "Content-Type: application/json",
            "-X",
            "POST",
            "-d",
            review,
            &format!("{url}/apis/authentication.k8s.io/v1/selfsubjectreviews"),
        ],
    );
    assert_eq!(code, 201, "{body}");
    let user = &serde_json::from_str::<Value>(&body).unwrap()["status"]["userInfo"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["groups"], json!(["devs", "ops", "system:authenticated"]));
    // HTTP/2 is offered by ALPN.
    let out = Command::new("curl")
        .args(["-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}", &format!("{url}/healthz")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2");
}

async fn bad_requests_get_upstream_errors_and_the_server_keeps_serving(backend: Backend) {
    let cluster = Cluster::start(backend).await.unwrap();
    let client = cluster.client().await.unwrap();
    let url = cluster.server_url();
    let kubeconfig = cluster.dir.path().join("data");
    let cert = kubeconfig.join("pki/admin.crt");
    let key = kubeconfig.join("pki/admin.key");
    let auth = ["--cert", cert.to_str().unwrap(), "--key", key.to_str().unwrap()];
    let post = |body: &str| {
        let mut args: Vec<String> = auth.iter().map(|s| s.to_string()).collect();
        args.extend(["-H", "Content-Type: application/json", "-X", "POST", "--data-binary", body].map(String::from));
        args.push(format!("{url}/api/v1/namespaces/default/configmaps"));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&cluster, &refs)
    };
    let (code, body) = post("{not json");
    assert_eq!(code, 400, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["reason"], "BadRequest");
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#,
        "a".repeat(4 << 20)
    );
    let file = cluster.dir.path().join("big.json");
    std::fs::write(&file, big).unwrap();
    let (code, body) = post(&format!("@{}", file.display()));
    assert_eq!(code, 413, "{body}");
    let (code, body) = post(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#);
    assert_eq!(code, 422, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");
    // Still serving.
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    assert!(cms.list(&ListParams::default()).await.is_ok());
    let (code, metrics) = curl(&cluster, &[auth[0], auth[1], auth[2], auth[3], &format!("{url}/metrics")]);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("apiserver_request_total{verb=\"POST\",resource=\"configmaps\",code=\"422\"} 1"),
        "{metrics}"
    );
}

async fn watches_resume_expire_and_follow_selectors(backend: Backend) {
    let mut cluster = Cluster::start(backend).await.unwrap();
    let make = |name: &str, tier: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tier": tier}}})).unwrap()
    };
    let before: Api<ConfigMap> = Api::namespaced(cluster.client().await.unwrap(), "default");
    let written = before.create(&PostParams::default(), &make("survivor", "back")).await.unwrap();
    let old_rv = written.metadata.resource_version.unwrap();

    // The acknowledged write survives a kill -9 of the server.
    cluster.crash_and_restart().await.unwrap();
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    assert_eq!(cms.get("survivor").await.unwrap().metadata.resource_version.unwrap(), old_rv);
    cms.create(&PostParams::default(), &make("after", "back")).await.unwrap();

    // A revision older than what the restarted server's cache holds: HTTP 200, then an ERROR
    // event with 410 Expired, on which clients re-list.
    let mut old =
        cms.watch(&WatchParams::default(), &(old_rv.parse::<i64>().unwrap() - 1).to_string()).await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(5), old.try_next()).await.unwrap().unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }

    // A selector watch: objects entering the selector are ADDED, leaving it DELETED.
    cms.create(&PostParams::default(), &make("moves", "back")).await.unwrap();
    let rv = cms.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut front = cms.watch(&WatchParams::default().labels("tier=front"), &rv).await.unwrap().boxed();
    let relabel = |tier: &str| Patch::Merge(json!({"metadata": {"labels": {"tier": tier}}}));
    cms.patch("moves", &PatchParams::default(), &relabel("front")).await.unwrap();
    cms.patch("moves", &PatchParams::default(), &relabel("back")).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), front.try_next()).await.unwrap().unwrap() {
            Some(WatchEvent::Added(_)) => kinds.push("ADDED"),
            Some(WatchEvent::Modified(_)) => kinds.push("MODIFIED"),
            Some(WatchEvent::Deleted(cm)) => {
                assert_eq!(cm.metadata.labels.unwrap()["tier"], "back", "the object in its new state");
                kinds.push("DELETED")
            }
            Some(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED", "DELETED"]);

    // rv=0: synthetic ADDED for what exists, then changes; timeoutSeconds ends the stream.
    // (The root CA publisher's kube-root-ca.crt lives in every namespace, as upstream.)
    let mut all = cms.watch(&WatchParams::default().timeout(2), "0").await.unwrap().boxed();
    let mut synthetic = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(6), async {
        while let Some(event) = all.try_next().await.unwrap() {
            match event {
                WatchEvent::Added(cm) => synthetic.push(cm.metadata.name.unwrap()),
                WatchEvent::Bookmark(_) => {}
                other => panic!("expected synthetic ADDED events, got {other:?}"),
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch ends after timeoutSeconds");
    synthetic.retain(|n| n != "kube-root-ca.crt");
    synthetic.sort();
    assert_eq!(synthetic, ["after", "moves", "survivor"]);
}

async fn status_binding_and_generation_follow_the_spec_status_split(backend: Backend) {
    let cluster = Cluster::start(backend).await.unwrap();
    let client = cluster.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let created = pods.create(&PostParams::default(), &pod("bound").await).await.unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));
    let spec = created.spec.unwrap();
    assert_eq!((spec.restart_policy.as_deref(), spec.termination_grace_period_seconds), (Some("Always"), Some(30)));

    // A status write through the main resource is ignored; through /status it lands.
    pods.patch("bound", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Running"}}))).await.unwrap();
    assert_eq!(pods.get("bound").await.unwrap().status.unwrap().phase.as_deref(), Some("Pending"));
    pods.patch_status(
        "bound",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}, "spec": {"nodeName": "sneaky"}})),
    )
    .await
    .unwrap();
    let now = pods.get("bound").await.unwrap();
    assert_eq!(now.status.unwrap().phase.as_deref(), Some("Running"));
    assert_eq!(now.spec.unwrap().node_name, None, "a status write changes nothing else");

    // Binding: once.
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"}, "target": {"kind": "Node", "name": "node-1"}});
    let req = http::Request::post("/api/v1/namespaces/default/pods/bound/binding")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&binding).unwrap())
        .unwrap();
    let status: Value = client.request(req).await.unwrap();
    assert_eq!((status["status"].clone(), status["code"].clone()), (json!("Success"), json!(201)));
    let bound = pods.get("bound").await.unwrap();
    assert_eq!(bound.spec.unwrap().node_name.as_deref(), Some("node-1"));
    assert!(bound.status.unwrap().conditions.unwrap().iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"));
    let again = http::Request::post("/api/v1/namespaces/default/pods/bound/binding")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&binding).unwrap())
        .unwrap();
    match client.request::<Value>(again).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409),
        other => panic!("a second binding must conflict, got {other:?}"),
    }
    // A scheduled pod is deleted gracefully: it stays, marked, for the kubelet to finish.
    pods.delete("bound", &DeleteParams::default()).await.unwrap();
    let deleting = pods.get("bound").await.unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.deletion_grace_period_seconds, Some(30));
    pods.delete("bound", &DeleteParams::default().grace_period(0)).await.ok();
}

async fn services_get_distinct_cluster_ips_and_release_them(backend: Backend) {
    let cluster = Cluster::start(backend).await.unwrap();
    let client = cluster.client().await.unwrap();
    let svcs: Api<Service> = Api::namespaced(client, "default");
    let svc = |name: &str, ip: Option<&str>, node_port: bool| -> Service {
        let mut spec = json!({"ports": [{"port": 80}], "selector": {"app": name}});
        if let Some(ip) = ip {
            spec["clusterIP"] = json!(ip);
        }
        if node_port {
            spec["type"] = json!("NodePort");
        }
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
    };
    let mut ips = std::collections::HashSet::new();
    for i in 0..20 {
        let created = svcs.create(&PostParams::default(), &svc(&format!("s{i}"), None, i % 4 == 0)).await.unwrap();
        let spec = created.spec.unwrap();
        assert!(ips.insert(spec.cluster_ip.clone().unwrap()), "duplicate ClusterIP");
        if i % 4 == 0 {
            let port = spec.ports.unwrap()[0].node_port.unwrap();
            assert!((30000..=32767).contains(&port));
        }
    }
    assert!(!ips.contains("10.96.0.1"), "the kubernetes Service's address is never handed out");
    let taken = svcs.create(&PostParams::default(), &svc("fixed", Some("10.96.100.100"), false)).await.unwrap();
    assert_eq!(taken.spec.unwrap().cluster_ip.as_deref(), Some("10.96.100.100"));
    match svcs.create(&PostParams::default(), &svc("clash", Some("10.96.100.100"), false)).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (422, "Invalid")),
        other => panic!("an allocated IP must be refused, got {other:?}"),
    }
    svcs.delete("fixed", &DeleteParams::default()).await.unwrap();
    // Released on delete: the address can be taken again.
    svcs.create(&PostParams::default(), &svc("clash", Some("10.96.100.100"), false)).await.unwrap();
    let all = svcs.list(&ListParams::default()).await.unwrap();
    assert!(all.items.iter().any(|s| s.metadata.name.as_deref() == Some("kubernetes")));
    let _ = svcs.watch(&WatchParams::default(), "0").await.unwrap().take(1).collect::<Vec<_>>().await;
}

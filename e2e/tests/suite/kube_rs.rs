//! kube-rs 5 against `rkube server`, as an operator uses it: typed CRUD, conflicts, pagination,
//! discovery both ways, watchers (with and without streaming lists), metadata-only access and
//! the events recorder.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{Backend, Cluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()),
        ..Default::default()
    }
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let cluster = e2e::Cluster::start(e2e::Backend::Embedded).await.expect("cluster starts");
                super::$name(&cluster).await;
            }
        )*}
        mod etcd {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let cluster = e2e::Cluster::start(e2e::Backend::Etcd).await.expect("cluster starts");
                super::$name(&cluster).await;
            }
        )*}
    };
}

on_both_stores!(
    typed_crud_and_optimistic_concurrency,
    pagination_walks_1200_objects_at_one_revision,
    watchers_see_every_change_with_and_without_streaming_lists,
    metadata_only_lists_and_watches,
    discovery_finds_groups_both_ways,
);

async fn typed_crud_and_optimistic_concurrency(cluster: &Cluster) {
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms.create(&PostParams::default(), &config_map("crud", &[("a", "1")])).await.unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());

    let mut fetched = cms.get("crud").await.unwrap();
    assert_eq!(fetched.data.as_ref().unwrap()["a"], "1");
    fetched.data = Some([("a".to_string(), "2".to_string())].into());
    let replaced = cms.replace("crud", &PostParams::default(), &fetched).await.unwrap();
    assert_ne!(replaced.metadata.resource_version.as_deref(), Some(rv.as_str()));

    // A replace carrying the first resourceVersion is stale now: 409 Conflict.
    let mut stale = created.clone();
    stale.data = Some([("a".to_string(), "3".to_string())].into());
    match cms.replace("crud", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Creating it again: AlreadyExists, which kube-rs decides by reason.
    match cms.create(&PostParams::default(), &config_map("crud", &[])).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let patched = cms
        .patch("crud", &PatchParams::default(), &Patch::Merge(serde_json::json!({"data": {"b": "x"}})))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["b"], "x");
    // kube-rs' finalizer helper: a JSON patch testing that finalizers are null, on an object
    // without any.
    let json_patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]}
    ]))
    .unwrap();
    let finalized = cms.patch("crud", &PatchParams::default(), &Patch::<()>::Json(json_patch)).await.unwrap();
    assert_eq!(finalized.metadata.finalizers.unwrap(), ["example.com/cleanup"]);

    // With a finalizer, delete only marks the object; removing the finalizer lets it go.
    cms.delete("crud", &DeleteParams::default()).await.unwrap();
    let deleting = cms.get("crud").await.unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    cms.patch("crud", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert!(cms.get_opt("crud").await.unwrap().is_none());
}

async fn pagination_walks_1200_objects_at_one_revision(cluster: &Cluster) {
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    // The root CA publisher's ConfigMap is in every namespace (as upstream): counted once there.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cms.get_opt("kube-root-ca.crt").await.unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "kube-root-ca.crt never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    futures::stream::iter(0..1200)
        .map(|i| {
            let cms = cms.clone();
            async move { cms.create(&PostParams::default(), &config_map(&format!("page-{i:04}"), &[("i", "x")])).await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let first = cms.list(&ListParams::default().limit(500)).await.unwrap();
    assert_eq!(first.items.len(), 500);
    assert_eq!(first.metadata.remaining_item_count, Some(701));
    let mut names: Vec<String> = first.items.iter().filter_map(|c| c.metadata.name.clone()).collect();
    let mut token = first.metadata.continue_.clone();
    // A write between pages does not show up in the paginated list.
    cms.create(&PostParams::default(), &config_map("page-late", &[])).await.unwrap();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = cms.list(&ListParams::default().limit(500).continue_token(&t)).await.unwrap();
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.clone();
    }
    let pages: Vec<&String> = names.iter().filter(|n| n.starts_with("page-")).collect();
    assert_eq!(pages.len(), 1200);
    assert!(!names.contains(&"page-late".to_string()));
}

async fn watchers_see_every_change_with_and_without_streaming_lists(cluster: &Cluster) {
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &config_map("before", &[])).await.unwrap();
    for streaming in [false, true] {
        let config = if streaming { watcher::Config::default().streaming_lists() } else { watcher::Config::default() };
        let mut stream = watcher(cms.clone(), config.labels("e2e=watch")).boxed();
        // The initial state arrives first (empty: nothing matches the label yet).
        let mut initialized = false;
        while !initialized {
            match tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await.unwrap().unwrap() {
                Some(Event::InitDone) => initialized = true,
                Some(_) => {}
                None => panic!("watch ended"),
            }
        }
        let name = format!("watched-{streaming}");
        let mut cm = config_map(&name, &[("v", "1")]);
        cm.metadata.labels = Some([("e2e".to_string(), "watch".to_string())].into());
        cms.create(&PostParams::default(), &cm).await.unwrap();
        cms.patch(&name, &PatchParams::default(), &Patch::Merge(serde_json::json!({"data": {"v": "2"}})))
            .await
            .unwrap();
        cms.delete(&name, &DeleteParams::default()).await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let event =
                tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await.expect("event within 10s");
            match event.unwrap().unwrap() {
                Event::Apply(cm) => seen.push(format!("apply {}", cm.data.unwrap()["v"])),
                Event::Delete(_) => seen.push("delete".into()),
                _ => {}
            }
        }
        assert_eq!(seen, ["apply 1", "apply 2", "delete"], "streaming lists: {streaming}");
    }
}

async fn metadata_only_lists_and_watches(cluster: &Cluster) {
    let client = cluster.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "meta", "labels": {"app": "m"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let listed = pods.list_metadata(&ListParams::default()).await.unwrap();
    let meta = listed.items.iter().find(|m| m.metadata.name.as_deref() == Some("meta")).expect("listed");
    assert_eq!(meta.metadata.labels.as_ref().unwrap()["app"], "m");
    let metas: Api<PartialObjectMeta<Pod>> = Api::namespaced(client.clone(), "default");
    let mut stream = watcher(metas, watcher::Config::default()).applied_objects().boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("meta"));
}

async fn discovery_finds_groups_both_ways(cluster: &Cluster) {
    let client = cluster.client().await.unwrap();
    let aggregated = kube::discovery::Discovery::new(client.clone()).run_aggregated().await.unwrap();
    let legacy = kube::discovery::Discovery::new(client.clone()).run().await.unwrap();
    for discovery in [aggregated, legacy] {
        assert!(discovery.has_group("apps") && discovery.has_group("batch"));
        let (deployments, caps) = discovery
            .groups()
            .flat_map(|g| g.recommended_resources())
            .find(|(r, _)| r.plural == "deployments")
            .expect("deployments are discovered");
        assert_eq!((deployments.group.as_str(), deployments.version.as_str()), ("apps", "v1"));
        assert!(caps.supports_operation(kube::discovery::verbs::WATCH));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_recorder_publishes_and_aggregates() {
    use kube::runtime::events::{Event as KEvent, EventType, Recorder, Reporter};
    let cluster = Cluster::start(Backend::Embedded).await.unwrap();
    let client = cluster.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = cms.create(&PostParams::default(), &config_map("evented", &[])).await.unwrap();
    let recorder = Recorder::new(client.clone(), Reporter { controller: "e2e".into(), instance: None });
    let event = KEvent {
        type_: EventType::Normal,
        reason: "Tested".into(),
        note: Some("hello".into()),
        action: "Testing".into(),
        secondary: None,
    };
    let reference = kube::Resource::object_ref(&cm, &());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    let list = events.list(&ListParams::default()).await.unwrap();
    let ours: Vec<_> = list.items.iter().filter(|e| e.reason.as_deref() == Some("Tested")).collect();
    assert_eq!(ours.len(), 1, "the second publish updates the first event");
    assert_eq!(ours[0].series.as_ref().map(|s| s.count), Some(2));
}

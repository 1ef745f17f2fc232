//! The registry: every served resource with its storage location, strategy and watch cache,
//! and the generic operations (create, get, list, update, patch, delete, watch) written once
//! for all of them. Resource-specific behaviour lives in one file per resource
//! (`namespaces.rs`, `pods.rs`, `services.rs`, ...), as upstream's `pkg/registry/<group>/<kind>`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use store::Store;
use tokio::sync::OnceCell;

use crate::resources::{self, ResourceInfo};
use crate::status::ApiError;
use crate::storage::Keys;
use crate::validation::NameRule;
use crate::watchcache::WatchCache;

mod config;
mod conversion;
pub(crate) mod encoding;
pub mod list;
mod namespaces;
pub mod ops;
pub(crate) mod pods;
mod services;
pub mod strategy;
mod workloads;

pub use services::Allocators;
pub use strategy::Strategy;

/// A request's context for the generic operations and strategies.
#[derive(Clone)]
pub struct Ctx<'a> {
    pub registry: &'a Registry,
    pub dry_run: bool,
    /// Who writes, for `managedFields` (the request's fieldManager, or its user agent);
    /// `None` for the server's own bookkeeping writes, which are not tracked.
    pub manager: Option<String>,
    /// The write is a server-side apply, whose result already carries its managedFields.
    pub applying: bool,
    /// Who asks (`None`: the server itself, whose writes skip admission).
    pub user: Option<Arc<crate::authn::UserInfo>>,
    /// Where admission webhooks' warnings go, for the response.
    pub warnings: Option<crate::admission::Warnings>,
}

impl<'a> Ctx<'a> {
    /// A write by the server itself (bootstrap, controllers inside the apiserver).
    pub fn internal(registry: &'a Registry) -> Self {
        Self { registry, dry_run: false, manager: None, applying: false, user: None, warnings: None }
    }
}

/// One served resource (one group-version of it).
pub struct Resource {
    pub info: &'static ResourceInfo,
    pub keys: Keys,
    pub strategy: Arc<dyn Strategy>,
    /// Shared by every version served from the same storage.
    cache: Arc<OnceCell<Arc<WatchCache>>>,
}

impl Resource {
    /// `pods` or `deployments.apps`, as messages name the resource.
    pub fn group(&self) -> &'static str {
        self.info.group
    }

    pub fn api_version(&self) -> String {
        self.info.api_version()
    }

    /// The object as stored, from the version this resource serves.
    pub fn to_storage(&self, obj: serde_json::Value) -> serde_json::Value {
        conversion::to_storage(self.info.group, self.info.version, self.info.plural, self.info.storage, obj)
    }

    /// The object as this resource serves it, from the stored version.
    pub fn from_storage(&self, obj: serde_json::Value) -> serde_json::Value {
        conversion::from_storage(self.info.group, self.info.version, self.info.plural, obj)
    }

    /// `to_storage`, through the conversion webhook when the kind has one.
    pub async fn to_storage_converted(
        &self,
        registry: &Registry,
        obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        match (self.strategy.conversion(), self.info.storage) {
            (Some(hook), Some((group, version))) => {
                let desired = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
                let converted = hook.convert(registry, self, vec![obj], &desired).await?;
                converted.into_iter().next().ok_or_else(|| ApiError::internal("conversion returned no object"))
            }
            _ => Ok(self.to_storage(obj)),
        }
    }

    /// `from_storage` of many objects, through the conversion webhook (one review) when the kind
    /// has one.
    pub async fn from_storage_converted(
        &self,
        registry: &Registry,
        objs: Vec<serde_json::Value>,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        match self.strategy.conversion() {
            Some(hook) => hook.convert(registry, self, objs, &self.api_version()).await,
            None => Ok(objs.into_iter().map(|o| self.from_storage(o)).collect()),
        }
    }

    /// One object through `from_storage_converted`.
    pub async fn from_storage_one(
        &self,
        registry: &Registry,
        obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let converted = self.from_storage_converted(registry, vec![obj]).await?;
        converted.into_iter().next().ok_or_else(|| ApiError::internal("conversion returned no object"))
    }

    /// Objects are stored in the version this resource serves (no conversion on the way out).
    pub fn stored_as_served(&self) -> bool {
        self.info.storage.is_none_or(|(g, v)| g == self.info.group && v == self.info.version)
    }

    /// The cached form of a stored object of this resource (for lists and filters).
    pub fn cached(&self, obj: &serde_json::Value) -> Result<crate::cached::CachedObject, ApiError> {
        let (group, _) = self.info.storage.unwrap_or((self.info.group, self.info.version));
        crate::cached::CachedObject::new(obj, group, self.info.plural)
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.info.subresources.iter().any(|s| s.name == name)
    }
}

/// A stored resource's watch cache, started by whichever request needs it first.
type CacheCell = Arc<OnceCell<Arc<WatchCache>>>;

pub struct Registry {
    pub store: Arc<dyn Store>,
    pub allocators: Allocators,
    /// Served resources by (group, version, plural): the built-ins, then custom resources as
    /// their definitions come and go.
    by_gvr: RwLock<HashMap<(String, String, String), Arc<Resource>>>,
    /// One cache cell per stored resource, shared by every version served from it.
    caches: Mutex<HashMap<(String, String), CacheCell>>,
    /// Grows whenever the set of served resources changes (discovery and OpenAPI follow it).
    generation: AtomicU64,
    /// The webhook configurations admission runs.
    pub admission: crate::admission::Admission,
    /// The admission plugins every write runs, in upstream's order.
    pub chain: crate::admission::Chain,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, allocators: Allocators, chain: crate::admission::Chain) -> Self {
        let registry = Self {
            store,
            allocators,
            chain,
            by_gvr: RwLock::new(HashMap::new()),
            caches: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            admission: crate::admission::Admission::default(),
        };
        for info in resources::BUILTIN.iter().filter(|i| !i.verbs.is_empty()) {
            registry.register(info, strategy_for(info));
        }
        registry
    }

    /// Serves `info` with `strategy` (replacing what served the same group/version/plural).
    pub fn register(&self, info: &'static ResourceInfo, strategy: Arc<dyn Strategy>) {
        let (group, _) = info.storage.unwrap_or((info.group, info.version));
        let cache = {
            let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
            caches.entry((group.to_string(), info.plural.to_string())).or_default().clone()
        };
        let resource =
            Arc::new(Resource { info, keys: Keys::new(group, info.plural, info.namespaced), strategy, cache });
        let key = (info.group.to_string(), info.version.to_string(), info.plural.to_string());
        self.by_gvr.write().unwrap_or_else(|e| e.into_inner()).insert(key, resource);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Serves exactly `versions` of `group`/`plural` (a custom resource definition's served
    /// versions), replacing what served it before; objects and watch cache stay.
    pub fn replace_versions(
        &self,
        group: &str,
        plural: &str,
        versions: Vec<(&'static ResourceInfo, Arc<dyn Strategy>)>,
    ) {
        let mut resources = Vec::new();
        for (info, strategy) in versions {
            let (storage_group, _) = info.storage.unwrap_or((info.group, info.version));
            let cache = {
                let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
                caches.entry((storage_group.to_string(), info.plural.to_string())).or_default().clone()
            };
            let keys = Keys::new(storage_group, info.plural, info.namespaced);
            resources.push(Arc::new(Resource { info, keys, strategy, cache }));
        }
        let mut by_gvr = self.by_gvr.write().unwrap_or_else(|e| e.into_inner());
        by_gvr.retain(|(g, _, p), _| !(g == group && p == plural));
        for r in resources {
            by_gvr.insert((r.info.group.to_string(), r.info.version.to_string(), r.info.plural.to_string()), r);
        }
        drop(by_gvr);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Stops serving every version of `group`/`plural` (a deleted custom resource definition);
    /// its cache goes too, so a later definition of the same name starts afresh.
    pub fn unregister(&self, group: &str, plural: &str) {
        self.by_gvr.write().unwrap_or_else(|e| e.into_inner()).retain(|(g, _, p), _| !(g == group && p == plural));
        self.caches.lock().unwrap_or_else(|e| e.into_inner()).remove(&(group.to_string(), plural.to_string()));
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        let key = (group.to_string(), version.to_string(), plural.to_string());
        self.by_gvr.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned()
    }

    /// The other served group-versions of the same stored objects (admission's `matchPolicy:
    /// Equivalent`: apps/v1 and a CRD's other versions, events.k8s.io and core events, ...).
    pub fn equivalents(&self, res: &Resource) -> Vec<Arc<Resource>> {
        let location = res.keys.prefix(None);
        let mut found: Vec<Arc<Resource>> = self
            .by_gvr
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|r| !std::ptr::eq(r.info, res.info) && r.keys.prefix(None) == location)
            .cloned()
            .collect();
        found.sort_by_key(|r| (r.info.group, r.info.version));
        found
    }

    /// Every served resource's facts (discovery, OpenAPI).
    pub fn served(&self) -> Vec<&'static ResourceInfo> {
        let mut infos: Vec<_> =
            self.by_gvr.read().unwrap_or_else(|e| e.into_inner()).values().map(|r| r.info).collect();
        infos.sort_by_key(|i| (i.group, i.version, i.plural));
        infos
    }

    /// Changes whenever `served()` does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether `plural` is a namespaced resource of `group/version` (`None`: not served).
    pub fn namespaced(&self, group: &str, version: &str, plural: &str) -> Option<bool> {
        self.get(group, version, plural).map(|r| r.info.namespaced)
    }

    /// Starts every resource's watch cache (once per stored resource), so watches can resume
    /// from any revision since the server started.
    pub async fn start_caches(&self) -> Result<(), ApiError> {
        let resources: Vec<Arc<Resource>> =
            self.by_gvr.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        for resource in resources {
            self.cache(&resource).await?;
        }
        Ok(())
    }

    /// The object under `key` from the watch cache, when the cache provably holds every write
    /// the store has acknowledged (so the read is as consistent as one from the store); `None`
    /// when that cannot be shown cheaply and the store must answer. `Some(None)`: not found.
    pub async fn consistent_cached(
        &self,
        resource: &Resource,
        key: &str,
    ) -> Option<Option<Arc<crate::cached::CachedObject>>> {
        let current = self.store.local_revision()?;
        let cache = self.cache(resource).await.ok()?;
        (cache.revision() >= current).then(|| cache.get(key))
    }

    /// The resource's watch cache (started by `start_caches`, or on first use).
    pub async fn cache(&self, resource: &Resource) -> Result<Arc<WatchCache>, ApiError> {
        resource
            .cache
            .get_or_try_init(|| {
                let (group, _) = resource.info.storage.unwrap_or((resource.info.group, resource.info.version));
                WatchCache::start(self.store.clone(), resource.keys.root().to_string(), group, resource.info.plural)
            })
            .await
            .cloned()
    }
}

/// Fields upstream refuses to change after creation, for resources without their own strategy.
fn immutable_fields(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => &["/roleRef"],
        ("", "persistentvolumeclaims") => &[
            "/spec/accessModes",
            "/spec/selector",
            "/spec/storageClassName",
            "/spec/volumeMode",
            "/spec/volumeName",
            "/spec/dataSource",
        ],
        ("storage.k8s.io", "storageclasses") => {
            &["/parameters", "/provisioner", "/reclaimPolicy", "/volumeBindingMode"]
        }
        ("storage.k8s.io", "csidrivers") => {
            &["/spec/attachRequired", "/spec/podInfoOnMount", "/spec/volumeLifecycleModes"]
        }
        ("scheduling.k8s.io", "priorityclasses") => &["/value", "/preemptionPolicy"],
        ("networking.k8s.io", "ingressclasses") => &["/spec/controller"],
        ("discovery.k8s.io", "endpointslices") => &["/addressType"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["/spec"],
        ("", "nodes") => &["/spec/podCIDR", "/spec/podCIDRs", "/spec/providerID"],
        _ => &[],
    }
}

/// Resources whose `metadata.generation` follows their spec, as upstream's strategies set it.
const GENERATION: &[&str] = &[
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "customresourcedefinitions",
    "networkpolicies",
    "ingresses",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "flowschemas",
    "prioritylevelconfigurations",
];

fn strategy_for(info: &'static ResourceInfo) -> Arc<dyn Strategy> {
    match (info.group, info.plural) {
        ("", "namespaces") => Arc::new(namespaces::Namespaces),
        ("", "pods") => Arc::new(pods::Pods),
        ("", "services") => Arc::new(services::Services),
        ("", "configmaps") => Arc::new(config::ConfigMaps),
        ("", "secrets") => Arc::new(config::Secrets),
        ("apiextensions.k8s.io", "customresourcedefinitions") => Arc::new(crate::crd::definitions::Definitions),
        ("apps", "deployments") => Arc::new(workloads::Workloads(workloads::Kind::Deployment)),
        ("apps", "replicasets") => Arc::new(workloads::Workloads(workloads::Kind::ReplicaSet)),
        ("apps", "statefulsets") => Arc::new(workloads::Workloads(workloads::Kind::StatefulSet)),
        ("apps", "daemonsets") => Arc::new(workloads::Workloads(workloads::Kind::DaemonSet)),
        ("", "replicationcontrollers") => Arc::new(workloads::Workloads(workloads::Kind::ReplicationController)),
        ("", "podtemplates") => Arc::new(workloads::Workloads(workloads::Kind::PodTemplate)),
        ("batch", "jobs") => Arc::new(workloads::Workloads(workloads::Kind::Job)),
        ("batch", "cronjobs") => Arc::new(workloads::Workloads(workloads::Kind::CronJob)),
        (group, plural) => Arc::new(strategy::Generic {
            immutable: immutable_fields(group, plural),
            name_rule: match info.group {
                "rbac.authorization.k8s.io" => NameRule::PathSegment,
                _ => NameRule::Subdomain,
            },
            status_split: info.subresources.iter().any(|s| s.name == "status"),
            status_on_create: (group, plural) == ("", "nodes"),
            bumps_generation: GENERATION.contains(&info.plural),
        }),
    }
}

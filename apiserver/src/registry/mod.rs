//! The registry: every served resource with its storage location, strategy and watch cache,
//! and the generic operations (create, get, list, update, patch, delete, watch) written once
//! for all of them. Resource-specific behaviour lives in one file per resource
//! (`namespaces.rs`, `pods.rs`, `services.rs`, ...), as upstream's `pkg/registry/<group>/<kind>`.

use std::collections::HashMap;
use std::sync::Arc;

use store::Store;
use tokio::sync::OnceCell;

use crate::resources::{self, ResourceInfo};
use crate::status::ApiError;
use crate::storage::Keys;
use crate::validation::NameRule;
use crate::watchcache::WatchCache;

mod config;
mod conversion;
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
pub struct Ctx<'a> {
    pub registry: &'a Registry,
    pub dry_run: bool,
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
        conversion::to_storage(self.info.group, self.info.version, self.info.plural, obj)
    }

    /// The object as this resource serves it, from the stored version.
    pub fn from_storage(&self, obj: serde_json::Value) -> serde_json::Value {
        conversion::from_storage(self.info.group, self.info.version, self.info.plural, obj)
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

pub struct Registry {
    pub store: Arc<dyn Store>,
    pub allocators: Allocators,
    by_gvr: HashMap<(String, String, String), Arc<Resource>>,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, allocators: Allocators) -> Self {
        let mut caches: HashMap<(String, String), Arc<OnceCell<Arc<WatchCache>>>> = HashMap::new();
        let mut by_gvr = HashMap::new();
        for info in resources::BUILTIN {
            if info.verbs.is_empty() {
                continue;
            }
            let (group, _) = info.storage.unwrap_or((info.group, info.version));
            let resource = Arc::new(Resource {
                info,
                keys: Keys::new(group, info.plural, info.namespaced),
                strategy: strategy_for(info),
                cache: caches.entry((group.to_string(), info.plural.to_string())).or_default().clone(),
            });
            by_gvr.insert((info.group.to_string(), info.version.to_string(), info.plural.to_string()), resource);
        }
        Self { store, allocators, by_gvr }
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<Resource>> {
        self.by_gvr.get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// Whether `plural` is a namespaced resource of `group/version` (`None`: not served).
    pub fn namespaced(&self, group: &str, version: &str, plural: &str) -> Option<bool> {
        self.get(group, version, plural).map(|r| r.info.namespaced)
    }

    /// Starts every resource's watch cache (once per stored resource), so watches can resume
    /// from any revision since the server started.
    pub async fn start_caches(&self) -> Result<(), ApiError> {
        for resource in self.by_gvr.values() {
            self.cache(resource).await?;
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
            bumps_generation: GENERATION.contains(&info.plural),
        }),
    }
}

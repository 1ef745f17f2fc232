//! The endpoints controller (upstream's pkg/controller/endpoint): a Service with a selector gets
//! an Endpoints object of the same name listing its pods' addresses — ready ones in `addresses`,
//! others in `notReadyAddresses` (all ready with `publishNotReadyAddresses`) — grouped into
//! subsets by the ports they resolve to (a named `targetPort` is looked up in each pod).
//! Services without a selector are left to whoever writes their Endpoints.
//!
//! `backends` is also what the EndpointSlice controller works from.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::framework::{Change, Informer, Reconciler};
use crate::{Context, Error, podutil};

/// A service port as resolved for one pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResolvedPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

/// One pod behind a service.
pub struct Backend {
    pub pod: Arc<Pod>,
    pub ip: String,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub ports: Vec<ResolvedPort>,
}

/// The service's selector (`None`: it has none, its endpoints are someone else's).
pub fn selector_of(svc: &Service) -> Option<Selector> {
    let labels = svc.spec.as_ref()?.selector.clone().filter(|s| !s.is_empty())?;
    Some(labels.into_iter().collect())
}

/// The services of `namespace` selecting a pod with these labels.
pub fn services_selecting(services: &Informer<Service>, change: &Change<Pod>) -> Vec<ObjectRef<Service>> {
    let Some(pod) = change.latest() else { return Vec::new() };
    let ns = pod.namespace();
    let label_sets: Vec<&BTreeMap<String, String>> =
        [&change.old, &change.new].into_iter().flatten().map(|p| p.labels()).collect();
    services
        .store()
        .state()
        .into_iter()
        .filter(|s| s.namespace() == ns)
        .filter(|s| selector_of(s).is_some_and(|sel| label_sets.iter().any(|l| sel.matches(l))))
        .map(|s| ObjectRef::from_obj(&*s))
        .collect()
}

/// The pods behind `svc` with their addresses, conditions and resolved ports.
pub fn backends(svc: &Service, pods: &[Arc<Pod>]) -> Vec<Backend> {
    let Some(selector) = selector_of(svc) else { return Vec::new() };
    let spec = svc.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
    let mut out = Vec::new();
    for pod in pods {
        if pod.namespace() != svc.namespace() || !selector.matches(pod.labels()) {
            continue;
        }
        let status = pod.status.as_ref();
        let Some(ip) = status.and_then(|s| s.pod_ip.clone()).filter(|ip| !ip.is_empty()) else { continue };
        if matches!(status.and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")) {
            continue;
        }
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let serving = podutil::is_ready(pod) || publish_not_ready;
        let ports = spec.ports.iter().flatten().filter_map(|p| {
            let port = match p.target_port.as_ref() {
                None => p.port,
                Some(IntOrString::Int(n)) => *n,
                Some(IntOrString::String(name)) => find_port(pod, name)?,
            };
            Some(ResolvedPort {
                name: p.name.clone(),
                port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                app_protocol: p.app_protocol.clone(),
            })
        });
        let mut ports: Vec<ResolvedPort> = ports.collect();
        ports.sort();
        out.push(Backend {
            pod: pod.clone(),
            ip,
            ready: serving && (!terminating || publish_not_ready),
            serving,
            terminating,
            ports,
        });
    }
    out.sort_by(|a, b| a.ip.cmp(&b.ip).then_with(|| a.pod.name_any().cmp(&b.pod.name_any())));
    out
}

/// The Service named like a changed object of its namespace (its Endpoints).
pub fn same_name<K: crate::framework::Cached>(change: &Change<K>) -> Option<ObjectRef<Service>> {
    let obj = change.latest()?;
    Some(ObjectRef::new(&obj.name_any()).within(&obj.namespace()?))
}

fn find_port(pod: &Pod, name: &str) -> Option<i32> {
    let containers = pod.spec.as_ref()?.containers.iter();
    containers
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name))
        .map(|p| p.container_port)
}

pub fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.namespace(),
        name: Some(pod.name_any()),
        uid: pod.uid(),
        ..Default::default()
    }
}

/// The pod's DNS hostname under this service (`spec.hostname` when its subdomain is the service).
pub fn hostname(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    (spec.subdomain.as_deref() == Some(&svc.name_any())).then(|| spec.hostname.clone()).flatten()
}

/// The labels both Endpoints and EndpointSlices carry: the service's, and headless-ness.
pub fn service_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.labels().clone();
    if svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    labels
}

fn subsets(svc: &Service, backends: &[Backend]) -> Vec<EndpointSubset> {
    let mut by_ports: BTreeMap<Vec<ResolvedPort>, EndpointSubset> = BTreeMap::new();
    for b in backends.iter().filter(|b| !b.ports.is_empty()) {
        if b.terminating && !b.ready {
            continue;
        }
        let subset = by_ports.entry(b.ports.clone()).or_default();
        let address = EndpointAddress {
            ip: b.ip.clone(),
            node_name: b.pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(target_ref(&b.pod)),
            hostname: hostname(&b.pod, svc),
        };
        let list = if b.ready { &mut subset.addresses } else { &mut subset.not_ready_addresses };
        list.get_or_insert_with(Vec::new).push(address);
    }
    by_ports
        .into_iter()
        .map(|(ports, mut subset)| {
            subset.ports = Some(
                ports
                    .into_iter()
                    .map(|p| EndpointPort {
                        name: p.name,
                        port: p.port,
                        protocol: Some(p.protocol),
                        app_protocol: p.app_protocol,
                    })
                    .collect(),
            );
            subset
        })
        .collect()
}

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let endpoints = ctx.informers.get::<Endpoints>();
    // A deleted Service takes its Endpoints along.
    let mut changes = services.subscribe();
    let client = ctx.client.clone();
    let cleanup = tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(change) = changes.next().await {
            if let (Some(old), None) = (&change.old, &change.new)
                && selector_of(old).is_some()
            {
                let api: Api<Endpoints> = Api::namespaced(client.clone(), &old.namespace().unwrap_or_default());
                let _ = api.delete(&old.name_any(), &DeleteParams::default()).await;
            }
        }
    });
    let selecting = services.clone();
    Reconciler::new("endpoint", &services)
        .watches(&pods, move |change| services_selecting(&selecting, change))
        .watches(&endpoints, same_name::<Endpoints>)
        .run(reconcile, ctx.clone(), ctx.metrics.clone(), shutdown)
        .await;
    cleanup.abort();
    Ok(())
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    if selector_of(&svc).is_none() || svc.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let pods = ctx.informers.get::<Pod>().store().state();
    let subsets = subsets(&svc, &backends(&svc, &pods));
    let labels = service_labels(&svc);
    let existing = ctx.informers.get::<Endpoints>().get(&ObjectRef::new(&name).within(&ns));
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
    let want_subsets = (!subsets.is_empty()).then_some(subsets);
    match existing {
        Some(e) if e.subsets == want_subsets && *e.labels() == labels => Ok(Action::await_change()),
        Some(e) => {
            let mut updated = (*e).clone();
            updated.subsets = want_subsets;
            updated.metadata.labels = Some(labels);
            match api.replace(&name, &PostParams::default(), &updated).await {
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Action::requeue(std::time::Duration::from_millis(100))),
                other => other.map(|_| Action::await_change()).map_err(Error::from),
            }
        }
        None => {
            let endpoints = Endpoints {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(ns),
                    labels: Some(labels),
                    ..Default::default()
                },
                subsets: want_subsets,
            };
            match api.create(&PostParams::default(), &endpoints).await {
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Action::requeue(std::time::Duration::from_millis(100))),
                other => other.map(|_| Action::await_change()).map_err(Error::from),
            }
        }
    }
}

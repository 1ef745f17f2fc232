//! The EndpointSlice controller (upstream's endpointslice and endpointslicemirroring
//! controllers, keyed by Service here):
//!
//! - a Service with a selector gets slices (at most 100 endpoints each, one per set of resolved
//!   ports) of its pods with ready/serving/terminating conditions, owned by the Service and
//!   labelled `kubernetes.io/service-name` and managed-by `endpointslice-controller.k8s.io`;
//!   with no pods, one empty slice;
//! - a Service without a selector whose Endpoints someone wrote gets those mirrored into
//!   slices managed-by `endpointslicemirroring-controller.k8s.io`, owned by the Endpoints
//!   (unless they carry `endpointslice.kubernetes.io/skip-mirror: "true"`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::endpoints::{
    ResolvedPort, backends, hostname, same_name, selector_of, service_labels, services_selecting, target_ref,
};
use crate::framework::{Change, Reconciler};
use crate::{Context, Error};

pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
pub const MIRRORING: &str = "endpointslicemirroring-controller.k8s.io";
const SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";
/// Upstream's --max-endpoints-per-slice default.
const MAX_ENDPOINTS: usize = 100;

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let endpoints = ctx.informers.get::<Endpoints>();
    let slices = ctx.informers.get::<EndpointSlice>();
    let selecting = services.clone();
    Reconciler::new("endpointslice", &services)
        .watches(&pods, move |change| services_selecting(&selecting, change))
        .watches(&endpoints, same_name::<Endpoints>)
        .watches(&slices, |change: &Change<EndpointSlice>| {
            let slice = change.latest()?;
            Some(ObjectRef::new(slice.labels().get(SERVICE_NAME)?).within(&slice.namespace()?))
        })
        .run(reconcile, ctx.clone(), ctx.metrics.clone(), shutdown)
        .await;
    Ok(())
}

/// The slices a service should have (names and owners left to `reconcile`), and who manages them.
fn desired(svc: &Service, ctx: &Context) -> Option<(&'static str, Vec<EndpointSlice>, Option<OwnerReference>)> {
    let ns = svc.namespace().unwrap_or_default();
    let mut groups: BTreeMap<Vec<ResolvedPort>, Vec<Endpoint>> = BTreeMap::new();
    let (manager, owner) = if selector_of(svc).is_some() {
        let pods = ctx.informers.get::<Pod>().store().state();
        for b in backends(svc, &pods) {
            groups.entry(b.ports.clone()).or_default().push(Endpoint {
                addresses: vec![b.ip.clone()],
                conditions: Some(EndpointConditions {
                    ready: Some(b.ready),
                    serving: Some(b.serving),
                    terminating: Some(b.terminating),
                }),
                node_name: b.pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                target_ref: Some(target_ref(&b.pod)),
                hostname: hostname(&b.pod, svc),
                ..Default::default()
            });
        }
        (CONTROLLER, crate::replicaset::controller_ref(svc))
    } else {
        let e = ctx.informers.get::<Endpoints>().get(&ObjectRef::new(&svc.name_any()).within(&ns))?;
        if e.labels().get(SKIP_MIRROR).is_some_and(|v| v == "true") {
            return None;
        }
        for subset in e.subsets.iter().flatten() {
            let mut ports: Vec<ResolvedPort> = subset
                .ports
                .iter()
                .flatten()
                .map(|p| ResolvedPort {
                    name: p.name.clone(),
                    port: p.port,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect();
            ports.sort();
            let group = groups.entry(ports).or_default();
            for (addresses, ready) in [(&subset.addresses, true), (&subset.not_ready_addresses, false)] {
                for a in addresses.iter().flatten() {
                    group.push(Endpoint {
                        addresses: vec![a.ip.clone()],
                        conditions: Some(EndpointConditions {
                            ready: Some(ready),
                            serving: Some(ready),
                            terminating: Some(false),
                        }),
                        node_name: a.node_name.clone(),
                        target_ref: a.target_ref.clone(),
                        hostname: a.hostname.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        (MIRRORING, crate::replicaset::controller_ref(&*e))
    };
    let mut labels = service_labels(svc);
    labels.insert(SERVICE_NAME.into(), svc.name_any());
    labels.insert(MANAGED_BY.into(), manager.into());
    let slice = |ports: Vec<EndpointPort>, endpoints: Vec<Endpoint>| EndpointSlice {
        metadata: ObjectMeta { namespace: Some(ns.clone()), labels: Some(labels.clone()), ..Default::default() },
        address_type: if endpoints.iter().any(|e| e.addresses.iter().any(|a| a.contains(':'))) {
            "IPv6"
        } else {
            "IPv4"
        }
        .into(),
        endpoints,
        ports: Some(ports),
    };
    let mut out = Vec::new();
    for (ports, endpoints) in groups {
        let ports: Vec<EndpointPort> = ports
            .into_iter()
            .map(|p| EndpointPort {
                name: p.name,
                port: Some(p.port),
                protocol: Some(p.protocol),
                app_protocol: p.app_protocol,
            })
            .collect();
        for chunk in endpoints.chunks(MAX_ENDPOINTS) {
            out.push(slice(ports.clone(), chunk.to_vec()));
        }
    }
    if out.is_empty() && manager == CONTROLLER {
        // No pods yet: one empty slice says the service has none.
        out.push(slice(Vec::new(), Vec::new()));
    }
    Some((manager, out, Some(owner)))
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let mine = |manager: &str| {
        let mut slices: Vec<Arc<EndpointSlice>> = ctx
            .informers
            .get::<EndpointSlice>()
            .store()
            .state()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(&ns))
            .filter(|s| {
                s.labels().get(SERVICE_NAME) == Some(&name)
                    && s.labels().get(MANAGED_BY).map(String::as_str) == Some(manager)
            })
            .collect();
        slices.sort_by_key(|s| s.name_any());
        slices
    };
    let (manager, want, owner) = match desired(&svc, &ctx) {
        Some(d) if svc.meta().deletion_timestamp.is_none() => d,
        // Nothing to mirror (any more): mirrored slices go.
        _ => (MIRRORING, Vec::new(), None),
    };
    let existing = mine(manager);
    let want_len = want.len();
    for (i, mut slice) in want.into_iter().enumerate() {
        match existing.get(i) {
            Some(current)
                if current.endpoints == slice.endpoints
                    && current.ports == slice.ports
                    && current.labels() == slice.labels()
                    && current.address_type == slice.address_type => {}
            Some(current) => {
                slice.metadata = ObjectMeta { labels: slice.metadata.labels.take(), ..current.metadata.clone() };
                match api.replace(&current.name_any(), &PostParams::default(), &slice).await {
                    Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                        return Ok(Action::requeue(std::time::Duration::from_millis(100)));
                    }
                    other => drop(other?),
                }
            }
            None => {
                slice.metadata.generate_name = Some(format!("{name}-"));
                slice.metadata.owner_references = owner.clone().map(|o| vec![o]);
                api.create(&PostParams::default(), &slice).await?;
            }
        }
    }
    let keep = existing.len().min(want_len);
    for extra in existing.iter().skip(keep) {
        match api.delete(&extra.name_any(), &DeleteParams::default()).await {
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            other => drop(other?),
        }
    }
    Ok(Action::await_change())
}

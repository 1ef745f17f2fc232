//! What exists in every cluster from the start, created by the apiserver once it serves:
//! the namespaces `default`, `kube-system`, `kube-public` and `kube-node-lease`, and the
//! `kubernetes` Service (first service IP, port 443) with its Endpoints and EndpointSlice
//! pointing at this apiserver, and the system PriorityClasses.

use serde_json::{Value, json};

use crate::object;
use crate::registry::{Ctx, Registry, ops};
use crate::status::ApiError;

pub const NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The priority classes every cluster has (upstream's values and descriptions' gist).
const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

async fn ensure(ctx: &Ctx<'_>, group: &str, plural: &str, ns: Option<&str>, obj: Value) -> Result<(), ApiError> {
    let res =
        ctx.registry.get(group, "v1", plural).ok_or_else(|| ApiError::internal(format!("{plural} are not served")))?;
    // Look first: a create would try to allocate what the existing object holds (the
    // `kubernetes` Service's address) before it finds the object.
    match ops::get(ctx, &res, ns, object::name(&obj)).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    match ops::create(ctx, &res, ns, obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == crate::status::Reason::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure the bootstrap objects exist; `advertise` is the address and port clients in the
/// cluster reach this apiserver at.
pub async fn run(registry: &Registry, advertise_ip: &str, port: u16) -> Result<(), ApiError> {
    let ctx = Ctx::internal(registry);
    for ns in NAMESPACES {
        ensure(&ctx, "", "namespaces", None, json!({"metadata": {"name": ns}})).await?;
    }
    let first_ip = registry.allocators.first_ip().to_string();
    let service = json!({
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": first_ip,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
        },
    });
    ensure(&ctx, "", "services", Some("default"), service).await?;
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        let class = json!({"metadata": {"name": name}, "value": value, "description": description, "preemptionPolicy": "PreemptLowerPriority"});
        ensure(&ctx, "scheduling.k8s.io", "priorityclasses", None, class).await?;
    }
    let endpoints = json!({
        "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": advertise_ip}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    reconcile_endpoints(&ctx, "", "endpoints", endpoints).await?;
    let slice = json!({
        "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [advertise_ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    reconcile_endpoints(&ctx, "discovery.k8s.io", "endpointslices", slice).await
}

/// Creates or updates an endpoints-like object so it points at this apiserver (its address may
/// change between starts).
async fn reconcile_endpoints(ctx: &Ctx<'_>, group: &str, plural: &str, desired: Value) -> Result<(), ApiError> {
    let res =
        ctx.registry.get(group, "v1", plural).ok_or_else(|| ApiError::internal(format!("{plural} are not served")))?;
    match ops::get(ctx, &res, Some("default"), "kubernetes").await {
        Ok((current, _)) => {
            let mut next = current.clone();
            if let (Some(next), Some(desired)) = (next.as_object_mut(), desired.as_object()) {
                for (k, v) in desired.iter().filter(|(k, _)| *k != "metadata") {
                    next.insert(k.clone(), v.clone());
                }
            }
            if next != current {
                let name = object::name(&next).to_string();
                ops::update(ctx, &res, Some("default"), &name, next, ops::Part::Main).await?;
            }
            Ok(())
        }
        Err(e) if e.code == 404 => ensure(ctx, group, plural, Some("default"), desired).await,
        Err(e) => Err(e),
    }
}

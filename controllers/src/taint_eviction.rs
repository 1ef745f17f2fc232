//! Taint-based eviction (upstream's tainteviction controller): pods on a node with a NoExecute
//! taint they do not tolerate are deleted at once; pods tolerating it for `tolerationSeconds`
//! are deleted that long after the taint was added (the DefaultTolerationSeconds admission gives
//! every pod 300 s for not-ready and unreachable); pods tolerating it without a limit stay.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::framework::{Change, Reconciler, Recorder};
use crate::{Context, Error};

/// Whether `toleration` tolerates `taint` (upstream's ToleratesTaint).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or("");
    let key_ok = key.is_empty() || key == taint.key;
    let value_ok = match toleration.operator.as_deref() {
        Some("Exists") => true,
        _ => !key.is_empty() && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
    };
    effect_ok && key_ok && value_ok
}

/// When a pod must go because of `taints` (NoExecute ones): `Some(None)` now, `Some(Some(t))`
/// at `t`, `None` never.
pub fn eviction_time(tolerations: &[Toleration], taints: &[&Taint]) -> Option<Option<Timestamp>> {
    let mut earliest: Option<Timestamp> = None;
    for taint in taints {
        let matching: Vec<&Toleration> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(None);
        }
        // The shortest limit among the tolerations that apply; none: tolerated for ever.
        let Some(seconds) = matching.iter().filter_map(|t| t.toleration_seconds).min() else { continue };
        let added = taint.time_added.as_ref().map_or_else(Timestamp::now, |t| t.0);
        let at = added + Duration::from_secs(seconds.max(0) as u64);
        earliest = Some(earliest.map_or(at, |e| e.min(at)));
    }
    earliest.map(Some)
}

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let nodes = ctx.informers.get::<Node>();
    let pods = ctx.informers.get::<Pod>();
    let events = Recorder::new(ctx.client.clone(), "taint-eviction-controller", &ctx.identity);
    let metrics = ctx.metrics.clone();
    Reconciler::new("taint-eviction", &nodes)
        .watches(&pods, |change: &Change<Pod>| {
            let node = change.new.as_ref().and_then(|p| p.spec.as_ref()?.node_name.clone());
            node.map(|n| ObjectRef::new(&n))
        })
        .run(reconcile, Arc::new((ctx, events)), metrics, shutdown)
        .await;
    Ok(())
}

async fn reconcile(node: Arc<Node>, state: Arc<(Arc<Context>, Recorder)>) -> Result<Action, Error> {
    let (ctx, events) = (&state.0, &state.1);
    let taints: Vec<&Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoExecute")
        .collect();
    if taints.is_empty() {
        return Ok(Action::await_change());
    }
    let name = node.name_any();
    let now = Timestamp::now();
    let mut next: Option<Timestamp> = None;
    for pod in ctx.informers.get::<Pod>().store().state() {
        if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(&name)
            || pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
        match eviction_time(&tolerations, &taints) {
            None => {}
            Some(Some(at)) if at > now => next = Some(next.map_or(at, |n| n.min(at))),
            Some(_) => evict(ctx, events, &pod).await?,
        }
    }
    Ok(match next {
        Some(at) => Action::requeue(Duration::try_from(at - now).unwrap_or_default() + Duration::from_millis(100)),
        None => Action::await_change(),
    })
}

async fn evict(ctx: &Context, events: &Recorder, pod: &Pod) -> Result<(), Error> {
    let ns = pod.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let name = pod.name_any();
    let note = format!("Marking for deletion Pod {ns}/{name}");
    events.normal(pod.object_ref(&()), "TaintManagerEviction", "Delete", note);
    let condition = json!({ "status": { "conditions": [{
        "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint",
        "lastTransitionTime": Timestamp::now().round(k8s_openapi::jiff::Unit::Second).ok(),
    }] } });
    match api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(condition)).await {
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        other => drop(other?),
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
        ..Default::default()
    };
    match api.delete(&name, &dp).await {
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        other => other.map(drop).map_err(Error::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn toleration(key: Option<&str>, op: &str, effect: Option<&str>, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: Some(op.into()),
            effect: effect.map(Into::into),
            toleration_seconds: seconds,
            value: None,
        }
    }

    #[test]
    fn tolerations_decide_when_a_pod_goes() {
        let added = Timestamp::from_second(1000).unwrap();
        let taint = Taint {
            key: "node.kubernetes.io/unreachable".into(),
            effect: "NoExecute".into(),
            value: None,
            time_added: Some(Time(added)),
        };
        assert_eq!(eviction_time(&[], &[&taint]), Some(None), "not tolerated: at once");
        let five_min = toleration(Some("node.kubernetes.io/unreachable"), "Exists", Some("NoExecute"), Some(300));
        assert_eq!(
            eviction_time(std::slice::from_ref(&five_min), &[&taint]),
            Some(Some(added + Duration::from_secs(300)))
        );
        let forever = toleration(None, "Exists", None, None);
        assert_eq!(eviction_time(&[forever], &[&taint]), None, "tolerated for ever");
        let other_key = toleration(Some("dedicated"), "Exists", Some("NoExecute"), None);
        assert_eq!(eviction_time(&[other_key], &[&taint]), Some(None));
        let no_schedule_only = toleration(Some("node.kubernetes.io/unreachable"), "Exists", Some("NoSchedule"), None);
        assert!(!tolerates(&no_schedule_only, &taint));
    }
}

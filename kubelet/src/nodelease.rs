//! The node heartbeat: the Lease `kube-node-lease/<node>` (coordination.k8s.io/v1), renewed
//! every quarter of its 40 s duration as upstream's node lease controller does. The node
//! lifecycle controller reads its `renewTime` to tell live nodes from dead ones.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};

/// The namespace of node Leases.
pub const NAMESPACE: &str = "kube-node-lease";
/// Upstream's kubelet default (`nodeLeaseDurationSeconds`).
pub const DURATION_SECONDS: i32 = 40;
/// Upstream renews at 0.25 × the duration.
pub const RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// The Lease of node `name`, owned by the Node (so it goes when the Node is deleted).
pub fn lease_object(name: &str, node_uid: Option<&str>, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(NAMESPACE.to_string()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: name.to_string(),
                    uid: uid.to_string(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.to_string()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// `lease` renewed at `now`, held by node `name`.
fn renewed(mut lease: Lease, name: &str, now: Timestamp) -> Lease {
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = Some(name.to_string());
    spec.lease_duration_seconds = Some(DURATION_SECONDS);
    spec.renew_time = Some(MicroTime(now));
    lease
}

/// Renews the Lease of node `name` once. `cached` is the Lease as last written: renewing is
/// then one PUT; a conflict (someone else wrote it) or its absence costs a read or a create.
/// On success `cached` holds the written Lease.
pub async fn renew(
    api: &Api<Lease>,
    name: &str,
    node_uid: Option<&str>,
    cached: &mut Option<Lease>,
) -> Result<(), kube::Error> {
    let now = Timestamp::now();
    if let Some(lease) = cached.take() {
        match api.replace(name, &PostParams::default(), &renewed(lease, name, now)).await {
            Ok(written) => {
                *cached = Some(written);
                return Ok(());
            }
            // Someone else wrote or deleted it: start over from what the apiserver has.
            Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => {
                tracing::debug!(node = name, code = e.code, "lease changed elsewhere; reading it again");
            }
            Err(e) => return Err(e),
        }
    }
    let written = match api.get_opt(name).await? {
        Some(lease) => api.replace(name, &PostParams::default(), &renewed(lease, name, now)).await?,
        None => api.create(&PostParams::default(), &lease_object(name, node_uid, now)).await?,
    };
    *cached = Some(written);
    Ok(())
}

/// When to renew next: every `RENEW_INTERVAL` plus up to 4 % (upstream's lease controller jitter),
/// `fraction` in [0, 1) chosen at random by the caller.
pub fn next_renewal(fraction: f64) -> Duration {
    RENEW_INTERVAL.mul_f64(1.0 + 0.04 * fraction.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_is_held_by_the_node_and_owned_by_it() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let lease = lease_object("n1", Some("uid-1"), now);
        assert_eq!(lease.metadata.namespace.as_deref(), Some("kube-node-lease"));
        let owner = &lease.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Node", "n1", "uid-1"));
        let spec = lease.spec.clone().unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("n1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert_eq!(spec.renew_time, Some(MicroTime(now)));
        let later = Timestamp::from_second(1_700_000_010).unwrap();
        let spec = renewed(lease, "n1", later).spec.unwrap();
        assert_eq!(spec.renew_time, Some(MicroTime(later)));
    }

    #[test]
    fn renewals_are_jittered_just_above_ten_seconds() {
        assert_eq!(next_renewal(0.0), Duration::from_secs(10));
        assert_eq!(next_renewal(0.5), Duration::from_millis(10_200));
        assert!(next_renewal(0.999) < Duration::from_millis(10_400));
    }
}

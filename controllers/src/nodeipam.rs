//! Node IPAM (upstream's nodeipam range allocator): each node gets its own pod range
//! (`spec.podCIDR`) carved from the cluster CIDR (`--cluster-cidr`, default 10.244.0.0/16) in
//! blocks of `--node-cidr-mask-size` (default /24). IPv4 only: dual-stack is not supported.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use crate::framework::{Reconciler, Recorder};
use crate::{Context, Error};

/// An IPv4 range split into equal blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranges {
    base: u32,
    prefix: u8,
    block: u8,
}

impl Ranges {
    /// `cidr` split into blocks of prefix length `block`.
    pub fn new(cidr: &str, block: u8) -> Result<Self, String> {
        let (ip, prefix) = cidr.split_once('/').ok_or_else(|| format!("{cidr:?} is not a CIDR"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| format!("{cidr:?}: only IPv4 cluster CIDRs are supported"))?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(|| format!("{cidr:?}: bad prefix"))?;
        if block < prefix || block > 30 {
            return Err(format!("node CIDR mask size /{block} does not fit in {cidr}"));
        }
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        Ok(Self { base: u32::from(ip) & mask, prefix, block })
    }

    pub fn len(&self) -> u32 {
        1u32 << (self.block - self.prefix).min(31)
    }

    /// Never: a range holds at least one block.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn nth(&self, i: u32) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base + (i << (32 - self.block))), self.block)
    }

    /// Which block `cidr` is, if it is one of ours.
    pub fn index(&self, cidr: &str) -> Option<u32> {
        let (ip, prefix) = cidr.split_once('/')?;
        let ip = u32::from(ip.parse::<Ipv4Addr>().ok()?);
        (prefix.parse::<u8>().ok()? == self.block && ip >= self.base)
            .then(|| (ip - self.base) >> (32 - self.block))
            .filter(|i| *i < self.len())
    }
}

struct Allocator {
    ranges: Ranges,
    /// Blocks handed out but not yet seen on their node.
    pending: Mutex<HashMap<String, u32>>,
    events: Recorder,
}

pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) -> anyhow::Result<()> {
    let ranges = Ranges::new(&ctx.options.cluster_cidr, ctx.options.node_cidr_mask_size).map_err(anyhow::Error::msg)?;
    let nodes = ctx.informers.get::<Node>();
    let events = Recorder::new(ctx.client.clone(), "node-ipam-controller", &ctx.identity);
    let allocator = Arc::new((ctx.clone(), Allocator { ranges, pending: Mutex::default(), events }));
    let metrics = ctx.metrics.clone();
    Reconciler::new("nodeipam", &nodes).run(reconcile, allocator, metrics, shutdown).await;
    Ok(())
}

async fn reconcile(node: Arc<Node>, state: Arc<(Arc<Context>, Allocator)>) -> Result<Action, Error> {
    let (ctx, allocator) = (&state.0, &state.1);
    let name = node.name_any();
    if node.spec.as_ref().and_then(|s| s.pod_cidr.as_deref()).is_some_and(|c| !c.is_empty()) {
        if let Ok(mut pending) = allocator.pending.lock() {
            pending.remove(&name);
        }
        return Ok(Action::await_change());
    }
    let picked = {
        let Ok(mut pending) = allocator.pending.lock() else { return Ok(Action::await_change()) };
        let nodes = ctx.informers.get::<Node>().store().state();
        let mut used: HashSet<u32> = nodes
            .iter()
            .filter_map(|n| n.spec.as_ref()?.pod_cidr.as_deref())
            .filter_map(|c| allocator.ranges.index(c))
            .collect();
        used.extend(pending.iter().filter(|(n, _)| **n != name).map(|(_, i)| *i));
        let free = (0..allocator.ranges.len()).find(|i| !used.contains(i));
        if let Some(i) = free {
            pending.insert(name.clone(), i);
        }
        free
    };
    let Some(index) = picked else {
        let note = format!("Node {name} status is now: CIDRNotAvailable");
        allocator.events.warning(node.object_ref(&()), "CIDRNotAvailable", "CIDRAssignmentFailed", note);
        return Ok(Action::requeue(std::time::Duration::from_secs(30)));
    };
    let cidr = allocator.ranges.nth(index);
    let api: Api<Node> = Api::all(ctx.client.clone());
    let patch = serde_json::json!({ "spec": { "podCIDR": cidr, "podCIDRs": [cidr] } });
    if let Err(e) = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        if let Ok(mut pending) = allocator.pending.lock() {
            pending.remove(&name);
        }
        return match e {
            kube::Error::Api(s) if s.code == 404 => Ok(Action::await_change()),
            e => Err(e.into()),
        };
    }
    tracing::info!(node = %name, %cidr, "pod CIDR assigned");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_carved_in_order_and_recognised() {
        let r = Ranges::new("10.244.0.0/16", 24).unwrap();
        assert_eq!(r.len(), 256);
        assert_eq!(r.nth(0), "10.244.0.0/24");
        assert_eq!(r.nth(255), "10.244.255.0/24");
        assert_eq!(r.index("10.244.7.0/24"), Some(7));
        assert_eq!(r.index("10.245.0.0/24"), None, "outside the cluster CIDR");
        assert_eq!(r.index("10.244.7.0/25"), None, "another block size");
        assert!(Ranges::new("10.244.0.0/16", 8).is_err());
        assert!(Ranges::new("fd00::/48", 64).is_err());
        assert_eq!(Ranges::new("10.0.0.0/8", 24).unwrap().len(), 65536);
    }
}

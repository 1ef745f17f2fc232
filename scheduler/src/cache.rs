//! The scheduler's cache (upstream's `internal/cache`): every node with the pods bound or
//! assumed on it, kept current from the node and pod watches. A pod the scheduler has just
//! placed is *assumed* on its node at once, so the next decision already counts it; the pod
//! watch later confirms it, and a failed binding forgets it.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use k8s_openapi::api::core::v1::Node;

use crate::framework::{Labels, NodeInfo, PodInfo};

struct PodState {
    node: String,
    pod: Arc<PodInfo>,
    assumed: bool,
}

#[derive(Default)]
pub struct Cache {
    nodes: IndexMap<String, NodeInfo>,
    existing_nodes: usize,
    pods: HashMap<String, PodState>,
    namespaces: HashMap<String, Labels>,
    /// How many nodes hold each image (ImageLocality spreads the score by it).
    image_nodes: HashMap<String, usize>,
    /// Nodes with a PreferNoSchedule taint (TaintToleration scoring is skipped without any).
    prefer_no_schedule_nodes: usize,
    /// Pods carrying (required anti-) affinity anywhere (InterPodAffinity is skipped without).
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
}

/// What a node update changed, for the queue to decide whom to retry.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeChange {
    pub added: bool,
    /// Became schedulable, got more allocatable, changed labels or taints.
    pub may_help: bool,
}

impl Cache {
    /// Every node slot; placeholders (`exists == false`) hold pods of unknown nodes.
    pub fn node_slots(&self) -> &IndexMap<String, NodeInfo> {
        &self.nodes
    }

    pub fn node_count(&self) -> usize {
        self.existing_nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name).filter(|n| n.exists)
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.get_index_of(name).filter(|i| self.nodes[*i].exists)
    }

    pub fn namespace_labels(&self, name: &str) -> Option<&Labels> {
        self.namespaces.get(name)
    }

    pub fn image_node_count(&self, image: &str) -> usize {
        self.image_nodes.get(image).copied().unwrap_or(0)
    }

    pub fn has_images(&self) -> bool {
        !self.image_nodes.is_empty()
    }

    pub fn has_prefer_no_schedule_taints(&self) -> bool {
        self.prefer_no_schedule_nodes > 0
    }

    pub fn has_pods_with_affinity(&self) -> bool {
        self.pods_with_affinity > 0
    }

    pub fn has_pods_with_required_anti_affinity(&self) -> bool {
        self.pods_with_required_anti_affinity > 0
    }

    pub fn set_namespace(&mut self, name: String, labels: Labels) {
        self.namespaces.insert(name, labels);
    }

    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    fn node_stats(&mut self, node: &NodeInfo, sign: isize) {
        let adjust = |v: &mut usize| *v = v.saturating_add_signed(sign);
        if node.taints.iter().any(|t| t.effect == "PreferNoSchedule") {
            adjust(&mut self.prefer_no_schedule_nodes);
        }
        for image in node.images.keys() {
            let count = self.image_nodes.entry(image.clone()).or_default();
            *count = count.saturating_add_signed(sign);
            if *count == 0 {
                self.image_nodes.remove(image);
            }
        }
    }

    pub fn add_or_update_node(&mut self, node: &Node) -> NodeChange {
        let name = node.metadata.name.clone().unwrap_or_default();
        let entry = self.nodes.entry(name.clone()).or_default();
        let was = entry
            .exists
            .then(|| (entry.unschedulable, entry.labels.clone(), entry.taints.clone(), entry.allocatable.clone()));
        let mut info = std::mem::take(entry);
        if info.exists {
            self.node_stats(&info, -1);
        } else {
            self.existing_nodes += 1;
        }
        info.set_node(node);
        self.node_stats(&info, 1);
        let change = match was {
            None => NodeChange { added: true, may_help: true },
            Some((unschedulable, labels, taints, allocatable)) => NodeChange {
                added: false,
                may_help: (unschedulable && !info.unschedulable)
                    || labels != info.labels
                    || taints != info.taints
                    || allocatable != info.allocatable,
            },
        };
        if let Some(slot) = self.nodes.get_mut(&name) {
            *slot = info;
        }
        change
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(mut info) = self.nodes.swap_remove(name) else { return };
        if !info.exists {
            self.nodes.insert(name.to_string(), info);
            return;
        }
        self.node_stats(&info, -1);
        self.existing_nodes -= 1;
        // Its pods stay accounted until their own deletions arrive (upstream keeps them too).
        if !info.pods.is_empty() {
            let pods = std::mem::take(&mut info.pods);
            let mut placeholder = NodeInfo { name: name.to_string(), ..NodeInfo::default() };
            for p in pods {
                placeholder.add_pod(p);
            }
            self.nodes.insert(name.to_string(), placeholder);
        }
    }

    fn slot(&mut self, node: &str) -> &mut NodeInfo {
        self.nodes.entry(node.to_string()).or_insert_with(|| NodeInfo { name: node.to_string(), ..NodeInfo::default() })
    }

    fn pod_stats(&mut self, pod: &PodInfo, sign: isize) {
        if pod.has_affinity() {
            self.pods_with_affinity = self.pods_with_affinity.saturating_add_signed(sign);
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity = self.pods_with_required_anti_affinity.saturating_add_signed(sign);
        }
    }

    fn place(&mut self, node: &str, pod: Arc<PodInfo>, assumed: bool) {
        self.pod_stats(&pod, 1);
        self.slot(node).add_pod(pod.clone());
        self.pods.insert(pod.key.clone(), PodState { node: node.to_string(), pod, assumed });
    }

    /// A pod the watch shows bound to `pod.node_name`: added, or confirmed if assumed.
    pub fn add_or_update_pod(&mut self, pod: Arc<PodInfo>) {
        self.remove_pod(&pod.key);
        let node = pod.node_name.clone();
        self.place(&node, pod, false);
    }

    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let state = self.pods.remove(key)?;
        self.pod_stats(&state.pod, -1);
        if let Some(i) = self.nodes.get_index_of(&state.node) {
            let node = &mut self.nodes[i];
            node.remove_pod(key);
            if !node.exists && node.pods.is_empty() {
                self.nodes.swap_remove_index(i);
            }
        }
        Some(state.pod)
    }

    /// Counts `pod` on `node` before its binding is confirmed.
    pub fn assume_pod(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.key);
        self.place(node, pod, true);
    }

    /// Drops an assumed pod whose binding failed; a confirmed one stays.
    pub fn forget_pod(&mut self, key: &str) -> bool {
        if self.pods.get(key).is_some_and(|s| s.assumed) {
            self.remove_pod(key);
            return true;
        }
        false
    }

    /// The node a pod is bound or assumed on.
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|s| s.node.as_str())
    }

    pub fn pod_keys(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|s| s.assumed)
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, cpu: &str) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": cpu, "memory": "1Gi", "pods": "10"}}}),
        )
        .unwrap()
    }

    fn pod(name: &str, node: &str, cpu: &str) -> Arc<PodInfo> {
        let p = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}))
        .unwrap();
        Arc::new(PodInfo::new(&p))
    }

    #[test]
    fn assumed_pods_count_until_forgotten_and_confirmed_pods_stay() {
        let mut cache = Cache::default();
        cache.add_or_update_node(&node("n1", "2"));
        let p = pod("a", "", "500m");
        cache.assume_pod(p.clone(), "n1");
        assert_eq!(cache.node("n1").unwrap().requested.milli_cpu, 500);
        assert!(cache.forget_pod("ns/a"));
        assert_eq!(cache.node("n1").unwrap().requested.milli_cpu, 0);

        cache.assume_pod(p, "n1");
        cache.add_or_update_pod(pod("a", "n1", "500m"));
        assert!(!cache.is_assumed("ns/a"));
        assert!(!cache.forget_pod("ns/a"), "a confirmed pod is not forgotten");
        assert_eq!(cache.node("n1").unwrap().pods.len(), 1);
    }

    #[test]
    fn pods_of_unknown_nodes_wait_in_a_placeholder() {
        let mut cache = Cache::default();
        cache.add_or_update_pod(pod("a", "later", "1"));
        assert!(cache.node("later").is_none());
        assert_eq!(cache.node_count(), 0);
        let change = cache.add_or_update_node(&node("later", "4"));
        assert!(change.added);
        assert_eq!(cache.node("later").unwrap().requested.milli_cpu, 1000);
        cache.remove_node("later");
        assert_eq!(cache.node_count(), 0);
        cache.remove_pod("ns/a");
        assert!(cache.node_slots().is_empty());
    }

    #[test]
    fn uncordon_and_label_changes_may_help() {
        let mut cache = Cache::default();
        let mut n = node("n1", "1");
        n.spec = Some(k8s_openapi::api::core::v1::NodeSpec { unschedulable: Some(true), ..Default::default() });
        cache.add_or_update_node(&n);
        assert_eq!(cache.add_or_update_node(&n), NodeChange::default(), "nothing changed");
        n.spec = None;
        assert!(cache.add_or_update_node(&n).may_help);
    }
}

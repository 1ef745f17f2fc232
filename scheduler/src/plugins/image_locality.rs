//! ImageLocality: nodes that already hold the pod's images score higher, by image size and
//! scaled by how widely the image is spread (so one node holding it does not attract every pod).

use crate::cache::Cache;
use crate::framework::{NodeInfo, PodInfo};

const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub fn score(cache: &Cache, pod: &PodInfo, node: &NodeInfo) -> i64 {
    let total = cache.node_count().max(1) as f64;
    let sum: i64 = pod
        .images
        .iter()
        .filter_map(|image| {
            let size = node.images.get(image)?;
            Some((*size as f64 * cache.image_node_count(image) as f64 / total) as i64)
        })
        .sum();
    let max = MAX_CONTAINER_THRESHOLD * pod.images.len().max(1) as i64;
    let sum = sum.clamp(MIN_THRESHOLD, max);
    100 * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

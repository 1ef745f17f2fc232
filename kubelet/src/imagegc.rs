//! Image garbage collection (upstream's `ImageGCManager`): when the image file system is at
//! least `--image-gc-high-threshold` percent full, images no container uses (running or
//! exited) are removed, least recently used first, until usage is down to
//! `--image-gc-low-threshold`. Images younger than `--minimum-image-gc-age`, pinned ones and the
//! sandbox image stay. Not freeing enough is a `FreeDiskSpaceFailed` warning on the Node.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use controllers::framework::Recorder;
use k8s_cri::v1::Image;
use k8s_openapi::api::core::v1::ObjectReference;

use crate::config::Config;
use crate::cri::Cri;
use crate::metrics::Metrics;

/// An image the runtime has, as the collector sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub size: u64,
    pub last_used: Instant,
    pub first_seen: Instant,
}

/// Which images to remove to free `to_free` bytes: unused ones older than `min_age`, least
/// recently used first (then the earliest seen), until enough is freed. Returns them and the
/// bytes they free.
pub fn choose(mut candidates: Vec<Candidate>, to_free: u64, min_age: Duration, now: Instant) -> (Vec<Candidate>, u64) {
    candidates.retain(|c| now.saturating_duration_since(c.first_seen) >= min_age);
    candidates.sort_by_key(|c| (c.last_used, c.first_seen));
    let mut freed = 0;
    let mut chosen = Vec::new();
    for c in candidates {
        if freed >= to_free {
            break;
        }
        freed += c.size;
        chosen.push(c);
    }
    (chosen, freed)
}

/// Bytes to free on a file system of `capacity` bytes with `available` free, or `None` when
/// usage is below the high threshold (upstream's arithmetic).
pub fn bytes_to_free(capacity: u64, available: u64, high_percent: u8, low_percent: u8) -> Option<u64> {
    if capacity == 0 || high_percent >= 100 {
        return None;
    }
    let usage = 100 - (u128::from(available) * 100 / u128::from(capacity)).min(100) as u64;
    if usage < u64::from(high_percent) {
        return None;
    }
    let wanted_available = u128::from(capacity) * u128::from(100 - low_percent.min(100)) / 100;
    Some(u64::try_from(wanted_available).unwrap_or(u64::MAX).saturating_sub(available))
}

/// When images were first seen and last used, across rounds.
#[derive(Default)]
struct Seen {
    first: HashMap<String, Instant>,
    used: HashMap<String, Instant>,
}

pub struct ImageGc {
    pub config: Config,
    pub cri: Cri,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
}

impl ImageGc {
    /// Detects image use every `period` and collects when the disk is full enough, until
    /// `shutdown`.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let mut seen = Seen::default();
        let mut tick = tokio::time::interval(self.config.image_gc_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {
                    if let Err(e) = self.round(&mut seen).await {
                        tracing::warn!(error = %e, "image garbage collection");
                    }
                }
            }
        }
    }

    /// The image file system: where the runtime says its images live, else the kubelet's root.
    async fn image_fs(&self) -> PathBuf {
        let info = self.cri.image_fs_info().await.ok();
        info.and_then(|i| i.image_filesystems.into_iter().next())
            .and_then(|fs| fs.fs_id)
            .map(|id| PathBuf::from(id.mountpoint))
            .filter(|p| p.exists())
            .unwrap_or_else(|| self.config.root_dir.clone())
    }

    async fn round(&self, seen: &mut Seen) -> Result<(), crate::cri::CriError> {
        let now = Instant::now();
        let images = self.cri.list_images().await?;
        let containers = self.cri.list_containers(None).await?;
        // The sandbox image counts as used: every new pod needs it (older runtimes don't pin it).
        let in_use: HashSet<&str> = containers
            .iter()
            .flat_map(|c| [c.image_ref.as_str(), c.image.as_ref().map(|i| i.image.as_str()).unwrap_or_default()])
            .chain([crate::containerd::SANDBOX_IMAGE])
            .filter(|s| !s.is_empty())
            .collect();
        let used = |image: &Image| {
            in_use.contains(image.id.as_str())
                || image.repo_tags.iter().chain(&image.repo_digests).any(|n| in_use.contains(n.as_str()))
        };
        let present: HashSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
        seen.first.retain(|id, _| present.contains(id.as_str()));
        seen.used.retain(|id, _| present.contains(id.as_str()));
        let mut candidates = Vec::new();
        for image in &images {
            let first = *seen.first.entry(image.id.clone()).or_insert(now);
            if used(image) {
                seen.used.insert(image.id.clone(), now);
                continue;
            }
            if image.pinned {
                continue;
            }
            let last_used = seen.used.get(&image.id).copied().unwrap_or(first);
            candidates.push(Candidate { id: image.id.clone(), size: image.size, last_used, first_seen: first });
        }
        let fs = self.image_fs().await;
        let Some((capacity, available)) = crate::host::filesystem(&fs) else { return Ok(()) };
        let config = &self.config;
        let Some(to_free) =
            bytes_to_free(capacity, available, config.image_gc_high_threshold, config.image_gc_low_threshold)
        else {
            return Ok(());
        };
        let (chosen, _) = choose(candidates, to_free, config.image_minimum_gc_age, now);
        let mut freed = 0;
        for image in &chosen {
            match self.cri.remove_image(&image.id).await {
                Ok(()) => {
                    tracing::info!(image = %image.id, size = image.size, "removed an unused image to free disk space");
                    self.metrics.image_garbage_collected.inc();
                    freed += image.size;
                    seen.first.remove(&image.id);
                    seen.used.remove(&image.id);
                }
                // A container may have started on it since the listing.
                Err(e) => tracing::debug!(image = %image.id, error = %e, "image not removed"),
            }
        }
        if freed < to_free {
            let message = format!(
                "Failed to garbage collect required amount of images. Attempted to free {to_free} bytes, but only found {freed} bytes eligible to free."
            );
            tracing::warn!(file_system = %fs.display(), "{message}");
            self.recorder.warning(self.node_reference(), "FreeDiskSpaceFailed", "GarbageCollect", message);
        }
        Ok(())
    }

    fn node_reference(&self) -> ObjectReference {
        let name = self.config.node_name.clone();
        ObjectReference { kind: Some("Node".into()), name: Some(name.clone()), uid: Some(name), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, size: u64, last_used: Instant, first_seen: Instant) -> Candidate {
        Candidate { id: id.into(), size, last_used, first_seen }
    }

    #[test]
    fn least_recently_used_images_old_enough_go_first_until_enough_is_freed() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let now = at(1000);
        let candidates = vec![
            image("recent", 100, at(900), at(0)),
            image("oldest", 100, at(10), at(0)),
            image("young", 500, at(990), at(990)),
            image("older", 100, at(20), at(0)),
        ];
        let (chosen, freed) = choose(candidates.clone(), 150, Duration::from_secs(120), now);
        let ids: Vec<&str> = chosen.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["oldest", "older"]);
        assert_eq!(freed, 200);
        // Asking for more than there is takes everything eligible, never the young image.
        let (chosen, freed) = choose(candidates, 10_000, Duration::from_secs(120), now);
        assert_eq!(chosen.len(), 3);
        assert_eq!(freed, 300);
    }

    #[test]
    fn collection_starts_at_the_high_threshold_and_aims_for_the_low_one() {
        // 1000 bytes, 100 free: 90% used.
        assert_eq!(bytes_to_free(1000, 100, 85, 80), Some(100));
        assert_eq!(bytes_to_free(1000, 200, 85, 80), None);
        assert_eq!(bytes_to_free(1000, 150, 85, 80), Some(50));
        assert_eq!(bytes_to_free(1000, 100, 100, 80), None, "100 disables collection");
        assert_eq!(bytes_to_free(1000, 900, 0, 0), Some(100), "0/0 frees everything used");
        assert_eq!(bytes_to_free(0, 0, 85, 80), None);
    }
}

//! Periodic compaction, as kube-apiserver does it: every interval, compact to the revision that
//! was current one interval earlier, so every watcher always has at least one interval of
//! history to resume from.

use std::sync::Arc;
use std::time::Duration;

use crate::{Revision, Store, StoreError};

/// Upstream's `--etcd-compaction-interval` default.
pub const DEFAULT_COMPACTION_INTERVAL: Duration = Duration::from_secs(300);

pub struct Compactor;

impl Compactor {
    /// Runs until the returned task is aborted.
    pub fn spawn(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut previous: Option<Revision> = None;
            loop {
                ticker.tick().await;
                let status = match store.status().await {
                    Ok(status) => status,
                    Err(e) => {
                        tracing::warn!(error = %e, "compactor cannot read the store status");
                        continue;
                    }
                };
                if let Some(target) = previous.filter(|&t| t > status.compact_revision) {
                    match store.compact(target).await {
                        // Another apiserver on the same etcd got there first.
                        Ok(()) | Err(StoreError::Compacted { .. }) => {
                            tracing::debug!(revision = target, "compacted store history")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, revision = target, "store compaction failed")
                        }
                    }
                }
                previous = Some(status.revision);
            }
        })
    }
}

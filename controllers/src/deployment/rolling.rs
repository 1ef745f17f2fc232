//! RollingUpdate: grow the new ReplicaSet while the total stays within `replicas + maxSurge`,
//! shrink the old ones while the available pods stay at least `replicas - maxUnavailable`
//! (unavailable old pods go first, as they count for nothing). Also proportional scaling when
//! `spec.replicas` changes in the middle of a rollout.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::util::*;
use super::{Rollout, progress};
use crate::Error;

impl Rollout<'_> {
    pub(super) async fn rolling(&self, all: Vec<Arc<ReplicaSet>>) -> Result<Action, Error> {
        let desired = self.desired();
        let (surge, _) = surge_and_unavailable(self.d);
        let current: i32 = all.iter().map(|rs| replicas(rs)).sum();
        // A new ReplicaSet starts with what the surge allows right now.
        let initial = (desired + surge - current).clamp(0, desired);
        let (new, old, created) = self.new_replica_set(&all, Some(initial)).await?;
        let Some(new) = new else { return self.status(&all, created).await };
        let mut everything = old.clone();
        everything.push(new.clone());
        if created.is_none() && self.reconcile_new(&everything, &new).await? {
            return self.status(&self.state.sets_of(self.d), created).await;
        }
        if self.reconcile_old(&everything, &old, &new).await? {
            return self.status(&self.state.sets_of(self.d), created).await;
        }
        let now = self.state.sets_of(self.d);
        if progress::complete(self.d, &now, Some(&new)) {
            self.cleanup(&old).await?;
        }
        self.status(&now, created).await
    }

    /// Scales the new ReplicaSet towards `replicas` within the surge. Whether it changed.
    async fn reconcile_new(&self, all: &[Arc<ReplicaSet>], new: &ReplicaSet) -> Result<bool, Error> {
        let desired = self.desired();
        let size = replicas(new);
        if size == desired {
            return Ok(false);
        }
        if size > desired {
            return self.scale(new, desired).await;
        }
        let (surge, _) = surge_and_unavailable(self.d);
        let total: i32 = all.iter().map(|rs| replicas(rs)).sum();
        let room = desired + surge - total;
        if room <= 0 {
            return Ok(false);
        }
        self.scale(new, size + room.min(desired - size)).await
    }

    /// Scales old ReplicaSets down as far as availability allows. Whether any changed.
    async fn reconcile_old(
        &self,
        all: &[Arc<ReplicaSet>],
        old: &[Arc<ReplicaSet>],
        new: &ReplicaSet,
    ) -> Result<bool, Error> {
        let old_count: i32 = old.iter().map(|rs| replicas(rs)).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let (_, unavailable) = surge_and_unavailable(self.d);
        let min_available = self.desired() - unavailable;
        let total: i32 = all.iter().map(|rs| replicas(rs)).sum();
        let new_unavailable = replicas(new) - available(new);
        let mut budget = total - min_available - new_unavailable;
        if budget <= 0 {
            return Ok(false);
        }
        let mut by_age: Vec<&Arc<ReplicaSet>> = old.iter().filter(|rs| replicas(rs) > 0).collect();
        by_age.sort_by_key(|rs| (rs.creation_timestamp().map(|t| t.0), rs.name_any()));
        let mut changed = false;
        // First the old pods that are not available anyway.
        for rs in &by_age {
            if budget <= 0 {
                break;
            }
            let unhealthy = (replicas(rs) - available(rs)).max(0).min(budget);
            if unhealthy > 0 {
                changed |= self.scale(rs, replicas(rs) - unhealthy).await?;
                budget -= unhealthy;
            }
        }
        if changed {
            return Ok(true);
        }
        // Then available ones, as long as enough stay available.
        let available_now: i32 = all.iter().map(|rs| available(rs)).sum();
        let mut spare = available_now - min_available;
        for rs in by_age {
            if spare <= 0 {
                break;
            }
            let down = replicas(rs).min(spare);
            changed |= self.scale(rs, replicas(rs) - down).await?;
            spare -= down;
        }
        Ok(changed)
    }
}

/// Sizes the active ReplicaSets after `spec.replicas` changed (or while paused).
pub(super) async fn scale(sync: &Rollout<'_>, new: Option<&ReplicaSet>, old: &[Arc<ReplicaSet>]) -> Result<(), Error> {
    let desired = sync.desired();
    let mut active: Vec<&ReplicaSet> = old.iter().map(|rs| &**rs).filter(|rs| replicas(rs) > 0).collect();
    if let Some(new) = new.filter(|n| replicas(n) > 0) {
        active.push(new);
    }
    // One active ReplicaSet (or none: the newest one) takes the whole size.
    if active.len() <= 1 {
        let target =
            active.first().copied().or(new).or_else(|| old.iter().map(|rs| &**rs).max_by_key(|rs| revision(rs)));
        if let Some(rs) = target {
            sync.scale(rs, desired).await?;
        }
        return Ok(());
    }
    // A saturated new ReplicaSet: the old ones are done.
    if let Some(new) = new.filter(|n| replicas(n) == desired && available(n) >= desired) {
        for rs in old.iter().filter(|rs| replicas(rs) > 0) {
            sync.scale(rs, 0).await?;
        }
        return sync.scale(new, desired).await.map(|_| ());
    }
    // Spread the difference in proportion to the current sizes: additions to the newest
    // first, removals from the oldest first, leftovers to the first in that order.
    let allowed = if desired > 0 { desired + surge_and_unavailable(sync.d).0 } else { 0 };
    let total: i32 = active.iter().map(|rs| replicas(rs)).sum();
    let difference = allowed - total;
    if difference == 0 || total == 0 {
        return Ok(());
    }
    active.sort_by_key(|rs| (rs.creation_timestamp().map(|t| t.0), rs.name_any()));
    if difference > 0 {
        active.reverse();
    }
    let mut shares: Vec<i32> = active.iter().map(|rs| difference * replicas(rs) / total).collect();
    let leftover = difference - shares.iter().sum::<i32>();
    shares[0] += leftover;
    for (rs, share) in active.iter().zip(shares) {
        sync.scale(rs, (replicas(rs) + share).max(0)).await?;
    }
    Ok(())
}

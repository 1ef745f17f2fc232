//! The scheduling queue (upstream's `PriorityQueue`): pods waiting to be scheduled in three
//! places — activeQ (ready now, highest `spec.priority` first, then oldest), backoffQ (failed
//! recently; each pod waits 1 s, doubling per attempt up to 10 s) and the unschedulable pods,
//! parked until a cluster event may help them (a node added or changed, a pod's resources
//! freed) or for at most 5 minutes.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::framework::PodInfo;

pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// upstream's podMaxInUnschedulablePodsDuration.
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Active,
    Backoff,
    Unschedulable,
    /// Popped, being scheduled: its outcome decides where it goes next.
    InFlight,
}

pub struct QueuedPod {
    pub pod: Arc<PodInfo>,
    pub attempts: u32,
    /// When the pod first entered the queue.
    pub initial: Instant,
    /// When it last entered activeQ or was parked.
    timestamp: Instant,
    place: Where,
    /// Bumped whenever the pod moves, so stale heap entries are skipped.
    generation: u64,
    /// The scheduling cycle it was popped in.
    cycle: u64,
}

impl QueuedPod {
    fn backoff(&self) -> Duration {
        let shift = self.attempts.saturating_sub(1).min(16);
        INITIAL_BACKOFF.saturating_mul(1 << shift).min(MAX_BACKOFF)
    }

    fn backoff_until(&self) -> Instant {
        self.timestamp + self.backoff()
    }
}

#[derive(PartialEq, Eq)]
struct ActiveEntry {
    priority: i32,
    timestamp: Instant,
    seq: u64,
    key: Arc<str>,
    generation: u64,
}

impl Ord for ActiveEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: higher priority first, then the earlier timestamp, then arrival order.
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.timestamp.cmp(&self.timestamp))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for ActiveEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// (backoff expiry, arrival, pod key, the pod's generation when pushed)
type BackoffEntry = Reverse<(Instant, u64, Arc<str>, u64)>;

#[derive(Default)]
pub struct SchedulingQueue {
    pods: HashMap<Arc<str>, QueuedPod>,
    active: BinaryHeap<ActiveEntry>,
    backoff: BinaryHeap<BackoffEntry>,
    seq: u64,
    scheduling_cycle: u64,
    /// The cycle of the last move request: a pod that failed in an earlier-started cycle
    /// may have missed the event, so it goes to backoffQ instead of being parked.
    move_request_cycle: u64,
    counts: [usize; 4],
}

/// Sizes by queue, for the `scheduler_pending_pods` gauge.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
}

impl SchedulingQueue {
    fn count(&mut self, place: Where, delta: isize) {
        let i = place as usize;
        self.counts[i] = self.counts[i].saturating_add_signed(delta);
    }

    fn push_active(&mut self, key: Arc<str>, now: Instant) {
        let Some(q) = self.pods.get_mut(&key) else { return };
        let old = q.place;
        q.place = Where::Active;
        q.timestamp = now;
        q.generation += 1;
        self.seq += 1;
        let entry =
            ActiveEntry { priority: q.pod.priority, timestamp: now, seq: self.seq, key, generation: q.generation };
        self.active.push(entry);
        self.count(old, -1);
        self.count(Where::Active, 1);
    }

    fn push_backoff(&mut self, key: Arc<str>) {
        let Some(q) = self.pods.get_mut(&key) else { return };
        let old = q.place;
        q.place = Where::Backoff;
        q.generation += 1;
        let until = q.backoff_until();
        self.seq += 1;
        self.backoff.push(Reverse((until, self.seq, key, q.generation)));
        self.count(old, -1);
        self.count(Where::Backoff, 1);
    }

    /// A new pending pod (or one seen again after a relist).
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Instant) {
        if self.pods.contains_key(pod.key.as_str()) {
            self.update(pod, now);
            return;
        }
        let key: Arc<str> = pod.key.as_str().into();
        self.pods.insert(
            key.clone(),
            QueuedPod {
                pod,
                attempts: 0,
                initial: now,
                timestamp: now,
                place: Where::InFlight,
                generation: 0,
                cycle: 0,
            },
        );
        self.count(Where::InFlight, 1);
        self.push_active(key, now);
    }

    /// The pod changed: keep its place, except that a parked pod whose spec changed gets
    /// another try (upstream moves it when the update may make it schedulable).
    pub fn update(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let Some(key) = self.pods.get_key_value(pod.key.as_str()).map(|(k, _)| k.clone()) else {
            self.add(pod, now);
            return;
        };
        let Some(q) = self.pods.get_mut(&key) else { return };
        let changed = scheduling_relevant_change(&q.pod, &pod);
        let priority_changed = q.pod.priority != pod.priority;
        q.pod = pod;
        match q.place {
            Where::Unschedulable if changed => {
                if q.backoff_until() > now {
                    self.push_backoff(key);
                } else {
                    self.push_active(key, now);
                }
            }
            // The heap orders by priority: re-push under the new one.
            Where::Active if priority_changed => {
                let ts = q.timestamp;
                self.push_active(key, ts);
            }
            _ => {}
        }
    }

    pub fn delete(&mut self, key: &str) {
        if let Some(q) = self.pods.remove(key) {
            self.count(q.place, -1);
        }
    }

    pub fn keys(&self) -> Vec<String> {
        self.pods.keys().map(|k| k.to_string()).collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// The next pod to schedule, marked in flight; the caller reports the outcome with
    /// `done` (scheduled) or `requeue_*`.
    pub fn pop(&mut self) -> Option<(Arc<PodInfo>, u32, Instant)> {
        while let Some(entry) = self.active.pop() {
            let Some(q) = self.pods.get_mut(&entry.key) else { continue };
            if q.generation != entry.generation || q.place != Where::Active {
                continue;
            }
            self.scheduling_cycle += 1;
            q.place = Where::InFlight;
            q.attempts += 1;
            q.cycle = self.scheduling_cycle;
            let out = (q.pod.clone(), q.attempts, q.initial);
            self.count(Where::Active, -1);
            self.count(Where::InFlight, 1);
            return Some(out);
        }
        None
    }

    pub fn has_active(&self) -> bool {
        self.counts[Where::Active as usize] > 0
    }

    /// The pod was placed (assumed on a node): it leaves the queue.
    pub fn done(&mut self, key: &str) {
        self.delete(key);
    }

    /// The pod did not fit: parked until a cluster event, or in backoffQ if such an event
    /// came while it was being scheduled.
    pub fn requeue_unschedulable(&mut self, key: &str, now: Instant) {
        let Some(key) = self.pods.get_key_value(key).map(|(k, _)| k.clone()) else { return };
        let Some(q) = self.pods.get_mut(&key) else { return };
        if q.place != Where::InFlight {
            return;
        }
        q.timestamp = now;
        if self.move_request_cycle >= q.cycle {
            self.push_backoff(key);
        } else {
            q.place = Where::Unschedulable;
            q.generation += 1;
            self.count(Where::InFlight, -1);
            self.count(Where::Unschedulable, 1);
        }
    }

    /// An error (API failure, failed binding): retried after its backoff.
    pub fn requeue_backoff(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let key: Arc<str> = pod.key.as_str().into();
        match self.pods.get_mut(&key) {
            Some(q) => {
                q.timestamp = now;
                q.pod = pod;
            }
            None => {
                // A pod whose binding failed has already left the queue: it comes back.
                self.pods.insert(
                    key.clone(),
                    QueuedPod {
                        pod,
                        attempts: 1,
                        initial: now,
                        timestamp: now,
                        place: Where::InFlight,
                        generation: 0,
                        cycle: self.scheduling_cycle,
                    },
                );
                self.count(Where::InFlight, 1);
            }
        }
        self.push_backoff(key);
    }

    /// A cluster event that may make parked pods schedulable: all of them are retried (those
    /// still in their backoff via backoffQ).
    pub fn move_all_to_active_or_backoff(&mut self, now: Instant) {
        self.move_request_cycle = self.scheduling_cycle;
        let parked: Vec<Arc<str>> =
            self.pods.iter().filter(|(_, q)| q.place == Where::Unschedulable).map(|(k, _)| k.clone()).collect();
        for key in parked {
            self.retry(key, now);
        }
    }

    fn retry(&mut self, key: Arc<str>, now: Instant) {
        let Some(q) = self.pods.get(&key) else { return };
        if q.backoff_until() > now {
            self.push_backoff(key);
        } else {
            self.push_active(key, now);
        }
    }

    /// Moves pods whose backoff expired to activeQ, and pods parked for longer than
    /// `MAX_UNSCHEDULABLE` back to be tried again. Returns when to call again at the latest.
    pub fn flush(&mut self, now: Instant) -> Instant {
        while let Some(Reverse((until, _, key, generation))) = self.backoff.peek().cloned() {
            let current = self.pods.get(&key).is_some_and(|q| q.generation == generation && q.place == Where::Backoff);
            if !current {
                self.backoff.pop();
                continue;
            }
            if until > now {
                break;
            }
            self.backoff.pop();
            self.push_active(key, now);
        }
        if self.counts[Where::Unschedulable as usize] > 0 {
            let stale: Vec<Arc<str>> = self
                .pods
                .iter()
                .filter(|(_, q)| {
                    q.place == Where::Unschedulable && now.duration_since(q.timestamp) >= MAX_UNSCHEDULABLE
                })
                .map(|(k, _)| k.clone())
                .collect();
            for key in stale {
                self.retry(key, now);
            }
        }
        let next_backoff = self.backoff.peek().map(|Reverse((until, ..))| *until);
        next_backoff.unwrap_or(now + Duration::from_secs(1)).min(now + Duration::from_secs(1))
    }

    pub fn pending(&self) -> Pending {
        Pending {
            active: self.counts[Where::Active as usize],
            backoff: self.counts[Where::Backoff as usize],
            unschedulable: self.counts[Where::Unschedulable as usize],
        }
    }
}

/// Whether an update to a pending pod could change where (or whether) it fits.
fn scheduling_relevant_change(old: &PodInfo, new: &PodInfo) -> bool {
    old.requests != new.requests
        || old.labels != new.labels
        || old.node_selector != new.node_selector
        || old.required_node_terms != new.required_node_terms
        || old.tolerations != new.tolerations
        || old.required_affinity != new.required_affinity
        || old.required_anti_affinity != new.required_anti_affinity
        || old.spread_constraints != new.spread_constraints
        || old.priority != new.priority
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, priority: i32) -> Arc<PodInfo> {
        Arc::new(PodInfo { key: format!("ns/{name}"), name: name.into(), priority, ..PodInfo::default() })
    }

    #[test]
    fn active_pods_come_out_by_priority_then_age() {
        let mut q = SchedulingQueue::default();
        let t = Instant::now();
        q.add(pod("low", 0), t);
        q.add(pod("high", 100), t + Duration::from_millis(2));
        q.add(pod("low-later", 0), t + Duration::from_millis(1));
        let order: Vec<String> = std::iter::from_fn(|| q.pop()).map(|(p, _, _)| p.name.clone()).collect();
        assert_eq!(order, ["high", "low", "low-later"]);
    }

    #[test]
    fn unschedulable_pods_wait_for_an_event_then_their_backoff() {
        let mut q = SchedulingQueue::default();
        let t = Instant::now();
        q.add(pod("a", 0), t);
        let (p, attempts, _) = q.pop().unwrap();
        assert_eq!(attempts, 1);
        q.requeue_unschedulable(&p.key, t);
        assert_eq!(q.pending(), Pending { active: 0, backoff: 0, unschedulable: 1 });
        q.flush(t + Duration::from_secs(60));
        assert!(q.pop().is_none(), "parked, not retried by time alone before 5 minutes");
        // An event within its 1 s backoff sends it to backoffQ; it becomes active after.
        q.move_all_to_active_or_backoff(t + Duration::from_millis(500));
        assert_eq!(q.pending().backoff, 1);
        q.flush(t + Duration::from_millis(900));
        assert!(q.pop().is_none());
        q.flush(t + Duration::from_millis(1001));
        let (_, attempts, _) = q.pop().unwrap();
        assert_eq!(attempts, 2);
        // The second failure backs off 2 s; parked pods come back after 5 minutes anyway.
        q.requeue_unschedulable("ns/a", t + Duration::from_secs(2));
        q.flush(t + Duration::from_secs(2) + MAX_UNSCHEDULABLE);
        assert_eq!(q.pending().active, 1);
    }

    #[test]
    fn an_event_during_the_attempt_sends_the_pod_to_backoff_not_to_the_parking() {
        let mut q = SchedulingQueue::default();
        let t = Instant::now();
        q.add(pod("a", 0), t);
        let (p, _, _) = q.pop().unwrap();
        q.move_all_to_active_or_backoff(t);
        q.requeue_unschedulable(&p.key, t);
        assert_eq!(q.pending(), Pending { active: 0, backoff: 1, unschedulable: 0 });
    }

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let mut qp = QueuedPod {
            pod: pod("a", 0),
            attempts: 1,
            initial: Instant::now(),
            timestamp: Instant::now(),
            place: Where::Backoff,
            generation: 0,
            cycle: 0,
        };
        let mut seen = vec![];
        for attempts in 1..=6 {
            qp.attempts = attempts;
            seen.push(qp.backoff().as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn deleted_pods_leave_every_queue() {
        let mut q = SchedulingQueue::default();
        let t = Instant::now();
        q.add(pod("a", 0), t);
        q.delete("ns/a");
        assert!(q.pop().is_none());
        assert_eq!(q.pending(), Pending::default());
    }
}

//! Back-off between restarts of a crashing container and between image pulls (upstream's
//! `flowcontrol.Backoff` as the kubelet uses it): the first retry is immediate, then 10 s,
//! doubling up to 5 minutes; an entry untouched for twice the maximum starts over.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const INITIAL: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug)]
struct Entry {
    delay: Duration,
    last: Instant,
}

#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(INITIAL, MAX)
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, entries: HashMap::new() }
    }

    fn fresh(&self, key: &str, now: Instant) -> Option<Entry> {
        self.entries.get(key).copied().filter(|e| now.duration_since(e.last) < self.max * 2)
    }

    /// When `key` may be tried again, if it is backing off at `now`.
    pub fn waiting_until(&self, key: &str, now: Instant) -> Option<Instant> {
        let entry = self.fresh(key, now)?;
        let until = entry.last + entry.delay;
        (until > now).then_some(until)
    }

    /// The current delay of `key` (for messages: "back-off 20s restarting ...").
    pub fn delay(&self, key: &str, now: Instant) -> Duration {
        self.fresh(key, now).map(|e| e.delay).unwrap_or(self.initial)
    }

    /// Records a try of `key` at `now`: the next one waits longer.
    pub fn next(&mut self, key: &str, now: Instant) {
        let delay = match self.fresh(key, now) {
            Some(e) => (e.delay * 2).min(self.max),
            None => self.initial,
        };
        self.entries.insert(key.to_string(), Entry { delay, last: now });
    }

    pub fn reset(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_and_expire() {
        let mut backoff = Backoff::default();
        let t0 = Instant::now();
        assert_eq!(backoff.waiting_until("c", t0), None, "the first try is immediate");
        backoff.next("c", t0);
        assert_eq!(backoff.waiting_until("c", t0), Some(t0 + INITIAL));
        assert_eq!(backoff.waiting_until("c", t0 + INITIAL), None);
        let t1 = t0 + INITIAL;
        backoff.next("c", t1);
        assert_eq!(backoff.delay("c", t1), Duration::from_secs(20));
        let mut t = t1;
        for _ in 0..10 {
            t += backoff.delay("c", t);
            backoff.next("c", t);
        }
        assert_eq!(backoff.delay("c", t), MAX);
        assert_eq!(backoff.waiting_until("c", t + MAX * 2), None, "an old entry starts over");
        backoff.reset("c");
        assert_eq!(backoff.waiting_until("c", t), None);
    }
}

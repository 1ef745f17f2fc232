//! Creation/deletion expectations (upstream's ControllerExpectations): after a controller asks
//! for N pods to be created or deleted, it must not act on its cache again until the cache has
//! seen those N changes, or it would create (or delete) them twice. Expectations expire after
//! five minutes so that a lost watch event cannot wedge a controller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long unmet expectations hold (upstream's ExpectationsTimeout).
pub const TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy)]
struct Expected {
    adds: i64,
    dels: i64,
    set: Instant,
}

/// Expectations keyed by controller object (`namespace/name`).
#[derive(Debug, Default)]
pub struct Expectations {
    by_key: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    /// A poisoned lock is recovered: every critical section here is one map operation, so
    /// the map is whole; skipping it instead would report unmet expectations as satisfied and
    /// let the controller act twice.
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Expected>) -> T) -> T {
        f(&mut self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Whether the cache has caught up with what `key` last asked for (or nothing is expected).
    pub fn satisfied(&self, key: &str) -> bool {
        self.with(|map| match map.get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.dels <= 0) || e.set.elapsed() > TIMEOUT,
        })
    }

    /// Records that `key` is about to create `adds` and delete `dels` objects.
    pub fn expect(&self, key: &str, adds: i64, dels: i64) {
        self.with(|map| map.insert(key.to_string(), Expected { adds, dels, set: Instant::now() }));
    }

    /// A creation was seen in the cache (or will never happen: a failed create).
    pub fn creation_observed(&self, key: &str) {
        self.with(|map| map.get_mut(key).map(|e| e.adds -= 1));
    }

    /// A deletion was seen in the cache (or will never happen: a failed delete).
    pub fn deletion_observed(&self, key: &str) {
        self.with(|map| map.get_mut(key).map(|e| e.dels -= 1));
    }

    /// Forgets `key` (its object was deleted).
    pub fn forget(&self, key: &str) {
        self.with(|map| map.remove(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_once_every_expected_change_is_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"), "nothing expected");
        e.expect("ns/rs", 2, 1);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        e.deletion_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"), "one creation still missing");
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        // Observations for other controllers or unknown keys change nothing.
        e.creation_observed("ns/other");
        assert!(e.satisfied("ns/other"));
        e.expect("ns/rs", 1, 0);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}

#[cfg(test)]
mod poison {
    use super::*;

    #[test]
    fn a_poisoned_lock_never_reports_unmet_expectations_as_satisfied() {
        let e = std::sync::Arc::new(Expectations::default());
        e.expect("ns/rs", 1, 0);
        let poisoner = e.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.by_key.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(e.by_key.is_poisoned());
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}

//! The in-memory key index (etcd's `treeIndex`): for every key, the revisions at which it was
//! written or deleted since the last compaction, in order.
//!
//! It is derived state: rebuilt from the history table at start-up, and only ever shows
//! committed revisions (the writer adds a group's revisions after its commit). Keeping it in
//! memory means a write touches one place on disk (the append-only history table) instead of a
//! second, randomly ordered B-tree, and a range or a count is a walk over a sorted map.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// One write of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rev {
    pub revision: u64,
    pub tombstone: bool,
}

#[derive(Debug, Default)]
pub(super) struct Index {
    keys: BTreeMap<Arc<str>, Vec<Rev>>,
    /// Last committed (and indexed) revision.
    pub revision: u64,
    /// Reads below this revision are refused.
    pub compact_revision: u64,
}

impl Index {
    /// The key's newest write, live or tombstone.
    pub fn latest(&self, key: &str) -> Option<Rev> {
        self.keys.get(key).and_then(|revs| revs.last().copied())
    }

    /// The revision of the version of `key` visible at `revision`, if the key existed then.
    pub fn at(&self, key: &str, revision: u64) -> Option<u64> {
        visible(self.keys.get(key)?, revision)
    }

    /// Keys under `prefix` from `start` on, in order, with the revision of their version
    /// visible at `revision` (keys that did not exist then are skipped).
    pub fn range<'a>(
        &'a self,
        prefix: &'a str,
        start: &'a str,
        revision: u64,
    ) -> impl Iterator<Item = (&'a Arc<str>, u64)> + 'a {
        self.keys
            .range::<str, _>((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(prefix))
            .filter_map(move |(key, revs)| visible(revs, revision).map(|rev| (key, rev)))
    }

    /// Records a committed write. Revisions arrive in increasing order.
    pub fn push(&mut self, key: Arc<str>, rev: Rev) {
        self.keys.entry(key).or_default().push(rev);
    }

    /// Drops, for up to `max_keys` keys after `after`, every revision a read at `target` or later
    /// can no longer need: all but the newest at or below `target`, and that one too if it is a
    /// tombstone. Returns the dropped revisions (to delete from history; only ever below
    /// `target`) and the key to continue after, if any.
    pub fn compact(&mut self, target: u64, after: Option<&str>, max_keys: usize) -> (Vec<u64>, Option<Arc<str>>) {
        let lower = match after {
            Some(key) => Bound::Excluded(key),
            None => Bound::Unbounded,
        };
        let mut dropped = Vec::new();
        let mut emptied = Vec::new();
        let mut last = None;
        for (n, (key, revs)) in self.keys.range_mut::<str, _>((lower, Bound::Unbounded)).enumerate() {
            if n == max_keys {
                break;
            }
            last = Some(key.clone());
            // Index of the newest revision at or below target.
            let keep = revs.partition_point(|r| r.revision <= target);
            if keep == 0 {
                continue;
            }
            let keeper = revs[keep - 1];
            let drop_keeper = keeper.tombstone && keeper.revision < target;
            let cut = if drop_keeper { keep } else { keep - 1 };
            dropped.extend(revs.drain(..cut).map(|r| r.revision));
            if revs.is_empty() {
                emptied.push(key.clone());
            }
        }
        for key in emptied {
            self.keys.remove(&key);
        }
        let more = match &last {
            Some(key) => self.keys.range::<str, _>((Bound::Excluded(&**key), Bound::Unbounded)).next().is_some(),
            None => false,
        };
        (dropped, if more { last } else { None })
    }

    /// Keys that exist at the current revision.
    pub fn live_keys(&self) -> usize {
        self.keys.values().filter(|revs| revs.last().is_some_and(|r| !r.tombstone)).count()
    }
}

fn visible(revs: &[Rev], revision: u64) -> Option<u64> {
    let n = revs.partition_point(|r| r.revision <= revision);
    let rev = revs[..n].last()?;
    (!rev.tombstone).then_some(rev.revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(writes: &[(&str, u64, bool)]) -> Index {
        let mut index = Index::default();
        for &(key, revision, tombstone) in writes {
            index.push(Arc::from(key), Rev { revision, tombstone });
            index.revision = revision;
        }
        index
    }

    #[test]
    fn visible_version_follows_writes_and_deletes() {
        let idx = index(&[("a", 1, false), ("a", 3, false), ("a", 5, true), ("a", 7, false)]);
        let cases = [
            (0, None),
            (1, Some(1)),
            (2, Some(1)),
            (3, Some(3)),
            (4, Some(3)),
            (5, None),
            (6, None),
            (7, Some(7)),
            (9, Some(7)),
        ];
        for (at, want) in cases {
            assert_eq!(idx.at("a", at), want, "at revision {at}");
        }
        assert_eq!(idx.at("b", 9), None);
    }

    #[test]
    fn range_stays_under_prefix_and_skips_absent_keys() {
        let idx =
            index(&[("/p/a", 1, false), ("/p/b", 2, false), ("/p0", 3, false), ("/p/b", 4, true), ("/p/c", 5, false)]);
        let at = |rev| idx.range("/p/", "/p/", rev).map(|(k, r)| (k.to_string(), r)).collect::<Vec<_>>();
        assert_eq!(at(2), [("/p/a".to_string(), 1), ("/p/b".to_string(), 2)]);
        assert_eq!(at(5), [("/p/a".to_string(), 1), ("/p/c".to_string(), 5)]);
        let from_b: Vec<_> = idx.range("/p/", "/p/b", 5).map(|(k, _)| k.to_string()).collect();
        assert_eq!(from_b, ["/p/c"]);
    }

    #[test]
    fn compaction_keeps_what_reads_at_target_need() {
        let mut idx = index(&[
            ("a", 1, false),
            ("a", 2, false),
            ("b", 3, false),
            ("b", 4, true),
            ("a", 5, false),
            ("c", 6, false),
            ("c", 7, true),
        ]);
        let (mut dropped, next) = idx.compact(6, None, 100);
        dropped.sort();
        // a: 1 superseded by 2 (kept: newest at 6 is 5, so 2 goes too); b: deleted before 6;
        // c: written at 6, deleted after: 6 stays.
        assert_eq!(dropped, [1, 2, 3, 4]);
        assert_eq!(next, None);
        assert_eq!((idx.at("a", 6), idx.at("b", 6), idx.at("c", 6), idx.at("c", 7)), (Some(5), None, Some(6), None));
        assert_eq!(idx.latest("b"), None, "a key deleted before the target leaves the index");
    }

    #[test]
    fn compaction_goes_in_chunks_of_keys() {
        let mut idx = index(&[
            ("a", 1, false),
            ("a", 2, false),
            ("b", 3, false),
            ("b", 4, false),
            ("c", 5, false),
            ("c", 6, false),
        ]);
        let (d1, next) = idx.compact(6, None, 2);
        assert_eq!((d1, next.as_deref()), (vec![1, 3], Some("b")));
        let (d2, next) = idx.compact(6, Some("b"), 2);
        assert_eq!((d2, next), (vec![5], None));
    }
}

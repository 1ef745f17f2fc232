//! The MVCC layer over redb: table layout, record encoding, reads at a revision, writes and
//! compaction. Everything here runs inside one redb transaction and does no I/O of its own.
//!
//! Layout (one redb file):
//! - `history`: revision -> the record written at that revision (put or tombstone), with the
//!   revision of the key's previous record. This is the revision log watches replay, and the
//!   per-key version chain reads at past revisions walk.
//! - `latest`: key -> the key's newest record (tombstones included until compaction drops them),
//!   so reads at the current revision are one ordered scan and need no chain walk.
//! - `meta`: format version, current revision, compaction state.
//!
//! Invariant: every history record with revision >= the compact revision exists, and for each
//! key the newest record at or below the compact revision exists unless it was a tombstone.
//! A chain walk from `latest` towards the past therefore never meets a hole above the compact
//! revision; a hole below it means "the key did not exist".

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use redb::{ReadableTable, TableDefinition};

use crate::{
    Event, EventKind, KeyValue, RangeRequest, RangeResponse, Revision, StoreError, WatchRequest,
    prefix_end,
};

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const LATEST: TableDefinition<&[u8], &[u8]> = TableDefinition::new("latest");
pub(super) const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");

pub(super) const FORMAT_VERSION: u64 = 1;
pub(super) const META_FORMAT: &str = "format";
pub(super) const META_REVISION: &str = "revision";
pub(super) const META_COMPACT: &str = "compact_revision";
/// History below this revision has been physically compacted; between it and META_COMPACT a
/// compaction is still under way (resumed at start-up).
pub(super) const META_COMPACT_DONE: &str = "compact_done";

const TOMBSTONE: u8 = 1;

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("malformed {what} record"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(word)
}

/// A key's newest record, as stored in `latest`: flags, create, mod, version, value.
#[derive(Clone, Copy, Debug)]
pub(super) struct Latest<'a> {
    pub tombstone: bool,
    pub create_revision: u64,
    pub mod_revision: u64,
    pub version: u64,
    pub value: &'a [u8],
}

const LATEST_HEADER: usize = 1 + 8 * 3;

impl<'a> Latest<'a> {
    pub fn decode(b: &'a [u8]) -> Result<Self, StoreError> {
        if b.len() < LATEST_HEADER {
            return Err(corrupt("latest"));
        }
        Ok(Self {
            tombstone: b[0] & TOMBSTONE != 0,
            create_revision: u64_at(b, 1),
            mod_revision: u64_at(b, 9),
            version: u64_at(b, 17),
            value: &b[LATEST_HEADER..],
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(LATEST_HEADER + self.value.len());
        b.push(if self.tombstone { TOMBSTONE } else { 0 });
        b.extend_from_slice(&self.create_revision.to_le_bytes());
        b.extend_from_slice(&self.mod_revision.to_le_bytes());
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(self.value);
        b
    }

    fn key_value(&self, key: &Arc<str>) -> KeyValue {
        KeyValue {
            key: key.clone(),
            value: Bytes::copy_from_slice(self.value),
            create_revision: self.create_revision as i64,
            mod_revision: self.mod_revision as i64,
            version: self.version as i64,
        }
    }
}

/// The record written at one revision, as stored in `history`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Record<'a> {
    pub tombstone: bool,
    pub create_revision: u64,
    pub version: u64,
    /// The key's previous record (0: none).
    pub prev_revision: u64,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

const RECORD_HEADER: usize = 1 + 8 * 3 + 4;

impl<'a> Record<'a> {
    pub fn decode(b: &'a [u8]) -> Result<Self, StoreError> {
        if b.len() < RECORD_HEADER {
            return Err(corrupt("history"));
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&b[25..29]);
        let key_end = RECORD_HEADER + u32::from_le_bytes(len) as usize;
        if b.len() < key_end {
            return Err(corrupt("history"));
        }
        Ok(Self {
            tombstone: b[0] & TOMBSTONE != 0,
            create_revision: u64_at(b, 1),
            version: u64_at(b, 9),
            prev_revision: u64_at(b, 17),
            key: &b[RECORD_HEADER..key_end],
            value: &b[key_end..],
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(RECORD_HEADER + self.key.len() + self.value.len());
        b.push(if self.tombstone { TOMBSTONE } else { 0 });
        b.extend_from_slice(&self.create_revision.to_le_bytes());
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&self.prev_revision.to_le_bytes());
        b.extend_from_slice(&(self.key.len() as u32).to_le_bytes());
        b.extend_from_slice(self.key);
        b.extend_from_slice(self.value);
        b
    }

    fn key_value(&self, key: &Arc<str>, revision: u64) -> KeyValue {
        KeyValue {
            key: key.clone(),
            value: Bytes::copy_from_slice(self.value),
            create_revision: self.create_revision as i64,
            mod_revision: revision as i64,
            version: self.version as i64,
        }
    }
}

fn key_str(b: &[u8]) -> Result<Arc<str>, StoreError> {
    std::str::from_utf8(b)
        .map(Arc::from)
        .map_err(|_| corrupt("key"))
}

/// The version of a key visible at `revision`, starting from its `latest` record and walking
/// the chain of previous records in `history`.
fn version_at<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    key: &Arc<str>,
    latest: Latest<'_>,
    revision: u64,
) -> Result<Option<KeyValue>, StoreError> {
    if latest.mod_revision <= revision {
        return Ok((!latest.tombstone).then(|| latest.key_value(key)));
    }
    let mut prev = latest_prev(history, latest)?;
    loop {
        if prev == 0 {
            return Ok(None);
        }
        let Some(guard) = history.get(prev).map_err(unavailable)? else {
            // Compacted away: it was a tombstone (see the module invariant).
            return Ok(None);
        };
        let rec = Record::decode(guard.value())?;
        if prev <= revision {
            return Ok((!rec.tombstone).then(|| rec.key_value(key, prev)));
        }
        prev = rec.prev_revision;
    }
}

/// `latest` does not store the previous revision; it is in the history record at mod_revision.
fn latest_prev<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    latest: Latest<'_>,
) -> Result<u64, StoreError> {
    match history.get(latest.mod_revision).map_err(unavailable)? {
        Some(guard) => Ok(Record::decode(guard.value())?.prev_revision),
        None => Ok(0),
    }
}

/// Resolves a requested read revision (0: current) against the store's current and compact
/// revisions.
pub(super) fn resolve_revision(
    requested: Revision,
    current: u64,
    compacted: u64,
) -> Result<u64, StoreError> {
    if requested < 0 {
        return Err(StoreError::InvalidArgument(format!(
            "negative revision {requested}"
        )));
    }
    let requested = requested as u64;
    if requested == 0 {
        return Ok(current);
    }
    if requested > current {
        return Err(StoreError::FutureRevision {
            requested: requested as i64,
            current: current as i64,
        });
    }
    if requested < compacted {
        return Err(StoreError::Compacted {
            requested: requested as i64,
            compacted: compacted as i64,
        });
    }
    Ok(requested)
}

pub(super) fn get<L, H>(
    latest: &L,
    history: &H,
    key: &str,
    revision: u64,
) -> Result<Option<KeyValue>, StoreError>
where
    L: ReadableTable<&'static [u8], &'static [u8]>,
    H: ReadableTable<u64, &'static [u8]>,
{
    let Some(guard) = latest.get(key.as_bytes()).map_err(unavailable)? else {
        return Ok(None);
    };
    let entry = Latest::decode(guard.value())?;
    version_at(history, &Arc::from(key), entry, revision)
}

pub(super) fn range<L, H>(
    latest: &L,
    history: &H,
    req: &RangeRequest,
    revision: u64,
    current: u64,
) -> Result<RangeResponse, StoreError>
where
    L: ReadableTable<&'static [u8], &'static [u8]>,
    H: ReadableTable<u64, &'static [u8]>,
{
    let start = match &req.start {
        Some(start) if !start.starts_with(&req.prefix) => {
            return Err(StoreError::InvalidArgument(format!(
                "start key {start:?} is outside prefix {:?}",
                req.prefix
            )));
        }
        Some(start) => start.as_bytes(),
        None => req.prefix.as_bytes(),
    };
    let end = prefix_end(req.prefix.as_bytes());
    let iter = if end.is_empty() {
        latest.range::<&[u8]>(start..).map_err(unavailable)?
    } else {
        latest
            .range::<&[u8]>(start..end.as_slice())
            .map_err(unavailable)?
    };
    let mut kvs = Vec::new();
    let mut count = 0i64;
    for item in iter {
        let (k, v) = item.map_err(unavailable)?;
        let entry = Latest::decode(v.value())?;
        let full = req.limit != 0 && kvs.len() >= req.limit;
        if revision == current {
            // Fast path: the newest record is the answer; no chain walk, no key decoding for
            // entries past the limit.
            if entry.tombstone {
                continue;
            }
            count += 1;
            if !full {
                kvs.push(entry.key_value(&key_str(k.value())?));
            }
        } else if let Some(kv) = version_at(history, &key_str(k.value())?, entry, revision)? {
            count += 1;
            if !full {
                kvs.push(kv);
            }
        }
    }
    Ok(RangeResponse {
        more: (kvs.len() as i64) < count,
        kvs,
        count,
        revision: revision as i64,
    })
}

/// Reads history from `from` (inclusive) for a watch: at most `max_events` matching events,
/// scanning at most `max_scan` revisions. Returns the events and the next revision to read.
pub(super) fn read_history<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    watch: &WatchRequest,
    from: u64,
    until: u64,
    max_events: usize,
    max_scan: usize,
) -> Result<(Vec<Event>, u64), StoreError> {
    let mut events = Vec::new();
    let mut next = from;
    for (scanned, item) in history
        .range(from..=until)
        .map_err(unavailable)?
        .enumerate()
    {
        if scanned == max_scan {
            return Ok((events, next));
        }
        let (rev, v) = item.map_err(unavailable)?;
        let rev = rev.value();
        next = rev + 1;
        let rec = Record::decode(v.value())?;
        let key = std::str::from_utf8(rec.key).map_err(|_| corrupt("key"))?;
        if !watch.matches(key) {
            continue;
        }
        let key: Arc<str> = Arc::from(key);
        let prev_kv = previous(history, &key, rec.prev_revision)?;
        events.push(event(&key, rev, rec, prev_kv));
        if events.len() >= max_events {
            return Ok((events, next));
        }
    }
    Ok((events, until + 1))
}

fn previous<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    key: &Arc<str>,
    prev_revision: u64,
) -> Result<Option<KeyValue>, StoreError> {
    if prev_revision == 0 {
        return Ok(None);
    }
    let Some(guard) = history.get(prev_revision).map_err(unavailable)? else {
        return Ok(None);
    };
    let rec = Record::decode(guard.value())?;
    Ok((!rec.tombstone).then(|| rec.key_value(key, prev_revision)))
}

fn event(key: &Arc<str>, revision: u64, rec: Record<'_>, prev_kv: Option<KeyValue>) -> Event {
    if rec.tombstone {
        Event {
            kind: EventKind::Delete,
            kv: tombstone_kv(key, revision),
            prev_kv,
        }
    } else {
        Event {
            kind: EventKind::Put,
            kv: rec.key_value(key, revision),
            prev_kv,
        }
    }
}

fn tombstone_kv(key: &Arc<str>, revision: u64) -> KeyValue {
    KeyValue {
        key: key.clone(),
        value: Bytes::new(),
        create_revision: 0,
        mod_revision: revision as i64,
        version: 0,
    }
}

/// A write a client asked for.
pub(super) enum Write {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

/// Applies client writes inside one redb write transaction, each at its own revision.
pub(super) struct Writer<'t> {
    pub latest: redb::Table<'t, &'static [u8], &'static [u8]>,
    pub history: redb::Table<'t, u64, &'static [u8]>,
    /// The last revision assigned.
    pub revision: u64,
}

impl Writer<'_> {
    /// Applies one write. The outer error aborts the whole transaction (storage failure); the
    /// inner one is this write's own refusal (conflict, not found, ...).
    pub fn apply(&mut self, write: &Write) -> Result<Result<Event, StoreError>, StoreError> {
        let key = match write {
            Write::Create { key, .. } | Write::Update { key, .. } | Write::Delete { key, .. } => {
                key
            }
        };
        let key_arc: Arc<str> = Arc::from(key.as_str());
        let existing = match self.latest.get(key.as_bytes()).map_err(unavailable)? {
            Some(guard) => {
                let entry = Latest::decode(guard.value())?;
                Some((entry.tombstone, entry.key_value(&key_arc)))
            }
            None => None,
        };
        // The key's previous record, live or tombstone, continues the version chain.
        let prev_revision = existing
            .as_ref()
            .map_or(0, |(_, kv)| kv.mod_revision as u64);
        let live = existing.and_then(|(tombstone, kv)| (!tombstone).then_some(kv));

        let revision = self.revision + 1;
        let (tombstone, create_revision, version, value): (bool, u64, u64, &[u8]) =
            match (write, &live) {
                (Write::Create { .. }, Some(_)) => {
                    return Ok(Err(StoreError::AlreadyExists { key: key.clone() }));
                }
                (Write::Create { value, .. }, None) => (false, revision, 1, value),
                (Write::Update { .. } | Write::Delete { .. }, None) => {
                    return Ok(Err(StoreError::NotFound { key: key.clone() }));
                }
                (
                    Write::Update { expected, .. }
                    | Write::Delete {
                        expected: Some(expected),
                        ..
                    },
                    Some(kv),
                ) if kv.mod_revision != *expected => {
                    let current = Some(Box::new(kv.clone()));
                    return Ok(Err(StoreError::Conflict {
                        key: key.clone(),
                        expected: *expected,
                        current,
                    }));
                }
                (Write::Update { value, .. }, Some(kv)) => (
                    false,
                    kv.create_revision as u64,
                    kv.version as u64 + 1,
                    value,
                ),
                (Write::Delete { .. }, Some(_)) => (true, 0, 0, &[]),
            };
        let record = Record {
            tombstone,
            create_revision,
            version,
            prev_revision,
            key: key.as_bytes(),
            value,
        };
        self.history
            .insert(revision, record.encode().as_slice())
            .map_err(unavailable)?;
        let entry = Latest {
            tombstone,
            create_revision,
            mod_revision: revision,
            version,
            value,
        };
        self.latest
            .insert(key.as_bytes(), entry.encode().as_slice())
            .map_err(unavailable)?;
        self.revision = revision;
        Ok(Ok(event(&key_arc, revision, record, live)))
    }
}

/// Physically compacts up to `max_records` history records in `[cursor, target]`, for a
/// compaction to `target` whose predecessor finished at `floor`. Returns the next cursor, or
/// `None` once done.
///
/// A record is dropped when a newer record of its key exists at or below `target`, or when it
/// is a tombstone that is its key's newest record at or below `target` (then the key's `latest`
/// entry goes too if that tombstone is still the newest). Records below `floor` survived the
/// previous compaction as their key's newest; they are dropped when a record in this window
/// supersedes them, so each compaction only reads the history written since the last one.
pub(super) fn compact_chunk(
    latest: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    history: &mut redb::Table<'_, u64, &'static [u8]>,
    floor: u64,
    cursor: u64,
    target: u64,
    max_records: usize,
    keepers: &mut HashMap<Vec<u8>, Option<u64>>,
) -> Result<Option<u64>, StoreError> {
    let mut batch = Vec::with_capacity(max_records);
    for item in history
        .range(cursor..=target)
        .map_err(unavailable)?
        .take(max_records)
    {
        let (rev, v) = item.map_err(unavailable)?;
        let rec = Record::decode(v.value())?;
        batch.push((
            rev.value(),
            rec.key.to_vec(),
            rec.tombstone,
            rec.prev_revision,
        ));
    }
    let next = match batch.last() {
        Some(&(rev, ..)) if batch.len() == max_records && rev < target => Some(rev + 1),
        _ => None,
    };
    for (rev, key, tombstone, prev_revision) in batch {
        if prev_revision != 0 && prev_revision < floor {
            history.remove(prev_revision).map_err(unavailable)?;
        }
        if rev == target {
            // The record at the compact revision is its key's newest there: always kept.
            continue;
        }
        let keeper = match keepers.get(&key) {
            Some(k) => *k,
            None => {
                let k = keeper(latest, history, &key, target)?;
                keepers.insert(key.clone(), k);
                k
            }
        };
        if keeper == Some(rev) && !tombstone {
            continue;
        }
        history.remove(rev).map_err(unavailable)?;
        if keeper == Some(rev) {
            let newest = match latest.get(key.as_slice()).map_err(unavailable)? {
                Some(guard) => Latest::decode(guard.value())?.mod_revision,
                None => 0,
            };
            if newest == rev {
                latest.remove(key.as_slice()).map_err(unavailable)?;
            }
        }
    }
    Ok(next)
}

/// The revision of `key`'s newest record at or below `target` (`None`: none left).
fn keeper<L, H>(latest: &L, history: &H, key: &[u8], target: u64) -> Result<Option<u64>, StoreError>
where
    L: ReadableTable<&'static [u8], &'static [u8]>,
    H: ReadableTable<u64, &'static [u8]>,
{
    let Some(guard) = latest.get(key).map_err(unavailable)? else {
        return Ok(None);
    };
    let mut rev = Latest::decode(guard.value())?.mod_revision;
    while rev > target {
        let Some(guard) = history.get(rev).map_err(unavailable)? else {
            return Ok(None);
        };
        rev = Record::decode(guard.value())?.prev_revision;
    }
    Ok((rev != 0).then_some(rev))
}

//! The MVCC layer over redb: table layout, record encoding, reads of stored versions, writes.
//! Everything here runs inside one redb transaction and does no I/O of its own.
//!
//! Layout (one redb file):
//! - `history`: revision -> the record written at that revision (a put or a tombstone), holding
//!   the key, its create revision and version, the value, and the revision of the key's
//!   previous record. It is append-only (new revisions always go at the end) and is both the
//!   source of every value and the log that watches replay;
//! - `meta`: format version, current revision, compaction state.
//!
//! Which revision of a key a read needs comes from the in-memory [`Index`], rebuilt from
//! `history` at start-up.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use redb::{ReadableTable, TableDefinition};

use super::index::{Index, Rev};

use crate::{Event, EventKind, KeyValue, RangeRequest, RangeResponse, Revision, StoreError, WatchRequest};

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");

pub(super) const FORMAT_VERSION: u64 = 1;
pub(super) const META_FORMAT: &str = "format";
pub(super) const META_REVISION: &str = "revision";
pub(super) const META_COMPACT: &str = "compact_revision";
/// The last compaction that finished; below META_COMPACT, one is still under way (resumed at
/// start-up).
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
    std::str::from_utf8(b).map(Arc::from).map_err(|_| corrupt("key"))
}

/// Resolves a requested read revision (0: current) against the store's current and compact
/// revisions.
pub(super) fn resolve_revision(requested: Revision, current: u64, compacted: u64) -> Result<u64, StoreError> {
    if requested < 0 {
        return Err(StoreError::InvalidArgument(format!("negative revision {requested}")));
    }
    let requested = requested as u64;
    if requested == 0 {
        return Ok(current);
    }
    if requested > current {
        return Err(StoreError::FutureRevision { requested: requested as i64, current: current as i64 });
    }
    if requested < compacted {
        return Err(StoreError::Compacted { requested: requested as i64, compacted: compacted as i64 });
    }
    Ok(requested)
}

/// The stored version of `key` written at `revision` (a revision the index gave for it).
pub(super) fn load<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    key: &Arc<str>,
    revision: u64,
) -> Result<KeyValue, StoreError> {
    match history.get(revision).map_err(unavailable)? {
        Some(guard) => Ok(Record::decode(guard.value())?.key_value(key, revision)),
        None => Err(StoreError::Corrupt(format!("history record {revision} of key {key:?} is missing"))),
    }
}

/// Keys to load with the revision of each, and the range's total count.
pub(super) type RangePlan = (Vec<(Arc<str>, u64)>, i64);

/// The keys a range returns (at most `limit`, 0: all) with the revisions to load, and how many
/// keys the range holds in all.
pub(super) fn plan_range(index: &Index, req: &RangeRequest, revision: u64) -> Result<RangePlan, StoreError> {
    let start = match &req.start {
        Some(start) if !start.starts_with(&req.prefix) => {
            return Err(StoreError::InvalidArgument(format!("start key {start:?} is outside prefix {:?}", req.prefix)));
        }
        Some(start) => start.as_str(),
        None => req.prefix.as_str(),
    };
    let mut hits = Vec::new();
    let mut count = 0i64;
    for (key, rev) in index.range(&req.prefix, start, revision) {
        if req.limit == 0 || hits.len() < req.limit {
            hits.push((key.clone(), rev));
        }
        count += 1;
    }
    Ok((hits, count))
}

pub(super) fn load_range<H: ReadableTable<u64, &'static [u8]>>(
    history: &H,
    hits: &[(Arc<str>, u64)],
    count: i64,
    revision: u64,
) -> Result<RangeResponse, StoreError> {
    let kvs = hits.iter().map(|(key, rev)| load(history, key, *rev)).collect::<Result<Vec<_>, _>>()?;
    Ok(RangeResponse { more: (kvs.len() as i64) < count, kvs, count, revision: revision as i64 })
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
    for (scanned, item) in history.range(from..=until).map_err(unavailable)?.enumerate() {
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
        Event { kind: EventKind::Delete, kv: tombstone_kv(key, revision), prev_kv }
    } else {
        Event { kind: EventKind::Put, kv: rec.key_value(key, revision), prev_kv }
    }
}

fn tombstone_kv(key: &Arc<str>, revision: u64) -> KeyValue {
    KeyValue { key: key.clone(), value: Bytes::new(), create_revision: 0, mod_revision: revision as i64, version: 0 }
}

/// A write a client asked for.
pub(super) enum Write {
    Create { key: String, value: Bytes },
    Update { key: String, value: Bytes, expected: Revision },
    Delete { key: String, expected: Option<Revision> },
}

/// Applies client writes inside one redb write transaction, each at its own revision.
pub(super) struct Writer<'t, 'i> {
    pub history: redb::Table<'t, u64, &'static [u8]>,
    pub index: &'i Index,
    /// The last revision assigned.
    pub revision: u64,
    /// Writes of this group, to add to the index once committed (later writes of the group
    /// see earlier ones through `overlay`).
    pub written: Vec<(Arc<str>, Rev)>,
    overlay: HashMap<Arc<str>, Rev>,
}

impl<'t, 'i> Writer<'t, 'i> {
    pub fn new(history: redb::Table<'t, u64, &'static [u8]>, index: &'i Index) -> Self {
        Self { history, index, revision: index.revision, written: Vec::new(), overlay: HashMap::new() }
    }

    /// Applies one write. The outer error aborts the whole transaction (storage failure); the
    /// inner one is this write's own refusal (conflict, not found, ...).
    pub fn apply(&mut self, write: &Write) -> Result<Result<Event, StoreError>, StoreError> {
        let key = match write {
            Write::Create { key, .. } | Write::Update { key, .. } | Write::Delete { key, .. } => key,
        };
        let key_arc: Arc<str> = Arc::from(key.as_str());
        let current = self.overlay.get(key.as_str()).copied().or_else(|| self.index.latest(key));
        let live = match current {
            Some(rev) if !rev.tombstone => Some(load(&self.history, &key_arc, rev.revision)?),
            _ => None,
        };
        // The key's previous record, live or tombstone, continues the version chain.
        let prev_revision = current.map_or(0, |r| r.revision);

        let revision = self.revision + 1;
        let (tombstone, create_revision, version, value): (bool, u64, u64, &[u8]) = match (write, &live) {
            (Write::Create { .. }, Some(_)) => return Ok(Err(StoreError::AlreadyExists { key: key.clone() })),
            (Write::Create { value, .. }, None) => (false, revision, 1, value),
            (Write::Update { .. } | Write::Delete { .. }, None) => {
                return Ok(Err(StoreError::NotFound { key: key.clone() }));
            }
            (Write::Update { expected, .. } | Write::Delete { expected: Some(expected), .. }, Some(kv))
                if kv.mod_revision != *expected =>
            {
                let current = Some(Box::new(kv.clone()));
                return Ok(Err(StoreError::Conflict { key: key.clone(), expected: *expected, current }));
            }
            (Write::Update { value, .. }, Some(kv)) => (false, kv.create_revision as u64, kv.version as u64 + 1, value),
            (Write::Delete { .. }, Some(_)) => (true, 0, 0, &[]),
        };
        let record = Record { tombstone, create_revision, version, prev_revision, key: key.as_bytes(), value };
        self.history.insert(revision, record.encode().as_slice()).map_err(unavailable)?;
        self.revision = revision;
        let rev = Rev { revision, tombstone };
        self.overlay.insert(key_arc.clone(), rev);
        self.written.push((key_arc.clone(), rev));
        Ok(Ok(event(&key_arc, revision, record, live)))
    }
}

/// Rebuilds the key index from the history table (start-up), logging progress on big stores.
pub(super) fn rebuild_index<H: ReadableTable<u64, &'static [u8]>>(history: &H) -> Result<Index, StoreError> {
    let mut index = Index::default();
    let mut keys: HashMap<Box<[u8]>, Arc<str>> = HashMap::new();
    for (n, item) in history.iter().map_err(unavailable)?.enumerate() {
        let (rev, v) = item.map_err(unavailable)?;
        let rec = Record::decode(v.value())?;
        let key = match keys.get(rec.key) {
            Some(key) => key.clone(),
            None => {
                let key = key_str(rec.key)?;
                keys.insert(rec.key.into(), key.clone());
                key
            }
        };
        index.push(key, Rev { revision: rev.value(), tombstone: rec.tombstone });
        if n > 0 && n % 1_000_000 == 0 {
            tracing::info!(records = n, "rebuilding the store's key index");
        }
    }
    Ok(index)
}

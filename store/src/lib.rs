//! The storage layer that plays etcd's role in rkube.
//!
//! A [`Store`] keeps opaque byte values under string keys with exactly the etcd v3 semantics
//! kube-apiserver relies on: one global revision, per-key `create_revision` / `mod_revision` /
//! `version`, reads at past revisions, compare-and-swap writes, watches that replay history and
//! then follow live changes, and compaction of old history.
//!
//! Two backends implement it:
//! - [`embedded::EmbeddedStore`]: single node and durable (redb underneath, group commit);
//! - [`etcd::EtcdStore`]: a real etcd v3 cluster through `etcd-client`.
//!
//! The store knows nothing of Kubernetes objects; the apiserver owns encoding and key layout.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

mod compactor;
pub mod embedded;
mod error;
pub mod etcd;
pub mod testing;

pub use compactor::{Compactor, DEFAULT_COMPACTION_INTERVAL};
pub use error::{Result, StoreError};

/// A revision of the whole store. Revisions start at 1 with the first write; 0 means "none" or
/// "current", depending on where it is used (as in etcd).
pub type Revision = i64;

/// The largest key plus value a write may carry: etcd's default `--max-request-bytes` (1.5 MiB).
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;

/// One version of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Arc<str>,
    pub value: Bytes,
    /// Revision of the write that created the key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the write that produced this version.
    pub mod_revision: Revision,
    /// Number of writes to the key since its creation (1 after the create).
    pub version: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// A change delivered by a watch.
///
/// For a `Delete`, `kv` carries only the key and the deleting revision in `mod_revision`
/// (other fields zero, value empty), exactly like etcd; the deleted value is in `prev_kv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
    /// The version before this change; `None` on creation, or when compaction removed it.
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// A read of every key under `prefix`, optionally starting at `start`, at a revision.
#[derive(Clone, Debug, Default)]
pub struct RangeRequest {
    pub prefix: String,
    /// First key to return (inclusive), for resuming a paginated read. Must lie under `prefix`.
    pub start: Option<String>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read at this revision; 0 means the current one.
    pub revision: Revision,
}

impl RangeRequest {
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into(), ..Self::default() }
    }
    pub fn start(mut self, start: impl Into<String>) -> Self {
        self.start = Some(start.into());
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub fn at_revision(mut self, revision: Revision) -> Self {
        self.revision = revision;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeResponse {
    /// Keys in ascending byte order.
    pub kvs: Vec<KeyValue>,
    /// More keys follow the last one returned.
    pub more: bool,
    /// How many keys the range holds from `start` on, ignoring `limit` (etcd's `count`).
    pub count: i64,
    /// The revision the read was served at.
    pub revision: Revision,
}

/// What a watch follows and from where.
#[derive(Clone, Debug)]
pub struct WatchRequest {
    pub key: String,
    /// Follow every key starting with `key`, not just `key`.
    pub prefix: bool,
    /// First revision to deliver (inclusive); 0 means "changes after the current revision".
    pub start_revision: Revision,
    /// Also deliver [`WatchItem::Progress`] items, so a consumer learns how far the store has
    /// got even while nothing under its key changes (etcd's progress notifications).
    pub progress_notify: bool,
}

impl WatchRequest {
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self { key: prefix.into(), prefix: true, start_revision: 0, progress_notify: false }
    }
    pub fn key(key: impl Into<String>) -> Self {
        Self { key: key.into(), prefix: false, start_revision: 0, progress_notify: false }
    }
    pub fn from_revision(mut self, revision: Revision) -> Self {
        self.start_revision = revision;
        self
    }
    pub fn with_progress_notify(mut self) -> Self {
        self.progress_notify = true;
        self
    }
    pub(crate) fn matches(&self, key: &str) -> bool {
        if self.prefix { key.starts_with(&self.key) } else { key == self.key }
    }
}

/// What a watch delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchItem {
    Event(Event),
    /// Every change up to this revision has been delivered (only with
    /// [`WatchRequest::progress_notify`]).
    Progress(Revision),
}

impl WatchItem {
    pub fn into_event(self) -> Option<Event> {
        match self {
            WatchItem::Event(e) => Some(e),
            WatchItem::Progress(_) => None,
        }
    }
}

/// Items in revision order. An `Err` (e.g. [`StoreError::Compacted`] for a watcher that fell
/// too far behind, or [`StoreError::Unavailable`]) is always the last item.
pub type WatchStream = BoxStream<'static, Result<WatchItem>>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    /// The current revision.
    pub revision: Revision,
    /// Reads and watches below this revision answer [`StoreError::Compacted`].
    pub compact_revision: Revision,
    /// Bytes the backend occupies on disk, where it knows.
    pub db_size_bytes: u64,
}

/// The etcd v3 subset kube-apiserver needs. All writes are acknowledged only once durable.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key at `revision` (0: current), with the revision the read was served at.
    async fn get(&self, key: &str, revision: Revision) -> Result<(Option<KeyValue>, Revision)>;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;

    /// Creates `key` if absent; returns the new revision. [`StoreError::AlreadyExists`] otherwise.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision>;

    /// Replaces `key` if its `mod_revision` is `expected`; returns the new revision.
    /// [`StoreError::Conflict`] (with the current version) or [`StoreError::NotFound`] otherwise.
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision>;

    /// Deletes `key`, if `expected` is given only when its `mod_revision` matches. Returns the
    /// deleting revision and the deleted version.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)>;

    /// Replays history from `req.start_revision`, then follows live changes. The watch is in
    /// place when this returns: every later write is seen. If that revision is no longer in
    /// history the answer is [`StoreError::Compacted`], either from this call or (etcd, which
    /// confirms a watch before it checks the revision) as the stream's first and only item.
    async fn watch(&self, req: WatchRequest) -> Result<WatchStream>;

    /// Discards history older than `revision`: afterwards reads and watches below it answer
    /// [`StoreError::Compacted`]; the latest version of every key at `revision` stays readable.
    async fn compact(&self, revision: Revision) -> Result<()>;

    async fn status(&self) -> Result<StoreStatus>;

    /// The current revision when the backend knows it without any I/O (the embedded store);
    /// `None` otherwise (etcd). Lets a cache prove it is up to date for free.
    fn local_revision(&self) -> Option<Revision> {
        None
    }
}

/// The end of the key range holding every key that starts with `prefix` (etcd's
/// `GetPrefixRangeEnd`): `prefix` with its last byte below 0xff incremented. An empty result
/// means "no upper bound".
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    Vec::new()
}

pub(crate) fn check_size(key: &str, value: &[u8]) -> Result<()> {
    let size = key.len() + value.len();
    if size > MAX_REQUEST_BYTES {
        return Err(StoreError::TooLarge { size, limit: MAX_REQUEST_BYTES });
    }
    Ok(())
}

/// Which backend to open.
#[derive(Clone, Debug)]
pub enum Backend {
    /// The embedded store in this directory.
    Embedded { data_dir: std::path::PathBuf },
    /// An etcd v3 cluster at these client URLs.
    Etcd { endpoints: Vec<String> },
}

/// Opens the chosen backend.
pub async fn open(backend: &Backend) -> Result<Arc<dyn Store>> {
    Ok(match backend {
        Backend::Embedded { data_dir } => {
            Arc::new(embedded::EmbeddedStore::open(data_dir, embedded::Options::default()).await?)
        }
        Backend::Etcd { endpoints } => Arc::new(etcd::EtcdStore::connect(endpoints).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte_below_ff() {
        let cases: &[(&[u8], &[u8])] =
            &[(b"/registry/pods/", b"/registry/pods0"), (b"a", b"b"), (b"a\xff", b"b"), (b"\xff\xff", b""), (b"", b"")];
        for (prefix, end) in cases {
            assert_eq!(prefix_end(prefix), end.to_vec(), "prefix {prefix:?}");
        }
    }
}

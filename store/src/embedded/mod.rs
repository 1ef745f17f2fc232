//! The embedded backend: single node, durable, the default.
//!
//! Three layers, each with one job (in the spirit of etcd's mvcc package):
//! - [`mvcc`]: table layout over redb, revisions, reads at a revision, compaction;
//! - [`writer`]: one thread that owns redb's write transaction and turns concurrent client
//!   writes into group commits (one fsync for many writes);
//! - [`watch`]: live fan-out of committed events, with catch-up from the history table for
//!   watchers that start in the past or fall behind.
//!
//! A write is acknowledged only after the redb commit that holds it returned with
//! `Durability::Immediate`, i.e. after fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    Event, KeyValue, RangeRequest, RangeResponse, Result, Revision, Store, StoreError, StoreStatus,
    WatchRequest, WatchStream, check_size,
};

mod mvcc;
mod watch;
mod writer;

use mvcc::{HISTORY, LATEST, META, unavailable};

/// The database file inside the data directory.
pub const DB_FILE: &str = "store.redb";

/// Tuning knobs; the defaults suit a single-node cluster.
#[derive(Clone, Debug)]
pub struct Options {
    /// redb page cache, in bytes.
    pub cache_bytes: usize,
    /// Most writes grouped into one commit.
    pub max_batch: usize,
    /// Commit batches kept in memory for live watchers; a watcher further behind catches up
    /// from the history table on disk. This bounds the memory watches use.
    pub watch_buffer: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cache_bytes: 256 << 20,
            max_batch: 1024,
            watch_buffer: 1024,
        }
    }
}

/// State shared by the store handle, the writer thread and watchers.
struct Shared {
    db: Database,
    path: PathBuf,
    /// Last committed revision.
    revision: AtomicU64,
    /// Reads and watches below this revision are refused.
    compact_revision: AtomicU64,
}

impl Shared {
    /// Runs a read-only closure against a consistent snapshot, off the async threads.
    async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Snapshot) -> Result<T> + Send + 'static,
    {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || f(&Snapshot::open(&shared.db)?))
            .await
            .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
    }
}

/// One redb read transaction with the tables and the revisions it saw.
struct Snapshot {
    latest: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    history: redb::ReadOnlyTable<u64, &'static [u8]>,
    revision: u64,
    compact_revision: u64,
}

impl Snapshot {
    fn open(db: &Database) -> Result<Self> {
        let txn = db.begin_read().map_err(unavailable)?;
        let meta = txn.open_table(META).map_err(unavailable)?;
        let get = |k: &str| -> Result<u64> {
            Ok(meta.get(k).map_err(unavailable)?.map_or(0, |g| g.value()))
        };
        Ok(Self {
            revision: get(mvcc::META_REVISION)?,
            compact_revision: get(mvcc::META_COMPACT)?,
            latest: txn.open_table(LATEST).map_err(unavailable)?,
            history: txn.open_table(HISTORY).map_err(unavailable)?,
        })
    }

    fn resolve(&self, requested: Revision) -> Result<u64> {
        mvcc::resolve_revision(requested, self.revision, self.compact_revision)
    }
}

/// The embedded, durable store. Cheap to share behind an `Arc`; [`EmbeddedStore::close`] waits
/// until the database file is released.
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    /// Each message is the events of one group commit, in revision order. The writer holds the
    /// other sender: once both are gone, watchers end.
    events: broadcast::Sender<Arc<[Event]>>,
    requests: mpsc::Sender<writer::Request>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir`. Fails with [`StoreError::Corrupt`] if the
    /// directory holds a damaged or foreign database, and with [`StoreError::Unavailable`] if
    /// another process has it open.
    pub async fn open(data_dir: &Path, options: Options) -> Result<Self> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&data_dir, options))
            .await
            .map_err(|e| StoreError::Unavailable(format!("open task failed: {e}")))?
    }

    fn open_blocking(data_dir: &Path, options: Options) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join(DB_FILE);
        let db = redb::Builder::new()
            .set_cache_size(options.cache_bytes)
            .create(&path)
            .map_err(|e| open_error(&path, e))?;
        let state = writer::initialize(&db, &path)?;
        tracing::info!(
            path = %path.display(),
            revision = state.revision,
            compact_revision = state.compact_revision,
            "embedded store opened"
        );
        let (events, _) = broadcast::channel(options.watch_buffer.max(1));
        let shared = Arc::new(Shared {
            db,
            path,
            revision: AtomicU64::new(state.revision),
            compact_revision: AtomicU64::new(state.compact_revision),
        });
        let (requests, rx) = mpsc::channel(options.max_batch.max(1) * 4);
        let writer = writer::spawn(
            shared.clone(),
            rx,
            events.clone(),
            state,
            options.max_batch.max(1),
        )?;
        Ok(Self {
            shared,
            events,
            requests,
            writer: Some(writer),
        })
    }

    /// Stops the writer and releases the database once every watcher has ended too.
    pub async fn close(mut self) {
        let writer = self.writer.take();
        drop(self);
        if let Some(handle) = writer {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> writer::Request,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(make(tx))
            .await
            .map_err(|_| StoreError::Unavailable("store is closed".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("store writer stopped".into()))?
    }
}

fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            StoreError::Unavailable(format!("{} is in use by another process", path.display()))
        }
        // redb reports a file that is not a database as invalid data.
        redb::DatabaseError::Storage(redb::StorageError::Io(io))
            if io.kind() != std::io::ErrorKind::InvalidData =>
        {
            StoreError::Unavailable(format!("cannot open {}: {io}", path.display()))
        }
        other => StoreError::Corrupt(format!("cannot open {}: {other}", path.display())),
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str, revision: Revision) -> Result<(Option<KeyValue>, Revision)> {
        let key = key.to_owned();
        self.shared
            .read(move |snap| {
                let at = snap.resolve(revision)?;
                Ok((mvcc::get(&snap.latest, &snap.history, &key, at)?, at as i64))
            })
            .await
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        self.shared
            .read(move |snap| {
                let at = snap.resolve(req.revision)?;
                mvcc::range(&snap.latest, &snap.history, &req, at, snap.revision)
            })
            .await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        check_size(key, &value)?;
        let write = mvcc::Write::Create {
            key: key.to_owned(),
            value,
        };
        self.submit(|reply| writer::Request::Write {
            write,
            reply: writer::Reply::Revision(reply),
        })
        .await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        check_size(key, &value)?;
        let write = mvcc::Write::Update {
            key: key.to_owned(),
            value,
            expected,
        };
        self.submit(|reply| writer::Request::Write {
            write,
            reply: writer::Reply::Revision(reply),
        })
        .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let write = mvcc::Write::Delete {
            key: key.to_owned(),
            expected,
        };
        self.submit(|reply| writer::Request::Write {
            write,
            reply: writer::Reply::Deleted(reply),
        })
        .await
    }

    async fn watch(&self, req: WatchRequest) -> Result<WatchStream> {
        watch::watch(self.shared.clone(), self.events.subscribe(), req)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.submit(|reply| writer::Request::Compact { revision, reply })
            .await
    }

    async fn status(&self) -> Result<StoreStatus> {
        let db_size_bytes = std::fs::metadata(&self.shared.path)
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(StoreStatus {
            revision: self.shared.revision.load(Ordering::Acquire) as i64,
            compact_revision: self.shared.compact_revision.load(Ordering::Acquire) as i64,
            db_size_bytes,
        })
    }
}

/// How many keys and history records a store holds, for `rkube store status` and tests.
pub fn table_sizes(store: &EmbeddedStore) -> Result<(u64, u64)> {
    let snap = Snapshot::open(&store.shared.db)?;
    Ok((
        snap.latest.len().map_err(unavailable)?,
        snap.history.len().map_err(unavailable)?,
    ))
}

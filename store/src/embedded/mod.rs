//! The embedded backend: single node, durable, the default.
//!
//! Layers with one job each, in the spirit of etcd's mvcc package:
//! - `mvcc`: the redb tables (an append-only history of every write, and metadata), record
//!   encoding, reads of stored versions;
//! - `index`: the in-memory key index (which revision of which key a read needs), rebuilt
//!   from history at start-up;
//! - `writer`: one thread that owns redb's write transaction and turns concurrent client
//!   writes into group commits (one fsync for many writes), and runs compaction in chunks;
//! - `watch`: live fan-out of committed events, with catch-up from the history table for
//!   watchers that start in the past or fall behind.
//!
//! A write is acknowledged only after the redb commit that holds it returned with
//! `Durability::Immediate`, i.e. after fsync.
//!
//! Lock order: a reader takes the index lock, starts its redb read transaction, then releases
//! the lock. Compaction removes revisions from the index before it deletes their records, so a
//! record the index handed out is always in the reader's snapshot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    Event, KeyValue, RangeRequest, RangeResponse, Result, Revision, Store, StoreError, StoreStatus, WatchRequest,
    WatchStream, check_size,
};

mod index;
mod mvcc;
mod watch;
mod writer;

use index::Index;
use mvcc::{HISTORY, unavailable};

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
        Self { cache_bytes: 64 << 20, max_batch: 1024, watch_buffer: 256 }
    }
}

type HistoryTable = redb::ReadOnlyTable<u64, &'static [u8]>;

/// State shared by the store handle, the writer thread and watchers.
struct Shared {
    db: Database,
    path: PathBuf,
    index: RwLock<Index>,
}

impl Shared {
    // Index updates are appends done after the commit they describe, so a panic elsewhere
    // cannot leave it describing something uncommitted: a poisoned lock is still usable.
    fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Under the index lock: resolve the read revision and plan the read with the index, then
    /// start a redb snapshot (still under the lock) that holds every record the plan names.
    fn snapshot<P>(
        &self,
        revision: Revision,
        plan: impl FnOnce(&Index, u64) -> Result<P>,
    ) -> Result<(P, u64, HistoryTable)> {
        let index = self.index();
        let at = mvcc::resolve_revision(revision, index.revision, index.compact_revision)?;
        let planned = plan(&index, at)?;
        let txn = self.db.begin_read().map_err(unavailable)?;
        drop(index);
        Ok((planned, at, txn.open_table(HISTORY).map_err(unavailable)?))
    }

    /// Runs a blocking read off the async threads.
    async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T> + Send + 'static,
    {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
    }
}

/// The embedded, durable store. Share it behind an `Arc`; [`EmbeddedStore::close`] waits until
/// the writer has stopped.
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
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = data_dir.join(DB_FILE);
        let db =
            redb::Builder::new().set_cache_size(options.cache_bytes).create(&path).map_err(|e| open_error(&path, e))?;
        let started = std::time::Instant::now();
        let (index, unfinished_compaction) = writer::initialize(&db, &path)?;
        tracing::info!(
            path = %path.display(),
            revision = index.revision,
            compact_revision = index.compact_revision,
            keys = index.live_keys(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded store opened"
        );
        let (events, _) = broadcast::channel(options.watch_buffer.max(1));
        let shared = Arc::new(Shared { db, path, index: RwLock::new(index) });
        let (requests, rx) = mpsc::channel(options.max_batch.max(1) * 4);
        let writer =
            writer::spawn(shared.clone(), rx, events.clone(), unfinished_compaction, options.max_batch.max(1))?;
        Ok(Self { shared, events, requests, writer: Some(writer) })
    }

    /// Stops the writer; the database file is released once every watcher has ended too.
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

    /// Live keys and stored history records: how much the store holds, for tools and tests.
    pub fn sizes(&self) -> Result<(u64, u64)> {
        let keys = self.shared.index().live_keys() as u64;
        let txn = self.shared.db.begin_read().map_err(unavailable)?;
        let records = txn.open_table(HISTORY).map_err(unavailable)?.len().map_err(unavailable)?;
        Ok((keys, records))
    }

    async fn submit<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> writer::Request) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).await.map_err(|_| StoreError::Unavailable("store is closed".into()))?;
        rx.await.map_err(|_| StoreError::Unavailable("store writer stopped".into()))?
    }

    async fn write(&self, write: mvcc::Write) -> Result<Event> {
        self.submit(|reply| writer::Request::Write { write, reply }).await
    }
}

fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            StoreError::Unavailable(format!("{} is in use by another process", path.display()))
        }
        // redb reports a file that is not a database as invalid data.
        redb::DatabaseError::Storage(redb::StorageError::Io(io)) if io.kind() != std::io::ErrorKind::InvalidData => {
            StoreError::Unavailable(format!("cannot open {}: {io}", path.display()))
        }
        other => StoreError::Corrupt(format!("cannot open {}: {other}", path.display())),
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str, revision: Revision) -> Result<(Option<KeyValue>, Revision)> {
        let key: Arc<str> = Arc::from(key);
        self.shared
            .read(move |shared| {
                let (rev, at, history) = shared.snapshot(revision, |index, at| Ok(index.at(&key, at)))?;
                Ok((rev.map(|rev| mvcc::load(&history, &key, rev)).transpose()?, at as i64))
            })
            .await
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        self.shared
            .read(move |shared| {
                let ((hits, count), at, history) =
                    shared.snapshot(req.revision, |index, at| mvcc::plan_range(index, &req, at))?;
                mvcc::load_range(&history, &hits, count, at)
            })
            .await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        check_size(key, &value)?;
        Ok(self.write(mvcc::Write::Create { key: key.to_owned(), value }).await?.revision())
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        check_size(key, &value)?;
        Ok(self.write(mvcc::Write::Update { key: key.to_owned(), value, expected }).await?.revision())
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let event = self.write(mvcc::Write::Delete { key: key.to_owned(), expected }).await?;
        match event.prev_kv {
            Some(prev) => Ok((event.kv.mod_revision, prev)),
            None => Err(StoreError::Corrupt(format!("delete of {key:?} found no previous version"))),
        }
    }

    async fn watch(&self, req: WatchRequest) -> Result<WatchStream> {
        watch::watch(self.shared.clone(), self.events.subscribe(), req)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.submit(|reply| writer::Request::Compact { revision, reply }).await
    }

    fn local_revision(&self) -> Option<Revision> {
        Some(self.shared.index().revision as i64)
    }

    async fn status(&self) -> Result<StoreStatus> {
        let db_size_bytes = std::fs::metadata(&self.shared.path).map(|m| m.len()).unwrap_or(0);
        let index = self.shared.index();
        Ok(StoreStatus {
            revision: index.revision as i64,
            compact_revision: index.compact_revision as i64,
            db_size_bytes,
        })
    }
}

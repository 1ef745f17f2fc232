//! The writer thread: the only owner of redb's write transaction and the only writer of the
//! key index.
//!
//! Clients queue writes on a channel. The thread takes whatever is queued (up to `max_batch`),
//! applies it in one transaction, commits once (one fsync), then adds the new revisions to the
//! index, publishes the events and answers every client. While a commit is on disk, new writes
//! pile up in the channel and form the next group: throughput is not one fsync per write.
//!
//! Compaction runs here too, a chunk of keys at a time between write groups, so writers never
//! wait for a whole compaction.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableHandle};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Shared;
use super::index::Index;
use super::mvcc::{self, HISTORY, META, Write, unavailable};
use crate::{Event, Result, Revision, StoreError};

/// Keys one compaction step examines (and whose dropped records it deletes in one commit).
const COMPACTION_KEYS: usize = 10_000;

pub(super) enum Request {
    Write { write: Write, reply: oneshot::Sender<Result<Event>> },
    Compact { revision: Revision, reply: oneshot::Sender<Result<()>> },
}

/// Opens or creates the tables, checks that they are an rkube store of this format whose
/// revision and history agree, and rebuilds the key index. Also returns the target of a
/// compaction that was under way when the store last stopped.
pub(super) fn initialize(db: &Database, path: &Path) -> Result<(Index, Option<u64>)> {
    let damaged = |what: String| StoreError::Corrupt(format!("{}: {what}", path.display()));
    let txn = db.begin_write().map_err(unavailable)?;
    let foreign =
        txn.list_tables().map_err(unavailable)?.filter(|t| ![META.name(), HISTORY.name()].contains(&t.name())).count();
    let get = |meta: &redb::Table<&str, u64>, k: &str| -> Result<Option<u64>> {
        Ok(meta.get(k).map_err(unavailable)?.map(|g| g.value()))
    };
    let (index, unfinished) = {
        let mut meta = txn.open_table(META).map_err(unavailable)?;
        let history = txn.open_table(HISTORY).map_err(unavailable)?;
        match get(&meta, mvcc::META_FORMAT)? {
            None if foreign > 0 || !history.is_empty().map_err(unavailable)? => {
                return Err(damaged("not an rkube store (no format marker)".into()));
            }
            None => {
                meta.insert(mvcc::META_FORMAT, mvcc::FORMAT_VERSION).map_err(unavailable)?;
                for k in [mvcc::META_REVISION, mvcc::META_COMPACT, mvcc::META_COMPACT_DONE] {
                    meta.insert(k, 0).map_err(unavailable)?;
                }
            }
            Some(mvcc::FORMAT_VERSION) => {}
            Some(v) => {
                return Err(damaged(format!("store format {v} is not supported (expected {})", mvcc::FORMAT_VERSION)));
            }
        }
        let revision = get(&meta, mvcc::META_REVISION)?.unwrap_or(0);
        let compact_revision = get(&meta, mvcc::META_COMPACT)?.unwrap_or(0);
        let compact_done = get(&meta, mvcc::META_COMPACT_DONE)?.unwrap_or(0);
        // Every write stores its record and the new revision in one transaction, and compaction
        // never removes the newest record, so the newest record is the current revision.
        let newest = history.last().map_err(unavailable)?.map_or(0, |(k, _)| k.value());
        if newest != revision {
            return Err(damaged(format!("revision {revision} but newest history record {newest}")));
        }
        if compact_done > compact_revision || compact_revision > revision {
            return Err(damaged("inconsistent compaction state".into()));
        }
        let mut index = mvcc::rebuild_index(&history)?;
        index.revision = revision;
        index.compact_revision = compact_revision;
        (index, (compact_done < compact_revision).then_some(compact_revision))
    };
    txn.commit().map_err(unavailable)?;
    Ok((index, unfinished))
}

pub(super) fn spawn(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<[Event]>>,
    unfinished_compaction: Option<u64>,
    max_batch: usize,
) -> Result<std::thread::JoinHandle<()>> {
    let writer = WriterLoop {
        shared,
        rx,
        events,
        max_batch,
        job: unfinished_compaction.map(Job::new),
        next_target: None,
        waiters: Vec::new(),
    };
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || writer.run())
        .map_err(|e| StoreError::Unavailable(format!("cannot start store writer: {e}")))
}

/// A compaction under way: keys after `after` still to examine.
struct Job {
    target: u64,
    after: Option<Arc<str>>,
}

impl Job {
    fn new(target: u64) -> Self {
        Self { target, after: None }
    }
}

struct WriterLoop {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<[Event]>>,
    max_batch: usize,
    job: Option<Job>,
    /// A compaction accepted while `job` runs; it starts when `job` is done.
    next_target: Option<u64>,
    waiters: Vec<(u64, oneshot::Sender<Result<()>>)>,
}

impl WriterLoop {
    fn run(mut self) {
        loop {
            // With a compaction pending, do not sleep on the channel: alternate write groups and
            // compaction steps.
            let first = if self.job.is_some() {
                match self.rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                match self.rx.blocking_recv() {
                    Some(r) => Some(r),
                    None => break,
                }
            };
            if let Some(first) = first {
                let mut batch = vec![first];
                while batch.len() < self.max_batch {
                    match self.rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                self.group_commit(batch);
            }
            if self.job.is_some() {
                self.compaction_step();
            }
        }
        tracing::debug!(path = %self.shared.path.display(), "store writer stopped");
    }

    fn group_commit(&mut self, batch: Vec<Request>) {
        let (revision, accepted) = {
            let index = self.shared.index();
            (index.revision, index.compact_revision)
        };
        let mut writes = Vec::with_capacity(batch.len());
        let mut new_target = None;
        for request in batch {
            match request {
                Request::Write { write, reply } => writes.push((write, reply)),
                Request::Compact { revision: target, reply } => {
                    let accepted = new_target.unwrap_or(accepted);
                    if target > revision as i64 {
                        let _ =
                            reply.send(Err(StoreError::FutureRevision { requested: target, current: revision as i64 }));
                    } else if target <= accepted as i64 {
                        let _ =
                            reply.send(Err(StoreError::Compacted { requested: target, compacted: accepted as i64 }));
                    } else {
                        new_target = Some(target as u64);
                        self.waiters.push((target as u64, reply));
                    }
                }
            }
        }

        match self.commit(&writes, new_target) {
            Ok(Committed { results, events, revision, written }) => {
                {
                    let mut index = self.shared.index_mut();
                    for (key, rev) in written {
                        index.push(key, rev);
                    }
                    index.revision = revision;
                    if let Some(target) = new_target {
                        index.compact_revision = target;
                    }
                }
                if let Some(target) = new_target {
                    match &self.job {
                        Some(_) => self.next_target = Some(target),
                        None => self.job = Some(Job::new(target)),
                    }
                }
                if !events.is_empty() {
                    // No receivers is fine: nobody watches.
                    let _ = self.events.send(events.into());
                }
                for ((_, reply), result) in writes.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store commit failed");
                for (_, reply) in writes {
                    let _ = reply.send(Err(e.clone()));
                }
                if new_target.is_some() {
                    self.fail_waiters(|target| target > accepted, &e);
                }
            }
        }
    }

    /// One transaction for the whole group.
    fn commit(&self, writes: &[(Write, oneshot::Sender<Result<Event>>)], new_target: Option<u64>) -> Result<Committed> {
        let txn = self.shared.db.begin_write().map_err(unavailable)?;
        let mut results = Vec::with_capacity(writes.len());
        let mut events = Vec::with_capacity(writes.len());
        let (revision, written) = {
            let index = self.shared.index();
            let mut writer = mvcc::Writer::new(txn.open_table(HISTORY).map_err(unavailable)?, &index);
            for (write, _) in writes {
                let result = writer.apply(write)?;
                if let Ok(event) = &result {
                    events.push(event.clone());
                }
                results.push(result);
            }
            (writer.revision, writer.written)
        };
        {
            let mut meta = txn.open_table(META).map_err(unavailable)?;
            meta.insert(mvcc::META_REVISION, revision).map_err(unavailable)?;
            if let Some(target) = new_target {
                meta.insert(mvcc::META_COMPACT, target).map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        Ok(Committed { results, events, revision, written })
    }

    fn compaction_step(&mut self) {
        let Some(job) = self.job.as_mut() else { return };
        // The index forgets the revisions first: from now on no read plans to load them.
        let (dropped, next) = self.shared.index_mut().compact(job.target, job.after.as_deref(), COMPACTION_KEYS);
        let target = job.target;
        let outcome = (|| -> Result<()> {
            let txn = self.shared.db.begin_write().map_err(unavailable)?;
            {
                let mut history = txn.open_table(HISTORY).map_err(unavailable)?;
                for rev in &dropped {
                    history.remove(rev).map_err(unavailable)?;
                }
                if next.is_none() {
                    let mut meta = txn.open_table(META).map_err(unavailable)?;
                    meta.insert(mvcc::META_COMPACT_DONE, target).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })();
        match (outcome, next) {
            (Ok(()), Some(after)) => job.after = Some(after),
            (Ok(()), None) => {
                tracing::info!(revision = target, "store history compacted");
                self.job = self.next_target.take().map(Job::new);
                let (ready, waiting) = std::mem::take(&mut self.waiters).into_iter().partition(|(t, _)| *t <= target);
                self.waiters = waiting;
                for (_, reply) in ready {
                    let _ = reply.send(Ok(()));
                }
            }
            (Err(e), _) => {
                // The records stay on disk; the compaction is redone at the next start.
                tracing::error!(error = %e, "store compaction failed");
                self.job = None;
                self.next_target = None;
                self.fail_waiters(|_| true, &e);
            }
        }
    }

    fn fail_waiters(&mut self, which: impl Fn(u64) -> bool, e: &StoreError) {
        let (failed, waiting) = std::mem::take(&mut self.waiters).into_iter().partition(|(t, _)| which(*t));
        self.waiters = waiting;
        for (_, reply) in failed {
            let _ = reply.send(Err(e.clone()));
        }
    }
}

struct Committed {
    /// Per write, its event or its refusal.
    results: Vec<Result<Event>>,
    /// The events of the writes that succeeded, in revision order.
    events: Vec<Event>,
    revision: u64,
    written: Vec<(Arc<str>, super::index::Rev)>,
}

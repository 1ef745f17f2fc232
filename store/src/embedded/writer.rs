//! The writer thread: the only owner of redb's write transaction.
//!
//! Clients queue writes on a channel. The thread takes whatever is queued (up to `max_batch`),
//! applies it in one transaction, commits once (one fsync), and only then publishes the events
//! and answers every client. While a commit is on disk, new writes pile up in the channel and
//! form the next group: throughput is not one fsync per write.
//!
//! Compaction runs here too, in chunks between write groups, so writers never wait for a whole
//! compaction.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableHandle};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Shared;
use super::mvcc::{self, HISTORY, LATEST, META, Write, unavailable};
use crate::{Event, EventKind, KeyValue, Result, Revision, StoreError};

/// History records one compaction transaction processes.
const COMPACTION_CHUNK: usize = 4096;

pub(super) enum Reply {
    Revision(oneshot::Sender<Result<Revision>>),
    Deleted(oneshot::Sender<Result<(Revision, KeyValue)>>),
}

pub(super) enum Request {
    Write {
        write: Write,
        reply: Reply,
    },
    Compact {
        revision: Revision,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// What the store knows at start-up.
pub(super) struct State {
    pub revision: u64,
    pub compact_revision: u64,
    /// Compaction finished up to here; a compaction to `compact_revision` resumes from it.
    pub compact_floor: u64,
}

/// Creates the tables in a new database, or checks that an existing one is an rkube store of
/// this format whose revision and history agree.
pub(super) fn initialize(db: &Database, path: &Path) -> Result<State> {
    let damaged = |what: String| StoreError::Corrupt(format!("{}: {what}", path.display()));
    let txn = db.begin_write().map_err(unavailable)?;
    let foreign = txn
        .list_tables()
        .map_err(unavailable)?
        .filter(|t| ![META.name(), LATEST.name(), HISTORY.name()].contains(&t.name()))
        .count();
    let state = {
        let mut meta = txn.open_table(META).map_err(unavailable)?;
        let latest = txn.open_table(LATEST).map_err(unavailable)?;
        let history = txn.open_table(HISTORY).map_err(unavailable)?;
        let get = |meta: &redb::Table<&str, u64>, k: &str| -> Result<Option<u64>> {
            Ok(meta.get(k).map_err(unavailable)?.map(|g| g.value()))
        };
        match get(&meta, mvcc::META_FORMAT)? {
            None if foreign > 0
                || !latest.is_empty().map_err(unavailable)?
                || !history.is_empty().map_err(unavailable)? =>
            {
                return Err(damaged("not an rkube store (no format marker)".into()));
            }
            None => {
                meta.insert(mvcc::META_FORMAT, mvcc::FORMAT_VERSION)
                    .map_err(unavailable)?;
                for k in [
                    mvcc::META_REVISION,
                    mvcc::META_COMPACT,
                    mvcc::META_COMPACT_DONE,
                ] {
                    meta.insert(k, 0).map_err(unavailable)?;
                }
            }
            Some(mvcc::FORMAT_VERSION) => {}
            Some(v) => {
                return Err(damaged(format!(
                    "store format {v} is not supported (expected {})",
                    mvcc::FORMAT_VERSION
                )));
            }
        }
        let state = State {
            revision: get(&meta, mvcc::META_REVISION)?.unwrap_or(0),
            compact_revision: get(&meta, mvcc::META_COMPACT)?.unwrap_or(0),
            compact_floor: get(&meta, mvcc::META_COMPACT_DONE)?.unwrap_or(0),
        };
        // Every write stores its history record and the new revision in one transaction, so the
        // newest record is always the current revision.
        let newest = history
            .last()
            .map_err(unavailable)?
            .map_or(0, |(k, _)| k.value());
        if newest != state.revision {
            return Err(damaged(format!(
                "revision {} but newest history record {newest}",
                state.revision
            )));
        }
        if state.compact_floor > state.compact_revision || state.compact_revision > state.revision {
            return Err(damaged("inconsistent compaction state".into()));
        }
        state
    };
    txn.commit().map_err(unavailable)?;
    Ok(state)
}

pub(super) fn spawn(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<[Event]>>,
    state: State,
    max_batch: usize,
) -> Result<std::thread::JoinHandle<()>> {
    let job = (state.compact_floor < state.compact_revision)
        .then(|| Job::new(state.compact_floor, state.compact_revision));
    let writer = WriterLoop {
        shared,
        rx,
        events,
        max_batch,
        revision: state.revision,
        compact_revision: state.compact_revision,
        compact_floor: state.compact_floor,
        job,
        next_target: None,
        waiters: Vec::new(),
    };
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || writer.run())
        .map_err(|e| StoreError::Unavailable(format!("cannot start store writer: {e}")))
}

/// A compaction under way: history in `[cursor, target]` still to examine.
struct Job {
    floor: u64,
    cursor: u64,
    target: u64,
    keepers: HashMap<Vec<u8>, Option<u64>>,
}

impl Job {
    fn new(floor: u64, target: u64) -> Self {
        Self {
            floor,
            cursor: floor,
            target,
            keepers: HashMap::new(),
        }
    }
}

struct WriterLoop {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<[Event]>>,
    max_batch: usize,
    /// Last committed revision.
    revision: u64,
    /// Highest compaction accepted (reads below it are refused).
    compact_revision: u64,
    /// Every compaction up to here is finished.
    compact_floor: u64,
    job: Option<Job>,
    /// A compaction accepted while `job` runs; it starts when `job` is done.
    next_target: Option<u64>,
    waiters: Vec<(u64, oneshot::Sender<Result<()>>)>,
}

impl WriterLoop {
    fn run(mut self) {
        loop {
            // With a compaction pending, do not sleep on the channel: alternate write groups and
            // compaction chunks.
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
        let mut writes = Vec::with_capacity(batch.len());
        let mut new_target = None;
        for request in batch {
            match request {
                Request::Write { write, reply } => writes.push((write, reply)),
                Request::Compact { revision, reply } => {
                    let accepted = new_target.unwrap_or(self.compact_revision);
                    if revision > self.revision as i64 {
                        let _ = reply.send(Err(StoreError::FutureRevision {
                            requested: revision,
                            current: self.revision as i64,
                        }));
                    } else if revision <= accepted as i64 {
                        let _ = reply.send(Err(StoreError::Compacted {
                            requested: revision,
                            compacted: accepted as i64,
                        }));
                    } else {
                        new_target = Some(revision as u64);
                        self.waiters.push((revision as u64, reply));
                    }
                }
            }
        }

        let outcome = self.commit(&writes, new_target);
        match outcome {
            Ok((results, events, revision)) => {
                self.revision = revision;
                self.shared.revision.store(self.revision, Ordering::Release);
                if let Some(target) = new_target {
                    self.compact_revision = target;
                    self.shared
                        .compact_revision
                        .store(target, Ordering::Release);
                    match &self.job {
                        Some(_) => self.next_target = Some(target),
                        None => self.job = Some(Job::new(self.compact_floor, target)),
                    }
                }
                if !events.is_empty() {
                    // No receivers is fine: nobody watches.
                    let _ = self.events.send(events.into());
                }
                for ((_, reply), result) in writes.into_iter().zip(results) {
                    answer(reply, result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store commit failed");
                for (_, reply) in writes {
                    answer(reply, Err(e.clone()));
                }
                if new_target.is_some() {
                    let accepted = self.compact_revision;
                    self.fail_waiters(|target| target > accepted, &e);
                }
            }
        }
    }

    /// One transaction for the whole group: per-write results, the events of the writes that
    /// succeeded, and the revision after them.
    #[allow(clippy::type_complexity)]
    fn commit(
        &self,
        writes: &[(Write, Reply)],
        new_target: Option<u64>,
    ) -> Result<(Vec<Result<Event>>, Vec<Event>, u64)> {
        let txn = self.shared.db.begin_write().map_err(unavailable)?;
        let mut results = Vec::with_capacity(writes.len());
        let mut events = Vec::with_capacity(writes.len());
        let revision = {
            let mut writer = mvcc::Writer {
                latest: txn.open_table(LATEST).map_err(unavailable)?,
                history: txn.open_table(HISTORY).map_err(unavailable)?,
                revision: self.revision,
            };
            for (write, _) in writes {
                let result = writer.apply(write)?;
                if let Ok(event) = &result {
                    events.push(event.clone());
                }
                results.push(result);
            }
            let mut meta = txn.open_table(META).map_err(unavailable)?;
            meta.insert(mvcc::META_REVISION, writer.revision)
                .map_err(unavailable)?;
            if let Some(target) = new_target {
                meta.insert(mvcc::META_COMPACT, target)
                    .map_err(unavailable)?;
            }
            writer.revision
        };
        txn.commit().map_err(unavailable)?;
        Ok((results, events, revision))
    }

    fn compaction_step(&mut self) {
        let Some(job) = self.job.as_mut() else { return };
        let outcome = (|| -> Result<Option<u64>> {
            let txn = self.shared.db.begin_write().map_err(unavailable)?;
            let next = {
                let mut latest = txn.open_table(LATEST).map_err(unavailable)?;
                let mut history = txn.open_table(HISTORY).map_err(unavailable)?;
                let next = mvcc::compact_chunk(
                    &mut latest,
                    &mut history,
                    job.floor,
                    job.cursor,
                    job.target,
                    COMPACTION_CHUNK,
                    &mut job.keepers,
                )?;
                if next.is_none() {
                    let mut meta = txn.open_table(META).map_err(unavailable)?;
                    meta.insert(mvcc::META_COMPACT_DONE, job.target)
                        .map_err(unavailable)?;
                }
                next
            };
            txn.commit().map_err(unavailable)?;
            Ok(next)
        })();
        match outcome {
            Ok(Some(cursor)) => job.cursor = cursor,
            Ok(None) => {
                let done = job.target;
                self.compact_floor = done;
                tracing::info!(revision = done, "store history compacted");
                self.job = self.next_target.take().map(|target| Job::new(done, target));
                let (ready, waiting) = std::mem::take(&mut self.waiters)
                    .into_iter()
                    .partition(|(t, _)| *t <= done);
                self.waiters = waiting;
                for (_, reply) in ready {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                // The compaction resumes from its floor at the next start.
                tracing::error!(error = %e, "store compaction failed");
                self.job = None;
                self.next_target = None;
                self.fail_waiters(|_| true, &e);
            }
        }
    }

    fn fail_waiters(&mut self, which: impl Fn(u64) -> bool, e: &StoreError) {
        let (failed, waiting) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|(t, _)| which(*t));
        self.waiters = waiting;
        for (_, reply) in failed {
            let _ = reply.send(Err(e.clone()));
        }
    }
}

fn answer(reply: Reply, result: Result<Event>) {
    match reply {
        Reply::Revision(tx) => {
            let _ = tx.send(result.map(|e| e.revision()));
        }
        Reply::Deleted(tx) => {
            let _ = tx.send(result.and_then(|e| match (e.kind, e.prev_kv) {
                (EventKind::Delete, Some(prev)) => Ok((e.kv.mod_revision, prev)),
                _ => Err(StoreError::Unavailable(
                    "delete produced no tombstone".into(),
                )),
            }));
        }
    }
}

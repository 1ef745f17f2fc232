//! Watches on the embedded store.
//!
//! Every group commit is published once, as one shared batch, on a bounded broadcast channel.
//! A watcher is a small state machine over that channel:
//! - **catching up**: it reads the history table from its next revision up to the snapshot's
//!   revision, a bounded slice at a time (a watcher that starts in the past, or one that fell so
//!   far behind that the channel dropped batches for it);
//! - **live**: it filters the published batches.
//!
//! It subscribes before it reads history, and drops every event below its next revision, so the
//! hand-over between the two loses nothing and delivers nothing twice.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use redb::ReadableDatabase;
use tokio::sync::broadcast;

use super::{Shared, mvcc};
use crate::{Event, Result, StoreError, WatchItem, WatchRequest, WatchStream};

/// Matching events read from disk per step, and records scanned per step.
const CATCH_UP_EVENTS: usize = 1024;
const CATCH_UP_SCAN: usize = 16 * 1024;

/// `live` must be subscribed before this reads the committed revision.
pub(super) fn watch(
    shared: Arc<Shared>,
    live: broadcast::Receiver<Arc<[Event]>>,
    req: WatchRequest,
) -> Result<WatchStream> {
    if req.start_revision < 0 {
        return Err(StoreError::InvalidArgument(format!("negative start revision {}", req.start_revision)));
    }
    let (committed, compacted) = {
        let index = shared.index();
        (index.revision, index.compact_revision)
    };
    let next = if req.start_revision == 0 { committed + 1 } else { req.start_revision as u64 };
    if next < compacted {
        return Err(StoreError::Compacted { requested: next as i64, compacted: compacted as i64 });
    }
    let watcher = Watcher {
        shared,
        req,
        live,
        next,
        catching_up: next <= committed,
        pending: VecDeque::new(),
        delivered: next.saturating_sub(1),
        done: false,
    };
    Ok(futures::stream::unfold(watcher, |mut w| async move { w.next_item().await.map(|item| (item, w)) }).boxed())
}

struct Watcher {
    shared: Arc<Shared>,
    req: WatchRequest,
    live: broadcast::Receiver<Arc<[Event]>>,
    /// The next revision this watcher may deliver.
    next: u64,
    catching_up: bool,
    pending: VecDeque<WatchItem>,
    /// Highest revision delivered (event or progress).
    delivered: u64,
    done: bool,
}

impl Watcher {
    async fn next_item(&mut self) -> Option<Result<WatchItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let step = if self.catching_up { self.catch_up().await } else { self.receive().await };
            if let Err(e) = step {
                self.done = true;
                return Some(Err(e));
            }
        }
    }

    async fn catch_up(&mut self) -> Result<()> {
        let (req, from) = (self.req.clone(), self.next);
        let (events, next, until) = self
            .shared
            .read(move |shared| {
                let (until, history) = {
                    let index = shared.index();
                    if from < index.compact_revision {
                        let compacted = index.compact_revision as i64;
                        return Err(StoreError::Compacted { requested: from as i64, compacted });
                    }
                    let txn = shared.db.begin_read().map_err(mvcc::unavailable)?;
                    (index.revision, txn.open_table(mvcc::HISTORY).map_err(mvcc::unavailable)?)
                };
                let (events, next) = mvcc::read_history(&history, &req, from, until, CATCH_UP_EVENTS, CATCH_UP_SCAN)?;
                Ok((events, next, until))
            })
            .await?;
        self.push_events(events);
        self.next = self.next.max(next);
        if self.next > until {
            self.push_progress();
            // Everything committed when the snapshot was taken has been read; later commits
            // are (or will be) on the channel.
            self.catching_up = false;
        }
        Ok(())
    }

    fn push_events(&mut self, events: Vec<Event>) {
        if let Some(last) = events.last() {
            self.delivered = last.revision() as u64;
        }
        self.pending.extend(events.into_iter().map(WatchItem::Event));
    }

    /// After a step, tell a consumer that asked for it how far the store has got, unless its
    /// last event already says so.
    fn push_progress(&mut self) {
        let reached = self.next.saturating_sub(1);
        if self.req.progress_notify && reached > self.delivered {
            self.delivered = reached;
            self.pending.push_back(WatchItem::Progress(reached as i64));
        }
    }

    async fn receive(&mut self) -> Result<()> {
        match self.live.recv().await {
            Ok(batch) => {
                for event in batch.iter() {
                    let revision = event.revision() as u64;
                    if revision >= self.next {
                        self.next = revision + 1;
                        if self.req.matches(&event.kv.key) {
                            self.delivered = revision;
                            self.pending.push_back(WatchItem::Event(event.clone()));
                        }
                    }
                }
                self.push_progress();
                Ok(())
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(key = %self.req.key, missed, next = self.next, "watcher fell behind; catching up from history");
                self.catching_up = true;
                Ok(())
            }
            Err(broadcast::error::RecvError::Closed) => Err(StoreError::Unavailable("store is closed".into())),
        }
    }
}

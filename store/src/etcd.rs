//! The etcd backend: a real etcd v3 cluster through `etcd-client`, for users who outgrow one
//! machine. Every operation maps onto the etcd request kube-apiserver itself sends: writes are
//! transactions comparing `create_revision` / `mod_revision`, watches ask for `prev_kv`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, KvClient, Txn,
    TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};
use futures::StreamExt;

use crate::{
    Event, EventKind, KeyValue, RangeRequest, RangeResponse, Result, Revision, Store, StoreError, StoreStatus,
    WatchItem, WatchRequest, WatchStream, check_size, prefix_end,
};

pub struct EtcdStore {
    client: Client,
    kv: KvClient,
    watch: WatchClient,
    /// The highest compaction this client has seen (etcd's range errors do not carry it).
    compacted: Arc<AtomicI64>,
}

impl EtcdStore {
    /// Connects to the cluster and checks that it answers.
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(StoreError::InvalidArgument("no etcd endpoints given".into()));
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let mut client = Client::connect(endpoints, Some(options))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to etcd at {endpoints:?}: {e}")))?;
        let status =
            client.status().await.map_err(|e| StoreError::Unavailable(format!("etcd at {endpoints:?}: {e}")))?;
        tracing::info!(?endpoints, version = status.version(), "connected to etcd");
        // Lists of many objects exceed gRPC's default 4 MiB message limit; kube-apiserver lifts
        // it the same way.
        let kv = client.kv_client().max_decoding_message_size(usize::MAX).max_encoding_message_size(usize::MAX);
        let watch = client.watch_client().max_decoding_message_size(usize::MAX);
        Ok(Self { client, kv, watch, compacted: Arc::new(AtomicI64::new(0)) })
    }

    fn error(&self, e: etcd_client::Error, requested: Revision) -> StoreError {
        map_error(e, requested, self.compacted.load(Ordering::Relaxed))
    }

    async fn current_revision(&self) -> Revision {
        let mut kv = self.kv.clone();
        match kv.get("\0", Some(GetOptions::new().with_count_only())).await {
            Ok(resp) => resp.header().map_or(0, |h| h.revision()),
            Err(_) => 0,
        }
    }

    /// Refines an etcd error that only names its kind with the revisions involved.
    async fn refine(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::FutureRevision { requested, .. } => {
                StoreError::FutureRevision { requested, current: self.current_revision().await }
            }
            other => other,
        }
    }

    /// Runs a transaction that does `then` if `compare` holds and reads the key otherwise.
    /// Returns the new revision, or the key's current version on failure.
    async fn cas(
        &self,
        key: &str,
        compare: Compare,
        then: TxnOp,
    ) -> Result<std::result::Result<(Revision, Option<KeyValue>), Option<KeyValue>>> {
        let txn = Txn::new().when([compare]).and_then([then]).or_else([TxnOp::get(key, None)]);
        let mut kv = self.kv.clone();
        let resp = kv.txn(txn).await.map_err(|e| self.error(e, 0))?;
        let revision = resp.header().map_or(0, |h| h.revision());
        let mut responses = resp.op_responses();
        let first = responses.pop();
        if resp.succeeded() {
            let prev = match first {
                Some(TxnOpResponse::Delete(mut d)) => d.take_prev_kvs().into_iter().next().map(convert).transpose()?,
                _ => None,
            };
            Ok(Ok((revision, prev)))
        } else {
            let current = match first {
                Some(TxnOpResponse::Get(mut g)) => g.take_kvs().into_iter().next().map(convert).transpose()?,
                _ => None,
            };
            Ok(Err(current))
        }
    }
}

fn map_error(e: etcd_client::Error, requested: Revision, compacted: Revision) -> StoreError {
    match e {
        etcd_client::Error::GRpcStatus(status) => {
            let message = status.message();
            if message.contains("required revision has been compacted") {
                StoreError::Compacted { requested, compacted }
            } else if message.contains("required revision is a future revision") {
                StoreError::FutureRevision { requested, current: 0 }
            } else if message.contains("request is too large") {
                StoreError::TooLarge { size: 0, limit: crate::MAX_REQUEST_BYTES }
            } else {
                StoreError::Unavailable(format!("etcd: {message} ({:?})", status.code()))
            }
        }
        other => StoreError::Unavailable(format!("etcd: {other}")),
    }
}

fn convert(kv: etcd_client::KeyValue) -> Result<KeyValue> {
    let (create_revision, mod_revision, version) = (kv.create_revision(), kv.mod_revision(), kv.version());
    let (key, value) = kv.into_key_value();
    let key =
        String::from_utf8(key).map_err(|_| StoreError::Corrupt("etcd returned a key that is not UTF-8".into()))?;
    Ok(KeyValue { key: Arc::from(key), value: Bytes::from(value), create_revision, mod_revision, version })
}

fn range_options(prefix: &str) -> GetOptions {
    let end = prefix_end(prefix.as_bytes());
    // An empty end means "no upper bound": etcd spells that range_end = "\0".
    if end.is_empty() { GetOptions::new().with_from_key() } else { GetOptions::new().with_range(end) }
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str, revision: Revision) -> Result<(Option<KeyValue>, Revision)> {
        let mut kv = self.kv.clone();
        let mut resp = match kv.get(key, Some(GetOptions::new().with_revision(revision))).await {
            Ok(resp) => resp,
            Err(e) => return Err(self.refine(self.error(e, revision)).await),
        };
        let at = if revision > 0 { revision } else { resp.header().map_or(0, |h| h.revision()) };
        Ok((resp.take_kvs().into_iter().next().map(convert).transpose()?, at))
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        let start = match &req.start {
            Some(start) if !start.starts_with(&req.prefix) => {
                return Err(StoreError::InvalidArgument(format!(
                    "start key {start:?} is outside prefix {:?}",
                    req.prefix
                )));
            }
            Some(start) => start.clone(),
            None => req.prefix.clone(),
        };
        let options = range_options(&req.prefix).with_limit(req.limit as i64).with_revision(req.revision);
        let mut kv = self.kv.clone();
        let mut resp = match kv.get(start, Some(options)).await {
            Ok(resp) => resp,
            Err(e) => return Err(self.refine(self.error(e, req.revision)).await),
        };
        let revision = if req.revision > 0 { req.revision } else { resp.header().map_or(0, |h| h.revision()) };
        let (more, count) = (resp.more(), resp.count());
        let kvs = resp.take_kvs().into_iter().map(convert).collect::<Result<Vec<_>>>()?;
        Ok(RangeResponse { kvs, more, count, revision })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        check_size(key, &value)?;
        let compare = Compare::create_revision(key, CompareOp::Equal, 0);
        match self.cas(key, compare, TxnOp::put(key, value.to_vec(), None)).await? {
            Ok((revision, _)) => Ok(revision),
            Err(_) => Err(StoreError::AlreadyExists { key: key.to_owned() }),
        }
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        check_size(key, &value)?;
        let compare = Compare::mod_revision(key, CompareOp::Equal, expected);
        match self.cas(key, compare, TxnOp::put(key, value.to_vec(), None)).await? {
            Ok((revision, _)) => Ok(revision),
            Err(None) => Err(StoreError::NotFound { key: key.to_owned() }),
            Err(Some(current)) => {
                Err(StoreError::Conflict { key: key.to_owned(), expected, current: Some(Box::new(current)) })
            }
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let compare = match expected {
            Some(expected) => Compare::mod_revision(key, CompareOp::Equal, expected),
            None => Compare::create_revision(key, CompareOp::Greater, 0),
        };
        match self.cas(key, compare, TxnOp::delete(key, Some(DeleteOptions::new().with_prev_key()))).await? {
            Ok((revision, Some(prev))) => Ok((revision, prev)),
            // Deleted by someone else between compare and delete cannot happen inside a txn.
            Ok((_, None)) | Err(None) => Err(StoreError::NotFound { key: key.to_owned() }),
            Err(Some(current)) => Err(StoreError::Conflict {
                key: key.to_owned(),
                expected: expected.unwrap_or(0),
                current: Some(Box::new(current)),
            }),
        }
    }

    async fn watch(&self, req: WatchRequest) -> Result<WatchStream> {
        let mut options = WatchOptions::new().with_start_revision(req.start_revision).with_prev_key();
        if req.prefix {
            let end = prefix_end(req.key.as_bytes());
            options = if end.is_empty() { options.with_from_key() } else { options.with_range(end) };
        }
        let mut watch = self.watch.clone();
        let mut stream =
            watch.watch(req.key.as_str(), Some(options)).await.map_err(|e| self.error(e, req.start_revision))?;
        // etcd confirms the watch (or refuses a compacted start) in its first response: wait for
        // it, so that the watch is in place when this returns, as with the embedded store.
        let first = stream.message().await.map_err(|e| self.error(e, req.start_revision))?;
        let mut watcher = EtcdWatch {
            stream,
            pending: VecDeque::new(),
            done: false,
            start: req.start_revision,
            compacted: self.compacted.clone(),
            // etcd only sends progress when asked (or every 10 minutes): ask every second.
            progress: req.progress_notify.then(|| tokio::time::interval(PROGRESS_INTERVAL)),
        };
        match first {
            None => return Err(StoreError::Unavailable("etcd closed the watch".into())),
            Some(resp) => {
                if let Some(e) = watch_failure(&resp, req.start_revision, &self.compacted) {
                    return Err(e);
                }
                watcher.pending.extend(events(&resp)?.into_iter().map(WatchItem::Event));
            }
        }
        Ok(futures::stream::unfold(watcher, |mut w| async move { w.next_item().await.map(|item| (item, w)) }).boxed())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut kv = self.kv.clone();
        match kv.compact(revision, Some(CompactionOptions::new().with_physical())).await {
            Ok(_) => {
                self.compacted.fetch_max(revision, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(self.refine(self.error(e, revision)).await),
        }
    }

    async fn status(&self) -> Result<StoreStatus> {
        let mut client = self.client.clone();
        let status = client.status().await.map_err(|e| self.error(e, 0))?;
        Ok(StoreStatus {
            revision: status.header().map_or(0, |h| h.revision()),
            compact_revision: self.compacted.load(Ordering::Relaxed),
            db_size_bytes: status.db_size().max(0) as u64,
        })
    }
}

const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

struct EtcdWatch {
    stream: etcd_client::WatchStream,
    pending: VecDeque<WatchItem>,
    done: bool,
    start: Revision,
    compacted: Arc<AtomicI64>,
    progress: Option<tokio::time::Interval>,
}

impl EtcdWatch {
    async fn next_item(&mut self) -> Option<Result<WatchItem>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let message = match &mut self.progress {
                Some(ticker) => tokio::select! {
                    message = self.stream.message() => message,
                    _ = ticker.tick() => match self.stream.request_progress().await {
                        Ok(()) => continue,
                        Err(e) => Err(e),
                    },
                },
                None => self.stream.message().await,
            };
            let failure = match message {
                Ok(Some(resp)) => match watch_failure(&resp, self.start, &self.compacted) {
                    Some(e) => e,
                    None => match events(&resp) {
                        // A response without events that is not a creation is a progress
                        // notification: everything up to its header revision was sent.
                        Ok(events) if events.is_empty() && !resp.created() => {
                            if self.progress.is_some() {
                                let revision = resp.header().map_or(0, |h| h.revision());
                                self.pending.push_back(WatchItem::Progress(revision));
                            }
                            continue;
                        }
                        Ok(events) => {
                            self.pending.extend(events.into_iter().map(WatchItem::Event));
                            continue;
                        }
                        Err(e) => e,
                    },
                },
                Ok(None) => StoreError::Unavailable("etcd closed the watch".into()),
                Err(e) => map_error(e, self.start, self.compacted.load(Ordering::Relaxed)),
            };
            self.done = true;
            return Some(Err(failure));
        }
    }
}

fn watch_failure(resp: &etcd_client::WatchResponse, start: Revision, compacted: &AtomicI64) -> Option<StoreError> {
    if resp.compact_revision() > 0 {
        compacted.fetch_max(resp.compact_revision(), Ordering::Relaxed);
        return Some(StoreError::Compacted { requested: start, compacted: resp.compact_revision() });
    }
    if resp.canceled() {
        return Some(StoreError::Unavailable(format!("etcd cancelled the watch: {}", resp.cancel_reason())));
    }
    None
}

fn events(resp: &etcd_client::WatchResponse) -> Result<Vec<Event>> {
    resp.events()
        .iter()
        .filter_map(|e| {
            let kv = e.kv()?.clone();
            Some((e.event_type(), kv, e.prev_kv().cloned()))
        })
        .map(|(kind, kv, prev)| {
            Ok(Event {
                kind: match kind {
                    EventType::Put => EventKind::Put,
                    EventType::Delete => EventKind::Delete,
                },
                kv: convert(kv)?,
                prev_kv: prev.map(convert).transpose()?,
            })
        })
        .collect()
}

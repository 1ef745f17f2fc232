//! An events.k8s.io/v1 recorder. Recording never blocks a reconcile: events go through a bounded
//! queue to a background task and are dropped when it is full, as upstream's broadcaster does.
//! The same event repeated within six minutes becomes a series on the first one (a count and a
//! last-observed time) instead of a new object.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::{Semaphore, mpsc};

/// How long repeats are folded into a series (upstream's isomorphic event window).
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// Events waiting to be written before new ones are dropped.
const QUEUE: usize = 1000;
const IN_FLIGHT: usize = 16;

struct Record {
    regarding: ObjectReference,
    warning: bool,
    reason: String,
    action: String,
    note: String,
}

/// Records events on behalf of one controller. Clones share the queue.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Record>,
}

impl Recorder {
    /// A recorder writing as `controller` (reportingController) / `instance`
    /// (reportingInstance); the writer task lives as long as a clone of the recorder.
    pub fn new(client: Client, controller: &str, instance: &str) -> Self {
        let (queue, records) = mpsc::channel(QUEUE);
        let writer = Writer {
            client,
            controller: controller.to_string(),
            instance: instance.to_string(),
            seen: HashMap::new(),
            last_prune: Instant::now(),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        };
        tokio::spawn(writer.run(records));
        Self { queue }
    }

    pub fn normal(&self, regarding: ObjectReference, reason: &str, action: &str, note: String) {
        self.record(Record { regarding, warning: false, reason: reason.into(), action: action.into(), note });
    }

    pub fn warning(&self, regarding: ObjectReference, reason: &str, action: &str, note: String) {
        self.record(Record { regarding, warning: true, reason: reason.into(), action: action.into(), note });
    }

    fn record(&self, record: Record) {
        if self.queue.try_send(record).is_err() {
            tracing::debug!("event queue full; event dropped");
        }
    }
}

/// What makes two events the same (then they form a series).
type Key = (String, bool, String, String, String);

struct Seen {
    namespace: String,
    name: String,
    count: i32,
    last: Instant,
}

struct Writer {
    client: Client,
    controller: String,
    instance: String,
    seen: HashMap<Key, Seen>,
    last_prune: Instant,
    in_flight: Arc<Semaphore>,
}

impl Writer {
    async fn run(mut self, mut records: mpsc::Receiver<Record>) {
        while let Some(record) = records.recv().await {
            if self.last_prune.elapsed() > Duration::from_secs(60) {
                self.seen.retain(|_, s| s.last.elapsed() < SERIES_WINDOW);
                self.last_prune = Instant::now();
            }
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else { return };
            let key: Key = (
                record.regarding.uid.clone().unwrap_or_default(),
                record.warning,
                record.reason.clone(),
                record.action.clone(),
                record.note.clone(),
            );
            let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
            match self.seen.get_mut(&key).filter(|s| s.last.elapsed() < SERIES_WINDOW) {
                Some(seen) => {
                    seen.count += 1;
                    seen.last = Instant::now();
                    let api: Api<Event> = Api::namespaced(self.client.clone(), &seen.namespace);
                    let name = seen.name.clone();
                    let series = EventSeries { count: seen.count, last_observed_time: now };
                    tokio::spawn(async move {
                        let patch = serde_json::json!({ "series": series });
                        if let Err(e) = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                            tracing::debug!(error = %e, event = %name, "cannot update event series");
                        }
                        drop(permit);
                    });
                }
                None => {
                    let event = self.event(record, now);
                    let namespace = event.metadata.namespace.clone().unwrap_or_default();
                    let name = event.metadata.name.clone().unwrap_or_default();
                    self.seen.insert(key, Seen { namespace: namespace.clone(), name, count: 1, last: Instant::now() });
                    let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
                    tokio::spawn(async move {
                        if let Err(e) = api.create(&PostParams::default(), &event).await {
                            tracing::debug!(error = %e, "cannot write event");
                        }
                        drop(permit);
                    });
                }
            }
        }
    }

    fn event(&self, r: Record, now: MicroTime) -> Event {
        let namespace = r.regarding.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        let nanos = now.0.as_nanosecond();
        let base = r.regarding.name.clone().unwrap_or_else(|| self.controller.clone());
        Event {
            metadata: ObjectMeta {
                name: Some(format!("{base}.{nanos:x}")),
                namespace: Some(namespace),
                ..Default::default()
            },
            event_time: Some(now),
            action: Some(r.action),
            reason: Some(r.reason),
            note: Some(r.note),
            type_: Some(if r.warning { "Warning" } else { "Normal" }.into()),
            regarding: Some(r.regarding),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Default::default()
        }
    }
}

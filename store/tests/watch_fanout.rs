//! Watch fan-out at scale, on both backends: 100 watchers of one prefix each receive all of
//! 100,000 events, in revision order, none lost or duplicated. Half of the watchers follow live
//! from the start; the other half start from the first revision after half of the writes are
//! done, so they replay history and then switch to live events.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use store::{EventKind, Store, WatchRequest};

const WATCHERS: usize = 100;
const EVENTS: i64 = 100_000;
const WRITERS: i64 = 64;

for_each_backend!(hundred_watchers_each_receive_all_events_in_order);

fn spawn_watcher(s: Arc<dyn Store>, first: i64) -> tokio::task::JoinHandle<()> {
    let watch = WatchRequest::prefix("/fan/").from_revision(first);
    tokio::spawn(async move {
        let mut w = s.watch(watch).await.expect("watch");
        let mut expected = first;
        while expected < first + EVENTS {
            let e = tokio::time::timeout(Duration::from_secs(60), w.next())
                .await
                .unwrap_or_else(|_| panic!("stalled at revision {expected}"))
                .expect("stream ended early")
                .expect("watch error")
                .into_event()
                .expect("no progress items were asked for");
            assert_eq!(e.revision(), expected, "lost, duplicated or reordered event");
            assert_eq!((e.kind, e.kv.version), (EventKind::Put, 1));
            assert!(e.kv.key.starts_with("/fan/"));
            expected += 1;
        }
    })
}

async fn hundred_watchers_each_receive_all_events_in_order(s: Arc<dyn Store>) {
    let first = s.status().await.unwrap().revision + 1;
    let mut watchers: Vec<_> = (0..WATCHERS / 2).map(|_| spawn_watcher(s.clone(), first)).collect();
    let write = |half: i64| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                let s = s.clone();
                tokio::spawn(async move {
                    let per_writer = EVENTS / 2 / WRITERS + i64::from(t < (EVENTS / 2) % WRITERS);
                    for i in 0..per_writer {
                        s.create(&format!("/fan/{half}/{t}/{i}"), Bytes::from_static(b"0123456789abcdef"))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        async move {
            for w in writers {
                w.await.unwrap();
            }
        }
    };
    write(0).await;
    watchers.extend((0..WATCHERS / 2).map(|_| spawn_watcher(s.clone(), first)));
    write(1).await;
    assert_eq!(s.status().await.unwrap().revision, first + EVENTS - 1);
    for w in watchers {
        w.await.unwrap();
    }
}

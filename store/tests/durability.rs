//! Durability of the embedded store: acknowledged writes survive restarts and `kill -9`,
//! revisions continue, history stays bounded, and a damaged data directory is refused.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use store::embedded::{EmbeddedStore, Options};
use store::{RangeRequest, Store, StoreError, WatchRequest};

async fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir, Options::default()).await.expect("open store")
}

/// Every revision from 1 to the current one, read back through a watch from revision 1.
async fn assert_revisions_continuous(store: &EmbeddedStore) {
    let current = store.status().await.unwrap().revision;
    let mut w = store.watch(WatchRequest::prefix("").from_revision(1)).await.unwrap();
    let mut expected = 1;
    while expected <= current {
        let e = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        assert_eq!(e.revision(), expected, "history has a gap or a duplicate");
        expected += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_revision_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let r1 = store.create("/d/a", Bytes::from_static(b"1")).await.unwrap();
    let r2 = store.update("/d/a", Bytes::from_static(b"2"), r1).await.unwrap();
    store.create("/d/b", Bytes::from_static(b"b")).await.unwrap();
    let (r4, _) = store.delete("/d/b", None).await.unwrap();
    store.close().await;

    let store = open(dir.path()).await;
    assert_eq!(store.status().await.unwrap().revision, r4);
    let kv = store.get("/d/a", 0).await.unwrap().0.unwrap();
    assert_eq!((kv.value.as_ref(), kv.mod_revision, kv.version), (&b"2"[..], r2, 2));
    assert_eq!(store.get("/d/a", r1).await.unwrap().0.unwrap().value.as_ref(), b"1");
    assert_eq!(store.get("/d/b", 0).await.unwrap().0, None);
    assert_eq!(store.create("/d/c", Bytes::new()).await.unwrap(), r4 + 1, "revisions continue");
    assert_revisions_continuous(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_or_foreign_data_is_refused_at_start() {
    // Garbage where the database should be.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(store::embedded::DB_FILE), vec![0x5a; 64 * 1024]).unwrap();
    let err = EmbeddedStore::open(dir.path(), Options::default()).await.err().expect("garbage is refused");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");

    // A real store cut short.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..200 {
        store.create(&format!("/t/{i}"), Bytes::from(vec![7u8; 4096])).await.unwrap();
    }
    store.close().await;
    let path = dir.path().join(store::embedded::DB_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len / 3).unwrap();
    match EmbeddedStore::open(dir.path(), Options::default()).await {
        Err(StoreError::Corrupt(_)) => {}
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(store) => {
            // redb may roll back to an older intact commit only if that is what is on disk;
            // a store cut to a third cannot hold all 200 keys and must not pretend to.
            let n = store.range(RangeRequest::prefix("/t/")).await.map(|r| r.count);
            panic!("a truncated store opened silently (range: {n:?})");
        }
    }

    // A redb database that is not an rkube store.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join(store::embedded::DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, &str>::new("other")).unwrap().insert("k", "v").unwrap();
        txn.commit().unwrap();
    }
    let err = EmbeddedStore::open(dir.path(), Options::default()).await.err().expect("foreign db is refused");
    assert!(matches!(err, StoreError::Corrupt(ref m) if m.contains("not an rkube store")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_opener_is_refused_while_the_store_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let err = EmbeddedStore::open(dir.path(), Options::default()).await.err().expect("second open refused");
    assert!(matches!(err, StoreError::Unavailable(ref m) if m.contains("in use")), "{err:?}");
    store.close().await;
    open(dir.path()).await.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_bounds_history_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut revs = HashMap::new();
    for key in 0..10 {
        revs.insert(key, store.create(&format!("/b/{key}"), Bytes::from_static(b"v0")).await.unwrap());
    }
    for round in 1..=200 {
        for key in 0..10 {
            let rev = store.update(&format!("/b/{key}"), Bytes::from(format!("v{round}")), revs[&key]).await.unwrap();
            revs.insert(key, rev);
        }
    }
    store.delete("/b/9", None).await.unwrap();
    assert_eq!(store.sizes().unwrap(), (9, 2011));
    let current = store.status().await.unwrap().revision;
    store.compact(current).await.unwrap();
    // One record per live key is left, and the tombstone at the compact revision itself.
    assert_eq!(store.sizes().unwrap(), (9, 10));
    let all = store.range(RangeRequest::prefix("/b/")).await.unwrap();
    assert_eq!(all.count, 9);
    assert!(all.kvs.iter().all(|kv| kv.value.as_ref() == b"v200" && kv.version == 201));
    store.close().await;
    // The compaction state persists.
    let store = open(dir.path()).await;
    assert_eq!(store.status().await.unwrap().compact_revision, current);
    assert!(matches!(store.get("/b/1", current - 1).await.unwrap_err(), StoreError::Compacted { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_behind_catches_up_from_history() {
    // A two-batch live buffer: a watcher that does not read while thousands of writes commit
    // loses its place on the channel and must continue from the history table.
    let fixture =
        support::Fixture::embedded_with(Options { watch_buffer: 2, max_batch: 16, ..Options::default() }).await;
    let s = fixture.store.clone();
    let mut w = s.watch(WatchRequest::prefix("/lag/")).await.unwrap();
    let first = s.status().await.unwrap().revision + 1;
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    s.create(&format!("/lag/{t}/{i}"), Bytes::from_static(b"x")).await.unwrap();
                }
            })
        })
        .collect();
    for t in writers {
        t.await.unwrap();
    }
    for expected in first..first + 4000 {
        let e = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        assert_eq!(e.revision(), expected);
    }
}

const CHILD_DIR: &str = "RKUBE_CRASH_TEST_DIR";
const CHILD_ROUND: &str = "RKUBE_CRASH_TEST_ROUND";

/// Runs only as the child of `acknowledged_writes_survive_kill_9`: writes forever from 16
/// tasks and prints a line for each write once the store acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of acknowledged_writes_survive_kill_9"]
async fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let round = std::env::var(CHILD_ROUND).unwrap_or_default();
    let store = Arc::new(open(Path::new(&dir)).await);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            let round = round.clone();
            tokio::spawn(async move {
                // Each task owns its keys, so its own last write is always the current version.
                let mut mod_revs = HashMap::new();
                for k in 0..20 {
                    let key = format!("/crash/{t}/{k}");
                    if let Some(kv) = store.get(&key, 0).await.unwrap().0 {
                        mod_revs.insert(key, kv.mod_revision);
                    }
                }
                for i in 0u64.. {
                    let key = format!("/crash/{t}/{}", i % 20);
                    let value = format!("{round}-{t}-{i}");
                    let rev = match mod_revs.get(&key) {
                        Some(&expected) => store.update(&key, Bytes::from(value.clone()), expected).await,
                        None => store.create(&key, Bytes::from(value.clone())).await,
                    }
                    .unwrap();
                    mod_revs.insert(key.clone(), rev);
                    println!("ack {key} {rev} {value}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(String, i64, String)> = Vec::new();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                lines.push(line);
            }
            lines
        });
        // Let it write for a while, then kill it mid-stream.
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        let before = acked.len();
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            if let ["ack", key, rev, value] = parts[..] {
                acked.push((key.to_string(), rev.parse().unwrap(), value.to_string()));
            }
        }
        let new = acked.len() - before;
        assert!(new > 100, "round {round}: only {new} writes acknowledged in {:?}", started.elapsed());

        let store = open(dir.path()).await;
        let current = store.status().await.unwrap().revision;
        let newest = acked.iter().map(|a| a.1).max().unwrap();
        assert!(current >= newest, "acknowledged revision {newest} lost: store is at {current}");
        for (key, rev, value) in &acked {
            let kv = store.get(key, *rev).await.unwrap().0.unwrap_or_else(|| panic!("{key}@{rev} lost"));
            assert_eq!((kv.mod_revision, kv.value.as_ref()), (*rev, value.as_bytes()), "{key}@{rev}");
        }
        assert_revisions_continuous(&store).await;
        store.close().await;
    }
}

//! The etcd semantics kube-apiserver relies on, checked against both backends: every test here
//! runs once on the embedded store and once on a real etcd process.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use store::{
    Compactor, EventKind, MAX_REQUEST_BYTES, RangeRequest, Store, StoreError, WatchItem, WatchRequest, WatchStream,
};

for_each_backend!(
    writes_assign_one_global_increasing_revision,
    create_of_existing_key_is_already_exists,
    update_with_stale_revision_is_conflict_carrying_current_version,
    update_and_delete_of_missing_key_are_not_found,
    delete_returns_previous_version_and_honours_precondition,
    recreated_key_starts_a_new_version_chain,
    range_returns_only_keys_under_prefix_in_order,
    paginated_range_at_fixed_revision_ignores_later_writes,
    reads_at_past_revisions_see_old_versions_and_deleted_keys,
    reads_at_future_revision_are_refused,
    compaction_refuses_older_revisions_and_keeps_latest_versions,
    watch_replays_history_then_follows_live_changes,
    watch_of_one_key_ignores_its_neighbours,
    watch_from_revision_zero_sees_only_later_changes,
    watch_from_compacted_revision_is_compacted,
    oversized_values_are_refused_and_store_keeps_serving,
    concurrent_compare_and_swap_loses_no_increment,
    periodic_compactor_compacts_to_the_revision_one_interval_old,
    progress_notifications_tell_a_quiet_watcher_how_far_the_store_is,
);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn next_event(w: &mut WatchStream) -> store::Event {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("watch event within 10s")
        .expect("watch stream ended")
        .expect("watch event")
        .into_event()
        .expect("an event, not progress")
}

async fn writes_assign_one_global_increasing_revision(s: Arc<dyn Store>) {
    let r1 = s.create("/t/a", b("1")).await.unwrap();
    let r2 = s.create("/t/b", b("1")).await.unwrap();
    let r3 = s.update("/t/a", b("2"), r1).await.unwrap();
    assert_eq!((r2, r3), (r1 + 1, r1 + 2));

    let (kv, at) = s.get("/t/a", 0).await.unwrap();
    let kv = kv.unwrap();
    assert_eq!(at, r3);
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r1, r3, 2));
    assert_eq!(kv.value, b("2"));
    assert_eq!(s.status().await.unwrap().revision, r3);
}

async fn create_of_existing_key_is_already_exists(s: Arc<dyn Store>) {
    let rev = s.create("/t/a", b("first")).await.unwrap();
    let err = s.create("/t/a", b("second")).await.unwrap_err();
    assert_eq!(err, StoreError::AlreadyExists { key: "/t/a".into() });
    let (kv, _) = s.get("/t/a", 0).await.unwrap();
    assert_eq!(kv.unwrap().value, b("first"), "a refused create loses nothing");
    assert_eq!(s.status().await.unwrap().revision, rev, "a refused write takes no revision");
}

async fn update_with_stale_revision_is_conflict_carrying_current_version(s: Arc<dyn Store>) {
    let r1 = s.create("/t/a", b("1")).await.unwrap();
    let r2 = s.update("/t/a", b("2"), r1).await.unwrap();
    match s.update("/t/a", b("3"), r1).await.unwrap_err() {
        StoreError::Conflict { key, expected, current } => {
            assert_eq!((key.as_str(), expected), ("/t/a", r1));
            let current = current.expect("conflict carries the current version");
            assert_eq!((current.mod_revision, current.value.clone()), (r2, b("2")));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get("/t/a", 0).await.unwrap().0.unwrap().value, b("2"));
}

async fn update_and_delete_of_missing_key_are_not_found(s: Arc<dyn Store>) {
    let not_found = StoreError::NotFound { key: "/t/missing".into() };
    assert_eq!(s.update("/t/missing", b("x"), 1).await.unwrap_err(), not_found);
    assert_eq!(s.delete("/t/missing", None).await.unwrap_err(), not_found);
    assert_eq!(s.delete("/t/missing", Some(1)).await.unwrap_err(), not_found);
    assert_eq!(s.get("/t/missing", 0).await.unwrap().0, None);
}

async fn delete_returns_previous_version_and_honours_precondition(s: Arc<dyn Store>) {
    let r1 = s.create("/t/a", b("1")).await.unwrap();
    let r2 = s.update("/t/a", b("2"), r1).await.unwrap();
    assert!(matches!(s.delete("/t/a", Some(r1)).await.unwrap_err(), StoreError::Conflict { .. }));
    let (rev, prev) = s.delete("/t/a", Some(r2)).await.unwrap();
    assert_eq!(rev, r2 + 1);
    assert_eq!((prev.value, prev.mod_revision, prev.version), (b("2"), r2, 2));
    assert_eq!(s.get("/t/a", 0).await.unwrap().0, None);
    assert!(matches!(s.delete("/t/a", None).await.unwrap_err(), StoreError::NotFound { .. }));
}

async fn recreated_key_starts_a_new_version_chain(s: Arc<dyn Store>) {
    let r1 = s.create("/t/a", b("1")).await.unwrap();
    s.delete("/t/a", None).await.unwrap();
    let r3 = s.create("/t/a", b("again")).await.unwrap();
    let kv = s.get("/t/a", 0).await.unwrap().0.unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r3, r3, 1));
    assert_eq!(s.get("/t/a", r1).await.unwrap().0.unwrap().value, b("1"));
    assert_eq!(s.get("/t/a", r1 + 1).await.unwrap().0, None, "deleted at r1+1");
}

async fn range_returns_only_keys_under_prefix_in_order(s: Arc<dyn Store>) {
    for key in ["/r/pods/ns/b", "/r/pods/ns/a", "/r/pods/ns2/a", "/r/pods0", "/r/pod", "/r/services/ns/a"] {
        s.create(key, b(key)).await.unwrap();
    }
    s.delete("/r/pods/ns2/a", None).await.unwrap();
    s.create("/r/pods/ns/c", b("c")).await.unwrap();
    let resp = s.range(RangeRequest::prefix("/r/pods/")).await.unwrap();
    let keys: Vec<&str> = resp.kvs.iter().map(|kv| &*kv.key).collect();
    assert_eq!(keys, ["/r/pods/ns/a", "/r/pods/ns/b", "/r/pods/ns/c"]);
    assert_eq!((resp.count, resp.more), (3, false));
    assert_eq!(resp.revision, s.status().await.unwrap().revision);
    assert_eq!(resp.kvs[0].value, b("/r/pods/ns/a"));

    let empty = s.range(RangeRequest::prefix("/r/none/")).await.unwrap();
    assert!(empty.kvs.is_empty() && empty.count == 0 && !empty.more);
}

async fn paginated_range_at_fixed_revision_ignores_later_writes(s: Arc<dyn Store>) {
    let mut expected = Vec::new();
    for i in 0..10 {
        let key = format!("/p/items/{i:02}");
        s.create(&key, b(&format!("v{i}"))).await.unwrap();
        expected.push((key, format!("v{i}")));
    }
    let first = s.range(RangeRequest::prefix("/p/items/").limit(4)).await.unwrap();
    assert_eq!((first.kvs.len(), first.more, first.count), (4, true, 10));
    let at = first.revision;

    // Writes between pages: an update, a delete, a create in the middle of the range.
    let five = s.get("/p/items/05", 0).await.unwrap().0.unwrap();
    s.update("/p/items/05", b("changed"), five.mod_revision).await.unwrap();
    s.delete("/p/items/07", None).await.unwrap();
    s.create("/p/items/06a", b("new")).await.unwrap();

    let mut seen: Vec<(String, String)> =
        first.kvs.iter().map(|kv| (kv.key.to_string(), String::from_utf8(kv.value.to_vec()).unwrap())).collect();
    let mut last = first.kvs.last().unwrap().key.to_string();
    loop {
        // Resume just after the last key, as kube-apiserver's continue token does.
        let page = s
            .range(RangeRequest::prefix("/p/items/").start(format!("{last}\0")).limit(4).at_revision(at))
            .await
            .unwrap();
        assert_eq!(page.revision, at);
        assert_eq!(page.count, 10 - seen.len() as i64, "count is the rest of the range at that revision");
        seen.extend(page.kvs.iter().map(|kv| (kv.key.to_string(), String::from_utf8(kv.value.to_vec()).unwrap())));
        if !page.more {
            break;
        }
        last = page.kvs.last().unwrap().key.to_string();
    }
    assert_eq!(seen, expected);
}

async fn reads_at_past_revisions_see_old_versions_and_deleted_keys(s: Arc<dyn Store>) {
    let r1 = s.create("/h/a", b("a1")).await.unwrap();
    let r2 = s.create("/h/b", b("b1")).await.unwrap();
    let r3 = s.update("/h/a", b("a2"), r1).await.unwrap();
    let (r4, _) = s.delete("/h/b", None).await.unwrap();
    let r5 = s.update("/h/a", b("a3"), r3).await.unwrap();

    let at = |rev| {
        let s = s.clone();
        async move {
            let resp = s.range(RangeRequest::prefix("/h/").at_revision(rev)).await.unwrap();
            resp.kvs.iter().map(|kv| format!("{}={}", kv.key, String::from_utf8_lossy(&kv.value))).collect::<Vec<_>>()
        }
    };
    assert_eq!(at(r1).await, ["/h/a=a1"]);
    assert_eq!(at(r2).await, ["/h/a=a1", "/h/b=b1"]);
    assert_eq!(at(r3).await, ["/h/a=a2", "/h/b=b1"]);
    assert_eq!(at(r4).await, ["/h/a=a2"]);
    assert_eq!(at(r5).await, ["/h/a=a3"]);
    let old = s.get("/h/a", r2).await.unwrap().0.unwrap();
    assert_eq!((old.value, old.mod_revision, old.version, old.create_revision), (b("a1"), r1, 1, r1));
    assert_eq!(s.get("/h/b", r3).await.unwrap().0.unwrap().value, b("b1"));
}

async fn reads_at_future_revision_are_refused(s: Arc<dyn Store>) {
    let rev = s.create("/f/a", b("1")).await.unwrap();
    let err = s.range(RangeRequest::prefix("/f/").at_revision(rev + 10)).await.unwrap_err();
    assert_eq!(err, StoreError::FutureRevision { requested: rev + 10, current: rev });
}

async fn compaction_refuses_older_revisions_and_keeps_latest_versions(s: Arc<dyn Store>) {
    let r1 = s.create("/c/a", b("a1")).await.unwrap();
    let r2 = s.create("/c/b", b("b1")).await.unwrap();
    let r3 = s.update("/c/a", b("a2"), r1).await.unwrap();
    let (r4, _) = s.delete("/c/b", None).await.unwrap();
    let r5 = s.create("/c/c", b("c1")).await.unwrap();
    let r6 = s.update("/c/a", b("a3"), r3).await.unwrap();

    s.compact(r5).await.unwrap();
    assert_eq!(s.status().await.unwrap().compact_revision, r5);
    let compacted = s.get("/c/a", r4).await.unwrap_err();
    assert!(
        matches!(compacted, StoreError::Compacted { requested, compacted } if requested == r4 && compacted == r5),
        "{compacted:?}"
    );
    assert!(matches!(
        s.range(RangeRequest::prefix("/c/").at_revision(r2)).await.unwrap_err(),
        StoreError::Compacted { .. }
    ));
    // At the compact revision every key's newest version there is still readable.
    let at = s.range(RangeRequest::prefix("/c/").at_revision(r5)).await.unwrap();
    let seen: Vec<_> = at.kvs.iter().map(|kv| (kv.key.to_string(), kv.value.clone(), kv.mod_revision)).collect();
    assert_eq!(seen, [("/c/a".into(), b("a2"), r3), ("/c/c".into(), b("c1"), r5)]);
    assert_eq!(s.get("/c/a", 0).await.unwrap().0.unwrap().mod_revision, r6);

    assert!(matches!(s.compact(r5).await.unwrap_err(), StoreError::Compacted { .. }));
    assert!(matches!(s.compact(r6 + 100).await.unwrap_err(), StoreError::FutureRevision { .. }));

    // Writes keep working and a later compaction past an old survivor drops it.
    let r7 = s.update("/c/c", b("c2"), r5).await.unwrap();
    s.compact(r7).await.unwrap();
    let at = s.range(RangeRequest::prefix("/c/").at_revision(r7)).await.unwrap();
    let seen: Vec<_> = at.kvs.iter().map(|kv| (kv.key.to_string(), kv.value.clone())).collect();
    assert_eq!(seen, [("/c/a".into(), b("a3")), ("/c/c".into(), b("c2"))]);
}

async fn watch_replays_history_then_follows_live_changes(s: Arc<dyn Store>) {
    let r1 = s.create("/w/a", b("1")).await.unwrap();
    let r2 = s.update("/w/a", b("2"), r1).await.unwrap();
    let mut w = s.watch(WatchRequest::prefix("/w/").from_revision(r1)).await.unwrap();
    let (r3, _) = s.delete("/w/a", None).await.unwrap();
    let r4 = s.create("/w/b", b("b")).await.unwrap();

    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision(), e.kv.value.clone(), e.prev_kv.clone()), (EventKind::Put, r1, b("1"), None));
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision(), e.kv.version), (EventKind::Put, r2, 2));
    assert_eq!(e.prev_kv.unwrap().value, b("1"));
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision(), &*e.kv.key), (EventKind::Delete, r3, "/w/a"));
    let prev = e.prev_kv.expect("delete carries the deleted version");
    assert_eq!((prev.value, prev.mod_revision), (b("2"), r2));
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision(), &*e.kv.key), (EventKind::Put, r4, "/w/b"));
}

async fn watch_of_one_key_ignores_its_neighbours(s: Arc<dyn Store>) {
    let mut w = s.watch(WatchRequest::key("/k/a")).await.unwrap();
    s.create("/k/ab", b("x")).await.unwrap();
    s.create("/k/", b("x")).await.unwrap();
    let rev = s.create("/k/a", b("mine")).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((&*e.kv.key, e.revision()), ("/k/a", rev));
}

async fn watch_from_revision_zero_sees_only_later_changes(s: Arc<dyn Store>) {
    s.create("/z/old", b("x")).await.unwrap();
    let mut w = s.watch(WatchRequest::prefix("/z/")).await.unwrap();
    let rev = s.create("/z/new", b("y")).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((&*e.kv.key, e.revision()), ("/z/new", rev));
}

async fn watch_from_compacted_revision_is_compacted(s: Arc<dyn Store>) {
    let r1 = s.create("/wc/a", b("1")).await.unwrap();
    let r2 = s.update("/wc/a", b("2"), r1).await.unwrap();
    let r3 = s.update("/wc/a", b("3"), r2).await.unwrap();
    s.compact(r3).await.unwrap();
    let refusal = match s.watch(WatchRequest::prefix("/wc/").from_revision(r1)).await {
        Err(e) => e,
        Ok(mut w) => {
            let first = tokio::time::timeout(Duration::from_secs(10), w.next()).await.expect("an answer within 10s");
            let e = first.expect("an error item").expect_err("no events from a compacted revision");
            assert!(w.next().await.is_none(), "the error ends the stream");
            e
        }
    };
    assert_eq!(refusal, StoreError::Compacted { requested: r1, compacted: r3 });
    // From the compact revision itself history is complete.
    let mut w = s.watch(WatchRequest::prefix("/wc/").from_revision(r3)).await.unwrap();
    assert_eq!(next_event(&mut w).await.kv.value, b("3"));
}

async fn oversized_values_are_refused_and_store_keeps_serving(s: Arc<dyn Store>) {
    let big = Bytes::from(vec![b'x'; MAX_REQUEST_BYTES]);
    assert!(matches!(s.create("/big/a", big).await.unwrap_err(), StoreError::TooLarge { .. }));
    let one_mib = Bytes::from(vec![b'y'; 1 << 20]);
    let rev = s.create("/big/b", one_mib.clone()).await.unwrap();
    assert!(matches!(
        s.update("/big/b", Bytes::from(vec![b'z'; MAX_REQUEST_BYTES]), rev).await.unwrap_err(),
        StoreError::TooLarge { .. }
    ));
    assert_eq!(s.get("/big/b", 0).await.unwrap().0.unwrap().value, one_mib);
    assert_eq!(s.get("/big/a", 0).await.unwrap().0, None);
}

async fn concurrent_compare_and_swap_loses_no_increment(s: Arc<dyn Store>) {
    s.create("/cas/counter", b("0")).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let mut current = s.get("/cas/counter", 0).await.unwrap().0.unwrap();
                    loop {
                        let n: u64 = std::str::from_utf8(&current.value).unwrap().parse().unwrap();
                        match s.update("/cas/counter", b(&(n + 1).to_string()), current.mod_revision).await {
                            Ok(_) => break,
                            Err(StoreError::Conflict { current: Some(now), .. }) => current = *now,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let kv = s.get("/cas/counter", 0).await.unwrap().0.unwrap();
    assert_eq!((kv.value, kv.version), (b("320"), 321));
}

async fn periodic_compactor_compacts_to_the_revision_one_interval_old(s: Arc<dyn Store>) {
    let r1 = s.create("/pc/a", b("1")).await.unwrap();
    let interval = Duration::from_millis(300);
    let compactor = Compactor::spawn(s.clone(), interval);
    // The first tick (at once) notes r1; the second compacts to it.
    tokio::time::sleep(interval * 2).await;
    assert_eq!(s.status().await.unwrap().compact_revision, r1);
    let r2 = s.update("/pc/a", b("2"), r1).await.unwrap();
    // Within two more ticks one notes r2, and the next compacts to it (never sooner: history
    // younger than one interval is kept).
    assert_eq!(s.status().await.unwrap().compact_revision, r1);
    tokio::time::sleep(interval * 3).await;
    assert_eq!(s.status().await.unwrap().compact_revision, r2);
    assert!(matches!(s.get("/pc/a", r1).await.unwrap_err(), StoreError::Compacted { .. }));
    compactor.abort();
}

async fn progress_notifications_tell_a_quiet_watcher_how_far_the_store_is(s: Arc<dyn Store>) {
    let mut w = s.watch(WatchRequest::prefix("/quiet/").with_progress_notify()).await.unwrap();
    let elsewhere = s.create("/busy/a", b("x")).await.unwrap();
    // Progress items only ever move forward; wait for one that covers the unrelated write.
    let mut last = 0;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), w.next()).await.expect("progress within 10s");
        match item.expect("stream open").expect("no error") {
            WatchItem::Progress(rev) => {
                assert!(rev >= last, "progress went backwards: {rev} after {last}");
                last = rev;
                if rev >= elsewhere {
                    break;
                }
            }
            WatchItem::Event(e) => panic!("no event expected under /quiet/, got {e:?}"),
        }
    }
    let mine = s.create("/quiet/a", b("y")).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), w.next()).await.unwrap().unwrap().unwrap() {
            WatchItem::Event(e) => {
                assert_eq!(e.revision(), mine);
                break;
            }
            WatchItem::Progress(rev) => assert!(rev < mine, "progress {rev} passed an undelivered event {mine}"),
        }
    }
}

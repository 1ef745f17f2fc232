//! `rkube store` reads what a cluster stored, as a user inspecting a data directory would.

use std::process::Command;

use bytes::Bytes;
use store::Store;
use store::embedded::{EmbeddedStore, Options};

fn rkube(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rkube"))
        .args(["store", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rkube");
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_command_lists_gets_and_compacts_what_the_cluster_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("store"), Options::default()).await.unwrap();
    let r1 =
        store.create("/registry/configmaps/default/a", Bytes::from_static(br#"{"kind":"ConfigMap"}"#)).await.unwrap();
    store.create("/registry/configmaps/default/b", Bytes::from_static(b"plain")).await.unwrap();
    store.create("/registry/pods/default/p", Bytes::from_static(b"{}")).await.unwrap();
    let r4 = store
        .update("/registry/configmaps/default/a", Bytes::from_static(br#"{"kind":"ConfigMap","v":2}"#), r1)
        .await
        .unwrap();
    store.close().await;

    let (ok, out, err) = rkube(dir.path(), &["list", "/registry/configmaps/"]);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["key"], "/registry/configmaps/default/a");
    assert_eq!(lines[0]["value"]["v"], 2, "JSON values are shown as JSON");
    assert_eq!((lines[0]["mod_revision"].as_i64(), lines[0]["version"].as_i64()), (Some(r4), Some(2)));
    assert_eq!(lines[1]["value"], "plain");

    let (ok, out, _) = rkube(dir.path(), &["get", "/registry/configmaps/default/a", "--revision", &r1.to_string()]);
    assert!(ok);
    let old: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((old["mod_revision"].as_i64(), old["value"].get("v")), (Some(r1), None));

    let (ok, _, err) = rkube(dir.path(), &["get", "/registry/nope"]);
    assert!(!ok && err.contains("not found"), "{err}");

    let (ok, out, _) = rkube(dir.path(), &["compact"]);
    assert!(ok);
    assert_eq!(out.trim(), format!(r#"{{"compact_revision":{r4}}}"#));
    let (ok, _, err) = rkube(dir.path(), &["get", "/registry/configmaps/default/a", "--revision", &r1.to_string()]);
    assert!(!ok && err.contains("compacted"), "{err}");

    let (ok, out, _) = rkube(dir.path(), &["status"]);
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((status["revision"].as_i64(), status["compact_revision"].as_i64()), (Some(r4), Some(r4)));
}

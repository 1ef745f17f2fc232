//! `store-bench`: throughput and latency of a store backend, one JSON line per run.
//!
//! ```text
//! store-bench --backend embedded|etcd [--endpoints URL] [--data-dir DIR]
//!             --scenario put|range|watch --clients N --ops N --value-size BYTES
//! ```
//!
//! - `put`: N clients create `ops` distinct keys in total; latency per acknowledged write.
//! - `range`: 10,000 keys are loaded under one prefix, then N clients read the whole prefix
//!   `ops` times in total; latency per range. Also reports memory per stored key.
//! - `watch`: N watchers follow one prefix while 64 writers create `ops` keys; reports events
//!   delivered per second over all watchers and write-to-delivery latency.
//!
//! `--backend etcd` without `--endpoints` starts a local etcd (from PATH) under the data dir, so
//! both backends can be measured side by side on the same disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use hdrhistogram::Histogram;
use store::embedded::{EmbeddedStore, Options};
use store::testing::EtcdServer;
use store::{RangeRequest, Store, WatchRequest};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendKind {
    Embedded,
    Etcd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scenario {
    Put,
    Range,
    Watch,
}

#[derive(Parser, Debug)]
#[command(about = "Benchmark an rkube store backend; prints one JSON line")]
struct Args {
    #[arg(long, value_enum)]
    backend: BackendKind,
    /// etcd client URLs (comma separated); without them a local etcd is started.
    #[arg(long, value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Where the store (or the local etcd) keeps its data; a temporary directory by default.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent clients (put, range) or watchers (watch).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Writes (put, watch) or ranges (range) in total.
    #[arg(long, default_value_t = 100_000)]
    ops: usize,
    #[arg(long, default_value_t = 1024)]
    value_size: usize,
}

const RANGE_KEYS: usize = 10_000;
const WATCH_WRITERS: usize = 64;

/// The store under test and whatever keeps it alive.
struct Target {
    store: Arc<dyn Store>,
    /// The process whose memory holds the data: etcd's, or ours for the embedded store.
    pid: u32,
    _etcd: Option<EtcdServer>,
    _tmp: Option<tempfile::TempDir>,
}

async fn open(args: &Args) -> anyhow::Result<Target> {
    let (dir, tmp) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let tmp = tempfile::tempdir()?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    Ok(match args.backend {
        BackendKind::Embedded => {
            let store = EmbeddedStore::open(&dir, Options::default()).await?;
            Target { store: Arc::new(store), pid: std::process::id(), _etcd: None, _tmp: tmp }
        }
        BackendKind::Etcd if !args.endpoints.is_empty() => {
            let store = store::etcd::EtcdStore::connect(&args.endpoints).await?;
            Target { store: Arc::new(store), pid: 0, _etcd: None, _tmp: tmp }
        }
        BackendKind::Etcd => {
            let server = EtcdServer::start(&dir).await.context("starting a local etcd")?;
            let store = server.connect().await?;
            Target { store: Arc::new(store), pid: server.pid(), _etcd: Some(server), _tmp: tmp }
        }
    })
}

fn histogram() -> Histogram<u64> {
    // Microseconds, up to an hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn value(size: usize, seed: usize) -> Bytes {
    Bytes::from((0..size).map(|i| b'a' + ((i + seed) % 26) as u8).collect::<Vec<u8>>())
}

fn rss_bytes(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// Runs `ops` calls of `op` spread over `clients` tasks; returns wall time and latencies.
async fn run_clients<F, Fut>(clients: usize, ops: usize, op: F) -> anyhow::Result<(Duration, Histogram<u64>)>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let op = op.clone();
            let n = ops / clients + usize::from(c < ops % clients);
            tokio::spawn(async move {
                let mut hist = histogram();
                for i in 0..n {
                    let t = Instant::now();
                    op(c, i).await?;
                    hist.record(t.elapsed().as_micros().max(1) as u64)?;
                }
                anyhow::Ok(hist)
            })
        })
        .collect();
    let mut all = histogram();
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok((started.elapsed(), all))
}

async fn put(store: Arc<dyn Store>, args: &Args) -> anyhow::Result<serde_json::Value> {
    let v = value(args.value_size, 0);
    let (elapsed, hist) = run_clients(args.clients, args.ops, move |c, i| {
        let (store, v) = (store.clone(), v.clone());
        async move {
            store.create(&format!("/bench/put/{c}/{i}"), v).await?;
            Ok(())
        }
    })
    .await?;
    Ok(serde_json::json!({
        "ops": args.ops,
        "ops_per_sec": round(args.ops as f64 / elapsed.as_secs_f64()),
        "p50_ms": ms(hist.value_at_quantile(0.5)),
        "p99_ms": ms(hist.value_at_quantile(0.99)),
    }))
}

async fn range(store: Arc<dyn Store>, args: &Args, pid: u32) -> anyhow::Result<serde_json::Value> {
    let rss_before = rss_bytes(pid);
    let v = value(args.value_size, 0);
    let loader = store.clone();
    run_clients(64, RANGE_KEYS, move |c, i| {
        let (store, v) = (loader.clone(), v.clone());
        async move {
            store.create(&format!("/bench/range/{c:02}/{i:05}"), v).await?;
            Ok(())
        }
    })
    .await?;
    let rss_after = rss_bytes(pid);
    let (elapsed, hist) = run_clients(args.clients, args.ops, move |_, _| {
        let store = store.clone();
        async move {
            let resp = store.range(RangeRequest::prefix("/bench/range/")).await?;
            if resp.kvs.len() != RANGE_KEYS {
                bail!("range returned {} keys, expected {RANGE_KEYS}", resp.kvs.len());
            }
            Ok(())
        }
    })
    .await?;
    let per_key = match (rss_before, rss_after) {
        (Some(before), Some(after)) => serde_json::json!(after.saturating_sub(before) / RANGE_KEYS as u64),
        _ => serde_json::Value::Null,
    };
    Ok(serde_json::json!({
        "ops": args.ops,
        "keys": RANGE_KEYS,
        "ops_per_sec": round(args.ops as f64 / elapsed.as_secs_f64()),
        "p50_ms": ms(hist.value_at_quantile(0.5)),
        "p99_ms": ms(hist.value_at_quantile(0.99)),
        "rss_bytes_per_key": per_key,
    }))
}

async fn watch(store: Arc<dyn Store>, args: &Args) -> anyhow::Result<serde_json::Value> {
    let first = store.status().await?.revision + 1;
    let epoch = Instant::now();
    let mut watchers = Vec::new();
    for _ in 0..args.clients {
        let mut w = store.watch(WatchRequest::prefix("/bench/watch/").from_revision(first)).await?;
        let ops = args.ops;
        watchers.push(tokio::spawn(async move {
            let mut hist = histogram();
            for _ in 0..ops {
                let e = w.next().await.context("watch ended")??.into_event().context("unexpected progress item")?;
                // Each value starts with the write's start time, in microseconds since `epoch`.
                let sent = u64::from_le_bytes(e.kv.value[..8].try_into()?);
                hist.record((epoch.elapsed().as_micros() as u64).saturating_sub(sent).max(1))?;
            }
            anyhow::Ok((hist, Instant::now()))
        }));
    }
    let size = args.value_size.max(8);
    let started = Instant::now();
    let writer = store.clone();
    run_clients(WATCH_WRITERS, args.ops, move |c, i| {
        let store = writer.clone();
        let mut v = value(size, i).to_vec();
        v[..8].copy_from_slice(&(epoch.elapsed().as_micros() as u64).to_le_bytes());
        async move {
            store.create(&format!("/bench/watch/{c}/{i}"), Bytes::from(v)).await?;
            Ok(())
        }
    })
    .await?;
    let write_elapsed = started.elapsed();
    let mut hist = histogram();
    let mut last = started;
    for w in watchers {
        let (h, done) = w.await??;
        hist.add(h)?;
        last = last.max(done);
    }
    let elapsed = last - started;
    let events = args.ops * args.clients;
    Ok(serde_json::json!({
        "ops": args.ops,
        "watchers": args.clients,
        "events": events,
        "ops_per_sec": round(events as f64 / elapsed.as_secs_f64()),
        "writes_per_sec": round(args.ops as f64 / write_elapsed.as_secs_f64()),
        "p50_ms": ms(hist.value_at_quantile(0.5)),
        "p99_ms": ms(hist.value_at_quantile(0.99)),
    }))
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

fn round(x: f64) -> f64 {
    x.round()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clients == 0 || args.ops == 0 {
        bail!("--clients and --ops must be positive");
    }
    let target = open(&args).await?;
    let store = target.store.clone();
    let mut result = match args.scenario {
        Scenario::Put => put(store, &args).await?,
        Scenario::Range => range(store, &args, target.pid).await?,
        Scenario::Watch => watch(store, &args).await?,
    };
    let fields = result.as_object_mut().context("result is an object")?;
    fields.insert("scenario".into(), format!("{:?}", args.scenario).to_lowercase().into());
    fields.insert("backend".into(), format!("{:?}", args.backend).to_lowercase().into());
    fields.insert("clients".into(), args.clients.into());
    fields.insert("value_size".into(), args.value_size.into());
    println!("{result}");
    Ok(())
}

//! `rkube store`: read and compact the store a cluster keeps its objects in, embedded or etcd.
//! The embedded store can only be opened while no server is using it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use store::{Backend, KeyValue, RangeRequest};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Etcd,
}

/// Where a cluster's store is: shared by every command that opens one.
#[derive(Args, Debug, Clone)]
pub struct StoreFlags {
    /// The cluster's data directory (the embedded store lives in DATA_DIR/store).
    #[arg(long, env = "RKUBE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long = "store", value_enum, default_value_t = StoreKind::Embedded)]
    pub kind: StoreKind,
    /// etcd client URLs, comma separated (with --store etcd).
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
    pub etcd_servers: Vec<String>,
}

impl StoreFlags {
    pub fn backend(&self) -> Backend {
        match self.kind {
            StoreKind::Embedded => Backend::Embedded { data_dir: data_dir(self.data_dir.clone()).join("store") },
            StoreKind::Etcd => Backend::Etcd { endpoints: self.etcd_servers.clone() },
        }
    }
}

/// `/var/lib/rkube` for root, `~/.rkube` otherwise (the CLI contract's default).
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = flag {
        return dir;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    match std::env::var_os("HOME") {
        Some(home) if !root => PathBuf::from(home).join(".rkube"),
        _ => PathBuf::from("/var/lib/rkube"),
    }
}

#[derive(Args, Debug)]
pub struct StoreArgs {
    #[command(flatten)]
    flags: StoreFlags,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Current and compacted revision, size on disk.
    Status,
    /// One key, as JSON.
    Get {
        key: String,
        /// Read at this revision (default: current).
        #[arg(long, default_value_t = 0)]
        revision: i64,
    },
    /// Every key under a prefix, one JSON line each.
    List {
        #[arg(default_value = "/")]
        prefix: String,
        #[arg(long, default_value_t = 0)]
        revision: i64,
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// Print keys only.
        #[arg(long)]
        keys_only: bool,
    },
    /// Discard history older than a revision (default: the current one).
    Compact {
        #[arg(long)]
        revision: Option<i64>,
    },
}

pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let backend = args.flags.backend();
    let store = store::open(&backend).await.with_context(|| format!("opening {backend:?}"))?;
    match args.command {
        StoreCommand::Status => {
            let status = store.status().await?;
            let line = serde_json::json!({
                "revision": status.revision,
                "compact_revision": status.compact_revision,
                "db_size_bytes": status.db_size_bytes,
            });
            println!("{line}");
        }
        StoreCommand::Get { key, revision } => {
            let (kv, _) = store.get(&key, revision).await?;
            let kv = kv.with_context(|| format!("key {key:?} not found"))?;
            println!("{}", describe(&kv, false));
        }
        StoreCommand::List { prefix, revision, limit, keys_only } => {
            let resp = store.range(RangeRequest::prefix(prefix).limit(limit).at_revision(revision)).await?;
            for kv in &resp.kvs {
                println!("{}", describe(kv, keys_only));
            }
            if resp.more {
                eprintln!("({} more keys; raise --limit)", resp.count - resp.kvs.len() as i64);
            }
        }
        StoreCommand::Compact { revision } => {
            let revision = match revision {
                Some(revision) => revision,
                None => store.status().await?.revision,
            };
            store.compact(revision).await?;
            println!("{}", serde_json::json!({ "compact_revision": revision }));
        }
    }
    Ok(())
}

fn describe(kv: &KeyValue, keys_only: bool) -> serde_json::Value {
    if keys_only {
        return serde_json::json!(&*kv.key);
    }
    // Objects are stored as JSON text; show them as such, and anything else by its size.
    let value = match std::str::from_utf8(&kv.value) {
        Ok(text) => serde_json::from_str(text).unwrap_or_else(|_| serde_json::json!(text)),
        Err(_) => serde_json::json!(format!("<{} bytes of binary data>", kv.value.len())),
    };
    serde_json::json!({
        "key": &*kv.key,
        "create_revision": kv.create_revision,
        "mod_revision": kv.mod_revision,
        "version": kv.version,
        "value": value,
    })
}

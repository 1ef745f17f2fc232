//! Test fixtures: one store of each backend, each in its own temporary directory.
#![allow(dead_code)]

use std::sync::Arc;

use store::Store;
use store::embedded::{EmbeddedStore, Options};
use store::testing::EtcdServer;

pub struct Fixture {
    pub store: Arc<dyn Store>,
    _etcd: Option<EtcdServer>,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn embedded() -> Self {
        Self::embedded_with(Options::default()).await
    }

    pub async fn embedded_with(options: Options) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path(), options).await.expect("open embedded store");
        Self { store: Arc::new(store), _etcd: None, dir }
    }

    /// A real etcd process; fails (never skips) when etcd is not installed.
    pub async fn etcd() -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("tempdir");
        let server = EtcdServer::start(dir.path()).await.expect("start etcd (apt-get install etcd-server)");
        let store = server.connect().await.expect("connect to etcd");
        Self { store: Arc::new(store), _etcd: Some(server), dir }
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Generates one `#[tokio::test]` per backend for each listed async fn taking `Arc<dyn Store>`.
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let fixture = $crate::support::Fixture::embedded().await;
                    super::$name(fixture.store.clone()).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let fixture = $crate::support::Fixture::etcd().await;
                    super::$name(fixture.store.clone()).await;
                }
            )*
        }
    };
}

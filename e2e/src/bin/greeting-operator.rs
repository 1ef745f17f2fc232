//! The example operator of `e2e::greeting`, as a program: `KUBECONFIG=... greeting-operator`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let client = kube::Client::try_default().await?;
    e2e::greeting::run(client).await
}

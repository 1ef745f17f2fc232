//! The plain-HTTP `/metrics` and `/healthz` endpoint of a component running alone
//! (`rkube controller-manager`). Upstream serves these over HTTPS with delegated
//! authentication; here they are plain HTTP on a loopback address by default.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// Serves `metrics()` on `/metrics` and `ok` on `/healthz` at `address` until `shutdown`.
pub async fn serve(
    address: SocketAddr,
    metrics: impl Fn() -> String + Clone + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics();
                async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics and /healthz (plain HTTP)");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

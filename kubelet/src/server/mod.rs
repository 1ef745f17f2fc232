//! The kubelet's HTTPS API (upstream's `pkg/kubelet/server`) on `--port` (10250): what the
//! apiserver calls for `pods/log` and friends, and what `nodes/<name>/proxy/...` reaches.
//! Routes: `/healthz`, `/metrics` (Prometheus), `/pods` (the pods bound to this node), `/containerLogs/{namespace}/{pod}/{container}` (`logs.rs`), `/exec`, `/attach`
//! and `/portForward` (`exec.rs`). Errors are plain text
//! with the status code, as upstream's; the apiserver turns them into a `metav1.Status`.

pub mod exec;
pub mod logs;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;

use crate::pods::manager::Shared;

/// A plain-text error response.
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into()).into_response()
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/pods", get(pods))
        .route("/containerLogs/{namespace}/{pod}/{container}", get(logs::container_logs))
        .route("/exec/{namespace}/{pod}/{container}", get(exec::exec).post(exec::exec))
        .route("/attach/{namespace}/{pod}/{container}", get(exec::attach).post(exec::attach))
        .route("/portForward/{namespace}/{pod}", get(exec::port_forward).post(exec::port_forward))
        .with_state(shared)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, content_type)], shared.metrics.encode()).into_response()
}

/// The plain-HTTP healthz endpoint (upstream's `--healthz-port`, 10248, on loopback): `/healthz`
/// only, for local liveness checks without a client certificate.
pub async fn serve_healthz(address: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            // As upstream: logged, not fatal.
            tracing::warn!(%address, error = %e, "no healthz endpoint");
            return;
        }
    };
    tracing::info!(%address, "serving /healthz (plain HTTP)");
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::warn!(error = %e, "healthz server stopped");
    }
}

/// `/pods`: a PodList of the pods bound to this node.
async fn pods(State(shared): State<Arc<Shared>>) -> Response {
    let items: Vec<serde_json::Value> = {
        let pods = shared.pods.lock().unwrap_or_else(|e| e.into_inner());
        pods.values().filter_map(|p| serde_json::to_value(p.as_ref()).ok()).collect()
    };
    let list = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items});
    ([(axum::http::header::CONTENT_TYPE, "application/json")], list.to_string()).into_response()
}

/// Binds the API's port (before anything else starts, so a port in use fails the start).
pub async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("kubelet API: listening on {address}: {e}"))?;
    tracing::info!(%address, "kubelet API serving (HTTPS)");
    Ok(listener)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let app = router(shared);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "kubelet API: TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "kubelet API connection ended with an error");
            }
        });
    }
}

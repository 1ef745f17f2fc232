//! A small HTTPS JSON server for tests that play a webhook (admission, conversion): it answers
//! each POSTed JSON document with what `handler` returns for (path, document), and counts calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

pub type Handler = Arc<dyn Fn(&str, &Value) -> Value + Send + Sync>;

/// Serves on 127.0.0.1 with `cert`/`key` (PEM); returns the port and the call counter.
pub async fn serve_json(cert: &str, key: &str, handler: Handler) -> anyhow::Result<(u16, Arc<AtomicUsize>)> {
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter, handler) = (acceptor.clone(), counter.clone(), handler.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (counter, handler) = (counter.clone(), handler.clone());
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let path = req.uri().path().to_string();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let answer = serde_json::to_vec(&handler(&path, &doc)).unwrap_or_default();
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(answer))))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(tls);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    Ok((port, calls))
}

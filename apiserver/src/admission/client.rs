//! Calling a webhook: an HTTPS POST of an AdmissionReview to a URL or to a Service (resolved to
//! one of its endpoints, with the TLS name `<service>.<namespace>.svc` as upstream), trusting
//! only the configuration's `caBundle`, within the webhook's timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::registry::{Ctx, Registry, ops};

/// Where a webhook is served (its `clientConfig`).
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Url(String),
    Service { namespace: String, name: String, path: String, port: u16 },
}

/// Answers larger than this are refused (upstream reads at most a few MiB too).
const MAX_RESPONSE: usize = 3 * 1024 * 1024;

impl Target {
    pub fn from_client_config(cfg: &Value) -> Option<Self> {
        if let Some(url) = cfg.get("url").and_then(Value::as_str) {
            return Some(Target::Url(url.to_string()));
        }
        let svc = cfg.get("service")?;
        let text = |k: &str| svc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(Target::Service {
            namespace: text("namespace"),
            name: text("name"),
            path: svc.get("path").and_then(Value::as_str).unwrap_or("/").to_string(),
            port: svc.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()).unwrap_or(443),
        })
    }

    /// How messages name the target: the URL upstream would post to.
    pub fn display(&self, timeout: Duration) -> String {
        let base = match self {
            Target::Url(url) => url.clone(),
            Target::Service { namespace, name, path, port } => format!("https://{name}.{namespace}.svc:{port}{path}"),
        };
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}timeout={}s", timeout.as_secs())
    }
}

/// Posts `body` and returns the parsed JSON answer; the error reads as upstream's
/// "failed to call webhook: ..." detail.
pub async fn post(
    registry: &Registry,
    target: &Target,
    ca_bundle: &[u8],
    body: &Value,
    timeout: Duration,
) -> Result<Value, String> {
    let shown = target.display(timeout);
    let call = async {
        let (addr, host, path) = resolve(&Ctx::internal(registry), target).await?;
        let tls = connect(&addr, &host, ca_bundle).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let payload = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let request = http::Request::post(format!("{path}{}timeout={}s", sep(&path), timeout.as_secs()))
            .header(http::header::HOST, host.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| format!("reading the response: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("the server responded with status {}", status.as_u16()));
        }
        serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("the response is not JSON: {e}"))
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("failed to call webhook: Post \"{shown}\": {e}")),
        Err(_) => Err(format!(
            "failed to call webhook: Post \"{shown}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

fn sep(path: &str) -> char {
    if path.contains('?') { '&' } else { '?' }
}

/// (socket address, TLS host name, request path).
async fn resolve(ctx: &Ctx<'_>, target: &Target) -> Result<(String, String, String), String> {
    match target {
        Target::Url(url) => {
            let uri: http::Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
            let host = uri.host().ok_or("the URL has no host")?.trim_matches(['[', ']']).to_string();
            let port = uri.port_u16().unwrap_or(443);
            let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
            let addr = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
            Ok((addr, host, path))
        }
        Target::Service { namespace, name, path, port } => {
            let addr = endpoint(ctx, namespace, name, *port).await?;
            Ok((addr, format!("{name}.{namespace}.svc"), path.clone()))
        }
    }
}

/// One ready endpoint of the Service port `port`: the service port's name picks the
/// Endpoints port (upstream resolves through the same object).
async fn endpoint(ctx: &Ctx<'_>, namespace: &str, name: &str, port: u16) -> Result<String, String> {
    let not_found = || format!("service \"{name}\" not found");
    let services = ctx.registry.get("", "v1", "services").ok_or_else(not_found)?;
    let (service, _) = ops::get(ctx, &services, Some(namespace), name).await.map_err(|_| not_found())?;
    let ports = service.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
    let service_port = ports
        .iter()
        .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)))
        .ok_or_else(|| format!("no service port {port} found for service \"{name}\""))?;
    let port_name = service_port.get("name").and_then(Value::as_str).unwrap_or("");
    let endpoints = ctx.registry.get("", "v1", "endpoints").ok_or_else(not_found)?;
    let (eps, _) = ops::get(ctx, &endpoints, Some(namespace), name)
        .await
        .map_err(|_| format!("endpoints \"{name}\" not found"))?;
    for subset in eps.get("subsets").and_then(Value::as_array).into_iter().flatten() {
        let matching = subset
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name);
        let address = subset.pointer("/addresses/0/ip").and_then(Value::as_str);
        if let (Some(p), Some(ip)) = (matching.and_then(|p| p.get("port")).and_then(Value::as_u64), address) {
            return Ok(if ip.contains(':') { format!("[{ip}]:{p}") } else { format!("{ip}:{p}") });
        }
    }
    Err(format!("service \"{namespace}/{name}\" has no ready endpoints for port {port}"))
}

/// The system's trusted certificates, read once.
static SYSTEM_ROOTS: std::sync::LazyLock<rustls::RootCertStore> = std::sync::LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        let _ = roots.add(cert);
    }
    roots
});

async fn connect(
    addr: &str,
    host: &str,
    ca_bundle: &[u8],
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let mut bundle = Vec::new();
    for cert in CertificateDer::pem_slice_iter(ca_bundle) {
        let cert = cert.map_err(|e| format!("invalid caBundle: {e}"))?;
        roots.add(cert.clone()).map_err(|e| format!("invalid caBundle: {e}"))?;
        bundle.push(cert);
    }
    // No caBundle: the system's trusted roots, as upstream (webhooks with public certificates).
    if ca_bundle.iter().all(u8::is_ascii_whitespace) {
        roots = SYSTEM_ROOTS.clone();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = super::verifier::BundleVerifier::new(roots, bundle, provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("invalid host {host}: {e}"))?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("dial tcp {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| format!("tls: {e}"))
}

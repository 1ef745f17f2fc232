//! The HTTPS server: TLS (HTTP/1.1 and HTTP/2 by ALPN, client certificates verified against the
//! cluster CA), authentication, the health, version and metrics endpoints, and the routing of
//! `/api`, `/apis` and `/openapi` requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tokio::net::TcpListener;

use crate::authn::{TokenFile, UserInfo};
use crate::handlers::{self, Call, discovery, json_response};
use crate::metrics::Metrics;
use crate::pki::Pki;
use crate::registry::Registry;
use crate::request::{self, ApiPath, Query};
use crate::status::ApiError;
use crate::{connect, openapi, reviews};

/// Shared by every request.
pub struct Api {
    pub registry: Arc<Registry>,
    pub tokens: TokenFile,
    pub metrics: Metrics,
    pub extra_metrics: Vec<crate::MetricsSource>,
    pub ready: AtomicBool,
    /// `host:port` clients reach this server at (for `/api`'s serverAddressByClientCIDRs).
    pub address: String,
    /// HTTPS to kubelets, for the subresources they serve (`pods/log`...).
    pub kubelet: crate::connect::KubeletClient,
}

/// The user a verified client certificate names, attached to each request of its connection.
#[derive(Clone)]
struct ClientCertUser(Option<UserInfo>);

pub fn tls_config(pki: &Pki) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert.context("parsing the CA certificate")?)?;
    }
    // Anonymous TLS clients are let in here and refused (401) by authentication unless they
    // only ask for health or version.
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let chain = CertificateDer::pem_slice_iter(pki.serving_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("parsing the serving certificate")?;
    let key = PrivateKeyDer::from_pem_slice(pki.serving_key_pem.as_bytes()).context("parsing the serving key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        // Upstream answers these with and without a trailing slash (kr8s asks for `/version/`).
        .route("/version", get(version))
        .route("/version/", get(version))
        .route("/healthz", get(healthz))
        .route("/healthz/", get(healthz))
        .route("/healthz/ping", get(healthz))
        .route("/livez", get(healthz))
        .route("/livez/", get(healthz))
        .route("/livez/ping", get(healthz))
        .route("/readyz", get(readyz))
        .route("/readyz/", get(readyz))
        .route("/readyz/ping", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi/v3", get(openapi::index))
        .route("/openapi/v3/", get(openapi::index))
        .route("/openapi/v3/{*path}", get(openapi::document))
        .route("/openapi/v2", get(openapi::v2))
        .fallback(api_request)
        .layer(middleware::from_fn_with_state(api.clone(), authenticate))
        .with_state(api)
}

/// Serves TLS connections until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let user =
                tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| UserInfo::from_certificate(c));
            let cert_user = ClientCertUser(user);
            let service = tower::ServiceExt::map_request(app, move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(cert_user.clone());
                req
            });
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(service))
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Who is asking: the client certificate's user, else a bearer token's; anonymous requests only
/// reach the health and version endpoints.
async fn authenticate(State(api): State<Arc<Api>>, mut req: Request, next: Next) -> Response {
    let from_cert = req.extensions().get::<ClientCertUser>().and_then(|c| c.0.clone());
    let from_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| api.tokens.authenticate(t.trim()));
    let user = from_cert.or(from_token);
    let public = is_public(req.uri().path());
    match user {
        Some(user) => {
            req.extensions_mut().insert(user);
        }
        None if public => {}
        None => return ApiError::unauthorized().into_response(),
    }
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let watch = req.uri().query().is_some_and(|q| q.contains("watch=true") || q.contains("watch=1"));
    let response = next.run(req).await;
    api.metrics.observe(&method, &path, watch, response.status().as_u16(), started.elapsed());
    response
}

/// What anonymous clients may reach: health and version, with or without a trailing slash.
fn is_public(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version" | "/healthz/ping" | "/livez/ping" | "/readyz/ping")
}

async fn version() -> Response {
    json_response(
        200,
        &json!({
            "major": "1",
            "minor": "33",
            "gitVersion": concat!("v1.33.0-rkube.", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": "rust",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
        }),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(api): State<Arc<Api>>, req: Request) -> Response {
    let ready = api.ready.load(Ordering::Acquire);
    let verbose = req.uri().query().is_some_and(|q| q.split('&').any(|p| p == "verbose" || p.starts_with("verbose=")));
    let code = if ready { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
    let body = match (ready, verbose) {
        (true, false) => "ok".to_string(),
        (false, false) => "[-]poststarthook/rkube-bootstrap failed: reason withheld\nreadyz check failed".to_string(),
        (r, true) => format!(
            "[+]ping ok\n[+]etcd ok\n[{}]poststarthook/rkube-bootstrap {}\nreadyz check {}\n",
            if r { "+" } else { "-" },
            if r { "ok" } else { "failed: reason withheld" },
            if r { "passed" } else { "failed" }
        ),
    };
    (code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn metrics(State(api): State<Arc<Api>>) -> Response {
    let mut text = api.metrics.encode();
    // Each registry's text ends with the OpenMetrics `# EOF` line; only the whole may.
    for source in &api.extra_metrics {
        let extra = (source.0)();
        if let Some(body) = text.strip_suffix("# EOF\n") {
            text.truncate(body.len());
        }
        text.push_str(&extra);
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Everything under `/api` and `/apis`: discovery documents and resources.
async fn api_request(State(api): State<Arc<Api>>, req: Request) -> Response {
    match api_request_inner(api, req).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn api_request_inner(api: Arc<Api>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path().to_string();
    let registry = &api.registry;
    if let Some((node, port, rest)) = connect::proxy::node_proxy_path(&path) {
        req.extensions().get::<UserInfo>().ok_or_else(ApiError::unauthorized)?;
        return connect::proxy::serve(registry, &api.kubelet, &node, port, &rest, req).await;
    }
    let parsed = request::parse_path(&path, |g, v, r| registry.namespaced(g, v, r));
    let headers = req.headers().clone();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let not_found =
        || ApiError::new(404, crate::status::Reason::NotFound, "the server could not find the requested resource");
    // Discovery only: listing and sorting every served resource is not free, and resource
    // requests never need it.
    let served = || registry.served();
    let target = match parsed {
        None => return Err(not_found()),
        Some(ApiPath::LegacyRoot) => {
            let served = served();
            return Ok(discovery_response(accept.as_deref(), &served, true, || discovery::api_versions(&api.address)));
        }
        Some(ApiPath::GroupsRoot) => {
            let served = served();
            return Ok(discovery_response(accept.as_deref(), &served, false, || discovery::api_group_list(&served)));
        }
        Some(ApiPath::Group(g)) => {
            return discovery::api_group(&served(), &g).map(|d| json_response(200, &d)).ok_or_else(not_found);
        }
        Some(ApiPath::GroupVersion { group, version }) => {
            return discovery::api_resource_list(&served(), &group, &version)
                .map(|d| json_response(200, &d))
                .ok_or_else(not_found);
        }
        Some(ApiPath::Resource(target)) => target,
    };
    let user = req.extensions().get::<UserInfo>().cloned().ok_or_else(ApiError::unauthorized)?;
    if target.group.is_empty() && connect::handles(&target.resource, target.subresource.as_deref()) {
        return connect_request(&api, &target, req).await;
    }
    let query = Query::parse(req.uri().query())?;
    let method = req.method().clone();
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    let body = read_body(req.into_body(), declared).await?;
    if reviews::handles(&target) {
        let content_type =
            headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
        return reviews::create(&api, &target, &user, &body, content_type).await;
    }
    let call = Call {
        registry,
        shared: api.registry.clone(),
        method,
        target,
        query,
        headers,
        body,
        metrics: &api.metrics,
        user: Arc::new(user),
        warnings: Default::default(),
    };
    Ok(handlers::serve(call).await)
}

/// Subresources served by the pod's kubelet; they need the raw request (query, upgrades).
async fn connect_request(api: &Api, target: &request::Target, req: Request) -> Result<Response, ApiError> {
    let namespace = target.namespace.as_deref().unwrap_or("default");
    let name = target.name.as_deref().unwrap_or_default();
    match (target.subresource.as_deref(), req.method()) {
        (Some("log"), &Method::GET) => {
            connect::logs::serve(&api.registry, &api.kubelet, namespace, name, req.uri().query()).await
        }
        (Some(sub @ ("exec" | "attach" | "portforward")), &Method::GET | &Method::POST) => {
            connect::exec::serve(&api.registry, &api.kubelet, namespace, name, sub, req).await
        }
        (sub, method) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} pods/{})",
            sub.unwrap_or_default()
        ))),
    }
}

fn discovery_response(
    accept: Option<&str>,
    served: discovery::Served<'_>,
    legacy: bool,
    document: impl FnOnce() -> serde_json::Value,
) -> Response {
    match discovery::aggregated_version(accept) {
        Some(version) => {
            let mut body = serde_json::to_vec(&discovery::aggregated(served, version, legacy)).unwrap_or_default();
            body.push(b'\n');
            let mut headers = HeaderMap::new();
            if let Ok(v) = discovery::content_type(version).parse() {
                headers.insert(header::CONTENT_TYPE, v);
            }
            (StatusCode::OK, headers, body).into_response()
        }
        None => json_response(200, &document()),
    }
}

/// Reads a request body of at most the API's limit. A larger one is answered 413 at once; its
/// remainder is read and dropped in the background (up to a bound), because an HTTP/2 stream
/// whose request body is abandoned gets reset and many clients then lose the 413 itself.
async fn read_body(mut body: Body, declared: Option<usize>) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::too_large("Request entity too large: limit is 3145728");
    let limit = handlers_limit();
    if declared.is_some_and(|n| n > limit) {
        drain(body);
        return Err(too_large());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > limit {
                drain(body);
                return Err(too_large());
            }
        }
    }
    Ok(buf.freeze())
}

fn drain(mut body: Body) {
    const DRAIN_MAX: usize = 64 << 20;
    tokio::spawn(async move {
        let mut read = 0;
        let drained = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(Ok(frame)) = body.frame().await {
                read += frame.data_ref().map_or(0, |d| d.len());
                if read > DRAIN_MAX {
                    break;
                }
            }
        });
        let _ = drained.await;
    });
}

fn handlers_limit() -> usize {
    crate::registry::ops::MAX_BODY_BYTES
}

/// Binds the listener (port 0 picks a free one).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))
}

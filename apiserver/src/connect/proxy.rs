//! `/api/v1/nodes/{name}/proxy/{path}` (upstream's node `ProxyREST`): any method, passed to the
//! node's kubelet API at `/{path}` with the query and body, and its answer returned as it comes
//! (status, content headers, streamed body). `kubectl get --raw
//! /api/v1/nodes/<node>/proxy/metrics` reads a kubelet's metrics this way. `{name}` may carry a
//! port (`node:10250`), as upstream allows. The client's credentials are not passed on: the
//! kubelet sees the apiserver's client certificate.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header;

use super::{KubeletClient, kubelet_address};
use crate::registry::Registry;
use crate::status::ApiError;

/// The node (and port, if given) and kubelet path of a node proxy URL path, or `None` when the
/// path is something else.
pub fn node_proxy_path(path: &str) -> Option<(String, Option<u16>, String)> {
    let rest = path.strip_prefix("/api/v1/nodes/")?;
    let (name, rest) = rest.split_once('/')?;
    let tail = match rest.strip_prefix("proxy")? {
        "" => "/",
        tail if tail.starts_with('/') => tail,
        _ => return None,
    };
    // `name`, `name:port` or upstream's `scheme:name:port` (only https reaches a kubelet).
    let parts: Vec<&str> = name.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [name] => (*name, None),
        [name, port] | ["https" | "", name, port] => (*name, Some(port.parse().ok()?)),
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some((name.to_string(), port, tail.to_string()))
}

/// Request headers the kubelet gets: what describes the body and what the client accepts.
const FORWARDED: [header::HeaderName; 4] =
    [header::ACCEPT, header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING];
/// Response headers the client gets (hop-by-hop ones stay behind).
const RETURNED: [header::HeaderName; 5] =
    [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING, header::CACHE_CONTROL, header::LOCATION];

pub async fn serve(
    registry: &Registry,
    kubelet: &KubeletClient,
    node: &str,
    port: Option<u16>,
    path: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let mut address = kubelet_address(registry, node).await?;
    if let Some(port) = port {
        let host = address.rsplit_once(':').map(|(h, _)| h).unwrap_or(&address);
        address = format!("{host}:{port}");
    }
    let (parts, body) = request.into_parts();
    let target = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut forward = http::Request::builder().method(parts.method.clone()).uri(target).header(header::HOST, &address);
    for name in &FORWARDED {
        if let Some(value) = parts.headers.get(name) {
            forward = forward.header(name, value);
        }
    }
    let forward = forward.body(body).map_err(|e| ApiError::bad_request(format!("invalid proxy request: {e}")))?;
    let answer = kubelet.send(&address, forward).await?;
    let mut response = Response::builder().status(answer.status());
    for name in &RETURNED {
        if let Some(value) = answer.headers().get(name) {
            response = response.header(name, value);
        }
    }
    response.body(Body::new(answer.into_body())).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_proxy_paths_are_recognised() {
        let p = |s: &str| node_proxy_path(s);
        assert_eq!(p("/api/v1/nodes/n1/proxy"), Some(("n1".into(), None, "/".into())));
        assert_eq!(p("/api/v1/nodes/n1/proxy/"), Some(("n1".into(), None, "/".into())));
        assert_eq!(p("/api/v1/nodes/n1/proxy/metrics"), Some(("n1".into(), None, "/metrics".into())));
        assert_eq!(
            p("/api/v1/nodes/n1/proxy/containerLogs/ns/p/c"),
            Some(("n1".into(), None, "/containerLogs/ns/p/c".into()))
        );
        assert_eq!(p("/api/v1/nodes/n1:10255/proxy/pods"), Some(("n1".into(), Some(10255), "/pods".into())));
        assert_eq!(p("/api/v1/nodes/https:n1:10250/proxy/pods"), Some(("n1".into(), Some(10250), "/pods".into())));
        assert_eq!(p("/api/v1/nodes/n1/status"), None);
        assert_eq!(p("/api/v1/nodes/n1/proxyx"), None);
        assert_eq!(p("/api/v1/nodes/n1:x/proxy"), None);
        assert_eq!(p("/api/v1/nodes"), None);
        assert_eq!(p("/api/v1/namespaces/default/pods/p/proxy"), None);
    }
}

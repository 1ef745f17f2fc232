//! `/exec`, `/attach` and `/portForward` (upstream's `getExec`, `getAttach`, `getPortForward`):
//! the runtime is asked for a streaming URL (CRI `Exec`, `Attach`, `PortForward`) and the
//! client's upgraded connection (SPDY or WebSocket) is proxied to it, as upstream's kubelet
//! proxies to containerd's streaming server.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;

use super::error;
use crate::pods::LABEL_POD_UID;
use crate::pods::manager::Shared;

/// The streams a remote command wants (`input`, `output`, `error`, `tty`, each "1" or "true").
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Streams {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

pub fn parse_streams(query: Option<&str>) -> Result<Streams, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|e| format!("invalid query: {e}"))?;
    let mut s = Streams::default();
    for (key, value) in pairs {
        let on = value == "1" || value.eq_ignore_ascii_case("true");
        match key.as_str() {
            "command" => s.command.push(value),
            "input" => s.stdin = on,
            "output" => s.stdout = on,
            "error" => s.stderr = on,
            "tty" => s.tty = on,
            _ => {}
        }
    }
    // A terminal merges stderr into stdout.
    if s.tty {
        s.stderr = false;
    }
    if !(s.stdin || s.stdout || s.stderr) {
        return Err("you must specify at least 1 of stdin, stdout, stderr".into());
    }
    Ok(s)
}

/// The running container's runtime ID.
fn running_container(pod: &Pod, container: &str) -> Result<String, String> {
    let status = pod.status.clone().unwrap_or_default();
    let statuses =
        status.container_statuses.into_iter().flatten().chain(status.init_container_statuses.into_iter().flatten());
    statuses
        .filter(|s| s.name == container && s.state.as_ref().is_some_and(|st| st.running.is_some()))
        .find_map(|s| s.container_id)
        .map(|id| id.split_once("://").map(|(_, id)| id.to_string()).unwrap_or(id))
        .ok_or_else(|| format!("container not found ({container:?})"))
}

// The error is the answer to send, built once per request: its size does not matter.
#[allow(clippy::result_large_err)]
fn lookup(shared: &Shared, namespace: &str, name: &str) -> Result<Arc<Pod>, Response> {
    shared
        .pod(namespace, name)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("pod does not exist: {namespace}/{name}")))
}

/// Proxies the upgraded request to the runtime's streaming `url`.
async fn proxy(mut request: Request, url: &str) -> Response {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the runtime gave an invalid streaming URL {url:?}"));
    };
    let Some(authority) = uri.authority().map(|a| a.to_string()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the runtime gave an invalid streaming URL {url:?}"));
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let backend = match streaming::proxy::backend_request(request.method(), request.headers(), &authority, path) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let client = request.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    match streaming::proxy::send_plain(&authority, backend).await {
        Ok(response) => streaming::proxy::relay(client, response).map(Body::new).into_response(),
        Err(e) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, format!("error reaching the runtime's streaming server: {e}"))
        }
    }
}

async fn remote_command(
    shared: Arc<Shared>,
    namespace: String,
    pod: String,
    container: String,
    request: Request,
    attach: bool,
) -> Response {
    let streams = match parse_streams(request.uri().query()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let pod = match lookup(&shared, &namespace, &pod) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let id = match running_container(&pod, &container) {
        Ok(id) => id,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let url = if attach {
        let message = cri::AttachRequest {
            container_id: id,
            stdin: streams.stdin,
            tty: streams.tty,
            stdout: streams.stdout,
            stderr: streams.stderr,
        };
        shared.cri.attach(message).await
    } else {
        if streams.command.is_empty() {
            return error(StatusCode::BAD_REQUEST, "you must specify a command");
        }
        let message = cri::ExecRequest {
            container_id: id,
            cmd: streams.command,
            tty: streams.tty,
            stdin: streams.stdin,
            stdout: streams.stdout,
            stderr: streams.stderr,
        };
        shared.cri.exec(message).await
    };
    match url {
        Ok(url) => proxy(request, &url).await,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.message()),
    }
}

pub async fn exec(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    remote_command(shared, namespace, pod, container, request, false).await
}

pub async fn attach(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    remote_command(shared, namespace, pod, container, request, true).await
}

/// Ports of the `port` query (repeatable, comma-separated values).
pub fn parse_ports(query: Option<&str>) -> Result<Vec<i32>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|e| format!("invalid query: {e}"))?;
    let mut ports = Vec::new();
    for value in pairs.iter().filter(|(k, _)| k == "port").flat_map(|(_, v)| v.split(',')) {
        let port: u16 = value.trim().parse().map_err(|_| format!("invalid port {value:?}"))?;
        if port == 0 {
            return Err("port 0 is not valid".into());
        }
        ports.push(i32::from(port));
    }
    Ok(ports)
}

pub async fn port_forward(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let ports = match parse_ports(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let pod = match lookup(&shared, &namespace, &pod) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let labels = HashMap::from([(LABEL_POD_UID.to_string(), uid)]);
    let sandboxes = match shared.cri.list_pod_sandboxes(Some(&labels)).await {
        Ok(s) => s,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.message()),
    };
    let ready =
        sandboxes.iter().filter(|s| s.state == cri::PodSandboxState::SandboxReady as i32).max_by_key(|s| s.created_at);
    let Some(sandbox) = ready else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("pod {namespace}/{} has no running sandbox", pod.metadata.name.as_deref().unwrap_or_default()),
        );
    };
    match shared.cri.port_forward(&sandbox.id, ports).await {
        Ok(url) => proxy(request, &url).await,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_ports_parse_like_the_kubelet() {
        let s = parse_streams(Some("command=sh&command=-c&command=echo%20hi&input=1&output=1&error=1&tty=1")).unwrap();
        assert_eq!(s.command, ["sh", "-c", "echo hi"]);
        assert!(s.stdin && s.stdout && s.tty && !s.stderr, "tty turns stderr off");
        assert!(parse_streams(Some("command=ls")).is_err());
        assert_eq!(parse_ports(Some("port=80,1234&port=8080")).unwrap(), [80, 1234, 8080]);
        assert!(parse_ports(Some("port=0")).is_err());
        assert!(parse_ports(Some("port=x")).is_err());
    }
}

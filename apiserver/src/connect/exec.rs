//! `pods/exec`, `pods/attach` and `pods/portforward` (upstream's `ExecREST`, `AttachREST`,
//! `PortForwardREST`): the options are checked, the kubelet URL is built, and the client's
//! upgraded connection is proxied to the kubelet — SPDY/3.1 and older WebSocket protocols as
//! they are, WebSocket `v5.channel.k8s.io` (kubectl 1.30+, kube-rs) and tunnelled port-forward
//! (kubectl 1.31+) translated to SPDY here, as upstream's apiserver does.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use streaming::remotecommand;

use super::{KubeletClient, choose_container, kubelet_address, kubelet_error, pod_and_node};
use crate::registry::Registry;
use crate::status::ApiError;

/// Upstream's query-to-bool conversion for PodExecOptions: absent, "0" and "false" are false,
/// anything else (even empty) is true.
fn flag(params: &[(String, String)], name: &str) -> bool {
    params.iter().filter(|(k, _)| k == name).any(|(_, v)| v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The kubelet path and query for exec or attach (`input=1&output=1&error=1&tty=1&command=...`).
pub fn remote_command_path(
    sub: &str,
    namespace: &str,
    name: &str,
    container: &str,
    params: &[(String, String)],
) -> Result<String, ApiError> {
    let (stdin, stdout, stderr, tty) =
        (flag(params, "stdin"), flag(params, "stdout"), flag(params, "stderr"), flag(params, "tty"));
    if !(stdin || stdout || stderr) {
        return Err(ApiError::bad_request("you must specify at least 1 of stdin, stdout, stderr"));
    }
    let mut query: Vec<(&str, &str)> = Vec::new();
    for (on, key) in [(stdin, "input"), (stdout, "output"), (stderr && !tty, "error"), (tty, "tty")] {
        if on {
            query.push((key, "1"));
        }
    }
    if sub == "exec" {
        let commands: Vec<&str> = params.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.as_str()).collect();
        if commands.is_empty() {
            return Err(ApiError::bad_request("you must specify a command"));
        }
        query.extend(commands.into_iter().map(|c| ("command", c)));
    }
    let encoded = serde_urlencoded::to_string(&query).map_err(ApiError::internal)?;
    Ok(format!("/{sub}/{}/{}/{}?{encoded}", segment(namespace), segment(name), segment(container)))
}

/// The kubelet path for port-forward: `ports` (repeated or comma-separated) become `port=`.
pub fn port_forward_path(namespace: &str, name: &str, params: &[(String, String)]) -> Result<String, ApiError> {
    let mut ports = Vec::new();
    for value in params.iter().filter(|(k, _)| k == "ports").flat_map(|(_, v)| v.split(',')) {
        let port: u16 = value.trim().parse().map_err(|_| ApiError::bad_request(format!("invalid port {value:?}")))?;
        if port == 0 {
            return Err(ApiError::bad_request("port 0 is not valid"));
        }
        ports.push(port.to_string());
    }
    let query = if ports.is_empty() { String::new() } else { format!("?port={}", ports.join("%2C")) };
    Ok(format!("/portForward/{}/{}{query}", segment(namespace), segment(name)))
}

/// A path segment, escaped.
fn segment(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F").replace('?', "%3F").replace('#', "%23").replace(' ', "%20")
}

pub async fn serve(
    registry: &Registry,
    kubelet: &KubeletClient,
    namespace: &str,
    name: &str,
    sub: &str,
    mut request: Request,
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(request.uri().query().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let (pod, node) = pod_and_node(registry, namespace, name).await?;
    let path = if sub == "portforward" {
        port_forward_path(namespace, name, &params)?
    } else {
        let requested = params.iter().find(|(k, _)| k == "container").map(|(_, v)| v.as_str());
        let container = choose_container(&pod, name, requested)?;
        remote_command_path(sub, namespace, name, &container, &params)?
    };
    if !streaming::proxy::is_upgrade(request.headers()) {
        return Err(ApiError::bad_request("Upgrade request required"));
    }
    let address = kubelet_address(registry, &node?).await?;
    let client = request.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    let headers = request.headers();
    // v5 exec/attach and tunnelled port-forward end here and go on to the kubelet over SPDY;
    // anything else (SPDY, older WebSocket protocols) is proxied as it is.
    let translated = if sub == "portforward" {
        streaming::remotecommand::websocket_offers(headers, streaming::tunnel::PORT_FORWARD)
            .then_some(streaming::tunnel::PORT_FORWARD)
    } else {
        streaming::remotecommand::websocket_offers(headers, remotecommand::V5).then_some(remotecommand::V5)
    };
    let Some(protocol) = translated else {
        let backend = streaming::proxy::backend_request(request.method(), headers, &address, &path)
            .map_err(ApiError::internal)?;
        let response = kubelet.send(&address, backend).await?;
        return Ok(streaming::proxy::relay(client, response).map(Body::new).into_response());
    };
    let spdy_protocols: &[&str] =
        if sub == "portforward" { &[streaming::tunnel::SPDY_PORT_FORWARD] } else { &remotecommand::SPDY_PROTOCOLS };
    let backend = remotecommand::spdy_request(&address, &path, spdy_protocols).map_err(ApiError::internal)?;
    let mut response = kubelet.send(&address, backend).await?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(kubelet_error(response).await);
    }
    let accept = remotecommand::websocket_accept(headers, protocol).map_err(ApiError::bad_request)?;
    let client = client.ok_or_else(|| ApiError::bad_request("the connection cannot be upgraded"))?;
    let kubelet_side = hyper::upgrade::on(&mut response);
    let streams = remotecommand::Streams {
        stdin: flag(&params, "stdin"),
        stdout: flag(&params, "stdout"),
        stderr: flag(&params, "stderr"),
        tty: flag(&params, "tty"),
    };
    let tunnel = sub == "portforward";
    tokio::spawn(async move {
        match tokio::try_join!(client, kubelet_side) {
            Ok((client, kubelet_side)) if tunnel => streaming::tunnel::pipe(client, kubelet_side).await,
            Ok((client, kubelet_side)) => remotecommand::bridge(client, kubelet_side, streams).await,
            Err(e) => tracing::debug!(error = %e, "streaming upgrade failed"),
        }
    });
    Ok(accept.map(Body::new).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn kubelet_paths_follow_upstream() {
        let params = p(&[
            ("command", "sh"),
            ("command", "-c"),
            ("command", "echo a b"),
            ("stdin", "true"),
            ("stdout", "true"),
            ("stderr", "true"),
            ("tty", "false"),
        ]);
        assert_eq!(
            remote_command_path("exec", "ns", "web", "c", &params).unwrap(),
            "/exec/ns/web/c?input=1&output=1&error=1&command=sh&command=-c&command=echo+a+b"
        );
        let tty = p(&[("stdout", "1"), ("stderr", ""), ("tty", "true")]);
        assert_eq!(remote_command_path("attach", "ns", "web", "c", &tty).unwrap(), "/attach/ns/web/c?output=1&tty=1");
        assert_eq!(
            remote_command_path("exec", "ns", "web", "c", &p(&[("stdout", "true")])).unwrap_err().message,
            "you must specify a command"
        );
        assert!(remote_command_path("exec", "ns", "web", "c", &p(&[("command", "ls")])).is_err());
        assert_eq!(
            port_forward_path("ns", "web", &p(&[("ports", "80,8080"), ("ports", "9090")])).unwrap(),
            "/portForward/ns/web?port=80%2C8080%2C9090"
        );
        assert_eq!(port_forward_path("ns", "web", &[]).unwrap(), "/portForward/ns/web");
    }
}

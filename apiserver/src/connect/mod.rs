//! Subresources the apiserver serves by calling the node's kubelet (upstream's
//! `pkg/kubelet/client` and the pod `rest.Connecter`s): `pods/log` (`logs.rs`), `pods/exec`,
//! `pods/attach` and `pods/portforward` (`exec.rs`), `nodes/proxy` (`proxy.rs`). The kubelet is
//! reached at its Node's InternalIP (then other addresses) and `daemonEndpoints` port over HTTPS
//! with the apiserver's kubelet-client certificate. Like upstream without
//! `--kubelet-certificate-authority`, the kubelet's self-signed serving certificate is not
//! verified (the handshake signature is).

pub mod exec;
pub mod logs;
pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;

use crate::registry::Registry;
use crate::registry::{Ctx, ops};
use crate::status::ApiError;

/// Which subresources are served through the kubelet (they need the raw request).
pub fn handles(resource: &str, subresource: Option<&str>) -> bool {
    matches!((resource, subresource), ("pods", Some("log" | "exec" | "attach" | "portforward")))
}

fn names(pod: &Value, pointer: &str) -> Vec<String> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The container to reach: `requested` (which must be one of the pod's), or the pod's only
/// container (upstream's messages otherwise).
pub fn choose_container(pod: &Value, name: &str, requested: Option<&str>) -> Result<String, ApiError> {
    let containers = names(pod, "/spec/containers");
    let init = names(pod, "/spec/initContainers");
    if let Some(c) = requested.filter(|c| !c.is_empty()) {
        let ephemeral = names(pod, "/spec/ephemeralContainers");
        if containers.iter().chain(&init).chain(&ephemeral).any(|n| n == c) {
            return Ok(c.to_string());
        }
        return Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}")));
    }
    if let [only] = containers.as_slice() {
        return Ok(only.clone());
    }
    let mut message =
        format!("a container name must be specified for pod {name}, choose one of: [{}]", containers.join(" "));
    if !init.is_empty() {
        message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
    }
    Err(ApiError::bad_request(message))
}

/// The pod, and the node it is bound to (or the error upstream gives for an unscheduled pod).
pub async fn pod_and_node(
    registry: &Registry,
    namespace: &str,
    name: &str,
) -> Result<(Value, Result<String, ApiError>), ApiError> {
    let pods = registry.get("", "v1", "pods").ok_or_else(|| ApiError::internal("pods are not served"))?;
    let (pod, _) = ops::get(&Ctx::internal(registry), &pods, Some(namespace), name).await?;
    let node = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
    let node = node.ok_or_else(|| ApiError::bad_request(format!("pod {name} does not have a host assigned")));
    Ok((pod, node))
}

/// Accepts the kubelet's certificate without checking its identity; signatures still count.
#[derive(Debug)]
struct KubeletServerCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for KubeletServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// HTTPS to kubelets with the apiserver's client certificate.
#[derive(Clone)]
pub struct KubeletClient {
    tls: tokio_rustls::TlsConnector,
}

impl KubeletClient {
    pub fn new(cert_pem: &str, key_pem: &str) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(KubeletServerCert(provider)))
            .with_client_auth_cert(chain, key)?;
        // HTTP/1.1: streams and upgrades (exec, port-forward) ride on it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { tls: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }

    /// Sends `request` to the kubelet at `address` (`host:port`).
    pub async fn send<B>(&self, address: &str, request: http::Request<B>) -> Result<http::Response<Incoming>, ApiError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let unreachable = |e: &dyn std::fmt::Display| {
            ApiError::new(
                502,
                crate::status::Reason::ServiceUnavailable,
                format!("error dialing the kubelet at {address}: {e}"),
            )
        };
        let tcp = tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(address))
            .await
            .map_err(|_| unreachable(&"timed out"))?
            .map_err(|e| unreachable(&e))?;
        let _ = tcp.set_nodelay(true);
        let host = address.rsplit_once(':').map(|(h, _)| h.trim_matches(['[', ']'])).unwrap_or(address);
        let name = ServerName::try_from(host.to_string()).map_err(|e| unreachable(&e))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| unreachable(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "kubelet connection ended with an error");
            }
        });
        sender.send_request(request).await.map_err(|e| unreachable(&e))
    }
}

/// `host:port` of the kubelet of node `name` (upstream's preferred address types, InternalIP
/// first, and `status.daemonEndpoints.kubeletEndpoint.Port`).
/// The annotation a hollow (simulated) kubelet puts on its Node.
const HOLLOW_NODE: &str = "rkube.io/hollow-node";

pub async fn kubelet_address(registry: &Registry, name: &str) -> Result<String, ApiError> {
    let nodes = registry.get("", "v1", "nodes").ok_or_else(|| ApiError::internal("nodes are not served"))?;
    let (node, _) = ops::get(&Ctx::internal(registry), &nodes, None, name).await?;
    // A hollow node's addresses are made up (and may be routable off this machine): it
    // serves no kubelet API, so nothing is dialled.
    if node.pointer("/metadata/annotations").and_then(|a| a.get(HOLLOW_NODE)).is_some() {
        return Err(ApiError::internal(format!(
            "error dialing backend: node {name} is a hollow node (simulated): it runs no containers and serves no kubelet API"
        )));
    }
    let addresses = node.pointer("/status/addresses").and_then(Value::as_array).cloned().unwrap_or_default();
    let address = ["InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"].iter().find_map(|kind| {
        addresses.iter().find(|a| a["type"] == *kind).and_then(|a| a["address"].as_str()).map(str::to_string)
    });
    let address = address.ok_or_else(|| ApiError::bad_request(format!("node {name} has no address")))?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .filter(|p| *p > 0)
        .unwrap_or(10250);
    Ok(if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") })
}

/// A non-2xx kubelet answer as the client's error (upstream's generic response checker: the
/// kubelet's text becomes the message, the code is kept).
pub async fn kubelet_error(response: http::Response<Incoming>) -> ApiError {
    let code = response.status().as_u16();
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).trim().to_string();
    use crate::status::Reason;
    let reason = match code {
        400 => Reason::BadRequest,
        401 => Reason::Unauthorized,
        403 => Reason::Forbidden,
        404 => Reason::NotFound,
        409 => Reason::Conflict,
        _ => Reason::InternalError,
    };
    ApiError::new(code, reason, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_are_chosen_like_upstream() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}});
        assert_eq!(choose_container(&pod, "p", Some("b")).unwrap(), "b");
        assert_eq!(choose_container(&pod, "p", Some("i")).unwrap(), "i");
        assert_eq!(choose_container(&pod, "p", Some("z")).unwrap_err().message, "container z is not valid for pod p");
        let e = choose_container(&pod, "p", None).unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"
        );
        assert_eq!(e.code, 400);
        let one = json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(choose_container(&one, "p", None).unwrap(), "only");
    }
}

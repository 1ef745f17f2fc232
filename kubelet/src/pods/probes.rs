//! Container probes (upstream's prober and probe workers): liveness, readiness and startup,
//! each run on its own task every `periodSeconds` after `initialDelaySeconds`, with exec (CRI
//! ExecSync), httpGet, tcpSocket and gRPC (grpc.health.v1) handlers. A result flips after
//! `successThreshold` / `failureThreshold` consecutive outcomes and wakes the pod worker, which
//! marks the container ready or started, or kills it after a liveness or startup failure. Also
//! the postStart and preStop lifecycle handlers, which share the exec and httpGet handlers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ExecAction, HTTPGetAction, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::sync::Notify;

use crate::cri::Cri;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }
}

/// A probe's verdict: `None` until its thresholds first decide.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub passed: Option<bool>,
    /// Why the last attempt failed (for the Unhealthy event).
    pub message: String,
    successes: i32,
    failures: i32,
}

/// The probes of one container instance.
pub struct ContainerProbes {
    pub verdicts: Arc<Mutex<HashMap<Kind, Verdict>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ContainerProbes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ContainerProbes {
    fn verdict(&self, kind: Kind) -> Option<Verdict> {
        self.verdicts.lock().unwrap_or_else(|e| e.into_inner()).get(&kind).cloned()
    }

    /// Started: the startup probe passed (or there is none).
    pub fn started(&self, container: &Container) -> bool {
        container.startup_probe.is_none() || self.verdict(Kind::Startup).and_then(|v| v.passed) == Some(true)
    }

    /// Ready: started, and the readiness probe passed (or there is none).
    pub fn ready(&self, container: &Container) -> bool {
        self.started(container)
            && (container.readiness_probe.is_none()
                || self.verdict(Kind::Readiness).and_then(|v| v.passed) == Some(true))
    }

    /// The failed liveness or startup probe that must restart the container, with its message.
    pub fn must_restart(&self) -> Option<(Kind, String)> {
        [Kind::Startup, Kind::Liveness]
            .into_iter()
            .find_map(|k| self.verdict(k).filter(|v| v.passed == Some(false)).map(|v| (k, v.message)))
    }
}

/// Where a probe reaches the container: its pod's IP and runtime ID.
#[derive(Clone)]
pub struct Target {
    pub cri: Cri,
    pub container_id: String,
    pub pod_ip: Option<IpAddr>,
    pub container: Container,
}

/// Starts the container's probe tasks; `wake` is notified when a verdict changes.
pub fn start(target: Target, wake: Arc<Notify>) -> ContainerProbes {
    let verdicts: Arc<Mutex<HashMap<Kind, Verdict>>> = Arc::default();
    let mut tasks = Vec::new();
    let probes = [
        (Kind::Startup, target.container.startup_probe.clone()),
        (Kind::Liveness, target.container.liveness_probe.clone()),
        (Kind::Readiness, target.container.readiness_probe.clone()),
    ];
    for (kind, probe) in probes {
        let Some(probe) = probe else { continue };
        let (target, wake, verdicts) = (target.clone(), wake.clone(), verdicts.clone());
        tasks.push(tokio::spawn(async move { run(kind, probe, target, verdicts, wake).await }));
    }
    ContainerProbes { verdicts, tasks }
}

async fn run(
    kind: Kind,
    probe: Probe,
    target: Target,
    verdicts: Arc<Mutex<HashMap<Kind, Verdict>>>,
    wake: Arc<Notify>,
) {
    let seconds = |v: Option<i32>, default: i32| Duration::from_secs(v.unwrap_or(default).max(0) as u64);
    tokio::time::sleep(seconds(probe.initial_delay_seconds, 0)).await;
    let period = seconds(probe.period_seconds, 10).max(Duration::from_secs(1));
    let timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    let success_threshold = probe.success_threshold.unwrap_or(1).max(1);
    let failure_threshold = probe.failure_threshold.unwrap_or(3).max(1);
    loop {
        // Liveness and readiness wait for the startup probe, as upstream's.
        let started = target.container.startup_probe.is_none()
            || verdicts.lock().unwrap_or_else(|e| e.into_inner()).get(&Kind::Startup).and_then(|v| v.passed)
                == Some(true);
        if kind == Kind::Startup || started {
            let outcome = check(&probe, &target, timeout).await;
            let changed = {
                let mut all = verdicts.lock().unwrap_or_else(|e| e.into_inner());
                let v = all.entry(kind).or_default();
                let before = v.passed;
                match outcome {
                    Ok(()) => {
                        v.successes += 1;
                        v.failures = 0;
                        if v.successes >= success_threshold {
                            v.passed = Some(true);
                        }
                    }
                    Err(message) => {
                        v.failures += 1;
                        v.successes = 0;
                        v.message = message;
                        if v.failures >= failure_threshold {
                            v.passed = Some(false);
                        }
                    }
                }
                before != v.passed
            };
            if changed {
                wake.notify_one();
            }
            // A passed startup probe is done.
            if kind == Kind::Startup
                && verdicts.lock().unwrap_or_else(|e| e.into_inner()).get(&kind).and_then(|v| v.passed) == Some(true)
            {
                return;
            }
        }
        tokio::time::sleep(period).await;
    }
}

/// One attempt of `probe`.
pub async fn check(probe: &Probe, target: &Target, timeout: Duration) -> Result<(), String> {
    if let Some(exec) = &probe.exec {
        return exec_action(exec, target, timeout).await;
    }
    if let Some(http) = &probe.http_get {
        return http_get(http, target, timeout).await;
    }
    if let Some(tcp) = &probe.tcp_socket {
        let host = tcp.host.as_deref().and_then(|h| h.parse().ok()).or(target.pod_ip).ok_or("the pod has no IP")?;
        let port = resolve_port(&tcp.port, &target.container)?;
        return match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
            Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
        };
    }
    if let Some(grpc) = &probe.grpc {
        let host = target.pod_ip.ok_or("the pod has no IP")?;
        return grpc_check(host, grpc.port as u16, grpc.service.clone().unwrap_or_default(), timeout).await;
    }
    Err("the probe has no handler".into())
}

async fn exec_action(exec: &ExecAction, target: &Target, timeout: Duration) -> Result<(), String> {
    let command = exec.command.clone().unwrap_or_default();
    match target.cri.exec_sync(&target.container_id, command.clone(), timeout).await {
        Ok(out) if out.exit_code == 0 => Ok(()),
        Ok(out) => {
            let output = String::from_utf8_lossy(if out.stdout.is_empty() { &out.stderr } else { &out.stdout })
                .trim()
                .to_string();
            Err(format!("command {command:?} exited with {}: {output}", out.exit_code))
        }
        Err(e) => Err(format!("command {command:?} failed: {}", e.message())),
    }
}

/// A named port resolves through the container's ports.
fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .or_else(|| name.parse().ok())
            .ok_or_else(|| format!("couldn't find port {name:?} in the container")),
    }
}

async fn http_get(action: &HTTPGetAction, target: &Target, timeout: Duration) -> Result<(), String> {
    let host: IpAddr = match action.host.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => h.parse().map_err(|_| format!("invalid host {h:?}"))?,
        None => target.pod_ip.ok_or("the pod has no IP")?,
    };
    let port = resolve_port(&action.port, &target.container)?;
    let path = action.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
    let https = action.scheme.as_deref() == Some("HTTPS");
    let attempt = async {
        let tcp =
            tokio::net::TcpStream::connect((host, port)).await.map_err(|e| format!("dial tcp {host}:{port}: {e}"))?;
        let mut request = http::Request::get(&path)
            .header(http::header::HOST, format!("{host}:{port}"))
            .header(http::header::USER_AGENT, "kube-probe/1.33")
            .header(http::header::ACCEPT, "*/*");
        for header in action.http_headers.iter().flatten() {
            request = request.header(header.name.as_str(), header.value.as_str());
        }
        let request = request.body(http_body_util::Empty::<bytes::Bytes>::new()).map_err(|e| e.to_string())?;
        let response = if https {
            let tls = insecure_tls()
                .connect(rustls::pki_types::ServerName::IpAddress(host.into()), tcp)
                .await
                .map_err(|e| e.to_string())?;
            streaming::proxy::send_over(hyper_util::rt::TokioIo::new(tls), request).await
        } else {
            streaming::proxy::send_over(hyper_util::rt::TokioIo::new(tcp), request).await
        };
        let status = response.map_err(|e| e.to_string())?.status();
        // Upstream: 200 <= code < 400 is success.
        if status.as_u16() >= 200 && status.as_u16() < 400 {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {}", status.as_u16()))
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "Get \"http://{host}:{port}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

/// HTTPS probes do not verify the container's certificate, as upstream's.
fn insecure_tls() -> tokio_rustls::TlsConnector {
    #[derive(Debug)]
    struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| b.dangerous().with_custom_certificate_verifier(Arc::new(AnyCert(provider))).with_no_client_auth());
    match config {
        Ok(config) => tokio_rustls::TlsConnector::from(Arc::new(config)),
        Err(_) => tokio_rustls::TlsConnector::from(Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    /// 1 = SERVING.
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `grpc.health.v1.Health/Check`.
async fn grpc_check(host: IpAddr, port: u16, service: String, timeout: Duration) -> Result<(), String> {
    let attempt = async {
        let endpoint =
            tonic::transport::Endpoint::from_shared(format!("http://{host}:{port}")).map_err(|e| e.to_string())?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| format!("failed to connect service \"{host}:{port}\" within {timeout:?}: {e}"))?;
        let mut client = tonic::client::Grpc::new(channel);
        client.ready().await.map_err(|e| e.to_string())?;
        let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
        let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
        let response = client
            .unary(tonic::Request::new(HealthCheckRequest { service }), path, codec)
            .await
            .map_err(|e| format!("health rpc failed: {}", e.message()))?;
        match response.into_inner().status {
            1 => Ok(()),
            other => Err(format!(
                "service unhealthy (responded with {})",
                match other {
                    2 => "NOT_SERVING",
                    3 => "SERVICE_UNKNOWN",
                    _ => "UNKNOWN",
                }
            )),
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("timeout: health rpc did not complete within {timeout:?}")))
}

/// Runs a postStart or preStop handler (exec, httpGet, or sleep).
pub async fn lifecycle(handler: &LifecycleHandler, target: &Target, budget: Duration) -> Result<(), String> {
    if let Some(exec) = &handler.exec {
        return exec_action(exec, target, budget).await;
    }
    if let Some(http) = &handler.http_get {
        return http_get(http, target, budget).await;
    }
    if let Some(sleep) = &handler.sleep {
        tokio::time::sleep(Duration::from_secs(sleep.seconds.max(0) as u64).min(budget)).await;
        return Ok(());
    }
    Err("the lifecycle handler has no action".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_ports_resolve_through_the_container() {
        let c: Container =
            serde_json::from_value(json!({"name": "c", "ports": [{"name": "http", "containerPort": 8080}]})).unwrap();
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &c), Ok(8080));
        assert_eq!(resolve_port(&IntOrString::Int(9090), &c), Ok(9090));
        assert!(resolve_port(&IntOrString::String("grpc".into()), &c).is_err());
    }

    #[tokio::test]
    async fn tcp_and_http_probes_reach_a_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let ok = String::from_utf8_lossy(&buf[..n]).starts_with("GET /ok ");
                let status = if ok { "200 OK" } else { "503 Unavailable" };
                let _ = socket.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
            }
        });
        let target = Target {
            cri: Cri::connect("/nonexistent.sock").unwrap(),
            container_id: "x".into(),
            pod_ip: Some("127.0.0.1".parse().unwrap()),
            container: Container::default(),
        };
        let probe = |v: serde_json::Value| -> Probe { serde_json::from_value(v).unwrap() };
        let second = Duration::from_secs(1);
        assert_eq!(check(&probe(json!({"tcpSocket": {"port": port}})), &target, second).await, Ok(()));
        assert_eq!(check(&probe(json!({"httpGet": {"path": "/ok", "port": port}})), &target, second).await, Ok(()));
        let failed = check(&probe(json!({"httpGet": {"path": "/bad", "port": port}})), &target, second).await;
        assert_eq!(failed, Err("HTTP probe failed with statuscode: 503".into()));
        assert!(check(&probe(json!({"tcpSocket": {"port": 1}})), &target, second).await.is_err());
    }
}

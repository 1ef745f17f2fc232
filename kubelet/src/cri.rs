//! The Container Runtime Interface client: CRI v1 over the runtime's Unix socket (gRPC through
//! tonic, types from `k8s-cri`), as upstream's kubelet talks to containerd. One HTTP/2
//! connection, cloned per caller (tonic multiplexes). Every call has a deadline so a wedged
//! runtime cannot hang a pod worker forever.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::metrics::Metrics;

/// Upstream's default `--runtime-request-timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Image pulls may take longer than any other call (upstream gives them no deadline).
pub const PULL_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("connecting to the container runtime at {0}: {1}")]
    Connect(String, tonic::transport::Error),
    #[error("{call}: {status}")]
    Call { call: &'static str, status: Box<tonic::Status> },
}

impl CriError {
    /// The gRPC code of a failed call.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            CriError::Call { status, .. } => Some(status.code()),
            CriError::Connect(..) => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(tonic::Code::NotFound)
    }

    /// The runtime's own message, without the call name (for pod status messages).
    pub fn message(&self) -> String {
        match self {
            CriError::Call { status, .. } => status.message().to_string(),
            other => other.to_string(),
        }
    }
}

/// `unix:///run/containerd/containerd.sock` or a plain path -> the socket path.
pub fn socket_path(endpoint: &str) -> PathBuf {
    PathBuf::from(endpoint.strip_prefix("unix://").unwrap_or(endpoint))
}

/// A connection to the runtime's RuntimeService and ImageService.
#[derive(Clone)]
pub struct Cri {
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    metrics: Option<Arc<Metrics>>,
}

fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(timeout);
    request
}

macro_rules! call {
    ($self:ident . $service:ident . $method:ident ($message:expr)) => {
        call!($self.$service.$method($message), REQUEST_TIMEOUT)
    };
    ($self:ident . $service:ident . $method:ident ($message:expr), $timeout:expr) => {{
        let started = std::time::Instant::now();
        let result = $self
            .$service
            .clone()
            .$method(request($message, $timeout))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| CriError::Call { call: stringify!($method), status: Box::new(status) });
        if let Some(metrics) = &$self.metrics {
            // Upstream's operation names: `run_podsandbox`, `list_containers`, ...
            let operation = stringify!($method).replace("pod_sandbox", "podsandbox");
            metrics.runtime_operation(&operation, started.elapsed(), result.is_ok());
        }
        result
    }};
}

impl Cri {
    /// Connects lazily: the first call dials, and a runtime restart is survived by redialing.
    pub fn connect(endpoint: &str) -> Result<Cri, CriError> {
        let path = socket_path(endpoint);
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?)) }
        });
        // The URI is required by tonic but unused: the connector dials the socket.
        let channel = Endpoint::from_static("http://cri.local")
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector_lazy(connector);
        Ok(Cri {
            runtime: RuntimeServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20),
            images: ImageServiceClient::new(channel).max_decoding_message_size(64 << 20),
            metrics: None,
        })
    }

    /// The same connection, recording every call in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Cri {
        Cri { metrics: Some(metrics), ..self }
    }

    /// Waits until the runtime answers `Version`, up to `timeout`.
    pub async fn wait_ready(&self, socket: &Path, timeout: Duration) -> Result<VersionResponse, CriError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.version().await {
                Ok(version) => return Ok(version),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(e) => tracing::debug!(socket = %socket.display(), error = %e, "runtime not ready yet"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn version(&self) -> Result<VersionResponse, CriError> {
        call!(self.runtime.version(VersionRequest { version: "v1".into() }), Duration::from_secs(2))
    }

    pub async fn status(&self) -> Result<StatusResponse, CriError> {
        call!(self.runtime.status(StatusRequest { verbose: false }))
    }

    pub async fn update_pod_cidr(&self, cidr: &str) -> Result<(), CriError> {
        let config = RuntimeConfig { network_config: Some(NetworkConfig { pod_cidr: cidr.to_string() }) };
        call!(self.runtime.update_runtime_config(UpdateRuntimeConfigRequest { runtime_config: Some(config) })).map(drop)
    }

    pub async fn run_pod_sandbox(&self, config: PodSandboxConfig) -> Result<String, CriError> {
        let message = RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
        call!(self.runtime.run_pod_sandbox(message)).map(|r| r.pod_sandbox_id)
    }

    pub async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        call!(self.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.into() })).map(drop)
    }

    pub async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        call!(self.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.into() })).map(drop)
    }

    pub async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, CriError> {
        let message = PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: false };
        call!(self.runtime.pod_sandbox_status(message)).map(|r| r.status.unwrap_or_default())
    }

    /// Sandboxes, all or those carrying every label of `labels`.
    pub async fn list_pod_sandboxes(
        &self,
        labels: Option<&HashMap<String, String>>,
    ) -> Result<Vec<PodSandbox>, CriError> {
        let filter = labels.map(|l| PodSandboxFilter { label_selector: l.clone(), ..PodSandboxFilter::default() });
        call!(self.runtime.list_pod_sandbox(ListPodSandboxRequest { filter })).map(|r| r.items)
    }

    pub async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        sandbox_config: PodSandboxConfig,
    ) -> Result<String, CriError> {
        let message = CreateContainerRequest {
            pod_sandbox_id: sandbox_id.into(),
            config: Some(config),
            sandbox_config: Some(sandbox_config),
        };
        call!(self.runtime.create_container(message)).map(|r| r.container_id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), CriError> {
        call!(self.runtime.start_container(StartContainerRequest { container_id: id.into() })).map(drop)
    }

    /// Stops a container: SIGTERM (or the image's stop signal), SIGKILL after `grace_seconds`.
    pub async fn stop_container(&self, id: &str, grace_seconds: i64) -> Result<(), CriError> {
        let message = StopContainerRequest { container_id: id.into(), timeout: grace_seconds };
        let deadline = REQUEST_TIMEOUT + Duration::from_secs(grace_seconds.max(0) as u64);
        call!(self.runtime.stop_container(message), deadline).map(drop)
    }

    pub async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        call!(self.runtime.remove_container(RemoveContainerRequest { container_id: id.into() })).map(drop)
    }

    /// Containers, all or those carrying every label of `labels`.
    pub async fn list_containers(&self, labels: Option<&HashMap<String, String>>) -> Result<Vec<Container>, CriError> {
        let filter = labels.map(|l| ContainerFilter { label_selector: l.clone(), ..ContainerFilter::default() });
        call!(self.runtime.list_containers(ListContainersRequest { filter })).map(|r| r.containers)
    }

    pub async fn container_status(&self, id: &str) -> Result<ContainerStatus, CriError> {
        let message = ContainerStatusRequest { container_id: id.into(), verbose: false };
        call!(self.runtime.container_status(message)).map(|r| r.status.unwrap_or_default())
    }

    /// Runs `command` in a container and waits for it (exec probes, lifecycle hooks).
    pub async fn exec_sync(
        &self,
        id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecSyncResponse, CriError> {
        let message =
            ExecSyncRequest { container_id: id.into(), cmd: command, timeout: timeout.as_secs().max(1) as i64 };
        call!(self.runtime.exec_sync(message), timeout + Duration::from_secs(5))
    }

    pub async fn exec(&self, message: ExecRequest) -> Result<String, CriError> {
        call!(self.runtime.exec(message)).map(|r| r.url)
    }

    pub async fn attach(&self, message: AttachRequest) -> Result<String, CriError> {
        call!(self.runtime.attach(message)).map(|r| r.url)
    }

    pub async fn port_forward(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String, CriError> {
        let message = PortForwardRequest { pod_sandbox_id: sandbox_id.into(), port: ports };
        call!(self.runtime.port_forward(message)).map(|r| r.url)
    }

    /// The image's ID if the runtime has it.
    pub async fn image_status(&self, image: &str) -> Result<Option<k8s_cri::v1::Image>, CriError> {
        let spec = ImageSpec { image: image.into(), ..ImageSpec::default() };
        call!(self.images.image_status(ImageStatusRequest { image: Some(spec), verbose: false })).map(|r| r.image)
    }

    pub async fn pull_image(
        &self,
        image: &str,
        auth: Option<AuthConfig>,
        sandbox_config: PodSandboxConfig,
    ) -> Result<String, CriError> {
        let message = PullImageRequest {
            image: Some(ImageSpec { image: image.into(), ..ImageSpec::default() }),
            auth,
            sandbox_config: Some(sandbox_config),
        };
        call!(self.images.pull_image(message), PULL_TIMEOUT).map(|r| r.image_ref)
    }

    pub async fn list_images(&self) -> Result<Vec<k8s_cri::v1::Image>, CriError> {
        call!(self.images.list_images(ListImagesRequest { filter: None })).map(|r| r.images)
    }

    pub async fn remove_image(&self, image: &str) -> Result<(), CriError> {
        let spec = ImageSpec { image: image.into(), ..ImageSpec::default() };
        call!(self.images.remove_image(RemoveImageRequest { image: Some(spec) })).map(drop)
    }

    pub async fn image_fs_info(&self) -> Result<ImageFsInfoResponse, CriError> {
        call!(self.images.image_fs_info(ImageFsInfoRequest {}))
    }
}

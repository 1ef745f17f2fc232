//! The e2e test image and a loopback registry serving it. The image holds `rktest` (the test
//! program, `testimage/rktest.rs`, built statically by `build.rs`) and Debian's static busybox
//! for a shell; it is built in code (`kubelet::oci`) and pushed to a real registry (Debian's
//! docker-registry) so tests exercise the kubelet's real pull path.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kubelet::oci::{Blob, Entry, Image, RunConfig};

/// The repository and tag tests use: `<registry>/rkube/test:1`.
pub const REPOSITORY: &str = "rkube/test";
pub const TAG: &str = "1";
/// Debian's busybox-static.
const BUSYBOX: &str = "/bin/busybox";
const APPLETS: [&str; 24] = [
    "sh", "cat", "ls", "echo", "sleep", "env", "ps", "id", "wget", "nc", "hostname", "test", "grep", "head", "tail",
    "true", "false", "touch", "rm", "mkdir", "date", "printf", "kill", "wc",
];

/// The test image: `/rktest` (entrypoint, default `pause`), busybox under `/bin`.
pub fn image() -> Result<Image> {
    let rktest = include_bytes!(concat!(env!("OUT_DIR"), "/rktest")).to_vec();
    let busybox =
        std::fs::read(BUSYBOX).with_context(|| format!("reading {BUSYBOX} (Debian package busybox-static)"))?;
    let mut entries = vec![
        Entry::File { path: "/rktest".into(), mode: 0o755, data: rktest },
        Entry::File { path: "/bin/busybox".into(), mode: 0o755, data: busybox },
        Entry::Dir { path: "/tmp".into(), mode: 0o1777 },
        Entry::File {
            path: "/etc/passwd".into(),
            mode: 0o644,
            data: b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n".to_vec(),
        },
        Entry::File { path: "/etc/group".into(), mode: 0o644, data: b"root:x:0:\nnogroup:x:65534:\n".to_vec() },
    ];
    entries.extend(APPLETS.iter().map(|a| Entry::Symlink { path: format!("/bin/{a}"), target: "busybox".into() }));
    let run = RunConfig {
        entrypoint: vec!["/rktest".into()],
        cmd: vec!["pause".into()],
        env: vec!["PATH=/bin".into()],
        working_dir: Some("/".into()),
    };
    Ok(Image::build(&entries, &run)?)
}

/// A docker-registry on a free loopback port, storing under `dir`; stopped when dropped.
pub struct Registry {
    pub address: String,
    child: Child,
    /// `user:password` when the registry wants basic authentication.
    credentials: Option<(String, String)>,
}

/// The one account of an authenticating test registry, and its htpasswd line (bcrypt, cost 5,
/// made once with libxcrypt's crypt(3)).
pub const AUTH_USER: &str = "puller";
pub const AUTH_PASSWORD: &str = "s3cret";
const AUTH_HTPASSWD: &str = "puller:$2b$05$IbfSP0t6lnMVw4rjbeus6uPmu61dggiFe21P97iZDNU03lNOU5TKe";

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Registry {
    /// Starts the registry and pushes the test image to it.
    pub async fn start(dir: &Path) -> Result<Registry> {
        Self::start_with(dir, false).await
    }

    /// The same, but every request needs [`AUTH_USER`]'s basic credentials (what
    /// imagePullSecrets are for).
    pub async fn start_with_auth(dir: &Path) -> Result<Registry> {
        Self::start_with(dir, true).await
    }

    async fn start_with(dir: &Path, auth: bool) -> Result<Registry> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
            dir.join("data").display()
        );
        if auth {
            let htpasswd = dir.join("htpasswd");
            std::fs::write(&htpasswd, format!("{AUTH_HTPASSWD}\n"))?;
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: rkube-test\n    path: {}\n", htpasswd.display()));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.join("registry.log"))?;
        let mut command = Command::new("docker-registry");
        command.arg("serve").arg(&config_path).stdout(log.try_clone()?).stderr(log).stdin(Stdio::null());
        crate::die_with_parent(&mut command);
        let child = command.spawn().context("starting docker-registry (Debian package docker-registry)")?;
        let credentials = auth.then(|| (AUTH_USER.to_string(), AUTH_PASSWORD.to_string()));
        let registry = Registry { address, child, credentials };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                bail!(
                    "docker-registry did not listen on {port}: {}",
                    std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        registry.push(&image()?, REPOSITORY, TAG).await?;
        Ok(registry)
    }

    /// `<address>/rkube/test:1`.
    pub fn test_image(&self) -> String {
        format!("{}/{REPOSITORY}:{TAG}", self.address)
    }

    async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>> {
        let stream = tokio::net::TcpStream::connect(&self.address).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = http::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", &self.address)
            .header("content-type", content_type);
        if let Some((user, password)) = &self.credentials {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request = request.header("authorization", format!("Basic {token}"));
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        Ok(http::Response::from_parts(parts, body.collect().await?.to_bytes()))
    }

    async fn push_blob(&self, repository: &str, blob: &Blob) -> Result<()> {
        let started = self
            .request("POST", &format!("/v2/{repository}/blobs/uploads/"), "application/octet-stream", Vec::new())
            .await?;
        if started.status() != 202 {
            bail!("starting a blob upload: {} {:?}", started.status(), started.body());
        }
        let location = started.headers().get("location").and_then(|l| l.to_str().ok()).context("upload location")?;
        // The location may be absolute; only its path and query matter on this connection.
        let location = location
            .split_once("://")
            .map(|(_, rest)| &rest[rest.find('/').unwrap_or(rest.len())..])
            .unwrap_or(location);
        let separator = if location.contains('?') { '&' } else { '?' };
        let target = format!("{location}{separator}digest={}", blob.digest);
        let put = self.request("PUT", &target, "application/octet-stream", blob.bytes.clone()).await?;
        if put.status() != 201 {
            bail!("uploading {}: {} {:?}", blob.digest, put.status(), put.body());
        }
        Ok(())
    }

    /// Pushes `image` as `repository:tag` (blobs, then the manifest).
    pub async fn push(&self, image: &Image, repository: &str, tag: &str) -> Result<()> {
        for blob in [&image.layer, &image.config] {
            self.push_blob(repository, blob).await?;
        }
        let manifest = &image.manifest;
        let put = self
            .request("PUT", &format!("/v2/{repository}/manifests/{tag}"), manifest.media_type, manifest.bytes.clone())
            .await?;
        if put.status() != 201 {
            bail!("pushing the manifest: {} {:?}", put.status(), put.body());
        }
        Ok(())
    }
}

//! Images for containers (upstream's `images.imageManager`): the pull policy decides whether to
//! pull, credentials come from the pod's `imagePullSecrets` (`kubernetes.io/dockerconfigjson`
//! or `kubernetes.io/dockercfg`), and failures become the waiting reasons kubectl shows.

use base64::Engine;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Secret};

use crate::cri::Cri;

/// A failed attempt to get an image, as a waiting reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullError {
    pub reason: &'static str,
    pub message: String,
}

/// The registry host an image reference points at (Docker's normalisation: a first component
/// with a dot or a port, or `localhost`, is a registry; anything else is Docker Hub).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

fn host_of(server: &str) -> &str {
    let server = server.trim_start_matches("https://").trim_start_matches("http://");
    let host = server.split('/').next().unwrap_or(server);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// The credentials for `image` among the pull secrets, in order.
pub fn credentials(image: &str, secrets: &[Secret]) -> Option<cri::AuthConfig> {
    let registry = registry_of(image);
    for secret in secrets {
        let data = secret.data.clone().unwrap_or_default();
        let auths = if let Some(json) = data.get(".dockerconfigjson") {
            serde_json::from_slice::<serde_json::Value>(&json.0).ok().and_then(|v| v.get("auths").cloned())
        } else if let Some(json) = data.get(".dockercfg") {
            serde_json::from_slice::<serde_json::Value>(&json.0).ok()
        } else {
            None
        };
        let Some(serde_json::Value::Object(auths)) = auths else { continue };
        for (server, entry) in auths {
            if host_of(&server) != registry {
                continue;
            }
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let (mut username, mut password) = (field("username"), field("password"));
            let auth = field("auth");
            if username.is_empty() && !auth.is_empty() {
                let decoded = base64::engine::general_purpose::STANDARD.decode(&auth).unwrap_or_default();
                let decoded = String::from_utf8_lossy(&decoded).into_owned();
                if let Some((user, pass)) = decoded.split_once(':') {
                    (username, password) = (user.to_string(), pass.to_string());
                }
            }
            // No server address, as upstream's keyring: containerd would parse it as a URL
            // (`host:port` fails) and drop credentials whose host differs from the one it dials.
            return Some(cri::AuthConfig { username, password, ..cri::AuthConfig::default() });
        }
    }
    None
}

/// Makes sure the container's image is present, pulling it as its policy says. Returns the
/// image reference to create the container from, and whether a pull happened (for events).
pub async fn ensure(
    cri: &Cri,
    container: &Container,
    secrets: &[Secret],
    sandbox: &cri::PodSandboxConfig,
) -> Result<(String, bool), PullError> {
    let image = container.image.clone().unwrap_or_default();
    if image.is_empty() {
        return Err(PullError { reason: "InvalidImageName", message: "container image is empty".into() });
    }
    let latest = !image.rsplit('/').next().unwrap_or(&image).contains(':') || image.ends_with(":latest");
    let policy =
        container.image_pull_policy.clone().unwrap_or_else(|| if latest { "Always" } else { "IfNotPresent" }.into());
    let present = match cri.image_status(&image).await {
        Ok(found) => found.map(|i| i.id),
        Err(e) => {
            return Err(PullError {
                reason: "ErrImageInspect",
                message: format!("Failed to inspect image \"{image}\": {}", e.message()),
            });
        }
    };
    match (policy.as_str(), present) {
        ("Never", Some(id)) | ("IfNotPresent", Some(id)) => Ok((id, false)),
        ("Never", None) => Err(PullError {
            reason: "ErrImageNeverPull",
            message: format!("Container image \"{image}\" is not present with pull policy of Never"),
        }),
        _ => {
            let auth = credentials(&image, secrets);
            match cri.pull_image(&image, auth, sandbox.clone()).await {
                Ok(reference) => Ok((reference, true)),
                Err(e) => Err(PullError {
                    reason: "ErrImagePull",
                    message: format!("failed to pull and unpack image \"{image}\": {}", e.message()),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registries_are_named_as_docker_does() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox:1"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/rkube/test:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("registry.k8s.io/pause:3.10"), "registry.k8s.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
    }

    #[test]
    fn credentials_come_from_the_matching_secret() {
        let config = json!({"auths": {"https://127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"}}});
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config.to_string())}}))
            .unwrap();
        let auth = credentials("127.0.0.1:5000/app:1", std::slice::from_ref(&secret)).unwrap();
        assert_eq!((auth.username.as_str(), auth.password.as_str()), ("user", "pass"));
        assert!(credentials("docker.io/app:1", &[secret]).is_none());
    }
}

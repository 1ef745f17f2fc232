//! Pod volumes (upstream's volume plugins, node side), under `<pod dir>/volumes/<plugin>/<name>`:
//! emptyDir (on disk, or tmpfs for `medium: Memory`), configMap, secret, downwardAPI and
//! projected (written by `atomic.rs`, re-rendered on every sync so running containers see
//! updates; all but configMap on tmpfs, as upstream), and hostPath. `mounts` turns a container's volumeMounts (with subPath) into CRI
//! mounts. Volume types this node cannot provide are refused with a clear message.

pub mod atomic;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume};
use kube::Api;

use crate::config::Config;
use crate::pods::env::{Sources, pod_field, resource_field};
use atomic::Payload;

/// What a volume gives containers: its directory (or file, for hostPath files), and whether
/// containers may only read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub path: PathBuf,
    pub read_only: bool,
}

fn plugin_dir(config: &Config, uid: &str, plugin: &str, name: &str) -> PathBuf {
    config.pod_dir(uid).join("volumes").join(plugin).join(name)
}

/// `/proc/self/mountinfo` names `path` as a mount point.
fn mounted(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let wanted = path.to_string_lossy();
    text.lines().any(|l| l.split_whitespace().nth(4) == Some(wanted.as_ref()))
}

fn mount_tmpfs(path: &Path, size: Option<i64>) -> Result<(), String> {
    if mounted(path) {
        return Ok(());
    }
    let c = |s: &str| std::ffi::CString::new(s).map_err(|e| e.to_string());
    let target = c(&path.to_string_lossy())?;
    let options = c(&size.map(|s| format!("size={s}")).unwrap_or_default())?;
    let fstype = c("tmpfs")?;
    let rc = unsafe { libc::mount(fstype.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, options.as_ptr().cast()) };
    if rc != 0 {
        return Err(format!("mounting tmpfs at {}: {}", path.display(), std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Unmounts every tmpfs under the pod's directory (before it is removed).
pub fn unmount_all(pod_dir: &Path) {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = pod_dir.to_string_lossy();
    for point in text.lines().filter_map(|l| l.split_whitespace().nth(4)).filter(|p| p.starts_with(prefix.as_ref())) {
        if let Ok(target) = std::ffi::CString::new(point)
            && unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0
        {
            tracing::warn!(path = point, error = %std::io::Error::last_os_error(), "unmounting a pod volume");
        }
    }
}

fn mode(item: Option<i32>, default: Option<i32>) -> u32 {
    item.or(default).map(|m| m as u32 & 0o7777).unwrap_or(0o644)
}

/// The files of a ConfigMap's or Secret's `data` under `items` (all keys when none).
fn key_files(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    what: &str,
    optional: bool,
    out: &mut Payload,
) -> Result<(), String> {
    match items {
        Some(items) if !items.is_empty() => {
            for item in items {
                match data.get(&item.key) {
                    Some(bytes) => {
                        out.insert(item.path.clone(), (bytes.clone(), mode(item.mode, default_mode)));
                    }
                    None if optional => {}
                    None => return Err(format!("{what} references non-existent config key: {}", item.key)),
                }
            }
        }
        _ => {
            for (key, bytes) in data {
                out.insert(key.clone(), (bytes.clone(), mode(None, default_mode)));
            }
        }
    }
    Ok(())
}

fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> =
        cm.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    data.extend(cm.binary_data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
    data
}

fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> =
        secret.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    data.extend(secret.string_data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())));
    data
}

/// Labels or annotations as the downward API writes them: `key="value"` lines, sorted.
fn format_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn downward_files(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
    sources: &Sources,
    out: &mut Payload,
) -> Result<(), String> {
    for item in items {
        let value = if let Some(field) = &item.field_ref {
            match field.field_path.as_str() {
                "metadata.labels" => format_map(&pod.metadata.labels.clone().unwrap_or_default()),
                "metadata.annotations" => format_map(&pod.metadata.annotations.clone().unwrap_or_default()),
                path => pod_field(pod, path)?,
            }
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.clone().unwrap_or_default();
            let spec = pod.spec.clone().unwrap_or_default();
            let container =
                spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name);
            let container = container.ok_or_else(|| format!("container {name} not found"))?;
            resource_field(container, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()), sources)?
        } else {
            String::new()
        };
        out.insert(item.path.clone(), (value.into_bytes(), mode(item.mode, default_mode)));
    }
    Ok(())
}

async fn config_map(api: &Api<ConfigMap>, name: &str) -> Result<Option<ConfigMap>, String> {
    api.get_opt(name).await.map_err(|e| format!("getting configmap {name:?}: {e}"))
}

async fn secret(api: &Api<Secret>, name: &str) -> Result<Option<Secret>, String> {
    api.get_opt(name).await.map_err(|e| format!("getting secret {name:?}: {e}"))
}

/// The files of ConfigMap `name` (its `items`, or every key) into `out`; a missing one is an
/// error unless `optional`.
async fn config_map_files(
    api: &Api<ConfigMap>,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    out: &mut Payload,
) -> Result<(), String> {
    match config_map(api, name).await? {
        Some(cm) => {
            key_files(&config_map_data(&cm), items, default_mode, &format!("configmap {name:?}"), optional, out)
        }
        None if optional => Ok(()),
        None => Err(format!("configmap \"{name}\" not found")),
    }
}

/// The same for Secret `name`.
async fn secret_files(
    api: &Api<Secret>,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    out: &mut Payload,
) -> Result<(), String> {
    match secret(api, name).await? {
        Some(s) => key_files(&secret_data(&s), items, default_mode, &format!("secret {name:?}"), optional, out),
        None if optional => Ok(()),
        None => Err(format!("secret \"{name}\" not found")),
    }
}

/// The file payload of an API-data volume, or `None` for other kinds.
async fn api_payload(
    client: &kube::Client,
    pod: &Pod,
    volume: &Volume,
    sources: &Sources,
) -> Result<Option<Payload>, String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out = Payload::new();
    if let Some(v) = &volume.config_map {
        let optional = v.optional.unwrap_or(false);
        config_map_files(&cms, &v.name, v.items.as_deref(), v.default_mode, optional, &mut out).await?;
    } else if let Some(v) = &volume.secret {
        let name = v.secret_name.clone().unwrap_or_default();
        let optional = v.optional.unwrap_or(false);
        secret_files(&secrets, &name, v.items.as_deref(), v.default_mode, optional, &mut out).await?;
    } else if let Some(v) = &volume.downward_api {
        downward_files(pod, v.items.as_deref().unwrap_or_default(), v.default_mode, sources, &mut out)?;
    } else if let Some(v) = &volume.projected {
        for source in v.sources.iter().flatten() {
            if let Some(p) = &source.config_map {
                let optional = p.optional.unwrap_or(false);
                config_map_files(&cms, &p.name, p.items.as_deref(), v.default_mode, optional, &mut out).await?;
            } else if let Some(p) = &source.secret {
                let optional = p.optional.unwrap_or(false);
                secret_files(&secrets, &p.name, p.items.as_deref(), v.default_mode, optional, &mut out).await?;
            } else if let Some(p) = &source.downward_api {
                downward_files(pod, p.items.as_deref().unwrap_or_default(), v.default_mode, sources, &mut out)?;
            } else if source.service_account_token.is_some() {
                return Err("projected serviceAccountToken sources need the TokenRequest API, which this cluster does not serve yet".into());
            } else {
                return Err("this projected volume source is not supported on this node".into());
            }
        }
    } else {
        return Ok(None);
    }
    Ok(Some(out))
}

/// Sets up (or refreshes) every volume of `pod`; returns what each gives its containers.
pub async fn prepare(
    config: &Config,
    client: &kube::Client,
    pod: &Pod,
    sources: &Sources,
) -> Result<HashMap<String, Prepared>, String> {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let mut out = HashMap::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let name = &volume.name;
        let fail = |e: String| format!("MountVolume.SetUp failed for volume {name:?} : {e}");
        let prepared = if let Some(empty) = &volume.empty_dir {
            let dir = plugin_dir(config, uid, "kubernetes.io~empty-dir", name);
            std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
            if empty.medium.as_deref() == Some("Memory") {
                let size = empty.size_limit.as_ref().and_then(|q| apimachinery::quantity::parse_value(&q.0));
                mount_tmpfs(&dir, size).map_err(fail)?;
            }
            // Any user of any container may write an emptyDir.
            let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777));
            Prepared { path: dir, read_only: false }
        } else if let Some(host) = &volume.host_path {
            let path = PathBuf::from(&host.path);
            match host.type_.as_deref().unwrap_or("") {
                "DirectoryOrCreate" => std::fs::create_dir_all(&path).map_err(|e| fail(e.to_string()))?,
                "FileOrCreate" if !path.exists() => {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
                    }
                    std::fs::write(&path, b"").map_err(|e| fail(e.to_string()))?;
                }
                "Directory" if !path.is_dir() => {
                    return Err(fail(format!("hostPath type check failed: {} is not a directory", host.path)));
                }
                "File" if !path.is_file() => {
                    return Err(fail(format!("hostPath type check failed: {} is not a file", host.path)));
                }
                _ => {}
            }
            Prepared { path, read_only: false }
        } else if let Some(payload) = api_payload(client, pod, volume, sources).await.map_err(fail)? {
            let plugin = if volume.config_map.is_some() {
                "kubernetes.io~configmap"
            } else if volume.secret.is_some() {
                "kubernetes.io~secret"
            } else if volume.downward_api.is_some() {
                "kubernetes.io~downward-api"
            } else {
                "kubernetes.io~projected"
            };
            let dir = plugin_dir(config, uid, plugin, name);
            if volume.config_map.is_none() {
                // As upstream: what may hold secrets lives in memory, never on the node's disk.
                std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
                mount_tmpfs(&dir, None).map_err(fail)?;
            }
            atomic::write(&dir, &payload).map_err(|e| fail(e.to_string()))?;
            Prepared { path: dir, read_only: true }
        } else {
            return Err(fail("this volume type is not supported on this node".into()));
        };
        out.insert(name.clone(), prepared);
    }
    Ok(out)
}

/// The CRI mounts of a container's volumeMounts.
pub fn mounts(container: &Container, volumes: &HashMap<String, Prepared>) -> Result<Vec<cri::Mount>, String> {
    let mut out = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let volume = volumes.get(&mount.name).ok_or_else(|| format!("volume {:?} not found in the pod", mount.name))?;
        let mut host = volume.path.clone();
        if let Some(sub) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if Path::new(sub).components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                return Err(format!("invalid subPath {sub:?}: must be a relative path without '..'"));
            }
            host = host.join(sub);
            if !host.exists() && !volume.read_only {
                std::fs::create_dir_all(&host).map_err(|e| format!("creating subPath {sub:?}: {e}"))?;
            }
            // A subPath in an atomically written volume is bound to the file itself.
            host = std::fs::canonicalize(&host).unwrap_or(host);
        }
        out.push(cri::Mount {
            container_path: mount.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: mount.read_only.unwrap_or(false) || volume.read_only,
            ..cri::Mount::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn downward_maps_are_written_as_upstream() {
        let map = BTreeMap::from([("b".to_string(), "two".to_string()), ("a".to_string(), "x \"y\"".to_string())]);
        assert_eq!(format_map(&map), "a=\"x \\\"y\\\"\"\nb=\"two\"");
    }

    #[test]
    fn keys_become_files_with_modes() {
        let data = BTreeMap::from([("a".to_string(), b"1".to_vec()), ("b".to_string(), b"2".to_vec())]);
        let mut out = Payload::new();
        key_files(&data, None, Some(0o600), "configmap", false, &mut out).unwrap();
        assert_eq!(out["a"], (b"1".to_vec(), 0o600));
        let items: Vec<KeyToPath> =
            serde_json::from_value(json!([{"key": "b", "path": "dir/b.txt", "mode": 0o400}])).unwrap();
        let mut out = Payload::new();
        key_files(&data, Some(&items), None, "configmap", false, &mut out).unwrap();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["dir/b.txt"]);
        assert_eq!(out["dir/b.txt"].1, 0o400);
        let missing: Vec<KeyToPath> = serde_json::from_value(json!([{"key": "z", "path": "z"}])).unwrap();
        assert!(
            key_files(&data, Some(&missing), None, "configmap \"c\"", false, &mut Payload::new())
                .unwrap_err()
                .contains("non-existent config key: z")
        );
        assert!(key_files(&data, Some(&missing), None, "configmap \"c\"", true, &mut Payload::new()).is_ok());
    }

    #[test]
    fn mounts_follow_volume_mounts_and_sub_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let volumes =
            HashMap::from([("data".to_string(), Prepared { path: dir.path().to_path_buf(), read_only: true })]);
        let c: Container = serde_json::from_value(json!({"name": "c", "volumeMounts": [
            {"name": "data", "mountPath": "/etc/app"},
            {"name": "data", "mountPath": "/etc/one", "subPath": "file"}]}))
        .unwrap();
        let mounts = mounts(&c, &volumes).unwrap();
        assert_eq!(mounts[0].container_path, "/etc/app");
        assert!(mounts[0].readonly, "API data volumes are read-only");
        assert!(mounts[1].host_path.ends_with("/file"));
        let bad: Container = serde_json::from_value(
            json!({"name": "c", "volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "../etc"}]}),
        )
        .unwrap();
        assert!(mounts_err(&bad, &volumes).contains("invalid subPath"));
    }

    fn mounts_err(c: &Container, volumes: &HashMap<String, Prepared>) -> String {
        mounts(c, volumes).unwrap_err()
    }
}

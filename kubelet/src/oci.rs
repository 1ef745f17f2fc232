//! OCI images written in code: one uncompressed layer of given files, its config and manifest,
//! and the OCI archive (`oci-layout`, `index.json`, `blobs/sha256/...`) that `ctr images import`
//! takes. The kubelet packages its sandbox (pause) image this way; tests package their test
//! image the same way and push its blobs to a registry. Output is deterministic: entries sorted,
//! timestamps zero, so the same files always give the same digests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// One entry of the image's file system.
#[derive(Clone, Debug)]
pub enum Entry {
    File { path: String, mode: u32, data: Vec<u8> },
    Dir { path: String, mode: u32 },
    Symlink { path: String, target: String },
}

impl Entry {
    fn path(&self) -> &str {
        match self {
            Entry::File { path, .. } | Entry::Dir { path, .. } | Entry::Symlink { path, .. } => path,
        }
    }
}

/// What the image runs by default (the OCI config's `config` section).
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
}

/// A content-addressed blob.
#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: &'static str,
    /// `sha256:<hex>`.
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Self {
        Self { media_type, digest: sha256(&bytes), bytes }
    }

    fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// A single-layer image for this machine's platform.
#[derive(Clone, Debug)]
pub struct Image {
    pub layer: Blob,
    pub config: Blob,
    pub manifest: Blob,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn tar_header(path: &str, kind: tar::EntryType, mode: u32, size: u64) -> std::io::Result<tar::Header> {
    let mut header = tar::Header::new_gnu();
    header.set_path(path.trim_start_matches('/'))?;
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    Ok(header)
}

/// The layer tar: parents of every entry created as directories, entries in path order.
fn layer(entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut all: BTreeMap<String, Entry> = BTreeMap::new();
    for entry in entries {
        let path = entry.path().trim_matches('/');
        let mut parent = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().map(|(_, dirs)| dirs).unwrap_or_default() {
            parent = if parent.is_empty() { part.to_string() } else { format!("{parent}/{part}") };
            all.entry(parent.clone()).or_insert(Entry::Dir { path: parent.clone(), mode: 0o755 });
        }
        all.insert(path.to_string(), entry.clone());
    }
    let mut builder = tar::Builder::new(Vec::new());
    for (path, entry) in &all {
        match entry {
            Entry::File { mode, data, .. } => {
                let mut header = tar_header(path, tar::EntryType::Regular, *mode, data.len() as u64)?;
                header.set_cksum();
                builder.append(&header, data.as_slice())?;
            }
            Entry::Dir { mode, .. } => {
                let mut header = tar_header(&format!("{path}/"), tar::EntryType::Directory, *mode, 0)?;
                header.set_cksum();
                builder.append(&header, std::io::empty())?;
            }
            Entry::Symlink { target, .. } => {
                let mut header = tar_header(path, tar::EntryType::Symlink, 0o777, 0)?;
                header.set_link_name(target)?;
                header.set_cksum();
                builder.append(&header, std::io::empty())?;
            }
        }
    }
    builder.into_inner()
}

impl Image {
    /// Builds the image from `entries`, running `run` by default.
    pub fn build(entries: &[Entry], run: &RunConfig) -> std::io::Result<Image> {
        let layer = Blob::new(MEDIA_TYPE_LAYER, layer(entries)?);
        let mut config_section = json!({
            "Entrypoint": run.entrypoint,
            "Cmd": run.cmd,
            "Env": run.env,
        });
        if let Some(dir) = &run.working_dir {
            config_section["WorkingDir"] = json!(dir);
        }
        let config = json!({
            "architecture": crate::node::go_arch(),
            "os": "linux",
            "config": config_section,
            // Uncompressed layer: its diff ID is its digest.
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
            "history": [{"created_by": "rkube"}],
        });
        let config = Blob::new(MEDIA_TYPE_CONFIG, serde_json::to_vec(&config)?);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_MANIFEST,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
        });
        let manifest = Blob::new(MEDIA_TYPE_MANIFEST, serde_json::to_vec(&manifest)?);
        Ok(Image { layer, config, manifest })
    }

    /// The OCI archive holding this image under `reference` (`name:tag`), as
    /// `ctr images import` reads it.
    pub fn oci_archive(&self, reference: &str) -> std::io::Result<Vec<u8>> {
        let tag = reference.rsplit_once(':').map(|(_, tag)| tag).unwrap_or("latest");
        let mut manifest = self.manifest.descriptor();
        manifest["annotations"] = json!({
            "io.containerd.image.name": reference,
            "org.opencontainers.image.ref.name": tag,
        });
        let index = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_INDEX, "manifests": [manifest]});
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
            ("index.json".into(), serde_json::to_vec(&index)?),
        ];
        for blob in [&self.layer, &self.config, &self.manifest] {
            let hex = blob.digest.trim_start_matches("sha256:");
            files.push((format!("blobs/sha256/{hex}"), blob.bytes.clone()));
        }
        let entries: Vec<Entry> =
            files.into_iter().map(|(path, data)| Entry::File { path, mode: 0o644, data }).collect();
        layer(&entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn layer_holds_parents_then_files_in_order_and_digests_are_stable() {
        let entries = [
            Entry::File { path: "/bin/tool".into(), mode: 0o755, data: b"x".to_vec() },
            Entry::Symlink { path: "/bin/sh".into(), target: "tool".into() },
            Entry::Dir { path: "/tmp".into(), mode: 0o1777 },
        ];
        let run = RunConfig { entrypoint: vec!["/bin/tool".into()], ..RunConfig::default() };
        let image = Image::build(&entries, &run).unwrap();
        assert_eq!(names(&image.layer.bytes), ["bin/", "bin/sh", "bin/tool", "tmp/"]);
        assert_eq!(image.layer.digest, sha256(&image.layer.bytes));
        assert_eq!(Image::build(&entries, &run).unwrap().manifest.digest, image.manifest.digest);

        let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], json!(image.layer.digest));
        assert_eq!(config["config"]["Entrypoint"], json!(["/bin/tool"]));
        let manifest: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
        assert_eq!(manifest["config"]["digest"], json!(image.config.digest));
        assert_eq!(manifest["layers"][0]["size"], json!(image.layer.bytes.len()));
    }

    #[test]
    fn archive_names_the_image_and_holds_every_blob() {
        let image = Image::build(&[], &RunConfig::default()).unwrap();
        let archive = image.oci_archive("rkube.local/pause:3.10").unwrap();
        let names = names(&archive);
        assert!(names.contains(&"oci-layout".to_string()) && names.contains(&"index.json".to_string()));
        for blob in [&image.layer, &image.config, &image.manifest] {
            assert!(names.contains(&format!("blobs/sha256/{}", &blob.digest[7..])));
        }
        assert_eq!(sha256(b"abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

//! Upstream's atomic writer: the files of a configMap, secret, downwardAPI or projected volume
//! live in a timestamped directory `..<time>`; `..data` is a symlink to it and each top-level
//! name is a symlink through `..data`. An update writes a new directory and swaps `..data` with
//! one rename, so a container never sees half an update.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Relative path -> (content, mode).
pub type Payload = BTreeMap<String, (Vec<u8>, u32)>;

const DATA: &str = "..data";

/// Refuses absolute paths and `..` (as upstream's validation does).
fn safe(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
        && !path.starts_with("..")
}

fn current(dir: &Path) -> Option<Payload> {
    let data = dir.join(DATA);
    let target = std::fs::read_link(&data).ok()?;
    let mut payload = Payload::new();
    fn walk(base: &Path, at: &Path, out: &mut Payload) -> std::io::Result<()> {
        for entry in std::fs::read_dir(at)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(base, &path, out)?;
            } else {
                let relative = path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned();
                let mode = entry.metadata()?.permissions().mode() & 0o7777;
                out.insert(relative, (std::fs::read(&path)?, mode));
            }
        }
        Ok(())
    }
    let root = dir.join(target);
    walk(&root, &root, &mut payload).ok()?;
    Some(payload)
}

/// Makes `dir` hold exactly `payload`; returns whether anything changed.
pub fn write(dir: &Path, payload: &Payload) -> std::io::Result<bool> {
    if let Some(bad) = payload.keys().find(|p| !safe(p)) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid path {bad:?}")));
    }
    std::fs::create_dir_all(dir)?;
    if current(dir).as_ref() == Some(payload) {
        return Ok(false);
    }
    let old = std::fs::read_link(dir.join(DATA)).ok();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let stamp: PathBuf = format!("..{}_{:09}", now.as_secs(), now.subsec_nanos()).into();
    let fresh = dir.join(&stamp);
    std::fs::create_dir(&fresh)?;
    for (path, (content, mode)) in payload {
        let file = fresh.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, content)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode))?;
    }
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o755))?;
    let link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&stamp, &link)?;
    std::fs::rename(&link, dir.join(DATA))?;
    // Top-level names point through ..data; names no longer in the payload go.
    let wanted: BTreeSet<String> = payload.keys().filter_map(|p| p.split('/').next().map(str::to_string)).collect();
    for name in &wanted {
        let user_link = dir.join(name);
        if std::fs::symlink_metadata(&user_link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(name), &user_link)?;
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !wanted.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old.filter(|o| *o != stamp) {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(pairs: &[(&str, &str)]) -> Payload {
        pairs.iter().map(|(k, v)| (k.to_string(), (v.as_bytes().to_vec(), 0o644))).collect()
    }

    #[test]
    fn updates_swap_whole_and_stale_names_go() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(write(d, &payload(&[("color", "blue"), ("conf/app.ini", "a=1")])).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("color")).unwrap(), "blue");
        assert_eq!(std::fs::read_to_string(d.join("conf/app.ini")).unwrap(), "a=1");
        assert!(std::fs::symlink_metadata(d.join("color")).unwrap().file_type().is_symlink());
        assert!(!write(d, &payload(&[("color", "blue"), ("conf/app.ini", "a=1")])).unwrap(), "unchanged");
        let first = std::fs::read_link(d.join("..data")).unwrap();

        assert!(write(d, &payload(&[("color", "red")])).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("color")).unwrap(), "red");
        assert!(!d.join("conf").exists(), "a name no longer in the payload is removed");
        assert!(!d.join(&first).exists(), "the old generation is removed");
        assert!(write(d, &payload(&[("../escape", "x")])).is_err());
    }
}

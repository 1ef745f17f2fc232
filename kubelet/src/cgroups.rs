//! Pod cgroups left behind. runc creates a container's cgroup under the pod's parent
//! (`<cgroup root>/kubepods[/<qos>]/pod<uid>`, cgroupfs driver) in every hierarchy and removes
//! only the container's own; the parents are the kubelet's to remove (upstream's pod container
//! manager does), once the pod is gone.

use std::path::{Path, PathBuf};

/// The cgroup hierarchies mounted under /sys/fs/cgroup (v1 controllers, and the unified one).
fn hierarchies() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        // Pure cgroup v2.
        return vec![root.to_path_buf()];
    }
    std::fs::read_dir(root)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir() && !p.is_symlink()).collect())
        .unwrap_or_default()
}

/// Removes `dir` and the (empty) cgroups below it, deepest first; a cgroup with processes in it
/// stays (rmdir refuses it).
fn remove_tree(dir: &Path) {
    if let Ok(children) = std::fs::read_dir(dir) {
        for child in children.flatten().filter(|c| c.file_type().is_ok_and(|t| t.is_dir())) {
            remove_tree(&child.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Removes the cgroups of pod `uid` under `cgroup_root`.
pub fn remove_pod(cgroup_root: &str, uid: &str) {
    let relative = cgroup_root.trim_start_matches('/');
    for hierarchy in hierarchies() {
        for qos in ["", "burstable/", "besteffort/"] {
            let dir = hierarchy.join(relative).join(format!("kubepods/{qos}pod{uid}"));
            if dir.exists() {
                remove_tree(&dir);
            }
        }
    }
}

/// Removes every cgroup under `cgroup_root` (a node that stops for good).
pub fn remove_node(cgroup_root: &str) {
    let relative = cgroup_root.trim_start_matches('/');
    if relative.is_empty() {
        return;
    }
    for hierarchy in hierarchies() {
        let dir = hierarchy.join(relative);
        if dir.exists() {
            remove_tree(&dir);
            // The shared `/rkube` parent goes when its last node does.
            if let Some(parent) = dir.parent().filter(|p| *p != hierarchy) {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

//! storage.k8s.io/v1: upstream's `pkg/apis/storage/v1/defaults.go` and its
//! generated walks. CSINode and CSIStorageCapacity have no defaulters.

use serde_json::json;

use crate::defaults::core_v1::walk_persistent_volume_spec;
use crate::defaults::util::{Obj, child, child_or_create, is_empty, set_default};

/// Applies storage.k8s.io/v1 defaulting; false for an unknown kind.
pub fn default_kind(kind: &str, obj: &mut Obj) -> bool {
    match kind {
        "StorageClass" => set_defaults_storage_class(obj),
        "CSIDriver" => set_defaults_csi_driver(obj),
        "VolumeAttachment" => set_object_defaults_volume_attachment(obj),
        "CSINode" | "CSIStorageCapacity" => {}
        _ => return false,
    }
    true
}

/// Mirrors `SetDefaults_StorageClass`.
pub fn set_defaults_storage_class(obj: &mut Obj) {
    set_default(obj, "reclaimPolicy", json!("Delete"));
    set_default(obj, "volumeBindingMode", json!("Immediate"));
}

/// Mirrors `SetDefaults_CSIDriver` with the 1.33 gates
/// (SELinuxMountReadWriteOncePod on, so seLinuxMount is defaulted).
pub fn set_defaults_csi_driver(obj: &mut Obj) {
    let Some(spec) = child_or_create(obj, "spec") else { return };
    set_default(spec, "attachRequired", json!(true));
    set_default(spec, "podInfoOnMount", json!(false));
    set_default(spec, "storageCapacity", json!(false));
    set_default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
    if is_empty(spec.get("volumeLifecycleModes")) {
        spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
    }
    set_default(spec, "requiresRepublish", json!(false));
    set_default(spec, "seLinuxMount", json!(false));
}

/// Mirrors `SetObjectDefaults_VolumeAttachment`: the inline PV spec's
/// capacity and volume sources.
pub fn set_object_defaults_volume_attachment(obj: &mut Obj) {
    let inline = child(obj, "spec").and_then(|s| child(s, "source")).and_then(|s| child(s, "inlineVolumeSpec"));
    if let Some(pv_spec) = inline {
        walk_persistent_volume_spec(pv_spec);
    }
}

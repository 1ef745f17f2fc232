//! Volumes, persistent volume sources and claim specs.

use serde_json::json;

use super::pod::set_defaults_object_field_selector;
use crate::defaults::quantity::{round_list_at, round_requirements_at};
use crate::defaults::util::{Obj, child, child_or_create, each_obj, is_unset, set_default, set_default_zero};

/// A defaulter for one kind of volume source, keyed by its JSON field.
type SourceDefaulter = (&'static str, fn(&mut Obj));

/// Mode 0644, the default of secret, configMap, downwardAPI and projected
/// volumes.
const DEFAULT_MODE: i64 = 0o644;

/// Every pointer field of `VolumeSource` in 1.33 (one must be set).
const VOLUME_SOURCES: [&str; 30] = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// Mirrors `SetDefaults_Volume`: a volume naming no source is an emptyDir.
/// (The image-volume pull policy default is behind ImageVolume, off in 1.33.)
pub fn set_defaults_volume(volume: &mut Obj) {
    if VOLUME_SOURCES.iter().all(|k| is_unset(volume.get(*k))) {
        volume.insert("emptyDir".into(), json!({}));
    }
}

/// Mirrors `SetDefaults_HostPathVolumeSource`: the type is set to "" (unset).
pub fn set_defaults_host_path_volume_source(src: &mut Obj) {
    set_default(src, "type", json!(""));
}

/// Mirrors `SetDefaults_SecretVolumeSource`.
pub fn set_defaults_secret_volume_source(src: &mut Obj) {
    set_default(src, "defaultMode", json!(DEFAULT_MODE));
}

/// Mirrors `SetDefaults_ConfigMapVolumeSource`.
pub fn set_defaults_config_map_volume_source(src: &mut Obj) {
    set_default(src, "defaultMode", json!(DEFAULT_MODE));
}

/// Mirrors `SetDefaults_DownwardAPIVolumeSource` plus its items' field refs.
pub fn set_defaults_downward_api_volume_source(src: &mut Obj) {
    set_default(src, "defaultMode", json!(DEFAULT_MODE));
    downward_api_items(src);
}

fn downward_api_items(src: &mut Obj) {
    each_obj(src, "items", |item| {
        if let Some(field_ref) = child(item, "fieldRef") {
            set_defaults_object_field_selector(field_ref);
        }
    });
}

/// Mirrors `SetDefaults_ProjectedVolumeSource` plus its sources.
pub fn set_defaults_projected_volume_source(src: &mut Obj) {
    set_default(src, "defaultMode", json!(DEFAULT_MODE));
    each_obj(src, "sources", |projection| {
        if let Some(downward) = child(projection, "downwardAPI") {
            downward_api_items(downward);
        }
        if let Some(token) = child(projection, "serviceAccountToken") {
            set_defaults_service_account_token_projection(token);
        }
    });
}

/// Mirrors `SetDefaults_ServiceAccountTokenProjection`: one hour.
pub fn set_defaults_service_account_token_projection(token: &mut Obj) {
    set_default(token, "expirationSeconds", json!(3600));
}

/// The declarative defaults of ISCSIVolumeSource / ISCSIPersistentVolumeSource.
pub fn set_defaults_iscsi_volume_source(src: &mut Obj) {
    set_default_zero(src, "iscsiInterface", json!("default"));
}

/// The declarative defaults of RBDVolumeSource / RBDPersistentVolumeSource.
pub fn set_defaults_rbd_volume_source(src: &mut Obj) {
    set_default_zero(src, "pool", json!("rbd"));
    set_default_zero(src, "user", json!("admin"));
    set_default_zero(src, "keyring", json!("/etc/ceph/keyring"));
}

/// The declarative defaults of AzureDiskVolumeSource.
pub fn set_defaults_azure_disk_volume_source(src: &mut Obj) {
    set_default(src, "cachingMode", json!("ReadWrite"));
    set_default(src, "fsType", json!("ext4"));
    set_default(src, "readOnly", json!(false));
    set_default(src, "kind", json!("Shared"));
}

/// The declarative defaults of ScaleIOVolumeSource / ScaleIOPersistentVolumeSource.
pub fn set_defaults_scale_io_volume_source(src: &mut Obj) {
    set_default_zero(src, "storageMode", json!("ThinProvisioned"));
    set_default_zero(src, "fsType", json!("xfs"));
}

/// Mirrors `SetDefaults_PersistentVolumeClaimSpec` plus its resource lists.
pub fn set_defaults_persistent_volume_claim_spec(spec: &mut Obj) {
    set_default(spec, "volumeMode", json!("Filesystem"));
    round_requirements_at(spec, "resources");
}

/// The generated walk of one pod volume.
pub fn set_defaults_volume_and_source(volume: &mut Obj) {
    set_defaults_volume(volume);
    let handlers: [SourceDefaulter; 9] = [
        ("hostPath", set_defaults_host_path_volume_source),
        ("secret", set_defaults_secret_volume_source),
        ("iscsi", set_defaults_iscsi_volume_source),
        ("rbd", set_defaults_rbd_volume_source),
        ("downwardAPI", set_defaults_downward_api_volume_source),
        ("configMap", set_defaults_config_map_volume_source),
        ("azureDisk", set_defaults_azure_disk_volume_source),
        ("projected", set_defaults_projected_volume_source),
        ("scaleIO", set_defaults_scale_io_volume_source),
    ];
    for (key, handler) in handlers {
        if let Some(src) = child(volume, key) {
            handler(src);
        }
    }
    if let Some(template) = child(volume, "ephemeral").and_then(|e| child(e, "volumeClaimTemplate")) {
        // The claim template's spec is embedded by value.
        if let Some(spec) = child_or_create(template, "spec") {
            set_defaults_persistent_volume_claim_spec(spec);
        }
    }
}

/// The generated walk of a PersistentVolumeSpec (in a PV or inline in a
/// VolumeAttachment): capacity and the sources that have defaults.
pub fn walk_persistent_volume_spec(spec: &mut Obj) {
    round_list_at(spec, "capacity");
    let handlers: [SourceDefaulter; 5] = [
        ("hostPath", set_defaults_host_path_volume_source),
        ("rbd", set_defaults_rbd_volume_source),
        ("iscsi", set_defaults_iscsi_volume_source),
        ("azureDisk", set_defaults_azure_disk_volume_source),
        ("scaleIO", set_defaults_scale_io_volume_source),
    ];
    for (key, handler) in handlers {
        if let Some(src) = child(spec, key) {
            handler(src);
        }
    }
}

/// Mirrors `SetDefaults_PersistentVolume`.
pub fn set_defaults_persistent_volume(pv: &mut Obj) {
    if let Some(status) = child_or_create(pv, "status") {
        set_default_zero(status, "phase", json!("Pending"));
    }
    if let Some(spec) = child_or_create(pv, "spec") {
        set_default_zero(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
}

/// Mirrors `SetObjectDefaults_PersistentVolume`.
pub fn set_object_defaults_persistent_volume(pv: &mut Obj) {
    set_defaults_persistent_volume(pv);
    if let Some(spec) = child_or_create(pv, "spec") {
        walk_persistent_volume_spec(spec);
    }
}

/// Mirrors `SetDefaults_PersistentVolumeClaim`.
pub fn set_defaults_persistent_volume_claim(pvc: &mut Obj) {
    if let Some(status) = child_or_create(pvc, "status") {
        set_default_zero(status, "phase", json!("Pending"));
    }
}

/// Mirrors `SetObjectDefaults_PersistentVolumeClaim` (also used for a
/// StatefulSet's volumeClaimTemplates, which are whole claims).
pub fn set_object_defaults_persistent_volume_claim(pvc: &mut Obj) {
    set_defaults_persistent_volume_claim(pvc);
    if let Some(spec) = child_or_create(pvc, "spec") {
        set_defaults_persistent_volume_claim_spec(spec);
    }
    if let Some(status) = child(pvc, "status") {
        round_list_at(status, "capacity");
        round_list_at(status, "allocatedResources");
    }
}

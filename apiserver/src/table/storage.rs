//! Printers for volumes and storage: core/v1 persistent volumes and claims, storage.k8s.io/v1.

use serde_json::Value;

use super::{
    AGE, Column, NAME, Now, Printer, age, arr_at, at, bool_at, col, deleting, desc, name, or, quantity, str_at,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("", "PersistentVolume") => (PERSISTENT_VOLUME, persistent_volume_row),
        ("", "PersistentVolumeClaim") => (PERSISTENT_VOLUME_CLAIM, persistent_volume_claim_row),
        ("storage.k8s.io", "StorageClass") => (STORAGE_CLASS, storage_class_row),
        ("storage.k8s.io", "VolumeAttachment") => (VOLUME_ATTACHMENT, volume_attachment_row),
        ("storage.k8s.io", "CSINode") => (CSI_NODE, csi_node_row),
        ("storage.k8s.io", "CSIDriver") => (CSI_DRIVER, csi_driver_row),
        ("storage.k8s.io", "CSIStorageCapacity") => (CSI_STORAGE_CAPACITY, csi_storage_capacity_row),
        _ => return None,
    })
}

/// The annotation that, when present, overrides a volume's or claim's storageClassName.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// "RWO,ROX,RWX,RWOP" in that fixed order, each at most once.
fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(mode, _)| has(mode))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

fn storage_class_of(obj: &Value) -> &str {
    match at(obj, &["metadata", "annotations", BETA_STORAGE_CLASS_ANNOTATION]).and_then(Value::as_str) {
        Some(class) => class,
        None => str_at(obj, &["spec", "storageClassName"]),
    }
}

/// Phase, or "Terminating" once deletion started.
fn phase(obj: &Value) -> Value {
    if deleting(obj) { Value::from("Terminating") } else { Value::from(str_at(obj, &["status", "phase"])) }
}

static PERSISTENT_VOLUME: &[Column] = &[
    NAME,
    col("Capacity", "string", desc::PV_SPEC_CAPACITY, 0),
    col("Access Modes", "string", desc::PV_SPEC_ACCESS_MODES, 0),
    col("Reclaim Policy", "string", desc::PV_SPEC_RECLAIM_POLICY, 0),
    col("Status", "string", desc::PV_STATUS_PHASE, 0),
    col("Claim", "string", desc::PV_SPEC_CLAIM_REF, 0),
    col("StorageClass", "string", "StorageClass of the pv", 0),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv", 0),
    col("Reason", "string", desc::PV_STATUS_REASON, 0),
    AGE,
    col("VolumeMode", "string", desc::PV_SPEC_VOLUME_MODE, 1),
];

fn persistent_volume_row(pv: &Value, now: Now) -> Vec<Value> {
    let claim = match at(pv, &["spec", "claimRef"]) {
        Some(c) => format!("{}/{}", str_at(c, &["namespace"]), str_at(c, &["name"])),
        None => String::new(),
    };
    vec![
        name(pv),
        Value::from(quantity::canonical(at(pv, &["spec", "capacity", "storage"]))),
        Value::from(access_modes(arr_at(pv, &["spec", "accessModes"]))),
        Value::from(str_at(pv, &["spec", "persistentVolumeReclaimPolicy"])),
        phase(pv),
        Value::from(claim),
        Value::from(storage_class_of(pv)),
        or(str_at(pv, &["spec", "volumeAttributesClassName"]), "<unset>"),
        Value::from(str_at(pv, &["status", "reason"])),
        age(pv, now),
        or(str_at(pv, &["spec", "volumeMode"]), "<unset>"),
    ]
}

static PERSISTENT_VOLUME_CLAIM: &[Column] = &[
    NAME,
    col("Status", "string", desc::PVC_STATUS_PHASE, 0),
    col("Volume", "string", desc::PVC_SPEC_VOLUME_NAME, 0),
    col("Capacity", "string", desc::PVC_STATUS_CAPACITY, 0),
    col("Access Modes", "string", desc::PVC_STATUS_ACCESS_MODES, 0),
    col("StorageClass", "string", "StorageClass of the pvc", 0),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc", 0),
    AGE,
    col("VolumeMode", "string", desc::PVC_SPEC_VOLUME_MODE, 1),
];

fn persistent_volume_claim_row(pvc: &Value, now: Now) -> Vec<Value> {
    let volume = str_at(pvc, &["spec", "volumeName"]);
    // Capacity and access modes are only meaningful once the claim is bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity::canonical(at(pvc, &["status", "capacity", "storage"])),
            access_modes(arr_at(pvc, &["status", "accessModes"])),
        )
    };
    vec![
        name(pvc),
        phase(pvc),
        Value::from(volume),
        Value::from(capacity),
        Value::from(modes),
        Value::from(storage_class_of(pvc)),
        or(str_at(pvc, &["spec", "volumeAttributesClassName"]), "<unset>"),
        age(pvc, now),
        or(str_at(pvc, &["spec", "volumeMode"]), "<unset>"),
    ]
}

static STORAGE_CLASS: &[Column] = &[
    NAME,
    col("Provisioner", "string", desc::SC_PROVISIONER, 0),
    col("ReclaimPolicy", "string", desc::SC_RECLAIM_POLICY, 0),
    col("VolumeBindingMode", "string", desc::SC_VOLUME_BINDING_MODE, 0),
    col("AllowVolumeExpansion", "string", desc::SC_ALLOW_VOLUME_EXPANSION, 0),
    AGE,
];

fn storage_class_row(sc: &Value, now: Now) -> Vec<Value> {
    let is_default =
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|key| str_at(sc, &["metadata", "annotations", key]) == "true");
    let mut display = str_at(sc, &["metadata", "name"]).to_string();
    if is_default {
        display.push_str(" (default)");
    }
    vec![
        Value::from(display),
        Value::from(str_at(sc, &["provisioner"])),
        or(str_at(sc, &["reclaimPolicy"]), "Delete"),
        or(str_at(sc, &["volumeBindingMode"]), "Immediate"),
        Value::from(bool_at(sc, &["allowVolumeExpansion"]).unwrap_or(false)),
        age(sc, now),
    ]
}

static VOLUME_ATTACHMENT: &[Column] = &[
    NAME,
    // Upstream marks this column, too, as a name.
    Column { format: "name", ..col("Attacher", "string", desc::VA_SPEC_ATTACHER, 0) },
    col("PV", "string", desc::VA_SOURCE_PV_NAME, 0),
    col("Node", "string", desc::VA_SPEC_NODE_NAME, 0),
    col("Attached", "boolean", desc::VA_STATUS_ATTACHED, 0),
    AGE,
];

fn volume_attachment_row(va: &Value, now: Now) -> Vec<Value> {
    vec![
        name(va),
        Value::from(str_at(va, &["spec", "attacher"])),
        Value::from(str_at(va, &["spec", "source", "persistentVolumeName"])),
        Value::from(str_at(va, &["spec", "nodeName"])),
        Value::from(bool_at(va, &["status", "attached"]).unwrap_or(false)),
        age(va, now),
    ]
}

static CSI_NODE: &[Column] =
    &[NAME, col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node", 0), AGE];

fn csi_node_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(arr_at(obj, &["spec", "drivers"]).len()), age(obj, now)]
}

static CSI_DRIVER: &[Column] = &[
    NAME,
    col("AttachRequired", "boolean", desc::CSI_DRIVER_ATTACH_REQUIRED, 0),
    col("PodInfoOnMount", "boolean", desc::CSI_DRIVER_POD_INFO_ON_MOUNT, 0),
    col("StorageCapacity", "boolean", desc::CSI_DRIVER_STORAGE_CAPACITY, 0),
    col("TokenRequests", "string", desc::CSI_DRIVER_TOKEN_REQUESTS, 0),
    col("RequiresRepublish", "boolean", desc::CSI_DRIVER_REQUIRES_REPUBLISH, 0),
    col("Modes", "string", desc::CSI_DRIVER_VOLUME_LIFECYCLE_MODES, 0),
    AGE,
];

fn csi_driver_row(obj: &Value, now: Now) -> Vec<Value> {
    let flag = |field: &str, default: bool| Value::from(bool_at(obj, &["spec", field]).unwrap_or(default));
    let token_requests = match at(obj, &["spec", "tokenRequests"]).and_then(Value::as_array) {
        Some(requests) => requests.iter().map(|r| str_at(r, &["audience"])).collect::<Vec<_>>().join(","),
        None => "<unset>".to_string(),
    };
    let modes: Vec<&str> =
        arr_at(obj, &["spec", "volumeLifecycleModes"]).iter().filter_map(Value::as_str).collect::<Vec<_>>();
    vec![
        name(obj),
        flag("attachRequired", true),
        flag("podInfoOnMount", false),
        flag("storageCapacity", false),
        Value::from(token_requests),
        flag("requiresRepublish", false),
        or(&modes.join(","), "<none>"),
        age(obj, now),
    ]
}

static CSI_STORAGE_CAPACITY: &[Column] = &[
    NAME,
    col("StorageClassName", "string", desc::CSI_CAPACITY_STORAGE_CLASS_NAME, 0),
    col("Capacity", "string", desc::CSI_CAPACITY_CAPACITY, 0),
];

fn csi_storage_capacity_row(obj: &Value, _now: Now) -> Vec<Value> {
    let capacity = match at(obj, &["capacity"]) {
        Some(q) => quantity::canonical(Some(q)),
        None => "<unset>".to_string(),
    };
    vec![name(obj), Value::from(str_at(obj, &["storageClassName"])), Value::from(capacity)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::SystemTime;

    fn row(kind: &str, group: &str, obj: Value) -> Vec<Value> {
        super::super::cells(group, kind, &obj, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn persistent_volumes() {
        let pv = json!({
            "metadata": {"name": "pv1"},
            "spec": {
                "capacity": {"storage": "1024Mi"},
                "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "claimRef": {"namespace": "ns", "name": "data"},
                "storageClassName": "fast"
            },
            "status": {"phase": "Bound"}
        });
        let cells = row("PersistentVolume", "", pv);
        assert_eq!(
            &cells[1..7],
            &[json!("1Gi"), json!("RWO,RWX"), json!("Retain"), json!("Bound"), json!("ns/data"), json!("fast")]
        );
        assert_eq!(cells[7], json!("<unset>"));
        assert_eq!(cells[10], json!("<unset>"));
    }

    #[test]
    fn claims_show_capacity_once_bound() {
        let pending = json!({"metadata": {"name": "c"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
        assert_eq!(
            &row("PersistentVolumeClaim", "", pending)[1..5],
            &[json!("Pending"), json!(""), json!(""), json!("")]
        );
        let bound = json!({
            "metadata": {"name": "c", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}, "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"volumeName": "pv1", "storageClassName": "new", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"]}
        });
        let cells = row("PersistentVolumeClaim", "", bound);
        assert_eq!(&cells[1..6], &[json!("Terminating"), json!("pv1"), json!("5Gi"), json!("RWO"), json!("old")]);
        assert_eq!(cells[8], json!("Filesystem"));
    }

    #[test]
    fn storage_classes_and_drivers() {
        let sc = json!({
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path"
        });
        assert_eq!(
            &row("StorageClass", "storage.k8s.io", sc)[..5],
            &[
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("Immediate"),
                json!(false)
            ]
        );
        let driver = json!({"metadata": {"name": "d"}, "spec": {"tokenRequests": [{"audience": "a"}, {"audience": "b"}], "volumeLifecycleModes": ["Persistent", "Ephemeral"]}});
        assert_eq!(
            &row("CSIDriver", "storage.k8s.io", driver)[..7],
            &[
                json!("d"),
                json!(true),
                json!(false),
                json!(false),
                json!("a,b"),
                json!(false),
                json!("Persistent,Ephemeral")
            ]
        );
        assert_eq!(row("CSIStorageCapacity", "storage.k8s.io", json!({}))[2], json!("<unset>"));
    }
}

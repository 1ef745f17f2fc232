//! Printers for apps/v1 kinds.

use serde_json::Value;

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Now, Printer, age, arr_at, at, col, container_cells, desc,
    format_label_selector, format_labels, int_at, name, opt_int_at, selector_string, str_at,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("apps", "Deployment") => (DEPLOYMENT, deployment_row),
        ("apps", "ReplicaSet") => (REPLICA_SET, replica_set_row),
        ("apps", "StatefulSet") => (STATEFUL_SET, stateful_set_row),
        ("apps", "DaemonSet") => (DAEMON_SET, daemon_set_row),
        ("apps", "ControllerRevision") => (CONTROLLER_REVISION, controller_revision_row),
        _ => return None,
    })
}

/// spec.replicas, which the API defaults to 1.
fn desired_replicas(obj: &Value) -> i64 {
    opt_int_at(obj, &["spec", "replicas"]).unwrap_or(1)
}

fn template_containers(obj: &Value) -> (Value, Value) {
    container_cells(arr_at(obj, &["spec", "template", "spec", "containers"]))
}

static DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state", 0),
    col("Up-to-date", "string", desc::DEPLOY_STATUS_UPDATED, 0),
    col("Available", "string", desc::DEPLOY_STATUS_AVAILABLE, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::DEPLOY_SPEC_SELECTOR, 1),
];

fn deployment_row(obj: &Value, now: Now) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    // Unlike the other workloads, an empty selector prints as "" here, not "<none>".
    let selector = selector_string(at(obj, &["spec", "selector"])).unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        name(obj),
        Value::from(format!("{}/{}", int_at(obj, &["status", "readyReplicas"]), desired_replicas(obj))),
        Value::from(int_at(obj, &["status", "updatedReplicas"])),
        Value::from(int_at(obj, &["status", "availableReplicas"])),
        age(obj, now),
        names,
        images,
        Value::from(selector),
    ]
}

static REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", desc::RS_SPEC_REPLICAS, 0),
    col("Current", "integer", desc::RS_STATUS_REPLICAS, 0),
    col("Ready", "integer", desc::RS_STATUS_READY_REPLICAS, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::RS_SPEC_SELECTOR, 1),
];

fn replica_set_row(obj: &Value, now: Now) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        Value::from(desired_replicas(obj)),
        Value::from(int_at(obj, &["status", "replicas"])),
        Value::from(int_at(obj, &["status", "readyReplicas"])),
        age(obj, now),
        names,
        images,
        Value::from(format_label_selector(at(obj, &["spec", "selector"]))),
    ]
}

static STATEFUL_SET: &[Column] =
    &[NAME, col("Ready", "string", "Number of the pod with ready state", 0), AGE, CONTAINERS, IMAGES];

fn stateful_set_row(obj: &Value, now: Now) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        Value::from(format!("{}/{}", int_at(obj, &["status", "readyReplicas"]), desired_replicas(obj))),
        age(obj, now),
        names,
        images,
    ]
}

static DAEMON_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", desc::DS_STATUS_DESIRED, 0),
    col("Current", "integer", desc::DS_STATUS_CURRENT, 0),
    col("Ready", "integer", desc::DS_STATUS_READY, 0),
    col("Up-to-date", "integer", desc::DS_STATUS_UPDATED, 0),
    col("Available", "integer", desc::DS_STATUS_AVAILABLE, 0),
    col("Node Selector", "string", desc::POD_SPEC_NODE_SELECTOR, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::DS_SPEC_SELECTOR, 1),
];

fn daemon_set_row(obj: &Value, now: Now) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    let status = |field: &str| Value::from(int_at(obj, &["status", field]));
    vec![
        name(obj),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        Value::from(format_labels(at(obj, &["spec", "template", "spec", "nodeSelector"]))),
        age(obj, now),
        names,
        images,
        Value::from(format_label_selector(at(obj, &["spec", "selector"]))),
    ]
}

static CONTROLLER_REVISION: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller of the object", 0),
    col("Revision", "string", desc::CONTROLLER_REVISION_REVISION, 0),
    AGE,
];

/// "kind.group/name" (lower-cased kind and group) of the controlling owner, or "<none>".
pub(super) fn controller_name(obj: &Value) -> String {
    let owner = arr_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let Some(owner) = owner else { return "<none>".to_string() };
    let kind = str_at(owner, &["kind"]);
    let owner_name = str_at(owner, &["name"]);
    // apiVersion is "v1" for the core group, "group/version" otherwise.
    let group = str_at(owner, &["apiVersion"]).split_once('/').map_or("", |(g, _)| g);
    match (kind, group) {
        ("", "") => owner_name.to_string(),
        (kind, "") => format!("{}/{owner_name}", kind.to_lowercase()),
        (kind, group) => format!("{}.{}/{owner_name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

fn controller_revision_row(obj: &Value, now: Now) -> Vec<Value> {
    vec![name(obj), Value::from(controller_name(obj)), Value::from(int_at(obj, &["revision"])), age(obj, now)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::SystemTime;

    fn row(kind: &str, obj: Value) -> Vec<Value> {
        super::super::cells("apps", kind, &obj, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn deployment_readiness() {
        let cases = [
            (
                json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}),
                ["2/3", "3", "2"],
            ),
            (json!({"spec": {"replicas": 0}, "status": {}}), ["0/0", "0", "0"]),
            // replicas defaults to 1
            (
                json!({"spec": {}, "status": {"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}),
                ["1/1", "1", "1"],
            ),
        ];
        for (obj, [ready, updated, available]) in cases {
            let cells = row("Deployment", obj);
            assert_eq!(cells[1], json!(ready));
            assert_eq!(cells[2], json!(updated.parse::<i64>().unwrap_or(-1)));
            assert_eq!(cells[3], json!(available.parse::<i64>().unwrap_or(-1)));
        }
    }

    #[test]
    fn deployment_wide_columns() {
        let obj = json!({
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}}
            }
        });
        let cells = row("Deployment", obj);
        assert_eq!(cells.len(), DEPLOYMENT.len());
        assert_eq!(&cells[5..], &[json!("nginx,side"), json!("nginx:1.27,busybox"), json!("app=web")]);
        assert_eq!(row("Deployment", json!({}))[7], json!(""));
        assert_eq!(row("ReplicaSet", json!({}))[7], json!("<none>"));
    }

    #[test]
    fn stateful_and_daemon_sets() {
        let sts = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 1}});
        assert_eq!(row("StatefulSet", sts)[1], json!("1/3"));
        let ds = json!({
            "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}},
            "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}
        });
        let cells = row("DaemonSet", ds);
        assert_eq!(&cells[1..7], &[json!(2), json!(2), json!(1), json!(2), json!(1), json!("kubernetes.io/os=linux")]);
    }

    #[test]
    fn controller_revisions() {
        let obj = json!({
            "metadata": {"name": "web-5d8f", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}
            ]},
            "revision": 4
        });
        assert_eq!(&row("ControllerRevision", obj)[1..3], &[json!("statefulset.apps/web"), json!(4)]);
        assert_eq!(row("ControllerRevision", json!({}))[1], json!("<none>"));
    }
}

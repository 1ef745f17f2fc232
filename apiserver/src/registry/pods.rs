//! Pods: upstream's defaults (restart and DNS policy, grace period, scheduler, image pull
//! policy by tag, termination message), validation of containers, what an update may change,
//! phase Pending at creation, and graceful deletion of scheduled pods.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::Strategy;
use crate::status::Cause;
use crate::validation::{self, NameRule};

pub struct Pods;

const DEFAULT_GRACE_SECONDS: i64 = 30;

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// `IfNotPresent` for a pinned tag or digest, `Always` for `:latest` or no tag.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_container(c: &mut Value) {
    let Some(c) = c.as_object_mut() else { return };
    let image = c.get("image").and_then(Value::as_str).unwrap_or("").to_string();
    set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(port, "protocol", json!("TCP"));
        }
    }
}

pub fn default_pod_spec(spec: &mut Value) {
    let Some(s) = spec.as_object_mut() else { return };
    set_default(s, "restartPolicy", json!("Always"));
    set_default(s, "dnsPolicy", json!("ClusterFirst"));
    set_default(s, "terminationGracePeriodSeconds", json!(DEFAULT_GRACE_SECONDS));
    set_default(s, "schedulerName", json!("default-scheduler"));
    set_default(s, "securityContext", json!({}));
    set_default(s, "enableServiceLinks", json!(true));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = s.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(default_container);
        }
    }
}

fn validate_containers(spec: &Value, path: &str, list: &str, required: bool, causes: &mut Vec<Cause>) {
    let containers = spec.get(list).and_then(Value::as_array);
    let field = format!("{path}.{list}");
    if required && containers.is_none_or(Vec::is_empty) {
        causes.push(Cause::required(field.clone()));
    }
    let mut seen = Vec::new();
    for (i, c) in containers.into_iter().flatten().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            causes.push(Cause::required(format!("{field}[{i}].name")));
        } else if let Some(problem) = validation::name_problem(NameRule::Label, name) {
            causes.push(Cause::invalid(format!("{field}[{i}].name"), &json!(name), &problem));
        } else if seen.contains(&name) {
            causes.push(Cause::duplicate(format!("{field}[{i}].name"), &json!(name)));
        }
        seen.push(name);
        if c.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push(Cause::required(format!("{field}[{i}].image")));
        }
    }
}

pub fn validate_pod_spec(spec: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(spec) = spec else {
        causes.push(Cause::required(format!("{path}.containers")));
        return causes;
    };
    validate_containers(spec, path, "containers", true, &mut causes);
    validate_containers(spec, path, "initContainers", false, &mut causes);
    if let Some(policy) = spec.get("restartPolicy")
        && !matches!(policy.as_str(), Some("Always" | "OnFailure" | "Never"))
    {
        causes.push(Cause::not_supported(format!("{path}.restartPolicy"), policy, &["Always", "OnFailure", "Never"]));
    }
    if let Some(policy) = spec.get("dnsPolicy")
        && !matches!(policy.as_str(), Some("ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None"))
    {
        causes.push(Cause::not_supported(
            format!("{path}.dnsPolicy"),
            policy,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
    }
    if let Some(grace) = spec.get("terminationGracePeriodSeconds").and_then(Value::as_i64)
        && grace < 0
    {
        causes.push(Cause::invalid(
            format!("{path}.terminationGracePeriodSeconds"),
            &json!(grace),
            "must be greater than or equal to 0",
        ));
    }
    causes
}

/// The spec with the fields an update may change blanked out, to compare old and new.
fn immutable_part(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(s) = spec.as_object_mut() {
        for field in ["activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"] {
            s.shift_remove(field);
        }
        for list in ["containers", "initContainers"] {
            if let Some(cs) = s.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    c.shift_remove("image");
                }
            }
        }
    }
    spec
}

#[async_trait]
impl Strategy for Pods {
    fn status_split(&self) -> bool {
        true
    }

    fn status_metadata(&self) -> &'static [&'static str] {
        // Upstream's pod status strategy keeps the stored owner references.
        &["labels", "annotations", "finalizers"]
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Pending"}));
            if let Some(spec) = map.get_mut("spec") {
                default_pod_spec(spec);
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        validate_pod_spec(obj.get("spec"), "spec")
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        if let Some(spec) = new.get_mut("spec") {
            default_pod_spec(spec);
        }
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        let (Some(n), Some(o)) = (new.get("spec"), old.get("spec")) else { return causes };
        // nodeName is set through the binding subresource, never by an update.
        if immutable_part(n) != immutable_part(o) {
            causes.push(Cause::forbidden(
                "spec",
                "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
            ));
        }
        causes
    }

    fn return_deleted_object(&self) -> bool {
        true
    }

    fn grace_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        // An unscheduled or finished pod has nothing to stop: it goes at once.
        let scheduled = obj.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        let finished = matches!(obj.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
        if !scheduled || finished {
            return None;
        }
        Some(requested.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(DEFAULT_GRACE_SECONDS)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, policy) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("registry:5000/app", "Always"),
            ("registry:5000/app:v1", "IfNotPresent"),
            ("app@sha256:abc", "IfNotPresent"),
        ] {
            assert_eq!(pull_policy(image), policy, "{image}");
        }
    }

    #[test]
    fn create_defaults_and_validates() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}, "status": {"phase": "Running"}});
        Pods.prepare_for_create(&mut pod);
        assert_eq!(pod["status"], json!({"phase": "Pending"}));
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 30);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert!(Pods.validate(&pod).is_empty());

        let bad =
            json!({"spec": {"containers": [{"name": "c"}, {"name": "c", "image": "x"}], "restartPolicy": "Sometimes"}});
        let fields: Vec<String> = Pods.validate(&bad).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["spec.containers[0].image", "spec.containers[1].name", "spec.restartPolicy"]);
        assert_eq!(Pods.validate(&json!({"spec": {}}))[0].field, "spec.containers");
    }

    #[test]
    fn only_images_and_a_few_fields_may_change() {
        let old = json!({"spec": {"containers": [{"name": "c", "image": "a"}]}});
        let image = json!({"spec": {"containers": [{"name": "c", "image": "b"}]}});
        assert!(Pods.validate_update(&image, &old).is_empty());
        let node = json!({"spec": {"containers": [{"name": "c", "image": "a"}], "nodeName": "n"}});
        assert_eq!(Pods.validate_update(&node, &old)[0].reason, "FieldValueForbidden");
    }
}

//! Workloads: Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers,
//! Jobs, CronJobs and PodTemplates. Upstream's defaults (replicas, update strategies, history
//! limits, job completions and selectors), validation of the pod template and of the selector
//! against the template's labels, and the immutable selector.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::Strategy;
use super::pods::{default_pod_spec, validate_pod_spec};
use crate::object;
use crate::selectors::labels;
use crate::status::Cause;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ReplicationController,
    Job,
    CronJob,
    PodTemplate,
}

pub struct Workloads(pub Kind);

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// The pod template's location in each kind.
fn template_path(kind: Kind) -> &'static str {
    match kind {
        Kind::CronJob => "/spec/jobTemplate/spec/template",
        Kind::PodTemplate => "/template",
        _ => "/spec/template",
    }
}

fn template_field(kind: Kind) -> &'static str {
    match kind {
        Kind::CronJob => "spec.jobTemplate.spec.template",
        Kind::PodTemplate => "template",
        _ => "spec.template",
    }
}

fn default_template(obj: &mut Value, kind: Kind) {
    if let Some(spec) = obj.pointer_mut(&format!("{}/spec", template_path(kind))) {
        default_pod_spec(spec);
    }
}

fn default_job_spec(spec: &mut Map<String, Value>) {
    let (completions, parallelism) = (spec.get("completions").cloned(), spec.get("parallelism").cloned());
    if completions.is_none() && parallelism.is_none() {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    set_default(spec, "manualSelector", json!(false));
}

/// A Job's generated selector and template labels, keyed by its uid (upstream's
/// `batch.kubernetes.io/controller-uid`), unless the user manages the selector.
fn job_selector(obj: &mut Value) {
    let manual = obj.pointer("/spec/manualSelector") == Some(&json!(true));
    let uid = object::uid(obj).unwrap_or("").to_string();
    let name = object::name(obj).to_string();
    if manual || uid.is_empty() {
        return;
    }
    let generated = [
        ("batch.kubernetes.io/controller-uid", uid.clone()),
        ("batch.kubernetes.io/job-name", name.clone()),
        ("controller-uid", uid.clone()),
        ("job-name", name),
    ];
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("selector".into(), json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
        let template = spec.entry("template").or_insert_with(|| json!({}));
        if let Some(t) = template.as_object_mut() {
            let meta = t.entry("metadata").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(labels) = labels.as_object_mut() {
                    for (k, v) in generated {
                        labels.insert(k.to_string(), json!(v));
                    }
                }
            }
        }
    }
}

impl Workloads {
    fn apply_defaults(&self, obj: &mut Value) {
        let kind = self.0;
        if kind == Kind::ReplicationController {
            // An RC without a selector selects its template's labels.
            let template_labels = obj.pointer("/spec/template/metadata/labels").cloned();
            if let (Some(spec), Some(l)) = (obj.get_mut("spec").and_then(Value::as_object_mut), template_labels) {
                set_default(spec, "selector", l);
            }
        }
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            match kind {
                Kind::Deployment => {
                    set_default(spec, "replicas", json!(1));
                    set_default(spec, "strategy", json!({}));
                    if let Some(strategy) = spec.get_mut("strategy").and_then(Value::as_object_mut) {
                        set_default(strategy, "type", json!("RollingUpdate"));
                    }
                    if let Some(strategy) = spec.get_mut("strategy").and_then(Value::as_object_mut)
                        && strategy.get("type") == Some(&json!("RollingUpdate"))
                    {
                        let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(r) = rolling.as_object_mut() {
                            set_default(r, "maxUnavailable", json!("25%"));
                            set_default(r, "maxSurge", json!("25%"));
                        }
                    }
                    set_default(spec, "revisionHistoryLimit", json!(10));
                    set_default(spec, "progressDeadlineSeconds", json!(600));
                }
                Kind::ReplicaSet | Kind::ReplicationController => set_default(spec, "replicas", json!(1)),
                Kind::StatefulSet => {
                    set_default(spec, "replicas", json!(1));
                    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
                    set_default(
                        spec,
                        "updateStrategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                    );
                    set_default(spec, "revisionHistoryLimit", json!(10));
                    set_default(
                        spec,
                        "persistentVolumeClaimRetentionPolicy",
                        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                    );
                }
                Kind::DaemonSet => {
                    set_default(
                        spec,
                        "updateStrategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                    );
                    set_default(spec, "revisionHistoryLimit", json!(10));
                }
                Kind::Job => default_job_spec(spec),
                Kind::CronJob => {
                    set_default(spec, "concurrencyPolicy", json!("Allow"));
                    set_default(spec, "suspend", json!(false));
                    set_default(spec, "successfulJobsHistoryLimit", json!(3));
                    set_default(spec, "failedJobsHistoryLimit", json!(1));
                    if let Some(job) =
                        spec.get_mut("jobTemplate").and_then(|t| t.get_mut("spec")).and_then(Value::as_object_mut)
                    {
                        default_job_spec(job);
                    }
                }
                Kind::PodTemplate => {}
            }
        }
        default_template(obj, kind);
    }

    fn selector_causes(&self, obj: &Value) -> Vec<Cause> {
        let kind = self.0;
        if matches!(kind, Kind::PodTemplate | Kind::CronJob) {
            return Vec::new();
        }
        let template_labels = obj.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
        let selector = match (kind, obj.pointer("/spec/selector")) {
            (_, None | Some(Value::Null)) if kind == Kind::Job => return Vec::new(),
            (_, None | Some(Value::Null)) => return vec![Cause::required("spec.selector")],
            (Kind::ReplicationController, Some(Value::Object(m))) => {
                labels::from_label_selector(&json!({"matchLabels": m}))
            }
            (_, Some(sel)) => labels::from_label_selector(sel),
        };
        match selector {
            Err(e) => vec![Cause::invalid(
                "spec.selector",
                obj.pointer("/spec/selector").unwrap_or(&Value::Null),
                e.message(),
            )],
            Ok(sel) if sel.is_empty() && kind != Kind::Job => vec![Cause::invalid(
                "spec.selector",
                obj.pointer("/spec/selector").unwrap_or(&Value::Null),
                "empty selector is invalid for deployment",
            )],
            Ok(sel) if !sel.matches(template_labels) => vec![Cause::invalid(
                "spec.template.metadata.labels",
                &Value::Object(template_labels.cloned().unwrap_or_default()),
                "`selector` does not match template `labels`",
            )],
            Ok(_) => Vec::new(),
        }
    }
}

#[async_trait]
impl Strategy for Workloads {
    fn status_split(&self) -> bool {
        self.0 != Kind::PodTemplate
    }

    fn bumps_generation(&self) -> bool {
        self.0 != Kind::PodTemplate
    }

    fn status_metadata(&self) -> &'static [&'static str] {
        // Upstream's workload status strategies also reset labels.
        &["annotations", "finalizers", "ownerReferences"]
    }

    fn generation_changed(&self, new: &Value, old: &Value) -> bool {
        // Deployments also count annotation changes: the controller copies annotations to
        // their ReplicaSets, so it must notice them (upstream's deployment strategy).
        // Semantic equality: no annotations and an empty map are the same.
        let annotations = |o: &Value| {
            o.pointer("/metadata/annotations").filter(|a| a.as_object().is_some_and(|m| !m.is_empty())).cloned()
        };
        super::strategy::spec_of(new) != super::strategy::spec_of(old)
            || (self.0 == Kind::Deployment && annotations(new) != annotations(old))
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status_split()
            && let Some(map) = obj.as_object_mut()
        {
            map.shift_remove("status");
        }
        if self.0 == Kind::Job {
            job_selector(obj);
        }
        self.apply_defaults(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        self.apply_defaults(new);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        let kind = self.0;
        let path = format!("{}.spec", template_field(kind));
        let template_spec = obj.pointer(&format!("{}/spec", template_path(kind)));
        let mut causes = if template_spec.is_none() && obj.pointer(template_path(kind)).is_none() {
            vec![Cause::required(template_field(kind))]
        } else {
            validate_pod_spec(template_spec, &path)
        };
        if matches!(kind, Kind::Job | Kind::CronJob) {
            let policy = template_spec.and_then(|s| s.get("restartPolicy")).cloned().unwrap_or(json!("Always"));
            if !matches!(policy.as_str(), Some("Never" | "OnFailure")) {
                causes.push(Cause::not_supported(format!("{path}.restartPolicy"), &policy, &["OnFailure", "Never"]));
            }
        }
        if kind == Kind::CronJob && obj.pointer("/spec/schedule").and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push(Cause::required("spec.schedule"));
        }
        for field in ["replicas", "revisionHistoryLimit"] {
            if let Some(n) = obj.pointer(&format!("/spec/{field}")).and_then(Value::as_i64)
                && n < 0
            {
                causes.push(Cause::invalid(format!("spec.{field}"), &json!(n), "must be greater than or equal to 0"));
            }
        }
        causes.extend(self.selector_causes(obj));
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        let immutable_selector =
            matches!(self.0, Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet | Kind::Job);
        if immutable_selector && new.pointer("/spec/selector") != old.pointer("/spec/selector") {
            causes.push(Cause::invalid(
                "spec.selector",
                new.pointer("/spec/selector").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        causes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_generation_counts_annotations_as_upstream() {
        let old = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 1}});
        let annotated = json!({"metadata": {"annotations": {"a": "2"}}, "spec": {"replicas": 1}});
        let labelled = json!({"metadata": {"annotations": {"a": "1"}, "labels": {"x": "y"}}, "spec": {"replicas": 1}});
        let deployments = Workloads(Kind::Deployment);
        assert!(deployments.generation_changed(&annotated, &old));
        assert!(!deployments.generation_changed(&labelled, &old));
        assert!(!deployments.generation_changed(
            &json!({"metadata": {"annotations": {}}, "spec": {}}),
            &json!({"metadata": {}, "spec": {}})
        ));
        assert!(!Workloads(Kind::ReplicaSet).generation_changed(&annotated, &old));
    }

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "d"}, "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    }

    #[test]
    fn deployments_get_upstream_defaults() {
        let mut d = deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "x"}));
        Workloads(Kind::Deployment).prepare_for_create(&mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
        assert!(Workloads(Kind::Deployment).validate(&d).is_empty());
    }

    #[test]
    fn selector_must_match_the_template_and_stay() {
        let w = Workloads(Kind::Deployment);
        let bad = deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "y"}));
        assert_eq!(w.validate(&bad)[0].field, "spec.template.metadata.labels");
        let missing = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        assert_eq!(w.validate(&missing)[0].field, "spec.selector");
        let old = deployment(json!({"matchLabels": {"app": "x"}}), json!({"app": "x", "v": "1"}));
        let new = deployment(json!({"matchLabels": {"app": "x", "v": "1"}}), json!({"app": "x", "v": "1"}));
        assert!(w.validate_update(&new, &old).iter().any(|c| c.message.contains("immutable")));
    }

    #[test]
    fn jobs_get_a_generated_selector_and_need_a_terminating_restart_policy() {
        let mut job = json!({"metadata": {"name": "j", "uid": "u-1"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}}});
        let w = Workloads(Kind::Job);
        w.prepare_for_create(&mut job);
        assert_eq!(job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"], "u-1");
        assert_eq!(job["spec"]["template"]["metadata"]["labels"]["job-name"], "j");
        assert_eq!((job["spec"]["completions"].clone(), job["spec"]["backoffLimit"].clone()), (json!(1), json!(6)));
        assert!(w.validate(&job).is_empty(), "{:?}", w.validate(&job));
        job["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(w.validate(&job)[0].reason, "FieldValueNotSupported");
    }
}

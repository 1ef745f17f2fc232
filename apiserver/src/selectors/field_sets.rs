//! Which field selectors each built-in resource accepts and how each field
//! reads from an object's JSON, mirroring kube-apiserver 1.33: the per-kind
//! field label conversion (what a request may name, and the error when it
//! names something else) and the registry's selectable field set (the values
//! compared). A label that converts but is absent from the field set — e.g.
//! a pod's `status.podIPs` — compares as "", exactly as upstream.

use serde_json::Value;

use super::fields::{FieldError, Selector};
use super::labels::go_quote;

/// Resource families with their own conversion rules; everything else uses
/// the scheme default (`metadata.name` and `metadata.namespace` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    Node,
    ReplicationController,
    Event,
    EventsV1Event,
    Namespace,
    Secret,
    Service,
    Job,
    CertificateSigningRequest,
    ClusterTrustBundle,
    ResourceSlice,
    Default,
}

fn kind_of(group: &str, resource: &str) -> Kind {
    match (group, resource) {
        ("", "pods") => Kind::Pod,
        ("", "nodes") => Kind::Node,
        ("", "replicationcontrollers") => Kind::ReplicationController,
        ("", "events") => Kind::Event,
        ("", "namespaces") => Kind::Namespace,
        ("", "secrets") => Kind::Secret,
        ("", "services") => Kind::Service,
        ("events.k8s.io", "events") => Kind::EventsV1Event,
        ("batch", "jobs") => Kind::Job,
        ("certificates.k8s.io", "certificatesigningrequests") => Kind::CertificateSigningRequest,
        ("certificates.k8s.io", "clustertrustbundles") => Kind::ClusterTrustBundle,
        ("resource.k8s.io", "resourceslices") => Kind::ResourceSlice,
        _ => Kind::Default,
    }
}

const NAME: (&str, &str) = ("metadata.name", "metadata.name");
const NAMESPACE: (&str, &str) = ("metadata.namespace", "metadata.namespace");

/// (label a request may use, label in the registry's field set).
fn labels(kind: Kind) -> &'static [(&'static str, &'static str)] {
    match kind {
        Kind::Pod => &[
            NAME,
            NAMESPACE,
            ("spec.nodeName", "spec.nodeName"),
            ("spec.restartPolicy", "spec.restartPolicy"),
            ("spec.schedulerName", "spec.schedulerName"),
            ("spec.serviceAccountName", "spec.serviceAccountName"),
            ("spec.hostNetwork", "spec.hostNetwork"),
            ("status.phase", "status.phase"),
            ("status.podIP", "status.podIP"),
            ("status.podIPs", "status.podIPs"),
            ("status.nominatedNodeName", "status.nominatedNodeName"),
            // Old v1 clients still send spec.host.
            ("spec.host", "spec.nodeName"),
        ],
        Kind::Node => &[NAME, ("spec.unschedulable", "spec.unschedulable")],
        Kind::ReplicationController => &[NAME, NAMESPACE, ("status.replicas", "status.replicas")],
        Kind::Event => &[
            ("involvedObject.kind", "involvedObject.kind"),
            ("involvedObject.namespace", "involvedObject.namespace"),
            ("involvedObject.name", "involvedObject.name"),
            ("involvedObject.uid", "involvedObject.uid"),
            ("involvedObject.apiVersion", "involvedObject.apiVersion"),
            ("involvedObject.resourceVersion", "involvedObject.resourceVersion"),
            ("involvedObject.fieldPath", "involvedObject.fieldPath"),
            ("reason", "reason"),
            ("reportingComponent", "reportingComponent"),
            ("source", "source"),
            ("type", "type"),
            NAMESPACE,
            NAME,
        ],
        // events.k8s.io shares core Event storage; its names map onto core's.
        Kind::EventsV1Event => &[
            ("reason", "reason"),
            ("regarding.kind", "involvedObject.kind"),
            ("regarding.namespace", "involvedObject.namespace"),
            ("regarding.name", "involvedObject.name"),
            ("regarding.uid", "involvedObject.uid"),
            ("regarding.apiVersion", "involvedObject.apiVersion"),
            ("regarding.resourceVersion", "involvedObject.resourceVersion"),
            ("regarding.fieldPath", "involvedObject.fieldPath"),
            ("reportingController", "reportingComponent"),
            ("source", "source"),
            ("type", "type"),
            NAMESPACE,
            NAME,
        ],
        Kind::Namespace => &[("status.phase", "status.phase"), NAME],
        Kind::Secret => &[("type", "type"), NAMESPACE, NAME],
        Kind::Service => &[NAMESPACE, NAME, ("spec.clusterIP", "spec.clusterIP"), ("spec.type", "spec.type")],
        Kind::Job => &[NAME, NAMESPACE, ("status.successful", "status.successful")],
        Kind::CertificateSigningRequest | Kind::ClusterTrustBundle => &[NAME, ("spec.signerName", "spec.signerName")],
        Kind::ResourceSlice => &[NAME, ("spec.nodeName", "spec.nodeName"), ("spec.driver", "spec.driver")],
        Kind::Default => &[NAME, NAMESPACE],
    }
}

// Each upstream conversion func words its refusal differently.
fn unsupported(kind: Kind, version: Option<&str>, label: &str) -> FieldError {
    FieldError::new(match kind {
        Kind::Default => {
            format!("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", go_quote(label))
        }
        Kind::Job => format!("field label {} not supported for batchv1.Job", go_quote(label)),
        Kind::ResourceSlice => format!(
            "field label not supported for resource.k8s.io/{}, Kind=ResourceSlice: {label}",
            version.unwrap_or("v1beta1")
        ),
        _ => format!("field label not supported: {label}"),
    })
}

fn convert_label(kind: Kind, version: Option<&str>, label: &str) -> Result<&'static str, FieldError> {
    labels(kind)
        .iter()
        .find(|(external, _)| *external == label)
        .map(|(_, internal)| *internal)
        .ok_or_else(|| unsupported(kind, version, label))
}

/// Labels a request may use for a resource (group "" is core; resource is
/// the lower-case plural), in upstream's order.
pub fn supported_fields(group: &str, resource: &str) -> Vec<&'static str> {
    labels(kind_of(group, resource)).iter().map(|(external, _)| *external).collect()
}

/// Upstream `ConvertFieldLabel`: the registry's name for a request's field
/// label (e.g. pods' `spec.host` → `spec.nodeName`), or the 400 message.
pub fn convert_field_label(group: &str, resource: &str, label: &str) -> Result<&'static str, FieldError> {
    convert_label(kind_of(group, resource), None, label)
}

/// As `convert_field_label`; `version` only appears in messages that name
/// the group version (resourceslices).
pub fn convert_field_label_versioned(
    group: &str,
    version: &str,
    resource: &str,
    label: &str,
) -> Result<&'static str, FieldError> {
    convert_label(kind_of(group, resource), Some(version), label)
}

/// Refuses a selector naming a field the resource does not support; the first
/// offending term (in the selector's sorted order) is reported, as upstream.
pub fn validate(group: &str, resource: &str, sel: &Selector) -> Result<(), FieldError> {
    validate_kind(kind_of(group, resource), None, sel)
}

pub fn validate_versioned(group: &str, version: &str, resource: &str, sel: &Selector) -> Result<(), FieldError> {
    validate_kind(kind_of(group, resource), Some(version), sel)
}

fn validate_kind(kind: Kind, version: Option<&str>, sel: &Selector) -> Result<(), FieldError> {
    sel.requirements().iter().try_for_each(|r| convert_label(kind, version, &r.field).map(drop))
}

/// The selector rewritten to registry field names (upstream `Transform`).
pub fn convert(group: &str, resource: &str, sel: &Selector) -> Result<Selector, FieldError> {
    let kind = kind_of(group, resource);
    sel.transform(|field, value| Ok((convert_label(kind, None, field)?.to_string(), value.to_string())))
}

/// The value `field` has on `obj` for field selection. `Ok(None)` means the
/// field is accepted but not in the registry's field set, so it compares as
/// "". Missing strings read as "", missing booleans as "false" and missing
/// counts as "0", the values upstream sees after defaulting.
pub fn field_value(group: &str, resource: &str, obj: &Value, field: &str) -> Result<Option<String>, FieldError> {
    let kind = kind_of(group, resource);
    Ok(selectable(kind, obj, convert_label(kind, None, field)?))
}

/// Validates `sel` for the resource, then matches it against `obj`.
pub fn matches_object(group: &str, resource: &str, sel: &Selector, obj: &Value) -> Result<bool, FieldError> {
    let kind = kind_of(group, resource);
    let internal =
        sel.requirements().iter().map(|r| convert_label(kind, None, &r.field)).collect::<Result<Vec<_>, _>>()?;
    Ok(sel.requirements().iter().zip(internal).all(|(r, label)| r.matches(selectable(kind, obj, label).as_deref())))
}

/// Custom resources: `metadata.name`, `metadata.namespace` when namespaced,
/// and the CRD version's `selectableFields` (JSON paths without the leading
/// dot); anything else is refused with upstream's message.
pub fn validate_custom(namespaced: bool, selectable_fields: &[&str], sel: &Selector) -> Result<(), FieldError> {
    sel.requirements().iter().try_for_each(|r| match r.field.as_str() {
        "metadata.name" => Ok(()),
        "metadata.namespace" if namespaced => Ok(()),
        f if selectable_fields.contains(&f) => Ok(()),
        f => Err(FieldError::new(format!("field label not supported: {f}"))),
    })
}

/// A custom resource's value for a dotted field path (strings, booleans and
/// numbers; anything else or missing is `None`, comparing as "").
pub fn custom_field_value(obj: &Value, field: &str) -> Option<String> {
    match at(obj, field)? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---- reading registry fields from v1 JSON ----

fn selectable(kind: Kind, obj: &Value, label: &str) -> Option<String> {
    Some(match (kind, label) {
        // Accepted by the conversion but never put in the pod field set.
        (Kind::Pod, "status.podIPs") => return None,
        // Internally the first pod IP; v1 `podIP` wins when set (conversion).
        (Kind::Pod, "status.podIP") => {
            non_empty(text(obj, "status.podIP")).unwrap_or_else(|| first_pod_ip(obj).unwrap_or_default())
        }
        // v1's deprecated `serviceAccount` is an alias used when the new field is empty.
        (Kind::Pod, "spec.serviceAccountName") => {
            non_empty(text(obj, label)).unwrap_or_else(|| text(obj, "spec.serviceAccount"))
        }
        (Kind::Pod, "spec.hostNetwork") | (Kind::Node, "spec.unschedulable") => {
            at(obj, label).and_then(Value::as_bool).unwrap_or(false).to_string()
        }
        (Kind::ReplicationController, "status.replicas") => count(obj, "status.replicas"),
        (Kind::Job, "status.successful") => count(obj, "status.succeeded"),
        (Kind::Event | Kind::EventsV1Event, _) => event_value(obj, label),
        // Everything else is stored under its own path in v1 JSON.
        _ => text(obj, label),
    })
}

// Works on both core/v1 and events.k8s.io/v1 JSON, whichever the store holds:
// the registry compares the same internal fields for both groups.
fn event_value(obj: &Value, label: &str) -> String {
    let reporting = || non_empty(text(obj, "reportingComponent")).unwrap_or_else(|| text(obj, "reportingController"));
    if let Some(field) = label.strip_prefix("involvedObject.") {
        return at(obj, "involvedObject").or_else(|| at(obj, "regarding")).map(|r| text(r, field)).unwrap_or_default();
    }
    match label {
        "reportingComponent" => reporting(),
        // Falls back to the reporting controller, as the registry does.
        "source" => non_empty(text(obj, "source.component"))
            .or_else(|| non_empty(text(obj, "deprecatedSource.component")))
            .unwrap_or_else(reporting),
        _ => text(obj, label),
    }
}

fn first_pod_ip(obj: &Value) -> Option<String> {
    at(obj, "status.podIPs")?.as_array()?.first().map(|ip| text(ip, "ip"))
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, key| v.get(key))
}

fn text(obj: &Value, path: &str) -> String {
    match at(obj, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn count(obj: &Value, path: &str) -> String {
    match at(obj, path) {
        Some(Value::Number(n)) => n.as_i64().map_or_else(|| n.to_string(), |i| i.to_string()),
        _ => "0".to_string(),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn unsupported_field_messages() {
        let not_known =
            |l: &str| format!("\"{l}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
        let cases: Vec<(&str, &str, &str, String)> = vec![
            ("", "pods", "foo=bar", "field label not supported: foo".into()),
            ("", "pods", "spec.containers=x", "field label not supported: spec.containers".into()),
            ("", "nodes", "metadata.namespace=x", "field label not supported: metadata.namespace".into()),
            ("", "namespaces", "metadata.namespace=x", "field label not supported: metadata.namespace".into()),
            ("", "events", "regarding.kind=Pod", "field label not supported: regarding.kind".into()),
            (
                "events.k8s.io",
                "events",
                "involvedObject.kind=Pod",
                "field label not supported: involvedObject.kind".into(),
            ),
            ("events.k8s.io", "events", "reportingComponent=x", "field label not supported: reportingComponent".into()),
            ("", "configmaps", "data=x", not_known("data")),
            ("apps", "replicasets", "status.replicas=0", not_known("status.replicas")),
            ("apps", "deployments", "spec.paused=true", not_known("spec.paused")),
            ("batch", "cronjobs", "status.successful=1", not_known("status.successful")),
            ("example.com", "widgets", "spec.color=red", not_known("spec.color")),
            (
                "batch",
                "jobs",
                "status.succeeded=1",
                "field label \"status.succeeded\" not supported for batchv1.Job".into(),
            ),
            (
                "certificates.k8s.io",
                "certificatesigningrequests",
                "status.conditions=x",
                "field label not supported: status.conditions".into(),
            ),
            (
                "resource.k8s.io",
                "resourceslices",
                "spec.pool=x",
                "field label not supported for resource.k8s.io/v1beta1, Kind=ResourceSlice: spec.pool".into(),
            ),
            // The first offending term in sorted order is the one reported.
            ("", "pods", "zzz=1,aaa=2,status.phase=Running", "field label not supported: aaa".into()),
        ];
        for (group, resource, selector, want) in cases {
            assert_eq!(
                validate(group, resource, &sel(selector)),
                Err(FieldError::new(want.clone())),
                "{resource} {selector}"
            );
            let field = sel(selector)
                .requirements()
                .iter()
                .map(|r| r.field.clone())
                .find(|f| convert_field_label(group, resource, f).is_err());
            if let Some(f) = field {
                assert!(field_value(group, resource, &json!({}), &f).is_err());
            }
        }
        let versioned = validate_versioned("resource.k8s.io", "v1beta2", "resourceslices", &sel("x=1"));
        assert_eq!(
            versioned,
            Err(FieldError::new("field label not supported for resource.k8s.io/v1beta2, Kind=ResourceSlice: x"))
        );
    }

    #[test]
    fn supported_fields_validate() {
        let ok = [
            (
                "",
                "pods",
                "metadata.name=a,metadata.namespace=b,spec.nodeName=n,spec.restartPolicy=Always,spec.schedulerName=s,spec.serviceAccountName=sa,spec.hostNetwork=true,status.phase=Running,status.podIP=1.2.3.4,status.podIPs=x,status.nominatedNodeName=n,spec.host=n",
            ),
            ("", "nodes", "metadata.name=a,spec.unschedulable=true"),
            ("", "replicationcontrollers", "status.replicas=1,metadata.namespace=x"),
            (
                "",
                "events",
                "involvedObject.kind=Pod,involvedObject.uid=u,reason=r,reportingComponent=c,source=s,type=Normal",
            ),
            (
                "events.k8s.io",
                "events",
                "regarding.kind=Pod,regarding.fieldPath=f,reportingController=c,source=s,type=Warning,reason=r",
            ),
            ("", "namespaces", "status.phase=Active,metadata.name=x"),
            ("", "secrets", "type=Opaque"),
            ("", "services", "spec.clusterIP!=None,spec.type=ClusterIP"),
            ("batch", "jobs", "status.successful=1"),
            ("certificates.k8s.io", "certificatesigningrequests", "spec.signerName=x,metadata.name=y"),
            ("certificates.k8s.io", "clustertrustbundles", "spec.signerName=x"),
            ("resource.k8s.io", "resourceslices", "spec.nodeName=n,spec.driver=d"),
            ("apps", "deployments", "metadata.name=a,metadata.namespace=b"),
            // The scheme default accepts metadata.namespace even for cluster-scoped kinds.
            ("rbac.authorization.k8s.io", "clusterroles", "metadata.namespace="),
        ];
        for (group, resource, selector) in ok {
            assert_eq!(validate(group, resource, &sel(selector)), Ok(()), "{resource} {selector}");
        }
        assert_eq!(supported_fields("", "nodes"), vec!["metadata.name", "spec.unschedulable"]);
        assert_eq!(supported_fields("apps", "statefulsets"), vec!["metadata.name", "metadata.namespace"]);
    }

    #[test]
    fn pod_values() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccount": "legacy"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.2"}, {"ip": "fd00::2"}]}
        });
        let cases = [
            ("metadata.name", Some("p")),
            ("metadata.namespace", Some("ns")),
            ("spec.nodeName", Some("n1")),
            ("spec.host", Some("n1")),
            ("spec.restartPolicy", Some("Always")),
            ("spec.schedulerName", Some("default-scheduler")),
            ("spec.serviceAccountName", Some("legacy")),
            ("spec.hostNetwork", Some("false")),
            ("status.phase", Some("Running")),
            ("status.podIP", Some("10.0.0.2")),
            ("status.podIPs", None),
            ("status.nominatedNodeName", Some("")),
        ];
        for (field, want) in cases {
            assert_eq!(field_value("", "pods", &pod, field), Ok(want.map(str::to_string)), "{field}");
        }
        let host = json!({"spec": {"hostNetwork": true, "serviceAccountName": "sa"}, "status": {"podIP": "1.1.1.1", "podIPs": [{"ip": "2.2.2.2"}]}});
        assert_eq!(field_value("", "pods", &host, "spec.hostNetwork"), Ok(Some("true".into())));
        assert_eq!(field_value("", "pods", &host, "spec.serviceAccountName"), Ok(Some("sa".into())));
        assert_eq!(field_value("", "pods", &host, "status.podIP"), Ok(Some("1.1.1.1".into())));

        let m = |s: &str| matches_object("", "pods", &sel(s), &pod);
        assert_eq!(m("spec.nodeName=n1,status.phase!=Succeeded"), Ok(true));
        assert_eq!(m("spec.host=n2"), Ok(false));
        assert_eq!(m("status.podIPs="), Ok(true));
        assert_eq!(m("status.podIPs=10.0.0.2"), Ok(false));
        assert_eq!(m("spec.nodeName=n2,bogus=1"), Err(FieldError::new("field label not supported: bogus")));
        assert_eq!(
            convert("", "pods", &sel("spec.host=n1")).map(|s| s.to_string()),
            Ok("spec.nodeName=n1".to_string())
        );
    }

    #[test]
    fn other_kind_values() {
        let cases = [
            ("", "nodes", json!({"spec": {"unschedulable": true}}), "spec.unschedulable", Some("true")),
            ("", "nodes", json!({"spec": {}}), "spec.unschedulable", Some("false")),
            ("", "replicationcontrollers", json!({"status": {"replicas": 3}}), "status.replicas", Some("3")),
            ("", "replicationcontrollers", json!({}), "status.replicas", Some("0")),
            ("batch", "jobs", json!({"status": {"succeeded": 2}}), "status.successful", Some("2")),
            ("batch", "jobs", json!({"status": {}}), "status.successful", Some("0")),
            ("", "namespaces", json!({"status": {"phase": "Terminating"}}), "status.phase", Some("Terminating")),
            ("", "secrets", json!({"type": "kubernetes.io/tls"}), "type", Some("kubernetes.io/tls")),
            (
                "",
                "services",
                json!({"spec": {"clusterIP": "None", "type": "ClusterIP"}}),
                "spec.clusterIP",
                Some("None"),
            ),
            (
                "certificates.k8s.io",
                "certificatesigningrequests",
                json!({"spec": {"signerName": "x/y"}}),
                "spec.signerName",
                Some("x/y"),
            ),
            (
                "resource.k8s.io",
                "resourceslices",
                json!({"spec": {"nodeName": null, "driver": "d"}}),
                "spec.nodeName",
                Some(""),
            ),
            ("resource.k8s.io", "resourceslices", json!({"spec": {"driver": "d"}}), "spec.driver", Some("d")),
            (
                "apps",
                "deployments",
                json!({"metadata": {"name": "d", "namespace": "ns"}}),
                "metadata.namespace",
                Some("ns"),
            ),
        ];
        for (group, resource, obj, field, want) in cases {
            assert_eq!(field_value(group, resource, &obj, field), Ok(want.map(str::to_string)), "{resource} {field}");
        }
    }

    #[test]
    fn event_values_both_groups() {
        let core = json!({
            "metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p", "uid": "u1", "apiVersion": "v1", "fieldPath": "spec.containers{c}"},
            "reason": "Started", "type": "Normal", "reportingComponent": "kubelet", "source": {}
        });
        let v1 = json!({
            "metadata": {"name": "e", "namespace": "ns"},
            "regarding": {"kind": "Pod", "name": "p", "uid": "u1"},
            "reason": "Started", "type": "Warning", "reportingController": "ctrl",
            "deprecatedSource": {"component": "old"}
        });
        let cases = [
            ("", &core, "involvedObject.kind", "Pod"),
            ("", &core, "involvedObject.fieldPath", "spec.containers{c}"),
            ("", &core, "involvedObject.namespace", ""),
            ("", &core, "reportingComponent", "kubelet"),
            ("", &core, "source", "kubelet"),
            ("", &core, "type", "Normal"),
            ("events.k8s.io", &v1, "regarding.uid", "u1"),
            ("events.k8s.io", &v1, "regarding.name", "p"),
            ("events.k8s.io", &v1, "reportingController", "ctrl"),
            ("events.k8s.io", &v1, "source", "old"),
            ("events.k8s.io", &v1, "reason", "Started"),
            ("events.k8s.io", &v1, "metadata.namespace", "ns"),
            // The same stored object read through the other group's names.
            ("events.k8s.io", &core, "regarding.kind", "Pod"),
            ("", &v1, "involvedObject.uid", "u1"),
        ];
        for (group, obj, field, want) in cases {
            assert_eq!(field_value(group, "events", obj, field), Ok(Some(want.to_string())), "{group} {field}");
        }
        assert_eq!(matches_object("events.k8s.io", "events", &sel("regarding.kind=Pod,type!=Normal"), &v1), Ok(true));
    }

    #[test]
    fn custom_resources() {
        let fields = ["spec.color", "spec.size"];
        assert_eq!(validate_custom(true, &fields, &sel("metadata.namespace=a,spec.color=red")), Ok(()));
        assert_eq!(
            validate_custom(false, &fields, &sel("metadata.namespace=a")),
            Err(FieldError::new("field label not supported: metadata.namespace"))
        );
        assert_eq!(
            validate_custom(true, &fields, &sel("spec.shape=x")),
            Err(FieldError::new("field label not supported: spec.shape"))
        );
        let obj = json!({"spec": {"color": "red", "size": 3, "on": true, "list": []}});
        assert_eq!(custom_field_value(&obj, "spec.color").as_deref(), Some("red"));
        assert_eq!(custom_field_value(&obj, "spec.size").as_deref(), Some("3"));
        assert_eq!(custom_field_value(&obj, "spec.on").as_deref(), Some("true"));
        assert_eq!(custom_field_value(&obj, "spec.list"), None);
        assert_eq!(custom_field_value(&obj, "spec.missing"), None);
    }
}

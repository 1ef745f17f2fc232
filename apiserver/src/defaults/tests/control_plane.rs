//! admissionregistration/v1, flowcontrol/v1, apiextensions/v1,
//! apiregistration/v1, and the entry point's own behaviour. Cases after
//! upstream's TestDefaultAdmissionWebhook, TestDefaultWithPriorityLevelConfiguration
//! and apiextensions' TestDefaults.

use super::common::{defaulted, run};
use serde_json::json;

#[test]
fn webhook_configurations() {
    let common_defaults = json!({"failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {},
                                 "objectSelector": {}, "timeoutSeconds": 10});
    let mut mutating_defaults = common_defaults.clone();
    mutating_defaults["reinvocationPolicy"] = json!("Never");
    let with = |base: &serde_json::Value, extra: serde_json::Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().into_iter().flatten() {
            b[k] = v.clone();
        }
        b
    };
    let hook_in = json!({"name": "h.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"namespace": "ns", "name": "svc"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    let hook_out_extra = json!({"name": "h.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"namespace": "ns", "name": "svc", "port": 443}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                   "scope": "*"}]});
    run(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        vec![
            case!(
                "validating",
                json!({"kind": "ValidatingWebhookConfiguration", "webhooks": [hook_in.clone()]}),
                json!({"kind": "ValidatingWebhookConfiguration", "webhooks": [with(&common_defaults, hook_out_extra.clone())]})
            ),
            case!("empty webhook", json!({"webhooks": [{}]}), json!({"webhooks": [common_defaults.clone()]})),
        ],
    );
    run(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        vec![
            case!(
                "mutating",
                json!({"kind": "MutatingWebhookConfiguration", "webhooks": [hook_in]}),
                json!({"kind": "MutatingWebhookConfiguration", "webhooks": [with(&mutating_defaults, hook_out_extra)]})
            ),
            case!(
                "url client and set values kept",
                json!({"webhooks": [{"clientConfig": {"url": "https://x"}, "failurePolicy": "Ignore", "timeoutSeconds": 2,
                                   "reinvocationPolicy": "IfNeeded", "namespaceSelector": {"matchLabels": {"a": "b"}},
                                   "rules": [{"scope": "Namespaced"}]}]}),
                json!({"webhooks": [with(&mutating_defaults, json!({"clientConfig": {"url": "https://x"},
                  "failurePolicy": "Ignore", "timeoutSeconds": 2, "reinvocationPolicy": "IfNeeded",
                  "namespaceSelector": {"matchLabels": {"a": "b"}}, "rules": [{"scope": "Namespaced"}]}))]})
            ),
        ],
    );
}

#[test]
fn validating_admission_policies() {
    run(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        vec![
            case!(
                "policy",
                json!({"kind": "ValidatingAdmissionPolicy", "spec": {
                "matchConstraints": {"resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"],
                    "apiVersions": ["v1"], "resources": ["deployments"]}], "excludeResourceRules": [{"resourceNames": ["x"]}]},
                "validations": [{"expression": "object.spec.replicas <= 5"}]}}),
                json!({"kind": "ValidatingAdmissionPolicy", "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                    "resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
                                       "resources": ["deployments"], "scope": "*"}],
                    "excludeResourceRules": [{"resourceNames": ["x"], "scope": "*"}]},
                "validations": [{"expression": "object.spec.replicas <= 5"}]}}),
            ),
            case!(
                "no match constraints",
                json!({"spec": {"failurePolicy": "Ignore"}}),
                json!({"spec": {"failurePolicy": "Ignore"}})
            ),
        ],
    );
    run(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        vec![
            case!(
                "binding: matchResources, not paramRef",
                json!({"spec": {"policyName": "p", "validationActions": ["Deny"], "paramRef": {"name": "x"},
                            "matchResources": {"namespaceSelector": {"matchLabels": {"env": "test"}}}}}),
                json!({"spec": {"policyName": "p", "validationActions": ["Deny"], "paramRef": {"name": "x"},
                            "matchResources": {"namespaceSelector": {"matchLabels": {"env": "test"}},
                                               "matchPolicy": "Equivalent", "objectSelector": {}}}}),
            ),
            case!("no matchResources", json!({"spec": {"policyName": "p"}}), json!({"spec": {"policyName": "p"}})),
        ],
    );
}

#[test]
fn flow_control() {
    run(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        vec![
            case!(
                "precedence",
                json!({"kind": "FlowSchema", "spec": {"priorityLevelConfiguration": {"name": "p"}}}),
                json!({"kind": "FlowSchema", "spec": {"priorityLevelConfiguration": {"name": "p"}, "matchingPrecedence": 1000}})
            ),
            case!(
                "zero precedence counts as unset",
                json!({"spec": {"matchingPrecedence": 0}}),
                json!({"spec": {"matchingPrecedence": 1000}})
            ),
            case!("kept", json!({"spec": {"matchingPrecedence": 500}}), json!({"spec": {"matchingPrecedence": 500}})),
        ],
    );
    run(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        vec![
            case!(
                "exempt",
                json!({"spec": {"type": "Exempt", "exempt": {}}}),
                json!({"spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}})
            ),
            case!(
                "limited reject: lendablePercent only",
                json!({"spec": {"type": "Limited", "limited": {
                  "nominalConcurrencyShares": 5, "limitResponse": {"type": "Reject"}}}}),
                json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5, "lendablePercent": 0,
                  "limitResponse": {"type": "Reject"}}}})
            ),
            case!(
                "limited queue: shares 30 and queuing",
                json!({"spec": {"type": "Limited", "limited": {
                  "limitResponse": {"type": "Queue", "queuing": {"queues": 0, "handSize": 4}}}}}),
                json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30, "lendablePercent": 0,
                  "limitResponse": {"type": "Queue", "queuing": {"queues": 64, "handSize": 4, "queueLengthLimit": 50}}}}})
            ),
            case!(
                "explicit zero shares are kept (v1 pointer)",
                json!({"spec": {"type": "Limited", "limited": {
                  "nominalConcurrencyShares": 0, "lendablePercent": 50, "limitResponse": {"type": "Reject"}}}}),
                json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 0, "lendablePercent": 50,
                  "limitResponse": {"type": "Reject"}}}})
            ),
            case!(
                "null shares are unset",
                json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": null}}}),
                json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30, "lendablePercent": 0}}})
            ),
        ],
    );
}

#[test]
fn custom_resource_definitions() {
    run(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        vec![
            case!("empty", json!({}), json!({"spec": {"conversion": {"strategy": "None"}}})),
            case!(
                "minimal CRD",
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com"},
                   "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                            "versions": [{"name": "v1", "served": true, "storage": false},
                                         {"name": "v2", "served": true, "storage": true}]}}),
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com"},
                   "spec": {"group": "example.com", "scope": "Namespaced",
                            "names": {"plural": "widgets", "kind": "Widget", "singular": "widget", "listKind": "WidgetList"},
                            "versions": [{"name": "v1", "served": true, "storage": false},
                                         {"name": "v2", "served": true, "storage": true}],
                            "conversion": {"strategy": "None"}},
                   "status": {"storedVersions": ["v2"]}}),
            ),
            case!(
                "webhook conversion service port",
                json!({"spec": {"names": {"kind": "W", "singular": "dub", "listKind": "Ws"}, "conversion": {"strategy": "Webhook",
                   "webhook": {"clientConfig": {"service": {"namespace": "n", "name": "s"}}, "conversionReviewVersions": ["v1"]}}},
                   "status": {"storedVersions": ["v0"]}}),
                json!({"spec": {"names": {"kind": "W", "singular": "dub", "listKind": "Ws"}, "conversion": {"strategy": "Webhook",
                   "webhook": {"clientConfig": {"service": {"namespace": "n", "name": "s", "port": 443}},
                               "conversionReviewVersions": ["v1"]}}},
                   "status": {"storedVersions": ["v0"]}}),
            ),
        ],
    );
}

#[test]
fn api_services() {
    run(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        vec![
            case!(
                "service port",
                json!({"kind": "APIService", "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                     "service": {"namespace": "kube-system", "name": "metrics-server"}}}),
                json!({"kind": "APIService", "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                     "service": {"namespace": "kube-system", "name": "metrics-server", "port": 443}}})
            ),
            case!(
                "local service",
                json!({"spec": {"group": "apps", "version": "v1"}}),
                json!({"spec": {"group": "apps", "version": "v1"}})
            ),
        ],
    );
}

#[test]
fn entry_point_behaviour() {
    // Lists default each item.
    let list = json!({"apiVersion": "v1", "kind": "SecretList", "items": [{"metadata": {"name": "a"}}, {"type": "x"}]});
    let got = defaulted("", "v1", "SecretList", &list);
    assert_eq!(got["items"], json!([{"metadata": {"name": "a"}, "type": "Opaque"}, {"type": "x"}]));
    // "core" is accepted for the legacy group.
    assert_eq!(defaulted("core", "v1", "Secret", &json!({}))["type"], "Opaque");
    // Unknown kinds, versions not served by default in 1.33 and non-objects are untouched.
    for (g, v, k) in [
        ("", "v1", "Widget"),
        ("apps", "v1beta1", "Deployment"),
        ("resource.k8s.io", "v1beta1", "ResourceClaim"),
        ("storage.k8s.io", "v1beta1", "VolumeAttributesClass"),
        ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicy"),
        ("example.com", "v1", "Widget"),
    ] {
        let obj = json!({"spec": {"replicas": null}});
        assert_eq!(defaulted(g, v, k, &obj), obj, "{g}/{v} {k}");
    }
    assert_eq!(defaulted("", "v1", "Pod", &json!("text")), json!("text"));
    // Kinds without defaulters are still known.
    for (g, v, k) in [
        ("policy", "v1", "PodDisruptionBudget"),
        ("coordination.k8s.io", "v1", "Lease"),
        ("events.k8s.io", "v1", "Event"),
        ("node.k8s.io", "v1", "RuntimeClass"),
        ("certificates.k8s.io", "v1", "CertificateSigningRequest"),
        ("authorization.k8s.io", "v1", "SubjectAccessReview"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
        ("storage.k8s.io", "v1", "CSINode"),
        ("storage.k8s.io", "v1", "CSIStorageCapacity"),
        ("policy", "v1", "Eviction"),
        ("apps", "v1", "Deployment"),
        ("", "v1", "ConfigMap"),
    ] {
        assert!(crate::defaults::known_kind(g, v, k), "{g}/{v} {k}");
        let obj = json!({"kind": k, "spec": {}});
        if !matches!(k, "Deployment") {
            assert_eq!(defaulted(g, v, k, &obj), obj, "{g}/{v} {k} has no defaulter");
        }
    }
    assert!(!crate::defaults::known_kind("apps", "v1", "Widget"));
}

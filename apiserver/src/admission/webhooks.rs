//! Webhook configurations (admissionregistration.k8s.io/v1 Mutating- and
//! ValidatingWebhookConfiguration) as the admission chain uses them: parsed once when they
//! change, in upstream's order (configurations by name, webhooks in their order), and matched
//! against a request by rules, scope, namespace and object selectors.

use std::time::Duration;

use serde_json::{Map, Value};

use super::client::Target;
use super::{Attributes, Operation};
use crate::selectors::labels::{self, Selector};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

/// One webhook of a configuration.
pub struct Webhook {
    pub name: String,
    /// The configuration it belongs to (for messages and metrics).
    pub configuration: String,
    pub mutating: bool,
    rules: Vec<Rule>,
    pub failure_policy: FailurePolicy,
    namespace_selector: Option<Selector>,
    object_selector: Option<Selector>,
    /// `sideEffects` None or NoneOnDryRun: safe to call for a dry run.
    pub dry_run_safe: bool,
    pub timeout: Duration,
    /// `reinvocationPolicy: IfNeeded`.
    pub reinvoke: bool,
    pub target: Option<Target>,
    pub ca_bundle: Vec<u8>,
    /// `matchPolicy: Exact` (the default, Equivalent, also matches the same objects served by
    /// another group-version).
    pub exact: bool,
    /// `matchConditions` as (name, compiled CEL expression).
    pub match_conditions: Vec<(String, super::policy::Expr)>,
}

/// A rule of a webhook or of a policy's match constraints.
pub(super) struct Rule {
    operations: Vec<String>,
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    /// Policies only: names the rule is limited to (empty: any).
    resource_names: Vec<String>,
    scope: String,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub(super) fn selector(v: Option<&Value>) -> Option<Selector> {
    let v = v.filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))?;
    labels::from_label_selector(v).ok()
}

impl Webhook {
    /// The webhooks of one configuration object.
    pub fn from_configuration(config: &Value, mutating: bool) -> Vec<Webhook> {
        let configuration = crate::object::name(config).to_string();
        let hooks = config.get("webhooks").and_then(Value::as_array).cloned().unwrap_or_default();
        hooks
            .iter()
            .map(|w| {
                let rules = w.get("rules").and_then(Value::as_array).into_iter().flatten().map(Rule::parse).collect();
                let client = w.get("clientConfig").cloned().unwrap_or(Value::Null);
                let ca_bundle = client
                    .get("caBundle")
                    .and_then(Value::as_str)
                    .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
                    .unwrap_or_default();
                Webhook {
                    name: w.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                    configuration: configuration.clone(),
                    mutating,
                    rules,
                    failure_policy: match w.get("failurePolicy").and_then(Value::as_str) {
                        Some("Ignore") => FailurePolicy::Ignore,
                        _ => FailurePolicy::Fail,
                    },
                    namespace_selector: selector(w.get("namespaceSelector")),
                    object_selector: selector(w.get("objectSelector")),
                    dry_run_safe: matches!(w.get("sideEffects").and_then(Value::as_str), Some("None" | "NoneOnDryRun")),
                    timeout: Duration::from_secs(w.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(10)),
                    reinvoke: w.get("reinvocationPolicy").and_then(Value::as_str) == Some("IfNeeded"),
                    target: Target::from_client_config(&client),
                    exact: w.get("matchPolicy").and_then(Value::as_str) == Some("Exact"),
                    ca_bundle,
                    match_conditions: w
                        .get("matchConditions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                            (text("name"), super::policy::Expr::new(&text("expression")))
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Whether a rule covers the request (operation, group, version, resource/subresource,
    /// scope).
    pub fn matches_rules(&self, a: &Attributes<'_>) -> bool {
        self.rules.iter().any(|r| r.matches(a))
    }

    /// The namespace selector: cluster-scoped objects always match (namespaces match on their
    /// own labels); otherwise the labels of the object's namespace.
    pub fn matches_namespace(&self, namespace_labels: Option<&Map<String, Value>>) -> bool {
        self.namespace_selector.as_ref().is_none_or(|s| s.matches(namespace_labels))
    }

    pub fn has_namespace_selector(&self) -> bool {
        self.namespace_selector.is_some()
    }

    /// The object selector matches the new or the old object's labels.
    pub fn matches_object(&self, a: &Attributes<'_>) -> bool {
        object_selector_matches(self.object_selector.as_ref(), a)
    }
}

/// An object selector matches the new or the old object's labels.
pub(super) fn object_selector_matches(sel: Option<&Selector>, a: &Attributes<'_>) -> bool {
    let Some(sel) = sel else { return true };
    let labels_of = |o: Option<&Value>| {
        o.and_then(|o| crate::object::metadata(o)).and_then(|m| m.get("labels")).and_then(Value::as_object).cloned()
    };
    // A side that does not exist (no old object on create, no new one on delete) never matches.
    let side = |o: Option<&Value>| o.is_some() && sel.matches(labels_of(o).as_ref());
    side(a.object) || side(a.old_object)
}

impl Rule {
    pub(super) fn parse(r: &Value) -> Rule {
        Rule {
            operations: strings(r, "operations"),
            groups: strings(r, "apiGroups"),
            versions: strings(r, "apiVersions"),
            resources: strings(r, "resources"),
            resource_names: strings(r, "resourceNames"),
            scope: r.get("scope").and_then(Value::as_str).unwrap_or("*").to_string(),
        }
    }

    pub(super) fn matches(&self, a: &Attributes<'_>) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|x| x == "*" || x == value);
        let scope_ok = match self.scope.as_str() {
            "Cluster" => !a.res.info.namespaced,
            "Namespaced" => a.res.info.namespaced,
            _ => true,
        };
        scope_ok
            && any(&self.operations, a.operation.as_str())
            && any(&self.groups, a.res.info.group)
            && any(&self.versions, a.res.info.version)
            && self.resources.iter().any(|r| resource_matches(r, a.res.info.plural, a.subresource))
            && (self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == a.name))
    }
}

/// `*` is every resource (not subresources), `*/*` everything, `pods/*` pods and all their
/// subresources, `*/status` the status of every resource.
fn resource_matches(rule: &str, resource: &str, subresource: &str) -> bool {
    let (r, s) = rule.split_once('/').unwrap_or((rule, ""));
    (r == "*" || r == resource) && (s == "*" || s == subresource)
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_patterns_follow_upstream() {
        assert!(resource_matches("*", "pods", ""));
        assert!(!resource_matches("*", "pods", "status"));
        assert!(resource_matches("*/*", "pods", "status"));
        assert!(resource_matches("pods/*", "pods", "exec"));
        // As upstream's matcher: a `*` subresource also matches the main resource.
        assert!(resource_matches("pods/*", "pods", ""));
        assert!(resource_matches("*/status", "deployments", "status"));
        assert!(resource_matches("pods", "pods", ""));
        assert!(!resource_matches("pods", "services", ""));
    }

    #[test]
    fn configurations_parse_with_upstream_defaults() {
        let config = serde_json::json!({"metadata": {"name": "cfg"}, "webhooks": [{
            "name": "deny.example.com",
            "clientConfig": {"service": {"namespace": "ns", "name": "svc"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"]}]});
        let hooks = Webhook::from_configuration(&config, false);
        assert_eq!(hooks.len(), 1);
        let h = &hooks[0];
        assert_eq!(h.failure_policy, FailurePolicy::Fail);
        assert_eq!(h.timeout, Duration::from_secs(10));
        assert!(h.dry_run_safe && !h.reinvoke && !h.has_namespace_selector());
        assert_eq!(
            h.target,
            Some(Target::Service { namespace: "ns".into(), name: "svc".into(), path: "/".into(), port: 443 })
        );
    }
}

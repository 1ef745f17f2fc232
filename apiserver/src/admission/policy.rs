//! ValidatingAdmissionPolicy and its bindings (admissionregistration.k8s.io/v1): CEL validations
//! compiled once per policy and evaluated in-process for every request a binding selects, with
//! `object`, `oldObject`, `request`, `params`, `namespaceObject` and `variables` bound, and the
//! binding's validationActions (Deny, Warn, Audit) deciding what a failure does — upstream's
//! messages and the 422 `Invalid` default reason included.

use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::KubeCelExt;
use kube_cel::cel::objects::{Key, Map as CelMap};
use kube_cel::cel::{self, Program, Value as Cel};
use serde_json::{Map, Value, json};

use super::webhooks::{Rule, object_selector_matches, selector};
use super::{Attributes, FailurePolicy};
use crate::object;
use crate::registry::Ctx;
use crate::selectors::labels::Selector;
use crate::status::ApiError;

/// A CEL expression, compiled when the configuration is read (the error kept for evaluation
/// time).
pub struct Expr {
    text: String,
    program: Result<Program, String>,
}

impl Expr {
    pub fn new(text: &str) -> Self {
        Self { text: text.to_string(), program: Program::compile(text).map_err(|e| e.to_string()) }
    }
}

struct Validation {
    expr: Expr,
    message: Option<String>,
    message_expression: Option<Expr>,
    reason: Option<String>,
}

/// What a policy or a binding's matchResources selects.
struct Matcher {
    rules: Vec<Rule>,
    exclude: Vec<Rule>,
    namespace_selector: Option<Selector>,
    object_selector: Option<Selector>,
    /// `matchPolicy: Exact` (default Equivalent: the same objects through another
    /// group-version match too).
    exact: bool,
}

impl Matcher {
    fn parse(v: &Value) -> Self {
        let rules = |k: &str| v.get(k).and_then(Value::as_array).into_iter().flatten().map(Rule::parse).collect();
        Self {
            rules: rules("resourceRules"),
            exclude: rules("excludeResourceRules"),
            namespace_selector: selector(v.get("namespaceSelector")),
            object_selector: selector(v.get("objectSelector")),
            exact: v.get("matchPolicy").and_then(Value::as_str) == Some("Exact"),
        }
    }

    fn matches(&self, a: &Attributes<'_>, namespace_labels: Option<&Map<String, Value>>) -> bool {
        // No rules: everything (a binding's matchResources that only narrows by selectors).
        (self.rules.is_empty() || self.rules.iter().any(|r| r.matches(a)))
            && !self.exclude.iter().any(|r| r.matches(a))
            && object_selector_matches(self.object_selector.as_ref(), a)
            && (!a.res.info.namespaced || self.namespace_selector.as_ref().is_none_or(|s| s.matches(namespace_labels)))
    }
}

pub struct Policy {
    name: String,
    failure_policy: FailurePolicy,
    constraints: Matcher,
    match_conditions: Vec<(String, Expr)>,
    variables: Vec<(String, Expr)>,
    validations: Vec<Validation>,
    /// `paramKind` as (apiVersion, kind).
    param_kind: Option<(String, String)>,
}

impl Policy {
    pub fn parse(obj: &Value) -> Self {
        let spec = obj.get("spec").cloned().unwrap_or_default();
        let named = |k: &str, field: &str| -> Vec<(String, Expr)> {
            spec.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| (text(c, "name"), Expr::new(&text(c, field))))
                .collect()
        };
        Self {
            name: object::name(obj).to_string(),
            failure_policy: match spec.get("failurePolicy").and_then(Value::as_str) {
                Some("Ignore") => FailurePolicy::Ignore,
                _ => FailurePolicy::Fail,
            },
            constraints: Matcher::parse(spec.get("matchConstraints").unwrap_or(&Value::Null)),
            match_conditions: named("matchConditions", "expression"),
            variables: named("variables", "expression"),
            validations: spec
                .get("validations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| Validation {
                    expr: Expr::new(&text(v, "expression")),
                    message: v.get("message").and_then(Value::as_str).map(str::to_string),
                    message_expression: v.get("messageExpression").and_then(Value::as_str).map(Expr::new),
                    reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
                })
                .collect(),
            param_kind: spec.get("paramKind").map(|p| (text(p, "apiVersion"), text(p, "kind"))),
        }
    }
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// A binding joined with its policy.
pub struct Bound {
    name: String,
    policy: Arc<Policy>,
    matcher: Option<Matcher>,
    deny: bool,
    warn: bool,
    param_ref: Option<Value>,
}

/// Joins bindings to the policies they name (a binding to a missing policy does nothing).
pub fn bind(policies: &[Value], bindings: &[Value]) -> Vec<Arc<Bound>> {
    let by_name: HashMap<&str, Arc<Policy>> =
        policies.iter().map(|p| (object::name(p), Arc::new(Policy::parse(p)))).collect();
    let mut out: Vec<Arc<Bound>> = bindings
        .iter()
        .filter_map(|b| {
            let spec = b.get("spec")?;
            let policy = by_name.get(spec.get("policyName")?.as_str()?)?.clone();
            let actions: Vec<&str> =
                spec.get("validationActions")?.as_array()?.iter().filter_map(Value::as_str).collect();
            Some(Arc::new(Bound {
                name: object::name(b).to_string(),
                policy,
                matcher: spec.get("matchResources").map(Matcher::parse),
                deny: actions.contains(&"Deny"),
                warn: actions.contains(&"Warn"),
                param_ref: spec.get("paramRef").cloned(),
            }))
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Evaluates every binding that selects the request; the first denial fails it.
pub async fn validate(
    ctx: &Ctx<'_>,
    bound: &[Arc<Bound>],
    a: &Attributes<'_>,
    namespace: Option<&Value>,
) -> Result<(), ApiError> {
    let namespace_labels =
        namespace.and_then(object::metadata).and_then(|m| m.get("labels")).and_then(Value::as_object);
    let equivalents = ctx.registry.equivalents(a.res);
    for b in bound {
        // The request as the policy's rules see it: itself, or (matchPolicy Equivalent) the same
        // object through another group-version, in that version's form.
        let view = if b.policy.constraints.matches(a, namespace_labels) {
            Some(*a)
        } else if b.policy.constraints.exact || a.kind.is_some() {
            None
        } else {
            equivalents
                .iter()
                .map(|r| Attributes { res: r, requested: Some(a.res), ..*a })
                .find(|e| b.policy.constraints.matches(e, namespace_labels))
        };
        let Some(view) = view else { continue };
        let a = &view;
        if !b.matcher.as_ref().is_none_or(|m| m.matches(a, namespace_labels)) {
            continue;
        }
        let params = match params(ctx, b, a).await {
            Ok(p) => p,
            Err(message) => {
                decide(ctx, b, a, vec![(message, None)])?;
                continue;
            }
        };
        for param in params {
            let failures = evaluate(ctx, &b.policy, a, namespace, param.as_ref());
            decide(ctx, b, a, failures)?;
        }
    }
    Ok(())
}

/// Turns failed validations into a denial and/or warnings, as the binding's actions say.
fn decide(
    ctx: &Ctx<'_>,
    b: &Bound,
    a: &Attributes<'_>,
    failures: Vec<(String, Option<String>)>,
) -> Result<(), ApiError> {
    let Some((message, reason)) = failures.into_iter().next() else { return Ok(()) };
    let text =
        format!("ValidatingAdmissionPolicy '{}' with binding '{}' denied request: {message}", b.policy.name, b.name);
    if b.warn {
        super::warn(
            ctx,
            [format!(
                "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {message}",
                b.policy.name, b.name
            )],
        );
    }
    if !b.deny {
        return Ok(());
    }
    use crate::status::Reason;
    let (code, reason) = match reason.as_deref() {
        Some("Unauthorized") => (401, Reason::Unauthorized),
        Some("Forbidden") => (403, Reason::Forbidden),
        Some("RequestEntityTooLarge") => (413, Reason::RequestEntityTooLarge),
        _ => (422, Reason::Invalid),
    };
    let resource = crate::status::qualified(a.res.info.group, a.res.info.plural);
    let message = format!("{resource} \"{}\" is forbidden: {text}", a.name);
    let mut err = ApiError::new(code, reason, message);
    err.details = Some(json!({"name": a.name, "group": a.res.info.group, "kind": a.res.info.plural,
        "causes": [{"message": text}]}));
    Err(err)
}

/// The params the binding names: none needed (`[None]`), one object, or every object its
/// selector picks. `Err` when required params are missing and the binding says Deny.
async fn params(ctx: &Ctx<'_>, b: &Bound, a: &Attributes<'_>) -> Result<Vec<Option<Value>>, String> {
    let (Some((api_version, kind)), Some(param_ref)) = (&b.policy.param_kind, &b.param_ref) else {
        return Ok(vec![None]);
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let res = ctx.registry.served().into_iter().find(|r| r.group == group && r.version == version && r.kind == kind);
    let Some(res) = res.and_then(|r| ctx.registry.get(r.group, r.version, r.plural)) else {
        return Err(format!("failed to find resource referenced by paramKind: '{api_version}, Kind={kind}'"));
    };
    let namespace = match param_ref.get("namespace").and_then(Value::as_str) {
        Some(ns) => Some(ns.to_string()),
        None if res.info.namespaced => a.namespace.map(str::to_string),
        None => None,
    };
    let mut found = Vec::new();
    if let Some(name) = param_ref.get("name").and_then(Value::as_str) {
        if let Ok((obj, _)) = crate::registry::ops::get(ctx, &res, namespace.as_deref(), name).await {
            found.push(Some(res.from_storage(obj)));
        }
    } else if let Some(sel) = param_ref.get("selector").map(|s| selector(Some(s)).unwrap_or_default()) {
        let prefix = res.keys.prefix(namespace.as_deref());
        let cache = ctx.registry.cache(&res).await.map_err(|e| e.message.clone())?;
        let filter: crate::watchcache::Filter = Arc::new(move |key: &str, o: &crate::cached::CachedObject| {
            key.starts_with(&prefix) && sel.matches(o.labels.as_ref())
        });
        for o in cache.list(&filter).0 {
            found.push(o.decode().ok().map(|v| res.from_storage(v)));
        }
    }
    if found.is_empty() {
        let deny = param_ref.get("parameterNotFoundAction").and_then(Value::as_str) != Some("Allow");
        return if deny {
            Err("no params found for policy binding with `Deny` parameterNotFoundAction".into())
        } else {
            Ok(Vec::new())
        };
    }
    Ok(found)
}

thread_local! {
    /// The Kubernetes CEL libraries, registered once per thread; requests add their variables in
    /// an inner scope.
    static BASE: cel::Context<'static> = cel::Context::default().with_all();
}

/// Every failed validation of the policy as (message, reason); an expression that cannot be
/// evaluated fails under failurePolicy Fail and is skipped under Ignore.
fn evaluate(
    ctx: &Ctx<'_>,
    p: &Policy,
    a: &Attributes<'_>,
    namespace: Option<&Value>,
    param: Option<&Value>,
) -> Vec<(String, Option<String>)> {
    BASE.with(|base| {
        let mut scope = base.new_inner_scope();
        let served = |o: Option<&Value>| o.map(|o| to_cel(&a.served(o))).unwrap_or(Cel::Null);
        scope.add_variable_from_value("object", served(a.object));
        scope.add_variable_from_value("oldObject", served(a.old_object));
        scope.add_variable_from_value("params", param.map(to_cel).unwrap_or(Cel::Null));
        scope.add_variable_from_value("namespaceObject", namespace.map(to_cel).unwrap_or(Cel::Null));
        scope.add_variable_from_value("request", to_cel(&super::review::cel_request(ctx, a)));
        let mut variables = HashMap::new();
        for (name, expr) in &p.variables {
            scope.add_variable_from_value("variables", Cel::Map(CelMap { map: Arc::new(variables.clone()) }));
            if let Ok(Ok(v)) = expr.program.as_ref().map(|prog| prog.execute(&scope)) {
                variables.insert(Key::String(Arc::new(name.clone())), v);
            }
        }
        scope.add_variable_from_value("variables", Cel::Map(CelMap { map: Arc::new(variables) }));
        let failed = |expr: &Expr, e: &str| match p.failure_policy {
            FailurePolicy::Fail => Some((format!("expression '{}' resulted in error: {e}", expr.text), None)),
            FailurePolicy::Ignore => None,
        };
        for (_, cond) in &p.match_conditions {
            match cond.program.as_ref().map(|prog| prog.execute(&scope)) {
                Ok(Ok(Cel::Bool(true))) => {}
                Ok(Ok(Cel::Bool(false))) => return Vec::new(),
                Ok(Ok(other)) => return failed(cond, &format!("expected a bool, got {other:?}")).into_iter().collect(),
                Ok(Err(e)) => return failed(cond, &e.to_string()).into_iter().collect(),
                Err(e) => return failed(cond, e).into_iter().collect(),
            }
        }
        let mut out = Vec::new();
        for v in &p.validations {
            match v.expr.program.as_ref().map(|prog| prog.execute(&scope)) {
                Ok(Ok(Cel::Bool(true))) => {}
                Ok(Ok(Cel::Bool(false))) => {
                    let from_expression = v.message_expression.as_ref().and_then(|m| match m.program.as_ref() {
                        Ok(prog) => match prog.execute(&scope) {
                            Ok(Cel::String(s)) if !s.trim().is_empty() => Some(s.to_string()),
                            _ => None,
                        },
                        Err(_) => None,
                    });
                    let message = from_expression
                        .or_else(|| v.message.clone())
                        .unwrap_or_else(|| format!("failed expression: {}", v.expr.text));
                    out.push((message, v.reason.clone()));
                }
                Ok(Ok(other)) => out.extend(failed(&v.expr, &format!("expected a bool, got {other:?}"))),
                Ok(Err(e)) => out.extend(failed(&v.expr, &e.to_string())),
                Err(e) => out.extend(failed(&v.expr, e)),
            }
        }
        out
    })
}

/// A webhook's matchConditions: every condition is evaluated; any `false` skips the webhook
/// (even when another condition failed), else the first error is returned.
pub fn conditions_hold(ctx: &Ctx<'_>, a: &Attributes<'_>, conditions: &[(String, Expr)]) -> Result<bool, String> {
    BASE.with(|base| {
        let mut scope = base.new_inner_scope();
        let served = |o: Option<&Value>| o.map(|o| to_cel(&a.served(o))).unwrap_or(Cel::Null);
        scope.add_variable_from_value("object", served(a.object));
        scope.add_variable_from_value("oldObject", served(a.old_object));
        scope.add_variable_from_value("request", to_cel(&super::review::cel_request(ctx, a)));
        let mut first_error = None;
        for (name, cond) in conditions {
            match cond.program.as_ref().map(|prog| prog.execute(&scope)) {
                Ok(Ok(Cel::Bool(true))) => {}
                Ok(Ok(Cel::Bool(false))) => return Ok(false),
                Ok(Ok(other)) => {
                    first_error.get_or_insert(format!("matchCondition '{name}': expected a bool, got {other:?}"));
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(format!("matchCondition '{name}': {e}"));
                }
                Err(e) => {
                    first_error.get_or_insert(format!("matchCondition '{name}': compilation failed: {e}"));
                }
            }
        }
        first_error.map_or(Ok(true), Err)
    })
}

/// JSON as CEL values: integers stay signed where they fit, as upstream's CEL types them.
fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cel::Int(i),
            (None, Some(u)) => Cel::UInt(u),
            _ => Cel::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => Cel::Map(CelMap {
            map: Arc::new(map.iter().map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v))).collect()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_join_their_policies_and_parse_actions() {
        let policy = json!({"metadata": {"name": "replicas"}, "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <= 5"}, {"expression": "object.spec.("}]}});
        let binding = json!({"metadata": {"name": "replicas-binding"},
            "spec": {"policyName": "replicas", "validationActions": ["Deny", "Warn"]}});
        let orphan =
            json!({"metadata": {"name": "orphan"}, "spec": {"policyName": "missing", "validationActions": ["Deny"]}});
        let bound = bind(&[policy], &[binding, orphan]);
        assert_eq!(bound.len(), 1);
        assert!(bound[0].deny && bound[0].warn);
        assert!(bound[0].policy.validations[0].expr.program.is_ok());
        assert!(bound[0].policy.validations[1].expr.program.is_err());
    }

    #[test]
    fn json_numbers_become_signed_cel_integers() {
        assert_eq!(to_cel(&json!(3)), Cel::Int(3));
        assert_eq!(to_cel(&json!(u64::MAX)), Cel::UInt(u64::MAX));
        assert_eq!(to_cel(&json!(1.5)), Cel::Float(1.5));
        let prog = Program::compile("object.spec.replicas <= 5 && object.metadata.name.startsWith('we')").unwrap();
        BASE.with(|base| {
            let mut scope = base.new_inner_scope();
            scope.add_variable_from_value(
                "object",
                to_cel(&json!({"metadata": {"name": "web"}, "spec": {"replicas": 3}})),
            );
            assert_eq!(prog.execute(&scope).unwrap(), Cel::Bool(true));
        });
    }
}

//! Admission: the chain of named plugins (`chain.rs`) the generic write path runs, and the
//! plugins of dynamic admission — mutating and validating webhooks and ValidatingAdmissionPolicy
//! (admissionregistration.k8s.io/v1) — for create, update, delete and dry runs alike. Mutating
//! plugins run on the incoming object before the resource's own validation, validating ones
//! after it; built-in plugins of specific resources live with the built-in API (`plugins/`).
//!
//! The configurations are followed through their watch cache and kept parsed in memory, so a
//! request with no configured webhooks pays one lock and two empty-vector checks. Writes the
//! apiserver makes itself (bootstrap, its definition controller) skip admission; so do writes to
//! the webhook configurations themselves, as upstream does, so a broken webhook can always be
//! removed.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::object;
use crate::registry::{Ctx, Registry, Resource, ops};
use crate::status::ApiError;
use crate::watchcache::{Filter, Start, WatchOut};

mod chain;
pub(crate) mod client;
mod policy;
mod review;
mod verifier;
mod webhooks;

pub use chain::{Chain, Plugin};
pub use webhooks::{FailurePolicy, Webhook};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

/// What a request does, as admission sees it (upstream's `admission.Attributes`).
#[derive(Clone, Copy)]
pub struct Attributes<'a> {
    pub operation: Operation,
    pub res: &'a Resource,
    /// "" or "status", ...
    pub subresource: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    /// The new object (storage form); `None` for deletes.
    pub object: Option<&'a Value>,
    /// The stored object for updates and deletes.
    pub old_object: Option<&'a Value>,
    /// The kind of `object` when it is not the resource's own (group, version, kind): a
    /// subresource's view, e.g. autoscaling/v1 Scale for `deployments/scale`.
    pub kind: Option<(&'a str, &'a str, &'a str)>,
    /// The resource the client asked for, when a rule matched an equivalent one (`res`).
    pub requested: Option<&'a Resource>,
}

impl<'a> Attributes<'a> {
    /// The kind of the objects under review, as (group, version, kind).
    pub fn kind(&self) -> (&'a str, &'a str, &'a str) {
        self.kind.unwrap_or((self.res.info.group, self.res.info.version, self.res.info.kind))
    }

    /// The objects in the form the webhook sees: the served version (a subresource's view is
    /// already in its own form).
    pub fn served(&self, obj: &Value) -> Value {
        if self.kind.is_some() { obj.clone() } else { self.res.from_storage(obj.clone()) }
    }

    pub fn new(
        operation: Operation,
        res: &'a Resource,
        subresource: &'a str,
        name: &'a str,
        namespace: Option<&'a str>,
    ) -> Self {
        Self {
            operation,
            res,
            subresource,
            name,
            namespace,
            object: None,
            old_object: None,
            kind: None,
            requested: None,
        }
    }
}

/// The parsed webhook configurations and policies, replaced as a whole when one changes.
#[derive(Default)]
pub struct Admission {
    hooks: RwLock<Arc<Hooks>>,
    /// Set once the configurations have been read: until then requests wait (briefly) rather
    /// than slip past webhooks that exist.
    ready: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Hooks {
    mutating: Vec<Arc<Webhook>>,
    validating: Vec<Arc<Webhook>>,
    policies: Vec<Arc<policy::Bound>>,
}

impl Admission {
    async fn current(&self) -> Result<Arc<Hooks>, ApiError> {
        for _ in 0..50 {
            if self.ready.load(std::sync::atomic::Ordering::Acquire) {
                return Ok(self.hooks.read().map(|h| h.clone()).unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ApiError::new(403, crate::status::Reason::Forbidden, "not yet ready to handle request"))
    }

    /// Waits (a bounded while) for the configurations to be read once, so the server starts
    /// serving with them in force.
    pub async fn wait_ready(&self) {
        for _ in 0..500 {
            if self.ready.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::warn!("admission configurations not read yet; requests will wait for them");
    }

    fn set(&self, hooks: Hooks) {
        if let Ok(mut current) = self.hooks.write() {
            *current = Arc::new(hooks);
        }
        self.ready.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Whether admission applies at all: not to the server's own writes, nor to the admission
/// configuration resources.
fn applies(ctx: &Ctx<'_>, res: &Resource) -> bool {
    ctx.user.is_some() && res.info.group != "admissionregistration.k8s.io"
}

/// `MutatingAdmissionWebhook`: the mutating webhooks, with `IfNeeded` reinvocation.
pub struct MutatingWebhooks;

#[async_trait::async_trait]
impl Plugin for MutatingWebhooks {
    fn name(&self) -> &'static str {
        "MutatingAdmissionWebhook"
    }
    async fn admit(&self, ctx: &Ctx<'_>, a: &Attributes<'_>, obj: Option<&mut Value>) -> Result<bool, ApiError> {
        mutate(ctx, a, obj).await
    }
}

/// `ValidatingAdmissionPolicy`: policies and their bindings, in CEL.
pub struct ValidatingPolicies;

#[async_trait::async_trait]
impl Plugin for ValidatingPolicies {
    fn name(&self) -> &'static str {
        "ValidatingAdmissionPolicy"
    }
    async fn validate(&self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
        validate_policies(ctx, a).await
    }
}

/// `ValidatingAdmissionWebhook`: the validating webhooks.
pub struct ValidatingWebhooks;

#[async_trait::async_trait]
impl Plugin for ValidatingWebhooks {
    fn name(&self) -> &'static str {
        "ValidatingAdmissionWebhook"
    }
    async fn validate(&self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
        validate_webhooks(ctx, a).await
    }
}

/// The plugins of dynamic admission, for the chain.
pub fn dynamic_plugins() -> Vec<Arc<dyn Plugin>> {
    vec![Arc::new(MutatingWebhooks), Arc::new(ValidatingPolicies), Arc::new(ValidatingWebhooks)]
}

/// Runs the mutating webhooks on `obj` (the storage form of the new object; `None` for a
/// delete, where they are consulted but may not change anything). Returns whether any webhook
/// changed the object.
async fn mutate(ctx: &Ctx<'_>, a: &Attributes<'_>, mut obj: Option<&mut Value>) -> Result<bool, ApiError> {
    if !applies(ctx, a.res) {
        return Ok(false);
    }
    let hooks = ctx.registry.admission.current().await?;
    if hooks.mutating.is_empty() {
        return Ok(false);
    }
    let mut any_change = false;
    let mut namespace = NamespaceObject::default();
    let equivalents = ctx.registry.equivalents(a.res);
    // Which webhooks ran, and whether the object changed after each ran (for reinvocation).
    let mut ran: Vec<(Arc<Webhook>, bool)> = Vec::new();
    for hook in &hooks.mutating {
        let Some(view) = view(hook, a, &equivalents) else { continue };
        if !selected(ctx, hook, &view, obj.as_deref(), &mut namespace).await? {
            continue;
        }
        let changed = review::call(ctx, hook, &view, obj.as_deref_mut()).await?;
        any_change |= changed;
        for (_, later_change) in &mut ran {
            *later_change |= changed;
        }
        ran.push((hook.clone(), false));
    }
    // IfNeeded: once more for those that ran before another webhook changed the object.
    for (hook, changed_after) in ran {
        let Some(view) = view(&hook, a, &equivalents) else { continue };
        if hook.reinvoke && changed_after && selected(ctx, &hook, &view, obj.as_deref(), &mut namespace).await? {
            any_change |= review::call(ctx, &hook, &view, obj.as_deref_mut()).await?;
        }
    }
    Ok(any_change)
}

/// Runs the validating admission policies; any denial fails the request.
async fn validate_policies(ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
    if !applies(ctx, a.res) {
        return Ok(());
    }
    let hooks = ctx.registry.admission.current().await?;
    if hooks.policies.is_empty() {
        return Ok(());
    }
    let ns = NamespaceObject::default().get(ctx, a).await.cloned();
    policy::validate(ctx, &hooks.policies, a, ns.as_ref()).await
}

/// Runs the validating webhooks (in parallel, as upstream); any denial fails the request.
async fn validate_webhooks(ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
    if !applies(ctx, a.res) {
        return Ok(());
    }
    let hooks = ctx.registry.admission.current().await?;
    if hooks.validating.is_empty() {
        return Ok(());
    }
    let mut namespace = NamespaceObject::default();
    let equivalents = ctx.registry.equivalents(a.res);
    let mut chosen = Vec::new();
    for hook in &hooks.validating {
        let Some(view) = view(hook, a, &equivalents) else { continue };
        if selected(ctx, hook, &view, a.object, &mut namespace).await? {
            chosen.push((hook.clone(), view));
        }
    }
    let calls = chosen.iter().map(|(hook, view)| review::call_validating(ctx, hook, view));
    let results = futures::future::join_all(calls).await;
    results.into_iter().find_map(Result::err).map_or(Ok(()), Err)
}

/// The request's namespace object (for a Namespace, the object itself), read at most once per
/// request.
#[derive(Default)]
struct NamespaceObject(Option<Option<Value>>);

impl NamespaceObject {
    async fn get(&mut self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Option<&Value> {
        if self.0.is_none() {
            let found = if a.res.info.group.is_empty() && a.res.info.plural == "namespaces" {
                a.object.or(a.old_object).cloned()
            } else {
                match (a.namespace, ctx.registry.get("", "v1", "namespaces")) {
                    (Some(ns), Some(namespaces)) => ops::get(ctx, &namespaces, None, ns).await.ok().map(|(o, _)| o),
                    _ => None,
                }
            };
            self.0 = Some(found);
        }
        self.0.as_ref().and_then(Option::as_ref)
    }

    async fn labels(&mut self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Option<Map<String, Value>> {
        let ns = self.get(ctx, a).await?;
        object::metadata(ns).and_then(|m| m.get("labels")).and_then(Value::as_object).cloned()
    }
}

/// The view of the request `hook` sees: the resource itself when a rule covers it, else (under
/// matchPolicy Equivalent) the first equivalent resource a rule covers, with the object in that
/// resource's version and the requested resource kept as `requested`.
fn view<'e>(hook: &Webhook, a: &Attributes<'e>, equivalents: &'e [Arc<Resource>]) -> Option<Attributes<'e>> {
    if hook.matches_rules(a) {
        return Some(*a);
    }
    if hook.exact || a.kind.is_some() {
        return None;
    }
    equivalents.iter().map(|r| Attributes { res: r, requested: Some(a.res), ..*a }).find(|e| hook.matches_rules(e))
}

/// Whether `hook`, whose rules cover the request, is called: namespace and object selectors,
/// then its matchConditions (an error there follows the failure policy).
async fn selected(
    ctx: &Ctx<'_>,
    hook: &Webhook,
    a: &Attributes<'_>,
    obj: Option<&Value>,
    namespace: &mut NamespaceObject,
) -> Result<bool, ApiError> {
    let a = &Attributes { object: obj, ..*a };
    if !hook.matches_object(a) {
        return Ok(false);
    }
    let namespace_scoped = a.res.info.namespaced || (a.res.info.group.is_empty() && a.res.info.plural == "namespaces");
    if hook.has_namespace_selector() && namespace_scoped {
        let labels = namespace.labels(ctx, a).await;
        if !hook.matches_namespace(labels.as_ref()) {
            return Ok(false);
        }
    }
    if hook.match_conditions.is_empty() {
        return Ok(true);
    }
    match policy::conditions_hold(ctx, a, &hook.match_conditions) {
        Ok(matched) => Ok(matched),
        Err(e) if hook.failure_policy == FailurePolicy::Ignore => {
            tracing::warn!(webhook = %hook.name, error = %e, "matchConditions failed; ignored by failurePolicy");
            Ok(false)
        }
        Err(e) => Err(ApiError::forbidden(a.res.group(), a.res.info.plural, a.name, &e)),
    }
}

/// Follows the webhook configurations until the server stops.
pub fn spawn(registry: Arc<Registry>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = follow(&registry).await {
                tracing::warn!(error = %e, "admission configuration follower restarting");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

async fn follow(registry: &Arc<Registry>) -> Result<(), ApiError> {
    const GROUP: &str = "admissionregistration.k8s.io";
    let find = |plural: &str| {
        registry.get(GROUP, "v1", plural).ok_or_else(|| ApiError::internal(format!("{plural} are not served")))
    };
    let mut caches = Vec::new();
    for plural in [
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ] {
        let res = find(plural)?;
        caches.push(registry.cache(&res).await?);
    }
    let all: Filter = Arc::new(|_, _| true);
    let mut streams = Vec::new();
    for cache in &caches {
        streams.push(cache.watch(Start::Initial, all.clone())?.2);
    }
    let mut live = futures::stream::select_all(streams);
    let objects = |i: usize| -> Vec<Value> {
        let mut list: Vec<Value> = caches[i].list(&all).0.iter().filter_map(|o| o.decode().ok()).collect();
        list.sort_by(|a, b| object::name(a).cmp(object::name(b)));
        list
    };
    loop {
        let hooks = Hooks {
            mutating: parse_all(&objects(0), true),
            validating: parse_all(&objects(1), false),
            policies: policy::bind(&objects(2), &objects(3)),
        };
        registry.admission.set(hooks);
        // Any event means "read again"; the stream ending means the caches reset.
        match live.next().await {
            Some(WatchOut::Event(..)) | Some(_) => {}
            None => return Ok(()),
        }
    }
}

fn parse_all(configs: &[Value], mutating: bool) -> Vec<Arc<Webhook>> {
    configs.iter().flat_map(|c| Webhook::from_configuration(c, mutating)).map(Arc::new).collect()
}

/// Warnings collected while serving one request (webhooks may add some).
pub type Warnings = Arc<Mutex<Vec<String>>>;

pub(crate) fn warn(ctx: &Ctx<'_>, warnings: impl IntoIterator<Item = String>) {
    if let Some(sink) = &ctx.warnings
        && let Ok(mut w) = sink.lock()
    {
        w.extend(warnings);
    }
}

/// The user of the request, as the AdmissionReview's `userInfo`.
fn user_info(ctx: &Ctx<'_>) -> Value {
    match &ctx.user {
        Some(u) => {
            let mut info = json!({"username": u.name, "groups": u.groups});
            if !u.uid.is_empty() {
                info["uid"] = json!(u.uid);
            }
            info
        }
        None => json!({}),
    }
}

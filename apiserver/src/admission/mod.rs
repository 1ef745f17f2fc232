//! Dynamic admission: mutating and validating webhooks (admissionregistration.k8s.io/v1), run by
//! the generic write path in upstream's order — mutating webhooks on the incoming object (with
//! `IfNeeded` reinvocation), then the resource's own defaulting and validation, then validating
//! webhooks — for create, update, delete and dry runs alike.
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

mod client;
mod review;
mod webhooks;

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
}

impl<'a> Attributes<'a> {
    pub fn new(
        operation: Operation,
        res: &'a Resource,
        subresource: &'a str,
        name: &'a str,
        namespace: Option<&'a str>,
    ) -> Self {
        Self { operation, res, subresource, name, namespace, object: None, old_object: None }
    }
}

/// The parsed webhook configurations, replaced as a whole when one changes.
#[derive(Default)]
pub struct Admission {
    hooks: RwLock<Arc<Hooks>>,
}

#[derive(Default)]
struct Hooks {
    mutating: Vec<Arc<Webhook>>,
    validating: Vec<Arc<Webhook>>,
}

impl Admission {
    fn current(&self) -> Arc<Hooks> {
        self.hooks.read().map(|h| h.clone()).unwrap_or_default()
    }

    fn set(&self, hooks: Hooks) {
        if let Ok(mut current) = self.hooks.write() {
            *current = Arc::new(hooks);
        }
    }
}

/// Whether admission applies at all: not to the server's own writes, nor to the admission
/// configuration resources.
fn applies(ctx: &Ctx<'_>, res: &Resource) -> bool {
    ctx.user.is_some() && res.info.group != "admissionregistration.k8s.io"
}

/// Runs the mutating webhooks on `obj` (the storage form of the new object; `None` for a
/// delete, where they are only consulted).
pub async fn mutate(ctx: &Ctx<'_>, a: &Attributes<'_>, obj: &mut Value) -> Result<(), ApiError> {
    if !applies(ctx, a.res) {
        return Ok(());
    }
    let hooks = ctx.registry.admission.current();
    if hooks.mutating.is_empty() {
        return Ok(());
    }
    let mut namespace_labels = NamespaceLabels::default();
    // Which webhooks ran, and whether the object changed after each ran (for reinvocation).
    let mut ran: Vec<(Arc<Webhook>, bool)> = Vec::new();
    for hook in &hooks.mutating {
        if !selected(ctx, hook, a, Some(&*obj), &mut namespace_labels).await? {
            continue;
        }
        let changed = review::call(ctx, hook, a, Some(obj)).await?;
        for (_, later_change) in &mut ran {
            *later_change |= changed;
        }
        ran.push((hook.clone(), false));
    }
    // IfNeeded: once more for those that ran before another webhook changed the object.
    for (hook, changed_after) in ran {
        if hook.reinvoke && changed_after && selected(ctx, &hook, a, Some(&*obj), &mut namespace_labels).await? {
            review::call(ctx, &hook, a, Some(obj)).await?;
        }
    }
    Ok(())
}

/// Runs the validating webhooks (in parallel, as upstream); any denial fails the request.
pub async fn validate(ctx: &Ctx<'_>, a: &Attributes<'_>) -> Result<(), ApiError> {
    if !applies(ctx, a.res) {
        return Ok(());
    }
    let hooks = ctx.registry.admission.current();
    if hooks.validating.is_empty() {
        return Ok(());
    }
    let mut namespace_labels = NamespaceLabels::default();
    let mut chosen = Vec::new();
    for hook in &hooks.validating {
        if selected(ctx, hook, a, a.object, &mut namespace_labels).await? {
            chosen.push(hook.clone());
        }
    }
    let calls = chosen.iter().map(|hook| review::call_validating(ctx, hook, a));
    let results = futures::future::join_all(calls).await;
    results.into_iter().find_map(Result::err).map_or(Ok(()), Err)
}

/// The labels of the request's namespace, read at most once per request.
#[derive(Default)]
struct NamespaceLabels(Option<Option<Map<String, Value>>>);

impl NamespaceLabels {
    async fn get(&mut self, ctx: &Ctx<'_>, a: &Attributes<'_>) -> Option<Map<String, Value>> {
        if let Some(known) = &self.0 {
            return known.clone();
        }
        let labels_of =
            |o: &Value| object::metadata(o).and_then(|m| m.get("labels")).and_then(Value::as_object).cloned();
        let labels = if a.res.info.group.is_empty() && a.res.info.plural == "namespaces" {
            a.object.or(a.old_object).and_then(labels_of)
        } else {
            match (a.namespace, ctx.registry.get("", "v1", "namespaces")) {
                (Some(ns), Some(namespaces)) => {
                    ops::get(ctx, &namespaces, None, ns).await.ok().and_then(|(o, _)| labels_of(&o))
                }
                _ => None,
            }
        };
        self.0 = Some(labels.clone());
        labels
    }
}

/// Whether `hook` is called for this request: rules, namespace and object selectors, then
/// its matchConditions (an error there follows the failure policy).
async fn selected(
    ctx: &Ctx<'_>,
    hook: &Webhook,
    a: &Attributes<'_>,
    obj: Option<&Value>,
    namespace_labels: &mut NamespaceLabels,
) -> Result<bool, ApiError> {
    let a = &Attributes { object: obj, ..*a };
    if !hook.matches_rules(a) || !hook.matches_object(a) {
        return Ok(false);
    }
    let namespace_scoped = a.res.info.namespaced || (a.res.info.group.is_empty() && a.res.info.plural == "namespaces");
    if hook.has_namespace_selector() && namespace_scoped {
        let labels = namespace_labels.get(ctx, a).await;
        if !hook.matches_namespace(labels.as_ref()) {
            return Ok(false);
        }
    }
    if hook.match_conditions.is_empty() {
        return Ok(true);
    }
    match review::match_conditions(ctx, hook, a, obj) {
        Ok(matched) => Ok(matched),
        Err(e) if hook.failure_policy == FailurePolicy::Ignore => {
            tracing::warn!(webhook = %hook.name, error = %e, "matchConditions failed; ignored by failurePolicy");
            Ok(false)
        }
        Err(e) => Err(ApiError::internal(format!("failed calling webhook \"{}\": {e}", hook.name))),
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
    let (mutating, validating) = (find("mutatingwebhookconfigurations")?, find("validatingwebhookconfigurations")?);
    let (m_cache, v_cache) = (registry.cache(&mutating).await?, registry.cache(&validating).await?);
    let all: Filter = Arc::new(|_, _| true);
    let (_, _, m_live) = m_cache.watch(Start::Initial, all.clone())?;
    let (_, _, v_live) = v_cache.watch(Start::Initial, all.clone())?;
    let mut live = futures::stream::select(m_live, v_live);
    loop {
        let hooks = Hooks {
            mutating: parse_all(&m_cache.list(&all).0, true),
            validating: parse_all(&v_cache.list(&all).0, false),
        };
        registry.admission.set(hooks);
        // Any event means "read again"; the stream ending means the caches reset.
        match live.next().await {
            Some(WatchOut::Event(..)) | Some(_) => {}
            None => return Ok(()),
        }
    }
}

fn parse_all(objects: &[Arc<crate::cached::CachedObject>], mutating: bool) -> Vec<Arc<Webhook>> {
    let mut configs: Vec<Value> = objects.iter().filter_map(|o| o.decode().ok()).collect();
    configs.sort_by(|a, b| object::name(a).cmp(object::name(b)));
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

//! The generic write path, written once for every resource (upstream's generic registry
//! store): create, get, update (including the status subresource), patch and delete, with
//! optimistic concurrency, dry runs, generation, finalizers and graceful deletion. The
//! resource's [`Strategy`](super::Strategy) supplies what differs.

use serde_json::{Value, json};

use super::{Ctx, Resource};
use crate::admission::{Attributes, Operation};
use crate::apply::{self, CompiledNode, Scope};
use crate::object;
use crate::status::{self, ApiError, Cause};
use crate::storage::{self, store_error};
use crate::validation;

/// Runs `f` with the schema server-side apply and managedFields walk for `res`: a custom
/// resource's own schema, or the built-in kind's OpenAPI schema.
fn with_apply_schema<T>(res: &Resource, f: impl FnOnce(Option<&CompiledNode<'_>>) -> T) -> T {
    if let Some(node) = res.strategy.field_schema() {
        return f(Some(&node));
    }
    match crate::schema::schemas().compiled(res.info.group, res.info.version, res.info.kind) {
        Some(compiled) => f(Some(&compiled.root())),
        None => f(None),
    }
}

/// What an endpoint may touch, for field ownership: the main resource of a kind with a status
/// subresource resets `status`.
fn scope(res: &Resource, part: Part) -> Scope<'static> {
    match part {
        Part::Main if res.strategy.status_split() => Scope { subresource: None, reset_fields: &[&["status"]] },
        Part::Main => Scope::default(),
        Part::Status => Scope { subresource: Some("status"), reset_fields: &[] },
    }
}

/// Records who changed what in `managedFields` (an Update operation), unless the write is an
/// apply (which recorded itself) or the server's own.
fn track(ctx: &Ctx<'_>, res: &Resource, old: Option<&Value>, new: &mut Value, part: Part) {
    if ctx.applying {
        return;
    }
    let Some(manager) = ctx.manager.as_deref() else { return };
    with_apply_schema(res, |schema| {
        apply::record_update_scoped(old, new, manager, scope(res, part), schema, &object::now())
    });
}

fn apply_error(e: apply::ApplyError, res: &Resource, name: &str) -> ApiError {
    match &e {
        apply::ApplyError::BadRequest(m) => ApiError::bad_request(m.clone()),
        apply::ApplyError::Conflicts(_) => {
            let causes: Vec<Value> = e
                .causes()
                .into_iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            let mut err = ApiError::new(409, crate::status::Reason::Conflict, e.message());
            err.details = Some(json!({"name": name, "group": res.group(), "kind": res.info.plural, "causes": causes}));
            err
        }
        apply::ApplyError::Invalid(m) => ApiError::internal(m),
    }
}

/// Server-side apply: merges `applied` into the object under `manager`'s ownership (creating it
/// if it does not exist); conflicts with other managers' fields are refused unless `force`.
/// Returns the object and whether it was created.
pub async fn apply(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    applied: Value,
    force: bool,
    part: Part,
) -> Result<(Value, bool), ApiError> {
    let manager =
        ctx.manager.clone().ok_or_else(|| ApiError::bad_request("fieldManager is required for apply requests"))?;
    let applying = Ctx { applying: true, ..ctx.clone() };
    let now = object::now();
    let merge = |live: Option<&Value>| {
        with_apply_schema(res, |schema| {
            apply::apply_scoped(live, &applied, &manager, force, scope(res, part), schema, &now)
        })
        .map_err(|e| apply_error(e, res, name))
    };
    match get(ctx, res, ns, name).await {
        Err(e) if e.code == 404 && part == Part::Main => {
            let mut created = merge(None)?;
            object::set_meta(&mut created, "name", json!(name));
            create(&applying, res, ns, created).await.map(|o| (o, true))
        }
        Err(e) => Err(e),
        Ok(_) => patch(&applying, res, ns, name, part, &|current| merge(Some(current))).await.map(|o| (o, false)),
    }
}

/// Request bodies larger than this are refused (upstream's limit).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Which part of the object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The resource itself (spec, metadata); the stored status is kept when the resource has a
    /// status subresource.
    Main,
    /// The `status` subresource: only `status` changes.
    Status,
}

/// Parsed `DeleteOptions` (body and query).
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub propagation: Option<String>,
    pub dry_run: bool,
}

/// What a delete answers: the body and its HTTP status.
pub struct Deleted {
    pub body: Value,
    pub code: u16,
}

fn not_found(res: &Resource, name: &str) -> ApiError {
    ApiError::not_found(res.group(), res.info.plural, name)
}

/// The current object and its revision.
pub async fn get(ctx: &Ctx<'_>, res: &Resource, ns: Option<&str>, name: &str) -> Result<(Value, i64), ApiError> {
    let key = res.keys.key(ns, name);
    let (kv, _) =
        ctx.registry.store.get(&key, 0).await.map_err(|e| store_error(e, res.group(), res.info.plural, name))?;
    let kv = kv.ok_or_else(|| not_found(res, name))?;
    Ok((storage::decode(&kv)?, kv.mod_revision))
}

/// Checks (and fills in) the body's `apiVersion` and `kind` against the endpoint.
pub fn check_type(res: &Resource, body: &mut Value, kind: &str) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    let api_version = res.api_version();
    match body.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match body.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({kind})"
            )));
        }
        _ => {}
    }
    *body = object::with_type(std::mem::take(body), &api_version, kind);
    Ok(())
}

fn check_namespace(res: &Resource, body: &mut Value, ns: Option<&str>) -> Result<(), ApiError> {
    if !res.info.namespaced {
        return Ok(());
    }
    match (object::namespace(body), ns) {
        (Some(a), Some(b)) if a != b => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        (_, Some(ns)) => {
            object::set_meta(body, "namespace", json!(ns));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `Required value` for every field the kind's schema requires and the object lacks.
fn required(res: &Resource, obj: &Value) -> Vec<Cause> {
    let (group, version) = res.info.storage.unwrap_or((res.info.group, res.info.version));
    match crate::schema::schemas().compiled(group, version, res.info.kind) {
        Some(compiled) => {
            crate::fieldvalidation::missing_required(obj, &compiled.root()).into_iter().map(Cause::required).collect()
        }
        None => Vec::new(),
    }
}

fn invalid(res: &Resource, obj: &Value, causes: Vec<Cause>) -> ApiError {
    ApiError::invalid(res.group(), res.info.kind, object::name(obj), causes)
}

pub async fn create(ctx: &Ctx<'_>, res: &Resource, ns: Option<&str>, mut obj: Value) -> Result<Value, ApiError> {
    check_type(res, &mut obj, res.info.kind)?;
    let mut obj = res.to_storage_converted(ctx.registry, obj).await?;
    check_namespace(res, &mut obj, ns)?;
    let namespace = object::namespace(&obj).map(str::to_string);
    let name = object::name(&obj).to_string();
    let attrs = Attributes::new(Operation::Create, res, "", &name, namespace.as_deref());
    super::encoding::decoded(res, &mut obj);
    res.strategy.default_fields(&mut obj);
    if ctx.registry.chain.admit(ctx, &attrs, Some(&mut obj)).await? {
        super::encoding::decoded(res, &mut obj);
        res.strategy.default_fields(&mut obj);
    }
    // A webhook may not move the object elsewhere.
    check_namespace(res, &mut obj, ns)?;
    let generated = object::name(&obj).is_empty();
    let generate_name = object::meta_str(&obj, "generateName").unwrap_or("").to_string();
    // Server-owned metadata: whatever the client sent is replaced.
    for field in
        ["resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]
    {
        object::remove_meta(&mut obj, field);
    }
    object::set_meta(&mut obj, "uid", json!(object::new_uid()));
    object::set_meta(&mut obj, "creationTimestamp", json!(object::now()));
    if res.strategy.bumps_generation() {
        object::set_meta(&mut obj, "generation", json!(1));
    } else {
        object::remove_meta(&mut obj, "generation");
    }
    res.strategy.prepare_for_create(&mut obj);

    // A generated name may collide; upstream retries a few times before giving up.
    for attempt in 0.. {
        if generated && !generate_name.is_empty() {
            object::set_meta(&mut obj, "name", json!(format!("{generate_name}{}", object::random_suffix(5))));
        }
        let mut causes = validation::object_meta(&obj, res.strategy.name_rule(), res.info.namespaced);
        causes.extend(required(res, &obj));
        causes.extend(res.strategy.validate(&obj));
        if !causes.is_empty() {
            return Err(invalid(res, &obj, causes));
        }
        res.strategy.admit_create(ctx, &mut obj).await?;
        let attrs = Attributes { name: object::name(&obj), object: Some(&obj), ..attrs };
        if let Err(e) = ctx.registry.chain.validate(ctx, &attrs).await {
            res.strategy.deleted(ctx, &obj).await;
            return Err(e);
        }
        track(ctx, res, None, &mut obj, Part::Main);
        super::encoding::stored(res, &mut obj);
        if ctx.dry_run {
            return Ok(obj);
        }
        let name = object::name(&obj).to_string();
        let key = res.keys.key(object::namespace(&obj), &name);
        match ctx.registry.store.create(&key, storage::encode(&obj)?).await {
            Ok(revision) => {
                object::set_meta(&mut obj, "resourceVersion", json!(revision.to_string()));
                return Ok(obj);
            }
            Err(store::StoreError::AlreadyExists { .. }) if generated && attempt < 8 => {
                res.strategy.deleted(ctx, &obj).await;
                continue;
            }
            Err(e) => {
                res.strategy.deleted(ctx, &obj).await;
                return Err(store_error(e, res.group(), res.info.plural, &name));
            }
        }
    }
    Err(ApiError::internal("unreachable: generateName retries exhausted"))
}

/// Replaces an object (PUT), or its status. `None` from `current` means it does not exist.
pub async fn update(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    mut obj: Value,
    part: Part,
) -> Result<Value, ApiError> {
    check_type(res, &mut obj, res.info.kind)?;
    let mut obj = res.to_storage_converted(ctx.registry, obj).await?;
    check_namespace(res, &mut obj, ns)?;
    match object::meta_str(&obj, "name") {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => object::set_meta(&mut obj, "name", json!(name)),
    }
    let (old, revision) = get(ctx, res, ns, name).await?;
    let requested = object::resource_version(&obj).to_string();
    if !requested.is_empty() && requested != revision.to_string() {
        return Err(ApiError::modified(res.group(), res.info.plural, name));
    }
    write_update(ctx, res, name, old, revision, obj, part).await
}

/// Applies `patch` to the current object and stores the result, retrying on a concurrent
/// write (the patch is re-applied to the newer object), as upstream's patch handler does.
pub async fn patch(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    part: Part,
    apply: &(dyn Fn(&Value) -> Result<Value, ApiError> + Send + Sync),
) -> Result<Value, ApiError> {
    let mut attempts = 0;
    loop {
        let (old, revision) = get(ctx, res, ns, name).await?;
        // Patches are written against the version the client uses.
        let mut patched = apply(&res.from_storage_one(ctx.registry, old.clone()).await?)?;
        if !patched.is_object() {
            return Err(ApiError::bad_request("the patch did not produce an object"));
        }
        check_type(res, &mut patched, res.info.kind)?;
        let mut patched = res.to_storage_converted(ctx.registry, patched).await?;
        if object::name(&patched) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                object::name(&patched)
            )));
        }
        check_namespace(res, &mut patched, ns)?;
        // A patch may carry a resourceVersion precondition; otherwise it applies to the latest.
        let requested = object::resource_version(&patched).to_string();
        if !requested.is_empty() && requested != revision.to_string() {
            return Err(ApiError::modified(res.group(), res.info.plural, name));
        }
        match write_update(ctx, res, name, old, revision, patched, part).await {
            Err(e)
                if e.reason == crate::status::Reason::Conflict && attempts < 5 && requested == revision.to_string() =>
            {
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// Metadata only the server sets: an update keeps the stored values.
const SERVER_METADATA: &[&str] =
    &["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"];

async fn write_update(
    ctx: &Ctx<'_>,
    res: &Resource,
    name: &str,
    old: Value,
    revision: i64,
    mut obj: Value,
    part: Part,
) -> Result<Value, ApiError> {
    if let (Some(given), Some(stored)) = (object::uid(&obj), object::uid(&old))
        && !given.is_empty()
        && given != stored
    {
        return Err(ApiError::conflict(
            res.group(),
            res.info.plural,
            name,
            &format!("Precondition failed: UID in precondition: {given}, UID in object meta: {stored}"),
        ));
    }
    let subresource = if part == Part::Status { "status" } else { "" };
    let namespace = object::namespace(&old).map(str::to_string);
    let attrs = Attributes {
        old_object: Some(&old),
        ..Attributes::new(Operation::Update, res, subresource, name, namespace.as_deref())
    };
    super::encoding::decoded(res, &mut obj);
    res.strategy.default_fields(&mut obj);
    if ctx.registry.chain.admit(ctx, &attrs, Some(&mut obj)).await? {
        super::encoding::decoded(res, &mut obj);
        res.strategy.default_fields(&mut obj);
    }
    check_namespace(res, &mut obj, namespace.as_deref())?;
    match part {
        Part::Main => {
            for field in SERVER_METADATA {
                match object::metadata(&old).and_then(|m| m.get(*field)) {
                    Some(v) => object::set_meta(&mut obj, field, v.clone()),
                    None => object::remove_meta(&mut obj, field),
                }
            }
            if res.strategy.status_split()
                && let Some(map) = obj.as_object_mut()
            {
                match old.get("status") {
                    Some(status) => map.insert("status".into(), status.clone()),
                    None => map.shift_remove("status"),
                };
            }
            res.strategy.prepare_for_update(&mut obj, &old);
            if res.strategy.bumps_generation() && res.strategy.generation_changed(&obj, &old) {
                let generation = object::metadata(&old).and_then(|m| m.get("generation")).and_then(Value::as_i64);
                object::set_meta(&mut obj, "generation", json!(generation.unwrap_or(0) + 1));
            }
        }
        Part::Status => {
            // The status moves, with the metadata the strategy lets through; the rest stays
            // as stored.
            let status = obj.get("status").cloned();
            let mut merged = old.clone();
            for field in res.strategy.status_metadata() {
                match object::metadata(&obj).and_then(|m| m.get(*field)) {
                    Some(v) => object::set_meta(&mut merged, field, v.clone()),
                    None => object::remove_meta(&mut merged, field),
                }
            }
            if let Some(map) = merged.as_object_mut() {
                match status {
                    Some(status) => map.insert("status".into(), status),
                    None => map.shift_remove("status"),
                };
            }
            obj = merged;
        }
    }
    let mut causes = validation::object_meta(&obj, res.strategy.name_rule(), res.info.namespaced);
    causes.extend(required(res, &obj));
    causes.extend(res.strategy.validate_update(&obj, &old));
    if !causes.is_empty() {
        return Err(invalid(res, &obj, causes));
    }
    res.strategy.admit_update(ctx, &mut obj, &old).await?;
    ctx.registry.chain.validate(ctx, &Attributes { object: Some(&obj), ..attrs }).await?;
    track(ctx, res, Some(&old), &mut obj, part);
    super::encoding::stored(res, &mut obj);
    object::set_meta(&mut obj, "resourceVersion", json!(revision.to_string()));
    if obj == old {
        // Nothing changed: no write, no new resourceVersion (so `kubectl apply` of an
        // unchanged object is a no-op).
        return Ok(old);
    }
    if ctx.dry_run {
        return Ok(obj);
    }
    // The last finalizer of a deleting object gone: the object goes.
    if object::is_deleting(&obj) && res.strategy.finalized(&obj) {
        store_delete(ctx, res, &obj, revision).await?;
        return Ok(obj);
    }
    store_update(ctx, res, &mut obj, revision).await?;
    Ok(obj)
}

/// Stores `obj` over the version at `revision` (compare-and-swap) and sets its new
/// resourceVersion.
pub async fn store_update(ctx: &Ctx<'_>, res: &Resource, obj: &mut Value, revision: i64) -> Result<(), ApiError> {
    let name = object::name(obj).to_string();
    let key = res.keys.key(object::namespace(obj), &name);
    object::remove_meta(obj, "resourceVersion");
    let new_revision = ctx
        .registry
        .store
        .update(&key, storage::encode(obj)?, revision)
        .await
        .map_err(|e| store_error(e, res.group(), res.info.plural, &name))?;
    object::set_meta(obj, "resourceVersion", json!(new_revision.to_string()));
    Ok(())
}

/// Deletes `obj` if it is still the version at `revision`, then lets the strategy release what
/// it held.
pub async fn store_delete(ctx: &Ctx<'_>, res: &Resource, obj: &Value, revision: i64) -> Result<(), ApiError> {
    let name = object::name(obj);
    let key = res.keys.key(object::namespace(obj), name);
    ctx.registry
        .store
        .delete(&key, Some(revision))
        .await
        .map_err(|e| store_error(e, res.group(), res.info.plural, name))?;
    res.strategy.deleted(ctx, obj).await;
    Ok(())
}

/// How often a delete starts again because a writer changed the object between its read and
/// its compare-and-swap (upstream's conditional delete retries likewise: a client that gave no
/// precondition never sees a Conflict).
const DELETE_ATTEMPTS: usize = 16;

pub async fn delete(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    for _ in 1..DELETE_ATTEMPTS {
        if let Some(deleted) = delete_attempt(ctx, res, ns, name, opts).await? {
            return Ok(deleted);
        }
    }
    delete_attempt(ctx, res, ns, name, opts)
        .await?
        .ok_or_else(|| ApiError::modified(res.group(), res.info.plural, name))
}

/// One delete from a fresh read; `None`: the object changed under it, start again.
async fn delete_attempt(
    ctx: &Ctx<'_>,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Option<Deleted>, ApiError> {
    let (mut obj, revision) = get(ctx, res, ns, name).await?;
    if let Some(uid) = &opts.uid
        && object::uid(&obj) != Some(uid.as_str())
    {
        return Err(ApiError::conflict(
            res.group(),
            res.info.plural,
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                object::uid(&obj).unwrap_or("")
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && *rv != revision.to_string()
    {
        return Err(ApiError::conflict(
            res.group(),
            res.info.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {revision}"
            ),
        ));
    }
    res.strategy.check_delete(&obj)?;
    let attrs = Attributes {
        old_object: Some(&obj),
        ..Attributes::new(Operation::Delete, res, "", name, object::namespace(&obj))
    };
    let admitting = Ctx { dry_run: opts.dry_run, ..ctx.clone() };
    ctx.registry.chain.admit(&admitting, &attrs, None).await?;
    ctx.registry.chain.validate(&admitting, &attrs).await?;
    let original = obj.clone();
    let waits = res.strategy.begin_deletion(&mut obj);
    let mut finalizers = object::finalizers(&obj);
    let before = finalizers.clone();
    match opts.propagation.as_deref() {
        Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => finalizers.push("orphan".into()),
        Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
            finalizers.push("foregroundDeletion".into())
        }
        _ => {}
    }
    let grace = res.strategy.grace_period(&obj, opts.grace_period).filter(|&g| g > 0);
    if waits || !finalizers.is_empty() || grace.is_some() {
        // Not deleted yet: mark it deleting and let finalizers (or the kubelet) finish.
        if !object::is_deleting(&obj) {
            object::set_meta(&mut obj, "deletionTimestamp", json!(object::later(grace.unwrap_or(0))));
            object::set_meta(&mut obj, "deletionGracePeriodSeconds", json!(grace.unwrap_or(0)));
        }
        if finalizers != before {
            object::set_meta(&mut obj, "finalizers", json!(finalizers));
        }
        if obj == original || opts.dry_run {
            return Ok(Some(Deleted { body: obj, code: 200 }));
        }
        return match store_update(ctx, res, &mut obj, revision).await {
            Ok(()) => Ok(Some(Deleted { body: obj, code: 200 })),
            Err(e) if e.is_conflict() => Ok(None),
            Err(e) => Err(e),
        };
    }
    if !opts.dry_run {
        match store_delete(ctx, res, &obj, revision).await {
            Ok(()) => {}
            Err(e) if e.is_conflict() => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    let body = if res.strategy.return_deleted_object() {
        obj
    } else {
        status::success(res.group(), res.info.plural, name, object::uid(&obj))
    };
    Ok(Some(Deleted { body, code: 200 }))
}

/// Reads DeleteOptions from a DELETE body (may be empty; JSON, or protobuf as client-go's typed
/// clients send it) and the query.
pub fn delete_options(
    body: &[u8],
    content_type: &str,
    query: &crate::request::Query,
) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions::default();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: Value = if crate::protobuf::is_protobuf(content_type) {
            crate::protobuf::decode(body).map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
        };
        opts.grace_period = v.get("gracePeriodSeconds").and_then(Value::as_i64);
        opts.uid = v.pointer("/preconditions/uid").and_then(Value::as_str).map(str::to_string);
        opts.resource_version = v.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(str::to_string);
        opts.propagation = v.get("propagationPolicy").and_then(Value::as_str).map(str::to_string);
        if let Some(orphan) = v.get("orphanDependents").and_then(Value::as_bool) {
            opts.propagation.get_or_insert_with(|| if orphan { "Orphan" } else { "Background" }.into());
        }
        opts.dry_run = v.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|d| d == "All"));
    }
    if let Some(g) = query.grace_period()? {
        opts.grace_period = Some(g);
    }
    if let Some(p) = query.propagation_policy.clone().filter(|p| !p.is_empty()) {
        opts.propagation = Some(p);
    }
    opts.dry_run |= query.dry_run()?;
    // Upstream's ValidateDeleteOptions, answered as an Invalid DeleteOptions.meta.k8s.io.
    let mut causes = Vec::new();
    if let Some(g) = opts.grace_period
        && g < 0
    {
        causes.push(Cause::invalid("gracePeriodSeconds", &json!(g), "must be greater than or equal to 0"));
    }
    if let Some(other) = opts.propagation.as_deref().filter(|p| !matches!(*p, "Orphan" | "Foreground" | "Background")) {
        causes.push(Cause::not_supported("propagationPolicy", &json!(other), &["Foreground", "Background", "Orphan"]));
    }
    if causes.is_empty() { Ok(opts) } else { Err(ApiError::invalid("meta.k8s.io", "DeleteOptions", "", causes)) }
}

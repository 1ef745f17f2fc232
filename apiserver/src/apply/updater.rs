//! The field manager: applies with ownership and conflicts, and records who changed what on
//! every other write, the way kube-apiserver's field manager drives structured merge.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement, path_string, values_equal};
use super::managed::{self, Entry, Managers, identity};
use super::walk::{self, Comparison, Emptied};
use super::{ApplyError, ApplySchema, Conflict, Operation, Scope};

/// Owns, for one Update, the fields it changed before they join the manager's entry.
const CURRENT_OPERATION: &str = "current-operation";
/// Owns what an object held before its first apply, when nothing recorded owners until then.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Paths the endpoint resets, as a set whose members cover everything under them.
fn reset_set(paths: &[&[&str]]) -> FieldSet {
    let mut set = FieldSet::default();
    for path in paths {
        let path: Vec<PathElement> = path.iter().map(|name| PathElement::Field((*name).into())).collect();
        set.insert(&path);
    }
    set
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// Takes `metadata.managedFields` out of `object`.
fn take_managed(object: &mut Value) -> Option<Value> {
    object.get_mut("metadata").and_then(Value::as_object_mut).and_then(|m| m.shift_remove("managedFields"))
}

/// Writes `managed` as `metadata.managedFields` (removing the field when there is none).
fn put_managed(object: &mut Value, managed: Option<Value>) {
    let Some(root) = object.as_object_mut() else { return };
    match managed {
        Some(managed) => {
            let metadata = root.entry("metadata").or_insert_with(empty_object);
            if let Some(metadata) = metadata.as_object_mut() {
                metadata.insert("managedFields".into(), managed);
            }
        }
        None => {
            if let Some(metadata) = root.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.shift_remove("managedFields");
            }
        }
    }
}

fn api_version_of(object: Option<&Value>) -> Option<&str> {
    object?.get("apiVersion").and_then(Value::as_str).filter(|v| !v.is_empty())
}

/// Upstream's structured-merge update step: other managers lose the fields that changed
/// (unless `force` is off, which reports them as conflicts) and every manager loses the fields
/// that went away.
fn update<S: ApplySchema>(
    old: &Value,
    new: &Value,
    managers: &mut Managers,
    acting: &str,
    force: bool,
    ignored: &FieldSet,
    schema: Option<&S>,
) -> Result<Comparison, ApplyError> {
    let mut comparison = walk::compare(old, new, schema).map_err(ApplyError::Invalid)?;
    comparison.exclude(ignored);
    let others = managers.keys().any(|id| id.as_str() != acting);
    let changed = if others { comparison.modified.union(&comparison.added) } else { FieldSet::default() };
    let conflicts: Vec<(String, FieldSet)> = managers
        .iter()
        .filter(|(id, _)| id.as_str() != acting)
        .map(|(id, entry)| (id.clone(), entry.set.intersection(&changed)))
        .filter(|(_, set)| !set.is_empty())
        .collect();
    if !force && !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(describe(&conflicts, managers)));
    }
    for (id, lost) in &conflicts {
        if let Some(entry) = managers.get_mut(id) {
            entry.set = entry.set.difference(lost);
        }
    }
    if !comparison.removed.is_empty() {
        for (id, entry) in managers.iter_mut() {
            if id != acting {
                entry.set = entry.set.difference(&comparison.removed);
            }
        }
    }
    managers.retain(|_, entry| !entry.set.is_empty());
    Ok(comparison)
}

/// Conflicts by manager identity, each manager's fields in set order.
fn describe(conflicts: &[(String, FieldSet)], managers: &Managers) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (id, set) in conflicts {
        let Some(entry) = managers.get(id) else { continue };
        for path in set.paths() {
            out.push(Conflict {
                manager: entry.manager.clone(),
                operation: entry.operation,
                api_version: entry.api_version.clone(),
                subresource: (!entry.subresource.is_empty()).then(|| entry.subresource.clone()),
                path: path_string(&path),
            });
        }
    }
    out
}

/// Records a non-apply write: the fields it added or changed join `manager`'s Update entry
/// (leaving everyone else's), fields it removed leave every entry.
#[allow(clippy::too_many_arguments)]
fn record<S: ApplySchema>(
    old: &Value,
    new: &Value,
    managers: &mut Managers,
    manager: &str,
    api_version: &str,
    subresource: &str,
    ignored: &FieldSet,
    schema: Option<&S>,
    now: &str,
) -> Result<(), ApplyError> {
    let Comparison { added: mut taken, modified, .. } =
        update(old, new, managers, CURRENT_OPERATION, true, ignored, schema)?;
    taken.merge(modified);
    taken.remove(ignored, true);
    taken.remove(managed::strip_set(), false);
    // Only a write that changed something the manager now owns moves its entry's time.
    if !taken.is_empty() {
        let id = identity(manager, Operation::Update, Some(api_version), subresource);
        if let Some(previous) = managers.remove(&id) {
            taken.merge(previous.set);
        }
        let entry = Entry {
            manager: manager.into(),
            operation: Operation::Update,
            api_version: api_version.into(),
            subresource: subresource.into(),
            time: Some(now.into()),
            set: taken,
        };
        managers.insert(id, entry);
    }
    managed::cap_update_managers(managers);
    Ok(())
}

/// Removes the fields the applier stopped declaring, unless another manager (or its new
/// configuration) still owns them; fields it never owned stay.
fn prune<S: ApplySchema>(
    merged: &Value,
    managers: &Managers,
    last: Option<&FieldSet>,
    schema: Option<&S>,
) -> Result<Value, ApplyError> {
    let Some(last) = last.filter(|set| !set.is_empty()) else {
        return Ok(merged.clone());
    };
    let named = |set: &FieldSet| walk::with_named_fields(set, schema);
    let owned_paths =
        |value: &Value| walk::field_set(value, schema).map(|set| named(&set)).map_err(ApplyError::Invalid);
    let last = named(last);
    let merged_set = owned_paths(merged)?;
    // Everything last applied goes, then whatever anyone owns comes back...
    let pruned = walk::remove(merged, &last, schema, Emptied::Null);
    let owned = named(&managers.values().fold(FieldSet::default(), |all, e| all.union(&e.set)));
    let gone = merged_set.difference(&owned_paths(&pruned)?.union(&owned));
    let pruned = walk::remove(merged, &gone, schema, Emptied::Null);
    // ...and only what the applier had owned is really removed.
    let gone = merged_set.difference(&owned_paths(&pruned)?).intersection(&last);
    Ok(walk::remove(merged, &gone, schema, Emptied::Drop))
}

pub(super) fn apply<S: ApplySchema>(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    scope: Scope<'_>,
    schema: Option<&S>,
    now: &str,
) -> Result<Value, ApplyError> {
    let Some(config) = applied.as_object() else {
        return Err(ApplyError::BadRequest("the apply configuration must be an object".into()));
    };
    let declared_managed = config.get("metadata").and_then(|m| m.get("managedFields"));
    if declared_managed.is_some_and(|m| !m.is_null()) {
        return Err(ApplyError::BadRequest("metadata.managedFields must be nil".into()));
    }
    let api_version = api_version_of(Some(applied)).or(api_version_of(live)).unwrap_or_default().to_owned();
    let subresource = scope.subresource.unwrap_or_default();
    let ignored = reset_set(scope.reset_fields);

    let mut current = live.cloned().unwrap_or_else(empty_object);
    let mut managers = managed::decode(take_managed(&mut current).as_ref())
        .map_err(|e| ApplyError::Invalid(format!("failed to decode managed fields: {e}")))?;
    if managers.is_empty() && live.is_some() {
        record(
            &empty_object(),
            &current,
            &mut managers,
            BEFORE_FIRST_APPLY,
            &api_version,
            subresource,
            &ignored,
            schema,
            now,
        )
        .map_err(|e| ApplyError::Invalid(format!("failed to create manager for existing fields: {}", e.message())))?;
    }

    let merged = walk::merge(&current, applied, schema).map_err(ApplyError::Invalid)?;
    let id = identity(manager, Operation::Apply, None, subresource);
    let last = managers.get(&id).map(|e| e.set.clone());
    let declared = walk::field_set(applied, schema).map_err(ApplyError::Invalid)?.recursive_difference(&ignored);
    let entry = Entry {
        manager: manager.into(),
        operation: Operation::Apply,
        api_version,
        subresource: subresource.into(),
        time: managers.get(&id).and_then(|e| e.time.clone()),
        set: declared,
    };
    managers.insert(id.clone(), entry);
    let result = prune(&merged, &managers, last.as_ref(), schema)?;
    update(&current, &result, &mut managers, &id, force, &ignored, schema)?;

    // The applier never owns identity or server-set metadata.
    if let Some(entry) = managers.get_mut(&id) {
        entry.set.remove(managed::strip_set(), false);
        if entry.set.is_empty() {
            managers.remove(&id);
        }
    }
    // An apply that changes nothing keeps the object, and the applier's time, as they were.
    let changed = !values_equal(&current, &result);
    let mut result = if changed { result } else { current };
    if changed {
        walk::drop_applied_nulls(&mut result, applied, schema);
    }
    if let Some(entry) = managers.get_mut(&id).filter(|_| changed) {
        entry.time = Some(now.into());
    }
    put_managed(&mut result, managed::encode(&managers));
    Ok(result)
}

pub(super) fn record_update<S: ApplySchema>(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    scope: Scope<'_>,
    schema: Option<&S>,
    now: &str,
) {
    let subresource = scope.subresource.unwrap_or_default();
    let mut previous = old.cloned().unwrap_or_else(empty_object);
    let live_managed = take_managed(&mut previous);
    let sent_managed = take_managed(new);
    let from_live = || managed::decode(live_managed.as_ref()).unwrap_or_default();
    // Writes through a subresource cannot set managedFields; other writes may replace or
    // clear them, and keep the live ones when they send none (or garbage).
    let mut managers = if !subresource.is_empty() {
        from_live()
    } else if managed::is_reset(sent_managed.as_ref()) {
        Managers::new()
    } else {
        match managed::decode(sent_managed.as_ref()) {
            Ok(sent) if !sent.is_empty() => sent,
            _ => from_live(),
        }
    };
    // An existing object nobody tracks stays untracked until its first apply.
    if managers.is_empty() && old.is_some() {
        return;
    }
    let api_version = api_version_of(Some(new)).or(api_version_of(old)).unwrap_or_default().to_owned();
    let ignored = reset_set(scope.reset_fields);
    match record(&previous, new, &mut managers, manager, &api_version, subresource, &ignored, schema, now) {
        Ok(()) => put_managed(new, managed::encode(&managers)),
        // Never fail a write over bookkeeping: keep what the live object had.
        Err(_) => put_managed(new, live_managed),
    }
}

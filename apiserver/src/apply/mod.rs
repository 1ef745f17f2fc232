//! Server-side apply (`application/apply-patch+yaml`) and field ownership, as pure functions
//! over `serde_json` values, behaving like kube-apiserver 1.33's field manager on top of
//! structured-merge-diff v4.
//!
//! Every object records in `metadata.managedFields` which manager owns which fields: one entry
//! per manager and operation (`Apply`, or `Update` per apiVersion), each a FieldsV1 set such as
//! `{"f:data": {"f:key": {}}}` (`f:` a field or map key, `k:{...}` a list-map item by its keys,
//! `v:...` a set item, `"."` the node itself where it also has owned children).
//!
//! - [`apply`] merges an applied configuration into the live object (or creates it): the
//!   configuration's fields replace leaves, granular maps merge by key, `set` and `map` lists by
//!   item, atomic lists and maps are replaced. The applier then owns exactly what it declared;
//!   fields it declared last time and dropped now are removed unless someone else owns them.
//!   Changing a field another manager owns is a conflict ([`ApplyError::Conflicts`], HTTP 409)
//!   unless `force`, which moves the field to the applier.
//! - [`record_update`] does the bookkeeping for every other write (create, update, patch): the
//!   writer's Update entry gains the fields it added or changed, which leave everyone else's.
//!
//! The schema is the type's OpenAPI v3 node ([`crate::patch::strategic::SchemaNode`] implements
//! [`ApplySchema`]); without one (`None`), objects merge by key and lists are atomic. List types
//! come from `x-kubernetes-list-type` / `x-kubernetes-list-map-keys`, or from the patch strategy
//! where a built-in type has none (merge with a key: a map by that key; merge without: a set);
//! `x-kubernetes-map-type: atomic` makes a struct or map one leaf.
//!
//! Upstream behaviour kept on purpose:
//! - `apiVersion`, `kind`, `metadata.name`/`namespace` and the server-set metadata (uid,
//!   resourceVersion, generation, creationTimestamp, managedFields, ...) are never owned.
//! - An applier is one manager across apiVersions; Update entries are per apiVersion. Field
//!   sets of other versions are used as they are (nothing here converts between versions).
//! - Applying to an object with no managedFields first records its existing fields as owned by
//!   `before-first-apply` (Update), so changing them conflicts; an update to an object with no
//!   managedFields leaves it untracked.
//! - An apply that changes nothing keeps the object as it was, the applier's time included.
//! - At most ten Update entries are kept; the oldest fold into `ancient-changes`.
//! - An applied `null` counts as a value (nulling another manager's field conflicts) and is
//!   owned; on a leaf it then clears the field, on a map or list it merges nothing away.
//! - A list item the applier stops declaring goes even when another manager owns fields inside
//!   it (only owning the item itself keeps it).
//!
//! Not here: the kubectl last-applied annotation interplay, defaulting and validation of the
//! result, and choosing the manager name of clients that send none.

mod compiled;
mod fieldset;

pub(crate) use fieldset::go_json_string;
mod managed;
mod schema;
mod updater;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_openapi;

use std::fmt;

use serde_json::Value;

pub use compiled::{Compiled, CompiledNode};
pub use schema::ApplySchema;

/// Which kind of write a managedFields entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// Where a write lands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The subresource written through (`status`, `scale`); `None` for the main resource.
    pub subresource: Option<&'a str>,
    /// Field paths the endpoint's strategy resets (upstream's reset fields), e.g.
    /// `&[&["status"]]` for the main resource of a kind with a status subresource: nobody takes
    /// ownership of, or conflicts over, anything under them.
    pub reset_fields: &'a [&'a [&'a str]],
}

/// A field another manager owns and the apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
    /// Upstream's path syntax: `.spec.template.spec.containers[name="app"].image`.
    pub path: String,
}

impl Conflict {
    /// The owner as upstream names it: `"kubectl"`, `"kube-controller-manager" using apps/v1`
    /// (Update owners carry their version), `"x" with subresource "status"`.
    pub fn owner(&self) -> String {
        let mut out = fieldset::go_quote(&self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {}", fieldset::go_quote(sub)));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    /// The cause's message: `conflict with "other" using v1`.
    pub fn message(&self) -> String {
        format!("conflict with {}", self.owner())
    }

    fn identity(&self) -> String {
        let version = (self.operation == Operation::Update).then_some(self.api_version.as_str());
        managed::identity(&self.manager, self.operation, version, self.subresource.as_deref().unwrap_or_default())
    }
}

/// One `details.causes` entry of a conflict answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictCause {
    /// Always `FieldManagerConflict`.
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// 400: the configuration is not acceptable (`metadata.managedFields must be nil`).
    BadRequest(String),
    /// 409 `Conflict`: fields other managers own, in manager then field order.
    Conflicts(Vec<Conflict>),
    /// The configuration or live object does not fit the schema (a list-map item without its
    /// key, duplicate keys, unreadable managedFields). Upstream answers 500 with the detail
    /// wrapped, e.g. `failed to create typed patch object (ns/name; apps/v1, Kind=Deployment): `.
    Invalid(String),
}

impl ApplyError {
    /// The HTTP status upstream answers with.
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Conflicts(_) => 409,
            Self::Invalid(_) => 500,
        }
    }

    /// The status `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::Conflicts(_) => "Conflict",
            Self::Invalid(_) => "InternalError",
        }
    }

    /// The status message; for conflicts upstream's text, e.g.
    /// `Apply failed with 1 conflict: conflict with "other" using v1: .data.key`.
    pub fn message(&self) -> String {
        match self {
            Self::BadRequest(m) | Self::Invalid(m) => m.clone(),
            Self::Conflicts(conflicts) => conflict_message(conflicts),
        }
    }

    /// The `details.causes` of a conflict answer (empty for the other errors).
    pub fn causes(&self) -> Vec<ConflictCause> {
        match self {
            Self::Conflicts(conflicts) => conflicts
                .iter()
                .map(|c| ConflictCause { reason: "FieldManagerConflict", message: c.message(), field: c.path.clone() })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!("Apply failed with 1 conflict: {}: {}", only.message(), only.path);
    }
    // Grouped by owner, owners in the order of their upstream identity.
    let mut owners: Vec<(String, &Conflict)> = Vec::new();
    for conflict in conflicts {
        let id = conflict.identity();
        if !owners.iter().any(|(seen, _)| *seen == id) {
            owners.push((id, conflict));
        }
    }
    owners.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = Vec::new();
    for (id, first) in &owners {
        lines.push(format!("conflicts with {}:", first.owner()));
        lines.extend(conflicts.iter().filter(|c| c.identity() == *id).map(|c| format!("- {}", c.path)));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApplyError {}

/// Applies `applied` (an apply configuration, already decoded from YAML) as `manager` to `live`
/// (`None` creates the object) and returns the object to store, `metadata.managedFields`
/// included. `now` is the RFC 3339 time recorded for the applier.
pub fn apply<S: ApplySchema>(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    schema: Option<&S>,
    now: &str,
) -> Result<Value, ApplyError> {
    apply_scoped(live, applied, manager, force, Scope::default(), schema, now)
}

/// [`apply`] through a subresource and/or with reset fields.
pub fn apply_scoped<S: ApplySchema>(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    scope: Scope<'_>,
    schema: Option<&S>,
    now: &str,
) -> Result<Value, ApplyError> {
    updater::apply(live, applied, manager, force, scope, schema, now)
}

/// Records a create (`old` is `None`), update or non-apply patch by `manager` in
/// `new.metadata.managedFields`. `new` may carry managedFields of its own: a non-empty valid
/// list replaces the live one, `[]` (or `[{}]`) clears them; through a subresource they are
/// ignored. Never fails: when the bookkeeping cannot be done `new` keeps the live entries.
pub fn record_update<S: ApplySchema>(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    schema: Option<&S>,
    now: &str,
) {
    record_update_scoped(old, new, manager, Scope { subresource, reset_fields: &[] }, schema, now);
}

/// [`record_update`] with reset fields.
pub fn record_update_scoped<S: ApplySchema>(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    scope: Scope<'_>,
    schema: Option<&S>,
    now: &str,
) {
    updater::record_update(old, new, manager, scope, schema, now);
}

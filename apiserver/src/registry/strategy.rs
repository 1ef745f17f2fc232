//! What differs between resources, in the spirit of upstream's `rest.RESTCreateStrategy` /
//! `RESTUpdateStrategy`: defaults, validation, the spec/status split, generation, graceful
//! deletion, and hooks that need the server (allocations, cross-object checks). The generic
//! machinery in `ops.rs` calls these; a resource implements only what differs.

use async_trait::async_trait;
use serde_json::Value;

use super::Ctx;
use crate::status::{ApiError, Cause};
use crate::validation::NameRule;

#[async_trait]
pub trait Strategy: Send + Sync + 'static {
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    /// The resource has a status subresource: writes to the resource keep the stored status,
    /// and writes to `/status` keep everything else.
    fn status_split(&self) -> bool {
        false
    }

    /// The metadata fields a write to `/status` carries from the request (upstream's status
    /// strategies keep the request's metadata and reset only what each names; custom
    /// resources take nothing but `status`).
    fn status_metadata(&self) -> &'static [&'static str] {
        if self.custom() { &[] } else { &["labels", "annotations", "finalizers", "ownerReferences"] }
    }

    /// `metadata.generation` starts at 1 and grows with every change outside metadata and
    /// status.
    fn bumps_generation(&self) -> bool {
        false
    }

    /// Whether an update changes what `metadata.generation` counts (when it bumps at all):
    /// everything outside metadata and status, unless the resource says otherwise.
    fn generation_changed(&self, new: &Value, old: &Value) -> bool {
        spec_of(new) != spec_of(old)
    }

    /// Defaults and resets before a create (e.g. status cleared).
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Resource-specific validation of a new object (metadata rules are checked generically).
    fn validate(&self, _obj: &Value) -> Vec<Cause> {
        Vec::new()
    }

    /// Defaults and resets before an update of the resource itself.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Validation of an update: the new object's rules plus what may not change.
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        self.validate(new)
    }

    /// A delete answers with the deleted object instead of a `Status`.
    fn return_deleted_object(&self) -> bool {
        false
    }

    /// The grace period a delete gets (`requested` from DeleteOptions); `None` or `Some(0)`
    /// deletes at once.
    fn grace_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }

    /// Called on delete before finalizers are looked at: marks the object as terminating in
    /// resource-specific ways and says whether it must wait (e.g. a namespace with
    /// `spec.finalizers`).
    fn begin_deletion(&self, _obj: &mut Value) -> bool {
        false
    }

    /// Whether a deleting object may go now that an update changed it (upstream: no finalizers
    /// left; namespaces also wait for `spec.finalizers`, which only `finalize` clears).
    fn finalized(&self, obj: &Value) -> bool {
        crate::object::finalizers(obj).is_empty()
    }

    /// Refuses deletions the resource never allows (e.g. the `default` namespace).
    fn check_delete(&self, _obj: &Value) -> Result<(), ApiError> {
        Ok(())
    }

    /// A custom resource (served from a definition, not built in).
    fn custom(&self) -> bool {
        false
    }

    /// Drops fields the kind's schema does not know and returns their paths; `None`: the kind is
    /// a built-in one, checked against its OpenAPI schema.
    fn prune(&self, _obj: &mut Value) -> Option<Vec<String>> {
        None
    }

    /// `kubectl get` columns of a custom resource (`None`: a built-in kind's printer).
    fn printer_columns(&self) -> Option<&[crate::crd::printer::Column]> {
        None
    }

    /// The OpenAPI schema of a custom resource's version, for `/openapi/v3`.
    fn openapi_schema(&self) -> Option<&Value> {
        None
    }

    /// A custom resource's schema compiled for server-side apply and managedFields (built-in
    /// kinds use their OpenAPI schema from [`crate::schema`]).
    fn field_schema(&self) -> Option<crate::apply::CompiledNode<'_>> {
        None
    }

    /// Defaults applied as the object is decoded, before admission sees it (and again after each
    /// mutating webhook); custom resources' schema defaults.
    fn default_fields(&self, _obj: &mut Value) {}

    /// A custom resource's conversion webhook (strategy `Webhook`); `None`: versions differ
    /// only in `apiVersion`, or the kind converts in `registry::conversion`.
    fn conversion(&self) -> Option<&crate::crd::conversion::Webhook> {
        None
    }

    /// Where the scale subresource reads and writes replicas (`None`: the workload kinds'
    /// `spec.replicas`, `status.replicas` and `spec.selector`).
    fn scale_paths(&self) -> Option<&ScalePaths> {
        None
    }

    /// A custom resource version's `selectableFields` (dotted paths without the leading dot).
    fn selectable_fields(&self) -> &[String] {
        &[]
    }

    /// Server-side work before a create is stored (allocations, references to other objects).
    async fn admit_create(&self, _ctx: &Ctx<'_>, _obj: &mut Value) -> Result<(), ApiError> {
        Ok(())
    }

    /// Server-side work before an update is stored.
    async fn admit_update(&self, _ctx: &Ctx<'_>, _new: &mut Value, _old: &Value) -> Result<(), ApiError> {
        Ok(())
    }

    /// After the object is gone from the store (release allocations).
    async fn deleted(&self, _ctx: &Ctx<'_>, _obj: &Value) {}
}

/// A custom resource's scale subresource (CRD `subresources.scale`), as JSON pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    /// Where the status keeps the serialized label selector, if anywhere.
    pub label_selector: Option<String>,
}

impl ScalePaths {
    /// From a definition's `subresources.scale` (`.spec.replicas`-style JSON paths).
    pub fn from_definition(scale: &Value) -> Option<Self> {
        let pointer = |k: &str| scale.get(k).and_then(Value::as_str).map(|p| p.replace('.', "/"));
        Some(Self {
            spec_replicas: pointer("specReplicasPath")?,
            status_replicas: pointer("statusReplicasPath")?,
            label_selector: pointer("labelSelectorPath"),
        })
    }
}

/// The strategy of resources with nothing specific beyond these flags.
pub struct Generic {
    pub name_rule: NameRule,
    pub status_split: bool,
    /// Whether a create keeps the status it is given (Nodes: the kubelet registers its node
    /// with capacity and conditions); otherwise status starts empty.
    pub status_on_create: bool,
    pub bumps_generation: bool,
    /// Fields (JSON pointers) an update may not change once set.
    pub immutable: &'static [&'static str],
}

#[async_trait]
impl Strategy for Generic {
    fn name_rule(&self) -> NameRule {
        self.name_rule
    }
    fn status_split(&self) -> bool {
        self.status_split
    }
    fn bumps_generation(&self) -> bool {
        self.bumps_generation
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status_split
            && !self.status_on_create
            && let Some(map) = obj.as_object_mut()
        {
            map.shift_remove("status");
        }
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        immutable_causes(self.immutable, new, old)
    }
}

/// `field is immutable` for each of `pointers` that was set and changed.
pub fn immutable_causes(pointers: &[&str], new: &Value, old: &Value) -> Vec<Cause> {
    pointers
        .iter()
        .filter(|p| old.pointer(p).is_some() && new.pointer(p) != old.pointer(p))
        .map(|p| {
            let field = p.trim_start_matches('/').replace('/', ".");
            Cause::invalid(field, new.pointer(p).unwrap_or(&Value::Null), "field is immutable")
        })
        .collect()
}

/// The part of an object that `generation` tracks: everything but metadata and status.
pub fn spec_of(obj: &Value) -> Value {
    match obj {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn immutable_fields_may_be_set_once_but_not_changed() {
        let old = json!({"roleRef": {"kind": "Role", "name": "a"}});
        let same = json!({"roleRef": {"kind": "Role", "name": "a"}, "subjects": []});
        let changed = json!({"roleRef": {"kind": "Role", "name": "b"}});
        assert!(immutable_causes(&["/roleRef"], &same, &old).is_empty());
        let causes = immutable_causes(&["/roleRef"], &changed, &old);
        assert_eq!((causes[0].field.as_str(), causes[0].reason), ("roleRef", "FieldValueInvalid"));
        assert!(
            immutable_causes(&["/spec/podCIDR"], &json!({"spec": {"podCIDR": "10.0.0.0/24"}}), &json!({"spec": {}}))
                .is_empty()
        );
    }

    #[test]
    fn generation_tracks_everything_but_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"x": "1"}}, "spec": {"replicas": 1}, "status": {"ready": 1}});
        let b = json!({"metadata": {"labels": {"x": "2"}}, "spec": {"replicas": 1}, "status": {"ready": 2}});
        assert_eq!(spec_of(&a), spec_of(&b));
        assert_ne!(spec_of(&a), spec_of(&json!({"spec": {"replicas": 2}})));
    }
}

//! The OpenAPI v3 schemas of the built-in kinds: k8s-openapi's schemars schemas, completed with
//! the Kubernetes extensions they lack (patch strategies and merge keys, list and map types, the
//! group-version-kind of each root type) from the generated facts in `extensions.rs`.
//!
//! One place serves every consumer: the `/openapi/v3` documents, strategic merge patch (merge
//! keys), and later server-side apply (list types).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::api;
use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use crate::apply::Compiled;
use crate::patch::strategic::SchemaNode;

mod extensions;

pub struct Schemas {
    /// `components.schemas`: every definition, by upstream name ("io.k8s.api.core.v1.Pod").
    pub defs: Map<String, Value>,
    /// (group, version, kind) -> definition name.
    roots: HashMap<(String, String, String), String>,
    /// Root definitions compiled for field-ownership walks, on first use.
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
}

/// The schemas, built on first use (a few milliseconds) and shared.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(build)
}

impl Schemas {
    pub fn root_name(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.roots.get(&(group.to_string(), version.to_string(), kind.to_string())).map(String::as_str)
    }

    /// The schema strategic merge patch walks for objects of this kind.
    pub fn patch_meta(&self, group: &str, version: &str, kind: &str) -> Option<SchemaNode<'_>> {
        SchemaNode::definition(self.root_name(group, version, kind)?, &self.defs)
    }

    /// The schema of this kind compiled for server-side apply and managedFields (compiled on
    /// first use, then shared).
    pub fn compiled(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Compiled>> {
        let name = self.root_name(group, version, kind)?;
        let mut cache = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(name) {
            return Some(c.clone());
        }
        let compiled = Arc::new(Compiled::new(&SchemaNode::definition(name, &self.defs)?));
        cache.insert(name.to_string(), compiled.clone());
        Some(compiled)
    }

    /// Every root kind: (group, version, kind, definition name).
    pub fn roots(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
        self.roots.iter().map(|((g, v, k), name)| (g.as_str(), v.as_str(), k.as_str(), name.as_str()))
    }
}

struct Builder {
    generator: schemars::SchemaGenerator,
    roots: HashMap<(String, String, String), String>,
}

impl Builder {
    fn root<T: JsonSchema>(&mut self, group: &str, version: &str, kind: &str) {
        self.generator.subschema_for::<T>();
        self.roots.insert((group.into(), version.into(), kind.into()), T::schema_name().to_string());
    }
}

fn build() -> Schemas {
    let mut b =
        Builder { generator: schemars::generate::SchemaSettings::openapi3().into_generator(), roots: HashMap::new() };
    {
        use api::core::v1 as core;
        b.root::<core::Binding>("", "v1", "Binding");
        b.root::<core::ComponentStatus>("", "v1", "ComponentStatus");
        b.root::<core::ConfigMap>("", "v1", "ConfigMap");
        b.root::<core::Endpoints>("", "v1", "Endpoints");
        b.root::<core::Event>("", "v1", "Event");
        b.root::<core::LimitRange>("", "v1", "LimitRange");
        b.root::<core::Namespace>("", "v1", "Namespace");
        b.root::<core::Node>("", "v1", "Node");
        b.root::<core::PersistentVolumeClaim>("", "v1", "PersistentVolumeClaim");
        b.root::<core::PersistentVolume>("", "v1", "PersistentVolume");
        b.root::<core::Pod>("", "v1", "Pod");
        b.root::<core::PodTemplate>("", "v1", "PodTemplate");
        b.root::<core::ReplicationController>("", "v1", "ReplicationController");
        b.root::<core::ResourceQuota>("", "v1", "ResourceQuota");
        b.root::<core::Secret>("", "v1", "Secret");
        b.root::<core::ServiceAccount>("", "v1", "ServiceAccount");
        b.root::<core::Service>("", "v1", "Service");
    }
    {
        use api::admissionregistration::v1 as a;
        let g = "admissionregistration.k8s.io";
        b.root::<a::MutatingWebhookConfiguration>(g, "v1", "MutatingWebhookConfiguration");
        b.root::<a::ValidatingAdmissionPolicy>(g, "v1", "ValidatingAdmissionPolicy");
        b.root::<a::ValidatingAdmissionPolicyBinding>(g, "v1", "ValidatingAdmissionPolicyBinding");
        b.root::<a::ValidatingWebhookConfiguration>(g, "v1", "ValidatingWebhookConfiguration");
    }
    b.root::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    );
    b.root::<k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService>(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
    );
    {
        use api::apps::v1 as apps;
        b.root::<apps::ControllerRevision>("apps", "v1", "ControllerRevision");
        b.root::<apps::DaemonSet>("apps", "v1", "DaemonSet");
        b.root::<apps::Deployment>("apps", "v1", "Deployment");
        b.root::<apps::ReplicaSet>("apps", "v1", "ReplicaSet");
        b.root::<apps::StatefulSet>("apps", "v1", "StatefulSet");
    }
    {
        use api::authentication::v1 as authn;
        b.root::<authn::SelfSubjectReview>("authentication.k8s.io", "v1", "SelfSubjectReview");
        b.root::<authn::TokenReview>("authentication.k8s.io", "v1", "TokenReview");
        b.root::<authn::TokenRequest>("authentication.k8s.io", "v1", "TokenRequest");
        use api::authorization::v1 as authz;
        let g = "authorization.k8s.io";
        b.root::<authz::LocalSubjectAccessReview>(g, "v1", "LocalSubjectAccessReview");
        b.root::<authz::SelfSubjectAccessReview>(g, "v1", "SelfSubjectAccessReview");
        b.root::<authz::SelfSubjectRulesReview>(g, "v1", "SelfSubjectRulesReview");
        b.root::<authz::SubjectAccessReview>(g, "v1", "SubjectAccessReview");
    }
    b.root::<api::autoscaling::v1::HorizontalPodAutoscaler>("autoscaling", "v1", "HorizontalPodAutoscaler");
    b.root::<api::autoscaling::v1::Scale>("autoscaling", "v1", "Scale");
    b.root::<api::autoscaling::v2::HorizontalPodAutoscaler>("autoscaling", "v2", "HorizontalPodAutoscaler");
    b.root::<api::batch::v1::CronJob>("batch", "v1", "CronJob");
    b.root::<api::batch::v1::Job>("batch", "v1", "Job");
    b.root::<api::certificates::v1::CertificateSigningRequest>(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
    );
    b.root::<api::coordination::v1::Lease>("coordination.k8s.io", "v1", "Lease");
    b.root::<api::discovery::v1::EndpointSlice>("discovery.k8s.io", "v1", "EndpointSlice");
    b.root::<api::events::v1::Event>("events.k8s.io", "v1", "Event");
    b.root::<api::flowcontrol::v1::FlowSchema>("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema");
    b.root::<api::flowcontrol::v1::PriorityLevelConfiguration>(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
    );
    {
        use api::networking::v1 as net;
        let g = "networking.k8s.io";
        b.root::<net::IngressClass>(g, "v1", "IngressClass");
        b.root::<net::Ingress>(g, "v1", "Ingress");
        b.root::<net::IPAddress>(g, "v1", "IPAddress");
        b.root::<net::NetworkPolicy>(g, "v1", "NetworkPolicy");
        b.root::<net::ServiceCIDR>(g, "v1", "ServiceCIDR");
    }
    b.root::<api::node::v1::RuntimeClass>("node.k8s.io", "v1", "RuntimeClass");
    b.root::<api::policy::v1::PodDisruptionBudget>("policy", "v1", "PodDisruptionBudget");
    b.root::<api::policy::v1::Eviction>("policy", "v1", "Eviction");
    {
        use api::rbac::v1 as rbac;
        let g = "rbac.authorization.k8s.io";
        b.root::<rbac::ClusterRoleBinding>(g, "v1", "ClusterRoleBinding");
        b.root::<rbac::ClusterRole>(g, "v1", "ClusterRole");
        b.root::<rbac::RoleBinding>(g, "v1", "RoleBinding");
        b.root::<rbac::Role>(g, "v1", "Role");
    }
    b.root::<api::scheduling::v1::PriorityClass>("scheduling.k8s.io", "v1", "PriorityClass");
    {
        use api::storage::v1 as storage;
        let g = "storage.k8s.io";
        b.root::<storage::CSIDriver>(g, "v1", "CSIDriver");
        b.root::<storage::CSINode>(g, "v1", "CSINode");
        b.root::<storage::CSIStorageCapacity>(g, "v1", "CSIStorageCapacity");
        b.root::<storage::StorageClass>(g, "v1", "StorageClass");
        b.root::<storage::VolumeAttachment>(g, "v1", "VolumeAttachment");
    }
    // Referenced by every document's operations.
    b.generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Patch>();
    b.generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>();
    b.generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>();
    let mut defs = b.generator.take_definitions(true);
    add_extensions(&mut defs);
    for ((group, version, kind), name) in &b.roots {
        if let Some(def) = defs.get_mut(name).and_then(Value::as_object_mut) {
            def.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": group, "version": version, "kind": kind}]),
            );
        }
    }
    Schemas { defs, roots: b.roots, compiled: Mutex::default() }
}

/// Puts each extension fact on its definition or property. A property that is a bare `$ref`
/// becomes `allOf: [{$ref}]` so the extension sits beside it, as upstream's documents have it.
fn add_extensions(defs: &mut Map<String, Value>) {
    for (def, prop, ext, value) in extensions::EXTENSIONS {
        let Ok(value) = serde_json::from_str::<Value>(value) else { continue };
        let Some(def) = defs.get_mut(*def).and_then(Value::as_object_mut) else { continue };
        let target = if prop.is_empty() {
            Some(def)
        } else {
            def.get_mut("properties").and_then(|p| p.get_mut(*prop)).and_then(Value::as_object_mut)
        };
        let Some(target) = target else { continue };
        if let Some(reference) = target.shift_remove("$ref") {
            target.insert("allOf".into(), json!([{"$ref": reference}]));
        }
        target.insert((*ext).to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::strategic::PatchMeta;

    #[test]
    fn pod_schema_carries_merge_keys_and_gvk() {
        let s = schemas();
        let pod = s.root_name("", "v1", "Pod").unwrap();
        assert_eq!(pod, "io.k8s.api.core.v1.Pod");
        assert_eq!(s.defs[pod]["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        let meta = s.patch_meta("", "v1", "Pod").unwrap();
        let containers = meta.field("spec").unwrap().field("containers").unwrap();
        assert_eq!(containers.patch_merge_key(), Some("name"));
        assert_eq!(containers.patch_strategy(), Some("merge"));
        let ports = containers.items().unwrap().field("ports").unwrap();
        assert_eq!(ports.patch_merge_key(), Some("containerPort"));
        assert!(s.defs.len() > 200, "every referenced type is defined");
    }
}

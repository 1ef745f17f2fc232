//! The built-in resources kube-apiserver 1.33 serves by default (GA group-versions only), with the
//! facts its discovery documents publish. Scope, verbs, subresources and their body kinds follow the
//! upstream OpenAPI documents; short names, categories and singular names follow the registry.
//! A subresource is listed only once it is served (discovery never advertises a 405).
//!
//! Sorted by group, then version, then plural, so a reader (and the tests) can find things by eye.

use super::{ResourceInfo, Subresource};

// Verb sets. Discovery lists verbs sorted alphabetically, so every set below is sorted too.
const CRUD: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// Namespaces cannot be deleted as a collection.
const CRUD_NO_DELETECOLLECTION: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
/// Review-style resources and bindings: POST only.
const CREATE: &[&str] = &["create"];
const GET_LIST: &[&str] = &["get", "list"];
/// Status-like subresources (status, scale, approval, ephemeralcontainers, resize).
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// attach/exec/portforward answer GET and POST, which discovery names get and create.
const CONNECT: &[&str] = &["create", "get"];
/// proxy answers every HTTP method; HEAD and OPTIONS have no verb of their own.
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
const GET: &[&str] = &["get"];
const UPDATE: &[&str] = &["update"];

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource { name, group, version, kind, verbs }
}

pub static BUILTIN: &[ResourceInfo] = &[
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Binding",
        plural: "bindings",
        singular: "binding",
        namespaced: true,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ComponentStatus",
        plural: "componentstatuses",
        singular: "componentstatus",
        namespaced: false,
        verbs: GET_LIST,
        short_names: &["cs"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        namespaced: true,
        verbs: CRUD,
        short_names: &["cm"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        singular: "endpoints",
        namespaced: true,
        verbs: CRUD,
        short_names: &["ep"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        verbs: CRUD,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "LimitRange",
        plural: "limitranges",
        singular: "limitrange",
        namespaced: true,
        verbs: CRUD,
        short_names: &["limits"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        namespaced: false,
        verbs: CRUD_NO_DELETECOLLECTION,
        short_names: &["ns"],
        categories: &[],
        subresources: &[
            sub("finalize", "", "v1", "Namespace", UPDATE),
            sub("status", "", "v1", "Namespace", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        verbs: CRUD,
        short_names: &["no"],
        categories: &[],
        subresources: &[
            sub("proxy", "", "v1", "NodeProxyOptions", PROXY),
            sub("status", "", "v1", "Node", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PersistentVolumeClaim",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        namespaced: true,
        verbs: CRUD,
        short_names: &["pvc"],
        categories: &[],
        subresources: &[sub("status", "", "v1", "PersistentVolumeClaim", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PersistentVolume",
        plural: "persistentvolumes",
        singular: "persistentvolume",
        namespaced: false,
        verbs: CRUD,
        short_names: &["pv"],
        categories: &[],
        subresources: &[sub("status", "", "v1", "PersistentVolume", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        verbs: CRUD,
        short_names: &["po"],
        categories: &["all"],
        subresources: &[
            sub("attach", "", "v1", "PodAttachOptions", CONNECT),
            sub("binding", "", "v1", "Binding", CREATE),
            sub("exec", "", "v1", "PodExecOptions", CONNECT),
            sub("log", "", "v1", "Pod", GET),
            sub("portforward", "", "v1", "PodPortForwardOptions", CONNECT),
            sub("status", "", "v1", "Pod", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PodTemplate",
        plural: "podtemplates",
        singular: "podtemplate",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        plural: "replicationcontrollers",
        singular: "replicationcontroller",
        namespaced: true,
        verbs: CRUD,
        short_names: &["rc"],
        categories: &["all"],
        subresources: &[
            sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE),
            sub("status", "", "v1", "ReplicationController", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ResourceQuota",
        plural: "resourcequotas",
        singular: "resourcequota",
        namespaced: true,
        verbs: CRUD,
        short_names: &["quota"],
        categories: &[],
        subresources: &[sub("status", "", "v1", "ResourceQuota", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        singular: "secret",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        namespaced: true,
        verbs: CRUD,
        short_names: &["sa"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        singular: "service",
        namespaced: true,
        verbs: CRUD,
        short_names: &["svc"],
        categories: &["all"],
        subresources: &[sub("status", "", "v1", "Service", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        version: "v1",
        kind: "MutatingWebhookConfiguration",
        plural: "mutatingwebhookconfigurations",
        singular: "mutatingwebhookconfiguration",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &["api-extensions"],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        version: "v1",
        kind: "ValidatingAdmissionPolicy",
        plural: "validatingadmissionpolicies",
        singular: "validatingadmissionpolicy",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &["api-extensions"],
        subresources: &[sub(
            "status",
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            GET_PATCH_UPDATE,
        )],
        storage: None,
    },
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        version: "v1",
        kind: "ValidatingAdmissionPolicyBinding",
        plural: "validatingadmissionpolicybindings",
        singular: "validatingadmissionpolicybinding",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &["api-extensions"],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        version: "v1",
        kind: "ValidatingWebhookConfiguration",
        plural: "validatingwebhookconfigurations",
        singular: "validatingwebhookconfiguration",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &["api-extensions"],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        singular: "customresourcedefinition",
        namespaced: false,
        verbs: CRUD,
        short_names: &["crd", "crds"],
        categories: &["api-extensions"],
        subresources: &[sub("status", "apiextensions.k8s.io", "v1", "CustomResourceDefinition", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "apiregistration.k8s.io",
        version: "v1",
        kind: "APIService",
        plural: "apiservices",
        singular: "apiservice",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &["api-extensions"],
        subresources: &[sub("status", "apiregistration.k8s.io", "v1", "APIService", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "ControllerRevision",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        plural: "daemonsets",
        singular: "daemonset",
        namespaced: true,
        verbs: CRUD,
        short_names: &["ds"],
        categories: &["all"],
        subresources: &[sub("status", "apps", "v1", "DaemonSet", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        singular: "deployment",
        namespaced: true,
        verbs: CRUD,
        short_names: &["deploy"],
        categories: &["all"],
        subresources: &[
            sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE),
            sub("status", "apps", "v1", "Deployment", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        singular: "replicaset",
        namespaced: true,
        verbs: CRUD,
        short_names: &["rs"],
        categories: &["all"],
        subresources: &[
            sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE),
            sub("status", "apps", "v1", "ReplicaSet", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "StatefulSet",
        plural: "statefulsets",
        singular: "statefulset",
        namespaced: true,
        verbs: CRUD,
        short_names: &["sts"],
        categories: &["all"],
        subresources: &[
            sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE),
            sub("status", "apps", "v1", "StatefulSet", GET_PATCH_UPDATE),
        ],
        storage: None,
    },
    ResourceInfo {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "SelfSubjectReview",
        plural: "selfsubjectreviews",
        singular: "selfsubjectreview",
        namespaced: false,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenReview",
        plural: "tokenreviews",
        singular: "tokenreview",
        namespaced: false,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "LocalSubjectAccessReview",
        plural: "localsubjectaccessreviews",
        singular: "localsubjectaccessreview",
        namespaced: true,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectAccessReview",
        plural: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        namespaced: false,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectRulesReview",
        plural: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        namespaced: false,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SubjectAccessReview",
        plural: "subjectaccessreviews",
        singular: "subjectaccessreview",
        namespaced: false,
        verbs: CREATE,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "autoscaling",
        version: "v1",
        kind: "HorizontalPodAutoscaler",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        namespaced: true,
        verbs: CRUD,
        short_names: &["hpa"],
        categories: &["all"],
        subresources: &[sub("status", "autoscaling", "v1", "HorizontalPodAutoscaler", GET_PATCH_UPDATE)],
        storage: Some(("autoscaling", "v2")),
    },
    ResourceInfo {
        group: "autoscaling",
        version: "v2",
        kind: "HorizontalPodAutoscaler",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        namespaced: true,
        verbs: CRUD,
        short_names: &["hpa"],
        categories: &["all"],
        subresources: &[sub("status", "autoscaling", "v2", "HorizontalPodAutoscaler", GET_PATCH_UPDATE)],
        storage: Some(("autoscaling", "v2")),
    },
    ResourceInfo {
        group: "batch",
        version: "v1",
        kind: "CronJob",
        plural: "cronjobs",
        singular: "cronjob",
        namespaced: true,
        verbs: CRUD,
        short_names: &["cj"],
        categories: &["all"],
        subresources: &[sub("status", "batch", "v1", "CronJob", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "batch",
        version: "v1",
        kind: "Job",
        plural: "jobs",
        singular: "job",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &["all"],
        subresources: &[sub("status", "batch", "v1", "Job", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "certificates.k8s.io",
        version: "v1",
        kind: "CertificateSigningRequest",
        plural: "certificatesigningrequests",
        singular: "certificatesigningrequest",
        namespaced: false,
        verbs: CRUD,
        short_names: &["csr"],
        categories: &[],
        subresources: &[sub("status", "certificates.k8s.io", "v1", "CertificateSigningRequest", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        plural: "endpointslices",
        singular: "endpointslice",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        verbs: CRUD,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        storage: Some(("", "v1")),
    },
    ResourceInfo {
        group: "flowcontrol.apiserver.k8s.io",
        version: "v1",
        kind: "FlowSchema",
        plural: "flowschemas",
        singular: "flowschema",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[sub("status", "flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "flowcontrol.apiserver.k8s.io",
        version: "v1",
        kind: "PriorityLevelConfiguration",
        plural: "prioritylevelconfigurations",
        singular: "prioritylevelconfiguration",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[sub(
            "status",
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            GET_PATCH_UPDATE,
        )],
        storage: None,
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "IngressClass",
        plural: "ingressclasses",
        singular: "ingressclass",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "Ingress",
        plural: "ingresses",
        singular: "ingress",
        namespaced: true,
        verbs: CRUD,
        short_names: &["ing"],
        categories: &[],
        subresources: &[sub("status", "networking.k8s.io", "v1", "Ingress", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "IPAddress",
        plural: "ipaddresses",
        singular: "ipaddress",
        namespaced: false,
        verbs: CRUD,
        short_names: &["ip"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "NetworkPolicy",
        plural: "networkpolicies",
        singular: "networkpolicy",
        namespaced: true,
        verbs: CRUD,
        short_names: &["netpol"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "ServiceCIDR",
        plural: "servicecidrs",
        singular: "servicecidr",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[sub("status", "networking.k8s.io", "v1", "ServiceCIDR", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "node.k8s.io",
        version: "v1",
        kind: "RuntimeClass",
        plural: "runtimeclasses",
        singular: "runtimeclass",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "policy",
        version: "v1",
        kind: "PodDisruptionBudget",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        namespaced: true,
        verbs: CRUD,
        short_names: &["pdb"],
        categories: &[],
        subresources: &[sub("status", "policy", "v1", "PodDisruptionBudget", GET_PATCH_UPDATE)],
        storage: None,
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        singular: "clusterrole",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        singular: "rolebinding",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "Role",
        plural: "roles",
        singular: "role",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "scheduling.k8s.io",
        version: "v1",
        kind: "PriorityClass",
        plural: "priorityclasses",
        singular: "priorityclass",
        namespaced: false,
        verbs: CRUD,
        short_names: &["pc"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "CSIDriver",
        plural: "csidrivers",
        singular: "csidriver",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "CSINode",
        plural: "csinodes",
        singular: "csinode",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "CSIStorageCapacity",
        plural: "csistoragecapacities",
        singular: "csistoragecapacity",
        namespaced: true,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "StorageClass",
        plural: "storageclasses",
        singular: "storageclass",
        namespaced: false,
        verbs: CRUD,
        short_names: &["sc"],
        categories: &[],
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "VolumeAttachment",
        plural: "volumeattachments",
        singular: "volumeattachment",
        namespaced: false,
        verbs: CRUD,
        short_names: &[],
        categories: &[],
        subresources: &[sub("status", "storage.k8s.io", "v1", "VolumeAttachment", GET_PATCH_UPDATE)],
        storage: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn find(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        BUILTIN
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .unwrap_or_else(|| panic!("{group}/{version} {plural} missing"))
    }

    #[test]
    fn sorted_by_group_version_plural_without_duplicates() {
        for pair in BUILTIN.windows(2) {
            let a = (pair[0].group, pair[0].version, pair[0].plural);
            let b = (pair[1].group, pair[1].version, pair[1].plural);
            assert!(a < b, "{a:?} must sort strictly before {b:?}");
        }
    }

    #[test]
    fn short_names_are_unique() {
        // A short name may recur across group-versions (events/ev in core and events.k8s.io,
        // hpa in autoscaling v1 and v2), but always for the same plural.
        let mut by_short: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut per_gv: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        for r in BUILTIN {
            for s in r.short_names {
                by_short.entry(s).or_default().insert(r.plural);
                assert!(per_gv.insert((r.group, r.version, s)), "short name {s} repeated in {}", r.api_version());
                assert!(
                    !BUILTIN.iter().any(|o| o.group == r.group && o.plural == *s),
                    "short name {s} shadows a plural"
                );
            }
        }
        for (s, plurals) in by_short {
            assert_eq!(plurals.len(), 1, "short name {s} names several resources: {plurals:?}");
        }
    }

    #[test]
    fn verbs_are_sorted_and_known() {
        let known = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
        let mut lists: Vec<(&str, &[&str])> = Vec::new();
        for r in BUILTIN {
            lists.push((r.plural, r.verbs));
            for s in r.subresources {
                lists.push((s.name, s.verbs));
            }
        }
        for (name, verbs) in lists {
            assert!(!verbs.is_empty(), "{name} has no verbs");
            assert!(verbs.windows(2).all(|w| w[0] < w[1]), "{name} verbs not sorted: {verbs:?}");
            assert!(verbs.iter().all(|v| known.contains(v)), "{name} has an unknown verb: {verbs:?}");
        }
    }

    #[test]
    fn names_are_consistent() {
        for r in BUILTIN {
            assert_eq!(r.singular, r.kind.to_lowercase(), "{}", r.plural);
            assert_eq!(r.plural, r.plural.to_lowercase());
            assert!(r.subresources.windows(2).all(|w| w[0].name < w[1].name), "{} subresources unsorted", r.plural);
            for s in r.subresources {
                if s.name == "status" {
                    assert_eq!((s.group, s.version, s.kind), (r.group, r.version, r.kind), "{}/status", r.plural);
                }
            }
        }
    }

    #[test]
    fn scope_matches_openapi_paths() {
        // Spot checks taken from the upstream OpenAPI paths: namespaced resources live under
        // /namespaces/{namespace}/, cluster-scoped ones do not.
        let cases = [
            ("", "v1", "pods", true),
            ("", "v1", "bindings", true),
            ("", "v1", "nodes", false),
            ("", "v1", "namespaces", false),
            ("", "v1", "persistentvolumes", false),
            ("", "v1", "componentstatuses", false),
            ("apps", "v1", "controllerrevisions", true),
            ("authorization.k8s.io", "v1", "localsubjectaccessreviews", true),
            ("authorization.k8s.io", "v1", "subjectaccessreviews", false),
            ("authentication.k8s.io", "v1", "selfsubjectreviews", false),
            ("storage.k8s.io", "v1", "csistoragecapacities", true),
            ("storage.k8s.io", "v1", "csinodes", false),
            ("networking.k8s.io", "v1", "ipaddresses", false),
            ("networking.k8s.io", "v1", "servicecidrs", false),
            ("rbac.authorization.k8s.io", "v1", "roles", true),
            ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", false),
            ("coordination.k8s.io", "v1", "leases", true),
            ("apiregistration.k8s.io", "v1", "apiservices", false),
        ];
        for (group, version, plural, namespaced) in cases {
            assert_eq!(find(group, version, plural).namespaced, namespaced, "{group}/{version} {plural}");
        }
    }

    #[test]
    fn spot_check_upstream_facts() {
        let pods = find("", "v1", "pods");
        assert_eq!(pods.short_names, &["po"]);
        assert_eq!(pods.categories, &["all"]);
        let names: Vec<&str> = pods.subresources.iter().map(|s| s.name).collect();
        // Only what is served: eviction, ephemeralcontainers, resize and proxy come with the
        // work that serves them.
        assert_eq!(names, ["attach", "binding", "exec", "log", "portforward", "status"]);

        assert_eq!(find("", "v1", "namespaces").verbs, CRUD_NO_DELETECOLLECTION);
        assert_eq!(find("", "v1", "componentstatuses").verbs, GET_LIST);
        assert_eq!(find("authentication.k8s.io", "v1", "tokenreviews").verbs, CREATE);

        for plural in ["deployments", "replicasets", "statefulsets"] {
            let scale = find("apps", "v1", plural).subresources.iter().find(|s| s.name == "scale").copied();
            assert_eq!(scale.map(|s| (s.group, s.version, s.kind)), Some(("autoscaling", "v1", "Scale")), "{plural}");
        }

        assert_eq!(find("apiextensions.k8s.io", "v1", "customresourcedefinitions").short_names, &["crd", "crds"]);

        let all: BTreeSet<&str> = BUILTIN.iter().filter(|r| r.categories.contains(&"all")).map(|r| r.plural).collect();
        let expected: BTreeSet<&str> = [
            "cronjobs",
            "daemonsets",
            "deployments",
            "horizontalpodautoscalers",
            "jobs",
            "pods",
            "replicasets",
            "replicationcontrollers",
            "services",
            "statefulsets",
        ]
        .into_iter()
        .collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn storage_overrides() {
        for r in BUILTIN {
            let expected = match (r.group, r.plural) {
                ("events.k8s.io", "events") => Some(("", "v1")),
                ("autoscaling", "horizontalpodautoscalers") => Some(("autoscaling", "v2")),
                _ => None,
            };
            assert_eq!(r.storage, expected, "{} {}", r.api_version(), r.plural);
        }
    }
}

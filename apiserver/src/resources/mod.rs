//! The catalog of resources the apiserver serves: for each, the facts discovery publishes and
//! routing needs (group, version, kind, names, scope, verbs, subresources).

mod builtin;

pub use builtin::BUILTIN;

/// One resource in one group-version, as `/apis/<group>/<version>` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; "" for the core group (`/api/v1`).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Lower-case plural, the URL segment: "pods".
    pub plural: &'static str,
    /// Lower-case singular: "pod".
    pub singular: &'static str,
    pub namespaced: bool,
    /// Verbs as upstream discovery lists them, in upstream order
    /// (e.g. create, delete, deletecollection, get, list, patch, update, watch).
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Where objects of this resource are stored when several group-versions serve the same
    /// objects (events in core/v1 and events.k8s.io/v1, autoscaling v1 and v2): the
    /// (group, version) whose representation is stored. `None`: stored as served.
    pub storage: Option<(&'static str, &'static str)>,
}

/// A subresource such as `pods/status` or `deployments/scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// "status", "scale", "binding", "log", "exec", ...
    pub name: &'static str,
    /// Group, version and kind of the subresource's body (e.g. scale: autoscaling, v1, Scale;
    /// status: the parent's own group/version/kind).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }
}

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

/// Facts of a resource known only at run time (a custom resource), before interning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dynamic {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// "status" and/or "scale".
    pub subresources: Vec<String>,
    /// The version objects are stored in (one per definition).
    pub storage_version: String,
}

/// A `&'static ResourceInfo` for run-time facts, so custom resources are served by the same
/// machinery as built-in ones. Each distinct set of facts is made once and kept (a handful of
/// definitions over the life of a server), so re-creating a definition reuses it.
pub fn intern(d: &Dynamic) -> &'static ResourceInfo {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static INTERNED: OnceLock<Mutex<HashMap<Dynamic, &'static ResourceInfo>>> = OnceLock::new();
    let mut interned = INTERNED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(info) = interned.get(d) {
        return info;
    }
    let s = |v: &str| -> &'static str { Box::leak(v.to_string().into_boxed_str()) };
    let list = |v: &[String]| -> &'static [&'static str] {
        Box::leak(v.iter().map(|x| s(x)).collect::<Vec<_>>().into_boxed_slice())
    };
    let (group, version, kind) = (s(&d.group), s(&d.version), s(&d.kind));
    const CRUD: &[&str] = &["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];
    const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
    let subresources: Vec<Subresource> = d
        .subresources
        .iter()
        .filter_map(|name| match name.as_str() {
            "status" => Some(Subresource { name: "status", group, version, kind, verbs: STATUS_VERBS }),
            "scale" => Some(Subresource {
                name: "scale",
                group: "autoscaling",
                version: "v1",
                kind: "Scale",
                verbs: STATUS_VERBS,
            }),
            _ => None,
        })
        .collect();
    let info: &'static ResourceInfo = Box::leak(Box::new(ResourceInfo {
        group,
        version,
        kind,
        plural: s(&d.plural),
        singular: s(&d.singular),
        namespaced: d.namespaced,
        verbs: CRUD,
        short_names: list(&d.short_names),
        categories: list(&d.categories),
        subresources: Box::leak(subresources.into_boxed_slice()),
        storage: (d.storage_version != d.version).then(|| (group, s(&d.storage_version))),
    }));
    interned.insert(d.clone(), info);
    info
}

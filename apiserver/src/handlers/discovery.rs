//! Discovery: which groups, versions and resources the server has. Legacy documents
//! (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`) and aggregated discovery
//! (`apidiscovery.k8s.io` v2 and v2beta1), chosen by the `Accept` header as upstream does.

use serde_json::{Value, json};

use crate::resources::ResourceInfo;

/// Groups in upstream's discovery priority order (kubectl resolves ambiguous short names with
/// it); versions in preference order.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("", &["v1"]),
    ("apiregistration.k8s.io", &["v1"]),
    ("apps", &["v1"]),
    ("events.k8s.io", &["v1"]),
    ("authentication.k8s.io", &["v1"]),
    ("authorization.k8s.io", &["v1"]),
    ("autoscaling", &["v2", "v1"]),
    ("batch", &["v1"]),
    ("certificates.k8s.io", &["v1"]),
    ("networking.k8s.io", &["v1"]),
    ("policy", &["v1"]),
    ("rbac.authorization.k8s.io", &["v1"]),
    ("storage.k8s.io", &["v1"]),
    ("admissionregistration.k8s.io", &["v1"]),
    ("apiextensions.k8s.io", &["v1"]),
    ("scheduling.k8s.io", &["v1"]),
    ("coordination.k8s.io", &["v1"]),
    ("node.k8s.io", &["v1"]),
    ("discovery.k8s.io", &["v1"]),
    ("flowcontrol.apiserver.k8s.io", &["v1"]),
];

/// Which aggregated discovery version the Accept header asks for, if any.
pub fn aggregated_version(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    for range in accept.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

pub fn content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// What the server serves right now (built-ins and custom resources).
pub type Served<'a> = &'a [&'static ResourceInfo];

fn resources_of<'a>(
    served: Served<'a>,
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    served.iter().copied().filter(move |r| r.group == group && r.version == version)
}

/// Upstream's version order: GA before beta before alpha, higher numbers first, then other
/// names alphabetically.
fn version_priority(v: &str) -> (u8, std::cmp::Reverse<u32>, std::cmp::Reverse<u32>, String) {
    let parse = |s: &str| s.parse::<u32>().ok();
    let rest = v.strip_prefix('v').unwrap_or("");
    let (major, tail) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len()));
    match (parse(major), tail) {
        (Some(m), "") => (0, std::cmp::Reverse(m), std::cmp::Reverse(0), String::new()),
        (Some(m), t) if t.starts_with("beta") && parse(&t[4..]).is_some() => {
            (1, std::cmp::Reverse(m), std::cmp::Reverse(parse(&t[4..]).unwrap_or(0)), String::new())
        }
        (Some(m), t) if t.starts_with("alpha") && parse(&t[5..]).is_some() => {
            (2, std::cmp::Reverse(m), std::cmp::Reverse(parse(&t[5..]).unwrap_or(0)), String::new())
        }
        _ => (3, std::cmp::Reverse(0), std::cmp::Reverse(0), v.to_string()),
    }
}

/// Served groups with their served versions, in discovery order: the built-in groups in
/// upstream's priority, then the others by name.
fn served_groups(served: Served<'_>) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = GROUPS
        .iter()
        .filter_map(|(group, versions)| {
            let present: Vec<&str> =
                versions.iter().copied().filter(|v| resources_of(served, group, v).next().is_some()).collect();
            (!present.is_empty()).then_some((*group, present))
        })
        .collect();
    let mut others: Vec<&'static str> =
        served.iter().map(|r| r.group).filter(|g| !GROUPS.iter().any(|(b, _)| b == g)).collect();
    others.sort_unstable();
    others.dedup();
    for group in others {
        let mut versions: Vec<&'static str> = served.iter().filter(|r| r.group == group).map(|r| r.version).collect();
        versions.sort_by_key(|v| version_priority(v));
        versions.dedup();
        out.push((group, versions));
    }
    out
}

fn gv(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

fn group_entry(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions.iter().map(|v| json!({"groupVersion": gv(group, v), "version": v})).collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
}

/// `GET /api`
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `GET /apis`
pub fn api_group_list(served: Served<'_>) -> Value {
    let groups: Vec<Value> =
        served_groups(served).into_iter().filter(|(g, _)| !g.is_empty()).map(|(g, v)| group_entry(g, &v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`
pub fn api_group(served: Served<'_>, group: &str) -> Option<Value> {
    let (_, versions) = served_groups(served).into_iter().find(|(g, _)| *g == group && !g.is_empty())?;
    let mut entry = group_entry(group, &versions);
    let map = entry.as_object_mut()?;
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), json!("APIGroup"));
    out.insert("apiVersion".into(), json!("v1"));
    out.append(map);
    Some(Value::Object(out))
}

/// `GET /api/v1` or `/apis/<group>/<version>`
pub fn api_resource_list(served: Served<'_>, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in resources_of(served, group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if let Some(map) = entry.as_object_mut() {
            if !r.short_names.is_empty() {
                map.insert("shortNames".into(), json!(r.short_names));
            }
            if !r.categories.is_empty() {
                map.insert("categories".into(), json!(r.categories));
            }
        }
        resources.push(entry);
        for s in r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if (s.group, s.version) != (r.group, r.version)
                && let Some(map) = sub.as_object_mut()
            {
                map.insert("group".into(), json!(s.group));
                map.insert("version".into(), json!(s.version));
            }
            resources.push(sub);
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv(group, version), "resources": resources}),
    )
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if let Some(map) = entry.as_object_mut() {
        if !r.short_names.is_empty() {
            map.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            map.insert("categories".into(), json!(r.categories));
        }
        if !r.subresources.is_empty() {
            let subs: Vec<Value> = r
                .subresources
                .iter()
                .map(|s| {
                    json!({
                        "subresource": s.name,
                        "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                        "verbs": s.verbs,
                    })
                })
                .collect();
            map.insert("subresources".into(), Value::Array(subs));
        }
    }
    entry
}

/// Aggregated discovery for `/api` (`legacy`: the core group only) or `/apis` (all others).
pub fn aggregated(served: Served<'_>, version: &str, legacy: bool) -> Value {
    let items: Vec<Value> = served_groups(served)
        .into_iter()
        .filter(|(g, _)| g.is_empty() == legacy)
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = resources_of(served, group, v).map(aggregated_resource).collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if group.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_selects_aggregated_discovery() {
        let kube_rs = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        let kubectl_129 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(Some(kube_rs)), Some("v2"));
        assert_eq!(aggregated_version(Some(kubectl_129)), Some("v2beta1"));
        assert_eq!(aggregated_version(Some("application/json")), None);
        assert_eq!(aggregated_version(None), None);
    }

    #[test]
    fn documents_list_the_catalog() {
        let served: Vec<&'static ResourceInfo> = crate::resources::BUILTIN.iter().collect();
        let served = served.as_slice();
        let groups = api_group_list(served);
        let names: Vec<&str> =
            groups["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"apps") && !names.contains(&""));
        let autoscaling = api_group(served, "autoscaling").unwrap();
        assert_eq!(autoscaling["preferredVersion"]["version"], "v2");
        let core = api_resource_list(served, "", "v1").unwrap();
        let pods = core["resources"].as_array().unwrap().iter().find(|r| r["name"] == "pods").unwrap();
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert!(core["resources"].as_array().unwrap().iter().any(|r| r["name"] == "pods/status"));
        let agg = aggregated(served, "v2", true);
        assert_eq!(agg["items"].as_array().unwrap().len(), 1);
        assert!(api_resource_list(served, "nope", "v1").is_none());
        let mut versions = vec!["v1beta1", "v2", "v1", "v1alpha1", "v2beta2", "foo"];
        versions.sort_by_key(|v| version_priority(v));
        assert_eq!(versions, ["v2", "v1", "v2beta2", "v1beta1", "v1alpha1", "foo"]);
    }
}

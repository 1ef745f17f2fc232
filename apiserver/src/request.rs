//! What a request asks for, read from its path, method, query and headers (upstream's
//! RequestInfo and the `*Options` query parameters). Pure parsing, no I/O.

use serde::Deserialize;

use crate::status::ApiError;

/// A resource request's target: `/api/v1/namespaces/ns/pods/name/status` and the like.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What an `/api` or `/apis` path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiPath {
    /// `/api`
    LegacyRoot,
    /// `/apis`
    GroupsRoot,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`
    GroupVersion {
        group: String,
        version: String,
    },
    Resource(Target),
}

/// Parses an API path. `namespaced(group, version, resource)` tells whether a resource is
/// namespaced (`None`: unknown), which decides how `/namespaces/<x>/<y>` reads: the resource
/// `y` in namespace `x`, or subresource `y` of the namespace `x`.
pub fn parse_path(path: &str, namespaced: impl Fn(&str, &str, &str) -> Option<bool>) -> Option<ApiPath> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => return Some(ApiPath::LegacyRoot),
        ["apis"] => return Some(ApiPath::GroupsRoot),
        ["apis", group] => return Some(ApiPath::Group(group.to_string())),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let gv = |t: Target| Target { group: group.to_string(), version: version.to_string(), ..t };
    let owned = |s: &&str| s.to_string();
    let target = match rest {
        [] => return Some(ApiPath::GroupVersion { group: group.into(), version: version.into() }),
        ["namespaces", ns, resource, tail @ ..] if namespaced(group, version, resource) == Some(true) => {
            if tail.len() > 2 {
                return None;
            }
            Target {
                namespace: Some(ns.to_string()),
                resource: resource.to_string(),
                name: tail.first().map(owned),
                subresource: tail.get(1).map(owned),
                ..Target::default()
            }
        }
        [resource, tail @ ..] if tail.len() <= 2 => Target {
            resource: resource.to_string(),
            name: tail.first().map(owned),
            subresource: tail.get(1).map(owned),
            ..Target::default()
        },
        _ => return None,
    };
    Some(ApiPath::Resource(gv(target)))
}

/// Every query parameter the resource endpoints understand, as sent (strings).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub watch: Option<String>,
    pub allow_watch_bookmarks: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub timeout_seconds: Option<String>,
    pub limit: Option<String>,
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    pub send_initial_events: Option<String>,
    pub dry_run: Option<String>,
    pub field_manager: Option<String>,
    pub field_validation: Option<String>,
    pub force: Option<String>,
    pub grace_period_seconds: Option<String>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<String>,
    pub include_object: Option<String>,
    pub pretty: Option<String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        // Empty pairs (`?&a=b`) are legal in kubectl's requests.
        let cleaned: String = raw.unwrap_or("").split('&').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("&");
        serde_urlencoded::from_str(&cleaned).map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
    }

    pub fn is_watch(&self) -> Result<bool, ApiError> {
        flag(&self.watch, "watch")
    }

    pub fn allow_bookmarks(&self) -> Result<bool, ApiError> {
        flag(&self.allow_watch_bookmarks, "allowWatchBookmarks")
    }

    pub fn send_initial_events(&self) -> Result<Option<bool>, ApiError> {
        self.send_initial_events.as_ref().map(|_| flag(&self.send_initial_events, "sendInitialEvents")).transpose()
    }

    /// `dryRun=All` (the only value upstream accepts).
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.dry_run.as_deref() {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => {
                Err(ApiError::bad_request(format!("Invalid dry run value: {other:?}: supported values: \"All\"")))
            }
        }
    }

    pub fn timeout(&self) -> Result<Option<std::time::Duration>, ApiError> {
        number(&self.timeout_seconds, "timeoutSeconds").map(|s| s.map(|s: u64| std::time::Duration::from_secs(s)))
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        Ok(number::<i64>(&self.limit, "limit")?.filter(|&l| l > 0).map_or(0, |l| l as usize))
    }

    pub fn grace_period(&self) -> Result<Option<i64>, ApiError> {
        number(&self.grace_period_seconds, "gracePeriodSeconds")
    }

    pub fn force(&self) -> Result<bool, ApiError> {
        flag(&self.force, "force")
    }

    /// `fieldValidation`: Strict, Warn (upstream's default) or Ignore.
    pub fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.field_validation.as_deref() {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Strict\", or \"Warn\", got {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

fn flag(v: &Option<String>, name: &str) -> Result<bool, ApiError> {
    match v.as_deref() {
        None | Some("") | Some("false") | Some("0") | Some("False") => Ok(false),
        Some("true") | Some("1") | Some("True") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!("invalid value for {name}: {other:?}"))),
    }
}

fn number<T: std::str::FromStr>(v: &Option<String>, name: &str) -> Result<Option<T>, ApiError> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ApiError::bad_request(format!("invalid value for {name}: {s:?}"))),
    }
}

/// What representation the client accepts for a resource response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// The object(s) as stored.
    Object,
    /// `meta.k8s.io/v1` Table (or v1beta1, which is the same shape).
    Table,
    /// PartialObjectMetadata / PartialObjectMetadataList.
    Metadata,
}

/// Reads the Accept header: the first media range we can produce wins. `Err` when the client
/// accepts nothing we produce (406).
pub fn negotiate(accept: Option<&str>) -> Result<Representation, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Ok(Representation::Object) };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> =
            parts.filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        let param = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        if !matches!(media, "application/json" | "application/*" | "*/*" | "application/yaml") {
            continue;
        }
        match (param("as"), param("g")) {
            (None, _) => return Ok(Representation::Object),
            (Some("Table"), Some("meta.k8s.io")) => return Ok(Representation::Table),
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                return Ok(Representation::Metadata);
            }
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json (asked for {accept:?})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(_: &str, _: &str, r: &str) -> Option<bool> {
        match r {
            "pods" | "configmaps" => Some(true),
            "nodes" | "namespaces" => Some(false),
            _ => None,
        }
    }

    fn target(
        group: &str,
        version: &str,
        namespace: Option<&str>,
        resource: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> ApiPath {
        ApiPath::Resource(Target {
            group: group.into(),
            version: version.into(),
            namespace: namespace.map(Into::into),
            resource: resource.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
        })
    }

    #[test]
    fn paths_resolve_like_upstream_request_info() {
        let cases = [
            ("/api", Some(ApiPath::LegacyRoot)),
            ("/apis", Some(ApiPath::GroupsRoot)),
            ("/apis/apps", Some(ApiPath::Group("apps".into()))),
            ("/api/v1", Some(ApiPath::GroupVersion { group: "".into(), version: "v1".into() })),
            ("/api/v1/pods", Some(target("", "v1", None, "pods", None, None))),
            ("/api/v1/namespaces/default/pods", Some(target("", "v1", Some("default"), "pods", None, None))),
            (
                "/api/v1/namespaces/default/pods/p/status",
                Some(target("", "v1", Some("default"), "pods", Some("p"), Some("status"))),
            ),
            ("/api/v1/namespaces", Some(target("", "v1", None, "namespaces", None, None))),
            ("/api/v1/namespaces/default", Some(target("", "v1", None, "namespaces", Some("default"), None))),
            (
                "/api/v1/namespaces/kube-system/finalize",
                Some(target("", "v1", None, "namespaces", Some("kube-system"), Some("finalize"))),
            ),
            ("/api/v1/nodes/n1/proxy", Some(target("", "v1", None, "nodes", Some("n1"), Some("proxy")))),
            (
                "/apis/apps/v1/namespaces/x/deployments/d/scale",
                Some(target("apps", "v1", Some("x"), "deployments", Some("d"), Some("scale"))),
            ),
            ("/api/v1/namespaces/default/pods/p/status/extra", None),
            ("/healthz", None),
        ];
        for (path, want) in cases {
            let got = parse_path(path, |g, v, r| if r == "deployments" { Some(true) } else { ns(g, v, r) });
            assert_eq!(got, want, "{path}");
        }
    }

    #[test]
    fn query_tolerates_empty_pairs_and_checks_values() {
        let q = Query::parse(Some("&labelSelector=app%3Dweb&&watch=1&limit=500&continue=abc")).unwrap();
        assert_eq!(q.label_selector.as_deref(), Some("app=web"));
        assert!(q.is_watch().unwrap());
        assert_eq!(q.limit().unwrap(), 500);
        assert_eq!(q.continue_.as_deref(), Some("abc"));
        assert!(Query::parse(Some("watch=maybe")).unwrap().is_watch().is_err());
        assert!(Query::parse(Some("dryRun=Some")).unwrap().dry_run().is_err());
        assert!(Query::parse(Some("dryRun=All")).unwrap().dry_run().unwrap());
    }

    #[test]
    fn accept_header_picks_the_first_representation_we_produce() {
        let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let cases = [
            (None, Ok(Representation::Object)),
            (Some("application/json"), Ok(Representation::Object)),
            (Some("*/*"), Ok(Representation::Object)),
            (Some(kubectl_get), Ok(Representation::Table)),
            (Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"), Ok(Representation::Metadata)),
            (
                Some("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json"),
                Ok(Representation::Object),
            ),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(accept), want, "{accept:?}");
        }
        assert_eq!(negotiate(Some("application/json;as=Table;v=v1;g=meta.k8s.io")), Ok(Representation::Table));
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf")).unwrap_err().code, 406);
    }
}

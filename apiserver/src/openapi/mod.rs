//! `/openapi/v3`: an index of group-versions and one OpenAPI 3.0 document each, built from the
//! schemas in `schema/`. kubectl reads them to decide on server-side field validation (the PATCH
//! operation's `fieldValidation` parameter), for `explain`, and for client-side apply.
//! `/openapi/v2` (in `v2.rs`, protobuf in `gnostic.rs`) is derived from them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::{Map, Value, json};

use crate::registry::Registry;
use crate::resources::ResourceInfo;
use crate::schema;
use crate::server::Api;
use crate::status::ApiError;

mod gnostic;
mod v2;

/// Documents by group-version path ("api/v1", "apis/apps/v1"), serialized once, with a hash;
/// the v2 document (JSON, protobuf) made from them on first demand.
struct Documents {
    docs: BTreeMap<String, (String, Vec<u8>)>,
    v2_json: OnceLock<Vec<u8>>,
    v2_proto: OnceLock<Vec<u8>>,
}

impl Documents {
    fn v2_json(&self) -> &[u8] {
        self.v2_json.get_or_init(|| {
            let doc = v2::document(self.docs.values().map(|(_, bytes)| bytes.as_slice()));
            serde_json::to_vec(&doc).unwrap_or_default()
        })
    }

    fn v2_proto(&self) -> &[u8] {
        self.v2_proto.get_or_init(|| {
            let doc: Value = serde_json::from_slice(self.v2_json()).unwrap_or(Value::Null);
            gnostic::encode(&doc)
        })
    }
}

/// The documents for what the registry serves now, rebuilt when that changes (a custom
/// resource definition came or went), so their hashes change with them.
fn documents(registry: &Registry) -> Arc<Documents> {
    static DOCS: Mutex<Option<(u64, Arc<Documents>)>> = Mutex::new(None);
    let generation = registry.generation();
    let mut cached = DOCS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((built, docs)) = cached.as_ref()
        && *built == generation
    {
        return docs.clone();
    }
    let served = registry.served();
    let docs = Arc::new(build(&served, &|r: &ResourceInfo| {
        registry.get(r.group, r.version, r.plural).and_then(|res| res.strategy.openapi_schema().cloned())
    }));
    *cached = Some((generation, docs.clone()));
    docs
}

/// The definition name of a custom kind, as upstream names them ("com.example.v1.Widget").
fn custom_def_name(r: &ResourceInfo) -> String {
    let reversed: Vec<&str> = r.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), r.version, r.kind)
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

type CustomSchema<'a> = &'a dyn Fn(&ResourceInfo) -> Option<Value>;

fn build(served: &[&'static ResourceInfo], custom: CustomSchema<'_>) -> Documents {
    let mut by_gv: BTreeMap<String, Vec<&'static ResourceInfo>> = BTreeMap::new();
    for r in served {
        by_gv.entry(gv_path(r.group, r.version)).or_default().push(r);
    }
    let docs = by_gv
        .into_iter()
        .map(|(path, resources)| {
            let doc = document_for(&resources, custom);
            let bytes = serde_json::to_vec(&doc).unwrap_or_default();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            (path, (format!("{:016X}", hasher.finish()), bytes))
        })
        .collect();
    Documents { docs, v2_json: OnceLock::new(), v2_proto: OnceLock::new() }
}

fn query_params(names: &[(&str, &str)]) -> Vec<Value> {
    names
        .iter()
        .map(|(name, description)| json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}}))
        .collect()
}

const WRITE_PARAMS: &[(&str, &str)] = &[
    ("dryRun", "When present, modifications are not persisted (All)."),
    ("fieldManager", "Name of the actor making the change."),
    ("fieldValidation", "How to treat unknown or duplicate fields: Ignore, Warn or Strict."),
];

fn operation(r: &ResourceInfo, action: &str, body_ref: Option<&str>, extra: &[(&str, &str)]) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("{action}{}", r.kind)));
    op.insert("parameters".into(), Value::Array(query_params(extra)));
    if let Some(def) = body_ref {
        let content = if action == "patch" {
            json!({
                "application/json-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                "application/strategic-merge-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                "application/apply-patch+yaml": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
            })
        } else {
            json!({"*/*": {"schema": {"$ref": format!("#/components/schemas/{def}")}}})
        };
        op.insert("requestBody".into(), json!({"content": content, "required": true}));
        op.insert(
            "responses".into(),
            json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{def}")}}}}}),
        );
    }
    op.insert("x-kubernetes-action".into(), json!(action));
    op.insert(
        "x-kubernetes-group-version-kind".into(),
        json!({"group": r.group, "version": r.version, "kind": r.kind}),
    );
    Value::Object(op)
}

fn document_for(resources: &[&'static ResourceInfo], custom: CustomSchema<'_>) -> Value {
    let schemas = schema::schemas();
    let mut paths = Map::new();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut own: Map<String, Value> = Map::new();
    wanted.insert("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into());
    wanted.insert("io.k8s.apimachinery.pkg.apis.meta.v1.Status".into());
    for r in resources {
        let def = match (schemas.root_name(r.group, r.version, r.kind), custom(r)) {
            (Some(name), _) => Some(name.to_string()),
            (None, Some(mut schema)) => {
                let name = custom_def_name(r);
                if let Some(map) = schema.as_object_mut() {
                    map.insert(
                        "x-kubernetes-group-version-kind".into(),
                        json!([{"group": r.group, "version": r.version, "kind": r.kind}]),
                    );
                }
                own.insert(name.clone(), schema);
                Some(name)
            }
            (None, None) => None,
        };
        if let Some(def) = &def {
            wanted.insert(def.clone());
        }
        let prefix = format!("/{}", gv_path(r.group, r.version));
        let collection = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let has = |v: &str| r.verbs.contains(&v);
        let mut coll = Map::new();
        if has("list") {
            coll.insert("get".into(), operation(r, "list", None, &[]));
        }
        if has("create") {
            coll.insert("post".into(), operation(r, "post", def.as_deref(), WRITE_PARAMS));
        }
        if has("deletecollection") {
            coll.insert("delete".into(), operation(r, "deletecollection", None, &[]));
        }
        if !coll.is_empty() {
            paths.insert(collection.clone(), Value::Object(coll));
        }
        let mut item = Map::new();
        if has("get") {
            item.insert("get".into(), operation(r, "get", def.as_deref(), &[]));
        }
        if has("update") {
            item.insert("put".into(), operation(r, "put", def.as_deref(), WRITE_PARAMS));
        }
        if has("patch") {
            let mut params = WRITE_PARAMS.to_vec();
            params.push(("force", "Force is going to force Apply requests."));
            item.insert("patch".into(), operation(r, "patch", def.as_deref(), &params));
        }
        if has("delete") {
            item.insert("delete".into(), operation(r, "delete", None, &[]));
        }
        if !item.is_empty() {
            paths.insert(format!("{collection}/{{name}}"), Value::Object(item));
        }
    }
    let mut components = closure(&schemas.defs, wanted);
    components.extend(own);
    components.sort_keys();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": components},
    })
}

/// The definitions reachable through `$ref` from `roots`.
fn closure(defs: &Map<String, Value>, roots: BTreeSet<String>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    let mut seen: HashMap<String, ()> = HashMap::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone(), ()).is_some() {
            continue;
        }
        let Some(def) = defs.get(&name) else { continue };
        collect_refs(def, &mut todo);
        out.insert(name, def.clone());
    }
    out.sort_keys();
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// `GET /openapi/v3`
pub async fn index(State(api): State<Arc<Api>>) -> Response {
    let paths: Map<String, Value> = documents(&api.registry)
        .docs
        .iter()
        .map(|(path, (hash, _))| {
            (path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}))
        })
        .collect();
    crate::handlers::json_response(200, &json!({"paths": paths}))
}

/// `GET /openapi/v3/<gv path>`
pub async fn document(State(api): State<Arc<Api>>, Path(path): Path<String>) -> Response {
    match documents(&api.registry).docs.get(path.trim_matches('/')) {
        Some((_, bytes)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache, private")],
            bytes.clone(),
        )
            .into_response(),
        None => ApiError::new(404, crate::status::Reason::NotFound, "the server could not find the requested resource")
            .into_response(),
    }
}

/// What upstream answers with (clients ask with an `@v1.0` form that is not a valid media type).
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `GET /openapi/v2`: JSON, or gnostic protobuf when the client asks for it (as client-go's
/// discovery does).
pub async fn v2(State(api): State<Arc<Api>>, headers: http::HeaderMap) -> Response {
    let docs = documents(&api.registry);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Building the document can take a while the first time: off the async workers.
    let wants_proto = accept.contains("application/com.github.proto-openapi.spec.v2");
    let built = tokio::task::spawn_blocking(move || {
        if wants_proto {
            (V2_PROTOBUF, docs.v2_proto().to_vec())
        } else {
            ("application/json", docs.v2_json().to_vec())
        }
    })
    .await;
    match built {
        Ok((content_type, bytes)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache, private")],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_offer_field_validation_on_patch_and_the_kind_schemas() {
        let served: Vec<&'static ResourceInfo> = crate::resources::BUILTIN.iter().collect();
        let docs = build(&served, &|_| None);
        let (_, core) = docs.docs.get("api/v1").expect("core document");
        let core: Value = serde_json::from_slice(core).unwrap();
        let pod = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(pod["x-kubernetes-group-version-kind"]["kind"], "Pod");
        assert!(pod["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
        assert!(core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"].is_object());
        assert!(docs.docs.contains_key("apis/apps/v1"));
    }
}

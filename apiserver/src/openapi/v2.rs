//! `/openapi/v2`: one Swagger 2.0 document for everything served, derived from the v3
//! documents (so custom resources appear in both), as JSON or as gnostic protobuf — the form
//! kubectl 1.27 and 1.28 fetch for validation, client-side apply, explain and diff.
//!
//! The conversion follows what kube-apiserver's v2 document looks like: `#/definitions/` refs,
//! a single-`$ref` `allOf` flattened into the `$ref` (its description kept), OpenAPI 3-only
//! keywords (`nullable`, `anyOf`, `oneOf`, `not`) dropped, request bodies as `in: body`
//! parameters and response content as `schema`.

use serde_json::{Map, Value, json};

/// The v2 document as JSON, built from the v3 documents (`(gv path, JSON bytes)`).
pub fn document<'a>(v3: impl Iterator<Item = &'a [u8]>) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for bytes in v3 {
        let Ok(doc) = serde_json::from_slice::<Value>(bytes) else { continue };
        if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
            for (name, schema) in schemas {
                definitions.entry(name.clone()).or_insert_with(|| schema_v2(schema));
            }
        }
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            paths.insert(path.clone(), path_item(path, item));
        }
    }
    definitions.sort_keys();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
            "description": "Bearer Token authentication"}},
        "security": [{"BearerToken": []}],
    })
}

/// A v3 schema as v2 has it.
fn schema_v2(s: &Value) -> Value {
    match s {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "nullable" | "anyOf" | "oneOf" | "not" => {}
                    "$ref" => {
                        let name = v.as_str().unwrap_or("").replace("#/components/schemas/", "#/definitions/");
                        out.insert(k.clone(), json!(name));
                    }
                    "allOf" => match v.as_array().map(Vec::as_slice) {
                        Some([only]) if only.get("$ref").is_some() => {
                            if let Some(Value::Object(inner)) = Some(schema_v2(only)) {
                                out.extend(inner);
                            }
                        }
                        _ => {
                            out.insert(k.clone(), schema_v2(v));
                        }
                    },
                    // Property names and other maps of schemas: recurse into each value.
                    "properties" | "definitions" | "patternProperties" => {
                        let converted: Map<String, Value> = v
                            .as_object()
                            .map(|m| m.iter().map(|(n, x)| (n.clone(), schema_v2(x))).collect())
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(converted));
                    }
                    // Literal values stay as they are.
                    "default" | "enum" | "example" | "x-kubernetes-group-version-kind" => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {
                        out.insert(k.clone(), schema_v2(v));
                    }
                }
            }
            // v2 does not allow siblings next to `$ref` except a description.
            if out.contains_key("$ref") {
                out.retain(|k, _| k == "$ref" || k == "description");
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(schema_v2).collect()),
        other => other.clone(),
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

fn path_item(path: &str, item: &Value) -> Value {
    let mut out = Map::new();
    for method in METHODS {
        if let Some(op) = item.get(*method) {
            out.insert((*method).to_string(), operation(op));
        }
    }
    let mut params = Vec::new();
    if path.contains("{name}") {
        params.push(path_param("name", "name of the object"));
    }
    if path.contains("{namespace}") {
        params.push(path_param("namespace", "object name and auth scope, such as for teams and projects"));
    }
    params.push(json!({"uniqueItems": true, "type": "string", "description":
        "If 'true', then the output is pretty printed.", "name": "pretty", "in": "query"}));
    out.insert("parameters".into(), Value::Array(params));
    Value::Object(out)
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"uniqueItems": true, "type": "string", "description": description, "name": name, "in": "path",
        "required": true})
}

fn operation(op: &Value) -> Value {
    let mut out = Map::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = op.get("requestBody") {
        let content = body.get("content").and_then(Value::as_object);
        let consumes: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
        out.insert("consumes".into(), json!(consumes));
        let schema = content.and_then(|c| c.values().next()).and_then(|m| m.get("schema"));
        params.push(json!({"name": "body", "in": "body", "required": true,
            "schema": schema.map(schema_v2).unwrap_or_else(|| json!({}))}));
    } else {
        out.insert("consumes".into(), json!(["*/*"]));
    }
    out.insert(
        "produces".into(),
        json!(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]),
    );
    out.insert("schemes".into(), json!(["https"]));
    for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        let mut param = Map::new();
        for (k, v) in p.as_object().into_iter().flatten() {
            if k == "schema" {
                // v2 parameters carry their type inline.
                for (sk, sv) in v.as_object().into_iter().flatten() {
                    param.insert(sk.clone(), sv.clone());
                }
            } else {
                param.insert(k.clone(), v.clone());
            }
        }
        params.push(Value::Object(param));
    }
    out.insert("parameters".into(), Value::Array(params));
    let mut responses = Map::new();
    for (code, r) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let mut response = json!({"description": r.get("description").cloned().unwrap_or(json!("OK"))});
        if let Some(schema) = r.get("content").and_then(Value::as_object).and_then(|c| c.values().next()) {
            response["schema"] = schema.get("schema").map(schema_v2).unwrap_or_else(|| json!({}));
        }
        responses.insert(code.clone(), response);
    }
    if responses.is_empty() {
        responses.insert("200".into(), json!({"description": "OK"}));
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    out.insert("responses".into(), Value::Object(responses));
    for key in ["operationId", "description", "x-kubernetes-action", "x-kubernetes-group-version-kind"] {
        if let Some(v) = op.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_documents_convert_to_swagger_2() {
        let v3 = json!({"openapi": "3.0.0", "paths": {"/apis/example.com/v1/namespaces/{namespace}/widgets/{name}": {
            "put": {"operationId": "putWidget", "parameters": [{"name": "dryRun", "in": "query",
                "schema": {"type": "string", "uniqueItems": true}}],
                "requestBody": {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/com.example.v1.Widget"}}}},
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema":
                    {"$ref": "#/components/schemas/com.example.v1.Widget"}}}}},
                "x-kubernetes-action": "put"}}},
            "components": {"schemas": {"com.example.v1.Widget": {"type": "object", "properties": {
                "metadata": {"description": "meta", "allOf": [{"$ref": "#/components/schemas/meta"}], "default": {}},
                "size": {"type": "integer", "nullable": true, "anyOf": [{"type": "integer"}]}}}}}});
        let bytes = serde_json::to_vec(&v3).unwrap();
        let v2 = document(std::iter::once(bytes.as_slice()));
        assert_eq!(v2["swagger"], "2.0");
        let widget = &v2["definitions"]["com.example.v1.Widget"];
        assert_eq!(widget["properties"]["metadata"], json!({"description": "meta", "$ref": "#/definitions/meta"}));
        assert_eq!(widget["properties"]["size"], json!({"type": "integer"}));
        let put = &v2["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["put"];
        assert_eq!(put["parameters"][0]["in"], "body");
        assert_eq!(put["parameters"][0]["schema"]["$ref"], "#/definitions/com.example.v1.Widget");
        assert_eq!(
            put["parameters"][1],
            json!({"name": "dryRun", "in": "query", "type": "string", "uniqueItems": true})
        );
        assert_eq!(put["responses"]["200"]["schema"]["$ref"], "#/definitions/com.example.v1.Widget");
        let encoded = super::super::gnostic::encode(&v2);
        assert!(encoded.len() > 100);
    }
}

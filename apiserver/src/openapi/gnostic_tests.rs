//! Tests for the gnostic encoder: decode the bytes with a tiny protobuf reader and check that each
//! JSON fact landed in the field gnostic-models' `OpenAPIv2.proto` gives it.

use super::*;
use serde_json::json;

/// One decoded field value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn read_varint(buf: &mut &[u8]) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (b, rest) = buf.split_first().expect("truncated varint");
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
    }
    panic!("varint too long")
}

/// All fields of a message, in wire order; panics on anything malformed.
fn fields(mut buf: &[u8]) -> Vec<(u32, Field<'_>)> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = read_varint(&mut buf);
        let field = u32::try_from(key >> 3).expect("field number");
        let value = match key & 7 {
            0 => Field::Varint(read_varint(&mut buf)),
            1 => {
                let (b, rest) = buf.split_at(8);
                buf = rest;
                Field::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = usize::try_from(read_varint(&mut buf)).expect("length");
                let (b, rest) = buf.split_at(len);
                buf = rest;
                Field::Bytes(b)
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, value));
    }
    out
}

/// Every length-delimited occurrence of `field`.
fn all(buf: &[u8], field: u32) -> Vec<&[u8]> {
    fields(buf)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| match v {
            Field::Bytes(b) => b,
            other => panic!("field {field} is {other:?}, not length-delimited"),
        })
        .collect()
}

/// The single occurrence of a length-delimited `field`.
fn one(buf: &[u8], field: u32) -> &[u8] {
    let found = all(buf, field);
    assert_eq!(found.len(), 1, "field {field} occurs {} times", found.len());
    found[0]
}

fn text(buf: &[u8], field: u32) -> String {
    String::from_utf8(one(buf, field).to_vec()).expect("utf-8")
}

fn texts(buf: &[u8], field: u32) -> Vec<String> {
    all(buf, field).into_iter().map(|b| String::from_utf8(b.to_vec()).expect("utf-8")).collect()
}

fn varint(buf: &[u8], field: u32) -> Option<u64> {
    fields(buf).into_iter().find(|(f, _)| *f == field).map(|(_, v)| match v {
        Field::Varint(n) => n,
        other => panic!("field {field} is {other:?}, not a varint"),
    })
}

fn has(buf: &[u8], field: u32) -> bool {
    fields(buf).iter().any(|(f, _)| *f == field)
}

/// The value (field 2) of the `Named*` entry called `name` among the repeated `field` of `buf`.
fn entry<'a>(buf: &'a [u8], field: u32, name: &str) -> &'a [u8] {
    all(buf, field).into_iter().find(|e| text(e, 1) == name).map(|e| one(e, 2)).unwrap_or_else(|| panic!("no {name}"))
}

fn names(buf: &[u8], field: u32) -> Vec<String> {
    all(buf, field).into_iter().map(|e| text(e, 1)).collect()
}

fn kube_doc() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.28.0"},
        "paths": {
            "/apis/apps/v1/namespaces/{namespace}/deployments": {
                "parameters": [
                    {"$ref": "#/parameters/namespace-vgWSWtn3"},
                    {"name": "pretty", "in": "query", "type": "string", "uniqueItems": true, "description": "pretty"}
                ],
                "post": {
                    "consumes": ["*/*"],
                    "produces": ["application/json", "application/yaml"],
                    "schemes": ["https"],
                    "tags": ["apps_v1"],
                    "description": "create a Deployment",
                    "operationId": "createAppsV1NamespacedDeployment",
                    "parameters": [
                        {"in": "body", "name": "body", "required": true,
                         "schema": {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}},
                        {"name": "dryRun", "in": "query", "type": "string", "uniqueItems": true}
                    ],
                    "responses": {
                        "200": {"description": "OK", "schema": {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}},
                        "401": {"description": "Unauthorized"}
                    },
                    "x-kubernetes-action": "post",
                    "x-kubernetes-group-version-kind": {"group": "apps", "kind": "Deployment", "version": "v1"}
                }
            }
        },
        "definitions": {
            "io.k8s.api.apps.v1.Deployment": {
                "description": "Deployment enables declarative updates for Pods and ReplicaSets.",
                "type": "object",
                "required": ["spec"],
                "properties": {
                    "replicas": {"type": "integer", "format": "int32", "default": 1, "minimum": 0},
                    "strategy": {"type": "string", "enum": ["Recreate", "RollingUpdate"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
                    "free": {"type": "object", "additionalProperties": false},
                    "containers": {
                        "type": "array",
                        "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
                        "x-kubernetes-list-map-keys": ["name"],
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-patch-merge-key": "name",
                        "x-kubernetes-patch-strategy": "merge"
                    },
                    "port": {"format": "int-or-string", "x-kubernetes-int-or-string": true}
                },
                "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}]
            }
        },
        "parameters": {
            "namespace-vgWSWtn3": {"name": "namespace", "in": "path", "required": true, "type": "string",
                                   "uniqueItems": true, "description": "object name and auth scope"}
        },
        "securityDefinitions": {
            "BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                            "description": "Bearer Token authentication"}
        },
        "security": [{"BearerToken": []}]
    })
}

#[test]
fn document_header_and_security() {
    let doc = encode(&kube_doc());
    assert_eq!(text(&doc, 1), "2.0");
    let info = one(&doc, 2);
    assert_eq!((text(info, 1), text(info, 2)), ("Kubernetes".into(), "v1.28.0".into()));

    let scheme = entry(one(&doc, 13), 1, "BearerToken");
    let api_key = one(scheme, 2);
    assert_eq!(texts(api_key, 1), ["apiKey"]);
    assert_eq!((text(api_key, 2), text(api_key, 3)), ("authorization".into(), "header".into()));
    assert_eq!(text(api_key, 4), "Bearer Token authentication");

    let requirement = one(&doc, 12);
    let bearer = entry(requirement, 1, "BearerToken");
    assert!(bearer.is_empty(), "no scopes: an empty StringArray");
}

#[test]
fn definitions_properties_and_extensions() {
    let doc = encode(&kube_doc());
    let definitions = one(&doc, 9);
    assert_eq!(names(definitions, 1), ["io.k8s.api.apps.v1.Deployment"]);
    let deployment = entry(definitions, 1, "io.k8s.api.apps.v1.Deployment");
    assert_eq!(text(deployment, 4), "Deployment enables declarative updates for Pods and ReplicaSets.");
    assert_eq!(texts(one(deployment, 22), 1), ["object"]);
    assert_eq!(texts(deployment, 19), ["spec"]);

    let gvk = entry(deployment, 31, "x-kubernetes-group-version-kind");
    assert_eq!(text(gvk, 2), "- group: apps\n  kind: Deployment\n  version: v1\n");

    let properties = one(deployment, 25);
    assert_eq!(names(properties, 1), ["replicas", "strategy", "labels", "free", "containers", "port"]);
    let replicas = entry(properties, 1, "replicas");
    assert_eq!(texts(one(replicas, 22), 1), ["integer"]);
    assert_eq!(text(replicas, 2), "int32");
    assert_eq!(text(one(replicas, 5), 2), "1\n");
    assert!(!has(replicas, 9), "minimum 0 is proto3's zero value and is left out");

    let strategy = entry(properties, 1, "strategy");
    let values: Vec<String> = all(strategy, 20).into_iter().map(|a| text(a, 2)).collect();
    assert_eq!(values, ["Recreate\n", "RollingUpdate\n"]);

    let labels = entry(properties, 1, "labels");
    let value_schema = one(one(labels, 21), 1);
    assert_eq!(texts(one(value_schema, 22), 1), ["string"]);
    assert_eq!(text(one(value_schema, 5), 2), "\"\"\n");
    let free = one(entry(properties, 1, "free"), 21);
    assert_eq!(varint(free, 2), Some(0), "a false oneof bool is still written");

    let containers = entry(properties, 1, "containers");
    assert_eq!(text(one(one(containers, 23), 1), 1), "#/definitions/io.k8s.api.core.v1.Container");
    let ext: Vec<(String, String)> =
        all(containers, 31).into_iter().map(|e| (text(e, 1), text(one(e, 2), 2))).collect();
    assert_eq!(
        ext,
        [
            ("x-kubernetes-list-map-keys".to_string(), "- name\n".to_string()),
            ("x-kubernetes-list-type".into(), "map\n".into()),
            ("x-kubernetes-patch-merge-key".into(), "name\n".into()),
            ("x-kubernetes-patch-strategy".into(), "merge\n".into()),
        ]
    );
    let port = entry(properties, 1, "port");
    assert_eq!(text(entry(port, 31, "x-kubernetes-int-or-string"), 2), "true\n");
    assert!(!has(port, 22), "no type, no TypeItem");
}

#[test]
fn paths_operations_and_parameters() {
    let doc = encode(&kube_doc());
    let paths = one(&doc, 8);
    let item = entry(paths, 2, "/apis/apps/v1/namespaces/{namespace}/deployments");

    // Path-item parameters: a $ref (ParametersItem.json_reference) and a query parameter.
    let params = all(item, 9);
    assert_eq!(text(one(params[0], 2), 1), "#/parameters/namespace-vgWSWtn3");
    let query = one(one(one(params[1], 1), 2), 3);
    assert_eq!((text(query, 2), text(query, 4), text(query, 6)), ("query".into(), "pretty".into(), "string".into()));
    assert_eq!(varint(query, 20), Some(1), "uniqueItems is field 20 of QueryParameterSubSchema");

    let post = one(item, 4);
    assert!(!has(item, 2), "no get");
    assert_eq!(text(post, 5), "createAppsV1NamespacedDeployment");
    assert_eq!(text(post, 3), "create a Deployment");
    assert_eq!(texts(post, 1), ["apps_v1"]);
    assert_eq!(texts(post, 6), ["application/json", "application/yaml"]);
    assert_eq!(texts(post, 7), ["*/*"]);
    assert_eq!(texts(post, 10), ["https"]);

    let body = one(one(all(post, 8)[0], 1), 1);
    assert_eq!((text(body, 2), text(body, 3)), ("body".into(), "body".into()));
    assert_eq!(varint(body, 4), Some(1));
    assert_eq!(text(one(body, 5), 1), "#/definitions/io.k8s.api.apps.v1.Deployment");

    let responses = one(post, 9);
    assert_eq!(names(responses, 1), ["200", "401"]);
    let ok = one(entry(responses, 1, "200"), 1);
    assert_eq!(text(ok, 1), "OK");
    assert_eq!(text(one(one(ok, 2), 1), 1), "#/definitions/io.k8s.api.apps.v1.Deployment");
    assert!(!has(one(entry(responses, 1, "401"), 1), 2), "no schema for 401");

    assert_eq!(text(entry(post, 13, "x-kubernetes-action"), 2), "post\n");
    let gvk = text(entry(post, 13, "x-kubernetes-group-version-kind"), 2);
    assert_eq!(gvk, "group: apps\nkind: Deployment\nversion: v1\n");

    // Top-level parameter definitions hold a Parameter directly; path parameters are member 4.
    let namespace = entry(one(&doc, 10), 1, "namespace-vgWSWtn3");
    let path = one(one(namespace, 2), 4);
    assert_eq!((varint(path, 1), text(path, 4), text(path, 5)), (Some(1), "namespace".into(), "string".into()));
    assert_eq!(varint(path, 19), Some(1), "uniqueItems is field 19 of PathParameterSubSchema");
}

#[test]
fn schema_variants() {
    let s = json!({
        "type": ["string", "null"],
        "items": [{"type": "string"}, {"type": "integer"}],
        "maxLength": 63, "maximum": 2.5, "exclusiveMaximum": true, "readOnly": true,
        "allOf": [{"$ref": "#/definitions/A"}],
        "x-kubernetes-unions": [{"discriminator": "type", "fields-to-discriminateBy": {"a": "A"}}]
    });
    let m = schema(&s).0;
    assert_eq!(texts(one(&m, 22), 1), ["string", "null"]);
    assert_eq!(all(one(&m, 23), 1).len(), 2);
    assert_eq!(varint(&m, 11), Some(63));
    let max = fields(&m).into_iter().find(|(f, _)| *f == 7).map(|(_, v)| v);
    assert_eq!(max, Some(Field::Fixed64(2.5f64.to_bits())));
    assert_eq!((varint(&m, 8), varint(&m, 27)), (Some(1), Some(1)));
    assert_eq!(text(one(&m, 24), 1), "#/definitions/A");
    let unions = text(entry(&m, 31, "x-kubernetes-unions"), 2);
    assert_eq!(unions, "- discriminator: type\n  fields-to-discriminateBy:\n    a: A\n");
}

#[test]
fn yaml_rendering() {
    assert_eq!(yaml(&json!("merge")), "merge\n");
    assert_eq!(yaml(&json!("retainKeys,merge")), "\"retainKeys,merge\"\n");
    assert_eq!(yaml(&json!("yes")), "\"yes\"\n");
    assert_eq!(yaml(&json!("1.0")), "\"1.0\"\n");
    assert_eq!(yaml(&json!("")), "\"\"\n");
    assert_eq!(yaml(&json!("a \"b\"\n\u{1}")), "\"a \\\"b\\\"\\n\\u0001\"\n");
    assert_eq!(yaml(&json!(null)), "null\n");
    assert_eq!(yaml(&json!(1.5)), "1.5\n");
    assert_eq!(yaml(&json!({})), "{}\n");
    assert_eq!(yaml(&json!({"a": [], "b": {"c": [1, [2, 3]]}})), "a: []\nb:\n  c:\n    - 1\n    - - 2\n      - 3\n");
    assert_eq!(yaml(&json!([{"k": "v", "m": {"x": true}}])), "- k: v\n  m:\n    x: true\n");
}

#[test]
fn long_fields_use_multi_byte_lengths() {
    let description = "d".repeat(300);
    let doc = encode(&json!({"swagger": "2.0", "info": {"title": "t", "description": description}}));
    assert_eq!(text(one(&doc, 2), 3), description);
}

#[test]
fn security_scheme_kinds() {
    let basic = security_scheme(&json!({"type": "basic", "description": "b"})).0;
    assert_eq!(text(one(&basic, 1), 2), "b");
    let oauth = security_scheme(&json!({
        "type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a", "tokenUrl": "https://t",
        "scopes": {"read": "read things"}
    }))
    .0;
    let code = one(&oauth, 6);
    assert_eq!((text(code, 4), text(code, 5)), ("https://a".into(), "https://t".into()));
    let scope = one(one(code, 3), 1);
    assert_eq!((text(scope, 1), text(scope, 2)), ("read".into(), "read things".into()));
    assert!(security_scheme(&json!({"type": "mystery"})).0.is_empty());
}

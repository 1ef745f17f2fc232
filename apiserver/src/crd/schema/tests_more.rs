//! Structural checks, pruning, defaulting, list types, embedded resources and the Go-compatible
//! helpers (formats, regexps, value rendering).

use serde_json::{Value, json};

use super::*;

fn texts(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(|e| format!("{} {}", e.reason, e.text())).collect()
}

#[test]
fn structural_types_and_items() {
    let s = json!({"properties": {"spec": {"properties": {"x": {"type": "string"}}}}});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueRequired properties[spec].type: Required value: must not be empty for specified object fields",
            "FieldValueRequired type: Required value: must not be empty at the root",
        ]
    );
    let s = json!({"type": "object", "properties": {"l": {"type": "array"}, "m": {"type": "array", "items": {}}}});
    assert_eq!(
        texts(&structural_problems_at(&s, "spec.versions[0].schema.openAPIV3Schema")),
        [
            "FieldValueRequired spec.versions[0].schema.openAPIV3Schema.properties[l].items: Required value: must be specified",
            "FieldValueRequired spec.versions[0].schema.openAPIV3Schema.properties[m].items.type: Required value: must not be empty for specified array items",
        ]
    );
    let s = json!({"type": "array", "items": {"type": "string"}, "additionalProperties": {"type": "string"}});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueForbidden additionalProperties: Forbidden: must not be used at the root",
            r#"FieldValueInvalid type: Invalid value: "array": must be object at the root"#,
        ]
    );
    let ok = json!({"type": "object", "properties": {
        "free": {"x-kubernetes-preserve-unknown-fields": true},
        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "q": {"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^x"}]},
        "m": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    assert_eq!(structural_problems(&ok), []);
}

#[test]
fn structural_value_validations() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{
        "type": "string", "description": "d", "nullable": true, "default": "x",
        "x-kubernetes-list-type": "atomic", "properties": {"metadata": {}}
    }]});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueForbidden anyOf[0].default: Forbidden: must be undefined to be structural",
            "FieldValueForbidden anyOf[0].description: Forbidden: must be empty to be structural",
            "FieldValueForbidden anyOf[0].nullable: Forbidden: must be false to be structural",
            "FieldValueForbidden anyOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
            "FieldValueForbidden anyOf[0].type: Forbidden: must be empty to be structural",
            "FieldValueForbidden anyOf[0].x-kubernetes-list-type: Forbidden: must be undefined to be structural",
            "FieldValueRequired properties[metadata]: Required value: because it is defined in anyOf[0].properties[metadata]",
        ]
    );
    let s = json!({"type": "object", "properties": {"r": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 5}]}}});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueForbidden properties[r].anyOf[0].type: Forbidden: must be empty to be structural",
            "FieldValueForbidden properties[r].anyOf[1].type: Forbidden: must be empty to be structural",
        ]
    );
    let s = json!({"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"}}},
        "allOf": [{"properties": {"l": {"items": {"properties": {"z": {}}}}}}]});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueRequired properties[l].items.properties[z]: Required value: because it is defined in allOf[0].properties[l].items.properties[z]",
        ]
    );
    let s = json!({"type": "object", "properties": {"s": {"type": "string", "pattern": "("}}});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueInvalid properties[s].pattern: Invalid value: \"(\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ): `(`",
        ]
    );
}

#[test]
fn structural_metadata_and_extensions() {
    let names = json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 63}, "generateName": {"type": "string"}}}}});
    assert_eq!(structural_problems(&names), []);
    let labels = json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}});
    assert_eq!(
        texts(&structural_problems(&labels)),
        [
            "FieldValueForbidden properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
        ]
    );
    let wrong = json!({"type": "object", "properties": {"metadata": {"type": "string"}}});
    assert_eq!(
        texts(&structural_problems(&wrong)),
        [r#"FieldValueInvalid properties[metadata].type: Invalid value: "string": must be object"#]
    );
    let s = json!({"type": "object", "properties": {
        "t": {"x-kubernetes-embedded-resource": true},
        "u": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
              "properties": {"kind": {"type": "integer"}}},
        "p": {"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}
    }});
    assert_eq!(
        texts(&structural_problems(&s)),
        [
            "FieldValueInvalid properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
            "FieldValueRequired properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            "FieldValueRequired properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true",
            r#"FieldValueInvalid properties[u].properties[kind].type: Invalid value: "integer": must be string"#,
        ]
    );
    let unsupported = json!({"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}});
    assert_eq!(
        texts(&structural_problems_at(&unsupported, "x")),
        [r#"FieldValueInvalid x: Invalid value: "": OpenAPIV3Schema '$ref' is not supported"#]
    );
}

fn pruned(mut obj: Value, schema: &Value) -> (Value, Vec<String>) {
    let paths = prune(&mut obj, schema);
    (obj, paths)
}

#[test]
fn prunes_nested_fields_and_arrays() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "a": {"type": "string"},
        "list": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    }}}});
    let obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "foo": 1},
        "spec": {"a": "x", "b": 1, "c": {"d": 1}, "list": [{"x": 1, "y": 2}]}, "status": {"s": 1}});
    let (obj, paths) = pruned(obj, &schema);
    assert_eq!(paths, ["metadata.foo", "spec.b", "spec.c", "spec.list[0].y", "status"]);
    assert_eq!(
        obj,
        json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "x", "list": [{"x": 1}]}})
    );
    // Nothing declared at all: only TypeMeta and metadata survive.
    let (obj, paths) = pruned(json!({"kind": "K", "spec": {"a": 1}}), &json!({"type": "object"}));
    assert_eq!((obj, paths), (json!({"kind": "K"}), vec!["spec".to_string()]));
}

#[test]
fn prune_respects_preserve_unknown_fields_and_maps() {
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
            "known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
        "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"x": {"type": "string"}}}},
        "b": {"type": "object", "additionalProperties": true}
    }});
    let obj = json!({"spec": {"free": {"any": 1}, "known": {"a": "x", "b": 2}}, "m": {"k1": {"x": "a", "y": 1}}, "b": {"k": {"deep": 1}, "s": "v"}});
    let (obj, paths) = pruned(obj, &schema);
    // additionalProperties: true has no schema, so map values that are objects lose their fields.
    assert_eq!(paths, ["b.k.deep", "m.k1.y", "spec.known.b"]);
    assert_eq!(
        obj,
        json!({"spec": {"free": {"any": 1}, "known": {"a": "x"}}, "m": {"k1": {"x": "a"}}, "b": {"k": {}, "s": "v"}})
    );
    let (obj, paths) =
        pruned(json!({"spec": {"x": 1}}), &json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    assert_eq!((obj, paths.len()), (json!({"spec": {"x": 1}}), 0));
}

#[test]
fn prunes_embedded_resources() {
    let template = json!({"type": "object", "x-kubernetes-embedded-resource": true,
        "properties": {"spec": {"type": "object", "properties": {"x": {"type": "integer"}}}}});
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": template, "list": {"type": "array", "items": template}}}}});
    let obj = json!({"spec": {
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "bogus": true, "labels": {}}, "spec": {"x": 1, "y": 2}, "extra": 1},
        "list": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"zzz": 1}}]
    }});
    let (obj, paths) = pruned(obj, &schema);
    assert_eq!(
        paths,
        ["spec.template.extra", "spec.template.spec.y", "spec.list[0].metadata.zzz", "spec.template.metadata.bogus"]
    );
    assert_eq!(
        obj["spec"]["template"],
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}})
    );
    assert_eq!(obj["spec"]["list"][0], json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}));
}

#[test]
fn prune_normalizes_root_metadata_and_drops_nulls() {
    let obj = json!({"metadata": {"name": "x", "labels": {}, "generation": 0, "foo": 1, "annotations": {"a": "b"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "n", "uid": "u", "extra": 1, "controller": null}]}});
    let (obj, paths) = pruned(obj, &json!({"type": "object"}));
    assert_eq!(paths, ["metadata.foo", "metadata.ownerReferences[0].extra"]);
    assert_eq!(
        obj,
        json!({"metadata": {"name": "x", "annotations": {"a": "b"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "n", "uid": "u"}]}})
    );

    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "a": {"type": "string"}, "n": {"type": "string", "nullable": true}, "d": {"type": "string", "default": "x"},
        "l": {"type": "array", "items": {"type": "string"}}}}}});
    let (mut obj, paths) = pruned(json!({"spec": {"a": null, "n": null, "d": null, "l": [null]}}), &schema);
    assert!(paths.is_empty());
    assert_eq!(obj, json!({"spec": {"n": null, "d": null, "l": [null]}}));
    apply_defaults(&mut obj, &schema);
    assert_eq!(obj, json!({"spec": {"n": null, "d": "x", "l": [null]}}));
}

fn defaulted(mut obj: Value, schema: &Value) -> Value {
    apply_defaults(&mut obj, schema);
    obj
}

#[test]
fn defaults_fill_existing_objects_only() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "replicas": {"type": "integer", "default": 1},
        "nested": {"type": "object", "properties": {"x": {"type": "string", "default": "d"}}},
        "created": {"type": "object", "default": {}, "properties": {"y": {"type": "integer", "default": 2}}},
        "n": {"type": "string", "nullable": true, "default": "keep-null"},
        "z": {"type": "string", "default": "was-null"}
    }}}});
    assert_eq!(defaulted(json!({}), &schema), json!({}));
    assert_eq!(
        defaulted(json!({"spec": {"nested": {}, "n": null, "z": null}}), &schema),
        json!({"spec": {"nested": {"x": "d"}, "n": null, "z": "was-null", "replicas": 1, "created": {"y": 2}}})
    );
    assert_eq!(defaulted(json!({"spec": {"replicas": 3}}), &schema)["spec"]["replicas"], 3);
}

#[test]
fn defaults_in_arrays_maps_and_embedded_resources() {
    let schema = json!({"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "object", "properties": {"protocol": {"type": "string", "default": "TCP"}}}},
        "names": {"type": "array", "items": {"type": "string", "default": "z"}},
        "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"x": {"type": "integer", "default": 1}}}},
        "o": {"type": "object", "properties": {"a": {"type": "integer"}}, "default": {"a": 1, "junk": 2}},
        "t": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"spec": {"type": "object"}},
              "default": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "junk": 1}, "other": 1}}
    }});
    let obj = json!({"ports": [{}, {"protocol": "UDP"}], "names": [null, "a"], "m": {"a": {}, "b": {"x": 2}}});
    assert_eq!(
        defaulted(obj, &schema),
        json!({
            "ports": [{"protocol": "TCP"}, {"protocol": "UDP"}], "names": ["z", "a"], "m": {"a": {"x": 1}, "b": {"x": 2}},
            "o": {"a": 1}, "t": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
        })
    );
}

#[test]
fn defaults_then_validation_as_upstream() {
    // A required field with a default never fails once defaulting ran.
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["mode"],
        "properties": {"mode": {"type": "string", "enum": ["a", "b"], "default": "a"}}}}});
    let mut obj = json!({"spec": {"mode": null, "junk": 1}});
    assert_eq!(prune(&mut obj, &schema), ["spec.junk"]);
    apply_defaults(&mut obj, &schema);
    assert_eq!(obj, json!({"spec": {"mode": "a"}}));
    assert_eq!(validate(&obj, &schema), []);
}

#[test]
fn list_types() {
    let set =
        json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "set", "items": {}}}});
    let check = |schema: &Value, l: Value, want: &[&str]| assert_eq!(texts(&validate(&json!({"l": l}), schema)), want);
    check(&set, json!(["a", "b", "a", "a"]), &[r#"FieldValueDuplicate l[2]: Duplicate value: "a""#]);
    check(&set, json!([1, 1.0]), &[]);
    check(&set, json!([1, 1]), &["FieldValueDuplicate l[1]: Duplicate value: 1"]);
    check(
        &set,
        json!([{"a": 1}, {"a": 1}]),
        &[r#"FieldValueDuplicate l[1]: Duplicate value: map[string]interface {}{"a":1}"#],
    );

    let map1 = json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}}});
    check(
        &map1,
        json!([{"name": "a", "v": 1}, {"name": "a", "v": 2}, {"v": 3}, {"v": 4}]),
        &[
            r#"FieldValueDuplicate l[1]: Duplicate value: map[string]interface {}{"name":"a"}"#,
            "FieldValueDuplicate l[3]: Duplicate value: map[string]interface {}{}",
        ],
    );
    check(
        &map1,
        json!(["x"]),
        &[
            r#"FieldValueTypeInvalid l[0]: Invalid value: "string": l[0] in body must be of type object: "string""#,
            r#"FieldValueInvalid l[0]: Invalid value: "x": must be an object for an array of list-type map"#,
        ],
    );
    let map2 = json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "port"], "items": {"type": "object"}}}});
    check(
        &map2,
        json!([{"name": "a", "port": 1}, {"name": "a", "port": 2}, {"name": "a", "port": 1}]),
        &[r#"FieldValueDuplicate l[2]: Duplicate value: map[string]interface {}{"name":"a", "port":1}"#],
    );
    let nested = json!({"type": "object", "properties": {"m": {"type": "object", "additionalProperties":
        {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}});
    assert_eq!(
        texts(&validate(&json!({"m": {"k": ["a", "a"]}}), &nested)),
        [r#"FieldValueDuplicate m[k][1]: Duplicate value: "a""#]
    );
}

#[test]
fn embedded_resources_type_meta() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"template":
        {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}}});
    let check =
        |t: Value, want: &[&str]| assert_eq!(texts(&validate(&json!({"spec": {"template": t}}), &schema)), want);
    check(
        json!({}),
        &[
            "FieldValueRequired spec.template.apiVersion: Required value: must not be empty",
            "FieldValueRequired spec.template.kind: Required value: must not be empty",
        ],
    );
    check(
        json!({"apiVersion": "a/b/c", "kind": "Foo_Bar", "metadata": "x"}),
        &[
            r#"FieldValueInvalid spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            r#"FieldValueInvalid spec.template.kind: Invalid value: "Foo_Bar": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
            r#"FieldValueInvalid spec.template.metadata: Invalid value: "x": json: cannot unmarshal string into Go value of type v1.ObjectMeta"#,
        ],
    );
    check(
        json!({"apiVersion": "", "kind": 5}),
        &[
            r#"FieldValueInvalid spec.template.apiVersion: Invalid value: "": must not be empty"#,
            "FieldValueInvalid spec.template.kind: Invalid value: 5: must be a string",
        ],
    );
    check(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": "x"}}),
        &[
            r#"FieldValueInvalid spec.template.metadata: Invalid value: map[string]interface {}{"labels":"x"}: json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string"#,
        ],
    );
    check(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}), &[]);
    let obj = json!({"spec": {"template": {"kind": "Pod"}}});
    let found = embedded_resources(&obj, &schema);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0.as_str(), found[0].1), ("spec.template", &json!({"kind": "Pod"})));
}

#[test]
fn format_checks() {
    let cases: &[(&str, &str, bool)] = &[
        ("bsonobjectid", "507f1f77bcf86cd799439011", true),
        ("bsonobjectid", "507f1f77bcf86cd79943901", false),
        ("uri", "http://example.com/path?q=1", true),
        ("uri", "/just/a/path", true),
        ("uri", "mailto:a@b", true),
        ("uri", "http://[::1]:80/", true),
        ("uri", "relative/path", false),
        ("uri", "", false),
        ("uri", "http://exa mple.com", false),
        ("uri", "http://host:port/", false),
        ("uri", "http://a.com/%zz", false),
        ("email", "a@b.com", true),
        ("email", "John <john@x.org>", true),
        ("email", "nope", false),
        ("hostname", "example.com", true),
        ("hostname", "a", true),
        ("hostname", "-bad.com", false),
        ("hostname", "a_b", false),
        ("ipv4", "10.0.0.1", true),
        ("ipv4", "010.0.0.1", true),
        ("ipv4", "::ffff:1.2.3.4", true),
        ("ipv4", "1.2.3", false),
        ("ipv4", "256.1.1.1", false),
        ("ipv6", "::1", true),
        ("ipv6", "2001:db8::1", true),
        ("ipv6", "1:2:3:4:5:6:7:8", true),
        ("ipv6", "1:2:3:4:5:6:7:8::", false),
        ("ipv6", "2001:db8:::1", false),
        ("ipv6", "1.2.3.4", false),
        ("cidr", "10.0.0.0/8", true),
        ("cidr", "::/0", true),
        ("cidr", "10.0.0.0/33", false),
        ("cidr", "10.0.0.0", false),
        ("mac", "00:1a:2b:3c:4d:5e", true),
        ("mac", "00-1A-2B-3C-4D-5E", true),
        ("mac", "001a.2b3c.4d5e", true),
        ("mac", "00:1a:2b:3c:4d", false),
        ("mac", "00:1a-2b:3c:4d:5e", false),
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
        ("uuid", "123E4567E89B12D3A456426614174000", true),
        ("uuid3", "123e4567-e89b-32d3-a456-426614174000", true),
        ("uuid4", "123e4567-e89b-42d3-a456-426614174000", true),
        ("uuid4", "123e4567-e89b-12d3-a456-426614174000", false),
        ("uuid5", "123e4567-e89b-52d3-a456-426614174000", true),
        ("isbn10", "0321751043", true),
        ("isbn10", "0321751044", false),
        ("isbn13", "978-0321751041", true),
        ("isbn", "978 0321751041", true),
        ("creditcard", "4111 1111 1111 1111", true),
        ("creditcard", "4111111111111112", false),
        ("ssn", "123-45-6789", true),
        ("ssn", "123456789", false),
        ("hexcolor", "#fff", true),
        ("hexcolor", "#ffff", false),
        ("rgbcolor", "rgb(255, 0, 10)", true),
        ("rgbcolor", "rgb(256,0,0)", false),
        ("byte", "aGVsbG8=", true),
        ("byte", "abc", false),
        ("password", "", true),
        ("date", "2024-02-29", true),
        ("date", "2023-02-29", false),
        ("date", "2024-13-01", false),
        ("date-time", "2024-01-01T00:00:00Z", true),
        ("datetime", "2024-01-01t00:00:00.123+02:00", true),
        ("date-time", "2024-01-01T24:00:00Z", false),
        ("date-time", "2024-01-01 00:00:00Z", false),
        ("date-time", "2024-01-01T00:00:00", false),
        ("duration", "1h30m", true),
        ("duration", "-1.5s", true),
        ("duration", "0", true),
        ("duration", "5 minutes", true),
        ("duration", "3 days", true),
        ("duration", "1x", false),
        ("duration", "", false),
        ("duration", "h", false),
    ];
    for (format, value, valid) in cases {
        assert!(formats::supported(format), "{format}");
        assert_eq!(formats::check(format, value), *valid, "{format} {value:?}");
    }
    for f in ["int32", "int64", "float", "double", "k8s-short-name", ""] {
        assert!(!formats::supported(f), "{f}");
    }
}

#[test]
fn go_regexps() {
    let ok = |p: &str, s: &str| goregex::compile(p).map(|r| r.is_match(s)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert!(ok(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "my-name"));
    assert!(!ok(r"^\d+$", "٣"), "\\d is ASCII in Go");
    assert!(ok(r"^\w+$", "a_1"));
    assert!(!ok(r"^\w+$", "é"));
    assert!(ok(r"^[[]$", "["));
    assert!(ok(r"^a{$", "a{"));
    assert!(ok(r"^a{2}$", "aa"));
    assert!(ok(r"^\Qa.b\E$", "a.b"));
    assert!(!ok(r"^\Qa.b\E$", "axb"));
    assert!(ok(r"^[a&&b]+$", "&&"));
    assert!(ok(r"^[\w-\d]+$", "a-1"));
    // Go reads these as literals; the regex crate as word boundaries or errors.
    assert!(ok(r"^\<a\>$", "<a>"));
    assert!(ok(r"^a{,3}$", "a{,3}"));
    assert!(ok(r"^[]a]+$", "]a"));
    assert!(ok(r"^[a-c-e]+$", "b-e"));
    let errs: &[(&str, &str)] = &[
        ("+", "error parsing regexp: missing argument to repetition operator: `+`"),
        ("(", "error parsing regexp: missing closing ): `(`"),
        ("a)", "error parsing regexp: unexpected ): `a)`"),
        ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
        ("[a", "error parsing regexp: missing closing ]: `[a`"),
        ("(?=x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        ("a\\", "error parsing regexp: trailing backslash at end of expression: ``"),
        (r"\8", "error parsing regexp: invalid escape sequence: `\\8`"),
        (r"[\b]", "error parsing regexp: invalid escape sequence: `\\b`"),
        ("x{2,1}", "error parsing regexp: invalid repeat count: `{2,1}`"),
        ("x{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
        ("[z-a]", "error parsing regexp: invalid character class range: `z-a`"),
        ("(?x)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"),
    ];
    for (p, want) in errs {
        assert_eq!(goregex::compile(p).err().as_deref(), Some(*want), "{p}");
    }
}

#[test]
fn go_value_rendering() {
    for (f, want) in [
        (1.0, "1"),
        (1.5, "1.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (1e21, "1e+21"),
    ] {
        assert_eq!(gofmt::float(f), want);
    }
    let enum_json = |v: Value| gofmt::json(&v, true);
    assert_eq!(enum_json(json!(1e21)), "1e+21");
    assert_eq!(enum_json(json!(1e-7)), "1e-7");
    assert_eq!(enum_json(json!(1e20)), "100000000000000000000");
    assert_eq!(enum_json(json!({"b": [1, "<"], "a": null})), r#"{"a":null,"b":[1,"\u003c"]}"#);
    assert_eq!(gofmt::sharp(&json!({"b": 1, "a": "x"})), r#"map[string]interface {}{"a":"x", "b":1}"#);
    assert_eq!(
        gofmt::sharp(&json!([1, "a", null, 2.5, true])),
        r#"[]interface {}{1, "a", interface {}(nil), 2.5, true}"#
    );
    assert_eq!(gofmt::quote("a\"b\n\u{1}é\u{200b}"), r#""a\"b\n\x01é\u200b""#);
    assert_eq!(gofmt::body(&Value::Null), r#""null""#);
}

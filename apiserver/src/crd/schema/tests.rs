//! Validation against upstream's messages (kube-apiserver 1.33 responses and apiextensions'
//! validation tests).

use serde_json::{Value, json};

use super::*;

/// `reason field: message` lines, the way they are compared below.
fn lines(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(|e| format!("{} {}", e.reason, e.text())).collect()
}

fn object_with(field: Value) -> Value {
    json!({"type": "object", "properties": {"field": field}})
}

#[track_caller]
fn check(schema: &Value, obj: &Value, want: &[&str]) {
    let got = lines(&validate(obj, schema));
    assert_eq!(got, want, "object {obj}");
}

#[test]
fn types() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"type": "integer"}),
            json!("3"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "string": field in body must be of type integer: "string""#,
            ],
        ),
        // Integers are JSON numbers without a fraction, whatever their spelling.
        (json!({"type": "integer"}), json!(3.0), &[]),
        (json!({"type": "integer"}), json!(1e3), &[]),
        (
            json!({"type": "integer"}),
            json!(3.5),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "number": field in body must be of type integer: "number""#,
            ],
        ),
        (json!({"type": "number"}), json!(3), &[]),
        (
            json!({"type": "boolean"}),
            json!("true"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "string": field in body must be of type boolean: "string""#,
            ],
        ),
        (
            json!({"type": "string"}),
            json!({"a": 1}),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "object": field in body must be of type string: "object""#,
            ],
        ),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            json!("x"),
            &[r#"FieldValueTypeInvalid field: Invalid value: "string": field in body must be of type array: "string""#],
        ),
        (
            json!({"type": "object"}),
            json!([]),
            &[r#"FieldValueTypeInvalid field: Invalid value: "array": field in body must be of type object: "array""#],
        ),
        (
            json!({"type": "object"}),
            json!(null),
            &[r#"FieldValueTypeInvalid field: Invalid value: "null": field in body must be of type object: "null""#],
        ),
        (json!({"type": "object", "nullable": true}), json!(null), &[]),
        (json!({"x-kubernetes-int-or-string": true}), json!(5), &[]),
        (json!({"x-kubernetes-int-or-string": true}), json!("5%"), &[]),
        (
            json!({"x-kubernetes-int-or-string": true}),
            json!(1.2),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "number": field in body must be of type integer,string: "number""#,
            ],
        ),
        (
            json!({"x-kubernetes-int-or-string": true}),
            json!(null),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "null": field in body must be of type integer,string: "null""#,
            ],
        ),
        // Nothing declared: anything goes.
        (json!({"x-kubernetes-preserve-unknown-fields": true}), json!({"a": [1]}), &[]),
    ];
    for (field, value, want) in cases {
        check(&object_with(field.clone()), &json!({ "field": value }), want);
    }
}

#[test]
fn the_documented_example() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}});
    let errs = validate(&json!({"spec": {"replicas": "string"}}), &schema);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].reason, "FieldValueTypeInvalid");
    assert_eq!(
        errs[0].text(),
        r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
    );
}

#[test]
fn required() {
    let schema = json!({
        "type": "object", "required": ["field"],
        "properties": {"field": {"type": "object", "required": ["nested"], "properties": {"nested": {}}}}
    });
    check(&schema, &json!({"test": "a"}), &["FieldValueRequired field: Required value"]);
    check(&schema, &json!({"field": {}}), &["FieldValueRequired field.nested: Required value"]);
    // Present as null is not missing (the decoder drops non-nullable nulls before this).
    check(&schema, &json!({"field": {"nested": null}}), &[]);
}

#[test]
fn enums() {
    let schema = object_with(json!({
        "type": "object", "required": ["nestedint", "nestedstring"],
        "properties": {
            "nestedint": {"type": "integer", "enum": [1, 2]},
            "nestedstring": {"type": "string", "enum": ["a", "b"]}
        }
    }));
    check(
        &schema,
        &json!({"field": {}}),
        &[
            "FieldValueRequired field.nestedint: Required value",
            "FieldValueRequired field.nestedstring: Required value",
        ],
    );
    check(
        &schema,
        &json!({"field": {"nestedint": "x", "nestedstring": true}}),
        &[
            r#"FieldValueTypeInvalid field.nestedint: Invalid value: "string": field.nestedint in body must be of type integer: "string""#,
            r#"FieldValueNotSupported field.nestedint: Unsupported value: "x": supported values: "1", "2""#,
            r#"FieldValueTypeInvalid field.nestedstring: Invalid value: "boolean": field.nestedstring in body must be of type string: "boolean""#,
            r#"FieldValueNotSupported field.nestedstring: Unsupported value: true: supported values: "a", "b""#,
        ],
    );
    check(&schema, &json!({"field": {"nestedint": 2, "nestedstring": "b"}}), &[]);
    // Integral floats equal integer members; other members print as JSON.
    let e = object_with(json!({"enum": [1.5, {"a": 1}, null, "<x>"]}));
    check(&e, &json!({"field": 1.5}), &[]);
    check(
        &e,
        &json!({"field": 2}),
        &[r#"FieldValueNotSupported field: Unsupported value: 2: supported values: "1.5", "{\"a\":1}", "null", "<x>""#],
    );
    // Upstream compares decoded int64 data with float64 schema values inside objects: never equal.
    check(
        &e,
        &json!({"field": {"a": 1}}),
        &[
            r#"FieldValueNotSupported field: Unsupported value: map[string]interface {}{"a":1}: supported values: "1.5", "{\"a\":1}", "null", "<x>""#,
        ],
    );
    let nullable_enum = object_with(json!({"type": "string", "nullable": true, "enum": ["a"]}));
    check(
        &nullable_enum,
        &json!({"field": null}),
        &[r#"FieldValueNotSupported field: Unsupported value: "null": supported values: "a""#],
    );
}

#[test]
fn strings() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"type": "string", "pattern": "^[a-z]+$"}),
            json!("ABC"),
            &[r#"FieldValueInvalid field: Invalid value: "ABC": field in body should match '^[a-z]+$'"#],
        ),
        (json!({"type": "string", "pattern": "^[a-z]+$"}), json!("abc"), &[]),
        // Unanchored patterns match anywhere.
        (json!({"type": "string", "pattern": "b"}), json!("abc"), &[]),
        (
            json!({"type": "string", "pattern": "+"}),
            json!("foo"),
            &[
                "FieldValueInvalid field: Invalid value: \"foo\": field in body should match '+, but pattern is invalid: error parsing regexp: missing argument to repetition operator: `+`'",
            ],
        ),
        (
            json!({"type": "string", "minLength": 3}),
            json!("ab"),
            &[r#"FieldValueInvalid field: Invalid value: "ab": field in body should be at least 3 chars long"#],
        ),
        (
            json!({"type": "string", "maxLength": 2}),
            json!("abc"),
            &["FieldValueTooLong field: Too long: may not be more than 2 bytes"],
        ),
        // Lengths count characters.
        (json!({"type": "string", "maxLength": 3}), json!("äöü"), &[]),
        // Only the first of length and pattern failures is reported.
        (
            json!({"type": "string", "maxLength": 1, "pattern": "^x$"}),
            json!("ab"),
            &["FieldValueTooLong field: Too long: may not be more than 1 bytes"],
        ),
        // Every validator runs, also after a type error.
        (
            json!({"type": "integer", "minLength": 3}),
            json!("ab"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "string": field in body must be of type integer: "string""#,
                r#"FieldValueInvalid field: Invalid value: "ab": field in body should be at least 3 chars long"#,
            ],
        ),
    ];
    for (field, value, want) in cases {
        check(&object_with(field.clone()), &json!({ "field": value }), want);
    }
}

#[test]
fn numbers() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"type": "integer", "minimum": 1}),
            json!(0),
            &["FieldValueInvalid field: Invalid value: 0: field in body should be greater than or equal to 1"],
        ),
        (
            json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true}),
            json!(1),
            &["FieldValueInvalid field: Invalid value: 1: field in body should be greater than 1"],
        ),
        (
            json!({"type": "integer", "maximum": 10}),
            json!(11),
            &["FieldValueInvalid field: Invalid value: 11: field in body should be less than or equal to 10"],
        ),
        (
            json!({"type": "integer", "maximum": 10, "exclusiveMaximum": true}),
            json!(10),
            &["FieldValueInvalid field: Invalid value: 10: field in body should be less than 10"],
        ),
        (
            json!({"type": "number", "maximum": 1.5}),
            json!(2.5),
            &["FieldValueInvalid field: Invalid value: 2.5: field in body should be less than or equal to 1.5"],
        ),
        // Go's %v switches to exponents from 1e6 on floats; int64 data compares with a truncated bound.
        (
            json!({"type": "number", "maximum": 1000000}),
            json!(2e6),
            &["FieldValueInvalid field: Invalid value: 2e+06: field in body should be less than or equal to 1e+06"],
        ),
        (
            json!({"type": "number", "maximum": 1000000}),
            json!(2000000),
            &["FieldValueInvalid field: Invalid value: 2000000: field in body should be less than or equal to 1000000"],
        ),
        (json!({"type": "integer", "minimum": 0.5}), json!(0), &[]),
        (
            json!({"type": "integer", "multipleOf": 3}),
            json!(7),
            &["FieldValueInvalid field: Invalid value: 7: field in body should be a multiple of 3"],
        ),
        (json!({"type": "integer", "multipleOf": 3}), json!(9), &[]),
        (
            json!({"type": "number", "multipleOf": 0.5}),
            json!(0.3),
            &["FieldValueInvalid field: Invalid value: 0.3: field in body should be a multiple of 0.5"],
        ),
        (json!({"type": "number", "multipleOf": 0.1}), json!(0.3), &[]),
        // Bounds apply to numbers only, whatever the type says.
        (
            json!({"type": "string", "minimum": 5}),
            json!(1),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "integer": field in body must be of type string: "integer""#,
                "FieldValueInvalid field: Invalid value: 1: field in body should be greater than or equal to 5",
            ],
        ),
        // multipleOf, then minimum, then maximum.
        (
            json!({"type": "integer", "minimum": 10, "maximum": 1, "multipleOf": 2}),
            json!(5),
            &[
                "FieldValueInvalid field: Invalid value: 5: field in body should be a multiple of 2",
                "FieldValueInvalid field: Invalid value: 5: field in body should be greater than or equal to 10",
                "FieldValueInvalid field: Invalid value: 5: field in body should be less than or equal to 1",
            ],
        ),
    ];
    for (field, value, want) in cases {
        check(&object_with(field.clone()), &json!({ "field": value }), want);
    }
}

#[test]
fn arrays_and_objects() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"type": "array", "items": {"type": "string"}, "minItems": 2}),
            json!(["a"]),
            &["FieldValueInvalid field: Invalid value: 1: field in body should have at least 2 items"],
        ),
        (
            json!({"type": "array", "items": {"type": "string"}, "maxItems": 2}),
            json!(["a", "b", "c"]),
            &["FieldValueTooMany field: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}, "uniqueItems": true}),
            json!([1, 2, 1]),
            &[r#"FieldValueInvalid field: Invalid value: "": field in body shouldn't contain duplicates"#],
        ),
        // 1 and 1.0 decode to int64 and float64: different.
        (json!({"type": "array", "items": {"type": "number"}, "uniqueItems": true}), json!([1, 1.0]), &[]),
        (
            json!({"type": "array", "items": {"type": "integer"}}),
            json!([1, "x", 3]),
            &[
                r#"FieldValueTypeInvalid field[1]: Invalid value: "string": field[1] in body must be of type integer: "string""#,
            ],
        ),
        (
            json!({"type": "object", "minProperties": 1}),
            json!({}),
            &["FieldValueInvalid field: Invalid value: 0: field in body should have at least 1 properties"],
        ),
        (
            json!({"type": "object", "maxProperties": 2}),
            json!({"a": true, "b": true, "c": true}),
            &["FieldValueTooMany field: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            json!({"a": "x", "b": 1}),
            &[
                r#"FieldValueTypeInvalid field.b: Invalid value: "integer": field.b in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}),
            json!({"a": "x", "b": 1}),
            &[r#"FieldValueInvalid field: Invalid value: "b": field.b in body is a forbidden property"#],
        ),
    ];
    for (field, value, want) in cases {
        check(&object_with(field.clone()), &json!({ "field": value }), want);
    }
}

#[test]
fn formats() {
    let cases: &[(&str, Value, &[&str])] = &[
        ("date-time", json!("2024-02-29T10:00:00Z"), &[]),
        (
            "date-time",
            json!("2023-02-29T10:00:00Z"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "2023-02-29T10:00:00Z": field in body must be of type date-time: "2023-02-29T10:00:00Z""#,
            ],
        ),
        (
            "date",
            json!("2024-1-2"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "2024-1-2": field in body must be of type date: "2024-1-2""#,
            ],
        ),
        (
            "uuid",
            json!("not-a-uuid"),
            &[
                r#"FieldValueTypeInvalid field: Invalid value: "not-a-uuid": field in body must be of type uuid: "not-a-uuid""#,
            ],
        ),
        ("byte", json!("aGVsbG8="), &[]),
        (
            "byte",
            json!(""),
            &[r#"FieldValueTypeInvalid field: Invalid value: "": field in body must be of type byte: """#],
        ),
        // int32/int64/float/double are stripped upstream: no range checks.
        ("int32", json!("x"), &[]),
        ("unknown-format", json!("x"), &[]),
    ];
    for (format, value, want) in cases {
        check(&object_with(json!({"type": "string", "format": format})), &json!({ "field": value }), want);
    }
    check(&object_with(json!({"type": "integer", "format": "int32"})), &json!({"field": 10_000_000_000_i64}), &[]);
    // A supported format on a mistyped non-string reports the data's Go format.
    check(
        &object_with(json!({"type": "string", "format": "date-time"})),
        &json!({"field": 5}),
        &[r#"FieldValueTypeInvalid field: Invalid value: "int64": field in body must be of type date-time: "int64""#],
    );
    // Upstream quirk: with a format and no numeric type, arrays pass the type check.
    check(&object_with(json!({"type": "string", "format": "date-time"})), &json!({"field": []}), &[]);
}

#[test]
fn junctors() {
    // Upstream's own case: int-or-string plus a user anyOf; the best failing branch is the first.
    let ios = object_with(
        json!({"nullable": true, "x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}),
    );
    check(&ios, &json!({"field": 42}), &[]);
    check(&ios, &json!({"field": null}), &[]);
    check(
        &ios,
        &json!({"field": true}),
        &[
            r#"FieldValueTypeInvalid field: Invalid value: "boolean": field in body must be of type integer,string: "boolean""#,
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"FieldValueTypeInvalid field: Invalid value: "boolean": field in body must be of type integer: "boolean""#,
        ],
    );
    let all = object_with(
        json!({"nullable": true, "x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}]}),
    );
    check(
        &all,
        &json!({"field": []}),
        &[
            r#"FieldValueTypeInvalid field: Invalid value: "array": field in body must be of type integer,string: "array""#,
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"FieldValueTypeInvalid field: Invalid value: "array": field in body must be of type integer: "array""#,
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate all the schemas (allOf). None validated"#,
        ],
    );

    let one = object_with(json!({
        "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}]
    }));
    check(&one, &json!({"field": {"a": "x"}}), &[]);
    check(
        &one,
        &json!({"field": {}}),
        &[
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found none valid"#,
            "FieldValueRequired field.a: Required value",
        ],
    );
    check(
        &one,
        &json!({"field": {"a": "x", "b": "y"}}),
        &[
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
        ],
    );
    // The branch with more passed checks wins: here the second, whose type check passes.
    let best = object_with(json!({"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 1}]}));
    check(
        &best,
        &json!({"field": "ab"}),
        &[
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found none valid"#,
            "FieldValueTooLong field: Too long: may not be more than 1 bytes",
        ],
    );

    let not = object_with(json!({"type": "object", "not": {"required": ["forbidden"]}}));
    check(
        &not,
        &json!({"field": {"forbidden": 1}}),
        &[r#"FieldValueInvalid <nil>: Invalid value: "": "field" must not validate the schema (not)"#],
    );
    check(&not, &json!({"field": {}}), &[]);

    let any = object_with(json!({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}));
    check(&any, &json!({"field": "::1"}), &[]);
    check(
        &any,
        &json!({"field": "x"}),
        &[
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"FieldValueTypeInvalid field: Invalid value: "x": field in body must be of type ipv4: "x""#,
        ],
    );

    // At the root the composite names the empty path.
    let root = json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}]});
    check(
        &root,
        &json!({}),
        &[
            r#"FieldValueInvalid <nil>: Invalid value: "": "" must validate at least one schema (anyOf)"#,
            "FieldValueRequired a: Required value",
        ],
    );
}

#[test]
fn prefixed_values() {
    let status = json!({"type": "object", "required": ["phase"], "properties": {"replicas": {"type": "integer"}, "phase": {"type": "string"}}, "not": {"required": ["x"]}});
    let got = lines(&validate_values(&json!({"replicas": "1", "x": 1}), &status, "status"));
    assert_eq!(
        got,
        [
            r#"FieldValueInvalid status: Invalid value: "": "" must not validate the schema (not)"#,
            r#"FieldValueTypeInvalid status.replicas: Invalid value: "string": replicas in body must be of type integer: "string""#,
            "FieldValueRequired status.phase: Required value",
        ]
    );
}

#[test]
fn root_metadata_constraints() {
    let schema = json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}}}});
    check(
        &schema,
        &json!({"metadata": {"name": "toolong"}}),
        &["FieldValueTooLong metadata.name: Too long: may not be more than 5 bytes"],
    );
    check(&schema, &json!({"metadata": {"name": "ok"}}), &[]);
}

#[test]
fn duplicate_messages_are_reported_once() {
    // The same check twice (main schema and allOf) yields one error, as upstream dedupes.
    let schema = object_with(json!({"type": "string", "allOf": [{"maxLength": 1}, {"maxLength": 1}]}));
    check(
        &schema,
        &json!({"field": "ab"}),
        &[
            "FieldValueTooLong field: Too long: may not be more than 1 bytes",
            r#"FieldValueInvalid <nil>: Invalid value: "": "field" must validate all the schemas (allOf). None validated"#,
        ],
    );
}

//! Apply and update bookkeeping over small hand-written schemas (and none), and the FieldsV1
//! encoding.

use serde_json::{Map, Value, json};

use super::fieldset::{FieldSet, PathElement, path_string};
use super::*;
use crate::patch::strategic::{NoSchema, SchemaNode};

pub(super) const NOW: &str = "2025-01-02T03:04:05Z";
pub(super) const LATER: &str = "2025-01-02T04:00:00Z";

/// A ConfigMap-like kind with a spec that has every list and map flavour.
fn defs() -> Map<String, Value> {
    let doc = json!({
        "Thing": {"type": "object", "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}], "default": {}},
            "data": {"type": "object", "additionalProperties": {"type": "string"}},
            "listOfLists": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "value": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}}},
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "args": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
                "selector": {"type": "object", "additionalProperties": {"type": "string"},
                             "x-kubernetes-map-type": "atomic"},
                "nullable": {"type": "string", "nullable": true},
                "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {
                              "name": {"type": "string"}, "value": {"type": "string"}}}}
            }}
        }},
        "Meta": {"type": "object", "properties": {
            "name": {"type": "string"}, "namespace": {"type": "string"}, "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "managedFields": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "atomic"}
        }}
    });
    doc.as_object().cloned().unwrap_or_default()
}

fn thing(body: Value) -> Value {
    let mut out = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"}});
    if let (Some(out), Some(body)) = (out.as_object_mut(), body.as_object()) {
        for (k, v) in body {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Runs `f` with the Thing schema.
fn with_schema<R>(f: impl FnOnce(Option<&SchemaNode<'_>>) -> R) -> R {
    let defs = defs();
    let node = SchemaNode::definition("Thing", &defs);
    f(node.as_ref())
}

/// The managers of `obj` as `manager/operation` in stored order.
pub(super) fn owners(obj: &Value) -> Vec<String> {
    entries(obj)
        .iter()
        .map(|e| format!("{}/{}", e["manager"].as_str().unwrap(), e["operation"].as_str().unwrap()))
        .collect()
}

pub(super) fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

/// The fieldsV1 of `manager`'s entry with `operation`.
pub(super) fn fields(obj: &Value, manager: &str, operation: &str) -> Value {
    entries(obj)
        .into_iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or_else(|| panic!("no {manager}/{operation} entry in {:#}", obj["metadata"]))
}

fn without_managed(mut obj: Value) -> Value {
    obj["metadata"].as_object_mut().unwrap().shift_remove("managedFields");
    obj
}

#[test]
fn fields_v1_round_trips_a_realistic_block() {
    // As kube-controller-manager and kubectl leave them on a Deployment.
    let blocks = [
        json!({"f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
               "f:status": {"f:availableReplicas": {}, "f:conditions": {".": {},
                   "k:{\"type\":\"Available\"}": {".": {}, "f:lastTransitionTime": {}, "f:message": {},
                       "f:status": {}, "f:type": {}},
                   "k:{\"type\":\"Progressing\"}": {".": {}, "f:status": {}, "f:type": {}}},
                   "f:observedGeneration": {}, "f:replicas": {}}}),
        json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {},
                   "f:targetPort": {}}}, "f:selector": {}},
               "f:metadata": {"f:finalizers": {"v:\"example.com/a\"": {}, "v:\"example.com/b\"": {}},
                   "f:labels": {"f:app": {}}}}),
    ];
    for block in blocks {
        let set = FieldSet::from_fields_v1(&block).unwrap();
        let encoded = set.to_fields_v1();
        // Same content, and keys come out in upstream's order (sorted elements).
        assert_eq!(encoded, block);
        assert_eq!(FieldSet::from_fields_v1(&encoded).unwrap(), set);
    }
    let sorted = FieldSet::from_fields_v1(&json!({"f:b": {}, "f:a": {}})).unwrap().to_fields_v1();
    assert_eq!(sorted.as_object().unwrap().keys().collect::<Vec<_>>(), ["f:a", "f:b"]);
}

#[test]
fn managed_fields_round_trip_byte_for_byte() {
    // A Deployment's entries as upstream writes them: appliers first, then by time; keys of
    // each entry and of each FieldsV1 level in upstream's order.
    let text = r#"[{"manager":"kubectl","operation":"Apply","apiVersion":"apps/v1","time":"2025-01-02T03:04:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}},{"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1","time":"2025-01-02T03:04:06Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:availableReplicas":{},"f:conditions":{".":{},"k:{\"type\":\"Available\"}":{".":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:replicas":{}}},"subresource":"status"},{"manager":"kubectl-edit","operation":"Update","apiVersion":"apps/v1","time":"2025-01-02T05:00:00+01:00","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/a\"":{}}}}}]"#;
    let value: Value = serde_json::from_str(text).unwrap();
    let managers = managed::decode(Some(&value)).unwrap();
    assert_eq!(managers.len(), 3);
    let encoded = managed::encode(&managers).unwrap();
    assert_eq!(serde_json::to_string(&encoded).unwrap(), text);
    assert_eq!(managed::unix_seconds(Some("2025-01-02T03:04:05Z")), 1_735_787_045);
    assert_eq!(managed::unix_seconds(Some("2025-01-02T04:04:05.5+01:00")), 1_735_787_045);
    assert_eq!(managed::unix_seconds(Some("yesterday")), 0);

    for (bad, why) in [
        (
            json!([{"operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]),
            "operation must be `Apply` or `Update`",
        ),
        (json!([{"operation": "Apply", "fieldsType": "FieldsV1"}]), "apiVersion must not be empty"),
        (json!([{"operation": "Apply", "apiVersion": "v1"}]), "missing fieldsType in managed fields entry 0"),
    ] {
        assert_eq!(managed::decode(Some(&bad)).unwrap_err(), why);
    }
}

#[test]
fn fields_v1_reading_rules() {
    let set = FieldSet::from_fields_v1(&json!({
        "f:a": {".": {}, "f:b": {}},
        "f:c": {},
        "x:future": {},
        "i:2": {}
    }))
    .unwrap();
    let f = |n: &str| PathElement::Field(n.into());
    assert!(set.has(&[f("a")]));
    assert!(set.has(&[f("a"), f("b")]));
    assert!(set.has(&[f("c")]));
    assert!(set.has(&[PathElement::Index(2)]));
    assert_eq!(set.paths().len(), 4, "unknown element kinds are skipped");
    assert!(FieldSet::from_fields_v1(&json!({"q": {}})).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"k:[1]": {}})).is_err());
    assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
    assert!(FieldSet::from_fields_v1(&Value::Null).unwrap().is_empty());
}

#[test]
fn path_elements_order_encode_and_print_like_upstream() {
    let key = PathElement::key(vec![("protocol".into(), json!("TCP")), ("port".into(), json!(80))]);
    let cases: Vec<(PathElement, &str, &str)> = vec![
        (PathElement::Field("spec".into()), "f:spec", ".spec"),
        (key.clone(), r#"k:{"port":80,"protocol":"TCP"}"#, r#"[port=80,protocol="TCP"]"#),
        (PathElement::Value(json!(1.5)), "v:1.5", "[=1.5]"),
        (PathElement::Value(json!("a<b")), r#"v:"a\u003cb""#, r#"[="a<b"]"#),
        (PathElement::Index(3), "i:3", "[3]"),
    ];
    for (pe, encoded, printed) in &cases {
        assert_eq!(pe.encode(), *encoded);
        assert_eq!(pe.to_string(), *printed);
        assert_eq!(PathElement::decode(encoded).unwrap().as_ref(), Some(pe));
    }
    // Fields sort before keys, keys before values, values before indices.
    let ordered: Vec<_> = cases.iter().map(|c| c.0.clone()).collect();
    let mut sorted = ordered.clone();
    sorted.reverse();
    sorted.sort();
    assert_eq!(sorted, ordered);
    // Values: numbers (ints and floats together), strings, booleans, lists, maps, null.
    let values =
        [json!(1), json!(1.5), json!(2), json!("a"), json!(false), json!(true), json!([1]), json!({}), json!(null)];
    for pair in values.windows(2) {
        assert!(PathElement::Value(pair[0].clone()) < PathElement::Value(pair[1].clone()), "{pair:?}");
    }
    let path = [PathElement::Field("spec".into()), key, PathElement::Field("port".into())];
    assert_eq!(path_string(&path), r#".spec[port=80,protocol="TCP"].port"#);
}

fn conflict(manager: &str, operation: Operation, api_version: &str, path: &str) -> Conflict {
    Conflict {
        manager: manager.into(),
        operation,
        api_version: api_version.into(),
        subresource: None,
        path: path.into(),
    }
}

#[test]
fn conflict_messages_and_causes() {
    let one = ApplyError::Conflicts(vec![conflict("other", Operation::Update, "v1", ".data.key")]);
    assert_eq!(one.message(), r#"Apply failed with 1 conflict: conflict with "other" using v1: .data.key"#);
    assert_eq!((one.code(), one.reason()), (409, "Conflict"));
    assert_eq!(
        one.causes(),
        vec![ConflictCause {
            reason: "FieldManagerConflict",
            message: r#"conflict with "other" using v1"#.into(),
            field: ".data.key".into()
        }]
    );
    let several = ApplyError::Conflicts(vec![
        conflict("other", Operation::Update, "apps/v1", ".spec.replicas"),
        conflict("applier", Operation::Apply, "apps/v1", ".spec.paused"),
        conflict("other", Operation::Update, "apps/v1", ".spec.template.spec.containers[name=\"app\"].image"),
    ]);
    assert_eq!(
        several.message(),
        "Apply failed with 3 conflicts: conflicts with \"applier\":\n- .spec.paused\n\
         conflicts with \"other\" using apps/v1:\n- .spec.replicas\n\
         - .spec.template.spec.containers[name=\"app\"].image"
    );
    let mut status = conflict("ctl", Operation::Update, "v1", ".status.phase");
    status.subresource = Some("status".into());
    assert_eq!(status.message(), r#"conflict with "ctl" with subresource "status" using v1"#);
}

/// One apply step: who applies what, forced or not, and the expected outcome.
struct Step {
    manager: &'static str,
    config: Value,
    force: bool,
    /// `Err(message)` for a rejected apply.
    expect: Result<Value, &'static str>,
}

fn step(manager: &'static str, config: Value, expect: Result<Value, &'static str>) -> Step {
    Step { manager, config, force: false, expect }
}

fn forced(manager: &'static str, config: Value, expect: Result<Value, &'static str>) -> Step {
    Step { manager, config, force: true, expect }
}

/// Runs the steps in order on one object, checking the object body (without managedFields)
/// after each accepted apply, or the conflict message of a rejected one.
fn run(steps: Vec<Step>) -> Value {
    with_schema(|schema| {
        let mut live: Option<Value> = None;
        for (i, s) in steps.into_iter().enumerate() {
            let result = apply(live.as_ref(), &thing(s.config), s.manager, s.force, schema, NOW);
            match (result, s.expect) {
                (Ok(obj), Ok(body)) => {
                    assert_eq!(without_managed(obj.clone()), thing(body), "step {i}");
                    live = Some(obj);
                }
                (Err(e), Err(message)) => assert_eq!(e.message(), message, "step {i}"),
                (got, want) => panic!("step {i}: got {got:?}, want {want:?}"),
            }
        }
        live.unwrap_or(Value::Null)
    })
}

#[test]
fn two_appliers_share_a_granular_map() {
    let obj = run(vec![
        step("a", json!({"data": {"x": "1"}}), Ok(json!({"data": {"x": "1"}}))),
        step("b", json!({"data": {"y": "2"}}), Ok(json!({"data": {"x": "1", "y": "2"}}))),
        // The same value is no conflict: both own it.
        step("b", json!({"data": {"y": "2", "x": "1"}}), Ok(json!({"data": {"x": "1", "y": "2"}}))),
    ]);
    assert_eq!(owners(&obj), ["a/Apply", "b/Apply"]);
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:data": {"f:x": {}}}));
    assert_eq!(fields(&obj, "b", "Apply"), json!({"f:data": {"f:x": {}, "f:y": {}}}));
}

#[test]
fn conflicts_force_and_ownership_moves() {
    let obj = run(vec![
        step(
            "a",
            json!({"data": {"x": "1"}, "spec": {"replicas": 1}}),
            Ok(json!({"data": {"x": "1"}, "spec": {"replicas": 1}})),
        ),
        step("b", json!({"data": {"x": "2"}}), Err(r#"Apply failed with 1 conflict: conflict with "a": .data.x"#)),
        step(
            "b",
            json!({"data": {"x": "2"}, "spec": {"replicas": 3}}),
            Err("Apply failed with 2 conflicts: conflicts with \"a\":\n- .data.x\n- .spec.replicas"),
        ),
        forced("b", json!({"data": {"x": "2"}}), Ok(json!({"data": {"x": "2"}, "spec": {"replicas": 1}}))),
        // a lost .data.x: declaring it again with its old value now conflicts with b.
        step(
            "a",
            json!({"data": {"x": "1"}, "spec": {"replicas": 1}}),
            Err(r#"Apply failed with 1 conflict: conflict with "b": .data.x"#),
        ),
    ]);
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(fields(&obj, "b", "Apply"), json!({"f:data": {"f:x": {}}}));
}

#[test]
fn dropped_fields_are_removed_unless_someone_else_owns_them() {
    run(vec![
        step("a", json!({"data": {"x": "1", "y": "2", "z": "3"}}), Ok(json!({"data": {"x": "1", "y": "2", "z": "3"}}))),
        step("b", json!({"data": {"y": "2"}}), Ok(json!({"data": {"x": "1", "y": "2", "z": "3"}}))),
        // x goes; y stays for b; z stays because a still declares it.
        step("a", json!({"data": {"z": "3"}}), Ok(json!({"data": {"y": "2", "z": "3"}}))),
        // The last key going takes the map with it.
        step("b", json!({}), Ok(json!({"data": {"z": "3"}}))),
        step("a", json!({}), Ok(json!({}))),
    ]);
}

#[test]
fn sets_union_and_remove_only_what_the_applier_dropped() {
    let obj = run(vec![
        step(
            "a",
            json!({"metadata": {"name": "t", "finalizers": ["x", "y"]}}),
            Ok(json!({"metadata": {"name": "t", "finalizers": ["x", "y"]}})),
        ),
        step(
            "b",
            json!({"metadata": {"name": "t", "finalizers": ["z", "x"]}}),
            Ok(json!({"metadata": {"name": "t", "finalizers": ["z", "x", "y"]}})),
        ),
        step(
            "a",
            json!({"metadata": {"name": "t", "finalizers": ["y"]}}),
            Ok(json!({"metadata": {"name": "t", "finalizers": ["z", "x", "y"]}})),
        ),
        step("b", json!({"metadata": {"name": "t"}}), Ok(json!({"metadata": {"name": "t", "finalizers": ["y"]}}))),
    ]);
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:metadata": {"f:finalizers": {"v:\"y\"": {}}}}));
    assert_eq!(owners(&obj), ["a/Apply"], "b owns nothing any more");
}

#[test]
fn patch_strategy_merge_without_key_is_a_set() {
    run(vec![
        step("a", json!({"spec": {"tags": ["x"]}}), Ok(json!({"spec": {"tags": ["x"]}}))),
        step("b", json!({"spec": {"tags": ["y"]}}), Ok(json!({"spec": {"tags": ["x", "y"]}}))),
    ]);
}

#[test]
fn atomic_lists_and_maps_are_replaced_whole() {
    let obj = run(vec![
        step(
            "a",
            json!({"spec": {"args": ["x", "y"], "selector": {"k": "v"}}}),
            Ok(json!({"spec": {"args": ["x", "y"], "selector": {"k": "v"}}})),
        ),
        step(
            "b",
            json!({"spec": {"args": ["z"]}}),
            Err(r#"Apply failed with 1 conflict: conflict with "a": .spec.args"#),
        ),
        step(
            "b",
            json!({"spec": {"selector": {"other": "w"}}}),
            Err(r#"Apply failed with 1 conflict: conflict with "a": .spec.selector"#),
        ),
        forced("b", json!({"spec": {"args": ["z"]}}), Ok(json!({"spec": {"args": ["z"], "selector": {"k": "v"}}}))),
    ]);
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:spec": {"f:selector": {}}}));
    assert_eq!(fields(&obj, "b", "Apply"), json!({"f:spec": {"f:args": {}}}));
}

#[test]
fn list_map_items_merge_by_key() {
    let obj = run(vec![
        step(
            "a",
            json!({"spec": {"items": [{"name": "p", "value": "1"}]}}),
            Ok(json!({"spec": {"items": [{"name": "p", "value": "1"}]}})),
        ),
        step(
            "b",
            json!({"spec": {"items": [{"name": "q", "value": "2"}, {"name": "p"}]}}),
            Ok(json!({"spec": {"items": [{"name": "q", "value": "2"}, {"name": "p", "value": "1"}]}})),
        ),
        step(
            "b",
            json!({"spec": {"items": [{"name": "p", "value": "3"}]}}),
            Err(r#"Apply failed with 1 conflict: conflict with "a": .spec.items[name="p"].value"#),
        ),
    ]);
    assert_eq!(
        fields(&obj, "b", "Apply"),
        json!({"f:spec": {"f:items": {
            "k:{\"name\":\"p\"}": {".": {}, "f:name": {}},
            "k:{\"name\":\"q\"}": {".": {}, "f:name": {}, "f:value": {}}}}})
    );
}

/// Upstream's multiple-appliers scenarios where an applier drops a list item others have
/// touched: a controller's Update inside the item does not keep it, another applier owning the
/// item does.
#[test]
fn dropped_list_items_and_other_owners() {
    enum Op {
        Apply(&'static str, Value),
        Update(&'static str, Value),
    }
    let lists = |items: Value| thing(json!({"listOfLists": items}));
    let item = |name: &str| format!("k:{{\"name\":\"{name}\"}}");
    let cases = [
        (
            "dangling sub-item",
            vec![
                Op::Apply("one", json!([{"name": "a"}, {"name": "b", "value": ["c"]}])),
                Op::Apply("two", json!([{"name": "b", "value": ["d"]}])),
                Op::Update("controller", json!([{"name": "a"}, {"name": "b", "value": ["c", "d", "e"]}])),
                Op::Apply("one", json!([{"name": "a"}])),
            ],
            json!([{"name": "a"}, {"name": "b", "value": ["d", "e"]}]),
            vec![
                ("one", json!({item("a"): {".": {}, "f:name": {}}})),
                ("two", json!({item("b"): {".": {}, "f:name": {}, "f:value": {"v:\"d\"": {}}}})),
                ("controller", json!({item("b"): {"f:value": {"v:\"e\"": {}}}})),
            ],
        ),
        (
            "managed sub-item",
            vec![
                Op::Apply("one", json!([{"name": "a"}, {"name": "b", "value": ["c"]}])),
                Op::Apply("two", json!([{"name": "a", "value": ["b"]}])),
                Op::Update("controller", json!([{"name": "a", "value": ["b"]}, {"name": "b", "value": ["c", "d"]}])),
                Op::Apply("one", json!([{"name": "a"}])),
            ],
            json!([{"name": "a", "value": ["b"]}]),
            vec![
                ("one", json!({item("a"): {".": {}, "f:name": {}}})),
                ("two", json!({item("a"): {".": {}, "f:name": {}, "f:value": {"v:\"b\"": {}}}})),
            ],
        ),
    ];
    with_schema(|schema| {
        for (name, ops, want, want_owners) in cases {
            let mut live: Option<Value> = None;
            for op in ops {
                live = Some(match op {
                    Op::Apply(manager, items) => {
                        apply(live.as_ref(), &lists(items), manager, false, schema, NOW).unwrap()
                    }
                    Op::Update(manager, items) => {
                        let mut new = lists(items);
                        new["metadata"]["managedFields"] = live.as_ref().unwrap()["metadata"]["managedFields"].clone();
                        record_update(live.as_ref(), &mut new, manager, None, schema, NOW);
                        new
                    }
                });
            }
            let live = live.unwrap();
            assert_eq!(live["listOfLists"], want, "{name}");
            let got: Vec<(String, Value)> = entries(&live)
                .into_iter()
                .map(|e| (e["manager"].as_str().unwrap().to_owned(), e["fieldsV1"]["f:listOfLists"].clone()))
                .collect();
            let mut want_owners: Vec<(String, Value)> =
                want_owners.into_iter().map(|(m, f)| (m.to_owned(), f)).collect();
            want_owners.sort_by(|a, b| a.0.cmp(&b.0));
            let mut got = got;
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want_owners, "{name}");
        }
    });
}

#[test]
fn invalid_configurations() {
    with_schema(|schema| {
        let live = apply(None, &thing(json!({"data": {"x": "1"}})), "a", false, schema, NOW).unwrap();
        let cases = [
            (json!({"metadata": {"name": "t", "managedFields": []}}), "metadata.managedFields must be nil", 400),
            (
                json!({"spec": {"items": [{"name": "p"}, {"name": "p"}]}}),
                r#".spec.items: duplicate entries for key [name="p"]"#,
                500,
            ),
            (
                json!({"spec": {"items": [{"value": "v"}]}}),
                r#".spec.items: element 0: associative list with keys has an element that omits key field "name" (and doesn't have default value)"#,
                500,
            ),
        ];
        for (config, message, code) in cases {
            let err = apply(Some(&live), &thing(config), "b", false, schema, NOW).unwrap_err();
            assert_eq!((err.message().as_str(), err.code()), (message, code));
        }
        // A null managedFields is no managedFields.
        assert!(
            apply(
                Some(&live),
                &thing(json!({"metadata": {"name": "t", "managedFields": null}})),
                "b",
                false,
                schema,
                NOW
            )
            .is_ok()
        );
    });
}

#[test]
fn apply_creates_and_records_the_applier() {
    with_schema(|schema| {
        let config = thing(json!({"metadata": {"name": "t", "labels": {"app": "x"}}, "data": {"key": "v"}}));
        let obj = apply(None, &config, "kubectl", false, schema, NOW).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "Thing",
                   "metadata": {"name": "t", "labels": {"app": "x"}, "managedFields": [{
                       "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": NOW,
                       "fieldsType": "FieldsV1",
                       "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}}]},
                   "data": {"key": "v"}})
        );
    });
}

#[test]
fn an_apply_that_changes_nothing_keeps_the_time() {
    with_schema(|schema| {
        let config = thing(json!({"data": {"key": "v"}}));
        let first = apply(None, &config, "a", false, schema, NOW).unwrap();
        let again = apply(Some(&first), &config, "a", false, schema, LATER).unwrap();
        assert_eq!(again, first);
        let changed = apply(Some(&first), &thing(json!({"data": {"key": "w"}})), "a", false, schema, LATER).unwrap();
        assert_eq!(entries(&changed)[0]["time"], LATER);
        // A new applier of equal values owns them but gets no time.
        let shared = apply(Some(&first), &config, "b", false, schema, LATER).unwrap();
        let b = entries(&shared).into_iter().find(|e| e["manager"] == "b").unwrap();
        assert_eq!(b.get("time"), None);
    });
}

#[test]
fn update_takes_ownership_and_later_applies_conflict() {
    with_schema(|schema| {
        let live = apply(None, &thing(json!({"data": {"key": "v", "other": "o"}})), "a", false, schema, NOW).unwrap();
        // kubectl edit: GET, change, PUT with the managedFields it read.
        let mut edited = live.clone();
        edited["data"]["key"] = json!("edited");
        edited["data"]["new"] = json!("n");
        record_update(Some(&live), &mut edited, "kubectl-edit", None, schema, LATER);
        assert_eq!(owners(&edited), ["a/Apply", "kubectl-edit/Update"]);
        assert_eq!(fields(&edited, "kubectl-edit", "Update"), json!({"f:data": {"f:key": {}, "f:new": {}}}));
        assert_eq!(fields(&edited, "a", "Apply"), json!({"f:data": {"f:other": {}}}));
        assert_eq!(entries(&edited)[1]["time"], LATER);

        let err = apply(Some(&edited), &thing(json!({"data": {"key": "v", "other": "o"}})), "a", false, schema, LATER)
            .unwrap_err();
        assert_eq!(err.message(), r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.key"#);
        // The applier may declare the editor's value without a conflict.
        let agreed =
            apply(Some(&edited), &thing(json!({"data": {"key": "edited", "other": "o"}})), "a", false, schema, LATER);
        assert!(agreed.is_ok());

        // An update that changes nothing leaves the entries alone.
        let mut same = edited.clone();
        record_update(Some(&edited), &mut same, "someone", None, schema, "2030-01-01T00:00:00Z");
        assert_eq!(same, edited);
        // Deleting a field removes it from every owner.
        let mut removed = edited.clone();
        removed["data"].as_object_mut().unwrap().shift_remove("other");
        record_update(Some(&edited), &mut removed, "kubectl-edit", None, schema, LATER);
        assert_eq!(owners(&removed), ["kubectl-edit/Update"]);
    });
}

#[test]
fn create_records_everything_and_untracked_objects_stay_untracked() {
    with_schema(|schema| {
        let mut created =
            thing(json!({"metadata": {"name": "t", "uid": "u", "resourceVersion": "1"}, "data": {"key": "v"}}));
        record_update(None, &mut created, "kubectl-create", None, schema, NOW);
        assert_eq!(
            entries(&created),
            [json!({"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": NOW,
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:key": {}}}})]
        );

        // Clearing managedFields on update, then updating: nothing is tracked.
        let mut cleared = created.clone();
        cleared["metadata"]["managedFields"] = json!([]);
        record_update(Some(&created), &mut cleared, "x", None, schema, NOW);
        assert_eq!(cleared["metadata"].get("managedFields"), None);
        let mut untracked = cleared.clone();
        untracked["data"]["key"] = json!("w");
        record_update(Some(&cleared), &mut untracked, "x", None, schema, NOW);
        assert_eq!(untracked["metadata"].get("managedFields"), None);

        // The first apply hands what is there to before-first-apply.
        let err =
            apply(Some(&untracked), &thing(json!({"data": {"key": "mine"}})), "a", false, schema, LATER).unwrap_err();
        assert_eq!(
            err.message(),
            r#"Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.key"#
        );
        let obj = apply(Some(&untracked), &thing(json!({"data": {"extra": "e"}})), "a", false, schema, LATER).unwrap();
        assert_eq!(owners(&obj), ["a/Apply", "before-first-apply/Update"]);
        assert_eq!(fields(&obj, "before-first-apply", "Update"), json!({"f:data": {".": {}, "f:key": {}}}));
    });
}

#[test]
fn managed_fields_sent_with_an_update() {
    with_schema(|schema| {
        let live = apply(None, &thing(json!({"data": {"key": "v"}})), "a", false, schema, NOW).unwrap();
        // Replacing the entries outright is allowed on the main resource...
        let mut replaced = live.clone();
        replaced["metadata"]["managedFields"] = json!([{"manager": "z", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:key": {}}}}]);
        record_update(Some(&live), &mut replaced, "x", None, schema, NOW);
        assert_eq!(owners(&replaced), ["z/Update"]);
        // ...but not through a subresource, and garbage keeps the live ones.
        for (sub, sent) in [(Some("status"), entries(&replaced)), (None, vec![json!({"operation": "Bogus"})])] {
            let mut obj = live.clone();
            obj["metadata"]["managedFields"] = Value::Array(sent);
            record_update(Some(&live), &mut obj, "x", sub, schema, NOW);
            assert_eq!(owners(&obj), ["a/Apply"]);
        }
    });
}

#[test]
fn subresources_and_reset_fields() {
    let defs = json!({"S": {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
        "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}});
    let defs = defs.as_object().unwrap();
    let schema = SchemaNode::definition("S", defs);
    let schema = schema.as_ref();
    let main = Scope { subresource: None, reset_fields: &[&["status"]] };
    let status = Scope { subresource: Some("status"), reset_fields: &[&["spec"]] };
    let base = json!({"apiVersion": "v1", "kind": "S", "metadata": {"name": "s"}});
    let mut config = base.clone();
    config["spec"] = json!({"a": "x"});
    config["status"] = json!({"phase": "ignored"});
    let obj = apply_scoped(None, &config, "a", false, main, schema, NOW).unwrap();
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:spec": {"f:a": {}}}));

    let mut with_status = obj.clone();
    with_status["status"] = json!({"phase": "Running"});
    record_update_scoped(Some(&obj), &mut with_status, "kubelet", status, schema, NOW);
    let kubelet = entries(&with_status).into_iter().find(|e| e["manager"] == "kubelet").unwrap();
    assert_eq!(kubelet["subresource"], "status");
    assert_eq!(kubelet["fieldsV1"], json!({"f:status": {"f:phase": {}}}));

    // The kubelet's status does not get in the way of applying the main resource.
    let mut again = base.clone();
    again["spec"] = json!({"a": "y"});
    again["status"] = json!({"phase": "Other"});
    assert!(apply_scoped(Some(&with_status), &again, "a", false, main, schema, NOW).is_ok());
    let mut other = base;
    other["status"] = json!({"phase": "Failed"});
    let err = apply_scoped(Some(&with_status), &other, "b", false, status, schema, NOW).unwrap_err();
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .status.phase"#
    );
}

#[test]
fn update_entries_are_capped_at_ten() {
    with_schema(|schema| {
        let mut obj = thing(json!({"data": {}}));
        record_update(None, &mut obj, "m0", None, schema, "2025-01-01T00:00:00Z");
        for i in 1..=11 {
            let mut next = obj.clone();
            next["data"][format!("k{i}")] = json!("v");
            record_update(Some(&obj), &mut next, &format!("m{i}"), None, schema, &format!("2025-01-01T00:00:{i:02}Z"));
            obj = next;
        }
        let names = owners(&obj);
        assert_eq!(names.len(), 10, "{names:?}");
        // The three oldest (m0 owns `data` itself) fold into one entry.
        assert!(names.contains(&"ancient-changes/Update".to_string()), "{names:?}");
        let ancient = fields(&obj, "ancient-changes", "Update");
        assert!(ancient["f:data"].get("f:k2").is_some(), "{ancient}");
    });
}

#[test]
fn applied_nulls() {
    let obj = run(vec![
        step(
            "a",
            json!({"spec": {"replicas": 2, "nullable": "x"}, "data": {"k": "v"}}),
            Ok(json!({"spec": {"replicas": 2, "nullable": "x"}, "data": {"k": "v"}})),
        ),
        step(
            "b",
            json!({"data": {"k2": "w"}}),
            Ok(json!({"spec": {"replicas": 2, "nullable": "x"}, "data": {"k": "v", "k2": "w"}})),
        ),
        // Nulling a field another manager owns is a conflict, like any change.
        step(
            "b",
            json!({"spec": {"replicas": null}}),
            Err(r#"Apply failed with 1 conflict: conflict with "a": .spec.replicas"#),
        ),
        // A null leaf clears the field (kept where the schema allows null). A null map merges
        // nothing away, but the applier no longer declares its keys: its own go, others stay.
        step(
            "a",
            json!({"spec": {"replicas": null, "nullable": null}, "data": null}),
            Ok(json!({"spec": {"nullable": null}, "data": {"k2": "w"}})),
        ),
    ]);
    assert_eq!(fields(&obj, "a", "Apply"), json!({"f:data": {}, "f:spec": {"f:nullable": {}, "f:replicas": {}}}));
}

#[test]
fn without_a_schema_objects_merge_and_lists_are_atomic() {
    let schema: Option<&NoSchema> = None;
    let live = apply(
        None,
        &json!({"apiVersion": "x/v1", "kind": "K", "spec": {"a": 1, "l": [1, 2]}}),
        "a",
        false,
        schema,
        NOW,
    )
    .unwrap();
    let obj = apply(
        Some(&live),
        &json!({"apiVersion": "x/v1", "kind": "K", "spec": {"b": {"c": 1}}}),
        "b",
        false,
        schema,
        NOW,
    )
    .unwrap();
    assert_eq!(obj["spec"], json!({"a": 1, "l": [1, 2], "b": {"c": 1}}));
    // Untyped map keys are owned themselves too, hence ".".
    assert_eq!(fields(&obj, "b", "Apply"), json!({"f:spec": {".": {}, "f:b": {".": {}, "f:c": {}}}}));
    let err =
        apply(Some(&obj), &json!({"apiVersion": "x/v1", "kind": "K", "spec": {"l": [3]}}), "b", false, schema, NOW)
            .unwrap_err();
    assert_eq!(err.message(), r#"Apply failed with 1 conflict: conflict with "a": .spec.l"#);
}

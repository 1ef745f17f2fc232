//! Table-driven tests over small hand-written OpenAPI v3 fragments shaped like upstream's.

mod directives;

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{NoSchema, PatchError, PatchErrorKind, PatchMeta, SchemaNode, apply};

/// `components.schemas` of a test document: trimmed-down core types plus `test.MergeItem`, a type
/// with one field per strategy.
const SCHEMAS: &str = r##"{
  "test.Pod": {"type": "object", "properties": {
    "metadata": {"allOf": [{"$ref": "#/components/schemas/test.ObjectMeta"}], "default": {}},
    "spec": {"allOf": [{"$ref": "#/components/schemas/test.PodSpec"}]}}},
  "test.ObjectMeta": {"type": "object", "properties": {
    "name": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "finalizers": {"type": "array", "items": {"type": "string"},
      "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
    "ownerReferences": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.OwnerReference"}]},
      "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"}}},
  "test.OwnerReference": {"type": "object", "properties": {
    "uid": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"}}},
  "test.PodSpec": {"type": "object", "properties": {
    "containers": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.Container"}], "default": {}},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
    "volumes": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.Volume"}]},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"},
    "tolerations": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.Toleration"}]},
      "x-kubernetes-list-type": "atomic"},
    "imagePullSecrets": {"type": "array",
      "items": {"$ref": "#/components/schemas/test.LocalObjectReference"},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
    "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"},
      "x-kubernetes-map-type": "atomic"}}},
  "test.Container": {"type": "object", "properties": {
    "name": {"type": "string"}, "image": {"type": "string"},
    "args": {"type": "array", "items": {"type": "string"}},
    "env": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/test.EnvVar"}]},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
    "ports": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.ContainerPort"}]},
      "x-kubernetes-patch-merge-key": "containerPort", "x-kubernetes-patch-strategy": "merge"}}},
  "test.EnvVar": {"type": "object", "properties": {
    "name": {"type": "string"}, "value": {"type": "string"}, "valueFrom": {"type": "object"}}},
  "test.ContainerPort": {"type": "object", "properties": {
    "containerPort": {"type": "integer"}, "name": {"type": "string"}, "protocol": {"type": "string"}}},
  "test.Volume": {"type": "object", "properties": {
    "name": {"type": "string"}, "emptyDir": {"type": "object"},
    "hostPath": {"type": "object", "properties": {"path": {"type": "string"}}}}},
  "test.Toleration": {"type": "object", "properties": {
    "key": {"type": "string"}, "operator": {"type": "string"}, "effect": {"type": "string"}}},
  "test.LocalObjectReference": {"type": "object", "properties": {"name": {"type": "string"}}},
  "test.Deployment": {"type": "object", "properties": {
    "metadata": {"allOf": [{"$ref": "#/components/schemas/test.ObjectMeta"}]},
    "spec": {"allOf": [{"$ref": "#/components/schemas/test.DeploymentSpec"}]}}},
  "test.DeploymentSpec": {"type": "object", "properties": {
    "replicas": {"type": "integer"},
    "strategy": {"allOf": [{"$ref": "#/components/schemas/test.DeploymentStrategy"}],
      "default": {}, "x-kubernetes-patch-strategy": "retainKeys"},
    "template": {"allOf": [{"$ref": "#/components/schemas/test.PodTemplateSpec"}]}}},
  "test.DeploymentStrategy": {"type": "object", "properties": {
    "type": {"type": "string"},
    "rollingUpdate": {"type": "object", "properties": {
      "maxSurge": {}, "maxUnavailable": {}}}}},
  "test.PodTemplateSpec": {"type": "object", "properties": {
    "metadata": {"allOf": [{"$ref": "#/components/schemas/test.ObjectMeta"}]},
    "spec": {"allOf": [{"$ref": "#/components/schemas/test.PodSpec"}]}}},
  "test.MergeItem": {"type": "object", "properties": {
    "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
    "mergingList": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}]},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
    "nonMergingList": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}]}},
    "mergingIntList": {"type": "array", "items": {"type": "integer"},
      "x-kubernetes-patch-strategy": "merge"},
    "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
    "keylessMergingList": {"type": "array", "items": {"type": "object"},
      "x-kubernetes-patch-strategy": "merge"},
    "badStrategyList": {"type": "array", "items": {"type": "integer"},
      "x-kubernetes-patch-strategy": "merge,replace"},
    "listOfLists": {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
      "x-kubernetes-patch-strategy": "merge"},
    "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
    "replacingItem": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}],
      "x-kubernetes-patch-strategy": "replace"},
    "retainKeysMap": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}],
      "x-kubernetes-patch-strategy": "retainKeys"},
    "retainKeysMergingList": {"type": "array",
      "items": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}]},
      "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"},
    "byName": {"type": "object",
      "additionalProperties": {"allOf": [{"$ref": "#/components/schemas/test.MergeItem"}]}}}},
  "test.Cycle": {"$ref": "#/components/schemas/test.Cycle"}
}"##;

fn defs() -> &'static Map<String, Value> {
    static DEFS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFS.get_or_init(|| serde_json::from_str(SCHEMAS).expect("test schemas parse"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad test JSON {text}: {e}"))
}

/// What a case expects: the patched object, or an error of a kind whose message contains a text.
enum Want {
    Ok(&'static str),
    Err(PatchErrorKind, &'static str),
}

struct Case {
    name: &'static str,
    original: &'static str,
    patch: &'static str,
    want: Want,
}

const fn ok(name: &'static str, original: &'static str, patch: &'static str, want: &'static str) -> Case {
    Case { name, original, patch, want: Want::Ok(want) }
}

const fn err(
    name: &'static str,
    original: &'static str,
    patch: &'static str,
    kind: PatchErrorKind,
    message: &'static str,
) -> Case {
    Case { name, original, patch, want: Want::Err(kind, message) }
}

/// Runs every case against definition `kind` and reports all failures at once.
fn run(kind: &str, cases: &[Case]) {
    let node = SchemaNode::definition(kind, defs()).expect("test definition exists");
    let mut failures = Vec::new();
    for case in cases {
        let got = apply(&json(case.original), &json(case.patch), Some(&node));
        let pass = match (&case.want, &got) {
            (Want::Ok(want), Ok(got)) => *got == json(want),
            (Want::Err(kind, text), Err(e)) => e.kind() == *kind && e.message().contains(text),
            _ => false,
        };
        if !pass {
            let want = match &case.want {
                Want::Ok(w) => (*w).to_string(),
                Want::Err(k, t) => format!("{k:?} containing {t:?}"),
            };
            failures.push(format!("{}:\n  want {want}\n  got  {}", case.name, describe(&got)));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

fn describe(got: &Result<Value, PatchError>) -> String {
    match got {
        Ok(v) => v.to_string(),
        Err(e) => format!("{:?}: {}", e.kind(), e.message()),
    }
}

use PatchErrorKind::{BadRequest, Unclassified};

#[test]
#[rustfmt::skip] // tables read best one case per block
fn pod_lists() {
    const AB: &str = r#"{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}"#;
    run("test.Pod", &[
        ok("containers merge by name", AB,
            r#"{"spec":{"containers":[{"name":"b","image":"b:2"}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:2"}]}}"#),
        ok("a new container comes before the ones the patch does not mention", AB,
            r#"{"spec":{"containers":[{"name":"c","image":"c:1"}]}}"#,
            r#"{"spec":{"containers":[{"name":"c","image":"c:1"},{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}"#),
        ok("containers the patch mentions take the patch's order", AB,
            r#"{"spec":{"containers":[{"name":"b"},{"name":"a"}]}}"#,
            r#"{"spec":{"containers":[{"name":"b","image":"b:1"},{"name":"a","image":"a:1"}]}}"#),
        ok("$patch: delete removes a container", AB,
            r#"{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}"#,
            r#"{"spec":{"containers":[{"name":"b","image":"b:1"}]}}"#),
        ok("$patch: delete of an absent container is a no-op", AB,
            r#"{"spec":{"containers":[{"name":"zz","$patch":"delete"}]}}"#, AB),
        ok("$patch: replace replaces the container list", AB,
            r#"{"spec":{"containers":[{"$patch":"replace"},{"name":"z","image":"z:1"}]}}"#,
            r#"{"spec":{"containers":[{"name":"z","image":"z:1"}]}}"#),
        ok("a lone $patch: replace empties the list", AB,
            r#"{"spec":{"containers":[{"$patch":"replace"}]}}"#, r#"{"spec":{"containers":[]}}"#),
        err("a container without its merge key is rejected", AB,
            r#"{"spec":{"containers":[{"image":"nginx"}]}}"#,
            Unclassified, "map: map[image:nginx] does not contain declared merge key: name"),
        err("$patch: delete without the merge key is rejected", AB,
            r#"{"spec":{"containers":[{"$patch":"delete","image":"x"}]}}"#,
            Unclassified, "does not contain declared merge key: name"),
        ok("env merges by name inside a container",
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"Y","value":"3"},{"name":"Z","value":"4"}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"3"},{"name":"Z","value":"4"}]}]}}"#),
        ok("an env var switches from value to valueFrom",
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":null,"valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","env":[{"name":"X","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}"#),
        ok("ports merge by containerPort",
            r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"},{"containerPort":443,"name":"https"}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":443,"protocol":"TCP"},{"containerPort":8080,"name":"alt"}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"},{"containerPort":443,"name":"https","protocol":"TCP"},{"containerPort":8080,"name":"alt"}]}]}}"#),
        err("a port without containerPort is rejected",
            r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80}]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","ports":[{"name":"x"}]}]}}"#,
            Unclassified, "map: map[name:x] does not contain declared merge key: containerPort"),
        ok("args (no strategy) are replaced",
            r#"{"spec":{"containers":[{"name":"a","args":["x","y"]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","args":["z"]}]}}"#,
            r#"{"spec":{"containers":[{"name":"a","args":["z"]}]}}"#),
        ok("volumes merge by name; deleted ones go, new ones come first",
            r#"{"spec":{"volumes":[{"name":"v1","emptyDir":{}},{"name":"v2","hostPath":{"path":"/a"}}]}}"#,
            r#"{"spec":{"volumes":[{"name":"v1","$patch":"delete"},{"name":"v3","emptyDir":{}}]}}"#,
            r#"{"spec":{"volumes":[{"name":"v3","emptyDir":{}},{"name":"v2","hostPath":{"path":"/a"}}]}}"#),
        ok("a volume switches source with $retainKeys",
            r#"{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/a"}}]}}"#,
            r#"{"spec":{"volumes":[{"name":"v","$retainKeys":["name","emptyDir"],"emptyDir":{}}]}}"#,
            r#"{"spec":{"volumes":[{"name":"v","emptyDir":{}}]}}"#),
        ok("tolerations (atomic) are replaced",
            r#"{"spec":{"tolerations":[{"key":"a","operator":"Exists"},{"key":"b","operator":"Exists"}]}}"#,
            r#"{"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}}"#,
            r#"{"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}}"#),
        ok("a bare $ref items schema still merges",
            r#"{"spec":{"imagePullSecrets":[{"name":"a"}]}}"#,
            r#"{"spec":{"imagePullSecrets":[{"name":"b"}]}}"#,
            r#"{"spec":{"imagePullSecrets":[{"name":"b"},{"name":"a"}]}}"#),
        ok("ownerReferences merge by uid",
            r#"{"metadata":{"ownerReferences":[{"uid":"1","name":"x"}]}}"#,
            r#"{"metadata":{"ownerReferences":[{"uid":"1","kind":"ReplicaSet"},{"uid":"2","name":"y"}]}}"#,
            r#"{"metadata":{"ownerReferences":[{"uid":"1","name":"x","kind":"ReplicaSet"},{"uid":"2","name":"y"}]}}"#),
    ]);
}

#[test]
#[rustfmt::skip] // tables read best one case per block
fn pod_element_order() {
    const ABC: &str = r#"{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#;
    run("test.Pod", &[
        ok("$setElementOrder reorders containers", ABC,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}}"#,
            r#"{"spec":{"containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}}"#),
        ok("$setElementOrder keeps a live-only item near its live neighbours",
            r#"{"spec":{"containers":[{"name":"a"},{"name":"x"},{"name":"b"},{"name":"c"}]}}"#,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}],
                "containers":[{"name":"a","image":"a:2"}]}}"#,
            r#"{"spec":{"containers":[{"name":"x"},{"name":"c"},{"name":"a","image":"a:2"},{"name":"b"}]}}"#),
        ok("$setElementOrder with a deletion", ABC,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"}],
                "containers":[{"name":"b","$patch":"delete"}]}}"#,
            r#"{"spec":{"containers":[{"name":"c"},{"name":"a"}]}}"#),
        ok("$setElementOrder may list items neither list has", ABC,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"z"},{"name":"b"},{"name":"a"}]}}"#,
            r#"{"spec":{"containers":[{"name":"b"},{"name":"a"},{"name":"c"}]}}"#),
        ok("$setElementOrder for a field neither side has is dropped", r#"{"spec":{}}"#,
            r#"{"spec":{"$setElementOrder/volumes":[{"name":"a"}]}}"#, r#"{"spec":{}}"#),
        ok("$setElementOrder with a list the object lacks adds the list", r#"{"spec":{}}"#,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}],
                "containers":[{"name":"b"},{"name":"a"},{"name":"x","$patch":"delete"}]}}"#,
            r#"{"spec":{"containers":[{"name":"b"},{"name":"a"}]}}"#),
        err("$setElementOrder must agree with the patch's order", ABC,
            r#"{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
                "containers":[{"name":"b","image":"2"},{"name":"a","image":"1"}]}}"#,
            Unclassified, "doesn't match $setElementOrder list"),
        err("$setElementOrder items need the merge key", ABC,
            r#"{"spec":{"$setElementOrder/containers":[{"image":"x"}]}}"#,
            Unclassified, "does not contain declared merge key: name"),
        err("$setElementOrder must be a list", ABC,
            r#"{"spec":{"$setElementOrder/containers":{"name":"a"}}}"#,
            Unclassified, "expected a []interface {}, but received a map[string]interface {}"),
        err("a $setElementOrder key needs a field name", ABC,
            r#"{"spec":{"$setElementOrder":[{"name":"a"}]}}"#,
            BadRequest, "invalid patch format of setElementOrder list"),
    ]);
}

#[test]
#[rustfmt::skip] // tables read best one case per block
fn pod_maps_and_primitive_lists() {
    run("test.Pod", &[
        ok("finalizers are a set union",
            r#"{"metadata":{"finalizers":["a","b"]}}"#, r#"{"metadata":{"finalizers":["b","c"]}}"#,
            r#"{"metadata":{"finalizers":["a","b","c"]}}"#),
        ok("a new finalizer comes first",
            r#"{"metadata":{"finalizers":["a","b"]}}"#, r#"{"metadata":{"finalizers":["z"]}}"#,
            r#"{"metadata":{"finalizers":["z","a","b"]}}"#),
        ok("$deleteFromPrimitiveList removes every copy of a finalizer",
            r#"{"metadata":{"finalizers":["a","b","a","c"]}}"#,
            r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a","zz"]}}"#,
            r#"{"metadata":{"finalizers":["b","c"]}}"#),
        ok("$deleteFromPrimitiveList with $setElementOrder",
            r#"{"metadata":{"finalizers":["a","b","c"]}}"#,
            r#"{"metadata":{"$setElementOrder/finalizers":["c","a"],"$deleteFromPrimitiveList/finalizers":["b"]}}"#,
            r#"{"metadata":{"finalizers":["c","a"]}}"#),
        ok("$deleteFromPrimitiveList for absent finalizers adds nothing",
            r#"{"metadata":{"name":"p"}}"#, r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#,
            r#"{"metadata":{"name":"p"}}"#),
        err("a $deleteFromPrimitiveList key needs a field name",
            r#"{"metadata":{"finalizers":["a"]}}"#, r#"{"metadata":{"$deleteFromPrimitiveList":["a"]}}"#,
            BadRequest, "invalid patch format of primitive list"),
        ok("null deletes a label and a whole field",
            r#"{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"nodeSelector":{"x":"y"}}}"#,
            r#"{"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"nodeSelector":null}}"#,
            r#"{"metadata":{"labels":{"b":"2","c":"3"}},"spec":{}}"#),
        ok("null for an absent key is ignored", r#"{"metadata":{}}"#,
            r#"{"metadata":{"labels":null}}"#, r#"{"metadata":{}}"#),
        ok("$patch: replace replaces a map",
            r#"{"metadata":{"labels":{"a":"1","b":"2"}}}"#,
            r#"{"metadata":{"labels":{"$patch":"replace","c":"3"}}}"#,
            r#"{"metadata":{"labels":{"c":"3"}}}"#),
        ok("$patch: delete empties a map",
            r#"{"metadata":{"labels":{"a":"1"}}}"#, r#"{"metadata":{"labels":{"$patch":"delete"}}}"#,
            r#"{"metadata":{"labels":{}}}"#),
        ok("a $patch object for a field the object lacks adds nothing (upstream)",
            r#"{"metadata":{"name":"p"}}"#, r#"{"metadata":{"labels":{"$patch":"replace","a":"b"}}}"#,
            r#"{"metadata":{"name":"p"}}"#),
        ok("a new field drops nulls and objects carrying $patch",
            r#"{"metadata":{"name":"p"}}"#,
            r#"{"spec":{"containers":[{"name":"a","image":null,"env":[{"name":"X","$patch":"delete"},{"name":"Y"}]}]}}"#,
            r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","env":[{"name":"Y"}]}]}}"#),
        ok("unknown fields merge like JSON merge patch",
            r#"{"spec":{"extra":{"list":[{"name":"a"}],"map":{"k":"v","d":"x"}}}}"#,
            r#"{"spec":{"extra":{"list":[{"name":"b"}],"map":{"k2":"v2","d":null}}}}"#,
            r#"{"spec":{"extra":{"list":[{"name":"b"}],"map":{"k":"v","k2":"v2"}}}}"#),
        ok("a type change takes the patch's value",
            r#"{"spec":{"extra":"text"}}"#, r#"{"spec":{"extra":{"a":1,"b":null}}}"#,
            r#"{"spec":{"extra":{"a":1}}}"#),
    ]);
}

#[test]
#[rustfmt::skip] // tables read best one case per block
fn deployment_retain_keys() {
    const ROLLING: &str =
        r#"{"spec":{"replicas":1,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#;
    run("test.Deployment", &[
        ok("$retainKeys clears rollingUpdate when switching to Recreate", ROLLING,
            r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#,
            r#"{"spec":{"replicas":1,"strategy":{"type":"Recreate"}}}"#),
        ok("without $retainKeys the strategy merges", ROLLING,
            r#"{"spec":{"strategy":{"type":"Recreate"}}}"#,
            r#"{"spec":{"replicas":1,"strategy":{"type":"Recreate","rollingUpdate":{"maxSurge":1}}}}"#),
        ok("$retainKeys keeps listed keys the patch does not set", ROLLING,
            r#"{"spec":{"strategy":{"$retainKeys":["type","rollingUpdate"],"type":"RollingUpdate"}}}"#,
            ROLLING),
        ok("a null for an unlisted key is allowed", ROLLING,
            r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":null}}}"#,
            r#"{"spec":{"replicas":1,"strategy":{"type":"Recreate"}}}"#),
        err("a key the patch sets must be listed in $retainKeys", ROLLING,
            r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":{"maxSurge":2}}}}"#,
            BadRequest, "invalid patch format of retainKeys"),
        err("$retainKeys must be a list", ROLLING,
            r#"{"spec":{"strategy":{"$retainKeys":"type","type":"Recreate"}}}"#,
            BadRequest, "invalid patch format of retainKeys"),
        ok("pod template containers merge through the template",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b"}]}}}}"#,
            r#"{"spec":{"template":{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"name":"a","image":"a:2"}]}}}}"#,
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b"}]},"metadata":{"labels":{"x":"y"}}}}}"#),
    ]);
}

#[test]
fn without_a_schema_lists_are_replaced() {
    let original = json(r#"{"spec":{"containers":[{"name":"a"}],"m":{"a":1,"b":2}}}"#);
    let patch = json(r#"{"spec":{"containers":[{"name":"b"}],"m":{"a":null,"c":3}}}"#);
    let want = json(r#"{"spec":{"containers":[{"name":"b"}],"m":{"b":2,"c":3}}}"#);
    assert_eq!(apply(&original, &patch, None::<&NoSchema>).expect("applies"), want);
    let node = SchemaNode::definition("test.Pod", defs()).expect("exists");
    let merged = json(r#"{"spec":{"containers":[{"name":"b"},{"name":"a"}],"m":{"b":2,"c":3}}}"#);
    assert_eq!(apply(&original, &patch, Some(&node)).expect("applies"), merged);
}

#[test]
fn schema_node_lookups() {
    let pod = SchemaNode::definition("test.Pod", defs()).expect("exists");
    let spec = pod.field("spec").expect("spec");
    assert_eq!(spec.patch_strategy(), None);
    let containers = spec.field("containers").expect("containers");
    assert_eq!(containers.patch_strategy(), Some("merge"));
    assert_eq!(containers.patch_merge_key(), Some("name"));
    let env = containers.items().and_then(|c| c.field("env")).expect("env through allOf/$ref");
    assert_eq!(env.patch_merge_key(), Some("name"));
    let secret = spec.field("imagePullSecrets").and_then(|s| s.items()).expect("bare $ref items");
    assert!(secret.field("name").is_some());
    let labels = pod.field("metadata").and_then(|m| m.field("labels")).expect("labels");
    assert!(labels.values().is_some());
    assert!(labels.items().is_none());
    assert!(spec.field("nope").is_none());
    assert!(SchemaNode::definition("nope", defs()).is_none());
    let deployment = SchemaNode::definition("test.Deployment", defs()).expect("exists");
    let strategy = deployment.field("spec").and_then(|s| s.field("strategy")).expect("strategy");
    assert_eq!(strategy.patch_strategy(), Some("retainKeys"));
    // A `$ref` cycle ends the lookup instead of hanging it.
    assert!(SchemaNode::definition("test.Cycle", defs()).expect("exists").field("x").is_none());
}

#[test]
fn documents_and_status_codes() {
    let node = SchemaNode::definition("test.Pod", defs()).expect("exists");
    let original = json(r#"{"metadata":{"name":"p"}}"#);
    assert_eq!(apply(&original, &Value::Null, Some(&node)).expect("null patch"), original);
    let e = apply(&original, &json("[1]"), Some(&node)).expect_err("array patch");
    assert_eq!((e.kind(), e.status_code()), (BadRequest, 400));
    assert_eq!(e.message(), "json: cannot unmarshal array into Go value of type map[string]interface {}");
    let e = apply(&json("\"x\""), &json("{}"), Some(&node)).expect_err("string original");
    assert_eq!((e.message(), e.status_code()), ("invalid JSON document", 400));
    assert_eq!(apply(&Value::Null, &json(r#"{"a":1}"#), Some(&node)).expect("null original"), json(r#"{"a":1}"#));
    let e = apply(&json(r#"{"a":[]}"#), &json(r#"{"$patch":"merge"}"#), Some(&node)).expect_err("merge");
    assert_eq!(e.status_code(), 500);
    assert_eq!(e.to_string(), "unknown patch type: merge in map: map[$patch:merge]");
}

#[test]
fn key_order_is_preserved() {
    let got =
        apply(&json(r#"{"b":1,"a":2,"c":3}"#), &json(r#"{"a":null,"d":4,"b":5}"#), None::<&NoSchema>).expect("applies");
    assert_eq!(got.to_string(), r#"{"b":5,"c":3,"d":4}"#);
}

#[test]
fn inputs_are_not_modified() {
    let original = json(r#"{"metadata":{"finalizers":["a"]}}"#);
    let patch = json(r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#);
    let (o, p) = (original.clone(), patch.clone());
    let node = SchemaNode::definition("test.Pod", defs()).expect("exists");
    assert_eq!(apply(&original, &patch, Some(&node)).expect("applies"), json(r#"{"metadata":{"finalizers":[]}}"#));
    assert_eq!((original, patch), (o, p));
}

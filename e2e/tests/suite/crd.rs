//! Custom resources with stock kubectl: a definition becomes Established, its objects are
//! defaulted, validated, pruned and printed with its columns, explained from its schema, and
//! deleting the definition deletes them.

use std::time::Duration;

use e2e::{Backend, Cluster, fails, ok};

macro_rules! scenario {
    ($($name:ident: $version:literal, $backend:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let cluster = Cluster::start($backend).await.expect("cluster starts");
            crd_scenario(&cluster, $version);
        }
    )*};
}

scenario! {
    custom_resources_with_kubectl_1_27: "1.27", Backend::Embedded;
    custom_resources_with_kubectl_1_28: "1.28", Backend::Embedded;
    custom_resources_with_kubectl_1_29: "1.29", Backend::Embedded;
    custom_resources_with_kubectl_1_30: "1.30", Backend::Embedded;
    custom_resources_with_kubectl_1_31: "1.31", Backend::Embedded;
    custom_resources_with_kubectl_1_32: "1.32", Backend::Embedded;
    custom_resources_with_kubectl_1_33: "1.33", Backend::Embedded;
    custom_resources_with_kubectl_1_33_on_etcd: "1.33", Backend::Etcd;
}

const DEFINITION: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    selectableFields:
    - {jsonPath: .spec.color}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - {rule: "self.size <= 10 || self.color == 'blue'", message: big widgets must be blue}
            properties:
              size: {type: integer, minimum: 1, description: How big the widget is.}
              replicas: {type: integer}
              color:
                type: string
                enum: [red, blue]
                default: red
                x-kubernetes-validations:
                - {rule: self == oldSelf, message: color is immutable}
          status:
            type: object
            properties:
              ready: {type: boolean}
              replicas: {type: integer}
"#;

fn write(cluster: &Cluster, name: &str, text: &str) -> String {
    let path = cluster.dir.path().join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_string_lossy().to_string()
}

fn widget(name: &str, spec: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec: {spec}\n")
}

fn crd_scenario(c: &Cluster, v: &str) {
    let crd = write(c, "crd.yaml", DEFINITION);
    assert!(ok(c.kubectl(v, &["apply", "-f", &crd])).contains("created"));
    ok(c.kubectl(v, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]));
    // Discovery follows at once (kubectl may cache it for a moment: retry briefly).
    let mut listed = String::new();
    for _ in 0..20 {
        listed =
            String::from_utf8_lossy(&c.kubectl(v, &["api-resources", "--api-group=example.com"]).stdout).to_string();
        if listed.contains("widgets") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(listed.lines().any(|l| l.starts_with("widgets") && l.contains("wg") && l.contains("Widget")), "{listed}");

    // Create with a default filled in; get prints the definition's columns.
    let small = write(c, "small.yaml", &widget("small", "{size: 2}"));
    assert!(ok(c.kubectl(v, &["apply", "-f", &small])).contains("widget.example.com/small created"));
    let shown = ok(c.kubectl(v, &["get", "widgets"]));
    let header = shown.lines().next().unwrap_or("");
    assert!(header.contains("NAME") && header.contains("SIZE") && header.contains("COLOR"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("small") && l.contains('2') && l.contains("red")), "{shown}");
    assert_eq!(ok(c.kubectl(v, &["get", "wg", "small", "-o", "jsonpath={.spec.color}"])), "red");

    // Schema rejections, with upstream's messages.
    let bad_type = write(c, "bad-type.yaml", &widget("bad", "{size: big}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &bad_type]));
    assert!(refused.contains("spec.size") && refused.contains("integer"), "{refused}");
    let bad_enum = write(c, "bad-enum.yaml", &widget("bad", "{size: 1, color: green}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &bad_enum]));
    assert!(refused.contains("spec.color") && refused.contains("Unsupported value"), "{refused}");
    let missing = write(c, "missing.yaml", &widget("bad", "{color: blue}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &missing]));
    assert!(refused.contains("spec.size") && refused.contains("Required value"), "{refused}");

    // CEL rules, with their messages; transition rules see the stored object.
    let big_red = write(c, "big-red.yaml", &widget("bad", "{size: 11}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &big_red]));
    assert!(refused.contains(r#"spec: Invalid value: "object": big widgets must be blue"#), "{refused}");
    let big_blue = write(c, "big-blue.yaml", &widget("big", "{size: 11, color: blue}"));
    ok(c.kubectl(v, &["create", "-f", &big_blue]));
    let refused = fails(c.kubectl(v, &["patch", "widget", "big", "--type=merge", "-p", r#"{"spec":{"color":"red"}}"#]));
    assert!(refused.contains("color is immutable"), "{refused}");

    // Field selectors on the definition's selectable fields.
    let blue = ok(c.kubectl(v, &["get", "widgets", "--field-selector=spec.color=blue", "-o", "name"]));
    assert_eq!(blue.trim(), "widget.example.com/big");
    let refused = fails(c.kubectl(v, &["get", "widgets", "--field-selector=spec.size=1"]));
    assert!(refused.contains("field label not supported: spec.size"), "{refused}");

    // The scale subresource reads and writes the definition's replica paths.
    ok(c.kubectl(v, &["scale", "widget", "big", "--replicas=3"]));
    assert_eq!(ok(c.kubectl(v, &["get", "widget", "big", "-o", "jsonpath={.spec.replicas}"])), "3");
    let scale = ok(c.kubectl(v, &["get", "--raw", "/apis/example.com/v1/namespaces/default/widgets/big/scale"]));
    assert!(scale.contains(r#""kind":"Scale""#) && scale.contains(r#""spec":{"replicas":3}"#), "{scale}");

    // Unknown fields are pruned (or refused by strict validation).
    let extra = write(c, "extra.yaml", &widget("extra", "{size: 3, shape: round}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &extra]));
    assert!(refused.contains("unknown field \"spec.shape\""), "{refused}");
    ok(c.kubectl(v, &["create", "-f", &extra, "--validate=false"]));
    assert_eq!(ok(c.kubectl(v, &["get", "widget", "extra", "-o", "jsonpath={.spec}"])), r#"{"color":"red","size":3}"#);

    // The status subresource: a write to the object leaves status alone.
    ok(c.kubectl(
        v,
        &["patch", "widget", "small", "--type=merge", "-p", r#"{"status":{"ready":true},"spec":{"size":5}}"#],
    ));
    assert_eq!(ok(c.kubectl(v, &["get", "widget", "small", "-o", "jsonpath={.spec.size}/{.status.ready}"])), "5/");
    ok(c.kubectl(
        v,
        &["patch", "widget", "small", "--subresource=status", "--type=merge", "-p", r#"{"status":{"ready":true}}"#],
    ));
    assert_eq!(ok(c.kubectl(v, &["get", "widget", "small", "-o", "jsonpath={.status.ready}"])), "true");

    // explain reads the definition's schema from /openapi/v3.
    let explained = ok(c.kubectl(v, &["explain", "widgets.spec.size"]));
    assert!(explained.contains("How big the widget is."), "{explained}");

    // `get all` includes the category.
    assert!(ok(c.kubectl(v, &["get", "all"])).contains("widget.example.com/small"));

    // Deleting the definition deletes its objects, then the definition.
    ok(c.kubectl(v, &["delete", "crd", "widgets.example.com", "--timeout=30s"]));
    let gone = fails(c.kubectl(v, &["get", "crd", "widgets.example.com"]));
    assert!(gone.contains("NotFound"), "{gone}");
    ok(c.kubectl(v, &["apply", "-f", &crd]));
    ok(c.kubectl(v, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]));
    let mut empty = String::new();
    for _ in 0..20 {
        let out = c.kubectl(v, &["get", "widgets", "-o", "name"]);
        if out.status.success() {
            empty = String::from_utf8_lossy(&out.stdout).to_string();
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(empty.trim(), "", "the old objects went with the old definition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_definition_waits_for_the_finalizers_of_its_objects() {
    let c = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let v = "1.33";
    let crd = write(&c, "crd.yaml", DEFINITION);
    ok(c.kubectl(v, &["apply", "-f", &crd]));
    ok(c.kubectl(v, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]));
    let held = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\nspec: {size: 1}\n";
    let held = write(&c, "held.yaml", held);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.kubectl(v, &["create", "-f", &held]).status.success() {
        assert!(std::time::Instant::now() < deadline, "the definition is never served");
        std::thread::sleep(Duration::from_millis(100));
    }

    ok(c.kubectl(v, &["delete", "crd", "widgets.example.com", "--wait=false"]));
    ok(c.kubectl(v, &["wait", "--for=condition=Terminating", "crd/widgets.example.com", "--timeout=20s"]));
    // The object waits on its finalizer; it can still be read and changed, nothing new is created.
    let deleting = ok(c.kubectl(v, &["get", "widget", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"]));
    assert!(!deleting.is_empty(), "the object is being deleted");
    let more = write(&c, "more.yaml", &widget("more", "{size: 1}"));
    let refused = fails(c.kubectl(v, &["create", "-f", &more]));
    assert!(refused.contains("create not allowed while custom resource definition is terminating"), "{refused}");
    assert!(ok(c.kubectl(v, &["get", "crd", "widgets.example.com", "-o", "name"])).contains("widgets"));

    // Its finalizer removed, the object goes, then the definition.
    ok(c.kubectl(v, &["patch", "widget", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]));
    ok(c.kubectl(v, &["wait", "--for=delete", "crd/widgets.example.com", "--timeout=20s"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_names_are_refused_until_freed() {
    let c = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let v = "1.33";
    let crd = write(&c, "crd.yaml", DEFINITION);
    ok(c.kubectl(v, &["apply", "-f", &crd]));
    ok(c.kubectl(v, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]));
    let rival = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: gadgets, kind: Gadget, shortNames: [wg]}\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n";
    let rival = write(&c, "rival.yaml", rival);
    ok(c.kubectl(v, &["apply", "-f", &rival]));
    ok(c.kubectl(v, &["wait", "--for=condition=NamesAccepted=False", "crd/gadgets.example.com", "--timeout=20s"]));
    let why = ok(c.kubectl(
        v,
        &[
            "get",
            "crd",
            "gadgets.example.com",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"NamesAccepted\")].message}",
        ],
    ));
    assert_eq!(why, "\"wg\" is already in use");
    assert!(fails(c.kubectl(v, &["get", "gadgets"])).contains("the server doesn't have a resource type"));
    ok(c.kubectl(v, &["delete", "crd", "widgets.example.com"]));
    ok(c.kubectl(v, &["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=20s"]));
}

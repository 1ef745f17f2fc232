//! Admission webhooks against `rkube server`: a test-owned HTTPS webhook server (hyper +
//! rustls, its certificate from a test CA given as `caBundle`) that mutates and denies
//! ConfigMaps, reached by URL and by Service; failurePolicy Fail and Ignore with an unreachable
//! webhook; warnings and dry runs; all driven by stock kubectl.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use e2e::{Backend, Cluster, fails, ok};
use serde_json::{Value, json};

const V: &str = "1.33";

/// What the webhook server decides, by path: `/mutate` labels the object, `/deny` refuses
/// ConfigMaps carrying a `forbidden` key and warns otherwise.
fn decide(path: &str, review: &Value) -> Value {
    let request = &review["request"];
    let uid = request["uid"].clone();
    let response = match path {
        // Deletes have nothing to mutate (a patch there would be refused, as upstream).
        "/mutate" if request["operation"] != "DELETE" => {
            let labels = request.pointer("/object/metadata/labels").filter(|l| l.is_object());
            let ops = match labels {
                Some(_) => json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}]),
                None => json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}]),
            };
            let patch = base64::engine::general_purpose::STANDARD.encode(ops.to_string());
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": patch})
        }
        "/deny" if request.pointer("/object/data/forbidden").is_some() => json!({"uid": uid, "allowed": false,
            "status": {"code": 403, "reason": "Forbidden", "message": "the key \"forbidden\" is not allowed"}}),
        // Registered for events.k8s.io/v1 only: a core/v1 Event reaches it converted (matchPolicy
        // Equivalent), with the requested resource alongside.
        "/events" if request.pointer("/object/note") == Some(&json!("forbidden")) => {
            let asked = &request["requestResource"];
            let message = format!(
                "event via {}/{} refused",
                asked["group"].as_str().unwrap_or(""),
                asked["version"].as_str().unwrap_or("")
            );
            json!({"uid": uid, "allowed": false, "status": {"message": message}})
        }
        "/deny" if request["operation"] == "DELETE" && request.pointer("/oldObject/metadata/labels/keep").is_some() => {
            json!({"uid": uid, "allowed": false, "status": {"message": "this one is kept"}})
        }
        _ => json!({"uid": uid, "allowed": true, "warnings": ["checked by the test webhook"]}),
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

fn apply(c: &Cluster, name: &str, doc: &Value) -> String {
    let path = c.dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("json")).expect("write");
    ok(c.kubectl(V, &["apply", "-f", &path.to_string_lossy()]))
}

fn rules() -> Value {
    json!([{"operations": ["CREATE", "UPDATE", "DELETE"], "apiGroups": [""], "apiVersions": ["v1"],
        "resources": ["configmaps"], "scope": "Namespaced"}])
}

fn configuration(kind: &str, name: &str, client: Value, failure: &str, extra: Value) -> Value {
    let mut hook = json!({"name": format!("{name}.test.rkube.dev"), "clientConfig": client, "rules": rules(),
        "failurePolicy": failure, "sideEffects": "None", "admissionReviewVersions": ["v1"], "timeoutSeconds": 5,
        "namespaceSelector": {"matchLabels": {"webhooks": "on"}}});
    if let (Some(h), Some(e)) = (hook.as_object_mut(), extra.as_object()) {
        h.extend(e.clone());
    }
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "webhooks": [hook]})
}

/// A new configuration takes effect a moment after it is stored: retries `args` as a server
/// dry run until it is refused, then runs it for real and returns the refusal.
fn refused_eventually(c: &Cluster, args: &[&str]) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut dry = args.to_vec();
    dry.push("--dry-run=server");
    while c.kubectl(V, &dry).status.success() {
        assert!(std::time::Instant::now() < deadline, "kubectl {args:?} is never refused");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    fails(c.kubectl(V, args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_mutate_deny_and_follow_their_failure_policy() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    let pki_dir = c.dir.path().join("webhook-pki");
    let hosts = ["127.0.0.1".to_string(), "webhook.hooks.svc".to_string()];
    let pki = apiserver::pki::Pki::load_or_create(&pki_dir, &hosts).expect("webhook certificates");
    let handler: e2e::https::Handler = Arc::new(decide);
    let (port, calls) =
        e2e::https::serve_json(&pki.serving_cert_pem, &pki.serving_key_pem, handler).await.expect("webhook server");
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&pki.ca_pem);

    ok(c.kubectl(V, &["create", "namespace", "hooked"]));
    ok(c.kubectl(V, &["label", "namespace", "hooked", "webhooks=on"]));
    ok(c.kubectl(V, &["create", "namespace", "plain"]));
    // The validating webhook is reached through a Service with hand-made Endpoints.
    ok(c.kubectl(V, &["create", "namespace", "hooks"]));
    apply(
        c,
        "svc.json",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": "hooks"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}}),
    );
    apply(
        c,
        "eps.json",
        &json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "webhook", "namespace": "hooks"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port}]}]}),
    );

    let url = |path: &str| json!({"url": format!("https://127.0.0.1:{port}{path}"), "caBundle": ca_bundle});
    apply(
        c,
        "mutating.json",
        &configuration("MutatingWebhookConfiguration", "labeller", url("/mutate"), "Fail", json!({})),
    );
    let service = json!({"service": {"namespace": "hooks", "name": "webhook", "path": "/deny"}, "caBundle": ca_bundle});
    apply(c, "validating.json", &configuration("ValidatingWebhookConfiguration", "guard", service, "Fail", json!({})));

    // Mutation: the label arrives through the webhook's JSONPatch; the validating webhook's
    // warning reaches kubectl. A namespace outside the selector is left alone.
    let created = c.kubectl(V, &["create", "configmap", "one", "-n", "hooked", "--from-literal=a=b"]);
    let stderr = String::from_utf8_lossy(&created.stderr).to_string();
    ok(created);
    assert!(stderr.contains("Warning: checked by the test webhook"), "{stderr}");
    assert_eq!(
        ok(c.kubectl(V, &["get", "cm", "one", "-n", "hooked", "-o", "jsonpath={.metadata.labels.mutated}"])),
        "yes"
    );
    ok(c.kubectl(V, &["create", "configmap", "one", "-n", "plain", "--from-literal=a=b"]));
    assert_eq!(ok(c.kubectl(V, &["get", "cm", "one", "-n", "plain", "-o", "jsonpath={.metadata.labels}"])), "");

    // Denial, on create and on update, in upstream's words; a dry run is checked too.
    let refused = fails(c.kubectl(V, &["create", "configmap", "two", "-n", "hooked", "--from-literal=forbidden=1"]));
    assert!(
        refused.contains(
            r#"admission webhook "guard.test.rkube.dev" denied the request: the key "forbidden" is not allowed"#
        ),
        "{refused}"
    );
    let refused = fails(c.kubectl(V, &["patch", "cm", "one", "-n", "hooked", "-p", r#"{"data":{"forbidden":"x"}}"#]));
    assert!(refused.contains("denied the request"), "{refused}");
    let refused = fails(c.kubectl(
        V,
        &["create", "configmap", "three", "-n", "hooked", "--from-literal=forbidden=1", "--dry-run=server"],
    ));
    assert!(refused.contains("denied the request"), "{refused}");
    // Deletes are reviewed with the old object.
    ok(c.kubectl(V, &["label", "cm", "one", "-n", "hooked", "keep=1"]));
    let refused = fails(c.kubectl(V, &["delete", "cm", "one", "-n", "hooked"]));
    assert!(refused.contains("denied the request: this one is kept"), "{refused}");
    ok(c.kubectl(V, &["label", "cm", "one", "-n", "hooked", "keep-"]));
    ok(c.kubectl(V, &["delete", "cm", "one", "-n", "hooked"]));
    assert!(calls.load(Ordering::SeqCst) >= 8, "the webhook server saw {} calls", calls.load(Ordering::SeqCst));

    // matchPolicy Equivalent: a core/v1 Event is reviewed by a webhook for events.k8s.io/v1.
    let mut events = configuration("ValidatingWebhookConfiguration", "events", url("/events"), "Fail", json!({}));
    events["webhooks"][0]["rules"] = json!([{"operations": ["CREATE"], "apiGroups": ["events.k8s.io"],
        "apiVersions": ["v1"], "resources": ["events"]}]);
    apply(c, "events.json", &events);
    let event = c.dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "hooked"},
        "involvedObject": {"kind": "ConfigMap", "name": "one", "namespace": "hooked"}, "message": "forbidden",
        "reason": "Test", "type": "Normal"})
        .to_string(),
    )
    .expect("write");
    let refused = refused_eventually(c, &["create", "-f", &event.to_string_lossy()]);
    assert!(
        refused.contains(r#"admission webhook "events.test.rkube.dev" denied the request: event via /v1 refused"#),
        "{refused}"
    );
    ok(c.kubectl(V, &["delete", "validatingwebhookconfiguration", "events"]));

    // An unreachable webhook: ignored under Ignore, fatal under Fail, until removed.
    let nowhere = json!({"url": "https://127.0.0.1:1/nowhere", "caBundle": ca_bundle});
    apply(
        c,
        "ignored.json",
        &configuration("ValidatingWebhookConfiguration", "ignored", nowhere.clone(), "Ignore", json!({})),
    );
    ok(c.kubectl(V, &["create", "configmap", "four", "-n", "hooked", "--from-literal=a=b"]));
    apply(c, "failing.json", &configuration("ValidatingWebhookConfiguration", "failing", nowhere, "Fail", json!({})));
    let five = ["create", "configmap", "five", "-n", "hooked", "--from-literal=a=b"];
    let refused = refused_eventually(c, &five);
    assert!(
        refused.contains(r#"failed calling webhook "failing.test.rkube.dev": failed to call webhook: Post "https://127.0.0.1:1/nowhere"#),
        "{refused}"
    );
    ok(c.kubectl(V, &["delete", "validatingwebhookconfiguration", "failing"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.kubectl(V, &["create", "configmap", "five", "-n", "hooked", "--from-literal=a=b"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "the removed webhook is still called");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // matchConditions: a webhook is called only when its conditions hold.
    ok(c.kubectl(V, &["delete", "validatingwebhookconfiguration", "guard"]));
    let seven = ["create", "configmap", "seven", "-n", "hooked", "--from-literal=forbidden=1"];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.kubectl(V, &seven).status.success() {
        assert!(std::time::Instant::now() < deadline, "the deleted webhook is still called");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = calls.load(Ordering::SeqCst);
    let conditional = configuration(
        "ValidatingWebhookConfiguration",
        "conditional",
        url("/deny"),
        "Fail",
        json!({"matchConditions": [{"name": "only-six", "expression": "object.metadata.name == 'six'"}]}),
    );
    apply(c, "conditional.json", &conditional);
    let refused = refused_eventually(c, &["create", "configmap", "six", "-n", "hooked", "--from-literal=forbidden=1"]);
    assert!(refused.contains(r#"admission webhook "conditional.test.rkube.dev" denied the request"#), "{refused}");
    ok(c.kubectl(V, &["create", "configmap", "eight", "-n", "hooked", "--from-literal=forbidden=1"]));
    assert!(calls.load(Ordering::SeqCst) > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_admission_policies_deny_and_warn() {
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    let c = &cluster;
    ok(c.kubectl(V, &["create", "namespace", "checked"]));
    ok(c.kubectl(V, &["label", "namespace", "checked", "env=test"]));
    ok(c.kubectl(V, &["create", "namespace", "free"]));
    ok(c.kubectl(V, &["create", "configmap", "policy-params", "-n", "default", "--from-literal=allowed=a,b"]));
    let rules = |resource: &str, group: &str| {
        json!({"resourceRules": [{"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": [resource]}]})
    };
    apply(
        c,
        "vap.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "max-replicas"}, "spec": {"failurePolicy": "Fail", "matchConstraints": rules("deployments", "apps"),
        "variables": [{"name": "replicas", "expression": "object.spec.replicas"}],
        "validations": [{"expression": "variables.replicas <= 5",
            "messageExpression": "'replicas ' + string(variables.replicas) + ' is too many'"}]}}),
    );
    apply(
        c,
        "vapb.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "max-replicas-binding"}, "spec": {"policyName": "max-replicas", "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {"env": "test"}}}}}),
    );
    apply(
        c,
        "keys.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "allowed-keys"}, "spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "matchConstraints": rules("configmaps", ""),
        "validations": [{"expression": "!has(object.data) || object.data.all(k, k in params.data.allowed.split(','))",
            "message": "only allowed keys"}]}}),
    );
    apply(
        c,
        "keysb.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "allowed-keys-binding"}, "spec": {"policyName": "allowed-keys", "validationActions": ["Warn"],
        "paramRef": {"name": "policy-params", "namespace": "default", "parameterNotFoundAction": "Deny"},
        "matchResources": {"namespaceSelector": {"matchLabels": {"env": "test"}}}}}),
    );

    // Deny: the policy's messageExpression, upstream's wording, 422 Invalid; other namespaces pass.
    let create = ["create", "deployment", "web", "-n", "checked", "--image=nginx", "--replicas=6"];
    let refused = refused_eventually(c, &create);
    assert!(
        refused.contains("ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: replicas 6 is too many"),
        "{refused}"
    );
    ok(c.kubectl(V, &["create", "deployment", "web", "-n", "checked", "--image=nginx", "--replicas=2"]));
    let refused =
        fails(c.kubectl(V, &["patch", "deployment", "web", "-n", "checked", "-p", r#"{"spec":{"replicas":9}}"#]));
    assert!(refused.contains("replicas 9 is too many"), "{refused}");
    ok(c.kubectl(V, &["create", "deployment", "web", "-n", "free", "--image=nginx", "--replicas=6"]));

    // The scale subresource is reviewed as `deployments/scale` with an autoscaling/v1 Scale: the
    // deployments policy does not see it, a policy on the subresource does.
    apply(
        c,
        "scale.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "scale-limit"}, "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
            "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["deployments/scale"]}]},
        "validations": [{"expression": "object.kind == 'Scale' && object.spec.replicas <= 7", "message": "at most 7"}]}}),
    );
    apply(
        c,
        "scaleb.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "scale-limit-binding"}, "spec": {"policyName": "scale-limit", "validationActions": ["Deny"]}}),
    );
    let refused = refused_eventually(c, &["scale", "deployment", "web", "-n", "checked", "--replicas=9"]);
    assert!(
        refused.contains(
            "ValidatingAdmissionPolicy 'scale-limit' with binding 'scale-limit-binding' denied request: at most 7"
        ),
        "{refused}"
    );
    ok(c.kubectl(V, &["scale", "deployment", "web", "-n", "checked", "--replicas=6"]));

    // matchPolicy Equivalent (the default): a policy on events.k8s.io/v1 events also sees a core
    // v1 Event, converted (`note` is core's `message`).
    apply(
        c,
        "ev.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "quiet-events"}, "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["events.k8s.io"],
            "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["events"]}]},
        "validations": [{"expression": "object.note != 'loud'", "message": "no loud events"}]}}),
    );
    apply(
        c,
        "evb.json",
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "quiet-events-binding"}, "spec": {"policyName": "quiet-events", "validationActions": ["Deny"]}}),
    );
    let event = c.dir.path().join("loud.json");
    std::fs::write(
        &event,
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "loud", "namespace": "free"},
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "free"}, "message": "loud",
        "reason": "Test", "type": "Normal"})
        .to_string(),
    )
    .expect("write");
    let refused = refused_eventually(c, &["create", "-f", &event.to_string_lossy()]);
    assert!(refused.contains("denied request: no loud events"), "{refused}");

    // Warn, with params from a ConfigMap: the write goes through with the warning.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out =
            c.kubectl(V, &["create", "configmap", "odd", "-n", "checked", "--from-literal=z=1", "--dry-run=server"]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        if stderr.contains("Validation failed for ValidatingAdmissionPolicy 'allowed-keys' with binding 'allowed-keys-binding': only allowed keys") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no warning: {stderr}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let fine = c.kubectl(V, &["create", "configmap", "fine", "-n", "checked", "--from-literal=a=1"]);
    assert!(!String::from_utf8_lossy(&fine.stderr).contains("Validation failed"));
    ok(fine);
}

/// What `/observe` answers for a pod: labels saying what the webhook saw of the built-in
/// plugins' work (the account, the tolerations), so the test sees the order they ran in.
fn observe(_path: &str, review: &Value) -> Value {
    let request = &review["request"];
    let spec = &request["object"]["spec"];
    let account = spec["serviceAccountName"].as_str().filter(|a| !a.is_empty()).unwrap_or("none");
    let tolerations = spec["tolerations"].as_array().map_or(0, Vec::len);
    let ops = json!([{"op": "add", "path": "/metadata/labels",
        "value": {"seen-account": account, "seen-tolerations": tolerations.to_string()}}]);
    let patch = base64::engine::general_purpose::STANDARD.encode(ops.to_string());
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": request["uid"], "allowed": true, "patchType": "JSONPatch", "patch": patch}})
}

/// A self-signed certificate that is its own CA and serves the webhook (kopf makes such):
/// Go's verifier accepts a leaf found among the roots, so upstream calls the webhook.
fn self_signed_ca_leaf() -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    (cert.pem(), key.serialize_pem())
}

async fn observed_pod(c: &Cluster, name: &str) -> (String, String) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
    let path = c.dir.path().join(format!("{name}.json"));
    std::fs::write(&path, pod.to_string()).expect("write");
    ok(c.kubectl(V, &["create", "-f", &path.to_string_lossy()]));
    let labels = ok(c.kubectl(
        V,
        &["get", "pod", name, "-o", "jsonpath={.metadata.labels.seen-account} {.metadata.labels.seen-tolerations}"],
    ));
    let (account, tolerations) = labels.split_once(' ').unwrap_or(("", ""));
    (account.to_string(), tolerations.to_string())
}

async fn observing_webhook(c: &Cluster) {
    let (cert, key) = self_signed_ca_leaf();
    let handler: e2e::https::Handler = Arc::new(observe);
    let (port, _) = e2e::https::serve_json(&cert, &key, handler).await.expect("webhook server");
    let client = json!({"url": format!("https://127.0.0.1:{port}/observe"),
        "caBundle": base64::engine::general_purpose::STANDARD.encode(&cert)});
    let mut hook = configuration("MutatingWebhookConfiguration", "observer", client, "Fail", json!({}));
    hook["webhooks"][0]["rules"] = json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
        "resources": ["pods"]}]);
    hook["webhooks"][0].as_object_mut().expect("hook").remove("namespaceSelector");
    apply(c, "observer.json", &hook);
    // The configuration takes effect a moment after it is stored.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let probe = c.kubectl(
            V,
            &[
                "run",
                "probe",
                "--image=busybox:1.36",
                "--dry-run=server",
                "-o",
                "jsonpath={.metadata.labels.seen-account}",
            ],
        );
        if !String::from_utf8_lossy(&probe.stdout).is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the observing webhook is never called: {probe:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_plugins_run_before_webhooks_in_upstream_order_and_follow_the_flags() {
    // Defaults: ServiceAccount and DefaultTolerationSeconds ran before the mutating webhook, so
    // it sees their work — and it is reached through a self-signed certificate that is its own
    // caBundle.
    let cluster = Cluster::start(Backend::Embedded).await.expect("cluster starts");
    observing_webhook(&cluster).await;
    assert_eq!(observed_pod(&cluster, "defaults").await, ("default".to_string(), "2".to_string()));

    // Disabled by flag, they do nothing; naming one rkube lacks is harmless when disabling.
    let flags = ["--disable-admission-plugins", "ServiceAccount,DefaultTolerationSeconds,PodSecurity"];
    let cluster = Cluster::start_with(Backend::Embedded, &flags).await.expect("cluster starts");
    observing_webhook(&cluster).await;
    assert_eq!(observed_pod(&cluster, "bare").await, ("none".to_string(), "0".to_string()));

    // Enabling a plugin rkube does not implement, or one upstream does not know, stops the server.
    for bad in ["AlwaysPullImages", "NoSuchPlugin"] {
        let started = Cluster::start_with(Backend::Embedded, &["--enable-admission-plugins", bad]).await;
        assert!(started.is_err(), "rkube server started with --enable-admission-plugins {bad}");
    }
}

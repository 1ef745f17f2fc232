"""kr8s's basic operations against the cluster in $KUBECONFIG (one hollow node, hollow-node-0).

Every step checks what a kr8s user would look at; the first failure raises. No exec, logs,
port-forward or proxy: hollow nodes serve no kubelet API."""
import threading
import time
import uuid

import kr8s
from kr8s.objects import ConfigMap, Deployment, Namespace, Node, Pod, Secret, Service, Table, new_class, object_from_spec

NS = "kr8s-" + uuid.uuid4().hex[:6]


def until(what, check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


api = kr8s.api()  # probes GET /version/ (with the trailing slash)
assert api.version()["major"] == "1"
assert "kubernetes-admin" in str(api.whoami())
resources = api.api_resources()
assert any(r["name"] == "deployments" for r in resources), resources
assert "v1" in list(api.api_versions())

Namespace({"metadata": {"name": NS}}).create()
assert [n.name for n in kr8s.get("nodes")] == ["hollow-node-0"]

pod = Pod.gen(name="web", image="nginx:1.25", namespace=NS, labels={"app": "web"})
pod.create()
pod.wait("condition=Ready", timeout=60)
assert pod.status.phase == "Running" and pod.ready()
pod.label(tier="front")
pod.annotate({"a": "b"})
pod.remove_label("tier")
pod.refresh()
assert "tier" not in pod.labels and pod.annotations["a"] == "b", (pod.labels, pod.annotations)
pod.patch({"metadata": {"labels": {"patched": "yes"}}})
pod.patch([{"op": "add", "path": "/metadata/labels/jp", "value": "1"}], type="json")
assert Pod.get("web", namespace=NS).labels["jp"] == "1"
assert [p.name for p in kr8s.get("pods", namespace=NS, label_selector={"app": "web"})] == ["web"]
assert [p.name for p in kr8s.get("pods", namespace=NS, field_selector={"status.phase": "Running"})] == ["web"]
table = list(kr8s.get("pods", namespace=NS, as_object=Table))
assert [c["name"] for c in table[0].column_definitions][:3] == ["Name", "Ready", "Status"]

cm = ConfigMap({"metadata": {"name": "cm", "namespace": NS}, "data": {"k": "v"}})
cm.create()
cm.patch({"data": {"k2": "v2"}})
cm.refresh()
assert dict(cm.data) == {"k": "v", "k2": "v2"}
cm.delete()
secret = Secret({"metadata": {"name": "s", "namespace": NS}, "stringData": {"k": "v"}})
secret.create()
secret.refresh()
assert dict(secret.data) == {"k": "dg=="}
secret.delete()

dep = Deployment({"metadata": {"name": "d", "namespace": NS}, "spec": {"replicas": 1,
    "selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}},
    "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
dep.create()
assert "status" in dep.raw, "upstream always serializes status"
dep.wait("condition=Available", timeout=60)
assert dep.ready()
dep.scale(3)
until("three ready replicas", lambda: dep.refresh() or dep.status.get("readyReplicas") == 3)
svc = Service({"metadata": {"name": "svc", "namespace": NS}, "spec": {"selector": {"app": "d"}, "ports": [{"port": 80}]}})
svc.create()
until("the Service's ready pods", lambda: len(svc.ready_pods()) == 3)
owned = ConfigMap({"metadata": {"name": "owned", "namespace": NS}, "data": {"x": "y"}})
owned.create()
dep.adopt(owned)
owned.refresh()
assert owned.metadata.ownerReferences[0].name == "d"

seen = []
threading.Thread(target=lambda: (time.sleep(1), Pod.gen(name="w1", image="busybox", namespace=NS).create())).start()
started = time.time()
for event, obj in kr8s.watch("pods", namespace=NS):
    seen.append((event, obj.name))
    if obj.name == "w1" or time.time() - started > 20:
        break
assert ("ADDED", "w1") in seen, seen
w1 = Pod.get("w1", namespace=NS)
threading.Thread(target=lambda: (time.sleep(1), w1.label(x="y"))).start()
for event, obj in w1.watch():
    if obj.labels.get("x") == "y":
        assert event == "MODIFIED"
        break

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "gadgets.kr8s.example.com"},
       "spec": {"group": "kr8s.example.com", "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
                "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
crd = object_from_spec(CRD)
crd.create()
until("the CRD Established", lambda: crd.refresh() or any(
    c["type"] == "Established" and c["status"] == "True" for c in crd.raw["status"].get("conditions") or []))
Gadget = new_class(kind="Gadget", version="kr8s.example.com/v1", namespaced=True)
gadget = Gadget({"metadata": {"name": "g1", "namespace": NS}, "spec": {"n": 1}})
gadget.create()
gadget.patch({"spec": {"n": 2}})
gadget.patch({"status": {"ok": True}}, subresource="status")
gadget.refresh()
assert gadget.spec.n == 2 and gadget.status.ok is True
assert [g.name for g in Gadget.list(namespace=NS)] == ["g1"]
gadget.delete()

node = Node.get("hollow-node-0")
node.cordon()
assert node.unschedulable
node.uncordon()
node.taint("k", "v", effect="NoSchedule")
assert any(t["key"] == "k" for t in node.taints)
node.taint("k", "v", effect="NoSchedule-")

pod.delete()
pod.wait("delete", timeout=60)
assert not pod.exists()
w1.delete(grace_period=0, propagation_policy="Foreground")
ns = Namespace.get(NS)
ns.delete()
ns.wait("delete", timeout=90)
crd.delete()
print("kr8s: every step passed")

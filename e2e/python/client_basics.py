"""The official Python client (kubernetes) against the cluster in $KUBECONFIG, on what its own
e2e tests tripped over: a Conflict body compared byte for byte (upstream's encoder ends it with
a newline), deletes right after creates while controllers write the object (never 409 without
a precondition), and create_from_yaml's conflict handling."""
import json
import uuid

from kubernetes import client, config, utils
from kubernetes.client.rest import ApiException

config.load_kube_config()
core = client.CoreV1Api()
NS = "py-" + uuid.uuid4().hex[:6]
core.create_namespace({"metadata": {"name": NS}})

# A create that conflicts: the body is upstream's Status, ending in a newline.
core.create_namespaced_config_map(NS, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
try:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "cm"}})
    raise AssertionError("the second create must conflict")
except ApiException as e:
    assert e.status == 409, e.status
    assert e.body.endswith("}\n"), repr(e.body)
    status = json.loads(e.body)
    assert status["reason"] == "AlreadyExists" and status["code"] == 409, status
    assert status["message"] == 'configmaps "cm" already exists', status["message"]

# Deletes without preconditions, right after the create, while the scheduler and the hollow
# kubelet write the pod: never a Conflict.
for i in range(20):
    name = f"race-{i}"
    core.create_namespaced_pod(NS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    core.read_namespaced_pod(name, NS)
    core.delete_namespaced_pod(name, NS, body={})

# create_from_yaml: objects created, and a second run reports each conflict.
manifest = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
     "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
              "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
]
created = utils.create_from_dict(client.ApiClient(), {"apiVersion": "v1", "kind": "List", "items": manifest})
assert len(created) == 2, created
try:
    utils.create_from_dict(client.ApiClient(), {"apiVersion": "v1", "kind": "List", "items": manifest})
    raise AssertionError("the second run must fail")
except utils.FailToCreateError as e:
    assert len(e.api_exceptions) == 2 and all(x.status == 409 for x in e.api_exceptions)
    assert all(x.body.endswith("\n") for x in e.api_exceptions)

deployment = client.AppsV1Api().read_namespaced_deployment("web", NS)
assert deployment.status is not None
core.delete_namespace(NS)
print("python client: every step passed")

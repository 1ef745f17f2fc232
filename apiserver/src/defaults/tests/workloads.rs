//! apps/v1 and batch/v1: cases after upstream's pkg/apis/apps/v1 and
//! pkg/apis/batch/v1 defaults_test.go (TestSetDefaultDeployment,
//! TestSetDefaultDaemonSetSpec, TestSetDefaultStatefulSet,
//! TestSetDefaultReplicaSetReplicas, TestSetDefaultJob, TestSetDefaultCronJob).

use super::common::{defaulted, run, run_at};
use serde_json::{Value, json};

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
}

/// The template after the PodSpec walk (no SetDefaults_Pod in templates).
fn full_template(restart: &str) -> Value {
    json!({"metadata": {"labels": {"app": "x"}}, "spec": {
        "containers": [{"name": "c", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "restartPolicy": restart, "securityContext": {},
        "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}})
}

fn with_restart(mut t: Value, policy: &str) -> Value {
    t["spec"]["restartPolicy"] = json!(policy);
    t
}

#[test]
fn deployment() {
    let meta = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    let obj = |spec: Value| {
        let mut o = meta.clone();
        o["spec"] = spec;
        o
    };
    let selector = json!({"matchLabels": {"app": "x"}});
    run(
        "apps",
        "v1",
        "Deployment",
        vec![
            case!(
                "minimal deployment",
                obj(json!({"selector": selector, "template": template()})),
                obj(json!({"selector": selector, "template": full_template("Always"), "replicas": 1,
                       "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                       "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})),
            ),
            case!(
                "Recreate gets no rollingUpdate",
                obj(
                    json!({"selector": selector, "template": template(), "replicas": 5, "strategy": {"type": "Recreate"}})
                ),
                obj(json!({"selector": selector, "template": full_template("Always"), "replicas": 5,
                       "strategy": {"type": "Recreate"}, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})),
            ),
            case!(
                "partial rollingUpdate and explicit zeros kept",
                obj(json!({"selector": selector, "template": template(), "replicas": 0, "revisionHistoryLimit": 0,
                       "progressDeadlineSeconds": 30, "strategy": {"rollingUpdate": {"maxSurge": 0}}})),
                obj(json!({"selector": selector, "template": full_template("Always"), "replicas": 0,
                       "revisionHistoryLimit": 0, "progressDeadlineSeconds": 30,
                       "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "25%"}}})),
            ),
        ],
    );
}

#[test]
fn replica_set_and_daemon_set() {
    let selector = json!({"matchLabels": {"app": "x"}});
    run(
        "apps",
        "v1",
        "ReplicaSet",
        vec![case!(
            "replicas 1",
            json!({"kind": "ReplicaSet", "spec": {"selector": selector, "template": template()}}),
            json!({"kind": "ReplicaSet", "spec": {"selector": selector, "template": full_template("Always"), "replicas": 1}}),
        )],
    );
    run(
        "apps",
        "v1",
        "DaemonSet",
        vec![
            case!(
                "rolling update 1 / 0",
                json!({"kind": "DaemonSet", "spec": {"selector": selector, "template": template()}}),
                json!({"kind": "DaemonSet", "spec": {"selector": selector, "template": full_template("Always"),
                   "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                   "revisionHistoryLimit": 10}}),
            ),
            case!(
                "OnDelete keeps no rollingUpdate",
                json!({"spec": {"updateStrategy": {"type": "OnDelete"}, "revisionHistoryLimit": 3, "template": template()}}),
                json!({"spec": {"updateStrategy": {"type": "OnDelete"}, "revisionHistoryLimit": 3,
                            "template": full_template("Always")}}),
            ),
        ],
    );
}

#[test]
fn stateful_set() {
    let selector = json!({"matchLabels": {"app": "x"}});
    let claim = json!({"metadata": {"name": "data"},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let full_claim = json!({"metadata": {"name": "data"},
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                     "volumeMode": "Filesystem"},
                            "status": {"phase": "Pending"}});
    run(
        "apps",
        "v1",
        "StatefulSet",
        vec![
            case!(
                "minimal statefulset",
                json!({"kind": "StatefulSet", "spec": {"selector": selector, "serviceName": "s", "template": template(),
                   "volumeClaimTemplates": [claim]}}),
                json!({"kind": "StatefulSet", "spec": {"selector": selector, "serviceName": "s",
                   "template": full_template("Always"), "volumeClaimTemplates": [full_claim],
                   "podManagementPolicy": "OrderedReady",
                   "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                   "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                   "replicas": 1, "revisionHistoryLimit": 10}}),
            ),
            case!(
                "explicit RollingUpdate without rollingUpdate stays without",
                json!({"spec": {"updateStrategy": {"type": "RollingUpdate"}, "podManagementPolicy": "Parallel",
                   "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}, "template": template()}}),
                json!({"spec": {"updateStrategy": {"type": "RollingUpdate"}, "podManagementPolicy": "Parallel",
                   "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                   "replicas": 1, "revisionHistoryLimit": 10, "template": full_template("Always")}}),
            ),
            case!(
                "partition filled in, maxUnavailable not (gate off in 1.33)",
                json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {}}, "template": template()}}),
                json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                   "podManagementPolicy": "OrderedReady",
                   "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                   "replicas": 1, "revisionHistoryLimit": 10, "template": full_template("Always")}}),
            ),
            case!(
                "OnDelete",
                json!({"spec": {"updateStrategy": {"type": "OnDelete"}, "replicas": 3, "template": template()}}),
                json!({"spec": {"updateStrategy": {"type": "OnDelete"}, "podManagementPolicy": "OrderedReady",
                   "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                   "replicas": 3, "revisionHistoryLimit": 10, "template": full_template("Always")}}),
            ),
        ],
    );
}

#[test]
fn controller_revision_is_left_alone() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
                     "data": {"spec": {}}, "revision": 1});
    run("apps", "v1", "ControllerRevision", vec![case!("unchanged", obj.clone(), obj)]);
}

fn job_template() -> Value {
    with_restart(template(), "Never")
}

#[test]
fn job() {
    let full = full_template("Never");
    let defaults = json!({"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                          "suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false});
    let mut want_spec = defaults.clone();
    want_spec["template"] = full.clone();
    run(
        "batch",
        "v1",
        "Job",
        vec![case!(
            "minimal job: labels come from the template",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": job_template()}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": {"app": "x"}},
               "spec": want_spec}),
        )],
    );

    let spec_of = |spec: Value| {
        let mut s = spec;
        s["template"] = job_template();
        defaulted("batch", "v1", "Job", &json!({"metadata": {"labels": {"own": "l"}}, "spec": s}))
    };
    // Work-queue jobs: parallelism set, completions unset, stays unset.
    let got = spec_of(json!({"parallelism": 0}));
    assert_eq!(got["spec"]["parallelism"], 0);
    assert!(got["spec"].get("completions").is_none());
    assert_eq!(got["metadata"]["labels"], json!({"own": "l"}), "own labels are kept");
    let got = spec_of(json!({"parallelism": 2}));
    assert!(got["spec"].get("completions").is_none());
    let got = spec_of(json!({"completions": 2}));
    assert_eq!((got["spec"]["completions"].clone(), got["spec"]["parallelism"].clone()), (json!(2), json!(1)));
    let got = spec_of(json!({"backoffLimit": 5, "suspend": true, "completionMode": "Indexed", "completions": 3}));
    assert_eq!(got["spec"]["backoffLimit"], 5);
    assert_eq!(got["spec"]["suspend"], true);
    assert_eq!(got["spec"]["completionMode"], "Indexed");
    // A per-index limit makes the global one unlimited.
    let got = spec_of(json!({"backoffLimitPerIndex": 2, "completionMode": "Indexed", "completions": 3}));
    assert_eq!(got["spec"]["backoffLimit"], 2147483647);
    // A pod failure policy: condition status True, replacement Failed.
    let got = spec_of(json!({"podFailurePolicy": {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}, {"type": "X", "status": "False"}]},
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}}));
    assert_eq!(
        got["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"],
        json!([{"type": "DisruptionTarget", "status": "True"}, {"type": "X", "status": "False"}])
    );
    assert_eq!(got["spec"]["podReplacementPolicy"], "Failed");
    let got = spec_of(json!({"podReplacementPolicy": "Failed", "manualSelector": true}));
    assert_eq!(
        (got["spec"]["podReplacementPolicy"].clone(), got["spec"]["manualSelector"].clone()),
        (json!("Failed"), json!(true))
    );
}

#[test]
fn cron_job() {
    run(
        "batch",
        "v1",
        "CronJob",
        vec![
            case!(
                "minimal cronjob: the job template is not job-defaulted",
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                   "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": job_template()}}}}),
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                   "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": full_template("Never")}},
                            "concurrencyPolicy": "Allow", "suspend": false,
                            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}}),
            ),
            case!(
                "set fields are kept",
                json!({"spec": {"concurrencyPolicy": "Forbid", "suspend": true, "successfulJobsHistoryLimit": 5,
                            "failedJobsHistoryLimit": 0, "jobTemplate": {"spec": {"template": job_template()}}}}),
                json!({"spec": {"concurrencyPolicy": "Forbid", "suspend": true, "successfulJobsHistoryLimit": 5,
                            "failedJobsHistoryLimit": 0, "jobTemplate": {"spec": {"template": full_template("Never")}}}}),
            ),
        ],
    );
    // The pod spec inside the job template is walked all the way down.
    run_at(
        "batch",
        "v1",
        "CronJob",
        "/spec/jobTemplate/spec/template/spec/initContainers/0/ports/0/protocol",
        vec![(
            "init container port",
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [],
            "initContainers": [{"name": "i", "image": "i", "ports": [{"containerPort": 1}]}]}}}}}}),
            json!("TCP"),
        )],
    );
}

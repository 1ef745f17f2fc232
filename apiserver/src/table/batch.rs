//! Printers for batch/v1 kinds.

use serde_json::Value;

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Now, Printer, age, arr_at, at, bool_at, bool_ptr, col, container_cells,
    deleting, desc, format_label_selector, human_duration_nanos, int_at, name, opt_int_at, set_time, since, str_at,
};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    Some(match (group, kind) {
        ("batch", "Job") => (JOB, job_row),
        ("batch", "CronJob") => (CRON_JOB, cron_job_row),
        _ => return None,
    })
}

static JOB: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job.", 0),
    col("Completions", "string", desc::JOB_STATUS_SUCCEEDED, 0),
    col("Duration", "string", "Time required to complete the job.", 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::JOB_SPEC_SELECTOR, 1),
];

/// Whether the first condition of `type_` is true.
fn has_condition(conditions: &[Value], type_: &str) -> bool {
    conditions.iter().find(|c| str_at(c, &["type"]) == type_).is_some_and(|c| str_at(c, &["status"]) == "True")
}

fn job_status(job: &Value) -> &'static str {
    let conditions = arr_at(job, &["status", "conditions"]);
    if has_condition(conditions, "Complete") {
        "Complete"
    } else if has_condition(conditions, "Failed") {
        "Failed"
    } else if deleting(job) {
        "Terminating"
    } else if has_condition(conditions, "Suspended") {
        "Suspended"
    } else if has_condition(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// "2/3"; without a completion count "2/1", or "2/1 of 4" for parallel work queues.
fn job_completions(job: &Value) -> String {
    let succeeded = int_at(job, &["status", "succeeded"]);
    match opt_int_at(job, &["spec", "completions"]) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match int_at(job, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

/// Run time so far, or start to completion once done; empty before the job starts.
fn job_duration(job: &Value, now: Now) -> String {
    let Some(start) = set_time(str_at(job, &["status", "startTime"])) else { return String::new() };
    match set_time(str_at(job, &["status", "completionTime"])) {
        Some(end) => human_duration_nanos(end - start),
        None => human_duration_nanos(now.0 - start),
    }
}

fn job_row(job: &Value, now: Now) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(job, &["spec", "template", "spec", "containers"]));
    vec![
        name(job),
        Value::from(job_status(job)),
        Value::from(job_completions(job)),
        Value::from(job_duration(job, now)),
        age(job, now),
        names,
        images,
        Value::from(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

static CRON_JOB: &[Column] = &[
    NAME,
    col("Schedule", "string", desc::CRONJOB_SPEC_SCHEDULE, 0),
    col("Timezone", "string", desc::CRONJOB_SPEC_TIME_ZONE, 0),
    col("Suspend", "boolean", desc::CRONJOB_SPEC_SUSPEND, 0),
    col("Active", "integer", desc::CRONJOB_STATUS_ACTIVE, 0),
    col("Last Schedule", "string", desc::CRONJOB_STATUS_LAST_SCHEDULE_TIME, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", desc::JOB_SPEC_SELECTOR, 1),
];

fn cron_job_row(cj: &Value, now: Now) -> Vec<Value> {
    let job_spec = at(cj, &["spec", "jobTemplate", "spec"]).unwrap_or(&Value::Null);
    let (names, images) = container_cells(arr_at(job_spec, &["template", "spec", "containers"]));
    let last_schedule = match at(cj, &["status", "lastScheduleTime"]) {
        Some(t) => since(now, t.as_str().unwrap_or("")),
        None => "<none>".to_string(),
    };
    vec![
        name(cj),
        Value::from(str_at(cj, &["spec", "schedule"])),
        // An explicitly empty time zone still prints as itself, like upstream's non-nil pointer.
        match at(cj, &["spec", "timeZone"]) {
            Some(tz) => Value::from(tz.as_str().unwrap_or("")),
            None => Value::from("<none>"),
        },
        bool_ptr(bool_at(cj, &["spec", "suspend"])),
        Value::from(arr_at(cj, &["status", "active"]).len()),
        Value::from(last_schedule),
        age(cj, now),
        names,
        images,
        Value::from(format_label_selector(at(job_spec, &["selector"]))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_557_600) // 2024-05-01T10:00:00Z
    }

    fn row(kind: &str, obj: Value) -> Vec<Value> {
        super::super::cells("batch", kind, &obj, now())
    }

    #[test]
    fn job_status_and_completions() {
        let cases = [
            (json!({"spec": {"completions": 3}, "status": {"succeeded": 1}}), "Running", "1/3"),
            (json!({"spec": {"parallelism": 4}, "status": {"succeeded": 2}}), "Running", "2/1 of 4"),
            (json!({"spec": {"parallelism": 1}}), "Running", "0/1"),
            (
                json!({"spec": {"completions": 1}, "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}),
                "Complete",
                "1/1",
            ),
            (json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}}), "Failed", "0/1"),
            (json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}}), "Suspended", "0/1"),
            (json!({"status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}}), "FailureTarget", "0/1"),
            (json!({"metadata": {"deletionTimestamp": "2024-05-01T09:00:00Z"}}), "Terminating", "0/1"),
            (json!({"status": {"conditions": [{"type": "Complete", "status": "False"}]}}), "Running", "0/1"),
        ];
        for (job, status, completions) in cases {
            let cells = row("Job", job.clone());
            assert_eq!((cells[1].as_str(), cells[2].as_str()), (Some(status), Some(completions)), "{job}");
        }
    }

    #[test]
    fn job_duration_runs_until_completion() {
        let running = json!({"status": {"startTime": "2024-05-01T09:56:40Z"}});
        assert_eq!(row("Job", running)[3], json!("3m20s"));
        let done = json!({"status": {"startTime": "2024-05-01T08:00:00Z", "completionTime": "2024-05-01T08:00:42Z"}});
        assert_eq!(row("Job", done)[3], json!("42s"));
        assert_eq!(row("Job", json!({}))[3], json!(""));
    }

    #[test]
    fn cron_jobs() {
        let cj = json!({
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "suspend": false, "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}},
            "status": {"active": [{"name": "a"}], "lastScheduleTime": "2024-05-01T07:00:00Z"}
        });
        assert_eq!(
            row("CronJob", cj),
            vec![
                json!("nightly"),
                json!("0 3 * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("3h"),
                json!("<unknown>"),
                json!("c"),
                json!("i"),
                json!("<none>")
            ]
        );
        let bare = row("CronJob", json!({"spec": {"timeZone": "Etc/UTC"}}));
        assert_eq!(&bare[2..6], &[json!("Etc/UTC"), json!("<unset>"), json!(0), json!("<none>")]);
    }
}

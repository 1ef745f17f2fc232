//! Table printers: the columns `kubectl get` shows for each built-in kind, and the cells of one
//! object's row. kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io`; the server wraps
//! what this module computes into a meta.k8s.io/v1 Table.
//!
//! Columns (names, types, formats, descriptions, priorities) follow upstream 1.33's printers. Like
//! upstream's server-side conversion, rows always carry every column, wide ones (priority 1)
//! included: kubectl hides those unless asked for `-o wide`. Objects are read as JSON in their
//! served (external) form; where upstream reads a defaulted field, an absent one counts as its
//! API default.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod apps;
mod batch;
mod core;
mod desc;
mod networking;
mod other;
use apimachinery::quantity;
mod storage;

/// One column definition of a meta.k8s.io/v1 Table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// OpenAPI type: "string", "integer", "boolean", "date", ...
    pub type_: &'static str,
    /// OpenAPI format hint: "name" for the object's name, else "".
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: shown only with `-o wide`.
    pub priority: i32,
}

pub(crate) const fn col(name: &'static str, type_: &'static str, description: &'static str, priority: i32) -> Column {
    Column { name, type_, format: "", description, priority }
}

/// The leading name column nearly every printer has.
pub(crate) const NAME: Column =
    Column { name: "Name", type_: "string", format: "name", description: desc::META_NAME, priority: 0 };
pub(crate) const AGE: Column = col("Age", "string", desc::META_CREATION_TIMESTAMP, 0);
pub(crate) const CONTAINERS: Column = col("Containers", "string", "Names of each container in the template.", 1);
pub(crate) const IMAGES: Column = col("Images", "string", "Images referenced by each container in the template.", 1);

/// Upstream's fallback for resources without a printer: name and creation time.
static DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", desc::META_CREATION_TIMESTAMP, 0)];

/// The current time in nanoseconds since the Unix epoch; every age is measured against it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now(i128);

/// Computes one row's cells; the cells line up with the printer's columns.
pub(crate) type RowFn = fn(&Value, Now) -> Vec<Value>;

/// A kind's printer: its columns and its row function.
pub(crate) type Printer = (&'static [Column], RowFn);

fn printer(group: &str, kind: &str) -> Option<Printer> {
    core::printer(group, kind)
        .or_else(|| storage::printer(group, kind))
        .or_else(|| apps::printer(group, kind))
        .or_else(|| batch::printer(group, kind))
        .or_else(|| networking::printer(group, kind))
        .or_else(|| other::printer(group, kind))
}

/// Columns for objects of `kind` in `group` ("" = core).
pub fn columns(group: &str, kind: &str) -> &'static [Column] {
    printer(group, kind).map_or(DEFAULT_COLUMNS, |(columns, _)| columns)
}

/// The cells of `obj`'s row, one per column of [`columns`]. `now` is the reference for ages.
pub fn cells(group: &str, kind: &str, obj: &Value, now: SystemTime) -> Vec<Value> {
    let now = Now(unix_nanos(now));
    match printer(group, kind) {
        Some((_, row)) => row(obj, now),
        None => default_row(obj),
    }
}

fn default_row(obj: &Value) -> Vec<Value> {
    // Upstream prints the creation time itself here, not an age, always as UTC RFC 3339; an unset
    // time is Go's zero time.
    let created = parse_time(str_at(obj, &["metadata", "creationTimestamp"])).unwrap_or(GO_ZERO_TIME_NANOS);
    vec![name(obj), Value::from(format_rfc3339(created))]
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

// ---------------------------------------------------------------------------------------------
// Durations and times

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Formats a duration the way upstream's `duration.HumanDuration` does: about two significant
/// units ("5s", "3m20s", "2d3h", "45d", "2y10d").
pub fn human_duration(d: Duration) -> String {
    human_duration_nanos(d.as_nanos() as i128)
}

/// Signed variant: timestamps a little in the future (clock skew) still read as "0s".
pub(crate) fn human_duration_nanos(d: i128) -> String {
    let seconds = d / NANOS_PER_SEC;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{days}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which upstream treats as "unset".
const GO_ZERO_TIME_NANOS: i128 = -62_135_596_800 * NANOS_PER_SEC;

/// Parses an RFC 3339 timestamp ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456+02:00") to
/// nanoseconds since the Unix epoch.
pub(crate) fn parse_time(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut frac_nanos: i128 = 0;
    if let Some((b'.', tail)) = rest.split_first() {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut scale = NANOS_PER_SEC;
        for &c in &tail[..n] {
            // Digits beyond nanoseconds are dropped, as Go does.
            scale /= 10;
            frac_nanos += i128::from(c - b'0') * scale;
        }
        rest = &tail[n..];
    }
    let offset_secs: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(i128::from(secs) * NANOS_PER_SEC + frac_nanos)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years repeat exactly).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0, so the leap day ends the year
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats whole seconds of `nanos` as UTC RFC 3339 ("2024-05-01T10:00:00Z").
pub(crate) fn format_rfc3339(nanos: i128) -> String {
    let secs = nanos.div_euclid(NANOS_PER_SEC) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Time since `timestamp` in human form; "<unknown>" when unset (upstream's
/// translateTimestampSince).
pub(crate) fn since(now: Now, timestamp: &str) -> String {
    match set_time(timestamp) {
        Some(t) => human_duration_nanos(now.0 - t),
        None => "<unknown>".to_string(),
    }
}

/// The object's age.
pub(crate) fn age(obj: &Value, now: Now) -> Value {
    Value::from(since(now, str_at(obj, &["metadata", "creationTimestamp"])))
}

/// A timestamp field's time, unless unset (absent, unparseable, or Go's zero time).
pub(crate) fn set_time(timestamp: &str) -> Option<i128> {
    parse_time(timestamp).filter(|t| *t != GO_ZERO_TIME_NANOS)
}

/// Whether a timestamp field holds a set time.
pub(crate) fn time_is_set(timestamp: &str) -> bool {
    set_time(timestamp).is_some()
}

// ---------------------------------------------------------------------------------------------
// JSON access: absent or mistyped fields read as the zero value, like an unset Go field.

pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key)).filter(|v| !v.is_null())
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn int_at(v: &Value, path: &[&str]) -> i64 {
    opt_int_at(v, path).unwrap_or(0)
}

pub(crate) fn opt_int_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

pub(crate) fn bool_at(v: &Value, path: &[&str]) -> Option<bool> {
    at(v, path).and_then(Value::as_bool)
}

pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(crate) fn map_len(v: &Value, path: &[&str]) -> usize {
    at(v, path).and_then(Value::as_object).map_or(0, |m| m.len())
}

pub(crate) fn name(obj: &Value) -> Value {
    Value::from(str_at(obj, &["metadata", "name"]))
}

/// `true` once the object has a deletion timestamp.
pub(crate) fn deleting(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_some()
}

/// An IntOrString rendered as upstream's `String()`.
pub(crate) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared formatting

/// `k1=v1,k2=v2` sorted by key, or "<none>" (upstream's labels.FormatLabels).
pub(crate) fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = match map.and_then(Value::as_object) {
        Some(m) => m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect(),
        None => Vec::new(),
    };
    if pairs.is_empty() {
        return "<none>".to_string();
    }
    pairs.sort();
    pairs.join(",")
}

/// A metav1.LabelSelector in selector syntax ("app=web,tier in (a,b),!legacy"); "" when it
/// selects nothing or everything. `Err` when the selector is malformed.
pub(crate) fn selector_string(selector: Option<&Value>) -> Result<String, ()> {
    let Some(selector) = selector else { return Ok(String::new()) };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            requirements.push((key.clone(), format!("{key}={}", value.as_str().unwrap_or(""))));
        }
    }
    for expr in arr_at(selector, &["matchExpressions"]) {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = arr_at(expr, &["values"]).iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let rendered = match str_at(expr, &["operator"]) {
            "In" if !values.is_empty() => format!("{key} in ({})", values.join(",")),
            "NotIn" if !values.is_empty() => format!("{key} notin ({})", values.join(",")),
            "Exists" if values.is_empty() => key.to_string(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return Err(()),
        };
        if key.is_empty() {
            return Err(());
        }
        requirements.push((key.to_string(), rendered));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(requirements.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join(","))
}

/// A label selector for display: "<none>" when empty, "<error>" when malformed
/// (upstream's metav1.FormatLabelSelector).
pub(crate) fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(()) => "<error>".to_string(),
    }
}

/// Comma-joined container names and images of a pod template's containers.
pub(crate) fn container_cells(containers: &[Value]) -> (Value, Value) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (Value::from(names.join(",")), Value::from(images.join(",")))
}

/// "a,b,c + 4 more..." for lists cut at `max` entries; "<unset>" for an empty list.
pub(crate) fn list_with_more(list: &[String], count: usize, max: usize) -> String {
    let joined = list.join(",");
    if count > max {
        return format!("{joined} + {} more...", count - max);
    }
    if joined.is_empty() { "<unset>".to_string() } else { joined }
}

/// "True", "False", or "<unset>" for an optional boolean.
pub(crate) fn bool_ptr(v: Option<bool>) -> Value {
    Value::from(match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    })
}

/// A string cell that shows `fallback` when empty.
pub(crate) fn or(s: &str, fallback: &str) -> Value {
    Value::from(if s.is_empty() { fallback } else { s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations() {
        let cases: &[(i128, &str)] = &[
            (-3, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (48 * 3600, "2d"),
            (2 * 86_400 + 3 * 3600, "2d3h"),
            (7 * 86_400 + 23 * 3600, "7d23h"),
            (8 * 86_400, "8d"),
            (45 * 86_400, "45d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (740 * 86_400, "2y10d"),
            (8 * 365 * 86_400, "8y"),
            (20 * 365 * 86_400, "20y"),
        ];
        for &(secs, want) in cases {
            assert_eq!(human_duration_nanos(secs * NANOS_PER_SEC), want, "{secs}s");
        }
        assert_eq!(human_duration(Duration::from_millis(1500)), "1s");
        // A fraction of a second in the future still counts as now.
        assert_eq!(human_duration_nanos(-1_500_000_000), "0s");
    }

    #[test]
    fn rfc3339_round_trip() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-05-01T10:00:00Z", 1_714_557_600),
            ("2024-02-29T23:59:59Z", 1_709_251_199),
            ("2000-03-01T00:00:00Z", 951_868_800),
            ("1969-12-31T23:59:59Z", -1),
        ];
        for (text, secs) in cases {
            assert_eq!(parse_time(text), Some(i128::from(secs) * NANOS_PER_SEC), "{text}");
            assert_eq!(format_rfc3339(i128::from(secs) * NANOS_PER_SEC), text);
        }
        assert_eq!(parse_time("2024-05-01T12:00:00+02:00"), parse_time("2024-05-01T10:00:00Z"));
        assert_eq!(parse_time("2024-05-01T10:00:00.250000Z"), Some(1_714_557_600 * NANOS_PER_SEC + 250_000_000));
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), Some(GO_ZERO_TIME_NANOS));
        assert_eq!(format_rfc3339(GO_ZERO_TIME_NANOS), "0001-01-01T00:00:00Z");
        for bad in ["", "2024-05-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T10:00:00", "x"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages() {
        let now = Now(parse_time("2024-05-01T10:00:00Z").unwrap_or(0));
        let obj = |ts: &str| json!({"metadata": {"name": "x", "creationTimestamp": ts}});
        assert_eq!(age(&obj("2024-05-01T09:59:55Z"), now), json!("5s"));
        assert_eq!(age(&obj("2024-05-01T09:56:40Z"), now), json!("3m20s"));
        assert_eq!(age(&obj("2024-04-29T07:00:00Z"), now), json!("2d3h"));
        assert_eq!(age(&obj("2024-03-17T10:00:00Z"), now), json!("45d"));
        assert_eq!(age(&obj("2024-05-01T10:00:01Z"), now), json!("0s"));
        assert_eq!(age(&json!({"metadata": {}}), now), json!("<unknown>"));
        assert_eq!(age(&obj("0001-01-01T00:00:00Z"), now), json!("<unknown>"));
    }

    #[test]
    fn default_table() {
        let obj = json!({"metadata": {"name": "r", "creationTimestamp": "2024-05-01T12:00:00+02:00"}});
        assert_eq!(columns("rbac.authorization.k8s.io", "Role"), DEFAULT_COLUMNS);
        assert_eq!(columns("", "Pod")[0], NAME);
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            cells("rbac.authorization.k8s.io", "Role", &obj, now),
            vec![json!("r"), json!("2024-05-01T10:00:00Z")]
        );
        assert_eq!(cells("", "LimitRange", &json!({}), now), vec![json!(""), json!("0001-01-01T00:00:00Z")]);
    }

    #[test]
    fn selectors() {
        let sel = json!({
            "matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["a"]},
                {"key": "canary", "operator": "Exists"}
            ]
        });
        assert_eq!(format_label_selector(Some(&sel)), "app=x,canary,env in (dev,prod),!legacy,tier=web,zone notin (a)");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(
            format_label_selector(Some(&json!({"matchExpressions": [{"key": "a", "operator": "Gt"}]}))),
            "<error>"
        );
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(None), "<none>");
    }

    #[test]
    fn every_printer_fills_its_columns() {
        // Rows must line up with columns even for an empty object.
        let kinds: &[(&str, &str)] = &[
            ("", "Pod"),
            ("", "PodTemplate"),
            ("", "ReplicationController"),
            ("", "Service"),
            ("", "Endpoints"),
            ("", "Node"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("", "Namespace"),
            ("", "Secret"),
            ("", "ServiceAccount"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "ComponentStatus"),
            ("", "ConfigMap"),
            ("", "ResourceQuota"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "StatefulSet"),
            ("apps", "DaemonSet"),
            ("apps", "ControllerRevision"),
            ("batch", "Job"),
            ("batch", "CronJob"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("autoscaling", "Scale"),
            ("policy", "PodDisruptionBudget"),
            ("networking.k8s.io", "Ingress"),
            ("networking.k8s.io", "IngressClass"),
            ("networking.k8s.io", "NetworkPolicy"),
            ("networking.k8s.io", "ServiceCIDR"),
            ("networking.k8s.io", "IPAddress"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("certificates.k8s.io", "CertificateSigningRequest"),
            ("coordination.k8s.io", "Lease"),
            ("storage.k8s.io", "StorageClass"),
            ("storage.k8s.io", "VolumeAttachment"),
            ("storage.k8s.io", "CSINode"),
            ("storage.k8s.io", "CSIDriver"),
            ("storage.k8s.io", "CSIStorageCapacity"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("node.k8s.io", "RuntimeClass"),
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
            ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
            ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
            ("apiregistration.k8s.io", "APIService"),
        ];
        for &(group, kind) in kinds {
            assert!(printer(group, kind).is_some(), "{group} {kind} has no printer");
            let columns = columns(group, kind);
            assert_eq!(cells(group, kind, &json!({}), SystemTime::now()).len(), columns.len(), "{group} {kind}");
            let mut names: Vec<&str> = columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), columns.len(), "{group} {kind} repeats a column");
        }
    }
}

//! `metadata.managedFields`: reading and writing the entries, upstream's manager identities,
//! the order entries are written in, and the cap on the number of Update entries.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Operation;
use super::fieldset::{FieldSet, go_json_string};

/// One manager's entry: who, through which operation and version, and what it owns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub(super) manager: String,
    pub(super) operation: Operation,
    pub(super) api_version: String,
    /// Empty for the main resource.
    pub(super) subresource: String,
    /// RFC 3339, as stored.
    pub(super) time: Option<String>,
    pub(super) set: FieldSet,
}

impl Entry {
    /// Upstream's manager identity: the entry's JSON without fields, type and time, and
    /// without the apiVersion for appliers (an applier stays one manager across versions).
    pub(super) fn id(&self) -> String {
        let version = (self.operation == Operation::Update).then_some(self.api_version.as_str());
        identity(&self.manager, self.operation, version, &self.subresource)
    }
}

pub(super) fn identity(manager: &str, operation: Operation, api_version: Option<&str>, subresource: &str) -> String {
    // Go's json.Marshal of a ManagedFieldsEntry: manager, operation, apiVersion, subresource,
    // each left out when empty.
    let mut out = String::from("{");
    let mut field = |name: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        if out.len() > 1 {
            out.push(',');
        }
        go_json_string(name, &mut out);
        out.push(':');
        go_json_string(value, &mut out);
    };
    field("manager", manager);
    field("operation", operation.as_str());
    field("apiVersion", api_version.unwrap_or_default());
    field("subresource", subresource);
    out.push('}');
    out
}

/// Every manager's entry, by identity.
pub(super) type Managers = BTreeMap<String, Entry>;

/// Reads `metadata.managedFields`, rejecting entries upstream cannot decode.
pub(super) fn decode(managed_fields: Option<&Value>) -> Result<Managers, String> {
    let mut out = Managers::new();
    let entries = match managed_fields {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err("managedFields must be a list".into()),
    };
    for (i, raw) in entries.iter().enumerate() {
        let text = |name: &str| raw.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let operation = match raw.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return Err("operation must be `Apply` or `Update`".into()),
        };
        let api_version = text("apiVersion");
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match raw.get("fieldsType").and_then(Value::as_str).unwrap_or_default() {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
            other => return Err(format!("invalid fieldsType {other:?} in managed fields entry {i}")),
        }
        let set = FieldSet::from_fields_v1(raw.get("fieldsV1").unwrap_or(&Value::Null))
            .map_err(|e| format!("error decoding versioned set from entry {i}: {e}"))?;
        let entry = Entry {
            manager: text("manager"),
            operation,
            api_version,
            subresource: text("subresource"),
            time: raw.get("time").and_then(Value::as_str).map(str::to_owned),
            set,
        };
        // A repeated identity keeps the last entry, as upstream's map does.
        out.insert(entry.id(), entry);
    }
    Ok(out)
}

/// Whether a write asks to clear managedFields: an empty list, or a list of one empty entry.
pub(super) fn is_reset(managed_fields: Option<&Value>) -> bool {
    match managed_fields {
        Some(Value::Array(entries)) => match entries.as_slice() {
            [] => true,
            [Value::Object(entry)] => entry.values().all(|v| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            }),
            _ => false,
        },
        _ => false,
    }
}

/// The entries as upstream writes them: appliers first, then by time, manager, apiVersion and
/// subresource. `None` when there are none (the field is then left out).
pub(super) fn encode(managers: &Managers) -> Option<Value> {
    if managers.is_empty() {
        return None;
    }
    let mut entries: Vec<&Entry> = managers.values().collect();
    entries.sort_by(|p, q| {
        p.operation
            .as_str()
            .cmp(q.operation.as_str())
            .then_with(|| unix_seconds(p.time.as_deref()).cmp(&unix_seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    let encoded = entries
        .into_iter()
        .map(|e| {
            let mut out = Map::new();
            out.insert("manager".into(), json!(e.manager));
            out.insert("operation".into(), json!(e.operation.as_str()));
            out.insert("apiVersion".into(), json!(e.api_version));
            if let Some(time) = &e.time {
                out.insert("time".into(), json!(time));
            }
            out.insert("fieldsType".into(), json!("FieldsV1"));
            out.insert("fieldsV1".into(), e.set.to_fields_v1());
            if !e.subresource.is_empty() {
                out.insert("subresource".into(), json!(e.subresource));
            }
            Value::Object(out)
        })
        .collect();
    Some(Value::Array(encoded))
}

/// Fields no manager ever owns: type and object identity, and what the server sets.
pub(super) fn strip_set() -> &'static FieldSet {
    static STRIP: std::sync::LazyLock<FieldSet> = std::sync::LazyLock::new(build_strip_set);
    &STRIP
}

fn build_strip_set() -> FieldSet {
    let mut set = FieldSet::default();
    let f = |name: &str| super::fieldset::PathElement::Field(name.into());
    set.insert(&[f("apiVersion")]);
    set.insert(&[f("kind")]);
    set.insert(&[f("metadata")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[f("metadata"), f(name)]);
    }
    set
}

/// Most Update entries an object keeps; older ones fold into per-version "ancient-changes".
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Folds the oldest Update entries into an "ancient-changes" entry per apiVersion until at
/// most ten Update entries remain, the way upstream does after each update.
pub(super) fn cap_update_managers(managers: &mut Managers) {
    let mut updaters: Vec<(i64, String)> = managers
        .iter()
        .filter(|(_, e)| e.operation == Operation::Update)
        .map(|(id, e)| (unix_seconds(e.time.as_deref()), id.clone()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort();
    let mut remaining = updaters.len();
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    for (_, id) in updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managers.get(&id).cloned() else { continue };
        let version = entry.api_version.clone();
        let Some(first) = first_of_version.get(&version).cloned() else {
            // The oldest entry of a version only starts a bucket once a second one arrives.
            first_of_version.insert(version, id);
            continue;
        };
        let bucket = identity(ANCIENT_CHANGES, Operation::Update, Some(&version), "");
        let moved = if managers.contains_key(&bucket) { None } else { managers.remove(&first) };
        if let Some(mut moved) = moved {
            moved.manager = ANCIENT_CHANGES.into();
            moved.subresource = String::new();
            managers.insert(bucket.clone(), moved);
        }
        if let Some(target) = managers.get_mut(&bucket) {
            target.set = entry.set.union(&target.set);
            // The folded entry is the newer one.
            target.time = entry.time.clone();
        }
        // Upstream drops the folded identity even when it is the bucket itself.
        managers.remove(&id);
        remaining -= 1;
    }
}

/// Seconds since the epoch of an RFC 3339 time; 0 when absent or unreadable (upstream sorts a
/// missing time first).
pub(super) fn unix_seconds(time: Option<&str>) -> i64 {
    time.and_then(parse_rfc3339).unwrap_or(0)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest.get(1..)?.split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

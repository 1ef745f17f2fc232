//! Messages to JSON: objects field by field from the generated layouts, and the few types whose
//! JSON form is something else (a string, a number, an embedded document).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

use super::wire::{Reader, WireValue};
use super::{Kind, Label, MAX_DEPTH, Message, ProtobufError, fields, message_layout};

const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
/// JSON names of fields whose Go type is a pointer to a scalar, where a zero (0, false, "")
/// is a value the client chose. Protobuf does not mark pointers, so every other zero scalar is
/// treated as Go's "not set" and left out, as Go's JSON encoding leaves it out.
const POINTER_FIELDS: &[&str] = &[
    "activeDeadlineSeconds",
    "allocateLoadBalancerNodePorts",
    "allowPrivilegeEscalation",
    "automountServiceAccountToken",
    "backoffLimit",
    "backoffLimitPerIndex",
    "blockOwnerDeletion",
    "completions",
    "controller",
    "defaultMode",
    "deletionGracePeriodSeconds",
    "enableServiceLinks",
    "expirationSeconds",
    "failedJobsHistoryLimit",
    "fsGroup",
    "gracePeriodSeconds",
    "holderIdentity",
    "hostUsers",
    "immutable",
    "leaseDurationSeconds",
    "leaseTransitions",
    "maxFailedIndexes",
    "minDomains",
    "minReplicas",
    "mode",
    "optional",
    "orphanDependents",
    "parallelism",
    "partition",
    "priority",
    "privileged",
    "progressDeadlineSeconds",
    "readOnlyRootFilesystem",
    "ready",
    "replicas",
    "revisionHistoryLimit",
    "runAsGroup",
    "runAsNonRoot",
    "runAsUser",
    "serving",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "startingDeadlineSeconds",
    "storageClassName",
    "successfulJobsHistoryLimit",
    "suspend",
    "terminating",
    "terminationGracePeriodSeconds",
    "tolerationSeconds",
    "ttlSecondsAfterFinished",
];

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

const DURATION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Duration";
const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
const CRD: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";
const SCHEMA: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

/// Whether a message has a hand-built JSON shape rather than a generated layout.
#[cfg(test)]
pub fn is_special(name: &str) -> bool {
    matches!(name, INT_OR_STRING | QUANTITY | TIME | MICRO_TIME | DURATION | FIELDS_V1 | RAW_EXTENSION)
        || name.strip_prefix(CRD).is_some_and(|short| {
            matches!(
                short,
                "JSON" | "JSONSchemaPropsOrArray" | "JSONSchemaPropsOrBool" | "JSONSchemaPropsOrStringArray"
            )
        })
        || fields::STRING_LISTS.contains(&name)
}

/// A message's JSON value; None for a zero time, which Go writes as an empty message and its JSON
/// as null: the field is left out.
pub fn message(name: &str, bytes: &[u8], depth: usize) -> Result<Option<Value>, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::Malformed(format!("messages nested deeper than {MAX_DEPTH}")));
    }
    let value = match name {
        INT_OR_STRING => int_or_string(bytes)?,
        QUANTITY => Value::String(string_field(bytes, 1)?.unwrap_or_else(|| "0".to_owned())),
        TIME => return time(bytes, false),
        MICRO_TIME => return time(bytes, true),
        DURATION => Value::String(go_duration(field_varint(bytes, 1)?.unwrap_or(0) as i64)),
        FIELDS_V1 | RAW_EXTENSION => embedded(bytes, depth)?,
        _ if fields::STRING_LISTS.contains(&name) => {
            let mut items = Vec::new();
            let mut reader = Reader::new(bytes);
            while let Some((number, value)) = reader.next_field()? {
                if number == 1 {
                    items.push(scalar(Kind::Str, value)?);
                }
            }
            Value::Array(items)
        }
        _ => match name.strip_prefix(CRD) {
            Some("JSON") => embedded(bytes, depth)?,
            Some("JSONSchemaPropsOrArray" | "JSONSchemaPropsOrBool" | "JSONSchemaPropsOrStringArray") => {
                schema_or(name, bytes, depth)?
            }
            _ => {
                let layout = message_layout(name)
                    .ok_or_else(|| ProtobufError::Malformed(format!("no protobuf layout for {name}")))?;
                Value::Object(object(layout, bytes, depth)?)
            }
        },
    };
    Ok(Some(value))
}

/// What one field has collected so far.
enum Slot<'a> {
    Empty,
    Scalar(Value),
    List(Vec<Value>),
    Entries(Map<String, Value>),
    /// The occurrences of a singular message: proto merges them, which decoding their
    /// concatenation does.
    Parts(Vec<&'a [u8]>),
}

/// The fields of a message, in layout order (embedded structs' fields where they are embedded).
pub fn object(layout: &Message, bytes: &[u8], depth: usize) -> Result<Map<String, Value>, ProtobufError> {
    let fields = layout.1;
    let mut slots: Vec<Slot<'_>> = fields.iter().map(|_| Slot::Empty).collect();
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.next_field()? {
        let Ok(i) = fields.binary_search_by_key(&number, |f| f.0) else {
            continue; // unknown to this version: dropped, as upstream's decoder does
        };
        let field = &fields[i];
        let wrong_type = || ProtobufError::Malformed(format!("wrong wire type for {}.{}", layout.0, field.1));
        match (field.2, field.3) {
            (Label::Opt | Label::Inline, Kind::Msg(_)) => {
                let WireValue::Bytes(part) = value else { return Err(wrong_type()) };
                match &mut slots[i] {
                    Slot::Parts(parts) => parts.push(part),
                    slot => *slot = Slot::Parts(vec![part]),
                }
            }
            (Label::Opt | Label::Inline, kind) => slots[i] = Slot::Scalar(scalar(kind, value)?),
            (Label::Rep, kind) => {
                let mut items = Vec::new();
                match (kind, value) {
                    (Kind::Msg(name), WireValue::Bytes(b)) => {
                        items.push(message(name, b, depth + 1)?.unwrap_or_default())
                    }
                    (Kind::Msg(_), _) => return Err(wrong_type()),
                    // Packed: several scalars in one length-delimited value.
                    (Kind::Bool | Kind::I32 | Kind::I64 | Kind::F64, WireValue::Bytes(b)) => {
                        let mut packed = Reader::new(b);
                        while !packed.is_empty() {
                            let element = match kind {
                                Kind::F64 => WireValue::Fixed64(packed.fixed64()?),
                                _ => WireValue::Varint(packed.varint()?),
                            };
                            items.push(scalar(kind, element)?);
                        }
                    }
                    (kind, value) => items.push(scalar(kind, value)?),
                }
                match &mut slots[i] {
                    Slot::List(list) => list.extend(items),
                    slot => *slot = Slot::List(items),
                }
            }
            (Label::Map(key_kind), value_kind) => {
                let WireValue::Bytes(entry) = value else { return Err(wrong_type()) };
                let (key, value) = map_entry(key_kind, value_kind, entry, depth)?;
                match &mut slots[i] {
                    Slot::Entries(map) => {
                        map.insert(key, value);
                    }
                    slot => *slot = Slot::Entries(Map::from_iter([(key, value)])),
                }
            }
        }
    }

    let mut out = Map::new();
    for (field, slot) in fields.iter().zip(slots) {
        let value = match (field.2, field.3, slot) {
            (Label::Inline, Kind::Msg(name), Slot::Parts(parts)) => {
                let layout = message_layout(name)
                    .ok_or_else(|| ProtobufError::Malformed(format!("no protobuf layout for {name}")))?;
                out.extend(object(layout, &parts.concat(), depth + 1)?);
                None
            }
            (_, Kind::Msg(name), Slot::Parts(parts)) => match parts.as_slice() {
                [one] => message(name, one, depth + 1)?,
                many => message(name, &many.concat(), depth + 1)?,
            },
            // Go writes every non-pointer field, zeros included, and its JSON then omits them
            // (omitempty) while keeping zero pointers; see POINTER_FIELDS.
            (_, _, Slot::Scalar(value)) if is_zero(&value) && !POINTER_FIELDS.contains(&field.1) => None,
            (_, _, Slot::Scalar(value)) => Some(value),
            // An empty packed list is left out, as Go's JSON leaves out empty slices.
            (_, _, Slot::List(items)) => (!items.is_empty()).then(|| Value::Array(items)),
            (_, _, Slot::Entries(map)) => Some(Value::Object(map)),
            (_, _, Slot::Empty | Slot::Parts(_)) => None,
        };
        if let Some(value) = value {
            out.insert(field.1.to_owned(), value);
        }
    }
    Ok(out)
}

/// A scalar field's JSON value.
fn scalar(kind: Kind, value: WireValue<'_>) -> Result<Value, ProtobufError> {
    Ok(match (kind, value) {
        // Go's JSON encoder also replaces invalid UTF-8 rather than failing.
        (Kind::Str, WireValue::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Kind::Bytes, WireValue::Bytes(b)) => Value::String(STANDARD.encode(b)),
        (Kind::Bool, WireValue::Varint(v)) => Value::Bool(v != 0),
        // int32 is sign-extended to 64 bits on the wire; truncating recovers it.
        (Kind::I32, WireValue::Varint(v)) => Value::from(v as i32),
        (Kind::I64, WireValue::Varint(v)) => Value::from(v as i64),
        (Kind::F64, WireValue::Fixed64(v)) => Number::from_f64(f64::from_bits(v))
            .map(Value::Number)
            .ok_or_else(|| ProtobufError::Malformed("a double is not finite".to_owned()))?,
        (kind, value) => return Err(ProtobufError::Malformed(format!("{value:?} is not a {kind:?}"))),
    })
}

/// A map entry {1: key, 2: value}; absent parts are their zero values.
fn map_entry(key_kind: Kind, value_kind: Kind, entry: &[u8], depth: usize) -> Result<(String, Value), ProtobufError> {
    let (mut key, mut value) = (None, None);
    let mut reader = Reader::new(entry);
    while let Some((number, wire)) = reader.next_field()? {
        match number {
            1 => key = Some(scalar(key_kind, wire)?),
            2 => {
                value = Some(match (value_kind, wire) {
                    (Kind::Msg(name), WireValue::Bytes(b)) => message(name, b, depth + 1)?.unwrap_or_default(),
                    (kind, wire) => scalar(kind, wire)?,
                })
            }
            _ => {}
        }
    }
    let key = match key {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(), // JSON object keys are strings; Go writes numbers as text
        None => String::new(),
    };
    let value = match (value, value_kind) {
        (Some(value), _) => value,
        (None, Kind::Msg(name)) => message(name, &[], depth + 1)?.unwrap_or_default(),
        (None, Kind::Str | Kind::Bytes) => Value::String(String::new()),
        (None, Kind::Bool) => Value::Bool(false),
        (None, Kind::I32 | Kind::I64 | Kind::F64) => Value::from(0),
    };
    Ok((key, value))
}

/// The last varint of a field (proto: the last occurrence wins).
fn field_varint(bytes: &[u8], number: u32) -> Result<Option<u64>, ProtobufError> {
    let mut found = None;
    let mut reader = Reader::new(bytes);
    while let Some((n, value)) = reader.next_field()? {
        if n == number {
            match value {
                WireValue::Varint(v) => found = Some(v),
                _ => return Err(ProtobufError::Malformed(format!("field {number} is not a varint"))),
            }
        }
    }
    Ok(found)
}

/// The last length-delimited value of a field.
fn field_bytes(bytes: &[u8], number: u32) -> Result<Option<&[u8]>, ProtobufError> {
    let mut found = None;
    let mut reader = Reader::new(bytes);
    while let Some((n, value)) = reader.next_field()? {
        if n == number {
            match value {
                WireValue::Bytes(b) => found = Some(b),
                _ => return Err(ProtobufError::Malformed(format!("field {number} is not length-delimited"))),
            }
        }
    }
    Ok(found)
}

fn string_field(bytes: &[u8], number: u32) -> Result<Option<String>, ProtobufError> {
    Ok(field_bytes(bytes, number)?.map(|b| String::from_utf8_lossy(b).into_owned()))
}

/// IntOrString {1: type (0 int, 1 string), 2: intVal, 3: strVal}.
fn int_or_string(bytes: &[u8]) -> Result<Value, ProtobufError> {
    if field_varint(bytes, 1)? == Some(1) {
        Ok(Value::String(string_field(bytes, 3)?.unwrap_or_default()))
    } else {
        Ok(Value::from(field_varint(bytes, 2)?.unwrap_or(0) as i32))
    }
}

/// Time and MicroTime {1: seconds, 2: nanos} as RFC 3339 in UTC, to the second or microsecond.
fn time(bytes: &[u8], micro: bool) -> Result<Option<Value>, ProtobufError> {
    let seconds = field_varint(bytes, 1)?.map(|s| s as i64);
    let nanos = field_varint(bytes, 2)?.map_or(0, |n| n as i32);
    // Go's zero time (year 1) is what an empty message means; its JSON is null.
    const GO_ZERO: i64 = -62_135_596_800;
    let Some(seconds) = seconds.filter(|s| !(*s == GO_ZERO && nanos == 0)) else {
        return Ok(None);
    };
    if !(0..1_000_000_000).contains(&nanos) {
        return Err(ProtobufError::Malformed(format!("nanoseconds {nanos} out of range")));
    }
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(ProtobufError::Malformed(format!("year {year} is outside RFC 3339")));
    }
    let (h, m, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let mut text = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
    if micro {
        text.push_str(&format!(".{:06}", nanos / 1000));
    }
    text.push('Z');
    Ok(Some(Value::String(text)))
}

/// (year, month, day) of a day count from 1970-01-01, proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Count from 0000-03-01 so that each 400-year era ends with the leap day.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

/// A duration in Go's notation: "1h0m0s", "1m30s", "1.5s", "250ms", "0s".
pub fn go_duration(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n == 0 {
        return "0s".to_owned();
    }
    if n < 1_000_000_000 {
        let (digits, unit) = if n < 1_000 {
            (0, "ns")
        } else if n < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        return format!("{sign}{}{unit}", decimal(n, digits));
    }
    let (hours, minutes) = (n / 3_600_000_000_000, n / 60_000_000_000 % 60);
    let seconds = decimal(n % 60_000_000_000, 9);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// value / 10^digits with the fraction's trailing zeros (and a bare point) dropped.
fn decimal(value: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0width$}", width = digits as usize);
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// RawExtension, JSON and FieldsV1 {1: raw}: the document they carry, itself JSON or (for objects
/// a Go client embedded) Kubernetes protobuf.
fn embedded(bytes: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let raw = field_bytes(bytes, 1)?.unwrap_or_default();
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    if raw.starts_with(super::MAGIC) {
        return super::decode_envelope(raw, depth + 1);
    }
    serde_json::from_slice(raw).map_err(|e| ProtobufError::Malformed(format!("embedded JSON: {e}")))
}

/// The CRD schema unions, each serialized as whichever member is set.
fn schema_or(name: &str, bytes: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let schema = |b: &[u8]| message(SCHEMA, b, depth + 1).map(Option::unwrap_or_default);
    let (mut single, mut list, mut allows) = (None, Vec::new(), false);
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.next_field()? {
        match (name.strip_prefix(CRD), number, value) {
            (Some("JSONSchemaPropsOrArray"), 1, WireValue::Bytes(b)) => single = Some(schema(b)?),
            (Some("JSONSchemaPropsOrArray"), 2, WireValue::Bytes(b)) => list.push(schema(b)?),
            (Some("JSONSchemaPropsOrBool"), 1, WireValue::Varint(v)) => allows = v != 0,
            (Some("JSONSchemaPropsOrBool"), 2, WireValue::Bytes(b)) => single = Some(schema(b)?),
            (Some("JSONSchemaPropsOrStringArray"), 1, WireValue::Bytes(b)) => single = Some(schema(b)?),
            (Some("JSONSchemaPropsOrStringArray"), 2, value) => list.push(scalar(Kind::Str, value)?),
            (_, 1 | 2, _) => return Err(ProtobufError::Malformed(format!("wrong wire type in {name}"))),
            _ => {}
        }
    }
    Ok(match (list.is_empty(), single) {
        (false, _) => Value::Array(list),
        (true, Some(schema)) => schema,
        (true, None) if name.ends_with("OrBool") => Value::Bool(allows),
        (true, None) => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{field_bytes as bytes_field, field_varint as varint_field};
    use super::*;

    fn decode(name: &str, bytes: &[u8]) -> Option<Value> {
        message(name, bytes, 0).unwrap()
    }

    #[test]
    fn int_or_string_is_a_number_or_a_string() {
        assert_eq!(decode(INT_OR_STRING, &[varint_field(1, 0), varint_field(2, 8080)].concat()), Some(json!(8080)));
        let named = [varint_field(1, 1), varint_field(2, 0), bytes_field(3, b"http")].concat();
        assert_eq!(decode(INT_OR_STRING, &named), Some(json!("http")));
        assert_eq!(decode(INT_OR_STRING, &[]), Some(json!(0)));
        assert_eq!(decode(INT_OR_STRING, &varint_field(2, u64::MAX)), Some(json!(-1)));
    }

    #[test]
    fn quantities_are_strings() {
        assert_eq!(decode(QUANTITY, &bytes_field(1, b"500m")), Some(json!("500m")));
        assert_eq!(decode(QUANTITY, &[]), Some(json!("0")));
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        let at = |s: i64, n: u64| [varint_field(1, s as u64), varint_field(2, n)].concat();
        assert_eq!(decode(TIME, &at(1_714_557_600, 0)), Some(json!("2024-05-01T10:00:00Z")));
        assert_eq!(decode(TIME, &at(1_714_557_600, 999_999_999)), Some(json!("2024-05-01T10:00:00Z")));
        assert_eq!(decode(MICRO_TIME, &at(1_714_557_600, 123_456_789)), Some(json!("2024-05-01T10:00:00.123456Z")));
        assert_eq!(decode(MICRO_TIME, &at(0, 0)), Some(json!("1970-01-01T00:00:00.000000Z")));
        assert_eq!(decode(TIME, &at(951_782_400, 0)), Some(json!("2000-02-29T00:00:00Z")));
        assert_eq!(decode(TIME, &at(-1, 0)), Some(json!("1969-12-31T23:59:59Z")));
        assert_eq!(decode(TIME, &at(253_402_300_799, 0)), Some(json!("9999-12-31T23:59:59Z")));
        assert_eq!(decode(TIME, &at(-62_167_219_200, 0)), Some(json!("0000-01-01T00:00:00Z")));
        // Go's zero time: an empty message, or year 1 spelled out.
        assert_eq!(decode(TIME, &[]), None);
        assert_eq!(decode(MICRO_TIME, &at(-62_135_596_800, 0)), None);
        assert!(message(TIME, &at(253_402_300_800, 0), 0).is_err());
        assert!(message(TIME, &at(0, 1_000_000_000), 0).is_err());
    }

    #[test]
    fn civil_dates_match_a_day_by_day_count() {
        // Walk day by day from 1969-12-01 through 2101-03-01 against a simple calendar.
        let (mut y, mut m, mut d) = (1969, 12, 1);
        for days in -31..47_541 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
            d += 1;
            if d > len {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }

    #[test]
    fn durations_use_go_notation() {
        for (nanos, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (250_000_000, "250ms"),
            (1_500_000_000, "1.5s"),
            (30_000_000_000, "30s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_001, "1h2m3.000000001s"),
            (-1_500_000_000, "-1.5s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(go_duration(nanos), text);
        }
        assert_eq!(decode(DURATION, &varint_field(1, 90_000_000_000)), Some(json!("1m30s")));
    }

    #[test]
    fn embedded_documents_are_json() {
        let raw = bytes_field(1, br#"{"a":[1,true]}"#);
        assert_eq!(decode(RAW_EXTENSION, &raw), Some(json!({"a": [1, true]})));
        assert_eq!(decode(FIELDS_V1, &bytes_field(1, br#"{"f:data":{}}"#)), Some(json!({"f:data": {}})));
        assert_eq!(decode(&format!("{CRD}JSON"), &bytes_field(1, b"\"x\"")), Some(json!("x")));
        assert_eq!(decode(RAW_EXTENSION, &[]), Some(Value::Null));
        assert!(message(RAW_EXTENSION, &bytes_field(1, b"{"), 0).is_err());
    }

    #[test]
    fn schema_unions_pick_the_member_that_is_set() {
        let string_schema = bytes_field(5, b"string");
        let or_bool = format!("{CRD}JSONSchemaPropsOrBool");
        assert_eq!(decode(&or_bool, &varint_field(1, 1)), Some(json!(true)));
        assert_eq!(decode(&or_bool, &[]), Some(json!(false)));
        assert_eq!(decode(&or_bool, &bytes_field(2, &string_schema)), Some(json!({"type": "string"})));
        let or_array = format!("{CRD}JSONSchemaPropsOrArray");
        assert_eq!(decode(&or_array, &bytes_field(1, &string_schema)), Some(json!({"type": "string"})));
        let two = [bytes_field(2, &string_schema), bytes_field(2, &[])].concat();
        assert_eq!(decode(&or_array, &two), Some(json!([{"type": "string"}, {}])));
        let or_strings = format!("{CRD}JSONSchemaPropsOrStringArray");
        let names = [bytes_field(2, b"a"), bytes_field(2, b"b")].concat();
        assert_eq!(decode(&or_strings, &names), Some(json!(["a", "b"])));
        assert_eq!(decode(&or_strings, &[]), Some(Value::Null));
    }

    #[test]
    fn scalars_repeated_packed_and_mapped() {
        // ContainerPort: containerPort 3 (int32), protocol 4.
        let port = [varint_field(3, 8080), bytes_field(4, b"TCP")].concat();
        assert_eq!(
            decode("io.k8s.api.core.v1.ContainerPort", &port),
            Some(json!({"containerPort": 8080, "protocol": "TCP"}))
        );
        // PodSecurityContext.supplementalGroups (4, int64): unpacked and packed forms mix.
        let packed = [varint_field(1, 1).split_off(1), varint_field(1, 300).split_off(1)].concat();
        let groups = [varint_field(4, 5), bytes_field(4, &packed)].concat();
        assert_eq!(
            decode("io.k8s.api.core.v1.PodSecurityContext", &groups),
            Some(json!({"supplementalGroups": [5, 1, 300]}))
        );
        let empty_packed = bytes_field(4, &[]);
        assert_eq!(decode("io.k8s.api.core.v1.PodSecurityContext", &empty_packed), Some(json!({})));
        // UserInfo.extra (4): map<string, ExtraValue>, a string list; a missing value is empty.
        let extra = [
            bytes_field(
                4,
                &[bytes_field(1, b"scopes"), bytes_field(2, &[bytes_field(1, b"a"), bytes_field(1, b"b")].concat())]
                    .concat(),
            ),
            bytes_field(4, &bytes_field(1, b"none")),
        ]
        .concat();
        assert_eq!(
            decode("io.k8s.api.authentication.v1.UserInfo", &extra),
            Some(json!({"extra": {"scopes": ["a", "b"], "none": []}}))
        );
    }

    #[test]
    fn doubles_and_negative_ints() {
        // JSONSchemaProps: maximum (9, double), maxLength (13, int64).
        let mut bytes = varint_field(9, 0);
        bytes[0] = (9 << 3) | 1;
        bytes.pop();
        bytes.extend(2.5f64.to_le_bytes());
        bytes.extend(varint_field(13, (-3i64) as u64));
        assert_eq!(decode(SCHEMA, &bytes), Some(json!({"maximum": 2.5, "maxLength": -3})));
        let mut nan = vec![(9 << 3) | 1];
        nan.extend(f64::NAN.to_le_bytes());
        assert!(message(SCHEMA, &nan, 0).is_err());
    }

    #[test]
    fn repeated_singular_messages_merge() {
        // Two occurrences of ObjectMeta in a ConfigMap (field 1) merge like proto does.
        let layout = message_layout("io.k8s.api.core.v1.ConfigMap").unwrap();
        let bytes = [bytes_field(1, &bytes_field(1, b"a")), bytes_field(1, &bytes_field(3, b"ns"))].concat();
        assert_eq!(
            Value::Object(object(layout, &bytes, 0).unwrap()),
            json!({"metadata": {"name": "a", "namespace": "ns"}})
        );
    }
}

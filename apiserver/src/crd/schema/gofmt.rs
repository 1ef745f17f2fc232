//! Go's renderings of values (fmt `%q`, `%v`, `%#v`, encoding/json) and apimachinery's field error
//! bodies, because clients and tests compare upstream's messages byte for byte.

use serde_json::Value;

use super::FieldError;

/// A JSON number as the unstructured decoder types it: int64 when integral and in range, else
/// float64.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(super) fn of(v: &Value) -> Option<Num> {
        let n = v.as_number()?;
        match n.as_i64() {
            Some(i) => Some(Num::Int(i)),
            None => n.as_f64().map(Num::Float),
        }
    }

    pub(super) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// strconv.Quote.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of unicode.IsPrint: no controls, no spaces but ' ', no invisible formatting.
fn printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let format_char =
        matches!(c as u32, 0xad | 0x600..=0x605 | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2064 | 0xfeff);
    !c.is_control() && !c.is_whitespace() && !format_char
}

/// The shortest round-trip digits and decimal exponent of `f`, as "d.ddd" and e.
fn scientific(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mant, exp)) => (mant.to_string(), exp.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

fn exp_form(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.abs())
}

/// fmt `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6 (strconv 'g', -1).
pub(super) fn float(f: f64) -> String {
    let (mant, exp) = scientific(f);
    if !(-4..6).contains(&exp) { exp_form(&mant, exp) } else { format!("{f}") }
}

/// encoding/json's float64: plain below 1e21 and from 1e-6, else exponent form without the
/// leading zero of negative exponents.
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mant, exp) = scientific(f);
        if exp < 0 { format!("{mant}e-{}", exp.abs()) } else { format!("{mant}e+{exp:02}") }
    } else {
        format!("{f}")
    }
}

/// fmt `%v` of a number as the decoder typed it.
pub(super) fn num(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => float(f),
    }
}

/// fmt `%#v` of an unstructured value (`map[string]interface {}{...}` and friends).
pub(super) fn sharp(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map_or_else(String::new, num),
        Value::String(s) => quote(s),
        Value::Array(a) => {
            format!("[]interface {{}}{{{}}}", a.iter().map(sharp).collect::<Vec<_>>().join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys.iter().map(|k| format!("{}:{}", quote(k), sharp(&m[k.as_str()]))).collect();
            format!("map[string]interface {{}}{{{}}}", entries.join(", "))
        }
    }
}

/// How a field error prints its bad value: strings quoted, numbers and booleans plain, null as
/// "null" (quoted), compound values with `%#v`.
pub(super) fn body(v: &Value) -> String {
    if v.is_null() { quote("null") } else { sharp(v) }
}

/// encoding/json.Marshal: sorted keys, HTML-safe string escapes. `floats` types every number as
/// float64, as values decoded from the schema (enum) are.
pub(super) fn json(v: &Value, floats: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, floats);
    out
}

fn write_json(out: &mut String, v: &Value, floats: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => match Num::of(v) {
            Some(Num::Int(i)) if !floats => out.push_str(&i.to_string()),
            Some(n) => out.push_str(&json_float(n.as_f64())),
            None => out.push('0'),
        },
        Value::String(s) => crate::apply::go_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x, floats);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::apply::go_json_string(k, out);
                out.push(':');
                write_json(out, &m[k.as_str()], floats);
            }
            out.push('}');
        }
    }
}

// ---- field.Error constructors (apimachinery's ErrorBody wording) ----

pub(super) fn required(field: String, detail: &str) -> FieldError {
    let message = if detail.is_empty() { "Required value".to_string() } else { format!("Required value: {detail}") };
    FieldError { reason: "FieldValueRequired", field, message }
}

/// field.Invalid with the bad value already rendered (see `body`).
pub(super) fn invalid(field: String, value: &str, detail: &str) -> FieldError {
    FieldError { reason: "FieldValueInvalid", field, message: with_detail(format!("Invalid value: {value}"), detail) }
}

pub(super) fn type_invalid(field: String, value: &str, detail: &str) -> FieldError {
    FieldError {
        reason: "FieldValueTypeInvalid",
        field,
        message: with_detail(format!("Invalid value: {value}"), detail),
    }
}

pub(super) fn forbidden(field: String, detail: &str) -> FieldError {
    FieldError { reason: "FieldValueForbidden", field, message: with_detail("Forbidden".into(), detail) }
}

pub(super) fn duplicate(field: String, value: &Value) -> FieldError {
    FieldError { reason: "FieldValueDuplicate", field, message: format!("Duplicate value: {}", body(value)) }
}

pub(super) fn not_supported(field: String, value: &str, supported: &[String]) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    let detail = if list.is_empty() { String::new() } else { format!("supported values: {}", list.join(", ")) };
    FieldError {
        reason: "FieldValueNotSupported",
        field,
        message: with_detail(format!("Unsupported value: {value}"), &detail),
    }
}

pub(super) fn too_long(field: String, max: i64) -> FieldError {
    let detail = if max >= 0 { format!("may not be more than {max} bytes") } else { "value is too long".into() };
    FieldError { reason: "FieldValueTooLong", field, message: format!("Too long: {detail}") }
}

pub(super) fn too_many(field: String, actual: i64, max: i64) -> FieldError {
    let detail = if max >= 0 { format!("must have at most {max} items") } else { "has too many items".into() };
    let message = if actual >= 0 { format!("Too many: {actual}: {detail}") } else { format!("Too many: {detail}") };
    FieldError { reason: "FieldValueTooMany", field, message }
}

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() { head } else { format!("{head}: {detail}") }
}

//! Rewrites the JSON of built-in Kubernetes objects into exactly what upstream
//! kube-apiserver returns for them.
//!
//! Upstream decodes every request body into the Go struct of its type and later encodes
//! that struct again with encoding/json.  The round trip fixes the shape of the output:
//! keys come in struct declaration order, `omitempty` fields holding their zero value
//! vanish, fields without `omitempty` always appear (`null`, `""`, `0`, `false` when
//! unset), non-pointer structs are always printed (`"status": {}`), map keys are sorted,
//! and a handful of apimachinery types print through their own MarshalJSON (Time, Quantity,
//! IntOrString, ...).  [`normalize`] applies that round trip to a `serde_json::Value`,
//! driven by facts generated from the Go sources (`facts.rs`).
//!
//! Objects that upstream stores in etcd additionally pass through protobuf, which cannot
//! tell an empty list or map from an absent one; [`Options::storage_round_trip`] adds that
//! step (use it for whatever is read back from storage: create/update/patch responses,
//! get, list and watch).

mod b64;
mod facts;
mod gotime;
mod model;

use model::{Kind, OMITEMPTY, OMITZERO, Ty};
use serde_json::{Map, Number, Value};

/// How to normalize.
#[derive(Clone, Copy)]
pub struct Options {
    /// Also apply the protobuf storage round trip: empty slices and maps become `null`
    /// (so a non-`omitempty` `"rules": []` reads back as `"rules": null`), and `null`
    /// `[]byte` values inside maps and slices become `""`.
    pub storage_round_trip: bool,
    /// Keep object keys that match no field of the Go struct, after the known fields.
    /// Go's decoder drops them; callers are expected to have rejected or pruned them
    /// already, so by default they are left alone rather than silently deleted.
    pub keep_unknown_fields: bool,
    /// Canonical text of a resource.Quantity, given the quantity text (JSON strings as
    /// written, trimmed; JSON numbers as serde_json prints them).  None means
    /// upstream's ParseQuantity would reject it.  By default [`crate::quantity::canonical_text`],
    /// as upstream's Quantity prints itself.
    pub quantity: fn(&str) -> Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options { storage_round_trip: false, keep_unknown_fields: true, quantity: crate::quantity::canonical_text }
    }
}

/// An [`Options::quantity`] keeping the text as written (empty text is rejected, as
/// ParseQuantity rejects it).
pub fn quantity_as_written(text: &str) -> Option<String> {
    if text.is_empty() { None } else { Some(text.to_string()) }
}

/// A value upstream's decoder would refuse (the request would fail with 400); such values
/// are left as they were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the value, like `spec.template.spec.containers[0].ports[1].containerPort`.
    pub path: String,
    pub message: String,
}

/// What [`normalize_with`] did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Whether the definition has facts (if not, the value was left unchanged).
    pub known: bool,
    pub problems: Vec<Problem>,
}

/// Rewrites `obj`, an object of the OpenAPI definition `definition` (for example
/// `io.k8s.api.apps.v1.Deployment`), as upstream's decode/encode round trip would.
/// Definitions without facts are left unchanged.
pub fn normalize(definition: &str, obj: &mut Value) {
    normalize_with(definition, obj, &Options::default());
}

/// [`normalize`] plus the protobuf storage round trip, for objects read back from storage.
pub fn normalize_stored(definition: &str, obj: &mut Value) {
    let opts = Options { storage_round_trip: true, ..Options::default() };
    normalize_with(definition, obj, &opts);
}

/// [`normalize`] with explicit options, reporting values upstream would reject.
pub fn normalize_with(definition: &str, obj: &mut Value, opts: &Options) -> Report {
    let Some(idx) = model::lookup(definition) else {
        return Report { known: false, problems: Vec::new() };
    };
    let mut cx = Cx { opts, path: Vec::new(), problems: Vec::new() };
    let input = std::mem::take(obj);
    *obj = cx.enc(idx, Some(input)).v;
    Report { known: true, problems: cx.problems }
}

/// The OpenAPI definition name of a kind registered under `api_version` (like `apps/v1`
/// and `Deployment`), if any.
pub fn definition_for(api_version: &str, kind: &str) -> Option<String> {
    if let Some(pos) = model::lookup_kind(api_version, kind) {
        return Some(model::name_at(pos));
    }
    // meta/v1 kinds every group/version carries (metav1.AddToGroupVersion and the
    // unversioned discovery/status types), and the meta.k8s.io/v1 ones
    const SHARED: &[&str] = &[
        "Status",
        "WatchEvent",
        "ListOptions",
        "GetOptions",
        "DeleteOptions",
        "CreateOptions",
        "UpdateOptions",
        "PatchOptions",
        "APIVersions",
        "APIGroupList",
        "APIGroup",
        "APIResourceList",
    ];
    const META_GROUP: &[&str] = &["Table", "PartialObjectMetadata", "PartialObjectMetadataList"];
    let shared = SHARED.contains(&kind) || (api_version == "meta.k8s.io/v1" && META_GROUP.contains(&kind));
    if shared {
        let def = format!("io.k8s.apimachinery.pkg.apis.meta.v1.{kind}");
        return has_facts(&def).then_some(def);
    }
    None
}

/// Normalizes an object by its own `apiVersion` and `kind`; None (and unchanged) when
/// they name no built-in kind.
pub fn normalize_object(obj: &mut Value, opts: &Options) -> Option<Report> {
    let def = {
        let av = obj.get("apiVersion")?.as_str()?;
        let kind = obj.get("kind")?.as_str()?;
        definition_for(av, kind)?
    };
    Some(normalize_with(&def, obj, opts))
}

/// Whether a definition has facts.
pub fn has_facts(definition: &str) -> bool {
    model::lookup(definition).is_some()
}

/// Every definition name with facts.
pub fn definitions() -> impl Iterator<Item = String> {
    model::all_names()
}

// ---------------------------------------------------------------------------------------

enum Seg {
    Field(&'static str),
    Index(usize),
    Key(String),
}

struct Cx<'a> {
    opts: &'a Options,
    path: Vec<Seg>,
    problems: Vec<Problem>,
}

/// The encoding of one decoded Go value.
struct Out {
    v: Value,
    /// What `omitempty` tests: false, 0, "", nil pointer/interface, empty slice/map.
    /// Structs (including the custom-marshalled ones) are never empty.
    empty: bool,
    /// What `omitzero` tests: the Go zero value (or the type's IsZero method).
    zero: bool,
}

impl Out {
    fn nil() -> Out {
        Out { v: Value::Null, empty: true, zero: true }
    }
    fn of(v: Value, empty: bool, zero: bool) -> Out {
        Out { v, empty, zero }
    }
    /// A value Go would reject, kept as it was.
    fn kept(v: Value) -> Out {
        Out { v, empty: false, zero: false }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Cx<'_> {
    fn problem(&mut self, message: String) {
        let mut path = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(f) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(f);
                }
                Seg::Index(i) => path.push_str(&format!("[{i}]")),
                Seg::Key(k) => path.push_str(&format!("[{k:?}]")),
            }
        }
        self.problems.push(Problem { path, message });
    }

    fn reject(&mut self, v: Value, what: &str) -> Out {
        self.problem(format!("cannot decode JSON {} into Go {what}", json_type(&v)));
        Out::kept(v)
    }

    /// Decodes `input` (None: the key was absent) into a fresh Go value of type `idx` and
    /// encodes the result.
    fn enc(&mut self, idx: u16, input: Option<Value>) -> Out {
        let t = model::ty(idx);
        match t.0 {
            Kind::Struct => self.enc_struct(t, input),
            Kind::Ptr => match input {
                // null into a pointer leaves it nil
                None | Some(Value::Null) => Out::nil(),
                Some(v) => {
                    let o = self.enc(t.1, Some(v));
                    Out::of(o.v, false, false)
                }
            },
            Kind::Slice => match input {
                None | Some(Value::Null) => Out::nil(),
                Some(Value::Array(items)) => {
                    let n = items.len();
                    let elem_bytes = model::ty(t.1).0 == Kind::Bytes;
                    let mut out = Vec::with_capacity(n);
                    for (i, item) in items.into_iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        let mut v = self.enc(t.1, Some(item)).v;
                        self.path.pop();
                        if self.opts.storage_round_trip && elem_bytes && v.is_null() {
                            v = Value::String(String::new());
                        }
                        out.push(v);
                    }
                    if n == 0 && self.opts.storage_round_trip {
                        return Out::nil();
                    }
                    // a non-nil slice: empty for omitempty when it has no elements, but
                    // never Go's zero value
                    Out::of(Value::Array(out), n == 0, false)
                }
                Some(v) => self.reject(v, "slice"),
            },
            Kind::Array => self.enc_array(t, input),
            Kind::Map => self.enc_map(t, input),
            Kind::String => match input {
                None | Some(Value::Null) => Out::of(Value::String(String::new()), true, true),
                Some(Value::String(s)) => {
                    let e = s.is_empty();
                    Out::of(Value::String(s), e, e)
                }
                Some(v) => self.reject(v, "string"),
            },
            Kind::Bool => match input {
                None | Some(Value::Null) => Out::of(Value::Bool(false), true, true),
                Some(Value::Bool(b)) => Out::of(Value::Bool(b), !b, !b),
                Some(v) => self.reject(v, "bool"),
            },
            Kind::I8 | Kind::I16 | Kind::I32 | Kind::I64 | Kind::U8 | Kind::U16 | Kind::U32 | Kind::U64 => {
                self.enc_int(t.0, input)
            }
            Kind::F32 | Kind::F64 => self.enc_float(t.0 == Kind::F32, input),
            Kind::Bytes => self.enc_bytes(input),
            Kind::Any => match input {
                None | Some(Value::Null) => Out::nil(),
                Some(v) => Out::of(v, false, false),
            },
            Kind::Time => self.enc_time(input, gotime::Layout::Rfc3339),
            Kind::MicroTime => self.enc_time(input, gotime::Layout::Rfc3339Micro),
            Kind::Duration => self.enc_duration(input),
            Kind::Quantity => self.enc_quantity(input),
            Kind::IntOrString => self.enc_int_or_string(input),
            // raw JSON holders: decoding keeps the bytes of any non-null value, encoding
            // writes them back; nothing (or null) encodes as null
            Kind::RawExtension | Kind::FieldsV1 | Kind::Json => match input {
                None | Some(Value::Null) => Out::of(Value::Null, false, true),
                Some(v) => Out::of(v, false, false),
            },
            Kind::GroupVersion => self.enc_group_version(input),
            Kind::SchemaOrBool => match input {
                None => Out::of(Value::Bool(false), false, true),
                Some(Value::Bool(b)) => Out::of(Value::Bool(b), false, !b),
                Some(v @ Value::Object(_)) => {
                    let o = self.enc(t.1, Some(v));
                    Out::of(o.v, false, false)
                }
                Some(v) => {
                    self.problem("boolean or JSON schema expected".to_string());
                    Out::kept(v)
                }
            },
            Kind::SchemaOrArray => match input {
                Some(v @ Value::Object(_)) => {
                    let o = self.enc(t.1, Some(v));
                    Out::of(o.v, false, false)
                }
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.into_iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        out.push(self.enc(t.1, Some(item)).v);
                        self.path.pop();
                    }
                    Out::of(Value::Array(out), false, false)
                }
                // an empty list, null or anything else leaves both members unset
                _ => Out::of(Value::Null, false, true),
            },
            Kind::SchemaOrStringArray => match input {
                Some(v @ Value::Object(_)) => {
                    let o = self.enc(t.1, Some(v));
                    Out::of(o.v, false, false)
                }
                Some(Value::Array(items)) => {
                    let mut out = Vec::with_capacity(items.len());
                    let mut bad = false;
                    for item in &items {
                        match item {
                            Value::String(s) => out.push(Value::String(s.clone())),
                            Value::Null => out.push(Value::String(String::new())),
                            _ => bad = true,
                        }
                    }
                    if bad {
                        return self.reject(Value::Array(items), "[]string");
                    }
                    if out.is_empty() {
                        Out::of(Value::Null, false, true)
                    } else {
                        Out::of(Value::Array(out), false, false)
                    }
                }
                _ => Out::of(Value::Null, false, true),
            },
        }
    }

    fn enc_struct(&mut self, t: Ty, input: Option<Value>) -> Out {
        let mut src = match input {
            // null into a struct changes nothing: all fields keep their zero values
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(v) => return self.reject(v, "struct"),
        };
        let fields = model::fields(t);
        let mut out = Map::with_capacity(fields.len());
        let mut zero = true;
        for f in fields {
            let v = if src.is_empty() { None } else { src.shift_remove(f.0) };
            self.path.push(Seg::Field(f.0));
            let o = self.enc(f.1, v);
            self.path.pop();
            zero &= o.zero;
            if (f.2 & OMITEMPTY != 0 && o.empty) || (f.2 & OMITZERO != 0 && o.zero) {
                continue;
            }
            out.insert(f.0.to_string(), o.v);
        }
        if !src.is_empty() && self.opts.keep_unknown_fields {
            zero = false;
            out.extend(src);
        }
        Out::of(Value::Object(out), false, zero)
    }

    fn enc_array(&mut self, t: Ty, input: Option<Value>) -> Out {
        // a fixed-size array: extra JSON elements are dropped, missing ones stay zero
        let n = t.2 as usize;
        let mut items = match input {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(v) => return self.reject(v, "array"),
        };
        items.truncate(n);
        let mut it = items.into_iter();
        let mut out = Vec::with_capacity(n);
        let mut zero = true;
        for i in 0..n {
            self.path.push(Seg::Index(i));
            let o = self.enc(t.1, it.next());
            self.path.pop();
            zero &= o.zero;
            out.push(o.v);
        }
        Out::of(Value::Array(out), n == 0, zero)
    }

    fn enc_map(&mut self, t: Ty, input: Option<Value>) -> Out {
        let m = match input {
            None | Some(Value::Null) => return Out::nil(),
            Some(Value::Object(m)) => m,
            Some(v) => return self.reject(v, "map"),
        };
        let key_kind = model::ty(t.1).0;
        let elem_bytes = model::ty(t.2).0 == Kind::Bytes;
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(m.len());
        for (k, v) in m {
            let key = if key_kind == Kind::String {
                k
            } else {
                // integer keys are parsed and printed back in decimal
                match parse_int_key(&k, key_kind) {
                    Some(canon) => canon,
                    None => {
                        self.problem(format!("map key {k:?} is not a valid integer"));
                        k
                    }
                }
            };
            self.path.push(Seg::Key(key.clone()));
            let mut o = self.enc(t.2, Some(v)).v;
            self.path.pop();
            if self.opts.storage_round_trip && elem_bytes && o.is_null() {
                o = Value::String(String::new());
            }
            entries.push((key, o));
        }
        // encoding/json writes map entries sorted by key
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, earlier| {
            // integer keys can collide once canonical ("01" and "1"); the last one wins
            if later.0 == earlier.0 {
                std::mem::swap(&mut later.1, &mut earlier.1);
                true
            } else {
                false
            }
        });
        let n = entries.len();
        if n == 0 && self.opts.storage_round_trip {
            return Out::nil();
        }
        Out::of(Value::Object(entries.into_iter().collect()), n == 0, false)
    }

    fn enc_int(&mut self, kind: Kind, input: Option<Value>) -> Out {
        let n = match input {
            None | Some(Value::Null) => return Out::of(Value::from(0), true, true),
            Some(Value::Number(n)) => n,
            Some(v) => return self.reject(v, int_name(kind)),
        };
        let (min, max) = int_range(kind);
        let fits = if let Some(i) = n.as_i64() {
            (i as i128) >= min && (i as i128) <= max
        } else if let Some(u) = n.as_u64() {
            (u as i128) <= max
        } else {
            // serde_json reads "-0" as a float; Go reads it as the integer 0
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 0.0 && f.is_sign_negative() {
                return Out::of(Value::from(0), true, true);
            }
            self.problem(format!("cannot decode number {n} into Go {}", int_name(kind)));
            return Out::kept(Value::Number(n));
        };
        if !fits {
            self.problem(format!("number {n} overflows Go {}", int_name(kind)));
            return Out::kept(Value::Number(n));
        }
        let zero = n.as_i64() == Some(0) || n.as_u64() == Some(0);
        Out::of(Value::Number(n), zero, zero)
    }

    fn enc_float(&mut self, is32: bool, input: Option<Value>) -> Out {
        let n = match input {
            None | Some(Value::Null) => return Out::of(Value::from(0), true, true),
            Some(Value::Number(n)) => n,
            Some(v) => return self.reject(v, if is32 { "float32" } else { "float64" }),
        };
        let mut f = n.as_f64().unwrap_or(0.0);
        if is32 {
            let narrowed = f as f32;
            if narrowed.is_infinite() {
                self.problem(format!("number {n} overflows Go float32"));
                return Out::kept(Value::Number(n));
            }
            // the shortest text of the float32, read back as a float64
            f = narrowed.to_string().parse().unwrap_or(f);
        }
        let zero = f == 0.0;
        Out::of(Value::Number(go_float_number(f, &n)), zero, zero)
    }

    fn enc_bytes(&mut self, input: Option<Value>) -> Out {
        match input {
            None | Some(Value::Null) => Out::nil(),
            Some(Value::String(s)) => match b64::decode(&s) {
                Some(bytes) => {
                    let e = bytes.is_empty();
                    Out::of(Value::String(b64::encode(&bytes)), e, false)
                }
                None => {
                    self.problem("illegal base64 data".to_string());
                    Out::kept(Value::String(s))
                }
            },
            // a JSON array of numbers also decodes into []byte, element by element
            Some(Value::Array(items)) => {
                let bytes: Option<Vec<u8>> =
                    items.iter().map(|v| v.as_u64().and_then(|u| u8::try_from(u).ok())).collect();
                match bytes {
                    Some(b) => {
                        let e = b.is_empty();
                        Out::of(Value::String(b64::encode(&b)), e, false)
                    }
                    None => self.reject(Value::Array(items), "[]byte"),
                }
            }
            Some(v) => self.reject(v, "[]byte"),
        }
    }

    fn enc_time(&mut self, input: Option<Value>, layout: gotime::Layout) -> Out {
        match input {
            None | Some(Value::Null) => Out::of(Value::Null, false, true),
            Some(Value::String(s)) => match gotime::parse(&s, layout) {
                Some(t) if t.is_go_zero() => Out::of(Value::Null, false, true),
                Some(t) => Out::of(Value::String(gotime::format(t, layout)), false, false),
                None => {
                    self.problem(format!(
                        "cannot parse {s:?} as a time in {} format",
                        match layout {
                            gotime::Layout::Rfc3339 => "RFC 3339",
                            gotime::Layout::Rfc3339Micro => "RFC 3339 with microseconds",
                        }
                    ));
                    Out::kept(Value::String(s))
                }
            },
            Some(v) => self.reject(v, "time"),
        }
    }

    fn enc_duration(&mut self, input: Option<Value>) -> Out {
        match input {
            None => Out::of(Value::String("0s".to_string()), false, true),
            Some(Value::String(s)) => match gotime::parse_duration(&s) {
                Some(d) => Out::of(Value::String(gotime::format_duration(d)), false, d == 0),
                None => {
                    self.problem(format!("invalid duration {s:?}"));
                    Out::kept(Value::String(s))
                }
            },
            // null reads as the empty string, which is no duration
            Some(v) => self.reject(v, "duration"),
        }
    }

    fn enc_quantity(&mut self, input: Option<Value>) -> Out {
        let text = match input {
            None | Some(Value::Null) => return Out::of(Value::String("0".to_string()), false, true),
            Some(Value::String(s)) => s.trim().to_string(),
            // the number's text is parsed as a quantity
            Some(Value::Number(n)) => n.to_string(),
            Some(v) => return self.reject(v, "quantity"),
        };
        match (self.opts.quantity)(&text) {
            Some(c) => {
                let zero = c == "0";
                Out::of(Value::String(c), false, zero)
            }
            None => {
                self.problem(format!("quantity {text:?} is not in a valid format"));
                Out::kept(Value::String(text))
            }
        }
    }

    fn enc_int_or_string(&mut self, input: Option<Value>) -> Out {
        match input {
            // null takes the int branch and reads nothing: the int 0
            None | Some(Value::Null) => Out::of(Value::from(0), false, true),
            Some(Value::String(s)) => Out::of(Value::String(s), false, false),
            Some(Value::Number(n)) => match n.as_i64().filter(|i| i32::try_from(*i).is_ok()) {
                Some(i) => Out::of(Value::from(i), false, i == 0),
                None => {
                    self.problem(format!("cannot decode number {n} into Go int32"));
                    Out::kept(Value::Number(n))
                }
            },
            Some(v) => self.reject(v, "int32"),
        }
    }

    fn enc_group_version(&mut self, input: Option<Value>) -> Out {
        let s = match input {
            None | Some(Value::Null) => return Out::of(Value::String(String::new()), false, true),
            Some(Value::String(s)) => s,
            Some(v) => return self.reject(v, "string"),
        };
        let parts: Vec<&str> = s.split('/').collect();
        let text = match parts.as_slice() {
            [""] => String::new(),
            [v] => v.to_string(),
            ["", v] => v.to_string(),
            [g, v] => format!("{g}/{v}"),
            _ => {
                self.problem(format!("unexpected GroupVersion string: {s}"));
                return Out::kept(Value::String(s));
            }
        };
        let zero = text.is_empty();
        Out::of(Value::String(text), false, zero)
    }
}

fn int_name(kind: Kind) -> &'static str {
    match kind {
        Kind::I8 => "int8",
        Kind::I16 => "int16",
        Kind::I32 => "int32",
        Kind::I64 => "int64",
        Kind::U8 => "uint8",
        Kind::U16 => "uint16",
        Kind::U32 => "uint32",
        _ => "uint64",
    }
}

fn int_range(kind: Kind) -> (i128, i128) {
    match kind {
        Kind::I8 => (i8::MIN as i128, i8::MAX as i128),
        Kind::I16 => (i16::MIN as i128, i16::MAX as i128),
        Kind::I32 => (i32::MIN as i128, i32::MAX as i128),
        Kind::I64 => (i64::MIN as i128, i64::MAX as i128),
        Kind::U8 => (0, u8::MAX as i128),
        Kind::U16 => (0, u16::MAX as i128),
        Kind::U32 => (0, u32::MAX as i128),
        _ => (0, u64::MAX as i128),
    }
}

fn parse_int_key(k: &str, kind: Kind) -> Option<String> {
    let (min, max) = int_range(kind);
    let v: i128 = k.parse().ok()?;
    (v >= min && v <= max).then(|| v.to_string())
}

/// The number Go prints for a float64: integral values below 1e21 print without a
/// fraction or exponent, so they become JSON integers here.
fn go_float_number(f: f64, original: &Number) -> Number {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Rust prints the shortest round-trip digits without an exponent, as Go does
        let text = format!("{f}");
        if let Ok(i) = text.parse::<i64>() {
            return Number::from(i);
        }
        if let Ok(u) = text.parse::<u64>() {
            return Number::from(u);
        }
    }
    if original.as_f64() == Some(f) && original.is_f64() {
        return original.clone();
    }
    Number::from_f64(f).unwrap_or_else(|| original.clone())
}

#[cfg(test)]
mod facts_tests {
    use super::*;

    #[test]
    fn every_name_resolves() {
        let mut n = 0;
        for name in definitions() {
            assert!(has_facts(&name), "{name}");
            n += 1;
        }
        assert!(n > 800);
    }

    #[test]
    fn kinds_resolve() {
        assert_eq!(definition_for("apps/v1", "Deployment").as_deref(), Some("io.k8s.api.apps.v1.Deployment"));
        assert_eq!(definition_for("v1", "Pod").as_deref(), Some("io.k8s.api.core.v1.Pod"));
        assert_eq!(
            definition_for("apiextensions.k8s.io/v1", "CustomResourceDefinition").as_deref(),
            Some("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition")
        );
        assert_eq!(definition_for("apps/v1", "Pod"), None);
    }
}

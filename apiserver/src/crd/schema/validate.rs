//! The OpenAPI validation of custom resources: a re-implementation of kube-openapi's schema
//! validator (the go-openapi fork) as apiextensions uses it, followed by apiextensions'
//! conversion of its errors into field errors.
//!
//! Fidelity notes. Every sub-validator runs even after a type error, so a wrong type can come
//! with enum or length errors. anyOf/oneOf failures report the "best" branch, chosen by a count of
//! passed checks that is reproduced here (`Res::count`). Errors dedupe on their message. Data
//! numbers are int64 when integral and float64 otherwise; schema numbers (enum values, bounds)
//! are float64, which is why nested integers never equal an object/array enum member upstream.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::gofmt::{self, Num, body, quote};
use super::{Additional, FieldError, formats, goregex, int_or_string, items, nullable, properties, schema_list, text};

/// How the error converts to a field error.
enum Code {
    Required,
    /// Enum failure, with the supported values as upstream lists them.
    Enum(Vec<String>),
    TooLong(i64),
    /// maxItems and maxProperties: (actual, max).
    TooMany(i64, i64),
    TypeInvalid,
    Invalid,
    /// A composite (allOf/anyOf/oneOf/not) failure: no path, upstream reports field `<nil>`.
    Composite,
}

struct OErr {
    code: Code,
    /// The validator path ("spec.x", ".spec" for required at the root, "" for the root).
    name: String,
    /// The bad value as the field error prints it.
    value: String,
    message: String,
}

/// A validation result: errors, deduplicated by message, and the number of checks that ran and
/// passed (upstream's MatchCount), which picks the reported branch of anyOf/oneOf.
#[derive(Default)]
struct Res {
    errs: Vec<OErr>,
    seen: HashSet<String>,
    count: usize,
}

impl Res {
    fn error(e: OErr) -> Res {
        let mut r = Res::default();
        r.add(e);
        r
    }

    fn passed() -> Res {
        Res { count: 1, ..Res::default() }
    }

    fn add(&mut self, e: OErr) {
        if self.seen.insert(e.message.clone()) {
            self.errs.push(e);
        }
    }

    fn merge(&mut self, other: Res) {
        for e in other.errs {
            self.add(e);
        }
        self.count += other.count;
    }

    fn valid(&self) -> bool {
        self.errs.is_empty()
    }
}

pub(super) fn validate(value: &Value, schema: &Value, prefix: &str) -> Vec<FieldError> {
    node(schema, value, "").errs.into_iter().map(|e| convert(e, prefix)).collect()
}

/// apiextensions' kubeOpenAPIResultToFieldErrors.
fn convert(e: OErr, prefix: &str) -> FieldError {
    let root = if prefix.is_empty() { "<nil>".to_string() } else { prefix.to_string() };
    let field = match e.code {
        Code::Composite => root,
        _ if e.name.is_empty() || e.name == "." => root,
        _ => super::child(prefix, e.name.strip_prefix('.').unwrap_or(&e.name)),
    };
    match e.code {
        Code::Required => gofmt::required(field, ""),
        Code::Enum(values) => gofmt::not_supported(field, &e.value, &values),
        Code::TooLong(max) => gofmt::too_long(field, max),
        Code::TooMany(actual, max) => gofmt::too_many(field, actual, max),
        Code::TypeInvalid => gofmt::type_invalid(field, &e.value, &e.message),
        Code::Invalid => gofmt::invalid(field, &e.value, &e.message),
        Code::Composite => gofmt::invalid(field, "\"\"", &e.message),
    }
}

fn err(code: Code, name: &str, value: String, message: String) -> OErr {
    OErr { code, name: name.to_string(), value, message }
}

/// errors.InvalidType with a string value (the only kind the validators pass).
fn invalid_type(path: &str, type_name: &str, value: &str) -> OErr {
    let message = format!("{path} in body must be of type {type_name}: {}", quote(value));
    err(Code::TypeInvalid, path, quote(value), message)
}

/// The schema's types: x-kubernetes-int-or-string means integer or string.
fn types(s: &Value) -> Vec<&str> {
    if int_or_string(s) {
        return vec!["integer", "string"];
    }
    let t = text(s, "type");
    if t.is_empty() { vec![] } else { vec![t] }
}

/// The format upstream validates with: unsupported formats are stripped to "".
fn format(s: &Value) -> &str {
    let f = text(s, "format");
    if formats::supported(f) { f } else { "" }
}

/// The JSON type and Go format the validator infers for a non-null value.
fn schema_info(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(_) => match Num::of(v) {
            Some(Num::Int(_)) => ("integer", "int64"),
            _ => ("number", "float64"),
        },
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Null => ("", ""),
    }
}

/// swag.IsFloat64AJSONInteger (v0.23): integral within ±(2^53-1), or above 1 and within a
/// relative 1e-9 of the integer below.
fn is_json_integer(f: f64) -> bool {
    if !f.is_finite() || f.abs() > 9_007_199_254_740_991.0 {
        return false;
    }
    if f.fract() == 0.0 {
        return true;
    }
    let g = f.trunc();
    if f < 0.0 || g == 0.0 {
        return false;
    }
    (f - g) / (f + g) < 1e-9
}

/// One SchemaValidator.Validate.
fn node(s: &Value, data: &Value, path: &str) -> Res {
    let mut r = Res::default();
    if data.is_null() {
        r.merge(type_check(s, data, path));
        r.merge(enum_check(s, data, path));
        return r;
    }
    // Each applicable validator adds its result and one more to the count.
    fn run(r: &mut Res, sub: Res) {
        r.merge(sub);
        r.count += 1;
    }
    if !types(s).is_empty() || !format(s).is_empty() {
        run(&mut r, type_check(s, data, path));
    }
    run(&mut r, junctors(s, data, path));
    if let Value::String(text) = data {
        run(&mut r, string_check(s, text, path));
        if !format(s).is_empty() {
            run(&mut r, format_check(s, text, path));
        }
    }
    if let Some(n) = Num::of(data) {
        run(&mut r, number_check(s, n, path));
    }
    if let Value::Array(a) = data {
        run(&mut r, array_check(s, a, path));
    }
    run(&mut r, enum_check(s, data, path));
    if let Value::Object(m) = data {
        run(&mut r, object_check(s, m, path));
    }
    r.count += 1;
    r
}

fn type_check(s: &Value, data: &Value, path: &str) -> Res {
    let ts = types(s);
    let fmt = format(s);
    if data.is_null() {
        if !ts.is_empty() && !ts.contains(&"null") && !nullable(s) {
            return Res::error(invalid_type(path, &ts.join(","), "null"));
        }
        return Res::passed();
    }
    let (sch_type, data_format) = schema_info(data);
    let float_int =
        sch_type == "number" && Num::of(data).is_some_and(|n| is_json_integer(n.as_f64())) && ts.contains(&"integer");
    let int_float = sch_type == "integer" && ts.contains(&"number");
    let string_or_array = data.is_string() || data.is_array();
    let has_format = !fmt.is_empty();
    let type_ok = ts.contains(&sch_type) || float_int || int_float;
    let format_mismatch = !(type_ok || data_format == fmt);
    if has_format && !string_or_array && format_mismatch {
        return Res::error(invalid_type(path, fmt, data_format));
    }
    // Upstream quirk: with a format and no numeric type, strings and arrays pass the type check.
    let numeric = ts.contains(&"number") || ts.contains(&"integer");
    if has_format && string_or_array && !numeric {
        return Res::passed();
    }
    if !type_ok {
        return Res::error(invalid_type(path, &ts.join(","), sch_type));
    }
    Res::passed()
}

fn composite(message: String) -> OErr {
    err(Code::Composite, "", String::new(), message)
}

/// allOf, anyOf, oneOf and not (schemaPropsValidator).
fn junctors(s: &Value, data: &Value, path: &str) -> Res {
    let mut main = Res::default();
    let qpath = quote(path);

    let any_of = schema_list(s, "anyOf");
    if !any_of.is_empty() {
        let (mut best, mut first_success, mut succeeded): (Option<Res>, Option<Res>, bool) = (None, None, false);
        for sub in any_of {
            let r = node(sub, data, path);
            if r.valid() {
                best = None;
                succeeded = true;
                first_success.get_or_insert(r);
                break;
            }
            if best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if !succeeded {
            main.add(composite(format!("{qpath} must validate at least one schema (anyOf)")));
        }
        if let Some(b) = best.or(first_success) {
            main.merge(b);
        }
    }

    let one_of = schema_list(s, "oneOf");
    if !one_of.is_empty() {
        let (mut best, mut first_success, mut validated): (Option<Res>, Option<Res>, usize) = (None, None, 0);
        for sub in one_of {
            let r = node(sub, data, path);
            if r.valid() {
                validated += 1;
                best = None;
                first_success.get_or_insert(r);
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if validated != 1 {
            let why = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(composite(format!("{qpath} must validate one and only one schema (oneOf). {why}")));
            if let Some(b) = best {
                main.merge(b);
            }
        } else if let Some(f) = first_success {
            main.merge(f);
        }
    }

    let all_of = schema_list(s, "allOf");
    if !all_of.is_empty() {
        let mut validated = 0;
        for sub in all_of {
            let r = node(sub, data, path);
            if r.valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != all_of.len() {
            let why = if validated == 0 { ". None validated" } else { "" };
            main.add(composite(format!("{qpath} must validate all the schemas (allOf){why}")));
        }
    }

    if let Some(not) = s.get("not").filter(|v| v.is_object())
        && node(not, data, path).valid()
    {
        main.add(composite(format!("{qpath} must not validate the schema (not)")));
    }
    main.count += 1;
    main
}

/// maxLength, minLength, pattern: the first failure only.
fn string_check(s: &Value, data: &str, path: &str) -> Res {
    let runes = data.chars().count() as i64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_i64)
        && runes > max
    {
        let message = format!("{path} in body should be at most {max} chars long");
        return Res::error(err(Code::TooLong(max), path, quote(data), message));
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_i64)
        && runes < min
    {
        let message = format!("{path} in body should be at least {min} chars long");
        return Res::error(err(Code::Invalid, path, quote(data), message));
    }
    let pattern = text(s, "pattern");
    if !pattern.is_empty() {
        let shown = match goregex::compile(pattern) {
            Ok(re) if re.is_match(data) => return Res::default(),
            Ok(_) => pattern.to_string(),
            Err(e) => format!("{pattern}, but pattern is invalid: {e}"),
        };
        let message = format!("{path} in body should match '{shown}'");
        return Res::error(err(Code::Invalid, path, quote(data), message));
    }
    Res::default()
}

fn format_check(s: &Value, data: &str, path: &str) -> Res {
    let f = format(s);
    if formats::check(f, data) { Res::default() } else { Res::error(invalid_type(path, f, data)) }
}

fn number_check(s: &Value, n: Num, path: &str) -> Res {
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    let (mut multiple, mut minimum, mut maximum) = (Res::default(), Res::default(), Res::default());
    let value = gofmt::num(n);
    if let Some(factor) = bound("multipleOf")
        && let Some(e) = multiple_of(n, factor, path, &value)
    {
        multiple.add(e);
    }
    if let Some(max) = bound("maximum") {
        let exclusive = super::flag(s, "exclusiveMaximum");
        let (over, shown) = match n {
            Num::Int(i) => {
                let m = max as i64;
                (if exclusive { i >= m } else { i > m }, m.to_string())
            }
            Num::Float(f) => (if exclusive { f >= max } else { f > max }, gofmt::float(max)),
        };
        if over {
            let relation = if exclusive { "less than" } else { "less than or equal to" };
            maximum.add(err(
                Code::Invalid,
                path,
                value.clone(),
                format!("{path} in body should be {relation} {shown}"),
            ));
        }
    }
    if let Some(min) = bound("minimum") {
        let exclusive = super::flag(s, "exclusiveMinimum");
        let (under, shown) = match n {
            Num::Int(i) => {
                let m = min as i64;
                (if exclusive { i <= m } else { i < m }, m.to_string())
            }
            Num::Float(f) => (if exclusive { f <= min } else { f < min }, gofmt::float(min)),
        };
        if under {
            let relation = if exclusive { "greater than" } else { "greater than or equal to" };
            minimum.add(err(
                Code::Invalid,
                path,
                value.clone(),
                format!("{path} in body should be {relation} {shown}"),
            ));
        }
    }
    let mut r = Res::default();
    r.merge(multiple);
    r.merge(minimum);
    r.merge(maximum);
    r.count += 1;
    r
}

/// multipleOf, integer-exact for int64 data (factor truncated) and float-tolerant otherwise.
fn multiple_of(n: Num, factor: f64, path: &str, value: &str) -> Option<OErr> {
    let positive = |shown: String| {
        let message = format!("factor MultipleOf declared for {path} must be positive: {shown}");
        err(Code::Invalid, path, shown, message)
    };
    let not_multiple = |shown: String| {
        err(Code::Invalid, path, value.to_string(), format!("{path} in body should be a multiple of {shown}"))
    };
    match n {
        Num::Int(i) => {
            let f = factor as i64;
            if f <= 0 {
                return Some(positive(f.to_string()));
            }
            (i.wrapping_div(f).wrapping_mul(f) != i).then(|| not_multiple(f.to_string()))
        }
        Num::Float(x) => {
            if factor <= 0.0 {
                return Some(positive(gofmt::float(factor)));
            }
            let mult = if factor < 1.0 { 1.0 / factor * x } else { x / factor };
            (!is_json_integer(mult)).then(|| not_multiple(gofmt::float(factor)))
        }
    }
}

fn array_check(s: &Value, a: &[Value], path: &str) -> Res {
    let mut r = Res::default();
    if let Some(item) = items(s) {
        for (i, v) in a.iter().enumerate() {
            r.merge(node(item, v, &format!("{path}[{i}]")));
        }
    }
    let size = a.len() as i64;
    if let Some(min) = s.get("minItems").and_then(Value::as_i64)
        && size < min
    {
        r.add(err(Code::Invalid, path, size.to_string(), format!("{path} in body should have at least {min} items")));
    }
    if let Some(max) = s.get("maxItems").and_then(Value::as_i64)
        && size > max
    {
        r.add(err(
            Code::TooMany(size, max),
            path,
            size.to_string(),
            format!("{path} in body should have at most {max} items"),
        ));
    }
    if super::flag(s, "uniqueItems") {
        let dup = a.iter().enumerate().any(|(i, x)| a[..i].iter().any(|y| deep_equal(x, y, false)));
        if dup {
            r.add(err(Code::Invalid, path, "\"\"".into(), format!("{path} in body shouldn't contain duplicates")));
        }
    }
    r.count += 1;
    r
}

/// reflect.DeepEqual of decoded values; `schema_side` types the right side's numbers as float64.
fn deep_equal(a: &Value, b: &Value, schema_side: bool) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (Num::of(a), Num::of(b)) {
            (Some(Num::Int(x)), Some(Num::Int(y))) if !schema_side => x == y,
            (Some(Num::Float(x)), Some(y)) if schema_side => x == y.as_f64(),
            (Some(Num::Float(x)), Some(Num::Float(y))) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q, schema_side))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w, schema_side)))
        }
        _ => a == b,
    }
}

/// Whether data equals an enum member after Go's reflect conversion of data to the member's type.
fn enum_matches(data: &Value, member: &Value) -> bool {
    match (data, member) {
        (_, Value::Null) | (Value::Null, _) => false,
        (Value::Number(_), Value::Number(m)) => Num::of(data).is_some_and(|n| Some(n.as_f64()) == m.as_f64()),
        // Go converts an integer to a string as a code point.
        (Value::Number(_), Value::String(m)) => match Num::of(data) {
            Some(Num::Int(i)) => {
                let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{fffd}');
                m.chars().eq(std::iter::once(c))
            }
            _ => false,
        },
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => deep_equal(data, member, true),
        _ => data == member,
    }
}

fn enum_check(s: &Value, data: &Value, path: &str) -> Res {
    let members = schema_list(s, "enum");
    if members.is_empty() || members.iter().any(|m| enum_matches(data, m)) {
        return Res::default();
    }
    let supported: Vec<String> =
        members.iter().map(|m| m.as_str().map_or_else(|| gofmt::json(m, true), str::to_string)).collect();
    // Only used to dedupe; upstream prints the list with %v.
    let message = format!("{path} in body should be one of [{}]", supported.join(" "));
    Res::error(err(Code::Enum(supported), path, body(data), message))
}

fn object_check(s: &Value, m: &Map<String, Value>, path: &str) -> Res {
    let mut r = Res::default();
    let size = m.len() as i64;
    if let Some(min) = s.get("minProperties").and_then(Value::as_i64)
        && size < min
    {
        r.add(err(
            Code::Invalid,
            path,
            size.to_string(),
            format!("{path} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = s.get("maxProperties").and_then(Value::as_i64)
        && size > max
    {
        let message = format!("{path} in body should have at most {max} properties");
        r.add(err(Code::TooMany(size, max), path, size.to_string(), message));
    }
    let props = properties(s);
    let declared = |k: &str| props.is_some_and(|p| p.contains_key(k));
    match Additional::of(s) {
        Additional::Bool(false) => {
            for k in m.keys().filter(|k| !declared(k)) {
                let message = format!("{path}.{k} in body is a forbidden property");
                r.add(err(Code::Invalid, path, quote(k), message));
            }
        }
        Additional::Schema(a) => {
            for (k, v) in m.iter().filter(|(k, _)| !declared(k)) {
                r.merge(node(a, v, &format!("{path}.{k}")));
            }
        }
        _ => {}
    }
    for (name, ps) in props.into_iter().flatten() {
        if let Some(v) = m.get(name) {
            let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            r.merge(node(ps, v, &child));
        }
    }
    for k in schema_list(s, "required").iter().filter_map(Value::as_str) {
        if !m.contains_key(k) {
            let name = format!("{path}.{k}");
            let message = format!("{name} in body is required");
            r.add(err(Code::Required, &name, String::new(), message));
        }
    }
    r
}

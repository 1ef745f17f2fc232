//! The protobuf form of `/openapi/v2`: an OpenAPI 2.0 document encoded as gnostic's `openapi.v2.Document`.
//!
//! kube-apiserver serves this form for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`,
//! and client-go's `DiscoveryClient.OpenAPISchema()` asks for nothing else: kubectl 1.27/1.28 decode it
//! with `proto.Unmarshal` for create, apply, diff and explain. Upstream gets the bytes by parsing its JSON
//! document with gnostic and marshalling the result; we encode our JSON document directly, following the
//! message layout of gnostic-models `openapiv2/OpenAPIv2.proto` and gnostic's JSON-to-message mapping:
//! `$ref` goes to `_ref`, `type` to a `TypeItem`, `items` to an `ItemsItem`, map-like objects to repeated
//! `Named*` entries in JSON order, and `x-*` keys, `default`, `enum` and `example` to `Any` values
//! holding YAML text (clients read those back with a YAML parser).
//!
//! The writer is hand-made so the apiserver needs no protobuf toolchain. It follows proto3 rules: scalar
//! fields holding their zero value are left out, oneof members and repeated elements are always written,
//! and a JSON key holding an object always yields a sub-message, even an empty one, as gnostic does.
//! Keys OpenAPI 2.0 does not define (and so the proto has no field for) are skipped.

use std::fmt::Write as _;

use serde_json::Value;

/// The gnostic protobuf form of an OpenAPI 2.0 document.
pub fn encode(doc: &serde_json::Value) -> Vec<u8> {
    document(doc).0
}

/// A protobuf message under construction: its fields, already encoded, in the order written.
#[derive(Default)]
struct Msg(Vec<u8>);

/// The sub-message builders all have this shape, so they can be passed to the repeated/map helpers.
type Build = fn(&Value) -> Msg;

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }

    /// A singular string; proto3 leaves the empty string out.
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    /// A bool written even when false, as a oneof member must be to say which member is set.
    fn oneof_bool(&mut self, field: u32, b: bool) {
        self.key(field, 0);
        self.varint(u64::from(b));
    }

    fn str_field(&mut self, field: u32, v: &Value, key: &str) {
        if let Some(s) = v.get(key).and_then(Value::as_str) {
            self.string(field, s);
        }
    }

    fn bool_field(&mut self, field: u32, v: &Value, key: &str) {
        if v.get(key).and_then(Value::as_bool) == Some(true) {
            self.oneof_bool(field, true);
        }
    }

    /// An int64 field; a JSON number written with a fraction (`5.0`) still counts.
    fn int_field(&mut self, field: u32, v: &Value, key: &str) {
        let n = v.get(key).and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)));
        if let Some(n) = n.filter(|n| *n != 0) {
            self.key(field, 0);
            self.varint(n as u64);
        }
    }

    fn double_field(&mut self, field: u32, v: &Value, key: &str) {
        if let Some(d) = v.get(key).and_then(Value::as_f64).filter(|d| *d != 0.0) {
            self.key(field, 1);
            self.0.extend_from_slice(&d.to_le_bytes());
        }
    }

    /// A `repeated string` from a JSON array of strings; every element is written, empty or not.
    fn strings_field(&mut self, field: u32, v: &Value, key: &str) {
        for s in array(v.get(key)).filter_map(Value::as_str) {
            self.bytes(field, s.as_bytes());
        }
    }

    /// An `Any` (YAML text) for a key of any JSON type, `null` included.
    fn any_field(&mut self, field: u32, v: &Value, key: &str) {
        if let Some(x) = v.get(key) {
            self.message(field, any(x));
        }
    }

    /// A `repeated Any`, one per element of a JSON array (`enum`).
    fn anys_field(&mut self, field: u32, v: &Value, key: &str) {
        for x in array(v.get(key)) {
            self.message(field, any(x));
        }
    }

    /// A sub-message, present only when the key holds a JSON object.
    fn object_field(&mut self, field: u32, v: &Value, key: &str, build: Build) {
        if let Some(x) = v.get(key).filter(|x| x.is_object()) {
            self.message(field, build(x));
        }
    }

    /// A repeated sub-message, one per object in a JSON array.
    fn objects_field(&mut self, field: u32, v: &Value, key: &str, build: Build) {
        for x in array(v.get(key)).filter(|x| x.is_object()) {
            self.message(field, build(x));
        }
    }

    /// A map-like message (`Definitions`, `Properties`, ...) whose only field 1 repeats
    /// `Named*{name = 1, value = 2}` entries, one per key of a JSON object, in the object's order.
    fn map_field(&mut self, field: u32, v: &Value, key: &str, build: Build) {
        if let Some(x) = v.get(key).filter(|x| x.is_object()) {
            let mut m = Msg::default();
            for (name, value) in entries(x) {
                m.message(1, named(name, build(value)));
            }
            self.message(field, m);
        }
    }

    /// `repeated NamedAny vendor_extension`: every `x-*` key, its value as YAML.
    fn extensions(&mut self, field: u32, v: &Value) {
        for (name, value) in entries(v).filter(|(k, _)| k.starts_with("x-")) {
            self.message(field, named(name, any(value)));
        }
    }
}

fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

fn array(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn named(name: &str, value: Msg) -> Msg {
    let mut m = Msg::default();
    m.string(1, name);
    m.message(2, value);
    m
}

/// `Any{yaml = 2}`; field 1 (a `google.protobuf.Any`) is only set by gnostic extension plugins.
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string(2, &yaml(v));
    m
}

fn document(d: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, d, "swagger");
    m.object_field(2, d, "info", info);
    m.str_field(3, d, "host");
    m.str_field(4, d, "basePath");
    m.strings_field(5, d, "schemes");
    m.strings_field(6, d, "consumes");
    m.strings_field(7, d, "produces");
    m.object_field(8, d, "paths", paths);
    m.map_field(9, d, "definitions", schema);
    m.map_field(10, d, "parameters", parameter);
    m.map_field(11, d, "responses", response);
    m.objects_field(12, d, "security", security_requirement);
    m.map_field(13, d, "securityDefinitions", security_scheme);
    m.objects_field(14, d, "tags", tag);
    m.object_field(15, d, "externalDocs", external_docs);
    m.extensions(16, d);
    m
}

fn info(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "title");
    m.str_field(2, v, "version");
    m.str_field(3, v, "description");
    m.str_field(4, v, "termsOfService");
    m.object_field(5, v, "contact", contact);
    m.object_field(6, v, "license", license);
    m.extensions(7, v);
    m
}

fn contact(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "name");
    m.str_field(2, v, "url");
    m.str_field(3, v, "email");
    m.extensions(4, v);
    m
}

fn license(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "name");
    m.str_field(2, v, "url");
    m.extensions(3, v);
    m
}

fn external_docs(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "description");
    m.str_field(2, v, "url");
    m.extensions(3, v);
    m
}

fn tag(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "name");
    m.str_field(2, v, "description");
    m.object_field(3, v, "externalDocs", external_docs);
    m.extensions(4, v);
    m
}

fn xml(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "name");
    m.str_field(2, v, "namespace");
    m.str_field(3, v, "prefix");
    m.bool_field(4, v, "attribute");
    m.bool_field(5, v, "wrapped");
    m.extensions(6, v);
    m
}

/// `Paths`: vendor extensions in field 1, then one `NamedPathItem` per key starting with `/`.
fn paths(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.extensions(1, v);
    for (name, item) in entries(v).filter(|(k, _)| k.starts_with('/')) {
        m.message(2, named(name, path_item(item)));
    }
    m
}

fn path_item(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "$ref");
    let verbs = [(2, "get"), (3, "put"), (4, "post"), (5, "delete"), (6, "options"), (7, "head"), (8, "patch")];
    for (field, verb) in verbs {
        m.object_field(field, v, verb, operation);
    }
    m.objects_field(9, v, "parameters", parameters_item);
    m.extensions(10, v);
    m
}

fn operation(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.strings_field(1, v, "tags");
    m.str_field(2, v, "summary");
    m.str_field(3, v, "description");
    m.object_field(4, v, "externalDocs", external_docs);
    m.str_field(5, v, "operationId");
    m.strings_field(6, v, "produces");
    m.strings_field(7, v, "consumes");
    m.objects_field(8, v, "parameters", parameters_item);
    m.object_field(9, v, "responses", responses);
    m.strings_field(10, v, "schemes");
    m.bool_field(11, v, "deprecated");
    m.objects_field(12, v, "security", security_requirement);
    m.extensions(13, v);
    m
}

fn json_reference(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "$ref");
    m.str_field(2, v, "description");
    m
}

/// `ParametersItem`: oneof `parameter = 1` / `json_reference = 2` (a `{"$ref": ...}` object).
fn parameters_item(v: &Value) -> Msg {
    let mut m = Msg::default();
    if v.get("$ref").is_some() {
        m.message(2, json_reference(v));
    } else {
        m.message(1, parameter(v));
    }
    m
}

/// `Parameter`: oneof `body_parameter = 1` / `non_body_parameter = 2`, the latter itself a oneof of
/// header (1), formData (2), query (3) and path (4) sub-schemas; `in` picks the member, as gnostic's
/// validation of `in` against each member's allowed value ends up doing.
fn parameter(v: &Value) -> Msg {
    let mut m = Msg::default();
    let location = v.get("in").and_then(Value::as_str).unwrap_or_default();
    if location == "body" {
        let mut b = Msg::default();
        b.str_field(1, v, "description");
        b.str_field(2, v, "name");
        b.str_field(3, v, "in");
        b.bool_field(4, v, "required");
        b.object_field(5, v, "schema", schema);
        b.extensions(6, v);
        m.message(1, b);
        return m;
    }
    // The four sub-schemas share one layout after `required, in, description, name`; query and formData
    // insert `allowEmptyValue` as field 5, which shifts the remaining fields by one. An unknown `in`
    // (invalid 2.0) is treated as a query parameter rather than dropped.
    let (member, shift) = match location {
        "header" => (1, 4),
        "formData" => (2, 5),
        "path" => (4, 4),
        _ => (3, 5),
    };
    let mut sub = Msg::default();
    sub.bool_field(1, v, "required");
    sub.str_field(2, v, "in");
    sub.str_field(3, v, "description");
    sub.str_field(4, v, "name");
    if shift == 5 {
        sub.bool_field(5, v, "allowEmptyValue");
    }
    sub.primitive_fields(shift, v);
    sub.extensions(18 + shift, v);
    let mut non_body = Msg::default();
    non_body.message(member, sub);
    m.message(2, non_body);
    m
}

impl Msg {
    /// The fields `PrimitivesItems` numbers 1 to 17 (type ... multipleOf), which `Header` and the
    /// non-body parameter sub-schemas repeat with their numbers shifted by `shift`.
    fn primitive_fields(&mut self, shift: u32, v: &Value) {
        self.str_field(1 + shift, v, "type");
        self.str_field(2 + shift, v, "format");
        self.object_field(3 + shift, v, "items", primitives_items);
        self.str_field(4 + shift, v, "collectionFormat");
        self.any_field(5 + shift, v, "default");
        self.double_field(6 + shift, v, "maximum");
        self.bool_field(7 + shift, v, "exclusiveMaximum");
        self.double_field(8 + shift, v, "minimum");
        self.bool_field(9 + shift, v, "exclusiveMinimum");
        self.int_field(10 + shift, v, "maxLength");
        self.int_field(11 + shift, v, "minLength");
        self.str_field(12 + shift, v, "pattern");
        self.int_field(13 + shift, v, "maxItems");
        self.int_field(14 + shift, v, "minItems");
        self.bool_field(15 + shift, v, "uniqueItems");
        self.anys_field(16 + shift, v, "enum");
        self.double_field(17 + shift, v, "multipleOf");
    }
}

fn primitives_items(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.primitive_fields(0, v);
    m.extensions(18, v);
    m
}

fn header(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.primitive_fields(0, v);
    m.str_field(18, v, "description");
    m.extensions(19, v);
    m
}

/// `Responses`: status codes (three digits) and `default` as `NamedResponseValue`s, then extensions.
fn responses(v: &Value) -> Msg {
    let mut m = Msg::default();
    let is_code = |k: &str| k == "default" || (k.len() == 3 && k.bytes().all(|b| b.is_ascii_digit()));
    for (code, value) in entries(v).filter(|(k, _)| is_code(k)) {
        m.message(1, named(code, response_value(value)));
    }
    m.extensions(2, v);
    m
}

/// `ResponseValue`: oneof `response = 1` / `json_reference = 2`.
fn response_value(v: &Value) -> Msg {
    let mut m = Msg::default();
    if v.get("$ref").is_some() {
        m.message(2, json_reference(v));
    } else {
        m.message(1, response(v));
    }
    m
}

fn response(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "description");
    // `SchemaItem`: oneof `schema = 1` / `file_schema = 2`; only `type: file` makes a file schema.
    if let Some(s) = v.get("schema").filter(|s| s.is_object()) {
        let mut item = Msg::default();
        if s.get("type").and_then(Value::as_str) == Some("file") {
            item.message(2, file_schema(s));
        } else {
            item.message(1, schema(s));
        }
        m.message(2, item);
    }
    m.map_field(3, v, "headers", header);
    m.map_field(4, v, "examples", any);
    m.extensions(5, v);
    m
}

fn file_schema(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "format");
    m.str_field(2, v, "title");
    m.str_field(3, v, "description");
    m.any_field(4, v, "default");
    m.strings_field(5, v, "required");
    m.str_field(6, v, "type");
    m.bool_field(7, v, "readOnly");
    m.object_field(8, v, "externalDocs", external_docs);
    m.any_field(9, v, "example");
    m.extensions(10, v);
    m
}

fn schema(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_field(1, v, "$ref");
    m.str_field(2, v, "format");
    m.str_field(3, v, "title");
    m.str_field(4, v, "description");
    m.any_field(5, v, "default");
    m.double_field(6, v, "multipleOf");
    m.double_field(7, v, "maximum");
    m.bool_field(8, v, "exclusiveMaximum");
    m.double_field(9, v, "minimum");
    m.bool_field(10, v, "exclusiveMinimum");
    m.int_field(11, v, "maxLength");
    m.int_field(12, v, "minLength");
    m.str_field(13, v, "pattern");
    m.int_field(14, v, "maxItems");
    m.int_field(15, v, "minItems");
    m.bool_field(16, v, "uniqueItems");
    m.int_field(17, v, "maxProperties");
    m.int_field(18, v, "minProperties");
    m.strings_field(19, v, "required");
    m.anys_field(20, v, "enum");
    // `AdditionalPropertiesItem`: oneof `schema = 1` / `boolean = 2`.
    match v.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Msg::default();
            item.oneof_bool(2, *b);
            m.message(21, item);
        }
        Some(s @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(21, item);
        }
        _ => {}
    }
    // `TypeItem{repeated string value = 1}`: a single type or a list of them.
    match v.get("type") {
        Some(Value::String(t)) => {
            let mut item = Msg::default();
            item.bytes(1, t.as_bytes());
            m.message(22, item);
        }
        Some(Value::Array(_)) => {
            let mut item = Msg::default();
            item.strings_field(1, v, "type");
            m.message(22, item);
        }
        _ => {}
    }
    // `ItemsItem{repeated Schema schema = 1}`: one schema, or one per element of a tuple-style array.
    match v.get("items") {
        Some(s @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(23, item);
        }
        Some(Value::Array(_)) => {
            let mut item = Msg::default();
            item.objects_field(1, v, "items", schema);
            m.message(23, item);
        }
        _ => {}
    }
    m.objects_field(24, v, "allOf", schema);
    m.map_field(25, v, "properties", schema);
    m.str_field(26, v, "discriminator");
    m.bool_field(27, v, "readOnly");
    m.object_field(28, v, "xml", xml);
    m.object_field(29, v, "externalDocs", external_docs);
    m.any_field(30, v, "example");
    m.extensions(31, v);
    m
}

/// `SecurityDefinitionsItem`: a oneof chosen by `type` (and for oauth2 by `flow`); each member starts with
/// `type = 1`, then has its own layout. A scheme of no known kind yields an empty item.
fn security_scheme(v: &Value) -> Msg {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let flow = v.get("flow").and_then(Value::as_str).unwrap_or_default();
    let mut s = Msg::default();
    s.str_field(1, v, "type");
    let member = match (kind, flow) {
        ("basic", _) => {
            s.str_field(2, v, "description");
            s.extensions(3, v);
            1
        }
        ("apiKey", _) => {
            s.str_field(2, v, "name");
            s.str_field(3, v, "in");
            s.str_field(4, v, "description");
            s.extensions(5, v);
            2
        }
        ("oauth2", "implicit" | "password" | "application") => {
            s.str_field(2, v, "flow");
            s.object_field(3, v, "scopes", oauth2_scopes);
            s.str_field(4, v, if flow == "implicit" { "authorizationUrl" } else { "tokenUrl" });
            s.str_field(5, v, "description");
            s.extensions(6, v);
            match flow {
                "implicit" => 3,
                "password" => 4,
                _ => 5,
            }
        }
        ("oauth2", "accessCode") => {
            s.str_field(2, v, "flow");
            s.object_field(3, v, "scopes", oauth2_scopes);
            s.str_field(4, v, "authorizationUrl");
            s.str_field(5, v, "tokenUrl");
            s.str_field(6, v, "description");
            s.extensions(7, v);
            6
        }
        _ => return Msg::default(),
    };
    let mut m = Msg::default();
    m.message(member, s);
    m
}

/// `Oauth2Scopes{repeated NamedString additional_properties = 1}`.
fn oauth2_scopes(v: &Value) -> Msg {
    let mut m = Msg::default();
    for (name, description) in entries(v) {
        let mut e = Msg::default();
        e.string(1, name);
        e.string(2, description.as_str().unwrap_or_default());
        m.message(1, e);
    }
    m
}

/// `SecurityRequirement{repeated NamedStringArray additional_properties = 1}`, e.g. `{"BearerToken": []}`.
fn security_requirement(v: &Value) -> Msg {
    let mut m = Msg::default();
    for (name, scopes) in entries(v) {
        let mut list = Msg::default();
        for s in array(Some(scopes)).filter_map(Value::as_str) {
            list.bytes(1, s.as_bytes());
        }
        m.message(1, named(name, list));
    }
    m
}

/// A JSON value as block-style YAML text, the form gnostic stores in `Any.yaml` and clients parse back
/// with go-yaml (v2 in kube-openapi's `pkg/util/proto`, v3 in gnostic). Strings are written plain only when
/// YAML 1.1 and 1.2 both read them back as the same string, and double-quoted otherwise.
fn yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_node(v, 0, &mut out);
    out
}

/// Writes `v` at `indent`; the caller has already written the first line's indentation or `- `/`key: `
/// prefix, so a mapping or sequence starts on the current line.
fn yaml_node(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                yaml_string(k, out);
                out.push(':');
                if is_block(x) {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent + 2));
                    yaml_node(x, indent + 2, out);
                } else {
                    out.push(' ');
                    yaml_node(x, indent, out);
                }
            }
        }
        Value::Array(list) if !list.is_empty() => {
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str("- ");
                yaml_node(x, indent + 2, out);
            }
        }
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        Value::String(s) => {
            yaml_string(s, out);
            out.push('\n');
        }
        // null, booleans and numbers print the same in JSON and YAML.
        other => {
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn yaml_string(s: &str, out: &mut String) {
    // Plain only for identifier-like text: starts with a letter, and is no YAML 1.1 boolean or null word.
    let reserved = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !reserved.iter().any(|r| s.eq_ignore_ascii_case(r));
    if plain {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, line/paragraph separators and BOM/non-characters are not printable YAML.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[path = "gnostic_tests.rs"]
mod tests;

//! Kubernetes protobuf request bodies, decoded into the JSON the rest of the server works on.
//!
//! Typed clients (kubectl 1.31+ for `create configmap|secret|deployment|...`, `auth whoami`,
//! `auth can-i`, `create token`, drain's evictions) send built-in kinds as
//! `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a `runtime.Unknown` envelope
//! {1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType} whose `raw`
//! is the object's message. [`decode`] turns that into the object's Kubernetes JSON form.
//!
//! The wire layout of every message (field numbers, kinds, JSON names) is generated data in
//! `fields.rs` (`scripts/gen-protobuf-fields.py`); `wire` reads the protobuf encoding and `json`
//! maps messages to JSON, including the types whose JSON is not an object (int-or-string,
//! quantities, times, embedded raw JSON, ...).
//!
//! Presence follows the wire: a field on the wire is in the JSON, even with a zero value. Go
//! clients write every non-pointer field, so expect `"namespace": ""`, `"stdin": false` and the
//! like where their JSON would have omitted them (Go treats both the same).

use std::fmt;

use serde_json::{Map, Value};

mod fields;
mod json;
mod wire;

use wire::{Reader, WireValue};

/// The media type typed clients send bodies in (parameters aside).
const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The prefix of every Kubernetes protobuf document.
const MAGIC: &[u8] = b"k8s\0";
/// Deeper nesting than any real object has; bounds recursion on hostile input.
const MAX_DEPTH: usize = 100;

/// Whether a Content-Type header names Kubernetes protobuf.
pub fn is_protobuf(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case(MEDIA_TYPE)
}

/// Decodes a Kubernetes protobuf document into the object's JSON, `apiVersion` and `kind` first.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_envelope(body, 0)
}

/// Why a body could not be decoded; the server answers 400 Bad Request with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    MissingMagic,
    /// The input ends inside a field.
    Truncated,
    /// An encoding error: bad wire type, overlong varint, invalid embedded JSON, ...
    Malformed(String),
    /// The envelope names a type this server has no protobuf layout for.
    UnknownType { api_version: String, kind: String },
}

impl fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingMagic => write!(f, "the body is not Kubernetes protobuf: it lacks the k8s\\0 prefix"),
            Self::Truncated => write!(f, "unexpected end of protobuf input"),
            Self::Malformed(why) => write!(f, "malformed protobuf input: {why}"),
            Self::UnknownType { api_version, kind } => {
                write!(f, "unknown protobuf type {api_version}, Kind={kind}")
            }
        }
    }
}

impl std::error::Error for ProtobufError {}

/// A message decoded field by field into a JSON object: (OpenAPI definition name, fields sorted
/// by number).
pub struct Message(pub &'static str, pub &'static [Field]);

/// One field: (number, JSON name, label, kind). For maps the label carries the key's kind and
/// the kind is the value's; an inlined field has no JSON name of its own.
pub struct Field(pub u32, pub &'static str, pub Label, pub Kind);

/// How a field's value is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// JSON: standard base64 with padding.
    Bytes,
    Bool,
    I32,
    I64,
    F64,
    /// A message, by OpenAPI definition name.
    Msg(&'static str),
}

/// How often a field occurs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// At most once (proto2 optional: absent means omitted).
    Opt,
    Rep,
    /// A map: entries {1: key of this kind, 2: value of the field's kind}.
    Map(Kind),
    /// A struct Go embeds: its fields belong to the enclosing JSON object.
    Inline,
}

/// The layout of a message decoded field by field.
fn message_layout(name: &str) -> Option<&'static Message> {
    let i = fields::MESSAGES.binary_search_by(|m| m.0.cmp(name)).ok()?;
    fields::MESSAGES.get(i)
}

/// The message a (apiVersion, kind) envelope carries.
fn root_message(api_version: &str, kind: &str) -> Option<&'static str> {
    let i = fields::ROOTS.binary_search_by(|(a, k, _)| (*a, *k).cmp(&(api_version, kind))).ok()?;
    fields::ROOTS.get(i).map(|(_, _, name)| *name)
}

/// Decodes `k8s\0` + runtime.Unknown; also used for objects embedded as raw protobuf.
fn decode_envelope(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let unknown = body.strip_prefix(MAGIC).ok_or(ProtobufError::MissingMagic)?;
    let (mut api_version, mut kind, mut raw, mut encoding) = (String::new(), String::new(), &[][..], &[][..]);
    let mut reader = Reader::new(unknown);
    while let Some((number, value)) = reader.next_field()? {
        match (number, value) {
            (1, WireValue::Bytes(type_meta)) => {
                let mut reader = Reader::new(type_meta);
                while let Some((number, value)) = reader.next_field()? {
                    match (number, value) {
                        (1, WireValue::Bytes(b)) => api_version = String::from_utf8_lossy(b).into_owned(),
                        (2, WireValue::Bytes(b)) => kind = String::from_utf8_lossy(b).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, WireValue::Bytes(b)) => raw = b,
            (3, WireValue::Bytes(b)) => encoding = b,
            // contentType: Go clients send an empty one.
            (4, WireValue::Bytes(_)) => {}
            (1..=4, _) => return Err(ProtobufError::Malformed(format!("wrong wire type for envelope field {number}"))),
            _ => {}
        }
    }
    if !encoding.is_empty() {
        // Upstream defines no content encoding for bodies; a compressed one would decode as garbage.
        let encoding = String::from_utf8_lossy(encoding);
        return Err(ProtobufError::Malformed(format!("unsupported content encoding {encoding:?}")));
    }
    // Every group-version registers meta/v1's DeleteOptions (and the options kinds); a group
    // this server learnt at run time (a custom resource's) has no row of its own.
    let root = root_message(&api_version, &kind).or_else(|| root_message("meta.k8s.io/v1", &kind));
    let Some(layout) = root.and_then(message_layout) else {
        return Err(ProtobufError::UnknownType { api_version, kind });
    };
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::String(api_version));
    object.insert("kind".to_owned(), Value::String(kind));
    object.extend(json::object(layout, raw, depth + 1)?);
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Protobuf encoding helpers for hand-built messages.
    pub(super) fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    pub(super) fn field_varint(number: u32, v: u64) -> Vec<u8> {
        let mut out = varint(u64::from(number) << 3);
        out.extend(varint(v));
        out
    }

    pub(super) fn field_bytes(number: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = varint((u64::from(number) << 3) | 2);
        out.extend(varint(bytes.len() as u64));
        out.extend_from_slice(bytes);
        out
    }

    pub(super) fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        envelope_with_content_type(api_version, kind, raw, b"")
    }

    /// As Go clients write it: typeMeta, raw, an empty contentEncoding and contentType.
    fn envelope_with_content_type(api_version: &str, kind: &str, raw: &[u8], content_type: &[u8]) -> Vec<u8> {
        let type_meta = [field_bytes(1, api_version.as_bytes()), field_bytes(2, kind.as_bytes())].concat();
        [
            MAGIC.to_vec(),
            field_bytes(1, &type_meta),
            field_bytes(2, raw),
            field_bytes(3, b""),
            field_bytes(4, content_type),
        ]
        .concat()
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for pair in fields::MESSAGES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for message in fields::MESSAGES {
            for pair in message.1.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{}: field {} before {}", message.0, pair[0].0, pair[1].0);
            }
        }
        for pair in fields::ROOTS.windows(2) {
            assert!((pair[0].0, pair[0].1) < (pair[1].0, pair[1].1), "{:?} before {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn every_referenced_message_has_a_layout() {
        for message in fields::MESSAGES {
            for field in message.1 {
                if let Kind::Msg(name) = field.3 {
                    assert!(
                        message_layout(name).is_some() || json::is_special(name),
                        "{}.{} names {name}",
                        message.0,
                        field.1
                    );
                }
            }
        }
        for (api_version, kind, name) in fields::ROOTS {
            assert!(message_layout(name).is_some(), "{api_version} {kind}: {name}");
        }
    }

    #[test]
    fn recognises_the_media_type() {
        assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
        assert!(is_protobuf("Application/VND.Kubernetes.Protobuf ; charset=utf-8"));
        assert!(!is_protobuf("application/json"));
        assert!(!is_protobuf("application/vnd.kubernetes.protobuf.extra"));
        assert!(!is_protobuf(""));
    }

    #[test]
    fn decodes_a_configmap() {
        let entry = |k: &str, v: &[u8]| field_bytes(2, &[field_bytes(1, k.as_bytes()), field_bytes(2, v)].concat());
        // Go sends its zero namespace and a zero time; neither appears in the JSON.
        let meta = [field_bytes(1, b"cm"), field_bytes(3, b""), field_bytes(8, &[])].concat();
        let labels = field_bytes(11, &[field_bytes(1, b"app"), field_bytes(2, b"web")].concat());
        let raw = [
            field_bytes(1, &[meta, labels].concat()),
            entry("a", b"1"),
            entry("b", b""),
            field_bytes(3, &[field_bytes(1, b"bin"), field_bytes(2, &[0, 1, 2, 255])].concat()),
            field_varint(4, 1),
            field_varint(99, 7), // unknown: skipped
        ]
        .concat();
        let decoded = decode(&envelope("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            decoded,
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                // A Go client's zero creationTimestamp (an empty message) is omitted.
                "metadata": {"name": "cm", "labels": {"app": "web"}},
                "data": {"a": "1", "b": ""},
                "binaryData": {"bin": "AAEC/w=="},
                "immutable": true,
            })
        );
        let keys: Vec<_> = decoded.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "data", "binaryData", "immutable"]);
    }

    #[test]
    fn inlines_embedded_structs() {
        // ConfigMapKeySelector embeds LocalObjectReference (field 1) and has key (2).
        let selector = [field_bytes(1, &field_bytes(1, b"settings")), field_bytes(2, b"mode")].concat();
        let env_source = field_bytes(3, &selector);
        let env = [field_bytes(1, b"MODE"), field_bytes(3, &env_source)].concat();
        let container = [field_bytes(1, b"app"), field_bytes(7, &env)].concat();
        let pod_spec = field_bytes(2, &container);
        let raw = [field_bytes(1, &field_bytes(1, b"p")), field_bytes(2, &pod_spec)].concat();
        let decoded = decode(&envelope("v1", "Pod", &raw)).unwrap();
        assert_eq!(
            decoded["spec"]["containers"][0]["env"][0],
            json!({"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}})
        );
    }

    #[test]
    fn rejects_bad_envelopes() {
        assert_eq!(decode(b"{}"), Err(ProtobufError::MissingMagic));
        let unknown = decode(&envelope("apps/v1", "Foo", &[])).unwrap_err();
        assert_eq!(unknown.to_string(), "unknown protobuf type apps/v1, Kind=Foo");
        let mut truncated = envelope("v1", "ConfigMap", &field_bytes(1, &field_bytes(1, b"cm")));
        truncated.pop();
        assert_eq!(decode(&truncated), Err(ProtobufError::Truncated));
        let encoded = [envelope("v1", "ConfigMap", &[]), field_bytes(3, b"gzip")].concat();
        assert!(decode(&encoded).unwrap_err().to_string().contains("gzip"));
        // A string field sent as a varint.
        let wrong = envelope("v1", "ConfigMap", &field_bytes(1, &field_varint(1, 5)));
        assert!(matches!(decode(&wrong), Err(ProtobufError::Malformed(_))));
    }

    #[test]
    fn bounds_nesting() {
        // JSONSchemaProps.not (28) nested far deeper than MAX_DEPTH.
        let mut schema = Vec::new();
        for _ in 0..MAX_DEPTH + 10 {
            schema = field_bytes(28, &schema);
        }
        let validation = field_bytes(1, &schema);
        let version = [field_bytes(1, b"v1"), field_bytes(4, &validation)].concat();
        let spec = field_bytes(7, &version);
        let raw = field_bytes(2, &spec);
        let err = decode(&envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", &raw)).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
    }
}

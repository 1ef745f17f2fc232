//! Shapes of the fact tables in `facts.rs` and lookups over them.

use super::facts::{FIELDS, KINDS, NAMES, PREFIXES, TYPES};

/// How a Go type is encoded by encoding/json.  Not every kind occurs in the current facts
/// (no 1.33 API type uses fixed arrays, float32 or metav1.Duration, for instance).
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A struct: its fields are `FIELDS[a..a + b]`, in output order.
    Struct,
    /// `*T`, T = `TYPES[a]`.
    Ptr,
    /// `[]T`, T = `TYPES[a]` (never `[]byte`, which is `Bytes`).
    Slice,
    /// `[N]T`, T = `TYPES[a]`, N = b.
    Array,
    /// `map[K]V`, K = `TYPES[a]` (a string or integer kind), V = `TYPES[b]`.
    Map,
    String,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    /// `[]byte`: base64 text.
    Bytes,
    /// `interface{}`: whatever JSON was decoded.
    Any,
    /// metav1.Time: RFC 3339 seconds, `null` when zero.
    Time,
    /// metav1.MicroTime: RFC 3339 with exactly six fraction digits, `null` when zero.
    MicroTime,
    /// metav1.Duration: Go duration text.
    Duration,
    /// resource.Quantity: canonical quantity text.
    Quantity,
    /// intstr.IntOrString: an int32 or a string.
    IntOrString,
    /// runtime.RawExtension / runtime.Unknown: raw JSON kept as is, `null` when empty.
    RawExtension,
    /// metav1.FieldsV1: raw JSON kept as is, `null` when empty.
    FieldsV1,
    /// metav1.GroupVersion: "group/version" text.
    GroupVersion,
    /// apiextensions JSON: raw JSON kept as is, `null` when empty.
    Json,
    /// apiextensions JSONSchemaPropsOrArray; JSONSchemaProps = `TYPES[a]`.
    SchemaOrArray,
    /// apiextensions JSONSchemaPropsOrBool; JSONSchemaProps = `TYPES[a]`.
    SchemaOrBool,
    /// apiextensions JSONSchemaPropsOrStringArray; JSONSchemaProps = `TYPES[a]`.
    SchemaOrStringArray,
}

/// One entry of the type table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ty(pub Kind, pub u16, pub u16);

/// One struct field: JSON name, type index, flags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct F(pub &'static str, pub u16, pub u8);

pub(crate) const OMITEMPTY: u8 = 1;
pub(crate) const OMITZERO: u8 = 2;

pub(crate) fn ty(idx: u16) -> Ty {
    TYPES[idx as usize]
}

pub(crate) fn fields(t: Ty) -> &'static [F] {
    debug_assert_eq!(t.0, Kind::Struct);
    &FIELDS[t.1 as usize..t.1 as usize + t.2 as usize]
}

fn names_position(definition: &str) -> Option<usize> {
    let (prefix, short) = definition.rsplit_once('.')?;
    let p = PREFIXES.binary_search(&prefix).ok()? as u8;
    NAMES.binary_search_by(|&(np, ns, _)| (np, ns).cmp(&(p, short))).ok()
}

/// The type index of an OpenAPI definition name.
pub(crate) fn lookup(definition: &str) -> Option<u16> {
    names_position(definition).map(|i| NAMES[i].2)
}

pub(crate) fn name_at(pos: usize) -> String {
    let (p, short, _) = NAMES[pos];
    format!("{}.{}", PREFIXES[p as usize], short)
}

/// The definition name of a registered apiVersion/kind.
pub(crate) fn lookup_kind(api_version: &str, kind: &str) -> Option<usize> {
    KINDS
        .binary_search_by(|&(gv, pos)| (gv, NAMES[pos as usize].1).cmp(&(api_version, kind)))
        .ok()
        .map(|i| KINDS[i].1 as usize)
}

pub(crate) fn all_names() -> impl Iterator<Item = String> {
    (0..NAMES.len()).map(name_at)
}

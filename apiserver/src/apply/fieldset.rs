//! Field paths and field sets (what a manager owns), their upstream ordering, and the FieldsV1
//! encoding stored in `metadata.managedFields[].fieldsV1`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Number, Value};

/// One step of a field path.
#[derive(Debug, Clone)]
pub(crate) enum PathElement {
    /// A struct field or a map key: `f:<name>`.
    Field(String),
    /// A list-map item, by its key fields sorted by name: `k:{"name":"x"}`.
    Key(Vec<(String, Value)>),
    /// A set item, by value: `v:"x"`.
    Value(Value),
    /// A list position: `i:3`. Only read; Kubernetes types never produce it.
    Index(i64),
}

pub(crate) type Path = Vec<PathElement>;

impl PathElement {
    /// A key element, its fields sorted by name as upstream keeps them.
    pub(crate) fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Self::Key(fields)
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }

    /// The FieldsV1 key of this element.
    pub(crate) fn encode(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go_json_string(name, &mut out);
                    out.push(':');
                    go_json(value, &mut out);
                }
                out.push('}');
                out
            }
            Self::Value(value) => {
                let mut out = String::from("v:");
                go_json(value, &mut out);
                out
            }
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Reads a FieldsV1 key; `Ok(None)` for a kind of element this version does not know,
    /// which upstream skips rather than rejects.
    pub(crate) fn decode(key: &str) -> Result<Option<Self>, String> {
        let bytes = key.as_bytes();
        if bytes.len() < 2 {
            return Err(format!("key must be 2 characters long: {key:?}"));
        }
        if bytes[1] != b':' {
            return Err(format!("missing colon: {key}"));
        }
        let rest = &key[2..];
        let element = match bytes[0] {
            b'f' => Self::Field(rest.to_owned()),
            b'v' => Self::Value(serde_json::from_str(rest).map_err(|e| format!("parsing {key:?}: {e}"))?),
            b'k' => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(fields)) => Self::key(fields.into_iter().collect()),
                Ok(_) => return Err(format!("parsing {key:?}: key must be an object")),
                Err(e) => return Err(format!("parsing {key:?}: {e}")),
            },
            b'i' => Self::Index(rest.parse().map_err(|e| format!("parsing {key:?}: {e}"))?),
            _ => return Ok(None),
        };
        Ok(Some(element))
    }
}

impl Ord for PathElement {
    /// Upstream's order: fields, then keys, then values, then indices.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Key(a), Self::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b) {
                    let c = an.cmp(bn).then_with(|| compare_values(av, bv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Self::Value(a), Self::Value(b)) => compare_values(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// Upstream's text for a path element, as conflict messages print it: `.spec`,
/// `[name="nginx"]`, `[="a"]`, `[0]`.
impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={}", go_display(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            Self::Value(value) => write!(f, "[={}]", go_display(value)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path as upstream prints it: `.spec.template.spec.containers[name="app"].image`.
pub(crate) fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths. A path is in the set when its last element is a member of the node
/// its prefix leads to; owning `.spec.template` and owning something under it are distinct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    members: BTreeSet<PathElement>,
    /// Never holds an empty set.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds `path`; the empty path names the root, which a set cannot hold.
    pub(crate) fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            // Looked up before inserting: cloning the element every time (entry API) made the
            // clones most of the cost of recording managedFields.
            [first, rest @ ..] => match self.children.get_mut(first) {
                Some(child) => child.insert(rest),
                None => {
                    let mut child = FieldSet::default();
                    child.insert(rest);
                    self.children.insert(first.clone(), child);
                }
            },
        }
    }

    /// Adds every path of `other` (an in-place [`union`](Self::union)).
    pub(crate) fn merge(&mut self, mut other: FieldSet) {
        self.members.append(&mut other.members);
        for (pe, set) in other.children {
            match self.children.get_mut(&pe) {
                Some(mine) => mine.merge(set),
                None => {
                    self.children.insert(pe, set);
                }
            }
        }
    }

    /// Drops the paths of `other`, and with `recursive` everything under its members too (an
    /// in-place [`difference`](Self::difference) or
    /// [`recursive_difference`](Self::recursive_difference)).
    pub(crate) fn remove(&mut self, other: &FieldSet, recursive: bool) {
        if other.is_empty() {
            return;
        }
        for pe in &other.members {
            self.members.remove(pe);
            if recursive {
                self.children.remove(pe);
            }
        }
        for (pe, theirs) in &other.children {
            if let Some(mine) = self.children.get_mut(pe) {
                mine.remove(theirs, recursive);
                if mine.is_empty() {
                    self.children.remove(pe);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    pub(crate) fn is_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The paths under `pe`, without it.
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    pub(crate) fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    pub(crate) fn add_member(&mut self, pe: PathElement) {
        self.members.insert(pe);
    }

    pub(crate) fn set_child(&mut self, pe: PathElement, set: FieldSet) {
        if set.is_empty() {
            self.children.remove(&pe);
        } else {
            self.children.insert(pe, set);
        }
    }

    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, set) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(set),
                None => set.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.intersection(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, set) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                out.set_child(pe.clone(), set.intersection(theirs));
            }
        }
        out
    }

    /// The paths of `self` that `other` lacks.
    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out =
            FieldSet { members: self.members.difference(&other.members).cloned().collect(), children: BTreeMap::new() };
        for (pe, set) in &self.children {
            match other.children.get(pe) {
                Some(theirs) => out.set_child(pe.clone(), set.difference(theirs)),
                None => out.set_child(pe.clone(), set.clone()),
            }
        }
        out
    }

    /// Like [`difference`](Self::difference), and a member of `other` also removes everything
    /// under it.
    pub(crate) fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let mut out =
            FieldSet { members: self.members.difference(&other.members).cloned().collect(), children: BTreeMap::new() };
        for (pe, set) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            match other.children.get(pe) {
                Some(theirs) => out.set_child(pe.clone(), set.recursive_difference(theirs)),
                None => out.set_child(pe.clone(), set.clone()),
            }
        }
        out
    }

    /// Every path, in upstream's order: this node's members, then each child's paths.
    pub(crate) fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut path = prefix.clone();
            path.push(pe.clone());
            out.push(path);
        }
        for (pe, set) in &self.children {
            prefix.push(pe.clone());
            set.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 form: `{"f:data": {"f:key": {}}}`, with `".": {}` where a path that has
    /// children is itself a member.
    pub(crate) fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode_level(false))
    }

    fn encode_level(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let order = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(m), Some((c, _))) => (*m).cmp(*c),
            };
            match order {
                Ordering::Less => {
                    if let Some(pe) = members.next() {
                        out.insert(pe.encode(), Value::Object(Map::new()));
                    }
                }
                Ordering::Greater => {
                    if let Some((pe, set)) = children.next() {
                        out.insert(pe.encode(), Value::Object(set.encode_level(false)));
                    }
                }
                Ordering::Equal => {
                    members.next();
                    if let Some((pe, set)) = children.next() {
                        out.insert(pe.encode(), Value::Object(set.encode_level(true)));
                    }
                }
            }
        }
        out
    }

    /// Reads the FieldsV1 form; `null` is the empty set.
    pub(crate) fn from_fields_v1(value: &Value) -> Result<FieldSet, String> {
        match value {
            Value::Null => Ok(FieldSet::default()),
            Value::Object(map) => Ok(Self::decode_level(map)?.0),
            other => Err(format!("fieldsV1 must be an object, got {other}")),
        }
    }

    /// The set under one node, and whether the node itself is a member: it is when it says
    /// `"."`, or when it has nothing under it.
    fn decode_level(map: &Map<String, Value>) -> Result<(FieldSet, bool), String> {
        let mut set = FieldSet::default();
        let mut is_member = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::decode(key)? else { continue };
            let Value::Object(inner) = value else {
                return Err(format!("value of {key:?} must be an object"));
            };
            let (below, member) = Self::decode_level(inner)?;
            if member {
                set.members.insert(pe.clone());
            }
            if !below.is_empty() {
                match set.children.get_mut(&pe) {
                    Some(existing) => existing.merge(below),
                    None => {
                        set.children.insert(pe, below);
                    }
                }
            }
        }
        let member = is_member || set.is_empty();
        Ok((set, member))
    }
}

/// A JSON number as upstream tells them apart: integers and floats are different kinds.
enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(0.0))
    }
}

fn as_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
    }
}

/// Upstream's total order over values: numbers, strings, booleans, lists, maps, null; integers
/// and floats compare numerically.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn type_rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (num(x), num(y)) {
            (Num::Int(i), Num::Int(j)) => i.cmp(&j),
            (x, y) => as_f64(&x).partial_cmp(&as_f64(&y)).unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y) {
                let c = compare_values(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((xk, xv), (yk, yv)) in xs.iter().zip(&ys) {
                let c = xk.cmp(yk).then_with(|| compare_values(xv, yv));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// Deep equality as upstream judges a changed leaf: `1` and `1.0` are equal, key order is not
/// significant.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (num(x), num(y)) {
            (Num::Int(i), Num::Int(j)) => i == j,
            (x, y) => as_f64(&x) == as_f64(&y),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(i, j)| values_equal(i, j)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Writes `s` as Go's encoding/json does (HTML-safe escapes included), so keys inside FieldsV1
/// read exactly like upstream's.
pub(crate) fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's JSON for a value: map keys sorted, floats without a trailing `.0`.
pub(crate) fn go_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::String(s) => go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(v, out);
            }
            out.push('}');
        }
    }
}

fn go_number(n: &Number) -> String {
    match num(n) {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => {
            let abs = f.abs();
            if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                // Go writes exponents with a sign: 1e+21.
                let s = format!("{f:e}");
                match s.split_once('e') {
                    Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
                    _ => s,
                }
            } else {
                format!("{f}")
            }
        }
    }
}

/// A value as upstream prints it in a path (Go `%q` for strings).
fn go_display(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        Value::Number(n) => go_number(n),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_display).collect::<Vec<_>>().join(",")),
        Value::Object(map) => map.iter().map(|(k, v)| format!("{k}={}", go_display(v))).collect(),
    }
}

/// Go's `%q`: a double-quoted string with Go escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

//! Field selectors (`fieldSelector=`): upstream's term syntax and value
//! escaping, the canonical string form, and matching. Which fields a resource
//! can be filtered on, and how a field reads from an object, is in
//! `field_sets`; its entry points are re-exported here.

use std::fmt;
use std::str::FromStr;

pub use super::field_sets::{
    convert, convert_field_label, convert_field_label_versioned, custom_field_value, field_value, matches_object,
    supported_fields, validate, validate_custom, validate_versioned,
};

/// A field selector that cannot be parsed or is not supported for a resource.
/// `message()` is the text the apiserver returns in a 400 BadRequest Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    message: String,
}

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        FieldError { message: message.into() }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

/// `==` parses to `Equals`: upstream keeps no distinction after parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Equals,
    NotEquals,
}

/// One `field=value` or `field!=value` term; `value` is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub field: String,
    pub operator: Operator,
    pub value: String,
}

impl Requirement {
    /// `actual` is the object's value for the field; a missing field compares
    /// as the empty string, as upstream's `fields.Set.Get` does.
    pub fn matches(&self, actual: Option<&str>) -> bool {
        let equal = actual.unwrap_or("") == self.value;
        match self.operator {
            Operator::Equals => equal,
            Operator::NotEquals => !equal,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::NotEquals => "!=",
        };
        write!(f, "{}{}{}", self.field, op, escape_value(&self.value))
    }
}

/// A conjunction of field requirements; no requirements matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    pub fn everything() -> Selector {
        Selector::default()
    }

    pub fn from_requirements(requirements: Vec<Requirement>) -> Selector {
        Selector { requirements }
    }

    /// Parses like upstream `fields.ParseSelector`. Terms are processed in
    /// sorted order of their raw text, which fixes the canonical form and
    /// which error is reported first. No whitespace is trimmed.
    pub fn parse(s: &str) -> Result<Selector, FieldError> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut requirements = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, op, raw)) = split_term(part) else {
                return Err(FieldError::new(format!("invalid selector: '{s}'; can't understand '{part}'")));
            };
            let operator = if op == "!=" { Operator::NotEquals } else { Operator::Equals };
            requirements.push(Requirement { field: field.to_string(), operator, value: unescape_value(raw)? });
        }
        Ok(Selector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// `get` returns an object's value for a field (None = missing = "").
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches(get(&r.field).as_deref()))
    }

    /// The value a field must equal for this selector to match, if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements.iter().find(|r| r.operator == Operator::Equals && r.field == field).map(|r| r.value.as_str())
    }

    /// Rewrites every term through `f(field, value)` (upstream `Transform`);
    /// a term mapped to an empty field and value is dropped.
    pub fn transform(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(String, String), FieldError>,
    ) -> Result<Selector, FieldError> {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for r in &self.requirements {
            let (field, value) = f(&r.field, &r.value)?;
            if !(field.is_empty() && value.is_empty()) {
                requirements.push(Requirement { field, operator: r.operator, value });
            }
        }
        Ok(Selector { requirements })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Selector, FieldError> {
        Selector::parse(s)
    }
}

/// Parses a field selector string (upstream `fields.ParseSelector`).
pub fn parse(s: &str) -> Result<Selector, FieldError> {
    Selector::parse(s)
}

// Splits on commas not preceded by a backslash; escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut in_slash) = (0, false);
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

// The first operator occurrence splits the term; `!=` and `==` are tried
// before `=` so that no `=` is left on either side.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

/// Escapes `\`, `,` and `=` so a literal value survives `parse`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses `escape_value`; unknown escapes and bare `,`/`=` are errors worded
/// as upstream (which prints the offending character as its code point).
pub fn unescape_value(s: &str) -> Result<String, FieldError> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldError::new(format!("invalid field selector: invalid escape sequence: \\{c}")));
            }
            out.push(c);
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' || c == '=' {
            return Err(FieldError::new(format!("invalid field selector: unescaped character in value: {}", c as u32)));
        } else {
            out.push(c);
        }
    }
    if in_slash {
        return Err(FieldError::new("invalid field selector: invalid escape sequence: \\"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_canonical_form() {
        let cases = [
            ("", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a!=b", "a!=b"),
            ("b=1,a=2", "a=2,b=1"),
            ("a=", "a="),
            ("=", "="),
            ("a=b,", "a=b"),
            (",,a=b", "a=b"),
            ("a = b", "a = b"),
            (r"a=b\,c", r"a=b\,c"),
            (r"a=b\=c\\d", r"a=b\=c\\d"),
            ("metadata.name=x,spec.nodeName!=", "metadata.name=x,spec.nodeName!="),
            // Raw-text sort: "x!=1" < "x=2" because '!' < '='.
            ("x=2,x!=1", "x!=1,x=2"),
        ];
        for (input, want) in cases {
            let sel = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(sel.to_string(), want, "input {input:?}");
        }
        let sel = Selector::parse(r"a=x\,y,b!=").unwrap_or_default();
        let reqs = sel.requirements();
        assert_eq!(reqs.len(), 2);
        assert_eq!((reqs[0].field.as_str(), reqs[0].operator, reqs[0].value.as_str()), ("a", Operator::Equals, "x,y"));
        assert_eq!((reqs[1].field.as_str(), reqs[1].operator, reqs[1].value.as_str()), ("b", Operator::NotEquals, ""));
        assert_eq!("a=b".parse::<Selector>().map(|s| s.to_string()).ok().as_deref(), Some("a=b"));
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("x=1,ab", "invalid selector: 'x=1,ab'; can't understand 'ab'"),
            ("a=b=c", "invalid field selector: unescaped character in value: 61"),
            // `!=` wins at the first operator position, leaving a bare `=`.
            ("a!==b", "invalid field selector: unescaped character in value: 61"),
            ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
            (r"a=b\,c,d", "invalid selector: 'a=b\\,c,d'; can't understand 'd'"),
            (r"a=b\c", "invalid field selector: invalid escape sequence: \\c"),
            (r"a=b\", "invalid field selector: invalid escape sequence: \\"),
        ];
        for (input, want) in cases {
            assert_eq!(Selector::parse(input), Err(FieldError::new(want)), "input {input:?}");
        }
    }

    #[test]
    fn escaping_round_trips() {
        for raw in ["", "plain", "a,b", "a=b", r"a\b", r"\,=\\", "ünï,cødé"] {
            assert_eq!(unescape_value(&escape_value(raw)).as_deref(), Ok(raw));
            let sel = Selector::parse(&format!("f={}", escape_value(raw))).unwrap_or_default();
            assert_eq!(sel.requirements().first().map(|r| r.value.as_str()), Some(raw));
        }
    }

    #[test]
    fn matching_treats_missing_as_empty() {
        let get = |f: &str| match f {
            "status.phase" => Some("Running".to_string()),
            "spec.nodeName" => Some(String::new()),
            _ => None,
        };
        let cases = [
            ("", true),
            ("status.phase=Running", true),
            ("status.phase==Running", true),
            ("status.phase!=Running", false),
            ("status.phase=Pending", false),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("missing=", true),
            ("missing!=x", true),
            ("missing=x", false),
            ("status.phase=Running,spec.nodeName=", true),
            ("status.phase=Running,spec.nodeName=n1", false),
        ];
        for (input, want) in cases {
            let sel = Selector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(sel.matches(get), want, "{input}");
        }
    }

    #[test]
    fn transform_and_exact_match() {
        let sel = Selector::parse("spec.host=n1,status.phase!=Failed").unwrap_or_default();
        assert_eq!(sel.requires_exact_match("spec.host"), Some("n1"));
        assert_eq!(sel.requires_exact_match("status.phase"), None);
        let renamed = sel.transform(|f, v| {
            Ok((if f == "spec.host" { "spec.nodeName".to_string() } else { f.to_string() }, v.to_string()))
        });
        assert_eq!(renamed.map(|s| s.to_string()), Ok("spec.nodeName=n1,status.phase!=Failed".to_string()));
        let dropped = sel.transform(|_, _| Ok((String::new(), String::new())));
        assert!(dropped.map(|s| s.is_empty()).unwrap_or(false));
        let failed = sel.transform(|f, _| Err(FieldError::new(format!("no {f}"))));
        assert_eq!(failed, Err(FieldError::new("no spec.host")));
    }
}

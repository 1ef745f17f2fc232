//! Label selectors: the `labelSelector=` string syntax, the structured
//! `metav1.LabelSelector` form, matching against `metadata.labels`, and the
//! canonical string form. Parsing, validation and error wording track
//! k8s.io/apimachinery (Kubernetes 1.33) because clients compare them.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde_json::{Map, Value};

/// A label selector that cannot be parsed or built. `message()` is the text
/// the apiserver returns in a 400 BadRequest Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    message: String,
}

impl SelectorError {
    pub fn new(message: impl Into<String>) -> Self {
        SelectorError { message: message.into() }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectorError {}

/// Requirement operators (k8s.io/apimachinery/pkg/selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

impl Operator {
    /// Upstream's name for the operator (used in error messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One `key <op> values` term. Built only through `Requirement::new`, so every
/// instance has passed upstream's validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Validates like upstream `labels.NewRequirement` (no field path prefix):
    /// every problem is reported, aggregated as upstream does.
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Result<Requirement, SelectorError> {
        let key = key.into();
        let mut errs: Vec<String> = key_error(&key, "key").into_iter().collect();
        let whole = |detail: &str| invalid("values", &BadValue::List(&values), detail);
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                errs.push(whole("for 'in', 'notin' operators, values set can't be empty"))
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
                errs.push(whole("exact-match compatibility requires one single value"))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errs.push(whole("values set must be empty for exists and does not exist"))
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(whole("for 'Gt', 'Lt' operators, exactly one value is required"));
                }
                for (i, v) in values.iter().enumerate().filter(|(_, v)| v.parse::<i64>().is_err()) {
                    let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
                    errs.push(invalid(&format!("values[{i}]"), &BadValue::Str(v), detail));
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let problems = label_value_errors(v);
            if !problems.is_empty() {
                errs.push(invalid(&format!("values[{i}][{key}]"), &BadValue::Str(v), &problems.join("; ")));
            }
        }
        match aggregate(errs) {
            Some(msg) => Err(SelectorError::new(msg)),
            None => Ok(Requirement { key, operator, values }),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// Values in the order given (the parser yields them sorted and unique).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a label set satisfies this requirement; `get` returns the value
    /// of a label or `None` when the label is absent.
    pub fn matches_with<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        let actual = get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => actual.is_some_and(|v| self.has_value(v)),
            Operator::NotIn | Operator::NotEquals => actual.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => actual.is_some(),
            Operator::DoesNotExist => actual.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Non-integer label values never match, as upstream.
                let (Some(Ok(have)), [want]) = (actual.map(str::parse::<i64>), self.values.as_slice()) else {
                    return false;
                };
                match want.parse::<i64>() {
                    Ok(want) if self.operator == Operator::GreaterThan => have > want,
                    Ok(want) => have < want,
                    Err(_) => false,
                }
            }
        }
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, parens) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        // Value order is normalised on output only, like upstream String().
        let mut vals: Vec<&str> = self.values.iter().map(String::as_str).collect();
        vals.sort_unstable();
        let (open, close) = if parens { ("(", ")") } else { ("", "") };
        write!(f, "{op}{open}{}{close}", vals.join(","))
    }
}

/// A conjunction of requirements. No requirements matches everything; the
/// special "nothing" selector (a nil `metav1.LabelSelector`) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Selector {
    pub fn everything() -> Selector {
        Selector::default()
    }

    pub fn nothing() -> Selector {
        Selector { requirements: Vec::new(), nothing: true }
    }

    /// Builds a selector; requirements are kept sorted by key (stable), which
    /// fixes the canonical string form as upstream's `Add` does.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Selector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector { requirements, nothing: false }
    }

    /// Parses upstream's label selector string syntax (`labels.Parse`).
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        Parser::new(s).parse().map(Selector::from_requirements)
    }

    pub fn add(&mut self, requirement: Requirement) {
        if self.nothing {
            return;
        }
        let at = self.requirements.partition_point(|r| r.key <= requirement.key);
        self.requirements.insert(at, requirement);
    }

    /// True for the match-everything selector (upstream `Empty()`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Matches `metadata.labels` as stored in an object (`None` = no labels).
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|m| m.get(k)).map(label_text);
        self.matches_with(&get)
    }

    /// Matches an arbitrary label source; `get` returns a label's value.
    pub fn matches_with<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches_with(get))
    }

    /// The value a label must have for this selector to match, if it pins one
    /// (`=`, `==`, or `in` with a single value) — useful for index lookups.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        self.requirements.iter().find_map(|r| match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) if r.key == key => Some(v.as_str()),
            _ => None,
        })
    }
}

// Labels are strings once validated; any other JSON reads as an empty value.
fn label_text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

impl fmt::Display for Selector {
    /// Canonical form; like upstream, "nothing" also prints as "".
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
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        Selector::parse(s)
    }
}

/// Parses a label selector string (upstream `labels.Parse`).
pub fn parse(s: &str) -> Result<Selector, SelectorError> {
    Selector::parse(s)
}

/// Converts `metav1.LabelSelector` JSON like upstream `LabelSelectorAsSelector`:
/// JSON `null` (a nil selector) matches nothing, an object with no
/// `matchLabels`/`matchExpressions` matches everything.
pub fn from_label_selector(sel: &Value) -> Result<Selector, SelectorError> {
    let obj = match sel {
        Value::Null => return Ok(Selector::nothing()),
        Value::Object(o) => o,
        _ => return Err(SelectorError::new("label selector must be an object")),
    };
    let match_labels = match obj.get("matchLabels") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err(SelectorError::new("matchLabels must be an object")),
    };
    let exprs = match obj.get("matchExpressions") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(SelectorError::new("matchExpressions must be an array")),
    };
    let mut reqs = Vec::new();
    for (k, v) in match_labels.into_iter().flatten() {
        let Value::String(v) = v else {
            return Err(SelectorError::new(format!("matchLabels[{k}] must be a string")));
        };
        reqs.push(Requirement::new(k.clone(), Operator::Equals, vec![v.clone()])?);
    }
    for expr in exprs {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
        let op_text = expr.get("operator").and_then(Value::as_str).unwrap_or("");
        let op = match op_text {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => {
                return Err(SelectorError::new(format!("{} is not a valid label selector operator", go_quote(other))));
            }
        };
        let values = match expr.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| SelectorError::new("matchExpressions values must be strings"))?,
            Some(_) => return Err(SelectorError::new("matchExpressions values must be an array")),
        };
        reqs.push(Requirement::new(key, op, values)?);
    }
    Ok(Selector::from_requirements(reqs))
}

/// `from_label_selector` for an optional field: absent means nil, i.e. nothing.
pub fn from_optional_label_selector(sel: Option<&Value>) -> Result<Selector, SelectorError> {
    from_label_selector(sel.unwrap_or(&Value::Null))
}

// ---- validation (k8s.io/apimachinery/pkg/util/validation) ----

const QNAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QNAME_MSG: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        let _ = write!(out, "'{e}', ");
    }
    let _ = write!(out, "regex used for validation is '{fmt}')");
    out
}

// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` without a regex engine.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => edge(f) && edge(l) && b.iter().all(|c| edge(c) || *c == b'-'),
            _ => false,
        }
    })
}

/// Problems with a label key (upstream `IsQualifiedName`); empty when valid.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in dns1123_subdomain_errors(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QNAME_MSG, QNAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {}", regex_error(QNAME_MSG, QNAME_FMT, &["MyName", "my.name", "123-abc"])));
    }
    errs
}

/// Problems with a label value (upstream `IsValidLabelValue`); empty when valid.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// Problems with a DNS-1123 subdomain (upstream `IsDNS1123Subdomain`).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !is_dns1123_subdomain(value) {
        errs.push(regex_error(DNS_SUBDOMAIN_MSG, DNS_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

// ---- upstream error rendering (field.Error / errors.Aggregate) ----

enum BadValue<'a> {
    Str(&'a str),
    List(&'a [String]),
}

/// `field.Invalid(path, value, detail).Error()`.
fn invalid(path: &str, value: &BadValue<'_>, detail: &str) -> String {
    let shown = match value {
        BadValue::Str(s) => go_quote(s),
        // Go prints an empty (nil) []string with %#v as `[]string(nil)`.
        BadValue::List([]) => "[]string(nil)".to_string(),
        BadValue::List(items) => {
            let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
            format!("[]string{{{}}}", quoted.join(", "))
        }
    };
    format!("{path}: Invalid value: {shown}: {detail}")
}

fn key_error(key: &str, path: &str) -> Option<String> {
    let errs = qualified_name_errors(key);
    (!errs.is_empty()).then(|| invalid(path, &BadValue::Str(key), &errs.join("; ")))
}

/// Upstream aggregate text: duplicates dropped, several wrapped in brackets.
fn aggregate(errs: Vec<String>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => None,
        1 => seen.pop(),
        _ => Some(format!("[{}]", seen.join(", "))),
    }
}

/// Go's `%q` for strings, so quoted values in messages look like upstream's.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let short = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{b}' => "\\v",
            _ => "",
        };
        let _ = match c {
            _ if !short.is_empty() => write!(out, "{short}"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(out, "\\x{:02x}", c as u32),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32),
            c => write!(out, "{c}"),
        };
    }
    out.push('"');
    out
}

// ---- lexer and parser (same grammar and messages as upstream) ----

// Upstream's ErrorToken is unreachable (every special byte is an operator
// on its own), so it has no counterpart here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[rustfmt::skip]
enum Token {
    EndOfString, ClosedPar, Comma, DoesNotExist, DoubleEquals, Equals, GreaterThan,
    Identifier, In, LessThan, NotEquals, NotIn, OpenPar,
}

fn keyword(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.s[from..to]).into_owned()
    }

    // Upstream reads byte 0 as end of input: a NUL where a token would start
    // ends the input, and one right after a token is swallowed with it.
    fn lex(&mut self) -> (Token, String) {
        while self.s.get(self.pos).is_some_and(|&c| is_whitespace(c)) {
            self.pos += 1;
        }
        let start = self.pos;
        let end = match self.s.get(start) {
            None | Some(0) => return (Token::EndOfString, String::new()),
            // Longest operator match: extend while the longer text is still a token.
            Some(&c) if is_special(c) => {
                let mut end = start + 1;
                while self.s.get(end).is_some_and(|&c| is_special(c)) && keyword(&self.s[start..=end]).is_some() {
                    end += 1;
                }
                end
            }
            Some(_) => {
                let stop = |&c: &u8| c == 0 || is_special(c) || is_whitespace(c);
                self.s[start..].iter().position(stop).map_or(self.s.len(), |n| start + n)
            }
        };
        self.pos = if self.s.get(end) == Some(&0) { end + 1 } else { end };
        (keyword(&self.s[start..end]).unwrap_or(Token::Identifier), self.text(start, end))
    }
}

struct Parser {
    items: Vec<(Token, String)>,
    pos: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    // In value position `in`/`notin` are plain identifiers.
    Values,
}

impl Parser {
    fn new(s: &str) -> Parser {
        let mut lexer = Lexer { s: s.as_bytes(), pos: 0 };
        let mut items = Vec::new();
        loop {
            let (tok, lit) = lexer.lex();
            items.push((tok, lit));
            if tok == Token::EndOfString {
                break;
            }
        }
        Parser { items, pos: 0 }
    }

    fn item(&self, at: usize, ctx: Ctx) -> (Token, String) {
        // The list always ends with EndOfString; never read past it.
        let (tok, lit) =
            self.items.get(at).or(self.items.last()).cloned().unwrap_or((Token::EndOfString, String::new()));
        match tok {
            Token::In | Token::NotIn if ctx == Ctx::Values => (Token::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn lookahead(&self, ctx: Ctx) -> (Token, String) {
        self.item(self.pos, ctx)
    }

    fn consume(&mut self, ctx: Ctx) -> (Token, String) {
        let it = self.item(self.pos, ctx);
        self.pos += 1;
        it
    }

    fn parse(mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            if tok == Token::EndOfString {
                return Ok(reqs);
            }
            if tok != Token::Identifier && tok != Token::DoesNotExist {
                let msg = format!("found '{lit}', expected: !, identifier, or 'end of string'");
                return Err(SelectorError::new(msg));
            }
            let r = self.parse_requirement();
            reqs.push(r.map_err(|e| SelectorError::new(format!("unable to parse requirement: {e}")))?);
            match self.consume(Ctx::Values) {
                (Token::EndOfString, _) => return Ok(reqs),
                (Token::Comma, _) => match self.lookahead(Ctx::Values) {
                    (Token::Identifier | Token::DoesNotExist, _) => {}
                    (_, l) => return Err(SelectorError::new(format!("found '{l}', expected: identifier after ','"))),
                },
                (_, l) => return Err(SelectorError::new(format!("found '{l}', expected: ',' or 'end of string'"))),
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op) = inferred {
            return Requirement::new(key, op, Vec::new()).map_err(|e| e.message);
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, op, values.into_iter().collect()).map_err(|e| e.message)
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Token::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        // Upstream validates here with a nil field path, which prints "<nil>".
        if let Some(e) = key_error(&lit, "<nil>") {
            return Err(e);
        }
        let (next, _) = self.lookahead(Ctx::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && op.is_none() {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt")),
        })
    }

    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let set = self.parse_identifiers_list()?;
                if self.consume(Ctx::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                // `()` means the single empty value.
                self.consume(Ctx::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    // Empty entries (`(,a)`, `(a,)`, `(a,,b)`) stand for the empty value.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (t2, l2) = self.lookahead(Ctx::Values);
                    match t2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    match self.lookahead(Ctx::Values).0 {
                        Token::ClosedPar => {
                            set.insert(String::new());
                            return Ok(set);
                        }
                        Token::Comma => {
                            self.consume(Ctx::Values);
                            set.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.lookahead(Ctx::Values).0, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Token::Identifier {
            Ok(BTreeSet::from([lit]))
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;

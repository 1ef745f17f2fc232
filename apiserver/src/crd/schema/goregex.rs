//! Schema `pattern`s are Go (RE2) regular expressions. The `regex` crate speaks nearly the same
//! dialect; the differences that matter are rewritten here: Perl classes and `\b` are ASCII-only
//! in Go, `\Q…\E` quotes, a `{` that cannot start a repetition is a literal, and `[` or `&&`/`~~`
//! inside a class are literals. Compiled patterns are cached, as upstream caches them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::{Regex, RegexBuilder};

/// Enough for every pattern of many CRDs; the cache restarts when full rather than growing forever.
const CACHE_LIMIT: usize = 4096;

type Compiled = Result<Arc<Regex>, String>;

/// The compiled pattern, or Go's parse error text (`error parsing regexp: …`).
pub(super) fn compile(pattern: &str) -> Compiled {
    static CACHE: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock()
        && let Some(hit) = map.get(pattern)
    {
        return hit.clone();
    }
    let compiled = build(pattern);
    if let Ok(mut map) = cache.lock() {
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(pattern.to_string(), compiled.clone());
    }
    compiled
}

fn build(pattern: &str) -> Compiled {
    if let Some(err) = go_syntax_error(pattern) {
        return Err(err);
    }
    RegexBuilder::new(&translate(pattern))
        .octal(true)
        .build()
        .map(Arc::new)
        .map_err(|e| format!("error parsing regexp: {}: `{pattern}`", short_error(&e.to_string())))
}

/// The last line of the regex crate's multi-line message, without its "error: " lead.
fn short_error(msg: &str) -> String {
    let line = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(msg);
    line.trim().trim_start_matches("error: ").to_string()
}

/// Go's message for the parse errors people actually make, in the order Go's parser meets them.
fn go_syntax_error(p: &str) -> Option<String> {
    let err = |code: &str, expr: &str| Some(format!("error parsing regexp: {code}: `{expr}`"));
    let b = p.as_bytes();
    let mut depth = 0usize;
    // Whether something that can be repeated precedes, and whether it already was repeated.
    let mut operand = false;
    let mut repeated = false;
    let mut last_repeat = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 1 >= b.len() {
                    return err("trailing backslash at end of expression", "");
                }
                if !escape_ok(b, i + 1, false) {
                    return err("invalid escape sequence", escape_text(p, i));
                }
                if b[i + 1] == b'Q' {
                    // Quoted text runs to \E or the end.
                    i = p[i + 2..].find("\\E").map_or(b.len(), |e| i + 2 + e + 2);
                } else {
                    i += 2;
                    // Skip the rest of \x{..}, \p{..} escapes.
                    if i < b.len() && b[i] == b'{' && matches!(b[i - 1], b'x' | b'p' | b'P') {
                        i = p[i..].find('}').map_or(b.len(), |e| i + e + 1);
                    }
                }
                operand = true;
                repeated = false;
                continue;
            }
            b'[' => {
                match class_end(p, i) {
                    Ok(end) => i = end,
                    Err(e) => return Some(e),
                }
                operand = true;
                repeated = false;
                continue;
            }
            b'(' => {
                depth += 1;
                operand = false;
                repeated = false;
                if p[i..].starts_with("(?") {
                    let rest = &p[i + 2..];
                    if !(rest.starts_with("P<") || rest.starts_with('<')) {
                        // Flags, then ':' or ')'; anything else is unsupported (lookarounds...).
                        let flags = rest.bytes().take_while(|c| b"imsU-".contains(c)).count();
                        match rest.as_bytes().get(flags) {
                            Some(b':') | Some(b')') => {}
                            Some(_) => {
                                let bad = rest[flags..].chars().next().map_or(0, char::len_utf8);
                                return err("invalid or unsupported Perl syntax", &p[i..i + 2 + flags + bad]);
                            }
                            None => return err("missing closing )", p),
                        }
                    }
                }
            }
            b')' => {
                if depth == 0 {
                    return err("unexpected )", p);
                }
                depth -= 1;
                operand = true;
                repeated = false;
            }
            b'|' => {
                operand = false;
                repeated = false;
            }
            b'*' | b'+' | b'?' => {
                let mut end = i + 1;
                if end < b.len() && b[end] == b'?' {
                    end += 1; // non-greedy
                }
                if !operand {
                    return err("missing argument to repetition operator", &p[i..end]);
                }
                if repeated {
                    return err("invalid nested repetition operator", &p[last_repeat..end]);
                }
                repeated = true;
                last_repeat = i;
                i = end;
                continue;
            }
            b'{' => {
                if let Some(end) = repeat_end(b, i) {
                    let (lo, hi) =
                        p[i + 1..end - 1].split_once(',').unwrap_or((&p[i + 1..end - 1], &p[i + 1..end - 1]));
                    let count =
                        |s: &str| if s.is_empty() { Some(-1) } else { s.parse::<i64>().ok().filter(|n| *n <= 1000) };
                    match (count(lo), count(hi)) {
                        (Some(lo), Some(hi)) if hi < 0 || lo <= hi => {}
                        _ => return err("invalid repeat count", &p[i..end]),
                    }
                    let mut end = end;
                    if end < b.len() && b[end] == b'?' {
                        end += 1;
                    }
                    if !operand {
                        return err("missing argument to repetition operator", &p[i..end]);
                    }
                    if repeated {
                        return err("invalid nested repetition operator", &p[last_repeat..end]);
                    }
                    repeated = true;
                    last_repeat = i;
                    i = end;
                    continue;
                }
                operand = true;
                repeated = false;
            }
            b'^' | b'$' => {
                operand = true;
                repeated = false;
            }
            _ => {
                operand = true;
                repeated = false;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return err("missing closing )", p);
    }
    None
}

/// Whether Go accepts the escape at `b[j]` (the byte after '\\'): punctuation, octal, hex,
/// controls, Perl and Unicode classes, and outside classes assertions and quoting.
fn escape_ok(b: &[u8], j: usize, in_class: bool) -> bool {
    match b[j] {
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => true,
        b'0' => true,
        b'1'..=b'7' => b.get(j + 1).is_some_and(|d| (b'0'..=b'7').contains(d)),
        b'a' | b'f' | b'n' | b'r' | b't' | b'v' | b'x' | b'd' | b'D' | b's' | b'S' | b'w' | b'W' | b'p' | b'P' => true,
        b'A' | b'z' | b'b' | b'B' | b'Q' | b'E' => !in_class,
        _ => false,
    }
}

/// The backslash at `i` and the character it escapes.
fn escape_text(p: &str, i: usize) -> &str {
    let len = p[i + 1..].chars().next().map_or(0, char::len_utf8);
    &p[i..i + 1 + len]
}

/// The index after the character class starting at `start` ('['), or Go's error for it.
fn class_end(p: &str, start: usize) -> Result<usize, String> {
    let err = |code: &str, expr: &str| format!("error parsing regexp: {code}: `{expr}`");
    let b = p.as_bytes();
    let mut i = start + 1;
    if i < b.len() && b[i] == b'^' {
        i += 1;
    }
    let first = i;
    // The previous single literal character, a candidate for the low end of a range.
    let mut prev: Option<(usize, char)> = None;
    while i < b.len() {
        match b[i] {
            // A ']' right after '[' or '[^' is a literal.
            b']' if i > first => return Ok(i + 1),
            b'\\' => {
                if i + 1 >= b.len() {
                    return Err(err("trailing backslash at end of expression", ""));
                }
                if !escape_ok(b, i + 1, true) {
                    return Err(err("invalid escape sequence", escape_text(p, i)));
                }
                i += 2;
                if i < b.len() && b[i] == b'{' && matches!(b[i - 1], b'x' | b'p' | b'P') {
                    i = p[i..].find('}').map_or(b.len(), |e| i + e + 1);
                }
                prev = None;
            }
            b'[' if b.get(i + 1) == Some(&b':') => {
                // [:alpha:] inside a class.
                i = b[i + 2..].windows(2).position(|w| w == b":]").map_or(i + 1, |e| i + 2 + e + 2);
                prev = None;
            }
            b'-' if prev.is_some() && b.get(i + 1).is_some_and(|c| *c != b']' && *c != b'\\') => {
                let (lo_at, lo) = prev.take().unwrap_or((i, '-'));
                let hi = p[i + 1..].chars().next().unwrap_or('-');
                let end = i + 1 + hi.len_utf8();
                if hi < lo {
                    return Err(err("invalid character class range", &p[lo_at..end]));
                }
                i = end;
            }
            _ => {
                let c = p[i..].chars().next().unwrap_or('\0');
                prev = Some((i, c));
                i += c.len_utf8();
            }
        }
    }
    Err(err("missing closing ]", &p[start..]))
}

/// The index after `{n}`, `{n,}` or `{n,m}` at `start`, or None when it is a literal '{'.
fn repeat_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return None;
    }
    if i < b.len() && b[i] == b',' {
        i += 1;
        digits(&mut i);
    }
    (i < b.len() && b[i] == b'}').then_some(i + 1)
}

/// Rewrites a Go pattern into the regex crate's dialect with the same meaning.
fn translate(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() {
            let e = b[i + 1];
            let rewritten = match (e, in_class) {
                (b'd', false) => Some("[0-9]"),
                (b'd', true) => Some("0-9"),
                (b'D', false) => Some("[^0-9]"),
                (b'D', true) => Some("[:^digit:]"),
                (b'w', false) => Some("[0-9A-Za-z_]"),
                (b'w', true) => Some("0-9A-Za-z_"),
                (b'W', false) => Some("[^0-9A-Za-z_]"),
                (b'W', true) => Some("[:^word:]"),
                (b's', false) => Some("[\\t\\n\\f\\r ]"),
                (b's', true) => Some("\\t\\n\\f\\r "),
                (b'S', false) => Some("[^\\t\\n\\f\\r ]"),
                (b'S', true) => Some("[:^space:]"),
                (b'b', false) => Some("(?-u:\\b)"),
                (b'B', false) => Some("(?-u:\\B)"),
                // Plain literals in Go; word boundaries in the regex crate.
                (b'<', _) => Some("<"),
                (b'>', _) => Some(">"),
                _ => None,
            };
            if let Some(r) = rewritten {
                out.push_str(r);
                i += 2;
                continue;
            }
            if e == b'Q' {
                let rest = &p[i + 2..];
                let (quoted, next) = match rest.find("\\E") {
                    Some(end) => (&rest[..end], i + 2 + end + 2),
                    None => (rest, b.len()),
                };
                if in_class {
                    for ch in quoted.chars() {
                        out.push_str(&regex::escape(&ch.to_string()));
                    }
                } else {
                    out.push_str(&format!("(?:{})", regex::escape(quoted)));
                }
                i = next;
                continue;
            }
            // Any other escape means the same in both dialects; copy it whole (UTF-8 safe).
            let len = p[i + 1..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&p[i..i + 1 + len]);
            i += 1 + len;
            continue;
        }
        if in_class {
            match c {
                b']' if i >= class_start => {
                    in_class = false;
                    out.push(']');
                }
                b'[' if b.get(i + 1) == Some(&b':') => {
                    let end = b[i + 2..].windows(2).position(|w| w == b":]").map_or(i + 1, |e| i + 2 + e + 2);
                    out.push_str(&p[i..end]);
                    i = end;
                    continue;
                }
                b'[' => out.push_str("\\["),
                b'&' => out.push_str("\\&"),
                // Before a class escape Go reads '-' as a literal; the regex crate would want a range.
                b'-' if b.get(i + 1) == Some(&b'\\') && b.get(i + 2).is_some_and(|e| b"pPdDwWsS".contains(e)) => {
                    out.push_str("\\-")
                }
                b'~' => out.push_str("\\~"),
                b']' => out.push_str("\\]"),
                _ => {
                    let len = p[i..].chars().next().map_or(1, char::len_utf8);
                    out.push_str(&p[i..i + len]);
                    i += len;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if i < b.len() && b[i] == b'^' {
                    out.push('^');
                    i += 1;
                }
                // A ']' first in the class is a literal.
                class_start = i + 1;
                continue;
            }
            b'{' => match repeat_end(b, i) {
                Some(end) => {
                    out.push_str(&p[i..end]);
                    i = end;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            b'}' => out.push_str("\\}"),
            _ => {
                let len = p[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&p[i..i + len]);
                i += len;
                continue;
            }
        }
        i += 1;
    }
    out
}

//! The string formats CRD schemas support (apiextensions' list for every version up to 1.33),
//! checked as kube-openapi's strfmt registry checks them. Other formats (int32, int64, float,
//! double, ...) are ignored: upstream strips them before validating.

use std::sync::OnceLock;

use regex::Regex;

/// The format as upstream keeps it after stripping unsupported ones: names compare without '-'.
pub(super) fn supported(format: &str) -> bool {
    validator(format).is_some()
}

/// Whether `s` is valid for the (supported) `format`; unsupported formats accept anything.
pub(super) fn check(format: &str, s: &str) -> bool {
    validator(format).is_none_or(|f| f(s))
}

fn validator(format: &str) -> Option<fn(&str) -> bool> {
    let f: fn(&str) -> bool = match format.replace('-', "").as_str() {
        "bsonobjectid" => |s| s.len() == 24 && s.bytes().all(|c| c.is_ascii_hexdigit()),
        "uri" => is_request_uri,
        "email" => is_email,
        "hostname" => is_hostname,
        "ipv4" => |s| parse_ip(s, true) && s.contains('.'),
        "ipv6" => |s| parse_ip(s, false) && s.contains(':'),
        "cidr" => is_cidr,
        "mac" => is_mac,
        "uuid" => |s| matches(&RX_UUID, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", s),
        "uuid3" => {
            |s| matches(&RX_UUID3, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", s)
        }
        "uuid4" => {
            |s| matches(&RX_UUID4, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", s)
        }
        "uuid5" => {
            |s| matches(&RX_UUID5, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", s)
        }
        "isbn" => |s| is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10,
        "isbn13" => is_isbn13,
        "creditcard" => is_credit_card,
        "ssn" => |s| s.len() == 11 && matches(&RX_SSN, r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$", s),
        "hexcolor" => |s| matches(&RX_HEX, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", s),
        "rgbcolor" => |s| {
            let n = r"\s*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])\s*";
            matches(&RX_RGB, &format!(r"^rgb\({n},{n},{n}\)$"), s)
        },
        // Note: the empty string is not valid base64 here, as upstream's pattern needs one group.
        "byte" => {
            |s| matches(&RX_B64, r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$", s)
        }
        "password" => |_| true,
        "date" => is_date,
        "duration" => is_duration,
        "datetime" => is_date_time,
        _ => return None,
    };
    Some(f)
}

static RX_UUID: OnceLock<Option<Regex>> = OnceLock::new();
static RX_UUID3: OnceLock<Option<Regex>> = OnceLock::new();
static RX_UUID4: OnceLock<Option<Regex>> = OnceLock::new();
static RX_UUID5: OnceLock<Option<Regex>> = OnceLock::new();
static RX_SSN: OnceLock<Option<Regex>> = OnceLock::new();
static RX_HEX: OnceLock<Option<Regex>> = OnceLock::new();
static RX_RGB: OnceLock<Option<Regex>> = OnceLock::new();
static RX_B64: OnceLock<Option<Regex>> = OnceLock::new();
static RX_HOST: OnceLock<Option<Regex>> = OnceLock::new();
static RX_TIME: OnceLock<Option<Regex>> = OnceLock::new();
static RX_SCALA: OnceLock<Option<Regex>> = OnceLock::new();

/// Matches against a lazily compiled constant pattern (which always compiles).
fn matches(cell: &OnceLock<Option<Regex>>, pattern: &str, s: &str) -> bool {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref().is_some_and(|r| r.is_match(s))
}

fn is_hostname(s: &str) -> bool {
    let pattern = r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$";
    matches(&RX_HOST, pattern, s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

fn luhn_digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn is_credit_card(s: &str) -> bool {
    static RX: OnceLock<Option<Regex>> = OnceLock::new();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let pattern = r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$";
    if !matches(&RX, pattern, &digits) {
        return false;
    }
    let mut sum = 0;
    for (i, d) in luhn_digits(&digits).iter().rev().enumerate() {
        let v = if i % 2 == 1 { d * 2 } else { *d };
        sum += if v >= 10 { v % 10 + 1 } else { v };
    }
    sum % 10 == 0
}

/// ISBNs ignore whitespace and '-'.
fn isbn_chars(s: &str) -> Vec<u8> {
    s.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| if c.is_ascii() { c as u8 } else { 0 }).collect()
}

fn is_isbn10(s: &str) -> bool {
    let b = isbn_chars(s);
    let shape = b.len() == 10 && b[..9].iter().all(u8::is_ascii_digit) && (b[9].is_ascii_digit() || b[9] == b'X');
    if !shape {
        return false;
    }
    let mut sum: u32 = (0..9).map(|i| (i as u32 + 1) * u32::from(b[i] - b'0')).sum();
    sum += 10 * if b[9] == b'X' { 10 } else { u32::from(b[9] - b'0') };
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let b = isbn_chars(s);
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = (0..12).map(|i| if i % 2 == 0 { 1 } else { 3 } * u32::from(b[i] - b'0')).sum();
    u32::from(b[12] - b'0') == (10 - sum % 10) % 10
}

/// net.ParseIP (and k8s.io/utils' sloppy variant, which accepts leading zeros in IPv4).
fn parse_ip(s: &str, sloppy: bool) -> bool {
    if s.contains(':') { parse_ipv6(s, sloppy) } else { parse_ipv4(s, sloppy) }
}

fn parse_ipv4(s: &str, sloppy: bool) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|c| c.is_ascii_digit())
                && (sloppy || p.len() == 1 || !p.starts_with('0'))
                && (p.len() <= 3 || sloppy)
                && p.trim_start_matches('0').len() <= 3
                && p.parse::<u32>().is_ok_and(|n| n <= 255)
        })
}

fn parse_ipv6(s: &str, sloppy: bool) -> bool {
    // Groups of up to 4 hex digits; at most one "::" standing for at least one zero group; an
    // IPv4 tail counts as two groups.
    let (head, tail, ellipsis) = match s.find("::") {
        Some(i) => (&s[..i], &s[i + 2..], true),
        None => (s, "", false),
    };
    if ellipsis && tail.contains("::") {
        return false;
    }
    let count = |part: &str, last: bool| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let groups: Vec<&str> = part.split(':').collect();
        let mut n = 0;
        for (i, g) in groups.iter().enumerate() {
            if last && i == groups.len() - 1 && g.contains('.') {
                if !parse_ipv4(g, sloppy) {
                    return None;
                }
                n += 2;
            } else if !g.is_empty() && g.len() <= 4 && g.bytes().all(|c| c.is_ascii_hexdigit()) {
                n += 1;
            } else {
                return None;
            }
        }
        Some(n)
    };
    let (Some(h), Some(t)) = (count(head, !ellipsis), count(tail, true)) else { return false };
    if ellipsis { h + t < 8 } else { h == 8 }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else { return false };
    let max = if ip.contains(':') { 128 } else { 32 };
    parse_ip(ip, true)
        && !bits.is_empty()
        && bits.bytes().all(|c| c.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|n| n <= max)
}

/// net.ParseMAC: 6, 8 or 20 octets as xx:xx.. / xx-xx.. or xxxx.xxxx...
fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 14 {
        return false;
    }
    let hex = |x: &[u8]| x.iter().all(u8::is_ascii_hexdigit);
    if b[2] == b':' || b[2] == b'-' {
        if !(b.len() + 1).is_multiple_of(3) || ![6, 8, 20].contains(&((b.len() + 1) / 3)) {
            return false;
        }
        b.chunks(3).all(|c| hex(&c[..2]) && (c.len() == 2 || c[2] == b[2]))
    } else if b[4] == b'.' {
        if !(b.len() + 1).is_multiple_of(5) || ![6, 8, 20].contains(&(2 * (b.len() + 1) / 5)) {
            return false;
        }
        b.chunks(5).all(|c| hex(&c[..4]) && (c.len() == 4 || c[4] == b'.'))
    } else {
        false
    }
}

/// url.ParseRequestURI: an absolute URI or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    let (scheme, rest) = match scheme_of(s) {
        Some(split) => split,
        None => return false,
    };
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    if !rest.starts_with('/') {
        // Opaque URIs (mailto:x) are fine; a relative path is not a request URI.
        return !scheme.is_empty();
    }
    let path = if !scheme.is_empty() && rest.starts_with("//") {
        let auth_and_path = &rest[2..];
        let (authority, path) = match auth_and_path.find('/') {
            Some(i) => auth_and_path.split_at(i),
            None => (auth_and_path, ""),
        };
        if !valid_authority(authority) {
            return false;
        }
        path
    } else {
        rest
    };
    valid_escapes(path)
}

/// Splits "scheme:rest"; the scheme is empty when there is none; None when malformed.
fn scheme_of(s: &str) -> Option<(&str, &str)> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((&s[..i], &s[i + 1..])),
            _ => return Some(("", s)),
        }
    }
    Some(("", s))
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn valid_authority(authority: &str) -> bool {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (&authority[..i], &authority[i + 1..]),
        None => ("", authority),
    };
    let user_ok =
        userinfo.chars().all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c) || !c.is_ascii());
    if !user_ok || !valid_escapes(userinfo) {
        return false;
    }
    let (host, port) = if let Some(stripped) = host.strip_prefix('[') {
        match stripped.find(']') {
            Some(i) => {
                let after = &stripped[i + 1..];
                if !after.is_empty() && !after.starts_with(':') {
                    return false;
                }
                (&stripped[..i], after.strip_prefix(':'))
            }
            None => return false,
        }
    } else {
        match host.rfind(':') {
            Some(i) => (&host[..i], Some(&host[i + 1..])),
            None => (host, None),
        }
    };
    if port.is_some_and(|p| !p.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    // Host characters Go does not escape, plus %-escapes and non-ASCII.
    host.chars().all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]<>\"%".contains(c) || !c.is_ascii())
        && valid_escapes(host)
}

/// net/mail.ParseAddress, simplified: `local@domain` or `Name <local@domain>`.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        (None, false) => s,
        _ => return false,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else { return false };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom = |x: &str| !x.is_empty() && x.split('.').all(|p| !p.is_empty() && p.chars().all(atext));
    let local_ok = dot_atom(local) || (local.len() >= 2 && local.starts_with('"') && local.ends_with('"'));
    let domain_ok = dot_atom(domain) || (domain.starts_with('[') && domain.ends_with(']'));
    local_ok && domain_ok
}

/// time.Parse("2006-01-02"): fixed widths, real calendar days.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// strfmt.IsDateTime: a date, 't', then hh:mm:ss[.frac](z|±hh:mm), compared loosely as upstream.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let pattern = r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$";
    RX_TIME.get_or_init(|| Regex::new(pattern).ok()).as_ref().and_then(|r| r.captures(parts[1])).is_some_and(|c| {
        let g = |i| c.get(i).map_or("", |m| m.as_str());
        g(1) <= "23" && g(2) <= "59" && g(3) <= "59"
    })
}

/// strfmt.ParseDuration: Go's time.ParseDuration, else "<n> <unit>" pairs in a looser syntax.
fn is_duration(s: &str) -> bool {
    go_duration(s) || scala_duration(s)
}

fn go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut i = int_len;
        let mut frac_len = 0;
        if rest.as_bytes().get(i) == Some(&b'.') {
            i += 1;
            frac_len = rest[i..].bytes().take_while(u8::is_ascii_digit).count();
            i += frac_len;
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        let unit_len = rest[i..].find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len() - i);
        let unit = &rest[i..i + unit_len];
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return false;
        }
        rest = &rest[i + unit_len..];
    }
    true
}

fn scala_duration(s: &str) -> bool {
    const UNITS: [&[&str]; 8] = [
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let Some(rx) = RX_SCALA.get_or_init(|| Regex::new(r"(([0-9]+)\s*([A-Za-zµ]+))").ok()).as_ref() else {
        return false;
    };
    let mut ok = false;
    for c in rx.captures_iter(s) {
        // strconv.Atoi fails on overflow, which fails the whole parse.
        if c.get(2).is_none_or(|m| m.as_str().parse::<i64>().is_err()) {
            return false;
        }
        let unit = c.get(3).map_or("", |m| m.as_str()).trim().to_lowercase();
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, v) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(v)) || unit.eq_ignore_ascii_case(v) || unit == v.to_lowercase() {
                    ok = true;
                }
            }
        }
    }
    ok
}

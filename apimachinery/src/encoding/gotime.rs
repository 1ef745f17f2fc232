//! The parts of Go's time package the API's time types go through: parsing RFC 3339 text
//! the way `time.Parse` does with the layouts metav1.Time and metav1.MicroTime use,
//! printing in UTC, and Go's duration syntax (`time.ParseDuration`, `Duration.String`).

/// An instant: seconds since the Unix epoch and nanoseconds within the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

/// Go's zero `time.Time` (January 1, year 1, 00:00:00 UTC) as Unix seconds.
const GO_ZERO_SECS: i64 = -62_135_596_800;

impl Instant {
    /// Whether Go's `Time.IsZero` holds, which makes the API types print `null`.
    pub fn is_go_zero(&self) -> bool {
        self.secs == GO_ZERO_SECS && self.nanos == 0
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
                29
            } else {
                28
            }
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(s.iter().fold(0, |acc, c| acc * 10 + (c - b'0') as u32))
    }
    fn lit(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
    fn peek(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }
}

/// Which of the two layouts: `time.RFC3339` (metav1.Time) takes any fraction of a second
/// or none; `RFC3339Micro` (metav1.MicroTime) demands exactly six fraction digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Rfc3339,
    Rfc3339Micro,
}

/// Parses like Go's `time.Parse(layout, s)`; None where Go returns an error.
pub(crate) fn parse(s: &str, layout: Layout) -> Option<Instant> {
    let mut c = Cursor { b: s.as_bytes(), i: 0 };
    let year = c.digits(4)? as i64;
    c.lit(b'-')?;
    let month = c.digits(2)?;
    c.lit(b'-')?;
    let day = c.digits(2)?;
    c.lit(b'T')?;
    // the hour element of the layout ("15") takes one or two digits
    let hour = if c.peek(1).is_some_and(|d| d.is_ascii_digit()) { c.digits(2)? } else { c.digits(1)? };
    c.lit(b':')?;
    let minute = c.digits(2)?;
    c.lit(b':')?;
    let second = c.digits(2)?;
    let is_sep = |b: Option<u8>| matches!(b, Some(b'.') | Some(b','));
    let mut nanos = 0u32;
    match layout {
        Layout::Rfc3339 => {
            if is_sep(c.peek(0)) && c.peek(1).is_some_and(|d| d.is_ascii_digit()) {
                c.i += 1;
                let mut n = 0;
                while c.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                    // only the first nine digits count; the rest are read and dropped
                    if n < 9 {
                        nanos = nanos * 10 + (c.peek(0)? - b'0') as u32;
                        n += 1;
                    }
                    c.i += 1;
                }
                for _ in n..9 {
                    nanos *= 10;
                }
            }
        }
        Layout::Rfc3339Micro => {
            if !is_sep(c.peek(0)) {
                return None;
            }
            c.i += 1;
            nanos = c.digits(6)? * 1000;
        }
    }
    let offset: i64 = if c.lit(b'Z').is_some() {
        0
    } else {
        let sign = match c.peek(0)? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        c.i += 1;
        let oh = c.digits(2)? as i64;
        c.lit(b':')?;
        let om = c.digits(2)? as i64;
        if oh > 24 || om > 60 {
            return None;
        }
        sign * (oh * 3600 + om * 60)
    };
    if c.i != c.b.len() {
        return None;
    }
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64 - offset;
    Some(Instant { secs, nanos })
}

/// `t.UTC().Format(layout)`: seconds precision for RFC3339, six digits for RFC3339Micro.
pub(crate) fn format(t: Instant, layout: Layout) -> String {
    let days = t.secs.div_euclid(86_400);
    let rem = t.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let year = if y < 0 { format!("-{:04}", -y) } else { format!("{y:04}") };
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    match layout {
        Layout::Rfc3339 => format!("{year}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        Layout::Rfc3339Micro => {
            format!("{year}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z", t.nanos / 1000)
        }
    }
}

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let mut b = s.as_bytes();
    let mut neg = false;
    if let Some(&c) = b.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            b = &b[1..];
        }
    }
    if b == b"0" {
        return Some(0);
    }
    if b.is_empty() {
        return None;
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !b.is_empty() {
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return None;
        }
        // integer part
        let mut v: u64 = 0;
        let mut i = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return None;
            }
            v = v * 10 + (b[i] - b'0') as u64;
            if v > LIMIT {
                return None;
            }
            i += 1;
        }
        let pre = i > 0;
        b = &b[i..];
        // fraction
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if b.first() == Some(&b'.') {
            b = &b[1..];
            let mut i = 0;
            let mut overflow = false;
            while i < b.len() && b[i].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + (b[i] - b'0') as u64;
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i > 0;
            b = &b[i..];
        }
        if !pre && !post {
            return None;
        }
        // unit
        let mut i = 0;
        while i < b.len() && !(b[i] == b'.' || b[i].is_ascii_digit()) {
            i += 1;
        }
        if i == 0 {
            return None;
        }
        let unit = match &b[..i] {
            b"ns" => NS,
            // "us", and the micro sign U+00B5 or Greek mu U+03BC followed by "s"
            b"us" | [0xc2, 0xb5, b's'] | [0xce, 0xbc, b's'] => US,
            b"ms" => MS,
            b"s" => SEC,
            b"m" => MIN,
            b"h" => HOUR,
            _ => return None,
        };
        b = &b[i..];
        if v > LIMIT / unit {
            return None;
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return None;
            }
        }
        total += v;
        if total > LIMIT {
            return None;
        }
    }
    if neg {
        return Some((total as i64).wrapping_neg());
    }
    if total > LIMIT - 1 {
        return None;
    }
    Some(total as i64)
}

/// Go's `Duration.String`.
pub(crate) fn format_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    // fraction digits of u / 10^prec without trailing zeros; returns the integer part
    fn frac(out: &mut String, u: u64, prec: u32) -> u64 {
        let p = 10u64.pow(prec);
        let f = u % p;
        if f != 0 {
            let digits = format!("{:0width$}", f, width = prec as usize);
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        u / p
    }
    if u < SEC {
        if u == 0 {
            return "0s".to_string();
        }
        let (prec, unit) = if u < US {
            (0, "ns")
        } else if u < MS {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        let mut tail = String::new();
        let whole = frac(&mut tail, u, prec);
        out.push_str(&whole.to_string());
        out.push_str(&tail);
        out.push_str(unit);
    } else {
        let mut tail = String::new();
        u = frac(&mut tail, u, 9);
        let secs = u % 60;
        u /= 60;
        let mut s = format!("{secs}{tail}s");
        if u > 0 {
            s = format!("{}m{s}", u % 60);
            u /= 60;
            if u > 0 {
                s = format!("{u}h{s}");
            }
        }
        out.push_str(&s);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_162i64, -1, 0, 1, 11_016, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1, 1, 1) * 86_400, GO_ZERO_SECS);
    }

    #[test]
    fn rfc3339() {
        let t = parse("2024-02-29T23:30:00.9-01:30", Layout::Rfc3339).unwrap();
        assert_eq!(format(t, Layout::Rfc3339), "2024-03-01T01:00:00Z");
        assert_eq!(t.nanos, 900_000_000);
        assert!(parse("2023-02-29T00:00:00Z", Layout::Rfc3339).is_none());
        assert!(parse("2024-01-01t00:00:00Z", Layout::Rfc3339).is_none());
        assert!(parse("2024-01-01T00:00:00z", Layout::Rfc3339).is_none());
        assert!(parse("2024-01-01T00:00:00", Layout::Rfc3339).is_none());
        assert!(parse("2024-01-01T24:00:00Z", Layout::Rfc3339).is_none());
        assert!(parse("2024-01-01T7:05:00Z", Layout::Rfc3339).is_some());
        assert!(parse("2024-01-01T00:00:00,5Z", Layout::Rfc3339).is_some());
        assert!(parse("0001-01-01T00:00:00Z", Layout::Rfc3339).unwrap().is_go_zero());
    }

    #[test]
    fn micro() {
        let t = parse("2024-01-01T00:00:00.123456+02:00", Layout::Rfc3339Micro).unwrap();
        assert_eq!(format(t, Layout::Rfc3339Micro), "2023-12-31T22:00:00.123456Z");
        assert!(parse("2024-01-01T00:00:00Z", Layout::Rfc3339Micro).is_none());
        assert!(parse("2024-01-01T00:00:00.123Z", Layout::Rfc3339Micro).is_none());
        assert!(parse("2024-01-01T00:00:00.123456789Z", Layout::Rfc3339Micro).is_none());
    }

    #[test]
    fn durations() {
        let cases = [
            ("0", "0s"),
            ("1h", "1h0m0s"),
            ("90m", "1h30m0s"),
            ("1.5s", "1.5s"),
            ("100ms", "100ms"),
            ("1500us", "1.5ms"),
            ("1\u{3bc}s", "1\u{b5}s"),
            ("-2m3.25s", "-2m3.25s"),
            ("3ns", "3ns"),
            ("1h0.5m", "1h0m30s"),
            ("+5s", "5s"),
        ];
        for (input, want) in cases {
            assert_eq!(format_duration(parse_duration(input).unwrap()), want, "{input}");
        }
        for bad in ["", "5", "1d", ".s", "-", "9999999999999h"] {
            assert!(parse_duration(bad).is_none(), "{bad}");
        }
    }
}

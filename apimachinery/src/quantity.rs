//! Resource quantities (`100m`, `64Mi`, `1.5`, `2e3`), upstream's `resource.Quantity`: one
//! parser for the whole workspace. Values are held exactly as nano-units in an i128 (every
//! quantity a real object carries fits), with the format they were written in, which decides
//! the canonical text upstream prints back ("1024Mi" as "1Gi", "0.5" as "500m").

use serde_json::Value;

/// How a quantity was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Ki, Mi, Gi, ...
    BinarySi,
    /// n, u, m, "", k, M, G, ...
    DecimalSi,
    /// 1e3, 5E-2, ...
    DecimalExponent,
}

const NANO: i128 = 1_000_000_000;

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    /// Parses upstream's quantity syntax (sign, digits with an optional fraction, a suffix);
    /// a fraction finer than a nano-unit rounds up (away from zero), as upstream does so that
    /// a tiny request never becomes zero. Leading and trailing spaces are ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let s = text.trim();
        let (negative, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let number_len = body.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
        let (number, suffix) = body.split_at(number_len);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        // Leading zeros carry no value; 30 significant digits still fit an i128 with room.
        let significant = digits.trim_start_matches('0');
        if significant.len() > 30 {
            return None;
        }
        let mantissa: i128 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
        let (binary_shift, decimal_exp, format) = interpret_suffix(suffix)?;
        let scaled = mantissa.checked_mul(1i128.checked_shl(binary_shift)?)?;
        let exp = decimal_exp + 9 - i32::try_from(frac_part.len()).ok()?;
        let nanos = if exp >= 0 {
            scaled.checked_mul(10i128.checked_pow(exp.unsigned_abs())?)?
        } else {
            let divisor = 10i128.checked_pow(exp.unsigned_abs())?;
            (scaled + divisor - 1) / divisor
        };
        Some(Self { nanos: if negative { -nanos } else { nanos }, format })
    }

    /// A quantity given as a JSON string or number.
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => None,
        }
    }

    /// Thousandths of a unit, rounded away from zero (upstream's `MilliValue`), saturating.
    pub fn milli_value(&self) -> i64 {
        saturate(div_away(self.nanos, 1_000_000))
    }

    /// Whole units, rounded away from zero (upstream's `Value`), saturating.
    pub fn value(&self) -> i64 {
        saturate(div_away(self.nanos, NANO))
    }

    /// Upstream's `RoundUp(-3)` as `SetDefaults_ResourceList` applies it: `None` when the
    /// value is whole thousandths already, else the value truncated towards zero and moved
    /// up by one thousandth (so `0.0001` becomes `1m`, `-1.5m` becomes `0`), in its format.
    pub fn round_up_milli(&self) -> Option<Self> {
        const MILLI: i128 = 1_000_000;
        if self.nanos % MILLI == 0 {
            return None;
        }
        Some(Self { nanos: (self.nanos / MILLI + 1) * MILLI, format: self.format })
    }

    /// The text upstream prints for this quantity (its `String()`).
    pub fn canonical(&self) -> String {
        render(self.nanos, self.format)
    }
}

fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 { q } else { q + n.signum() }
}

fn saturate(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// Thousandths of a unit (CPU in millicores), rounded up; `None` when it does not parse.
pub fn parse_milli(text: &str) -> Option<i64> {
    Quantity::parse(text).map(|q| q.milli_value())
}

/// Whole units (memory, storage, pods, extended resources), rounded up; `None` when it does
/// not parse.
pub fn parse_value(text: &str) -> Option<i64> {
    Quantity::parse(text).map(|q| q.value())
}

/// The canonical text of a quantity written as `text`; `None` when upstream would refuse it.
pub fn canonical_text(text: &str) -> Option<String> {
    Quantity::parse(text).map(|q| q.canonical())
}

/// The canonical string of a quantity given as a JSON string or number, for display: "0" when
/// absent, the text as written when it does not parse.
pub fn canonical(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "0".to_string(),
        Some(v) => Quantity::from_json(v)
            .map_or_else(|| v.as_str().map_or_else(|| v.to_string(), |s| s.trim().to_string()), |q| q.canonical()),
    }
}

/// (power of two, power of ten, format) a suffix stands for.
fn interpret_suffix(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |exp| Some((0, exp, Format::DecimalSi));
    let binary = |shift| Some((shift, 0, Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let value: i32 = exp.parse().ok()?;
            (exp.bytes().last()?.is_ascii_digit()).then_some((0, value, Format::DecimalExponent))
        }
    }
}

fn render(nanos: i128, format: Format) -> String {
    if nanos == 0 {
        return "0".to_string();
    }
    // Binary form only for whole amounts of at least 1Ki; smaller or fractional ones would need
    // rounding, so upstream falls back to decimal for them.
    let format = match format {
        Format::BinarySi if nanos.abs() < 1024 * NANO || nanos % NANO != 0 => Format::DecimalSi,
        f => f,
    };
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.abs();
    if format == Format::BinarySi {
        let mut amount = magnitude / NANO;
        let mut power = 0;
        while amount % 1024 == 0 && power < 6 {
            amount /= 1024;
            power += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
        return format!("{sign}{amount}{suffix}");
    }
    // Move factors of ten into the exponent, then settle on a multiple of three.
    let mut amount = magnitude;
    let mut exp: i32 = -9;
    while amount % 10 == 0 {
        amount /= 10;
        exp += 1;
    }
    match exp.rem_euclid(3) {
        1 => {
            amount *= 10;
            exp -= 1;
        }
        2 => {
            amount *= 100;
            exp -= 2;
        }
        _ => {}
    }
    let suffix = match (format, exp) {
        (_, 0) => String::new(),
        (Format::DecimalSi, -9) => "n".to_string(),
        (Format::DecimalSi, -6) => "u".to_string(),
        (Format::DecimalSi, -3) => "m".to_string(),
        (Format::DecimalSi, 3) => "k".to_string(),
        (Format::DecimalSi, 6) => "M".to_string(),
        (Format::DecimalSi, 9) => "G".to_string(),
        (Format::DecimalSi, 12) => "T".to_string(),
        (Format::DecimalSi, 15) => "P".to_string(),
        (Format::DecimalSi, 18) => "E".to_string(),
        (_, e) => format!("e{e}"),
    };
    format!("{sign}{amount}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_forms() {
        let cases = [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1000Mi", "1000Mi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("512", "512"),
            ("1Ki", "1Ki"),
            ("0.5Ki", "512"),
            ("100m", "100m"),
            ("0.1", "100m"),
            ("0.5", "500m"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1500000", "1500k"),
            ("2000m", "2"),
            ("10G", "10G"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-1Gi", "-1Gi"),
            ("1n", "1n"),
            ("0.1n", "1n"),
            ("5Gi ", "5Gi"),
        ];
        for (input, want) in cases {
            assert_eq!(canonical(Some(&json!(input))), want, "{input}");
        }
        assert_eq!(canonical(Some(&json!(3))), "3");
        assert_eq!(canonical(Some(&json!(0.25))), "250m");
        assert_eq!(canonical(None), "0");
        assert_eq!(canonical(Some(&json!("bogus"))), "bogus");
        assert_eq!(canonical_text("bogus"), None);
        assert_eq!(canonical_text(""), None);
    }

    #[test]
    fn values_round_away_from_zero_like_upstream() {
        assert_eq!(parse_milli("100m"), Some(100));
        assert_eq!(parse_milli("1"), Some(1000));
        assert_eq!(parse_milli("1.5"), Some(1500));
        assert_eq!(parse_milli("0.1"), Some(100));
        assert_eq!(parse_milli("1u"), Some(1), "rounded up");
        assert_eq!(parse_milli("-1u"), Some(-1), "away from zero");
        assert_eq!(parse_value("64Mi"), Some(64 * 1024 * 1024));
        assert_eq!(parse_value("1G"), Some(1_000_000_000));
        assert_eq!(parse_value("2e3"), Some(2000));
        assert_eq!(parse_value("1.5Gi"), Some(1536 * 1024 * 1024));
        assert_eq!(parse_value("110"), Some(110));
        assert_eq!(parse_value("500m"), Some(1), "values round up");
        assert_eq!(parse_value("x"), None);
        assert_eq!(parse_value("Mi"), None);
        assert_eq!(parse_value("1Ei"), Some(1 << 60));
        assert_eq!(parse_value("100E"), Some(i64::MAX), "saturates");
    }

    #[test]
    fn rounding_to_milli_follows_upstream() {
        let round = |s: &str| Quantity::parse(s).and_then(|q| q.round_up_milli()).map(|q| q.canonical());
        for (input, want) in [
            ("0.0001", Some("1m")),
            ("100u", Some("1m")),
            ("1n", Some("1m")),
            ("1.0001", Some("1001m")),
            ("1500u", Some("2m")),
            ("0.5", None),
            ("1Gi", None),
            ("100m", None),
            ("1e-4", Some("1e-3")),
            ("garbage", None),
            ("-1.5m", Some("0")),
            ("-2.5m", Some("-1m")),
            ("-0.5m", Some("1m")),
        ] {
            assert_eq!(round(input).as_deref(), want, "{input}");
        }
    }
}

//! Resource quantities ("1Gi", "500m", "1e3") in the canonical form upstream prints them after a
//! round trip through its Quantity type: "1024Mi" shows as "1Gi", "0.5" as "500m", "1500000" as
//! "1500k". Only display needs this, so values are held as nano-units in an i128, which covers
//! every quantity a real object carries; anything else is shown as written.

use serde_json::Value;

/// How a quantity was written, which decides how it is printed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Ki, Mi, Gi, ...
    BinarySi,
    /// n, u, m, "", k, M, G, ...
    DecimalSi,
    /// 1e3, 5E-2, ...
    DecimalExponent,
}

const NANO: i128 = 1_000_000_000;

/// The canonical string of a quantity given as a JSON string or number; "0" when absent.
pub(crate) fn canonical(v: Option<&Value>) -> String {
    let text = match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return "0".to_string(),
    };
    match parse(&text) {
        Some((nanos, format)) => render(nanos, format),
        None => text,
    }
}

/// Parses to nano-units, rounding any finer fraction up (away from zero), as upstream does so
/// that a tiny request never becomes zero.
fn parse(s: &str) -> Option<(i128, Format)> {
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
    // Leading zeros carry no value; 38 significant digits still fit an i128.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 30 {
        return None;
    }
    let mantissa: i128 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    let (binary_shift, decimal_exp, format) = interpret_suffix(suffix)?;
    let scaled = mantissa.checked_mul(1i128.checked_shl(binary_shift)?)?;
    let exp = decimal_exp + 9 - frac_part.len() as i32;
    let nanos = if exp >= 0 {
        scaled.checked_mul(10i128.checked_pow(exp as u32)?)?
    } else {
        let divisor = 10i128.checked_pow(exp.unsigned_abs())?;
        (scaled + divisor - 1) / divisor
    };
    Some((if negative { -nanos } else { nanos }, format))
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
    }
}

//! Resource quantities (`100m`, `64Mi`, `1.5`, `2e3`) as the integers the scheduler and the
//! kubelet compare:
//! CPU in millicores, everything else in whole units, both rounded up as upstream's
//! `Quantity.MilliValue()` / `Value()` do.

/// The quantity in thousandths of a unit, rounded up; `None` when it does not parse.
pub fn parse_milli(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    // mantissa × 2^binary × 10^decimal
    let digits = format!("{whole}{fraction}");
    let mantissa: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    let (binary, mut decimal): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        s if s.starts_with(['e', 'E']) => (0, s[1..].parse().ok()?),
        _ => return None,
    };
    decimal += 3 - i32::try_from(fraction.len()).ok()?;
    let mut value = mantissa.checked_mul(1i128.checked_shl(binary)?)?;
    if decimal >= 0 {
        value = value.checked_mul(10i128.checked_pow(decimal.unsigned_abs())?).unwrap_or(i128::MAX);
    } else {
        let divisor = 10i128.checked_pow(decimal.unsigned_abs()).unwrap_or(i128::MAX);
        value = (value + divisor - 1) / divisor;
    }
    let value = if negative { -value } else { value };
    Some(i64::try_from(value).unwrap_or(if negative { i64::MIN } else { i64::MAX }))
}

/// Whole units, rounded up (memory, storage, pods, extended resources).
pub fn parse_value(text: &str) -> Option<i64> {
    parse_milli(text).map(|m| if m >= 0 { m / 1000 + i64::from(m % 1000 != 0) } else { m / 1000 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_like_upstream() {
        assert_eq!(parse_milli("100m"), Some(100));
        assert_eq!(parse_milli("1"), Some(1000));
        assert_eq!(parse_milli("1.5"), Some(1500));
        assert_eq!(parse_milli("0.1"), Some(100));
        assert_eq!(parse_milli("1u"), Some(1), "rounded up");
        assert_eq!(parse_value("64Mi"), Some(64 * 1024 * 1024));
        assert_eq!(parse_value("1G"), Some(1_000_000_000));
        assert_eq!(parse_value("2e3"), Some(2000));
        assert_eq!(parse_value("1.5Gi"), Some(1536 * 1024 * 1024));
        assert_eq!(parse_value("110"), Some(110));
        assert_eq!(parse_value("500m"), Some(1), "values round up");
        assert_eq!(parse_value("x"), None);
        assert_eq!(parse_value("Mi"), None);
    }
}

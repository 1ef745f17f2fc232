//! Standard base64 the way Go's `base64.StdEncoding` reads and writes `[]byte` fields:
//! padding is required, CR and LF are skipped anywhere, unused trailing bits are ignored.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// None where Go reports a CorruptInputError.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    let chars: Vec<u8> = s.bytes().filter(|&c| c != b'\r' && c != b'\n').collect();
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let mut i = 0;
    while i < chars.len() {
        let quantum = chars.get(i..i + 4)?;
        let pad = quantum.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut acc: u32 = 0;
        for &c in &quantum[..4 - pad] {
            acc = acc << 6 | value(c)? as u32;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
        i += 4;
        if pad > 0 && i < chars.len() {
            return None; // data after the padding
        }
    }
    Some(out)
}

pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let acc = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(acc >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy"] {
            assert_eq!(encode(&decode(s).unwrap()), s);
        }
        assert_eq!(encode(&decode("Zm9v\r\nYmFy\n").unwrap()), "Zm9vYmFy");
        // unused low bits are dropped on re-encoding
        assert_eq!(encode(&decode("Zh==").unwrap()), "Zg==");
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm9vY"] {
            assert!(decode(bad).is_none(), "{bad}");
        }
    }
}

//! The protobuf wire format: a message is a sequence of (tag, value) pairs, the tag being
//! `field number << 3 | wire type`.

use super::ProtobufError;

/// One field's value as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Strings, bytes, messages, map entries and packed repeated scalars.
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads the fields of one message in wire order.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next (field number, value), or None at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, ProtobufError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = u32::try_from(tag >> 3)
            .ok()
            .filter(|n| *n != 0)
            .ok_or_else(|| ProtobufError::Malformed(format!("invalid field number {}", tag >> 3)))?;
        let value = match tag & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(self.fixed64()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Truncated)?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(self.fixed()?)),
            // 3 and 4 are proto2 groups, which no Kubernetes message uses.
            wire_type => {
                return Err(ProtobufError::Malformed(format!("unsupported wire type {wire_type} for field {number}")));
            }
        };
        Ok(Some((number, value)))
    }

    /// A base-128 varint, least significant group first, at most 10 bytes.
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self.buf.split_first().ok_or(ProtobufError::Truncated)?;
            self.buf = rest;
            // The tenth byte holds only the top bit of a 64-bit value.
            if i == 9 && byte > 1 {
                break;
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed("varint overflows 64 bits".to_owned()))
    }

    /// A little-endian 64-bit value (double, fixed64).
    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        Ok(u64::from_le_bytes(self.fixed()?))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], ProtobufError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ProtobufError> {
        if len > self.buf.len() {
            return Err(ProtobufError::Truncated);
        }
        let (bytes, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        let buf = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x11, 1, 0, 0, 0, 0, 0, 0, 0x80, // 2: fixed64
            0x1a, 3, b'a', b'b', b'c', // 3: bytes "abc"
            0x25, 0x78, 0x56, 0x34, 0x12, // 4: fixed32
            0x80, 0x01, 0x00, // 16: varint 0 (two-byte tag)
        ];
        let mut reader = Reader::new(&buf);
        assert_eq!(reader.next_field(), Ok(Some((1, WireValue::Varint(150)))));
        assert_eq!(reader.next_field(), Ok(Some((2, WireValue::Fixed64(0x8000_0000_0000_0001)))));
        assert_eq!(reader.next_field(), Ok(Some((3, WireValue::Bytes(b"abc")))));
        assert_eq!(reader.next_field(), Ok(Some((4, WireValue::Fixed32(0x1234_5678)))));
        assert_eq!(reader.next_field(), Ok(Some((16, WireValue::Varint(0)))));
        assert!(reader.is_empty());
        assert_eq!(reader.next_field(), Ok(None));
    }

    #[test]
    fn reads_ten_byte_varints() {
        // -1 as an int32/int64: all 64 bits set.
        let buf = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&buf).varint(), Ok(u64::MAX));
        let overlong = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(Reader::new(&overlong).varint(), Err(ProtobufError::Malformed(_))));
        let endless = [0x80; 11];
        assert!(matches!(Reader::new(&endless).varint(), Err(ProtobufError::Malformed(_))));
    }

    #[test]
    fn rejects_truncation_and_bad_tags() {
        for buf in [&[0x08][..], &[0x08, 0x80], &[0x1a, 5, b'a'], &[0x11, 1, 2], &[0x25, 1]] {
            assert_eq!(Reader::new(buf).next_field(), Err(ProtobufError::Truncated), "{buf:?}");
        }
        assert!(matches!(Reader::new(&[0x00, 0x01]).next_field(), Err(ProtobufError::Malformed(_))));
        assert!(matches!(Reader::new(&[0x0b]).next_field(), Err(ProtobufError::Malformed(_))));
        assert!(matches!(Reader::new(&[0x0f, 0x00]).next_field(), Err(ProtobufError::Malformed(_))));
    }
}

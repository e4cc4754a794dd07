//! The little of Avro's binary encoding that Flume's RPC needs: longs (zig-zag varints),
//! bytes and strings, fixed, maps and arrays (in blocks), unions. Pure functions over byte
//! slices; a malformed input is an error, never a panic, and no length is trusted beyond the
//! bytes that are there.

/// A decoding error: what was being read and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroError(pub String);

impl std::fmt::Display for AvroError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads values from the front of a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// A zig-zag varint `long` (or `int`, `enum` index, union branch).
    pub fn long(&mut self) -> Result<i64, AvroError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .data
                .split_first()
                .ok_or_else(|| AvroError("a number is cut short".into()))?;
            self.data = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(AvroError("a number is longer than 10 bytes".into()))
    }

    /// `n` raw bytes.
    pub fn fixed(&mut self, n: usize) -> Result<&'a [u8], AvroError> {
        if self.data.len() < n {
            return Err(AvroError(format!(
                "{n} bytes announced, {} there",
                self.data.len()
            )));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// A length-prefixed `bytes`.
    pub fn bytes(&mut self) -> Result<&'a [u8], AvroError> {
        let n = self.long()?;
        let n = usize::try_from(n).map_err(|_| AvroError(format!("a negative length {n}")))?;
        self.fixed(n)
    }

    /// A length-prefixed UTF-8 `string`.
    pub fn string(&mut self) -> Result<&'a str, AvroError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|e| AvroError(format!("a string is not UTF-8: {e}")))
    }

    /// A `boolean`.
    pub fn boolean(&mut self) -> Result<bool, AvroError> {
        match self.fixed(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(AvroError(format!("a boolean byte is {b}"))),
        }
    }

    /// The count of the next block of a map or array (0: the end); a negative count is
    /// followed by the block's size in bytes, which is skipped over here.
    pub fn block_count(&mut self) -> Result<usize, AvroError> {
        let n = self.long()?;
        let n = if n < 0 {
            self.long()?; // the block's size in bytes
            n.checked_neg()
                .ok_or_else(|| AvroError("a block count overflows".into()))?
        } else {
            n
        };
        let n = usize::try_from(n).map_err(|_| AvroError(format!("a block of {n} items")))?;
        // Every item takes at least one byte: a count beyond the bytes left is a lie.
        if n > self.data.len() {
            return Err(AvroError(format!(
                "a block of {n} items in {} bytes",
                self.data.len()
            )));
        }
        Ok(n)
    }

    /// A `map` whose values `value` reads.
    pub fn map<T>(
        &mut self,
        mut value: impl FnMut(&mut Reader<'a>) -> Result<T, AvroError>,
    ) -> Result<Vec<(String, T)>, AvroError> {
        let mut out = Vec::new();
        loop {
            let n = self.block_count()?;
            if n == 0 {
                return Ok(out);
            }
            for _ in 0..n {
                let k = self.string()?.to_string();
                out.push((k, value(self)?));
            }
        }
    }

    /// An `array` whose items `item` reads.
    pub fn array<T>(
        &mut self,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, AvroError>,
    ) -> Result<Vec<T>, AvroError> {
        let mut out = Vec::new();
        loop {
            let n = self.block_count()?;
            if n == 0 {
                return Ok(out);
            }
            for _ in 0..n {
                out.push(item(self)?);
            }
        }
    }
}

/// Appends a zig-zag varint.
pub fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// Appends length-prefixed bytes (a `bytes` or `string`).
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        // From the Avro specification: 0 → 00, -1 → 01, 1 → 02, -64 → 7f, 64 → 80 01.
        for (v, enc) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 1]),
        ] {
            let mut out = Vec::new();
            write_long(&mut out, v);
            assert_eq!(out, enc);
            assert_eq!(Reader::new(&enc).long().unwrap(), v);
        }
        // "foo" → 06 66 6f 6f
        assert_eq!(Reader::new(&[6, b'f', b'o', b'o']).string().unwrap(), "foo");
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(Reader::new(&[0x80]).long().is_err());
        assert!(Reader::new(&[0xff; 11]).long().is_err());
        assert!(Reader::new(&[10, 1, 2]).bytes().is_err());
        assert!(Reader::new(&[1]).bytes().is_err()); // length -1
        assert!(Reader::new(&[2, 0xff]).string().is_err());
        // A map claiming a huge block.
        let mut huge = Vec::new();
        write_long(&mut huge, 1 << 40);
        assert!(Reader::new(&huge)
            .map(|r| r.string().map(str::to_string))
            .is_err());
    }

    proptest! {
        #[test]
        fn longs_round_trip(v in any::<i64>()) {
            let mut out = Vec::new();
            write_long(&mut out, v);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.long().unwrap(), v);
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&data);
            let _ = r.map(|r| r.bytes().map(<[u8]>::to_vec));
            let mut r = Reader::new(&data);
            let _ = r.array(|r| r.string().map(str::to_string));
        }
    }
}

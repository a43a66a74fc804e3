//! A bounds-checked big-endian reader over one object's bytes, with ROOT's object headers.

/// What went wrong, with the byte offset inside the object being decoded.
pub type R<T> = std::result::Result<T, String>;

/// `kByteCountMask`: the bit marking a byte count in front of an object or a version.
pub const BYTE_COUNT: u32 = 0x4000_0000;
/// `kStreamedMemberWise`: the version bit of a collection streamed member by member.
pub const MEMBERWISE: u16 = 0x4000;

/// The header in front of a streamed object: its class version and, when written with a byte
/// count, where the object ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Class version (the member-wise bit removed).
    pub version: i16,
    /// Offset just past the object, when the header had a byte count.
    pub end: Option<usize>,
    /// The collection was streamed member-wise.
    pub memberwise: bool,
}

/// Reads big-endian values from `buf`; `origin` is the offset ROOT's object map gives `buf[0]`
/// (the key length for an object read from a key).
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: usize,
}

macro_rules! getters {
    ($($name:ident: $t:ty),*) => {$(
        /// Reads one big-endian value.
        pub fn $name(&mut self) -> R<$t> {
            let b = self.bytes(std::mem::size_of::<$t>())?;
            let mut a = [0u8; std::mem::size_of::<$t>()];
            a.copy_from_slice(b);
            Ok(<$t>::from_be_bytes(a))
        }
    )*};
}

impl<'a> Cursor<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8], origin: usize) -> Self {
        Self {
            buf,
            pos: 0,
            origin,
        }
    }

    /// Offset of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The map offset ROOT gives the next byte.
    pub fn map_pos(&self) -> usize {
        self.pos + self.origin
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        if n > self.remaining() {
            return Err(format!(
                "at byte {}: {n} bytes needed, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    getters!(u8: u8, i8: i8, u16: u16, i16: i16, u32: u32, i32: i32, u64: u64, i64: i64, f32: f32, f64: f64);

    /// A count read as `i32` that must be ≥ 0 and leave room for `count × min_bytes` bytes (so
    /// a damaged count cannot size an allocation beyond the object).
    pub fn count(&mut self, min_bytes: usize, what: &str) -> R<usize> {
        let at = self.pos;
        let n = self.i32()?;
        self.check_count(n as i64, min_bytes, what, at)
    }

    /// Checks a count read elsewhere against the bytes left.
    pub fn check_count(&self, n: i64, min_bytes: usize, what: &str, at: usize) -> R<usize> {
        if n < 0 {
            return Err(format!("at byte {at}: {what}: count {n} is negative"));
        }
        let need = (n as u128) * (min_bytes as u128);
        if need > self.remaining() as u128 {
            return Err(format!(
                "at byte {at}: {what}: count {n} needs at least {need} bytes, {} left",
                self.remaining()
            ));
        }
        Ok(n as usize)
    }

    /// A `TString`: a length byte (255: an `i32` length follows) and the characters.
    pub fn tstring(&mut self) -> R<String> {
        let short = self.u8()?;
        let n = if short == 255 {
            self.count(1, "string length")?
        } else {
            short as usize
        };
        Ok(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }

    /// A NUL-terminated string (class names after a new-class tag), at most 1024 bytes.
    pub fn cstring(&mut self) -> R<String> {
        let rest = &self.buf[self.pos..];
        let Some(n) = rest.iter().take(1024).position(|&b| b == 0) else {
            return Err(format!(
                "at byte {}: class name without its terminating NUL",
                self.pos
            ));
        };
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    /// An object header: an optional byte count (bit `0x40000000`) and the class version.
    pub fn header(&mut self) -> R<Header> {
        let at = self.pos;
        let first = if self.remaining() >= 4 {
            self.u32()?
        } else {
            0
        };
        let end = if first & BYTE_COUNT != 0 {
            let n = (first & !BYTE_COUNT) as usize;
            if n < 2 || n > self.remaining() {
                return Err(format!(
                    "at byte {at}: byte count {n} does not fit the {} bytes left",
                    self.remaining()
                ));
            }
            Some(self.pos + n)
        } else {
            self.pos = at;
            None
        };
        let raw = self.u16()?;
        Ok(Header {
            version: (raw & !MEMBERWISE) as i16,
            end,
            memberwise: raw & MEMBERWISE != 0,
        })
    }

    /// Ends the object `h` began: moves to its byte count's end (nothing without one).
    pub fn finish(&mut self, h: Header, what: &str) -> R<()> {
        match h.end {
            Some(end) => self.skip_to(end, what),
            None => Ok(()),
        }
    }

    /// Moves to `end` (the end a header's byte count gave), which must not lie behind.
    pub fn skip_to(&mut self, end: usize, what: &str) -> R<()> {
        if end < self.pos {
            return Err(format!(
                "{what}: decoding read {} bytes past the object's byte count (ends at byte {end})",
                self.pos - end
            ));
        }
        if end > self.buf.len() {
            return Err(format!("{what}: ends at byte {end}, past the buffer"));
        }
        self.pos = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_and_big_endian() {
        let mut c = Cursor::new(&[0, 0, 1, 2, 0xff], 0);
        assert_eq!(c.i32().unwrap(), 258);
        assert!(c.i32().unwrap_err().contains("4 bytes needed, 1 left"));
        assert_eq!(c.u8().unwrap(), 0xff);
    }

    #[test]
    fn counts_cannot_exceed_the_bytes_left() {
        let mut c = Cursor::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 0);
        assert!(c
            .count(4, "entries")
            .unwrap_err()
            .contains("count 2147483647"));
        let mut c = Cursor::new(&[0xff, 0xff, 0xff, 0xff], 0);
        assert!(c.count(1, "entries").unwrap_err().contains("negative"));
    }

    #[test]
    fn headers_with_and_without_byte_count() {
        let mut c = Cursor::new(&[0x40, 0, 0, 4, 0x40, 9, 1, 2], 0);
        let h = c.header().unwrap();
        assert_eq!((h.version, h.end, h.memberwise), (9, Some(8), true));
        let mut c = Cursor::new(&[0, 3, 1], 0);
        let h = c.header().unwrap();
        assert_eq!((h.version, h.end), (3, None));
        let mut c = Cursor::new(&[0x40, 0, 0, 40, 0, 1], 0);
        assert!(c.header().unwrap_err().contains("byte count 40"));
    }

    #[test]
    fn strings_short_long_and_damaged() {
        let mut c = Cursor::new(&[3, b'a', b'b', b'c', 255, 0, 0, 0, 1, b'z'], 0);
        assert_eq!(c.tstring().unwrap(), "abc");
        assert_eq!(c.tstring().unwrap(), "z");
        let mut c = Cursor::new(&[9, b'a'], 0);
        assert!(c.tstring().is_err());
        let mut c = Cursor::new(b"TList\0x", 0);
        assert_eq!(c.cstring().unwrap(), "TList");
        assert!(Cursor::new(b"abc", 0).cstring().is_err());
    }
}

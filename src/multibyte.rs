//! Character sets whose double-byte characters can hold an ASCII byte after the first: where a
//! scanner of SQL text must step over whole characters.
//!
//! In sjis and cp932 `表` is `0x95 0x5C`, in big5 and gbk a second byte may be `0x5C` too, and
//! in all four it may be a backquote (`0x60`): read byte by byte, such a character ends a
//! backslash escape's string one quote late, or closes a quoted name early. The server reads
//! a statement in its `character_set_client`, so the scanners that must agree with it (the
//! restore's statement splitter, the dump's rewrite of definitions) follow that character set
//! and ask [`Multibyte::char_len`] at each byte inside quotes. Every other character set the
//! server accepts as a client's keeps ASCII bytes for ASCII (utf8, latin1, ujis, euckr …).

/// How a client character set places ASCII-looking bytes inside characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Multibyte {
    /// An ASCII byte is always that ASCII character.
    #[default]
    Safe,
    /// sjis and cp932.
    Sjis,
    Big5,
    Gbk,
}

impl Multibyte {
    /// The kind of a character set by its name (any case); unknown names are `Safe`.
    pub fn of(charset: &[u8]) -> Multibyte {
        match &charset.to_ascii_lowercase()[..] {
            b"sjis" | b"cp932" => Multibyte::Sjis,
            b"big5" => Multibyte::Big5,
            b"gbk" => Multibyte::Gbk,
            _ => Multibyte::Safe,
        }
    }

    /// Whether `b` can start a double-byte character.
    pub fn is_lead(self, b: u8) -> bool {
        match self {
            Multibyte::Safe => false,
            Multibyte::Sjis => matches!(b, 0x81..=0x9F | 0xE0..=0xFC),
            Multibyte::Big5 => matches!(b, 0xA1..=0xF9),
            Multibyte::Gbk => matches!(b, 0x81..=0xFE),
        }
    }

    /// Whether `b` can end a double-byte character.
    fn is_trail(self, b: u8) -> bool {
        match self {
            Multibyte::Safe => false,
            Multibyte::Sjis => matches!(b, 0x40..=0x7E | 0x80..=0xFC),
            Multibyte::Big5 => matches!(b, 0x40..=0x7E | 0xA1..=0xFE),
            Multibyte::Gbk => matches!(b, 0x40..=0x7E | 0x80..=0xFE),
        }
    }

    /// Bytes of the character at `b[i]`: 2 for a valid double-byte character, else 1 (also
    /// when the second byte is not there: the caller waits for more input if it can).
    pub fn char_len(self, b: &[u8], i: usize) -> usize {
        match (b.get(i), b.get(i + 1)) {
            (Some(&lead), Some(&trail)) if self.is_lead(lead) && self.is_trail(trail) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Multibyte;

    #[test]
    fn second_bytes_that_look_like_ascii_belong_to_their_character() {
        let sjis = Multibyte::of(b"SJIS");
        assert_eq!(sjis, Multibyte::Sjis);
        assert_eq!(sjis.char_len(b"\x95\x5c'", 0), 2);
        // A half-width katakana is one byte.
        assert_eq!(sjis.char_len(b"\xb1'", 0), 1);
        // A lead byte before an invalid second byte stands alone.
        assert_eq!(sjis.char_len(b"\x95'", 0), 1);
        assert_eq!(Multibyte::of(b"cp932"), Multibyte::Sjis);
        assert_eq!(Multibyte::Gbk.char_len(b"\x81\x60", 0), 2);
        assert_eq!(Multibyte::Big5.char_len(b"\xa4\x5c", 0), 2);
        assert_eq!(Multibyte::of(b"utf8mb4").char_len(b"\xe8\xa1\xa8", 0), 1);
    }
}

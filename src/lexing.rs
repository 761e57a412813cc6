//! How the server lexes SQL text, for the scanners that must agree with it: the restore's
//! statement splitter and its reading of statements (`read`), the dump's rewrite of
//! definitions (`catalog::rewrite`).
//!
//! Two session settings change where a string or name ends: sql_mode (`NO_BACKSLASH_ESCAPES`
//! makes a backslash an ordinary byte, `ANSI_QUOTES` makes `"…"` a name) and the client
//! character set. In sjis and cp932 `表` is `0x95 0x5C`, in big5 and gbk a second byte may be `0x5C` too, and
//! in all four it may be a backquote (`0x60`): read byte by byte, such a character ends a
//! backslash escape's string one quote late, or closes a quoted name early. The server reads
//! a statement in its `character_set_client`, so the scanners that must agree with it (the
//! restore's statement splitter, the dump's rewrite of definitions) follow that character set
//! and ask [`Multibyte::char_len`] at each byte inside quotes. Every other character set the
//! server accepts as a client's keeps ASCII bytes for ASCII (utf8, latin1, ujis, euckr …).

/// How a text is lexed: the settings in force where it is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lexing {
    pub no_backslash_escapes: bool,
    pub ansi_quotes: bool,
    pub multibyte: Multibyte,
}

impl Lexing {
    /// The lexing of a text read under `sql_mode` (as `SHOW CREATE` or `@@sql_mode` print
    /// it) and `charset` (a `character_set_client`).
    pub fn new(sql_mode: &str, charset: &str) -> Lexing {
        let (no_backslash_escapes, ansi_quotes) = mode_flags(sql_mode.as_bytes());
        Lexing {
            no_backslash_escapes,
            ansi_quotes,
            multibyte: Multibyte::of(charset.as_bytes()),
        }
    }

    /// Bytes of the character at `b[i]` (see [`Multibyte::char_len`]).
    pub fn char_len(&self, b: &[u8], i: usize) -> usize {
        self.multibyte.char_len(b, i)
    }
}

/// Of a sql_mode value (`'A,B,C'`, any case): whether it has `NO_BACKSLASH_ESCAPES`, and
/// whether it has `ANSI_QUOTES` (alone or through a combination that includes it, should a
/// mode be given unexpanded). No combination includes `NO_BACKSLASH_ESCAPES`.
pub fn mode_flags(mode: &[u8]) -> (bool, bool) {
    let mut nbe = false;
    let mut ansi = false;
    for m in mode.split(|b| *b == b',') {
        let m = m.trim_ascii().to_ascii_uppercase();
        nbe |= m == b"NO_BACKSLASH_ESCAPES";
        ansi |= matches!(
            &m[..],
            b"ANSI_QUOTES" | b"ANSI" | b"ORACLE" | b"MSSQL" | b"DB2" | b"POSTGRESQL"
        );
    }
    (nbe, ansi)
}

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
    use super::{Lexing, Multibyte, mode_flags};

    #[test]
    fn modes_are_read_by_their_flags() {
        assert_eq!(
            mode_flags(b"STRICT_TRANS_TABLES,no_backslash_escapes"),
            (true, false)
        );
        assert_eq!(mode_flags(b"PIPES_AS_CONCAT,ANSI_QUOTES"), (false, true));
        assert_eq!(mode_flags(b"ORACLE"), (false, true));
        assert_eq!(mode_flags(b"NO_BACKSLASH_ESCAPES_X"), (false, false));
        let l = Lexing::new("ANSI", "cp932");
        assert!(l.ansi_quotes && !l.no_backslash_escapes);
        assert_eq!(l.multibyte, Multibyte::Sjis);
    }

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

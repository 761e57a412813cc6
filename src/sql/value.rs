//! Serialising one cell of the text protocol into SQL: the hot path of every dump.
//!
//! How a cell is written is decided once per column from the result-set metadata (type, flags,
//! charset number), never from the value (docs/dump-fidelity.md, "Values").
//!
//! Rows are read over the binary protocol: numbers and temporals arrive as native values (the
//! server does no text conversion, and FLOAT arrives with every bit), strings as bytes.

use mysql_async::Value;
use mysql_async::consts::{ColumnFlags, ColumnType};

/// The charset number the server reports for binary data.
const BINARY_CHARSET: u16 = 63;

/// How the cells of one result column are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Integers, DECIMAL, YEAR: the server's text is exact, written bare.
    Exact,
    /// DOUBLE (and FLOAT read as `col + 0e0`): bare, but a text starting with a letter
    /// (`inf`, `nan`) is not a number SQL can read back, so it becomes NULL with a warning.
    Float,
    /// A FLOAT(M,D) column whose largest value (the bits of a double, [`float_clip_max`])
    /// rounds, as a float, to one above it: written as [`CellKind::Float`], except that the
    /// float the server clips to is written as that largest value.
    FloatUpTo(u64),
    /// Character data, dates, ENUM/SET, JSON, UUID, INET6: a quoted, escaped string.
    Quoted,
    /// BINARY, VARBINARY, BLOBs, BIT, GEOMETRY: `0x<hex>`.
    Hex,
    /// Character data in a charset whose text does not survive a trip through utf8mb4 (sjis
    /// 0x5C, cp932 duplicates…): read as raw bytes, written as `_charset 0x<hex>`.
    Introduced(&'static str),
    /// Character data in `ascii`: read as raw bytes, since an ascii column stores bytes
    /// 0x80–0xFF too (written by a client whose charset is binary, without a warning) and the
    /// server turns each into `?` on the way to utf8mb4. Written as a quoted string when every
    /// byte is ASCII (as before, and still a row the restore's LOAD DATA path takes), else as
    /// `_ascii 0x<hex>`.
    Ascii,
    /// ENUM/SET read as `col + 0`: the stored number, written `+N`. A number, not the label,
    /// since labels can be ambiguous; the unary plus marks it for the restore's LOAD DATA
    /// path, which reads fields as strings (and a string is a label first).
    Numbered,
    /// DATE: `'YYYY-MM-DD'` (zero and invalid dates kept as stored).
    Date,
    /// DATETIME/TIMESTAMP with this many fractional digits.
    DateTime(u8),
    /// TIME with this many fractional digits; negative and beyond 24 h.
    Time(u8),
    /// Read but not written: the stand-in column of a table whose every column is generated,
    /// whose rows are `()` (they are rows all the same: `INSERT INTO t () VALUES ()`).
    Nothing,
}

/// A FLOAT(M,D) column's largest value as the server computes it (`truncate_double`:
/// 10^(M-D) − 10^−D in doubles), when the float nearest it lies above it: then the server
/// clips an out-of-range value to that float, and the same float loaded back is out of range
/// again (MariaDB's `type_float.test`: FLOAT(30,0) holds 1.0000000150474662e30 and warns on
/// it). None for a FLOAT without (M,D) (`decimals` 31 and over), or one without the quirk.
pub fn float_clip_max(length: u32, decimals: u8) -> Option<f64> {
    if decimals >= 31 || length < u32::from(decimals) || length > 255 {
        return None;
    }
    let ten = |n: u32| format!("1e{n}").parse::<f64>().ok();
    let max = ten(length - u32::from(decimals))? - 1.0 / ten(u32::from(decimals))?;
    (f64::from(max as f32) > max).then_some(max)
}

/// Character sets whose every value converts to utf8mb4 and back unchanged: their text is
/// written as quoted UTF-8. latin1 is MySQL's cp1252 with the five holes mapped to C1
/// controls, a bijection (the fidelity corpus checks every byte). Not ascii: see
/// [`CellKind::Ascii`].
const LOSSLESS_VIA_UNICODE: [&str; 8] = [
    "utf8mb4", "utf8mb3", "utf8", "latin1", "ucs2", "utf16", "utf16le", "utf32",
];

/// Every other character set the servers know, for the `_charset` introducer. `filename` is
/// the server's own encoding of table file names (`a b` is `a@0020b`), hidden from
/// `information_schema.CHARACTER_SETS` but usable for a column; a value stored in it need not
/// decode (`_filename X'404040'` reads back as `\0`), so its bytes are written as they are.
const OTHER_CHARSETS: [&str; 33] = [
    "big5", "dec8", "cp850", "hp8", "koi8r", "latin2", "swe7", "ujis", "sjis", "hebrew", "tis620",
    "euckr", "koi8u", "gb2312", "greek", "cp1250", "gbk", "latin5", "armscii8", "cp866", "keybcs2",
    "macce", "macroman", "cp852", "latin7", "cp1251", "cp1256", "cp1257", "geostd8", "cp932",
    "eucjpms", "gb18030", "filename",
];

/// For a column's character set: None when its text can be read and written as UTF-8, else
/// how its raw bytes are written ([`CellKind::Ascii`], or [`CellKind::Introduced`] with its
/// introducer). An unknown charset is refused: its text could not be written exactly.
pub fn raw_kind_for(charset: &str) -> Result<Option<CellKind>, String> {
    let cs = charset.to_ascii_lowercase();
    if LOSSLESS_VIA_UNICODE.contains(&cs.as_str()) || cs == "binary" {
        return Ok(None);
    }
    if cs == "ascii" {
        return Ok(Some(CellKind::Ascii));
    }
    OTHER_CHARSETS
        .iter()
        .find(|c| **c == cs)
        .map(|c| Some(CellKind::Introduced(c)))
        .ok_or_else(|| format!("character set {charset} is not known to this dump"))
}

impl CellKind {
    /// Chooses the kind from a result column's metadata.
    pub fn of(column_type: ColumnType, flags: ColumnFlags, charset: u16, decimals: u8) -> CellKind {
        use ColumnType::*;
        let fraction = if decimals > 6 { 6 } else { decimals };
        match column_type {
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => CellKind::Date,
            MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2 => CellKind::DateTime(fraction),
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => CellKind::Time(fraction),
            MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_YEAR => CellKind::Exact,
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => CellKind::Float,
            MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => CellKind::Hex,
            // MySQL reports JSON with the binary charset, but it must be inserted as text
            // (ERROR 3144 otherwise).
            MYSQL_TYPE_JSON => CellKind::Quoted,
            // ENUM and SET arrive as strings carrying the column's charset; they are labels.
            _ if flags.intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG) => {
                CellKind::Quoted
            }
            MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
                if charset == BINARY_CHARSET =>
            {
                CellKind::Hex
            }
            _ => CellKind::Quoted,
        }
    }
}

/// What happened to a cell that could not be written as the server sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellNote {
    Written,
    /// A FLOAT/DOUBLE text that is not a number (`inf`, `nan`) was written as NULL.
    NotANumber,
}

/// Escape replacement for each byte: 0 means "copy as is".
static ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = b'0';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\\' as usize] = b'\\';
    t[b'\'' as usize] = b'\'';
    t[b'"' as usize] = b'"';
    t[0x1a] = b'Z';
    t
};

/// Appends one cell. `None` is SQL NULL; an empty value is `''`, never a bare `0x`.
#[inline]
pub fn push_cell(out: &mut Vec<u8>, kind: CellKind, cell: Option<&[u8]>) -> CellNote {
    let Some(v) = cell else {
        if kind != CellKind::Nothing {
            out.extend_from_slice(b"NULL");
        }
        return CellNote::Written;
    };
    match kind {
        CellKind::Nothing => {}
        CellKind::Float | CellKind::FloatUpTo(_)
            if v.first().is_some_and(|b| b.is_ascii_alphabetic()) =>
        {
            out.extend_from_slice(b"NULL");
            return CellNote::NotANumber;
        }
        // Bare only when it is a number: the text is the server's, and anything else written
        // bare would put SQL of its choosing into the dump (a column announced as DECIMAL
        // whose value is `1); DROP …`). Quoted, such a value stays one value.
        CellKind::Numbered | CellKind::Exact | CellKind::Float | CellKind::FloatUpTo(_)
            if !is_number(v) =>
        {
            push_quoted(out, v)
        }
        CellKind::Numbered => {
            out.push(b'+');
            out.extend_from_slice(v);
        }
        CellKind::Exact | CellKind::Float | CellKind::FloatUpTo(_) => out.extend_from_slice(v),
        CellKind::Quoted | CellKind::Date | CellKind::DateTime(_) | CellKind::Time(_) => {
            push_quoted(out, v)
        }
        CellKind::Hex => push_hex(out, v),
        CellKind::Introduced(cs) => {
            out.push(b'_');
            out.extend_from_slice(cs.as_bytes());
            out.push(b' ');
            push_hex(out, v);
        }
        CellKind::Ascii if v.is_ascii() => push_quoted(out, v),
        CellKind::Ascii => {
            out.extend_from_slice(b"_ascii ");
            push_hex(out, v);
        }
    }
    CellNote::Written
}

/// True when `v` reads as one number in SQL: an optional sign, digits with an optional point,
/// an optional exponent. An empty text is not one (it is written `''`).
fn is_number(v: &[u8]) -> bool {
    let digits = |i: &mut usize| {
        let start = *i;
        while v.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut i = usize::from(matches!(v.first(), Some(b'-' | b'+')));
    let mut mantissa = digits(&mut i);
    if v.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(v.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(v.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == v.len()
}

/// One cell of a binary-protocol row, borrowed from wherever it was decoded (a mysql_async
/// `Value`, or a row packet read in place by `rows::decode`). Both paths write through
/// [`push_binary`], so they produce the same bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryCell<'a> {
    Null,
    Bytes(&'a [u8]),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// year, month, day, hour, minute, second, microseconds
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// negative, days, hours, minutes, seconds, microseconds
    Time(bool, u32, u8, u8, u8, u32),
}

impl<'a> From<&'a Value> for BinaryCell<'a> {
    #[inline]
    fn from(value: &'a Value) -> Self {
        match value {
            Value::NULL => BinaryCell::Null,
            Value::Bytes(b) => BinaryCell::Bytes(b),
            Value::Int(i) => BinaryCell::Int(*i),
            Value::UInt(u) => BinaryCell::UInt(*u),
            Value::Float(f) => BinaryCell::Float(*f),
            Value::Double(d) => BinaryCell::Double(*d),
            Value::Date(y, m, d, h, i, s, us) => BinaryCell::Date(*y, *m, *d, *h, *i, *s, *us),
            Value::Time(neg, days, h, i, s, us) => BinaryCell::Time(*neg, *days, *h, *i, *s, *us),
        }
    }
}

/// Appends one value of the binary protocol (see [`push_binary`]).
#[inline]
pub fn push_value(out: &mut Vec<u8>, kind: CellKind, value: &Value) -> CellNote {
    push_binary(out, kind, BinaryCell::from(value))
}

/// Appends one cell of the binary protocol. Byte values follow `kind` like [`push_cell`];
/// numbers are written in their shortest exact form; temporals as the server would print them.
// Always inlined: the row decoder's match on the column layout then meets this match on the
// cell, and the compiler joins them (a fifth faster on mixed rows, `cargo bench --bench serialize`).
#[inline(always)]
pub fn push_binary(out: &mut Vec<u8>, kind: CellKind, cell: BinaryCell<'_>) -> CellNote {
    match cell {
        BinaryCell::Null => out.extend_from_slice(b"NULL"),
        BinaryCell::Bytes(b) => return push_cell(out, kind, Some(b)),
        // The stand-in of a table of generated columns only is the constant `1`, an integer
        // (text, over the driver): its kind is looked at here, not on every cell.
        BinaryCell::Int(_) | BinaryCell::UInt(_) if kind == CellKind::Nothing => {}
        BinaryCell::Int(i) => {
            if kind == CellKind::Numbered {
                out.push(b'+');
            }
            out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes())
        }
        BinaryCell::UInt(u) => {
            if kind == CellKind::Numbered {
                out.push(b'+');
            }
            out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes())
        }
        // The float's exact value as a double: parsed back as a double and narrowed to FLOAT
        // it is the same float, with no double rounding.
        BinaryCell::Float(f) => {
            if let CellKind::FloatUpTo(bits) = kind {
                // The float the server clips FLOAT(M,D) to lies above the column's largest
                // value, and loading it back warns (1264, out of range) before clipping to
                // the same float; the largest value itself loads quietly into that float.
                let max = f64::from_bits(bits);
                if f64::from(f.abs()) > max && f.abs() == max as f32 {
                    return push_double(out, max.copysign(f64::from(f)));
                }
            }
            return push_double(out, f64::from(f));
        }
        BinaryCell::Double(d) => return push_double(out, d),
        BinaryCell::Date(y, m, d, h, i, s, us) => {
            out.push(b'\'');
            push_digits(out, u32::from(y), 4);
            out.push(b'-');
            push_digits(out, u32::from(m), 2);
            out.push(b'-');
            push_digits(out, u32::from(d), 2);
            if let CellKind::DateTime(frac) = kind {
                out.push(b' ');
                push_clock(out, u32::from(h), i, s, us, frac);
            }
            out.push(b'\'');
        }
        BinaryCell::Time(negative, days, h, i, s, us) => {
            let frac = match kind {
                CellKind::Time(f) | CellKind::DateTime(f) => f,
                _ => 6,
            };
            out.push(b'\'');
            if negative {
                out.push(b'-');
            }
            push_clock(
                out,
                days.wrapping_mul(24).wrapping_add(u32::from(h)),
                i,
                s,
                us,
                frac,
            );
            out.push(b'\'');
        }
    }
    CellNote::Written
}

fn push_double(out: &mut Vec<u8>, d: f64) -> CellNote {
    if !d.is_finite() {
        out.extend_from_slice(b"NULL");
        return CellNote::NotANumber;
    }
    // zmij (the shortest round-trip digits, like ryu, in half the instructions) writes an
    // exponent as `e+20`, where ryu and every dump before it wrote `e20`: the `+` goes.
    let mut buf = zmij::Buffer::new();
    let s = buf.format_finite(d).as_bytes();
    let tail = s.len().saturating_sub(5);
    match s[tail..].iter().position(|&b| b == b'+') {
        Some(p) => {
            out.extend_from_slice(&s[..tail + p]);
            out.extend_from_slice(&s[tail + p + 1..]);
        }
        None => out.extend_from_slice(s),
    }
    CellNote::Written
}

/// `HH:MM:SS[.ffffff]` with `frac` fractional digits (hours may exceed 99).
fn push_clock(out: &mut Vec<u8>, hours: u32, minutes: u8, seconds: u8, micros: u32, frac: u8) {
    push_digits(out, hours, 2);
    out.push(b':');
    push_digits(out, u32::from(minutes), 2);
    out.push(b':');
    push_digits(out, u32::from(seconds), 2);
    if frac > 0 {
        out.push(b'.');
        let mut digits = [b'0'; 6];
        let mut v = micros.min(999_999);
        for d in digits.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&digits[..usize::from(frac.min(6))]);
    }
}

/// `value` in decimal, zero-padded to at least `width` digits.
#[inline]
fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    // Dates and clocks are almost always 2 or 4 digits: write those without formatting.
    match (width, value) {
        (2, 0..=99) => {
            out.extend_from_slice(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8])
        }
        (4, 0..=9999) => out.extend_from_slice(&[
            b'0' + (value / 1000) as u8,
            b'0' + (value / 100 % 10) as u8,
            b'0' + (value / 10 % 10) as u8,
            b'0' + (value % 10) as u8,
        ]),
        _ => {
            let mut buf = itoa::Buffer::new();
            let s = buf.format(value);
            for _ in s.len()..width {
                out.push(b'0');
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// Appends `'…'` with NUL, LF, CR, `\`, `'`, `"` and 0x1A escaped; all other bytes verbatim.
#[inline]
fn push_quoted(out: &mut Vec<u8>, v: &[u8]) {
    out.reserve(v.len() + 2);
    out.push(b'\'');
    let mut start = 0;
    let mut i = 0;
    while i < v.len() {
        // Most text has nothing to escape: test eight bytes per step before looking closer.
        if i + 8 <= v.len() && v[i..i + 8].iter().all(|&b| ESCAPES[b as usize] == 0) {
            i += 8;
            continue;
        }
        let e = ESCAPES[v[i] as usize];
        if e != 0 {
            out.extend_from_slice(&v[start..i]);
            out.push(b'\\');
            out.push(e);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&v[start..]);
    out.push(b'\'');
}

/// A single-quoted SQL string literal with the same escapes the data path uses.
pub fn string_literal(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 2);
    push_quoted(&mut out, value.as_bytes());
    String::from_utf8(out).expect("escaping keeps UTF-8 valid")
}

/// Appends `0x<HEX>`; an empty value is `''` because `0x` alone is not a literal.
#[inline]
fn push_hex(out: &mut Vec<u8>, v: &[u8]) {
    if v.is_empty() {
        out.extend_from_slice(b"''");
        return;
    }
    let start = out.len();
    out.resize(start + 2 + v.len() * 2, 0);
    let dst = &mut out[start..];
    dst[0] = b'0';
    dst[1] = b'x';
    let (words, tail) = v.as_chunks::<4>();
    let (dst_words, dst_tail) = dst[2..].split_at_mut(words.len() * 8);
    for (d, w) in dst_words.chunks_exact_mut(8).zip(words) {
        d.copy_from_slice(&hex_word(*w));
    }
    if !tail.is_empty() {
        let mut last = [0u8; 4];
        last[..tail.len()].copy_from_slice(tail);
        dst_tail.copy_from_slice(&hex_word(last)[..2 * tail.len()]);
    }
}

/// The eight hex digits of four bytes, computed in one 64-bit register: `in_place/blobs`
/// (`cargo bench --bench serialize`) takes 0.7 of the time it took with a lookup per digit.
#[inline(always)]
fn hex_word(bytes: [u8; 4]) -> [u8; 8] {
    const NIBBLES: u64 = 0x000F_000F_000F_000F;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Byte i to bits 16i..16i+8, then its high nibble to byte 2i and its low one to 2i+1.
    let mut v = u64::from(u32::from_le_bytes(bytes));
    v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
    let nibbles = ((v >> 4) & NIBBLES) | ((v & NIBBLES) << 8);
    // Every nibble of 10 or more gets bit 4 set by adding 6: those skip ':'..'@' to 'A'.
    let letters = ((nibbles + 6 * ONES) >> 4) & ONES;
    (nibbles + b'0' as u64 * ONES + 7 * letters).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(kind: CellKind, v: Option<&[u8]>) -> String {
        let mut out = Vec::new();
        push_cell(&mut out, kind, v);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn null_and_empty_are_different() {
        assert_eq!(cell(CellKind::Quoted, None), "NULL");
        assert_eq!(cell(CellKind::Quoted, Some(b"")), "''");
        assert_eq!(cell(CellKind::Hex, Some(b"")), "''");
        assert_eq!(cell(CellKind::Hex, None), "NULL");
    }

    /// Found by the `result_set` fuzz target: a column definition cut short made a string
    /// column read as DECIMAL, and its text went into the dump bare.
    #[test]
    fn a_number_kind_writes_only_numbers_bare() {
        for n in [
            "0",
            "-5",
            "+7",
            "-12.50",
            ".5",
            "5.",
            "1.5e-10",
            "1E+20",
            "18446744073709551615",
        ] {
            assert_eq!(cell(CellKind::Exact, Some(n.as_bytes())), n);
            assert_eq!(cell(CellKind::Float, Some(n.as_bytes())), n);
        }
        assert_eq!(cell(CellKind::Numbered, Some(b"3")), "+3");
        for (v, quoted) in [
            (
                &b"1); DROP DATABASE d; -- "[..],
                "'1); DROP DATABASE d; -- '",
            ),
            (b"1'b", r"'1\'b'"),
            (b"1e", "'1e'"),
            (b"-", "'-'"),
            (b".", "'.'"),
            (b"1 2", "'1 2'"),
            (b"", "''"),
        ] {
            for kind in [CellKind::Exact, CellKind::Numbered, CellKind::Float] {
                assert_eq!(cell(kind, Some(v)), quoted, "{kind:?}");
            }
        }
    }

    #[test]
    fn every_special_byte_is_escaped() {
        assert_eq!(
            cell(CellKind::Quoted, Some(b"a\0b\nc\rd\\e'f\"g\x1ah")),
            r#"'a\0b\nc\rd\\e\'f\"g\Zh'"#
        );
    }

    #[test]
    fn other_bytes_are_verbatim() {
        let all: Vec<u8> = (0u8..=255).filter(|b| ESCAPES[*b as usize] == 0).collect();
        let mut out = Vec::new();
        push_quoted(&mut out, &all);
        assert_eq!(&out[1..out.len() - 1], &all[..]);
    }

    #[test]
    fn hex_is_upper_case_with_prefix() {
        assert_eq!(cell(CellKind::Hex, Some(&[0x00, 0xff, 0x5c])), "0x00FF5C");
    }

    /// The DOUBLE text is what ryu wrote before zmij replaced it, byte for byte: the dumps'
    /// row checksums and every earlier dump depend on it. Random bit patterns of doubles and
    /// of widened floats, and both sides of every power of ten, where the notation changes.
    #[test]
    fn doubles_are_written_as_ryu_wrote_them() {
        let check = |d: f64| {
            if !d.is_finite() {
                return;
            }
            let mut out = Vec::new();
            push_double(&mut out, d);
            let expected = ryu::Buffer::new().format_finite(d).to_owned();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "bits {:#x}",
                d.to_bits()
            );
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(f64::from_bits(x));
            check(f64::from(f32::from_bits(x as u32)));
            check((x % 10_000_000) as f64 / 3.0);
        }
        for k in -325..=309 {
            let p = format!("1e{k}").parse::<f64>().unwrap();
            for d in [p, p * 1.5, p * 9.999_999, -p] {
                for bits in d.to_bits().saturating_sub(2)..=d.to_bits().saturating_add(2) {
                    check(f64::from_bits(bits));
                }
            }
        }
        for d in [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            0.1,
            1.0 / 3.0,
        ] {
            check(d);
        }
    }

    /// Quoting is the byte-by-byte escape of docs/dump-fidelity.md for strings of every length up
    /// to 40 with special bytes anywhere, across the eight-byte steps of the scan.
    #[test]
    fn quoted_strings_match_the_byte_by_byte_escape() {
        let mut x: u32 = 12345;
        for n in 0..=40 {
            for _ in 0..500 {
                let v: Vec<u8> = (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        match x % 8 {
                            0 => [0u8, b'\n', b'\r', b'\\', b'\'', b'"', 0x1a, b'\t']
                                [(x >> 8) as usize % 8],
                            _ => (x >> 8) as u8,
                        }
                    })
                    .collect();
                let mut expected = vec![b'\''];
                for &b in &v {
                    match b {
                        0 => expected.extend_from_slice(b"\\0"),
                        b'\n' => expected.extend_from_slice(b"\\n"),
                        b'\r' => expected.extend_from_slice(b"\\r"),
                        0x1a => expected.extend_from_slice(b"\\Z"),
                        b'\\' | b'\'' | b'"' => expected.extend_from_slice(&[b'\\', b]),
                        _ => expected.push(b),
                    }
                }
                expected.push(b'\'');
                let mut out = Vec::new();
                push_quoted(&mut out, &v);
                assert_eq!(out, expected, "{v:?}");
            }
        }
    }

    #[test]
    fn hex_of_every_byte_at_every_offset_and_length_is_exact() {
        let every: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in 0..=every.len() {
            for skip in [0, 1, 3] {
                let v = &every[skip.min(len)..len];
                let mut out = Vec::new();
                push_hex(&mut out, v);
                let expected = if v.is_empty() {
                    "''".to_string()
                } else {
                    let digits: String = v.iter().map(|b| format!("{b:02X}")).collect();
                    format!("0x{digits}")
                };
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    expected,
                    "{len} bytes from {skip}"
                );
            }
        }
    }

    fn value(kind: CellKind, v: Value) -> String {
        let mut out = Vec::new();
        push_value(&mut out, kind, &v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn binary_values_are_written_exactly() {
        assert_eq!(
            value(CellKind::Exact, Value::Int(i64::MIN)),
            "-9223372036854775808"
        );
        assert_eq!(
            value(CellKind::Exact, Value::UInt(u64::MAX)),
            "18446744073709551615"
        );
        assert_eq!(
            value(CellKind::Float, Value::Float(0.010516252_f32)),
            "0.010516252368688583"
        );
        assert_eq!(value(CellKind::Float, Value::Double(5e-324)), "5e-324");
        assert_eq!(value(CellKind::Float, Value::Double(f64::NAN)), "NULL");
        let f = 3.402_823_5e38_f32;
        let text = value(CellKind::Float, Value::Float(f));
        assert_eq!(text.parse::<f64>().unwrap() as f32, f, "{text}");
        assert_eq!(
            value(CellKind::Date, Value::Date(0, 0, 0, 0, 0, 0, 0)),
            "'0000-00-00'"
        );
        assert_eq!(
            value(CellKind::Date, Value::Date(2020, 2, 31, 0, 0, 0, 0)),
            "'2020-02-31'"
        );
        assert_eq!(
            value(CellKind::DateTime(0), Value::Date(0, 0, 0, 0, 0, 0, 0)),
            "'0000-00-00 00:00:00'"
        );
        assert_eq!(
            value(
                CellKind::DateTime(3),
                Value::Date(2001, 1, 2, 3, 4, 5, 678_000)
            ),
            "'2001-01-02 03:04:05.678'"
        );
        assert_eq!(
            value(CellKind::Time(6), Value::Time(true, 34, 22, 59, 59, 0)),
            "'-838:59:59.000000'"
        );
        assert_eq!(
            value(CellKind::Time(0), Value::Time(false, 0, 1, 2, 3, 0)),
            "'01:02:03'"
        );
        assert_eq!(value(CellKind::Hex, Value::Bytes(vec![1, 2])), "0x0102");
        assert_eq!(value(CellKind::Quoted, Value::NULL), "NULL");
    }

    #[test]
    fn lossy_charsets_keep_their_bytes() {
        assert_eq!(
            cell(CellKind::Introduced("sjis"), Some(&[0x95, 0x5c])),
            "_sjis 0x955C"
        );
        assert_eq!(cell(CellKind::Introduced("sjis"), Some(b"")), "_sjis ''");
        // ascii: quoted while every byte is ASCII (the LOAD DATA path takes it), else raw.
        assert_eq!(cell(CellKind::Ascii, Some(b"it's")), "'it\\'s'");
        assert_eq!(cell(CellKind::Ascii, Some(b"")), "''");
        assert_eq!(
            cell(CellKind::Ascii, Some(&[b'a', 0x80, 0xff])),
            "_ascii 0x6180FF"
        );
        assert_eq!(raw_kind_for("SJIS"), Ok(Some(CellKind::Introduced("sjis"))));
        assert_eq!(raw_kind_for("utf8mb4"), Ok(None));
        assert_eq!(raw_kind_for("latin1"), Ok(None));
        assert_eq!(raw_kind_for("binary"), Ok(None));
        assert_eq!(raw_kind_for("ASCII"), Ok(Some(CellKind::Ascii)));
        assert!(raw_kind_for("klingon").is_err());
    }

    #[test]
    fn non_numbers_in_float_columns_become_null() {
        let mut out = Vec::new();
        assert_eq!(
            push_cell(&mut out, CellKind::Float, Some(b"inf")),
            CellNote::NotANumber
        );
        assert_eq!(out, b"NULL");
        assert_eq!(cell(CellKind::Float, Some(b"-1.5e-300")), "-1.5e-300");
    }

    #[test]
    fn kinds_follow_metadata_not_values() {
        use ColumnType::*;
        let none = ColumnFlags::empty();
        assert_eq!(CellKind::of(MYSQL_TYPE_BLOB, none, 63, 0), CellKind::Hex);
        assert_eq!(CellKind::of(MYSQL_TYPE_BLOB, none, 45, 0), CellKind::Quoted);
        assert_eq!(CellKind::of(MYSQL_TYPE_JSON, none, 63, 0), CellKind::Quoted);
        assert_eq!(CellKind::of(MYSQL_TYPE_BIT, none, 63, 0), CellKind::Hex);
        assert_eq!(
            CellKind::of(MYSQL_TYPE_GEOMETRY, none, 63, 0),
            CellKind::Hex
        );
        assert_eq!(
            CellKind::of(MYSQL_TYPE_STRING, ColumnFlags::ENUM_FLAG, 63, 0),
            CellKind::Quoted
        );
        assert_eq!(
            CellKind::of(MYSQL_TYPE_NEWDECIMAL, none, 63, 0),
            CellKind::Exact
        );
        assert_eq!(
            CellKind::of(MYSQL_TYPE_DOUBLE, none, 63, 0),
            CellKind::Float
        );
        assert_eq!(
            CellKind::of(MYSQL_TYPE_DATETIME, none, 63, 0),
            CellKind::DateTime(0)
        );
    }

    #[test]
    fn a_float_the_server_clips_to_is_written_as_the_columns_largest_value() {
        // FLOAT(30,0): the float nearest 1e30 lies above it; FLOAT(5,2) and plain FLOAT
        // have no such value.
        let max = float_clip_max(30, 0).expect("FLOAT(30,0) has the quirk");
        assert_eq!(max, 1e30);
        assert_eq!(float_clip_max(5, 2), None);
        assert_eq!(float_clip_max(12, 31), None);
        let kind = CellKind::FloatUpTo(max.to_bits());
        let clipped = max as f32;
        assert_eq!(value(kind, Value::Float(clipped)), "1e30");
        assert_eq!(value(kind, Value::Float(-clipped)), "-1e30");
        // Anything else keeps its exact value, including a float above the maximum that is
        // not the one the server clips to.
        assert_eq!(value(kind, Value::Float(1e29)), "1.0000000150474662e29");
        let above = f32::from_bits(clipped.to_bits() + 1);
        assert_eq!(
            value(kind, Value::Float(above)).parse::<f64>().unwrap() as f32,
            above
        );
        assert_eq!(
            value(CellKind::Float, Value::Float(clipped)),
            "1.0000000150474662e30"
        );
    }
}

//! The row statements of our own dumps sent as `LOAD DATA LOCAL INFILE`: the same rows, read
//! by the server's field loader instead of its SQL parser, which is about a fifth of the
//! server's CPU for an INSERT-based restore (measured on the benchmark's `big` table: 6.0 s
//! against 7.9 s of server CPU for the same 592 000 rows).
//!
//! Only the exact shape our dump writes is converted: `INSERT INTO` a backquoted table with a
//! backquoted column list, tuples of NULL, numbers, quoted strings with our escapes, and hex
//! (binary columns: see [`Binary`] for how they travel). Anything else, such as an introducer,
//! a function or an escape we never write, leaves the statement as it is.

use std::fmt::Write as _;

/// One INSERT turned into a LOAD DATA statement and the tab-separated rows it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadData {
    pub statement: String,
    pub data: Vec<u8>,
    pub rows: u64,
}

/// How the values of hex columns (binary strings, BIT, GEOMETRY: the only ones our dump
/// writes as `0x…`) travel in the rows.
///
/// Both forms give the column a binary string, as the INSERT's hex literal does, so the
/// column stores the same bytes whatever its type or character set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// The bytes themselves (escaped like any field), read into a variable and stored as
    /// `CAST(@v AS BINARY)`: half the bytes of hex for the server to read, and no `UNHEX`.
    /// On the bench's blob table (1 M rows of 96 bytes) the server spent about a quarter less
    /// CPU than with hex (BENCHMARKS.md, session 23). MariaDB: its field reader takes a byte
    /// that does not start a valid UTF-8 character as one byte, and our escapes and separators
    /// are ASCII, which no UTF-8 sequence contains; the fidelity tests load every byte value
    /// after every other.
    Raw,
    /// Hex digits through `UNHEX`: MySQL, whose handling of bytes that are not UTF-8 in a
    /// utf8mb4 LOAD DATA file is not tested here (no MySQL server on the test machine).
    Hex,
}

impl Binary {
    /// The form for a server of this flavor.
    pub fn for_flavor(flavor: crate::connect::Flavor) -> Binary {
        match flavor {
            crate::connect::Flavor::MariaDb => Binary::Raw,
            _ => Binary::Hex,
        }
    }
}

/// How a column's values are written in the rows: as they are, or the bytes of hex that the
/// statement turns into a binary string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Unknown,
    Plain,
    Hex,
    /// ENUM/SET numbers, written `+N` by the dump: a LOAD DATA field is a string, which the
    /// server matches against the labels first, so the number goes in through `CAST`.
    Numbered,
}

/// The head of an INSERT in our dump's shape, as written: `INSERT INTO <target> (<columns>)
/// VALUES `, the table possibly qualified by its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsertHead<'a> {
    /// `` `db` `` when the table is qualified.
    pub schema: Option<&'a str>,
    /// `` `db`.`t` `` or `` `t` ``.
    pub target: &'a str,
    /// `` (`a`,`b`) ``.
    pub columns: &'a str,
    /// Where the first row tuple starts.
    pub values_at: usize,
}

/// The table a `CREATE TABLE` of our dump defines when it has a nullable `AUTO_INCREMENT`
/// column (our dumps write its `AUTO_INCREMENT NULL`: `catalog::with_explicit_null`): its
/// rows go as INSERTs. A LOAD DATA of a NULL there keeps the NULL but takes a number from
/// the counter for it, as an INSERT under the dump's `NO_AUTO_VALUE_ON_ZERO` does not, and
/// the restored table's `AUTO_INCREMENT=` would be higher than the source's. Unquoted; None
/// for any other statement (a comment holding the words only costs that table the faster
/// form).
pub fn numbers_nulls_on_load(create: &[u8]) -> Option<String> {
    let first = create.split(|&b| b == b'\n').next()?;
    let table = super::keys::created_table(std::str::from_utf8(first).ok()?)?;
    memchr::memmem::find(create, b" AUTO_INCREMENT NULL")?;
    Some(table)
}

/// The head of `sql` when it is an INSERT in our dump's shape.
pub fn insert_head(sql: &[u8]) -> Option<InsertHead<'_>> {
    let mut p = Parser {
        s: sql,
        i: 0,
        binary: Binary::Hex,
    };
    p.keyword(b"INSERT INTO ")?;
    let target_start = p.i;
    p.ident()?;
    let mut schema = None;
    if p.peek() == Some(b'.') {
        schema = Some(std::str::from_utf8(&sql[target_start..p.i]).ok()?);
        p.i += 1;
        p.ident()?;
    }
    let target = std::str::from_utf8(&sql[target_start..p.i]).ok()?;
    p.keyword(b" ")?;
    let columns_start = p.i;
    if p.next()? != b'(' {
        return None;
    }
    loop {
        p.ident()?;
        match p.next()? {
            b',' => continue,
            b')' => break,
            _ => return None,
        }
    }
    let columns = std::str::from_utf8(&sql[columns_start..p.i]).ok()?;
    p.keyword(b" VALUES ")?;
    Some(InsertHead {
        schema,
        target,
        columns,
        values_at: p.i,
    })
}

/// An INSERT in our dump's shape, read: its target, column names, how each column's values
/// are written, the rows as LOAD DATA fields, and which columns hold an ENUM error value.
struct Parsed<'a> {
    target: &'a str,
    names: Vec<&'a str>,
    columns: Vec<Column>,
    data: Vec<u8>,
    rows: u64,
    /// Per column: it holds `+0`, an ENUM's error value.
    enum_error: Vec<bool>,
}

fn parse(sql: &[u8], binary: Binary) -> Option<Parsed<'_>> {
    let head = insert_head(sql)?;
    let inner = &head.columns[1..head.columns.len() - 1];
    // The names are backquoted, so a comma inside one is inside its quotes: split outside.
    let mut names = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'`' => quoted = !quoted,
            b',' if !quoted => {
                names.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    names.push(&inner[start..]);
    let mut p = Parser {
        s: sql,
        i: head.values_at,
        binary,
    };

    let mut columns = vec![Column::Unknown; names.len()];
    let mut enum_error = vec![false; names.len()];
    let mut data = Vec::with_capacity(sql.len());
    let mut rows = 0u64;
    loop {
        if p.next()? != b'(' {
            return None;
        }
        for (c, column) in columns.iter_mut().enumerate() {
            if c > 0 {
                if p.next()? != b',' {
                    return None;
                }
                data.push(b'\t');
            }
            let at = data.len();
            p.value(column, &mut data)?;
            if *column == Column::Numbered && data[at..] == *b"0" {
                enum_error[c] = true;
            }
        }
        if p.next()? != b')' {
            return None;
        }
        data.push(b'\n');
        rows += 1;
        match p.peek() {
            Some(b',') => p.i += 1,
            _ => break,
        }
    }
    while p
        .peek()
        .is_some_and(|b| b == b';' || b.is_ascii_whitespace())
    {
        p.i += 1;
    }
    if p.i != sql.len() {
        return None;
    }
    Some(Parsed {
        target: head.target,
        names,
        columns,
        data,
        rows,
        enum_error,
    })
}

/// The columns (unquoted names) to which a row statement of our dump writes an ENUM's error
/// value (`+0`): the server stores it only with a truncation warning (1265) naming the
/// column, on the source as on restore. Empty when the statement is not in our shape.
pub fn enum_error_columns(sql: &[u8]) -> Vec<String> {
    written_columns(sql)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, enum_error)| *enum_error)
        .map(|(name, _)| name)
        .collect()
}

/// The columns an INSERT of our dump's shape writes (unquoted), each with whether the
/// statement writes an ENUM's error value to it (see [`enum_error_columns`]); None for any
/// other statement. One parse of the statement for both.
pub fn written_columns(sql: &[u8]) -> Option<Vec<(String, bool)>> {
    let parsed = parse(sql, Binary::Hex)?;
    Some(
        parsed
            .names
            .iter()
            .zip(&parsed.enum_error)
            .map(|(n, e)| (n[1..n.len() - 1].replace("``", "`"), *e))
            .collect(),
    )
}

/// The LOAD DATA form of `sql`, or None when it is not an INSERT in our dump's shape.
pub fn convert(sql: &[u8], binary: Binary) -> Option<LoadData> {
    let Parsed {
        target,
        names,
        columns,
        data,
        rows,
        ..
    } = parse(sql, binary)?;
    let mut statement = format!(
        "LOAD DATA LOCAL INFILE 'sfdbtools-rows' INTO TABLE {target} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' \
         LINES STARTING BY '' TERMINATED BY '\\n' ("
    );
    let mut set = Vec::new();
    for (c, (name, column)) in names.iter().zip(&columns).enumerate() {
        if c > 0 {
            statement.push(',');
        }
        if *column == Column::Hex {
            let _ = write!(statement, "@sfdb_{c}");
            set.push(match binary {
                Binary::Raw => format!("{name} = CAST(@sfdb_{c} AS BINARY)"),
                Binary::Hex => format!("{name} = UNHEX(@sfdb_{c})"),
            });
        } else if *column == Column::Numbered {
            let _ = write!(statement, "@sfdb_{c}");
            set.push(format!("{name} = CAST(@sfdb_{c} AS UNSIGNED)"));
        } else {
            statement.push_str(name);
        }
    }
    statement.push(')');
    if !set.is_empty() {
        statement.push_str(" SET ");
        statement.push_str(&set.join(", "));
    }
    Some(LoadData {
        statement,
        data,
        rows,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    binary: Binary,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn keyword(&mut self, k: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(k) {
            self.i += k.len();
            Some(())
        } else {
            None
        }
    }

    /// A backquoted identifier (inner backquotes doubled).
    fn ident(&mut self) -> Option<()> {
        if self.next()? != b'`' {
            return None;
        }
        loop {
            let k = memchr::memchr(b'`', &self.s[self.i..])?;
            self.i += k + 1;
            if self.peek() == Some(b'`') {
                self.i += 1;
            } else {
                return Some(());
            }
        }
    }

    /// One value into `out` as a LOAD DATA field; `column` learns whether the column is hex.
    fn value(&mut self, column: &mut Column, out: &mut Vec<u8>) -> Option<()> {
        match self.peek()? {
            b'N' => {
                self.keyword(b"NULL")?;
                out.extend_from_slice(b"\\N");
            }
            b'\'' => {
                self.i += 1;
                let start = out.len();
                self.string(out)?;
                // An empty string is the one quoted value a binary column has (a zero-length
                // value is never a bare 0x); in a hex column it is an empty field as well.
                if *column == Column::Hex && out.len() > start {
                    return None;
                }
                if *column == Column::Unknown && out.len() > start {
                    *column = Column::Plain;
                }
            }
            b'0' if self.s.get(self.i + 1) == Some(&b'x') => {
                if *column == Column::Plain {
                    return None;
                }
                *column = Column::Hex;
                self.i += 2;
                // A value ends at the comma or parenthesis after it; blobs make these runs
                // long, so they are found and checked in bulk rather than byte by byte.
                let rest = &self.s[self.i..];
                let len = memchr::memchr2(b',', b')', rest)?;
                let digits = &rest[..len];
                if digits.is_empty() || !all_hex(digits) {
                    return None;
                }
                self.i += len;
                match self.binary {
                    Binary::Hex => out.extend_from_slice(digits),
                    // Our dump writes two digits a byte; an odd count is not ours.
                    Binary::Raw if digits.len() % 2 == 1 => return None,
                    Binary::Raw => push_unhexed(out, digits),
                }
            }
            b'+' => {
                if !matches!(*column, Column::Unknown | Column::Numbered) {
                    return None;
                }
                *column = Column::Numbered;
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                out.extend_from_slice(&self.s[start..self.i]);
            }
            b'-' | b'0'..=b'9' => {
                if matches!(*column, Column::Hex | Column::Numbered) {
                    return None;
                }
                *column = Column::Plain;
                let start = self.i;
                while self.peek().is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
                }) {
                    self.i += 1;
                }
                let number = &self.s[start..self.i];
                // The loader reads every field as a string, and YEAR reads the string '0' as
                // 2000 where the number 0 is 0000. '0000' is zero to every numeric type.
                out.extend_from_slice(if number == b"0" { b"0000" } else { number });
            }
            _ => return None,
        }
        Some(())
    }

    /// The rest of a quoted string (after its opening quote), unescaped and escaped again for
    /// LOAD DATA: backslash, tab, newline, carriage return and NUL as backslash sequences.
    fn string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        loop {
            let rest = &self.s[self.i..];
            let k = memchr::memchr2(b'\'', b'\\', rest)?;
            push_field_bytes(out, &rest[..k]);
            self.i += k + 1;
            if rest[k] == b'\'' {
                // A doubled quote is a quote; our dump escapes it instead, but both are exact.
                if self.peek() == Some(b'\'') {
                    self.i += 1;
                    out.push(b'\'');
                    continue;
                }
                return Some(());
            }
            let unescaped = match self.next()? {
                b'0' => 0,
                b'n' => b'\n',
                b'r' => b'\r',
                b'Z' => 0x1a,
                b't' => b'\t',
                b'b' => 0x08,
                b'\\' => b'\\',
                b'\'' => b'\'',
                b'"' => b'"',
                // Escapes our dump never writes (\%, \_ keep their backslash in SQL, and so on).
                _ => return None,
            };
            push_field_bytes(out, &[unescaped]);
        }
    }
}

/// Whether every byte is a hex digit; without early exit, so the compiler checks many bytes
/// at a time.
fn all_hex(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| {
        ok & (b.is_ascii_digit() | ((b | 0x20).wrapping_sub(b'a') < 6))
    })
}

/// The bytes that `digits` (checked hex, even in count) spell, as one LOAD DATA field. Blobs
/// are most of the bytes of some tables, so this writes into room made once, through tables.
fn push_unhexed(out: &mut Vec<u8>, digits: &[u8]) {
    let start = out.len();
    // Each byte takes at most two: itself, or a backslash and a letter.
    out.resize(start + digits.len(), 0);
    let dst = &mut out[start..];
    let mut n = 0;
    for pair in digits.chunks_exact(2) {
        let b = (NIBBLE[pair[0] as usize] << 4) | NIBBLE[pair[1] as usize];
        match FIELD_ESCAPE[b as usize] {
            0 => {
                dst[n] = b;
                n += 1;
            }
            letter => {
                dst[n] = b'\\';
                dst[n + 1] = letter;
                n += 2;
            }
        }
    }
    out.truncate(start + n);
}

/// The value of each hex digit (the digits are checked before they are read).
static NIBBLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The letter after the backslash that stands for a byte in a LOAD DATA field, 0 for a byte
/// written as it is.
static FIELD_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\t' as usize] = b't';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0] = b'0';
    t
};

fn push_field_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Backslashes come only as escapes (handled one byte at a time), and our dump escapes
    // newlines, carriage returns and NULs too: a tab is all a run of text usually holds.
    if memchr::memchr3(b'\t', b'\n', b'\r', bytes).is_none()
        && memchr::memchr2(0, b'\\', bytes).is_none()
    {
        out.extend_from_slice(bytes);
        return;
    }
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0 => b'0',
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(&[b'\\', esc]);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_a_nullable_auto_increment_column_is_named() {
        let create = b"CREATE TABLE `a``b` (\n  `f` int(11) AUTO_INCREMENT NULL,\n  KEY `f` (`f`)\n) ENGINE=InnoDB";
        assert_eq!(numbers_nulls_on_load(create).as_deref(), Some("a`b"));
        let not_null =
            b"CREATE TABLE `t` (\n  `f` int(11) NOT NULL AUTO_INCREMENT,\n  KEY `f` (`f`)\n)";
        assert_eq!(numbers_nulls_on_load(not_null), None);
        assert_eq!(numbers_nulls_on_load(b"CREATE VIEW `v` AS SELECT 1"), None);
    }

    fn rows(sql: &str) -> (String, String) {
        let l = convert(sql.as_bytes(), Binary::Raw).expect("converted");
        (l.statement, String::from_utf8(l.data).unwrap())
    }

    #[test]
    fn values_become_tab_separated_fields() {
        let (stmt, data) = rows(
            "INSERT INTO `t` (`id`,`v`,`d`,`n`) VALUES (1,'a\\'b\\\\c',-1.5e-7,NULL),(2,'',0.1,3);",
        );
        assert_eq!(data, "1\ta'b\\\\c\t-1.5e-7\t\\N\n2\t\t0.1\t3\n");
        // YEAR reads '0' as 2000: a bare zero goes as 0000, zero to every numeric column.
        let (_, zero) = rows("INSERT INTO `t` (`y`,`n`) VALUES (0,10),(-0.5,0.0)");
        assert_eq!(zero, "0000\t10\n-0.5\t0.0\n");
        assert!(stmt.starts_with("LOAD DATA LOCAL INFILE 'sfdbtools-rows' INTO TABLE `t` "));
        assert!(stmt.ends_with("(`id`,`v`,`d`,`n`)"), "{stmt}");
    }

    #[test]
    fn control_bytes_are_escaped_for_the_loader() {
        let (_, data) =
            rows("INSERT INTO `t` (`s`) VALUES ('tab\there\\nnl\\rcr\\0nul\\Zsub\\\"q'),('\\\\N')");
        assert_eq!(data, "tab\\there\\nnl\\rcr\\0nul\x1asub\"q\n\\\\N\n");
    }

    #[test]
    fn hex_columns_go_as_hex_through_unhex_for_mysql() {
        let sql =
            b"INSERT INTO `db`.`t``x` (`id`,`b`) VALUES (1,0xDEADBEEF),(2,''),(3,NULL),(4,0x00)";
        let l = convert(sql, Binary::Hex).unwrap();
        assert_eq!(l.data, b"1\tDEADBEEF\n2\t\n3\t\\N\n4\t00\n");
        assert!(
            l.statement.contains("INTO TABLE `db`.`t``x` "),
            "{}",
            l.statement
        );
        assert!(
            l.statement
                .ends_with("(`id`,@sfdb_1) SET `b` = UNHEX(@sfdb_1)"),
            "{}",
            l.statement
        );
        // Our dump writes two digits a byte; UNHEX would read an odd count, so it loads.
        assert!(convert(b"INSERT INTO `t` (`b`) VALUES (0xABC)", Binary::Hex).is_some());
    }

    #[test]
    fn hex_columns_go_as_their_bytes_cast_to_binary_for_mariadb() {
        let sql =
            b"INSERT INTO `db`.`t``x` (`id`,`b`) VALUES (1,0xDEADBEEF),(2,''),(3,NULL),(4,0x00)";
        let l = convert(sql, Binary::Raw).unwrap();
        assert_eq!(l.data, b"1\t\xDE\xAD\xBE\xEF\n2\t\n3\t\\N\n4\t\\0\n");
        assert!(
            l.statement
                .ends_with("(`id`,@sfdb_1) SET `b` = CAST(@sfdb_1 AS BINARY)"),
            "{}",
            l.statement
        );
        // The loader's specials among the bytes are escaped; a backslash and N is not NULL.
        let l = convert(
            b"INSERT INTO `t` (`b`) VALUES (0x5C4E09410A0D00ff)",
            Binary::Raw,
        )
        .unwrap();
        assert_eq!(l.data, b"\\\\N\\tA\\n\\r\\0\xFF\n");
        assert!(convert(b"INSERT INTO `t` (`b`) VALUES (0xABC)", Binary::Raw).is_none());
    }

    #[test]
    fn every_byte_is_unhexed_to_itself_or_its_escape() {
        for b in 0..=255u8 {
            for upper in [true, false] {
                let digits = if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                };
                let mut out = Vec::new();
                push_unhexed(&mut out, digits.as_bytes());
                let want: &[u8] = match b {
                    b'\\' => b"\\\\",
                    b'\t' => b"\\t",
                    b'\n' => b"\\n",
                    b'\r' => b"\\r",
                    0 => b"\\0",
                    _ => std::slice::from_ref(&b),
                };
                assert_eq!(out, want, "{digits}");
            }
        }
    }

    #[test]
    fn enum_error_values_are_found_by_column() {
        // A SET's 0 (the empty set) is a numbered 0 too; it loads without a warning, so naming
        // it excuses nothing.
        assert_eq!(
            enum_error_columns(b"INSERT INTO `t` (`id`,`e``x`,`s`) VALUES (1,+0,+3),(2,+1,+0)"),
            ["e`x", "s"]
        );
        assert_eq!(
            enum_error_columns(b"INSERT INTO `t` (`e`) VALUES (+1),(+10)"),
            Vec::<String>::new()
        );
        assert!(enum_error_columns(b"INSERT INTO `t` VALUES (+0)").is_empty());
    }

    #[test]
    fn enum_and_set_numbers_go_in_through_cast() {
        let (stmt, data) = rows("INSERT INTO `t` (`id`,`e`) VALUES (1,+2),(2,NULL),(3,+0)");
        assert_eq!(data, "1\t2\n2\t\\N\n3\t0\n");
        assert!(
            stmt.ends_with("(`id`,@sfdb_1) SET `e` = CAST(@sfdb_1 AS UNSIGNED)"),
            "{stmt}"
        );
        // A column is numbered or not, never both.
        assert!(convert(b"INSERT INTO `t` (`e`) VALUES (+1),(2)", Binary::Raw).is_none());
        assert!(convert(b"INSERT INTO `t` (`e`) VALUES (2),(+1)", Binary::Raw).is_none());
        assert!(convert(b"INSERT INTO `t` (`e`) VALUES (+)", Binary::Raw).is_none());
    }

    #[test]
    fn anything_outside_our_shape_stays_an_insert() {
        for sql in [
            "INSERT INTO `t` VALUES (1)",
            "REPLACE INTO `t` (`a`) VALUES (1)",
            "INSERT IGNORE INTO `t` (`a`) VALUES (1)",
            "INSERT INTO `t` (`a`) VALUES (_latin1 0xE9)",
            "INSERT INTO `t` (`a`) VALUES ('x\\%y')",
            "INSERT INTO `t` (`a`) VALUES (NOW())",
            "INSERT INTO `t` (`a`,`b`) VALUES (1)",
            "INSERT INTO `t` (`a`) VALUES (1,2)",
            "INSERT INTO `t` (`a`) VALUES ('unterminated)",
            "INSERT INTO `t` (`a`) VALUES (1) ON DUPLICATE KEY UPDATE a = 1",
            // A column that is hex in one row and text in another is not ours.
            "INSERT INTO `t` (`a`) VALUES (0x41),('B')",
            "INSERT INTO `t` (`a`) VALUES ('B'),(0x41)",
        ] {
            for binary in [Binary::Raw, Binary::Hex] {
                assert_eq!(convert(sql.as_bytes(), binary), None, "{sql}");
            }
        }
    }

    #[test]
    fn tab_and_backspace_escapes_are_read_too() {
        let (_, data) = rows(r"INSERT INTO `t` (`s`) VALUES ('a\tb\bc')");
        assert_eq!(data, "a\\tb\x08c\n");
    }

    #[test]
    fn hex_digits_are_checked() {
        assert!(all_hex(b"0123456789abcdefABCDEF"));
        for bad in [&b"0g"[..], b"G0", b"12 ", b"@", b"`", b"/", b":"] {
            assert!(!all_hex(bad), "{bad:?}");
        }
        for binary in [Binary::Raw, Binary::Hex] {
            assert_eq!(
                convert(b"INSERT INTO `t` (`b`) VALUES (0x1G)", binary),
                None
            );
        }
    }

    #[test]
    fn rows_are_counted() {
        let l = convert(b"INSERT INTO `t` (`a`) VALUES (1),(2),(3)", Binary::Raw).unwrap();
        assert_eq!(l.rows, 3);
    }
}

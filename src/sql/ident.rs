//! Quoting of identifiers and string literals, and names made safe for `--` comment lines.

/// Appends `` `name` `` with inner backquotes doubled.
pub fn push_ident(out: &mut Vec<u8>, name: &str) {
    out.push(b'`');
    for &b in name.as_bytes() {
        if b == b'`' {
            out.push(b'`');
        }
        out.push(b);
    }
    out.push(b'`');
}

/// `` `name` `` as a String.
pub fn ident(name: &str) -> String {
    let mut out = Vec::with_capacity(name.len() + 2);
    push_ident(&mut out, name);
    String::from_utf8(out).expect("quoting keeps UTF-8 valid")
}

/// `` `db`.`name` ``.
pub fn qualified(db: &str, name: &str) -> String {
    format!("{}.{}", ident(db), ident(name))
}

/// A single-quoted SQL string literal with the same escapes the data path uses.
pub fn string_literal(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 2);
    super::value::push_quoted(&mut out, value.as_bytes());
    String::from_utf8(out).expect("escaping keeps UTF-8 valid")
}

/// A name for a `-- ` comment line: quoted, with line breaks shown as `\n`/`\r`.
///
/// A newline inside a comment would end the comment and turn the rest of the name into SQL
/// that the restore executes (mysqldump Bug#25717383).
pub fn comment_safe(name: &str) -> String {
    ident(name).replace('\n', "\\n").replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backquotes_are_doubled() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(qualified("d", "t"), "`d`.`t`");
    }

    #[test]
    fn comment_names_cannot_break_out() {
        let s = comment_safe("x\nDROP DATABASE y; -- ");
        assert!(!s.contains('\n'));
        assert_eq!(s, "`x\\nDROP DATABASE y; -- `");
    }
}

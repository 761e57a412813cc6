//! Quoting of identifiers, and names made safe for `--` comment lines: the lowest layer of
//! SQL text, which every stage that names a database, table or column uses (`select`, `catalog`
//! and `rows` as well as `sql`), so it sits below them all. String literals are the SQL stage's
//! (`sql::value::string_literal`): they share the escaping of the row data.

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

//! Removing a database's own name from qualified references inside object definitions.
//!
//! A single-database dump must restore into a database of any name, but the server writes some
//! references qualified: `DEFAULT nextval(`db`.`seq`)`, views' `from `db`.`t``, and users write
//! `db.t` in routine bodies. Those qualifiers are dropped so the references follow the target.
//! The scan understands strings, comments and quoted identifiers, so text inside a string or a
//! comment is never changed.
//!
//! It lives with the catalog because it is a property of the definitions the catalog reads:
//! the catalog's fingerprints compare definitions without the qualifier, and the SQL stage
//! (`sql::script`) writes them without it.

/// Returns `sql` with every `schema.` qualifier (quoted or bare) removed.
///
/// Definitions are bytes, not text: a routine created under `koi8r` is stored, read and written
/// in koi8r (docs/dump-fidelity.md, "Definitions are bytes"), so the scan works on bytes and
/// `schema` is the name as it is spelled in the definition's own character set.
///
/// Known limit: a two-part reference whose first part is a table alias spelled exactly like the
/// schema (`shop`.`col` with alias `shop` in database `shop`) loses its qualifier too; the
/// column then resolves unqualified, which is the same column unless the name is ambiguous.
pub fn strip_schema(sql: &[u8], schema: &[u8]) -> Vec<u8> {
    let b = sql;
    let mut out = Vec::with_capacity(sql.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => i = skip_string(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                i = skip_line(b, i)
            }
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                i = match find(b, i + 2, b"*/") {
                    Some(end) => end + 2,
                    None => b.len(),
                }
            }
            b'`' => {
                let (end, name) = quoted_ident(b, i);
                if name == schema && (i == 0 || b[i - 1] != b'.') && followed_by_member(b, end) {
                    out.extend_from_slice(&sql[copied..i]);
                    copied = end + 1; // skip the name and the dot
                }
                i = end;
            }
            c if is_ident_byte(c) && (i == 0 || !is_ident_byte(b[i - 1]) && b[i - 1] != b'.') => {
                let start = i;
                while i < b.len() && is_ident_byte(b[i]) {
                    i += 1;
                }
                let word = &sql[start..i];
                if word == schema && followed_by_member(b, i) && !word[0].is_ascii_digit() {
                    out.extend_from_slice(&sql[copied..start]);
                    copied = i + 1;
                }
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&sql[copied..]);
    out
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// True when `b[at]` is a dot followed by the start of an identifier.
fn followed_by_member(b: &[u8], at: usize) -> bool {
    b.get(at) == Some(&b'.')
        && b.get(at + 1)
            .is_some_and(|&c| c == b'`' || is_ident_byte(c))
}

/// From an opening backquote at `start`: (index after the closing quote, unquoted name).
fn quoted_ident(b: &[u8], start: usize) -> (usize, Vec<u8>) {
    let mut name = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'`' {
            if b.get(i + 1) == Some(&b'`') {
                name.push(b'`');
                i += 2;
                continue;
            }
            return (i + 1, name);
        }
        name.push(b[i]);
        i += 1;
    }
    (b.len(), name)
}

fn skip_string(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn skip_line(b: &[u8], start: usize) -> usize {
    match b[start..].iter().position(|&c| c == b'\n') {
        Some(p) => start + p + 1,
        None => b.len(),
    }
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    /// The text form of the byte scan, for readable tests.
    fn strip_schema(sql: &str, schema: &str) -> String {
        String::from_utf8(super::strip_schema(sql.as_bytes(), schema.as_bytes())).unwrap()
    }

    #[test]
    fn strips_quoted_and_bare_qualifiers() {
        assert_eq!(
            strip_schema("DEFAULT nextval(`shop`.`seq`)", "shop"),
            "DEFAULT nextval(`seq`)"
        );
        assert_eq!(
            strip_schema("select `shop`.`t`.`a` AS `a` from `shop`.`t`", "shop"),
            "select `t`.`a` AS `a` from `t`"
        );
        assert_eq!(
            strip_schema("INSERT INTO shop.log VALUES (1)", "shop"),
            "INSERT INTO log VALUES (1)"
        );
    }

    #[test]
    fn leaves_other_schemas_strings_and_comments_alone() {
        let sql = "select 'shop.t', \"`shop`.x\" from other.t /* shop.t */ -- shop.t\n";
        assert_eq!(strip_schema(sql, "shop"), sql);
        assert_eq!(strip_schema("select myshop.t", "shop"), "select myshop.t");
        assert_eq!(strip_schema("select x.shop.t", "shop"), "select x.shop.t");
        assert_eq!(
            strip_schema("select `x`.`shop`.`t`", "shop"),
            "select `x`.`shop`.`t`"
        );
    }

    #[test]
    fn bytes_of_other_charsets_pass_through() {
        // koi8r 'текст' inside a string and a latin1 byte in an introducer literal.
        let sql = b"select `shop`.`t`.a, '\xd4\xc5\xcb\xd3\xd4', _latin1'\xe9' from shop.t";
        assert_eq!(
            super::strip_schema(sql, b"shop"),
            b"select `t`.a, '\xd4\xc5\xcb\xd3\xd4', _latin1'\xe9' from t".to_vec()
        );
    }

    #[test]
    fn odd_schema_names_match_exactly() {
        assert_eq!(
            strip_schema("from `we``ird db`.`t`", "we`ird db"),
            "from `t`"
        );
        assert_eq!(strip_schema("from `Shop`.`t`", "shop"), "from `Shop`.`t`");
    }
}

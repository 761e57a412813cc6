//! Removing a database's own name from the references inside object definitions that name it.
//!
//! A single-database dump must restore into a database of any name, but the server writes some
//! references qualified: `DEFAULT nextval(`db`.`seq`)`, a view's `from `db`.`t`` and
//! `` `db`.`f`() ``, and users write `db.t` in routine bodies. Those qualifiers are dropped so
//! the references follow the target.
//!
//! Dropping one is only right where the name *is* the database. `db.x` means something else
//! in an expression: the column `x` of a table, alias or ROW variable that happens to be
//! called like the database (`SELECT orders.id FROM orders` in database `orders`), and there
//! the qualifier is what picks the column (in a correlated subquery, the outer one). So the
//! scan follows the statement far enough to know where a name stands (docs/dump-fidelity.md,
//! "Own-database qualifiers"):
//! - in a table's place (after `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE`, `CALL`, a comma of
//!   a table list, a sequence function's argument …): the database, dropped;
//! - first of three parts (`db.t.c`): the database, dropped; but kept before a package
//!   routine's call (`db.pkg.f(…)`), where `pkg.f(…)` would name a database `pkg`;
//! - before a call (`db.f(…)`): the database, dropped unless the bare name would call a
//!   native function instead (`db.reverse(x)` is a stored function, `reverse(x)` is not): the
//!   caller says which names those are (the catalog asks the server, see `catalog`);
//! - anywhere else: a column of something named like the database, kept.
//!
//! When unsure it keeps the qualifier: a kept one still names the source database after a
//! restore under another name, a dropped one can silently change what a definition means.
//!
//! The lexing is the server's for the definition: under `NO_BACKSLASH_ESCAPES` a backslash in
//! quotes is an ordinary byte, under `ANSI_QUOTES` a double-quoted text is a name, and in
//! sjis, cp932, big5 and gbk a character's second byte may be a backslash, quote or backquote
//! (`'表'` is `'\x95\x5c'`), so characters are stepped over whole (`crate::lexing`). Text inside strings and
//! comments is never changed.
//!
//! It lives with the catalog because it is a property of the definitions the catalog reads:
//! the catalog's fingerprints compare definitions without the qualifier, and the SQL stage
//! (`sql::script`) writes them without it.

use std::ops::Range;

pub use crate::lexing::Lexing;

/// Where one qualifier naming the database stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Site {
    /// The database for certain: dropped.
    Database,
    /// Before a call: `member` is the function's name as written (quotes included).
    Call { member: Range<usize> },
    /// A routine of the database called from inside a package that declares a routine of the
    /// same name: kept, since the bare name would be the package's own.
    Shadowed { member: Range<usize> },
    /// A package's routine called as `db.pkg.f(…)`: kept, since outside sql_mode ORACLE
    /// `pkg.f(…)` calls the function `f` of a database `pkg` (a view over a package function
    /// is stored in this form; MariaDB's sp-package.test). `member` is the package's name.
    PackageRoutine { member: Range<usize> },
}

/// One `schema.` found: the bytes to drop (the name, the dot and any blank space up to the
/// member) and what it is.
#[derive(Clone, Debug)]
struct Qualifier {
    drop: Range<usize>,
    site: Site,
}

/// The functions `sql` calls through its database's own qualifier (`db.f(…)`), each name as
/// written (`f`, `` `f` ``): the caller finds out which of them the bare name would make a
/// native function's call.
pub fn own_calls(sql: &[u8], schema: &[u8], lexing: Lexing) -> Vec<Vec<u8>> {
    members(sql, schema, lexing, |site| match site {
        Site::Call { member } => Some(member),
        _ => None,
    })
}

/// The packages whose routines `sql` calls as `db.pkg.f(…)` (each name as written): those
/// qualifiers are kept.
pub fn package_calls(sql: &[u8], schema: &[u8], lexing: Lexing) -> Vec<Vec<u8>> {
    members(sql, schema, lexing, |site| match site {
        Site::PackageRoutine { member } => Some(member),
        _ => None,
    })
}

/// The routines `sql`, a package, calls through its database's qualifier although it
/// declares routines of the same names (each name as written): those qualifiers are kept.
pub fn shadowed_calls(sql: &[u8], schema: &[u8], lexing: Lexing) -> Vec<Vec<u8>> {
    members(sql, schema, lexing, |site| match site {
        Site::Shadowed { member } => Some(member),
        _ => None,
    })
}

/// The names, as written, that `pick` takes from the sites of `sql`'s qualifiers, sorted and
/// without repeats.
fn members(
    sql: &[u8],
    schema: &[u8],
    lexing: Lexing,
    pick: impl Fn(&Site) -> Option<&Range<usize>>,
) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = qualifiers(sql, schema, lexing)
        .iter()
        .filter_map(|q| pick(&q.site).map(|m| sql[m.clone()].to_vec()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A name as written (`f`, `` `f` ``, `"f"`) without its quotes.
pub fn unquoted(name: &[u8]) -> Vec<u8> {
    match (name.first(), name.last()) {
        (Some(&q @ (b'`' | b'"')), Some(&end)) if end == q && name.len() >= 2 => {
            let inner = &name[1..name.len() - 1];
            let mut out = Vec::with_capacity(inner.len());
            let mut i = 0;
            while i < inner.len() {
                out.push(inner[i]);
                i += if inner[i] == q && inner.get(i + 1) == Some(&q) {
                    2
                } else {
                    1
                };
            }
            out
        }
        _ => name.to_vec(),
    }
}

/// Returns `sql` without the qualifiers that name `schema` (see the module's rules). `native`
/// says of a called name as written whether, unqualified, it would call a native function:
/// those calls keep their qualifier.
///
/// Definitions are bytes, not text: a routine created under `koi8r` is stored, read and written
/// in koi8r (docs/dump-fidelity.md, "Definitions are bytes"), so the scan works on bytes and
/// `schema` is the name as it is spelled in the definition's own character set.
pub fn strip_schema(
    sql: &[u8],
    schema: &[u8],
    lexing: Lexing,
    native: &dyn Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(sql.len());
    let mut copied = 0;
    for q in qualifiers(sql, schema, lexing) {
        match &q.site {
            Site::Call { member } if native(&sql[member.clone()]) => continue,
            Site::Shadowed { .. } | Site::PackageRoutine { .. } => continue,
            _ => {}
        }
        out.extend_from_slice(&sql[copied..q.drop.start]);
        copied = q.drop.end;
    }
    out.extend_from_slice(&sql[copied..]);
    out
}

/// `sql`, a definition from one of our dumps, with the qualifiers the dump kept (calls whose
/// bare name would be a native function's, a package's calls to standalone routines of its
/// own routines' names, `db.pkg.f(…)`) naming `to` instead of `schema`: restored under another name, such a
/// definition calls the routines restored beside it, as it did in its source, and not the
/// source database's. Every other own-database qualifier was dropped by the dump; one found
/// here (a definition not of ours) is left as written.
pub fn retarget(sql: &[u8], schema: &[u8], to: &str, lexing: Lexing) -> Vec<u8> {
    let mut out = Vec::with_capacity(sql.len() + to.len());
    let mut copied = 0;
    for q in qualifiers(sql, schema, lexing) {
        if q.site == Site::Database {
            continue;
        }
        out.extend_from_slice(&sql[copied..q.drop.start]);
        out.extend_from_slice(crate::quote::ident(to).as_bytes());
        out.push(b'.');
        copied = q.drop.end;
    }
    out.extend_from_slice(&sql[copied..]);
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// An unquoted word (keyword, name, number).
    Word,
    /// A backquoted name, or a double-quoted one under ANSI_QUOTES: its unquoted bytes.
    Quoted(Vec<u8>),
    /// A string literal.
    Str,
    Punct(u8),
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) at: Range<usize>,
}

impl Token {
    pub(super) fn is_name(&self) -> bool {
        matches!(self.tok, Tok::Word | Tok::Quoted(_))
    }

    pub(super) fn is_punct(&self, c: u8) -> bool {
        self.tok == Tok::Punct(c)
    }

    /// The bytes a name stands for: a word as written, a quoted name unquoted.
    pub(super) fn name<'a>(&'a self, sql: &'a [u8]) -> &'a [u8] {
        match &self.tok {
            Tok::Quoted(n) => n,
            _ => &sql[self.at.clone()],
        }
    }

    /// A word in upper case, to compare with keywords; empty for anything else.
    fn keyword(&self, sql: &[u8]) -> Vec<u8> {
        match self.tok {
            Tok::Word => sql[self.at.clone()].to_ascii_uppercase(),
            _ => Vec::new(),
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The definition's tokens, comments left out; the markers of executable comments
/// (`/*!50001`, `/*M!100100`, their `*/`) are left out too, since what they hold is code.
pub(super) fn tokens(sql: &[u8], lexing: Lexing) -> Vec<Token> {
    let b = sql;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            b'#' => i = skip_line(b, i),
            b'-' if next == Some(b'-') && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) => {
                i = skip_line(b, i)
            }
            b'/' if next == Some(b'*') => {
                let mut j = i + 2;
                if b.get(j) == Some(&b'M') && b.get(j + 1) == Some(&b'!') {
                    j += 1;
                }
                if b.get(j) == Some(&b'!') {
                    j += 1;
                    while b.get(j).is_some_and(u8::is_ascii_digit) {
                        j += 1;
                    }
                    i = j;
                } else {
                    i = match find(b, i + 2, b"*/") {
                        Some(end) => end + 2,
                        None => b.len(),
                    };
                }
            }
            b'*' if next == Some(b'/') => i += 2,
            b'`' => {
                let (end, name) = quoted(b, i, lexing);
                out.push(Token {
                    tok: Tok::Quoted(name),
                    at: i..end,
                });
                i = end;
            }
            b'"' if lexing.ansi_quotes => {
                let (end, name) = quoted(b, i, lexing);
                out.push(Token {
                    tok: Tok::Quoted(name),
                    at: i..end,
                });
                i = end;
            }
            b'\'' | b'"' => {
                let end = skip_string(b, i, lexing);
                out.push(Token {
                    tok: Tok::Str,
                    at: i..end,
                });
                i = end;
            }
            _ if is_word_byte(c) => {
                let start = i;
                while i < b.len() && is_word_byte(b[i]) {
                    i += lexing.char_len(b, i);
                }
                out.push(Token {
                    tok: Tok::Word,
                    at: start..i.min(b.len()),
                });
            }
            _ => {
                out.push(Token {
                    tok: Tok::Punct(c),
                    at: i..i + 1,
                });
                i += 1;
            }
        }
    }
    out
}

/// What the scan knows of one level of parentheses.
#[derive(Clone, Copy, Debug, Default)]
struct Level {
    /// The next name is a table (or sequence, routine) reference.
    expect_table: bool,
    /// In a list of tables: a comma starts the next reference.
    table_list: bool,
    /// A query or data statement runs at this level: `FROM` starts its tables (inside a
    /// function's parentheses it is part of `EXTRACT(… FROM …)`, `TRIM(… FROM …)`).
    query: bool,
}

/// Words between a table keyword and the table that leave the expectation as it is.
const FILLER: [&[u8]; 11] = [
    b"IF",
    b"NOT",
    b"EXISTS",
    b"IGNORE",
    b"LOW_PRIORITY",
    b"DELAYED",
    b"HIGH_PRIORITY",
    b"QUICK",
    b"TEMPORARY",
    b"ONLY",
    b"LATERAL",
];

/// Words that end a list of tables.
const CLAUSES: [&[u8]; 17] = [
    b"WHERE",
    b"GROUP",
    b"HAVING",
    b"ORDER",
    b"LIMIT",
    b"SET",
    b"WINDOW",
    b"UNION",
    b"EXCEPT",
    b"INTERSECT",
    b"VALUES",
    b"VALUE",
    b"RETURNING",
    b"ON",
    b"FOR",
    b"INTO",
    b"PROCEDURE",
];

/// Every qualifier in `sql` that names `schema` in a place where the scan is sure it is the
/// database, or before a call.
fn qualifiers(sql: &[u8], schema: &[u8], lexing: Lexing) -> Vec<Qualifier> {
    let toks = tokens(sql, lexing);
    let local = package_routines(&toks, sql);
    let mut out = Vec::new();
    let mut levels = vec![Level::default()];
    let mut last_was_table = false;
    let word_at = |k: usize| -> Vec<u8> { toks.get(k).map_or(Vec::new(), |t| t.keyword(sql)) };
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        let prev = if k > 0 { word_at(k - 1) } else { Vec::new() };
        let level = levels
            .last_mut()
            .expect("the outermost level is never left");
        match &t.tok {
            Tok::Punct(b'(') => {
                let mut inner = Level::default();
                if level.expect_table {
                    // `FROM (t1, t2)`, `JOIN (…)`, a derived table (its SELECT resets it).
                    inner.expect_table = true;
                    inner.table_list = true;
                }
                if matches!(&prev[..], b"NEXTVAL" | b"LASTVAL" | b"SETVAL") {
                    inner.expect_table = true;
                }
                level.expect_table = false;
                levels.push(inner);
                last_was_table = false;
            }
            Tok::Punct(b')') => {
                if levels.len() > 1 {
                    levels.pop();
                }
                last_was_table = false;
            }
            Tok::Punct(b',') => {
                level.expect_table = level.table_list;
                last_was_table = false;
            }
            Tok::Punct(b';') => {
                *level = Level::default();
                last_was_table = false;
            }
            Tok::Punct(_) | Tok::Str => {
                level.expect_table = false;
                last_was_table = false;
            }
            Tok::Word | Tok::Quoted(_) => {
                let follows_dot = k > 0 && toks[k - 1].is_punct(b'.');
                let member = toks.get(k + 2).filter(|m| m.is_name());
                let qualifies = !follows_dot
                    && toks.get(k + 1).is_some_and(|d| d.is_punct(b'.'))
                    && member.is_some()
                    && t.name(sql) == schema
                    // `1.5`: a number, not a name.
                    && !(t.tok == Tok::Word && sql[t.at.start].is_ascii_digit());
                if qualifies {
                    let member = member.expect("checked above");
                    let after = toks.get(k + 3);
                    let three_parts = after.is_some_and(|a| a.is_punct(b'.'))
                        && toks.get(k + 4).is_some_and(Token::is_name);
                    let member_name = rewrite_key(member.name(sql));
                    // Under sql_mode ORACLE a statement `db.p;` or `db.p(…);` calls a procedure.
                    let statement_start = k == 0
                        || toks[k - 1].is_punct(b';')
                        || matches!(
                            &toks[k - 1].keyword(sql)[..],
                            b"BEGIN" | b"THEN" | b"ELSE" | b"LOOP" | b"REPEAT" | b"DO"
                        );
                    let procedure_call = statement_start && after.is_none_or(|a| a.is_punct(b';'));
                    let site = if !three_parts && local.contains(&member_name) {
                        // Inside a package a bare name is the package's own routine first:
                        // `CALL db.p1` in package pkg calls the standalone p1, `CALL p1`
                        // would call pkg.p1.
                        Some(Site::Shadowed {
                            member: member.at.clone(),
                        })
                    } else if three_parts && toks.get(k + 5).is_some_and(|p| p.is_punct(b'(')) {
                        Some(Site::PackageRoutine {
                            member: member.at.clone(),
                        })
                    } else if level.expect_table || three_parts || procedure_call {
                        Some(Site::Database)
                    } else if after.is_some_and(|a| a.is_punct(b'(')) {
                        Some(Site::Call {
                            member: member.at.clone(),
                        })
                    } else {
                        // `x.col` of a table, alias or ROW variable named like the database.
                        None
                    };
                    if let Some(site) = site {
                        out.push(Qualifier {
                            drop: t.at.start..member.at.start,
                            site,
                        });
                    }
                    last_was_table = level.expect_table;
                    level.expect_table = false;
                    k += 3;
                    continue;
                }
                if follows_dot {
                    k += 1;
                    continue;
                }
                let word = t.keyword(sql);
                let next_is_paren = toks.get(k + 1).is_some_and(|n| n.is_punct(b'('));
                let was_table = std::mem::take(&mut last_was_table);
                match &word[..] {
                    b"SELECT" => {
                        *level = Level {
                            query: true,
                            ..Level::default()
                        };
                    }
                    b"FROM" => {
                        if level.query {
                            level.expect_table = true;
                            level.table_list = true;
                        }
                    }
                    b"JOIN" | b"STRAIGHT_JOIN" => {
                        level.expect_table = true;
                        level.table_list = true;
                    }
                    // `ON DELETE CASCADE`, `ON UPDATE`, `FOR UPDATE`, `KEY UPDATE` are not
                    // statements.
                    b"DELETE" | b"UPDATE" if !matches!(&prev[..], b"ON" | b"FOR" | b"KEY") => {
                        level.query = true;
                        level.expect_table = true;
                        level.table_list = true;
                    }
                    // `INSERT(str, …)` and `REPLACE(str, …)` are functions.
                    b"INSERT" | b"REPLACE" if !next_is_paren => {
                        level.query = true;
                        level.expect_table = true;
                    }
                    b"INTO" => {
                        // `SELECT … INTO var` names variables.
                        level.expect_table = matches!(
                            &prev[..],
                            b"INSERT"
                                | b"REPLACE"
                                | b"IGNORE"
                                | b"LOW_PRIORITY"
                                | b"DELAYED"
                                | b"HIGH_PRIORITY"
                        );
                        level.table_list = false;
                    }
                    b"TABLE" | b"TRUNCATE" | b"CALL" | b"REFERENCES" | b"HANDLER" | b"VIEW"
                    | b"SEQUENCE" | b"TRIGGER" | b"PROCEDURE" | b"FUNCTION" | b"EVENT" => {
                        level.expect_table = true;
                        level.table_list = false;
                    }
                    b"TABLES" => {
                        level.expect_table = true;
                        level.table_list = true;
                    }
                    // `DESC db.t`, `DESCRIBE db.t`; after `ORDER BY x DESC` comes a comma, `;`,
                    // `)` or `LIMIT`, which end the expectation.
                    b"DESC" | b"DESCRIBE" => {
                        level.expect_table = true;
                        level.table_list = false;
                    }
                    b"USING" if level.query => {
                        level.expect_table = true;
                        level.table_list = true;
                    }
                    // A trigger's table: `BEFORE INSERT ON t`.
                    b"ON" if matches!(&prev[..], b"INSERT" | b"UPDATE" | b"DELETE") => {
                        level.expect_table = true;
                        level.table_list = false;
                    }
                    // `NEXT VALUE FOR seq`, `PREVIOUS VALUE FOR seq`.
                    b"FOR" if prev == b"VALUE" => {
                        level.expect_table = true;
                        level.table_list = false;
                    }
                    // `RENAME TABLE a TO b`, `ALTER TABLE a RENAME TO b` / `RENAME AS b`.
                    b"TO" if was_table || prev == b"RENAME" => {
                        level.expect_table = true;
                    }
                    b"AS" if prev == b"RENAME" => level.expect_table = true,
                    // `CREATE TABLE t LIKE model`, not the operator.
                    b"LIKE" if k >= 2 && matches!(&word_at(k - 2)[..], b"TABLE" | b"EXISTS") => {
                        level.expect_table = true;
                    }
                    w if FILLER.contains(&w) => {}
                    w if CLAUSES.contains(&w) => {
                        level.expect_table = false;
                        level.table_list = false;
                    }
                    _ => {
                        last_was_table = level.expect_table;
                        level.expect_table = false;
                    }
                }
            }
        }
        k += 1;
    }
    out
}

/// A routine name as compared: unquoted, lower case (routine names ignore case).
fn rewrite_key(name: &[u8]) -> Vec<u8> {
    name.to_ascii_lowercase()
}

/// The routines a package (or package body) declares, when `toks` are a `CREATE … PACKAGE`:
/// the names after `PROCEDURE` and `FUNCTION` in it.
fn package_routines(toks: &[Token], sql: &[u8]) -> Vec<Vec<u8>> {
    let is_package = toks.iter().take(32).any(|t| t.keyword(sql) == b"PACKAGE");
    if !is_package {
        return Vec::new();
    }
    toks.windows(2)
        .filter(|w| matches!(&w[0].keyword(sql)[..], b"PROCEDURE" | b"FUNCTION") && w[1].is_name())
        .map(|w| rewrite_key(w[1].name(sql)))
        .collect()
}

/// From an opening quote (backquote, or a double quote under ANSI_QUOTES) at `start`: (index
/// after the closing quote, unquoted name).
fn quoted(b: &[u8], start: usize, lexing: Lexing) -> (usize, Vec<u8>) {
    let q = b[start];
    let mut name = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                name.push(q);
                i += 2;
                continue;
            }
            return (i + 1, name);
        }
        let n = lexing.char_len(b, i);
        name.extend_from_slice(&b[i..(i + n).min(b.len())]);
        i += n;
    }
    (b.len(), name)
}

fn skip_string(b: &[u8], start: usize, lexing: Lexing) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && !lexing.no_backslash_escapes {
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += lexing.char_len(b, i);
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
    memchr::memmem::find(&b[from..], needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::Lexing;
    use crate::lexing::Multibyte;

    /// The text form of the byte scan, for readable tests: no name is native but `reverse`.
    fn strip(sql: &str, schema: &str) -> String {
        strip_as(sql, schema, Lexing::default())
    }

    fn strip_as(sql: &str, schema: &str, lexing: Lexing) -> String {
        let native = |n: &[u8]| n.eq_ignore_ascii_case(b"reverse") || n == b"`reverse`";
        String::from_utf8(super::strip_schema(
            sql.as_bytes(),
            schema.as_bytes(),
            lexing,
            &native,
        ))
        .unwrap()
    }

    #[test]
    fn the_servers_own_qualifiers_are_dropped() {
        assert_eq!(
            strip("DEFAULT nextval(`shop`.`seq`)", "shop"),
            "DEFAULT nextval(`seq`)"
        );
        // A view read without a current database: three-part columns, qualified tables.
        assert_eq!(
            strip(
                "CREATE VIEW `shop`.`v` AS select `shop`.`t`.`a` AS `a`,`shop`.`f1`() AS `b` \
                 from (`shop`.`t` join `other`.`u`) where exists(select 1 from `shop`.`u` \
                 where `shop`.`u`.`x` = `shop`.`t`.`a` limit 1)",
                "shop"
            ),
            "CREATE VIEW `v` AS select `t`.`a` AS `a`,`f1`() AS `b` from (`t` join \
             `other`.`u`) where exists(select 1 from `u` where `u`.`x` = `t`.`a` limit 1)"
        );
    }

    #[test]
    fn table_places_in_routine_bodies_are_found() {
        let cases = [
            (
                "INSERT INTO shop.log VALUES (1)",
                "INSERT INTO log VALUES (1)",
            ),
            (
                "INSERT IGNORE shop.log (a) VALUES (1)",
                "INSERT IGNORE log (a) VALUES (1)",
            ),
            ("REPLACE shop.log SET a = 1", "REPLACE log SET a = 1"),
            (
                "UPDATE shop.t1 a, shop.t2 SET a.x = 1",
                "UPDATE t1 a, t2 SET a.x = 1",
            ),
            (
                "DELETE a FROM shop.t1 a JOIN shop.t2 b USING (id)",
                "DELETE a FROM t1 a JOIN t2 b USING (id)",
            ),
            (
                "SELECT a FROM t1 x, shop.t2 y, (SELECT 1 FROM shop.t3) z",
                "SELECT a FROM t1 x, t2 y, (SELECT 1 FROM t3) z",
            ),
            ("SELECT 1 FROM (t1, shop.t2)", "SELECT 1 FROM (t1, t2)"),
            ("CALL shop.p(1, 2)", "CALL p(1, 2)"),
            ("TRUNCATE TABLE shop.t", "TRUNCATE TABLE t"),
            ("DROP TABLE IF EXISTS shop.t", "DROP TABLE IF EXISTS t"),
            (
                "LOCK TABLES t READ, shop.u WRITE",
                "LOCK TABLES t READ, u WRITE",
            ),
            ("RENAME TABLE shop.a TO shop.b", "RENAME TABLE a TO b"),
            ("CREATE TABLE x LIKE shop.t", "CREATE TABLE x LIKE t"),
            ("SET x = NEXT VALUE FOR shop.s", "SET x = NEXT VALUE FOR s"),
            ("SET x = NEXTVAL(shop.s)", "SET x = NEXTVAL(s)"),
            (
                "CREATE TRIGGER tr BEFORE INSERT ON shop.t FOR EACH ROW SET NEW.a = 1",
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
            ),
            ("SELECT shop.t.c FROM t", "SELECT t.c FROM t"),
            ("RETURN shop.f(1) + shop.g()", "RETURN f(1) + g()"),
            ("desc `shop`.t1", "desc t1"),
            (
                "SELECT a FROM t ORDER BY a DESC, b",
                "SELECT a FROM t ORDER BY a DESC, b",
            ),
            // sql_mode ORACLE: a statement that is a procedure's name calls it.
            (
                "AS BEGIN p1(10); shop.p1(10); shop.p2; IF x THEN shop.p2; END IF; END",
                "AS BEGIN p1(10); p1(10); p2; IF x THEN p2; END IF; END",
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(strip(sql, "shop"), want, "{sql}");
        }
    }

    #[test]
    fn columns_of_things_named_like_the_database_keep_their_qualifier() {
        for sql in [
            // A correlated subquery: unqualified, `id` would be items.id.
            "SELECT 1 FROM orders WHERE EXISTS (SELECT 1 FROM items WHERE items.oid = shop.id)",
            "SELECT shop.a FROM t1 AS shop, t2",
            "BEGIN DECLARE shop ROW(a INT); SELECT shop.a; INSERT INTO t1 VALUES (shop.a); END",
            "SELECT a, shop.c FROM t JOIN u ON t.x = shop.y",
            "UPDATE t SET shop.c = 1 WHERE shop.d = 2",
            "SELECT EXTRACT(YEAR FROM shop.d), TRIM(BOTH 'x' FROM shop.e) FROM shop",
            "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE shop.a = 2",
            "SELECT x INTO shop.a FROM t",
            "SELECT a FROM t ORDER BY a, shop.b",
            "FETCH c INTO a, shop.b",
            "BEGIN shop.a := 5; SET shop.b = 1; END",
            "SET x = REPLACE(shop.a, 'b', 'c') + INSERT(shop.a, 1, 1, 'x')",
        ] {
            assert_eq!(strip(sql, "shop"), sql, "{sql}");
        }
    }

    /// What a dump kept names the target after a restore under another name; nothing else
    /// changes (a column of a table named like the database, a string).
    #[test]
    fn kept_qualifiers_are_retargeted_and_nothing_else() {
        let retarget = |sql: &str, lexing| {
            String::from_utf8(super::retarget(sql.as_bytes(), b"shop", "new`db", lexing)).unwrap()
        };
        assert_eq!(
            retarget(
                "CREATE VIEW `v` AS select `shop`.`reverse`('a') AS `r`, shop.id AS i, \
                 'shop.reverse(1)' AS s from shop",
                Lexing::default()
            ),
            "CREATE VIEW `v` AS select `new``db`.`reverse`('a') AS `r`, shop.id AS i, \
             'shop.reverse(1)' AS s from shop"
        );
        let ansi = Lexing::new("ORACLE", "utf8mb4");
        assert_eq!(
            retarget(
                "CREATE PACKAGE BODY \"pkg1\" AS PROCEDURE p1 AS BEGIN CALL shop.p1; \
                 INSERT INTO calls VALUES (1); END; END",
                ansi
            ),
            "CREATE PACKAGE BODY \"pkg1\" AS PROCEDURE p1 AS BEGIN CALL `new``db`.p1; \
             INSERT INTO calls VALUES (1); END; END"
        );
    }

    /// `db.pkg.f()` is a package's function; `pkg.f()` outside sql_mode ORACLE a database's.
    #[test]
    fn a_package_routine_called_with_three_parts_keeps_the_database() {
        let view = "select 1 AS `c1` from DUAL  where 1 = `shop`.`test1`.`f_test`() \
                    and `shop`.`t`.`c` = 2";
        assert_eq!(
            strip(view, "shop"),
            "select 1 AS `c1` from DUAL  where 1 = `shop`.`test1`.`f_test`() and `t`.`c` = 2"
        );
        assert_eq!(
            String::from_utf8(super::retarget(
                view.as_bytes(),
                b"shop",
                "copy",
                Lexing::default()
            ))
            .unwrap(),
            "select 1 AS `c1` from DUAL  where 1 = `copy`.`test1`.`f_test`() \
             and `shop`.`t`.`c` = 2"
        );
        assert_eq!(
            super::package_calls(view.as_bytes(), b"shop", Lexing::default()),
            [b"`test1`".to_vec()]
        );
    }

    /// In a package body `CALL p1` is the package's own p1; `CALL db.p1` the standalone one.
    #[test]
    fn a_call_to_a_name_the_package_declares_keeps_its_qualifier() {
        let body = "CREATE PACKAGE BODY \"pkg1\" AS PROCEDURE p1 AS BEGIN CALL shop.p1; \
                    CALL shop.p2; x := shop.F1(); INSERT INTO shop.t VALUES (1); END; \
                    FUNCTION f1 RETURN INT AS BEGIN RETURN 1; END; END";
        let ansi = Lexing::new("ORACLE", "utf8mb4");
        assert_eq!(
            strip_as(body, "shop", ansi),
            "CREATE PACKAGE BODY \"pkg1\" AS PROCEDURE p1 AS BEGIN CALL shop.p1; \
             CALL p2; x := shop.F1(); INSERT INTO t VALUES (1); END; \
             FUNCTION f1 RETURN INT AS BEGIN RETURN 1; END; END"
        );
        // Outside a package the same call is the same procedure either way.
        assert_eq!(
            strip_as(
                "CREATE PROCEDURE p1 AS BEGIN CALL shop.p1; END",
                "shop",
                ansi
            ),
            "CREATE PROCEDURE p1 AS BEGIN CALL p1; END"
        );
    }

    #[test]
    fn a_call_that_would_become_native_keeps_its_qualifier() {
        assert_eq!(
            strip("RETURN shop.reverse(x) = `shop`.`reverse`(y)", "shop"),
            "RETURN shop.reverse(x) = `shop`.`reverse`(y)"
        );
        let calls = super::own_calls(
            b"select `shop`.`reverse`('a'), shop.f(1), shop.f(2), shop.t.c",
            b"shop",
            Lexing::default(),
        );
        assert_eq!(calls, vec![b"`reverse`".to_vec(), b"f".to_vec()]);
    }

    #[test]
    fn names_lose_their_quotes() {
        assert_eq!(super::unquoted(b"`a``b`"), b"a`b");
        assert_eq!(super::unquoted(b"\"x\""), b"x");
        assert_eq!(super::unquoted(b"f"), b"f");
    }

    #[test]
    fn strings_comments_and_other_databases_are_left_alone() {
        let sql = "select 'shop.t', \"`shop`.x\" from other.t /* shop.t */ -- shop.t\n";
        assert_eq!(strip(sql, "shop"), sql);
        assert_eq!(strip("select myshop.t", "shop"), "select myshop.t");
        assert_eq!(strip("select x.shop.t", "shop"), "select x.shop.t");
        assert_eq!(
            strip("select `x`.`shop`.`t`", "shop"),
            "select `x`.`shop`.`t`"
        );
        // Executable comments are code.
        assert_eq!(
            strip("/*!50001 INSERT INTO shop.t VALUES (1) */", "shop"),
            "/*!50001 INSERT INTO t VALUES (1) */"
        );
    }

    #[test]
    fn a_backslash_is_ordinary_under_no_backslash_escapes() {
        let sql = r"RETURN CONCAT('C:\', 'shop.t1', (SELECT 1 FROM shop.t1))";
        let nbe = Lexing::new("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES", "utf8mb4");
        assert_eq!(
            strip_as(sql, "shop", nbe),
            r"RETURN CONCAT('C:\', 'shop.t1', (SELECT 1 FROM t1))"
        );
        // With escapes the same text is one string up to the last quote but one.
        assert_eq!(
            strip(r"SELECT 'a\'b' FROM shop.t", "shop"),
            "SELECT 'a\\'b' FROM t"
        );
    }

    #[test]
    fn double_quotes_are_names_under_ansi_quotes() {
        let ansi = Lexing::new("PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE", "utf8mb4");
        assert_eq!(
            strip_as(
                "INSERT INTO \"shop\".\"t\" VALUES ('\"shop\".x')",
                "shop",
                ansi
            ),
            "INSERT INTO \"t\" VALUES ('\"shop\".x')"
        );
        assert!(Lexing::new("ORACLE", "latin1").ansi_quotes);
    }

    #[test]
    fn a_second_byte_that_looks_like_a_backslash_is_part_of_its_character() {
        // sjis '表' is 0x95 0x5C: read as a backslash, the string would swallow the next quote.
        let sql = b"RETURN CONCAT('\x95\x5c', 'shop.t1', (SELECT 1 FROM shop.t1))";
        let sjis = Lexing::new("", "sjis");
        assert_eq!(sjis.multibyte, Multibyte::Sjis);
        assert_eq!(
            super::strip_schema(sql, b"shop", sjis, &|_| false),
            b"RETURN CONCAT('\x95\x5c', 'shop.t1', (SELECT 1 FROM t1))".to_vec()
        );
        // A half-width katakana (one byte) does not take the next byte with it.
        let sql = b"SELECT '\xb1', 1 FROM shop.t";
        assert_eq!(
            super::strip_schema(sql, b"shop", sjis, &|_| false),
            b"SELECT '\xb1', 1 FROM t".to_vec()
        );
        // gbk and big5 alike; a backquote as second byte of a name.
        let sql = b"SELECT `\x81\x60`.a FROM shop.`\x81\x60`";
        assert_eq!(
            super::strip_schema(sql, b"shop", Lexing::new("", "gbk"), &|_| false),
            b"SELECT `\x81\x60`.a FROM `\x81\x60`".to_vec()
        );
        assert_eq!(Lexing::new("", "big5").multibyte, Multibyte::Big5);
    }

    #[test]
    fn bytes_of_other_charsets_pass_through() {
        // koi8r 'текст' inside a string and a latin1 byte in an introducer literal.
        let sql = b"select `shop`.`t`.a, '\xd4\xc5\xcb\xd3\xd4', _latin1'\xe9' from shop.t";
        assert_eq!(
            super::strip_schema(sql, b"shop", Lexing::default(), &|_| false),
            b"select `t`.a, '\xd4\xc5\xcb\xd3\xd4', _latin1'\xe9' from t".to_vec()
        );
    }

    #[test]
    fn odd_schema_names_match_exactly() {
        assert_eq!(
            strip("select 1 from `we``ird db`.`t`", "we`ird db"),
            "select 1 from `t`"
        );
        assert_eq!(
            strip("select 1 from `Shop`.`t`", "shop"),
            "select 1 from `Shop`.`t`"
        );
        assert_eq!(strip("select 1.5 from `1`.t", "1"), "select 1.5 from t");
    }
}

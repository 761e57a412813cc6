//! What a statement of a dump is, from its first words: session setting, data, a table's
//! definition, an object that must wait for the data, or something to run in order.

use crate::lexing::Lexing;
use std::ops::Range;

/// The statement kinds restore treats differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A session setting (`SET NAMES`, `SET @x = …`, `SET sql_mode = …`): every connection
    /// that loads data applies it too, in file order.
    Session,
    /// `USE db`.
    Use(Name),
    /// `CREATE`/`DROP`/`ALTER DATABASE db`.
    Database { verb: Verb, name: Name },
    /// `INSERT`/`REPLACE … VALUES` into one table: spread over the data connections.
    /// `values_at` is where the row tuples start.
    Data {
        db: Option<String>,
        table: String,
        values_at: usize,
    },
    /// `LOCK TABLES`/`UNLOCK TABLES`: skipped, since a lock held by one connection would stop
    /// the others writing (and mysqldump's locks break tables that use sequences).
    Lock,
    /// A statement about the tables it names (CREATE/DROP/ALTER TABLE, sequences, indexes,
    /// placeholder views, SETVAL): waits only for data still loading into those tables.
    TableDdl,
    /// Views, triggers, routines, events, packages: created after all data before them loaded,
    /// so triggers do not fire on the load and views see complete tables.
    PostData,
    /// Anything else: runs in file order once all data before it has loaded.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Create,
    Drop,
    Alter,
}

/// A database name in a statement, with where it is, so it can be replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub name: String,
    pub span: Range<usize>,
}

impl Name {
    /// The statement with this name replaced by `target` (quoted).
    pub fn replace_in(&self, sql: &[u8], target: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(sql.len() + target.len() + 2);
        out.extend_from_slice(&sql[..self.span.start]);
        crate::quote::push_ident(&mut out, target);
        out.extend_from_slice(&sql[self.span.end..]);
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Word(Range<usize>),
    /// `` `name` ``, unquoted.
    Quoted(String, Range<usize>),
    /// `'…'` or `"…"`, quotes included.
    Str(Range<usize>),
    Punct(u8),
}

/// Versioned comments at or above this version (`/*M!999999\- enable the sandbox mode */`)
/// are not executed by any server: they are comments.
const NEVER_EXECUTED_VERSION: u64 = 999_999;

/// Tokens at the head of a statement, skipping comments and the markers of executable
/// comments (whose content is code).
pub(super) struct Tokens<'a> {
    sql: &'a [u8],
    i: usize,
    /// How strings read: a backslash escapes unless NO_BACKSLASH_ESCAPES, and a double-byte
    /// character whose second byte looks like a quote or backslash is stepped over whole.
    lexing: Lexing,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Tokens<'a> {
    pub(super) fn new(sql: &'a [u8]) -> Tokens<'a> {
        Tokens::lexed(sql, Lexing::default())
    }

    /// The tokens of a text read under `lexing` (the settings the splitter saw in force).
    pub(super) fn lexed(sql: &'a [u8], lexing: Lexing) -> Tokens<'a> {
        Tokens { sql, i: 0, lexing }
    }

    fn skip_to(&mut self, end: &[u8]) {
        match memchr::memmem::find(&self.sql[self.i..], end) {
            Some(k) => self.i += k + end.len(),
            None => self.i = self.sql.len(),
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let s = self.sql;
        loop {
            let b = *s.get(self.i)?;
            let next = s.get(self.i + 1).copied();
            match b {
                _ if b.is_ascii_whitespace() => self.i += 1,
                b'#' => self.skip_to(b"\n"),
                b'-' if next == Some(b'-') && s.get(self.i + 2).is_none_or(|c| *c <= b' ') => {
                    self.skip_to(b"\n")
                }
                b'/' if next == Some(b'*') => {
                    let mut j = self.i + 2;
                    let versioned = match s.get(j) {
                        Some(b'!') => true,
                        Some(b'M') if s.get(j + 1) == Some(&b'!') => {
                            j += 1;
                            true
                        }
                        _ => false,
                    };
                    if !versioned {
                        self.skip_to(b"*/");
                        continue;
                    }
                    j += 1;
                    let digits = s[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let version: u64 = std::str::from_utf8(&s[j..j + digits])
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if version >= NEVER_EXECUTED_VERSION {
                        self.skip_to(b"*/");
                    } else {
                        self.i = j + digits;
                    }
                }
                b'*' if next == Some(b'/') => self.i += 2,
                b'`' => {
                    let start = self.i;
                    let mut name = Vec::new();
                    let mut j = self.i + 1;
                    while j < s.len() {
                        if s[j] == b'`' {
                            if s.get(j + 1) == Some(&b'`') {
                                name.push(b'`');
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        let n = self.lexing.char_len(s, j).min(s.len() - j);
                        name.extend_from_slice(&s[j..j + n]);
                        j += n;
                    }
                    self.i = (j + 1).min(s.len());
                    return Some(Token::Quoted(
                        String::from_utf8_lossy(&name).into_owned(),
                        start..self.i,
                    ));
                }
                b'\'' | b'"' => {
                    let start = self.i;
                    let mut j = self.i + 1;
                    // A doubled quote is one quote inside: `'it''s'` is one string.
                    while j < s.len() && (s[j] != b || s.get(j + 1) == Some(&b)) {
                        let escape = s[j] == b'\\' && !self.lexing.no_backslash_escapes;
                        j += if s[j] == b || escape {
                            2
                        } else {
                            self.lexing.char_len(s, j)
                        };
                    }
                    self.i = (j + 1).min(s.len());
                    return Some(Token::Str(start..self.i));
                }
                _ if is_word_byte(b) => {
                    let start = self.i;
                    while self.i < s.len() && is_word_byte(s[self.i]) {
                        self.i += 1;
                    }
                    return Some(Token::Word(start..self.i));
                }
                _ => {
                    self.i += 1;
                    return Some(Token::Punct(b));
                }
            }
        }
    }
}

/// How many tokens are looked at to find the object of a CREATE (past DEFINER, ALGORITHM …).
const HEAD_TOKENS: usize = 48;

/// Classifies one statement (as the splitter returns it).
/// The statement's first keyword in upper case (inside a `/*!…*/` comment too), if it starts
/// with one.
pub fn first_word(sql: &[u8]) -> Option<String> {
    match (Tokens::new(sql)).next()? {
        Token::Word(r) => Some(String::from_utf8_lossy(&sql[r]).to_ascii_uppercase()),
        _ => None,
    }
}

pub fn classify(sql: &[u8]) -> Kind {
    let mut t = Tokens::new(sql);
    let word = |tok: &Option<Token>| -> Option<String> {
        match tok {
            Some(Token::Word(r)) => {
                Some(String::from_utf8_lossy(&sql[r.clone()]).to_ascii_uppercase())
            }
            _ => None,
        }
    };
    let first = t.next();
    let Some(verb) = word(&first) else {
        return Kind::Other;
    };
    match verb.as_str() {
        "SET" => set_kind(t, sql),
        "USE" => match name(t.next(), sql) {
            Some(n) => Kind::Use(n),
            None => Kind::Other,
        },
        "INSERT" | "REPLACE" => data_kind(t, sql),
        "LOCK" | "UNLOCK" => match word(&t.next()).as_deref() {
            Some("TABLES" | "TABLE") => Kind::Lock,
            _ => Kind::Other,
        },
        "CREATE" | "DROP" | "ALTER" => {
            let verb = match verb.as_str() {
                "CREATE" => Verb::Create,
                "DROP" => Verb::Drop,
                _ => Verb::Alter,
            };
            for _ in 0..HEAD_TOKENS {
                let tok = t.next();
                let Some(w) = word(&tok) else {
                    if tok.is_none() {
                        break;
                    }
                    continue;
                };
                match w.as_str() {
                    "TABLE" | "TABLES" | "SEQUENCE" | "INDEX" => return Kind::TableDdl,
                    // A placeholder view is dropped before its table is; the view itself is
                    // created after the data.
                    "VIEW" if verb == Verb::Drop => return Kind::TableDdl,
                    "VIEW" | "TRIGGER" | "FUNCTION" | "PROCEDURE" | "EVENT" | "PACKAGE" => {
                        return Kind::PostData;
                    }
                    "DATABASE" | "SCHEMA" => return database_kind(verb, t, sql),
                    "USER" | "ROLE" | "SERVER" | "TABLESPACE" | "LOGFILE" => return Kind::Other,
                    _ => {}
                }
            }
            Kind::Other
        }
        "DO" | "TRUNCATE" => Kind::TableDdl,
        "SELECT" => {
            let head = &sql[..sql.len().min(64)];
            if head.to_ascii_uppercase().windows(6).any(|w| w == b"SETVAL") {
                Kind::TableDdl
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    }
}

/// Words that can start a routine body: the characteristics are over when one comes.
const BODY_START: &[&str] = &[
    "BEGIN", "RETURN", "SELECT", "SET", "IF", "CASE", "WHILE", "LOOP", "REPEAT", "DECLARE",
    "INSERT", "UPDATE", "DELETE", "REPLACE", "CALL", "AS", "IS", "WITH", "VALUES", "DO", "FOR",
    "LEAVE", "ITERATE", "SIGNAL", "RESIGNAL", "OPEN", "FETCH", "CLOSE", "TRUNCATE",
];

/// The name of the stored function `sql` creates when it declares none of `DETERMINISTIC`,
/// `NO SQL` or `READS SQL DATA`: a server with a binary log and
/// `log_bin_trust_function_creators=0` refuses it (ERROR 1418), whoever runs it.
///
/// When in doubt (not a stored function, a head it cannot follow) None: the server then
/// decides, and a refusal is still reported where it happens.
pub fn function_without_determinism(sql: &[u8]) -> Option<String> {
    let mut t = Tokens::new(sql);
    let word = |tok: &Token| -> Option<String> {
        match tok {
            Token::Word(r) => Some(String::from_utf8_lossy(&sql[r.clone()]).to_ascii_uppercase()),
            _ => None,
        }
    };
    if word(&t.next()?)? != "CREATE" {
        return None;
    }
    let mut found = false;
    for _ in 0..HEAD_TOKENS {
        match word(&t.next()?).as_deref() {
            Some("FUNCTION") => {
                found = true;
                break;
            }
            Some("PROCEDURE" | "TRIGGER" | "EVENT" | "VIEW" | "TABLE" | "PACKAGE") => return None,
            _ => {}
        }
    }
    if !found {
        return None;
    }
    // IF NOT EXISTS, then the name, maybe qualified.
    let mut tok = t.next()?;
    while matches!(word(&tok).as_deref(), Some("IF" | "NOT" | "EXISTS")) {
        tok = t.next()?;
    }
    let mut name = name(Some(tok), sql)?.name;
    let mut tok = t.next()?;
    if tok == Token::Punct(b'.') {
        name = self::name(t.next(), sql)?.name;
        tok = t.next()?;
    }
    // A UDF (`CREATE FUNCTION f RETURNS STRING SONAME …`) has no parameter list.
    if tok != Token::Punct(b'(') {
        return None;
    }
    let mut depth = 1;
    while depth > 0 {
        match t.next()? {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth -= 1,
            _ => {}
        }
    }
    // RETURNS type (RETURN type under sql_mode ORACLE); the type's first word may be SET.
    if !matches!(word(&t.next()?).as_deref(), Some("RETURNS" | "RETURN")) {
        return None;
    }
    t.next()?;
    let mut previous = String::new();
    loop {
        let tok = t.next()?;
        if tok == Token::Punct(b':') {
            return Some(name); // a label: the body starts
        }
        let Some(w) = word(&tok) else { continue };
        match w.as_str() {
            "DETERMINISTIC" if previous != "NOT" => return None,
            "SQL" if previous == "NO" => return None,
            "READS" => return None,
            "SET" if previous == "CHARACTER" => {}
            w if BODY_START.contains(&w) => return Some(name),
            _ => {}
        }
        previous = w;
    }
}

/// A name token (quoted or bare) as a database or table name.
pub(super) fn name(tok: Option<Token>, sql: &[u8]) -> Option<Name> {
    match tok? {
        Token::Quoted(n, span) => Some(Name { name: n, span }),
        Token::Word(r) => Some(Name {
            name: String::from_utf8_lossy(&sql[r.clone()]).into_owned(),
            span: r,
        }),
        _ => None,
    }
}

fn set_kind(t: Tokens<'_>, sql: &[u8]) -> Kind {
    for tok in t {
        if let Token::Word(r) = tok {
            let w = sql[r].to_ascii_uppercase();
            // Server-wide settings run once; autocommit and transaction settings would leave
            // the data connections' rows uncommitted; passwords and roles are account changes.
            if matches!(
                w.as_slice(),
                b"GLOBAL" | b"AUTOCOMMIT" | b"TRANSACTION" | b"PASSWORD" | b"ROLE" | b"STATEMENT"
            ) {
                return Kind::Other;
            }
        }
    }
    Kind::Session
}

fn data_kind(mut t: Tokens<'_>, sql: &[u8]) -> Kind {
    let mut tok = t.next();
    loop {
        match &tok {
            Some(Token::Word(r))
                if matches!(
                    sql[r.clone()].to_ascii_uppercase().as_slice(),
                    b"LOW_PRIORITY" | b"DELAYED" | b"HIGH_PRIORITY" | b"IGNORE" | b"INTO"
                ) =>
            {
                tok = t.next()
            }
            _ => break,
        }
    }
    let Some(first) = name(tok, sql) else {
        return Kind::Other;
    };
    let mut next = t.next();
    let (db, table) = if next == Some(Token::Punct(b'.')) {
        let Some(second) = name(t.next(), sql) else {
            return Kind::Other;
        };
        next = t.next();
        (Some(first.name), second.name)
    } else {
        (None, first.name)
    };
    // An optional column list, then VALUES: anything else (INSERT … SELECT, INSERT … SET)
    // may read other tables and runs in order.
    if next == Some(Token::Punct(b'(')) {
        let mut depth = 1;
        while depth > 0 {
            match t.next() {
                Some(Token::Punct(b'(')) => depth += 1,
                Some(Token::Punct(b')')) => depth -= 1,
                None => return Kind::Other,
                _ => {}
            }
        }
        next = t.next();
    }
    match next {
        Some(Token::Word(r))
            if matches!(
                sql[r.clone()].to_ascii_uppercase().as_slice(),
                b"VALUES" | b"VALUE"
            ) =>
        {
            Kind::Data {
                db,
                table,
                values_at: t.i,
            }
        }
        _ => Kind::Other,
    }
}

fn database_kind(verb: Verb, mut t: Tokens<'_>, sql: &[u8]) -> Kind {
    let mut tok = t.next();
    // IF [NOT] EXISTS
    while let Some(Token::Word(r)) = &tok {
        let w = sql[r.clone()].to_ascii_uppercase();
        if matches!(w.as_slice(), b"IF" | b"NOT" | b"EXISTS") {
            tok = t.next();
        } else {
            break;
        }
    }
    // ALTER DATABASE without a name alters the current database: a definition, in file order
    // (our dumps give the target the source's defaults this way).
    if let (Verb::Alter, Some(Token::Word(r))) = (verb, &tok) {
        let w = sql[r.clone()].to_ascii_uppercase();
        if matches!(
            w.as_slice(),
            b"CHARACTER" | b"CHARSET" | b"DEFAULT" | b"COLLATE" | b"COMMENT" | b"UPGRADE"
        ) {
            return Kind::TableDdl;
        }
    }
    match name(tok, sql) {
        Some(name) => Kind::Database { verb, name },
        None => Kind::Other,
    }
}

/// Calls `row` with each `(…)` tuple of a VALUES list starting at `at`, exactly as written
/// (the text the dump's row checksum covers); stops at anything that is not a tuple.
pub fn for_each_tuple(sql: &[u8], at: usize, mut row: impl FnMut(&[u8])) {
    let mut i = at;
    loop {
        while i < sql.len() && (sql[i].is_ascii_whitespace() || sql[i] == b',') {
            i += 1;
        }
        if sql.get(i) != Some(&b'(') {
            return;
        }
        let start = i;
        let mut depth = 0usize;
        while i < sql.len() {
            match sql[i] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                q @ (b'\'' | b'"' | b'`') => {
                    i += 1;
                    while i < sql.len() && sql[i] != q {
                        if sql[i] == b'\\' && q != b'`' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= sql.len() {
            return;
        }
        row(&sql[start..=i]);
        i += 1;
    }
}

/// True when `sql` names `table` as a whole word (any case). Used to let a definition run
/// while other tables' data still loads; a false match only costs a wait.
pub fn mentions(sql: &[u8], table: &str) -> bool {
    let needle = table.as_bytes().to_ascii_lowercase();
    if needle.is_empty() || needle.contains(&b'`') {
        return true;
    }
    let hay = sql.to_ascii_lowercase();
    let finder = memchr::memmem::Finder::new(&needle);
    finder.find_iter(&hay).any(|at| {
        let before = at.checked_sub(1).map(|i| hay[i]);
        let after = hay.get(at + needle.len()).copied();
        !before.is_some_and(is_word_byte) && !after.is_some_and(is_word_byte)
    })
}

/// The object keywords of `CREATE`/`ALTER`/`DROP` that [`classify`] looks for, for the readers
/// of a statement's head (`confine`, `subject`): the first one found names the object.
pub(super) const OBJECTS: [&str; 18] = [
    "TABLE",
    "TABLES",
    "SEQUENCE",
    "VIEW",
    "TRIGGER",
    "FUNCTION",
    "PROCEDURE",
    "EVENT",
    "PACKAGE",
    "INDEX",
    "DATABASE",
    "SCHEMA",
    "USER",
    "ROLE",
    "SERVER",
    "TABLESPACE",
    "LOGFILE",
    "SYNONYM",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn k(sql: &str) -> Kind {
        classify(sql.as_bytes())
    }

    #[test]
    fn session_settings_including_versioned_ones() {
        for s in [
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
            "/*!40101 SET NAMES utf8mb4 */",
            "SET sql_mode = 'ORACLE'",
            "/*M!999999\\- enable the sandbox mode */\n-- MariaDB dump\n/*!40103 SET TIME_ZONE='+00:00' */",
            "/*!50003 SET character_set_client = utf8mb4 */",
            "/*!100201 SET @OLD_CHECK_CONSTRAINT_CHECKS=@@CHECK_CONSTRAINT_CHECKS, CHECK_CONSTRAINT_CHECKS=0 */",
            "/*!100201 SET CHECK_CONSTRAINT_CHECKS=@OLD_CHECK_CONSTRAINT_CHECKS */",
        ] {
            assert_eq!(k(s), Kind::Session, "{s}");
        }
        for s in [
            "SET GLOBAL event_scheduler = ON",
            "SET @@GLOBAL.GTID_PURGED='x'",
            "set autocommit=0",
            "SET STATEMENT max_statement_time=1 FOR SELECT 1",
        ] {
            assert_eq!(k(s), Kind::Other, "{s}");
        }
    }

    #[test]
    fn data_statements_name_their_table() {
        assert_eq!(
            k("INSERT INTO `t``x` (`a`,`b`) VALUES (1,2),(3,4)"),
            Kind::Data {
                db: None,
                table: "t`x".into(),
                values_at: 35
            }
        );
        assert_eq!(
            k("INSERT IGNORE INTO d.t VALUES\n(1)"),
            Kind::Data {
                db: Some("d".into()),
                table: "t".into(),
                values_at: 29
            }
        );
        assert_eq!(
            k("REPLACE INTO `t` VALUE (1)"),
            Kind::Data {
                db: None,
                table: "t".into(),
                values_at: 22
            }
        );
        assert_eq!(k("INSERT INTO t SELECT * FROM u"), Kind::Other);
        assert_eq!(k("INSERT INTO t (a) SELECT 1"), Kind::Other);
        assert_eq!(k("INSERT INTO t SET a = 1"), Kind::Other);
    }

    #[test]
    fn objects_after_the_data() {
        for s in [
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 */",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */",
            "CREATE DEFINER=`a`@`%` PROCEDURE `p`() BEGIN END",
            "CREATE OR REPLACE DEFINER='a'@'%' FUNCTION f() RETURNS INT RETURN 1",
            "CREATE DEFINER=`root`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY DO SELECT 1",
            "/*!50032 DROP TRIGGER IF EXISTS tr */",
            "DROP PROCEDURE IF EXISTS p",
            "CREATE PACKAGE BODY pk AS END",
        ] {
            assert_eq!(k(s), Kind::PostData, "{s}");
        }
    }

    #[test]
    fn table_definitions_and_the_rest() {
        for s in [
            "CREATE TABLE `t` (a INT, b TEXT COMMENT 'a view of a trigger')",
            "DROP TABLE IF EXISTS `t`",
            "/*!50001 DROP VIEW IF EXISTS `v`*/",
            "/*!40000 ALTER TABLE `t` DISABLE KEYS */",
            "CREATE SEQUENCE s",
            "DO SETVAL(`s`, 1, 0, 0)",
            "SELECT SETVAL(`s`, 1001, 0)",
        ] {
            assert_eq!(k(s), Kind::TableDdl, "{s}");
        }
        assert_eq!(k("LOCK TABLES `t` WRITE"), Kind::Lock);
        assert_eq!(k("UNLOCK TABLES"), Kind::Lock);
        assert_eq!(k("GRANT ALL ON *.* TO x"), Kind::Other);
        assert_eq!(k("CREATE USER 'x'@'%'"), Kind::Other);
        assert_eq!(k("SELECT 1"), Kind::Other);
        assert_eq!(k("(SELECT 1)"), Kind::Other);
    }

    #[test]
    fn database_statements_carry_the_name_and_its_place() {
        let sql = "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a``b` /*!40100 DEFAULT CHARACTER SET utf8mb4 */";
        let Kind::Database { verb, name } = k(sql) else {
            panic!("not a database statement");
        };
        assert_eq!(verb, Verb::Create);
        assert_eq!(name.name, "a`b");
        assert_eq!(
            String::from_utf8(name.replace_in(sql.as_bytes(), "new")).unwrap(),
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `new` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"
        );
        let Kind::Use(n) = k("USE `x`") else { panic!() };
        assert_eq!(n.name, "x");
        assert!(matches!(
            k("/*!50003 ALTER DATABASE `src` CHARACTER SET latin1 */"),
            Kind::Database {
                verb: Verb::Alter,
                ..
            }
        ));
        assert_eq!(k("ALTER DATABASE CHARACTER SET latin1"), Kind::TableDdl);
        assert!(matches!(
            k("DROP DATABASE IF EXISTS d"),
            Kind::Database {
                verb: Verb::Drop,
                ..
            }
        ));
    }

    #[test]
    fn tuples_are_cut_exactly_as_written() {
        let sql = b"INSERT INTO t VALUES (1,'a)\\'(',f(2)),\n(2,NULL) ON DUPLICATE KEY UPDATE a=1";
        let Kind::Data { values_at, .. } = classify(sql) else {
            panic!()
        };
        let mut rows = Vec::new();
        for_each_tuple(sql, values_at, |r| {
            rows.push(String::from_utf8_lossy(r).into_owned())
        });
        assert_eq!(rows, ["(1,'a)\\'(',f(2))", "(2,NULL)"]);
    }

    #[test]
    fn functions_without_a_determinism_clause_are_found() {
        let f = |s: &str| function_without_determinism(s.as_bytes());
        for (sql, name) in [
            ("CREATE FUNCTION f() RETURNS INT RETURN 1", "f"),
            (
                "CREATE DEFINER=`root`@`%` FUNCTION `d`.`g h`(a INT, b VARCHAR(3)) RETURNS int(11)\n    NOT DETERMINISTIC\n    MODIFIES SQL DATA\nBEGIN RETURN 1; END",
                "g h",
            ),
            (
                "CREATE OR REPLACE FUNCTION IF NOT EXISTS f(s SET('a','b')) RETURNS SET('x','y') CHARACTER SET latin1 COLLATE latin1_bin CONTAINS SQL COMMENT 'no DETERMINISTIC here' SQL SECURITY INVOKER lbl: BEGIN RETURN 'x'; END",
                "f",
            ),
            (
                "CREATE FUNCTION f(a INT) RETURN VARCHAR2 AS BEGIN RETURN 'DETERMINISTIC'; END",
                "f",
            ),
            (
                "CREATE AGGREGATE FUNCTION agg(x INT) RETURNS INT BEGIN RETURN 1; END",
                "agg",
            ),
        ] {
            assert_eq!(f(sql).as_deref(), Some(name), "{sql}");
        }
        for sql in [
            "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1",
            "CREATE DEFINER=`a`@`%` FUNCTION `f`() RETURNS int(11)\n    NO SQL\nRETURN 1",
            "CREATE FUNCTION f() RETURNS TEXT CHARSET utf8mb4 COMMENT 'c' READS SQL DATA RETURN (SELECT 1)",
            "CREATE FUNCTION f() RETURNS INT MODIFIES SQL DATA DETERMINISTIC BEGIN RETURN 1; END",
            "CREATE FUNCTION f(a INT) RETURN VARCHAR2 DETERMINISTIC AS BEGIN RETURN 'x'; END",
            "CREATE FUNCTION udf RETURNS STRING SONAME 'udf.so'",
            "CREATE PROCEDURE p() BEGIN SELECT 1; END",
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = f()",
            "DROP FUNCTION IF EXISTS f",
        ] {
            assert_eq!(f(sql), None, "{sql}");
        }
    }

    #[test]
    fn mentions_matches_whole_names_only() {
        assert!(mentions(b"ALTER TABLE `T` ENABLE KEYS", "t"));
        assert!(!mentions(b"CREATE TABLE `t2` (a INT)", "t"));
        assert!(mentions(
            b"CREATE TABLE c (p INT REFERENCES `parent` (id))",
            "parent"
        ));
    }
}

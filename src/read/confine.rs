//! The databases a statement writes into by name: what a single-database restore
//! (`db-restore single --target-db X`) checks so that a file cannot write anywhere but X.
//!
//! Only the objects a statement changes are looked at, from its first tokens: the table of an
//! `INSERT`/`UPDATE`/`DELETE`/`TRUNCATE`/`LOAD DATA`, the object a `CREATE`/`ALTER`/`DROP`
//! defines (and a trigger's table, an `ALTER TABLE … RENAME TO`'s new name), both sides of a
//! `RENAME TABLE`, the routine of a `CALL`, the sequence of `SETVAL`, the level of a
//! `GRANT`/`REVOKE … ON`. Names *read* are not refused: a view's `SELECT`, an
//! `INSERT … SELECT`'s source, a `CREATE TABLE … LIKE`'s model. The bodies of triggers,
//! routines and events are code the restore itself may run (a trigger fires on the restored
//! rows, a `CALL` runs a procedure), so the write statements in them are read the same way.
//! Names in double quotes count as names (`"db"."t"` under ANSI_QUOTES). `USE` and `CREATE`/`ALTER`/`DROP DATABASE` are the restore's own business (the file's
//! database is mapped onto the target, a second one is refused) and are not handled here.
//!
//! Bounded: at most [`SCAN_TOKENS`] tokens of a statement are read (of a body: the
//! statements in it, at most [`BODY_TOKENS`] tokens, beyond which it is refused as too long to
//! check), and row statements of a dump are never scanned (their table is already known from
//! classification).

use super::classify::{Name, OBJECTS, Token, Tokens, name};
use crate::lexing::Lexing;

/// Tokens read at most: enough for a definition's head (DEFINER, ALGORITHM, IF NOT EXISTS),
/// a multi-table UPDATE's table list or a GRANT's privilege list.
const SCAN_TOKENS: usize = 512;

/// Every database `sql` names as a place it writes into; `*` stands for "every database"
/// (`GRANT … ON *.*`). Empty when it writes only into the current database (or is not
/// understood: the server then resolves unqualified names in the target).
///
/// `lexing` is how the statement reads where it stands in its script (the splitter's
/// [`Statement::lexing`](super::split::Statement)): a body created under sjis or
/// NO_BACKSLASH_ESCAPES has strings that end elsewhere than a plain reading says, and a write
/// could hide in what looks like a string.
///
/// `package` says whether a name is a package the restore created: `CALL pkg.p` calls that
/// package's routine (sql_mode ORACLE), not a procedure of a database `pkg`.
pub fn written_databases(
    sql: &[u8],
    lexing: Lexing,
    package: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let head: Vec<Token> = Tokens::lexed(sql, lexing).take(SCAN_TOKENS).collect();
    let mut out = written_by(&head, sql, package);
    if defines_code(&head, sql) {
        out.extend(written_in_body(sql, lexing, package));
    }
    out
}

/// The package a `CREATE [OR REPLACE] [DEFINER=…] PACKAGE [IF NOT EXISTS] [db.]name`
/// statement creates (not a `PACKAGE BODY`, which needs its package first).
pub fn created_package(sql: &[u8], lexing: Lexing) -> Option<String> {
    if !matches!(sql.first(), Some(b'C' | b'c' | b'/')) {
        return None;
    }
    let toks: Vec<Token> = Tokens::lexed(sql, lexing).take(SCAN_TOKENS).collect();
    let word = |i: usize| match toks.get(i) {
        Some(Token::Word(r)) => sql[r.clone()].to_ascii_uppercase(),
        _ => Vec::new(),
    };
    if word(0) != b"CREATE" {
        return None;
    }
    let k = (1..toks.len().min(HEAD)).find(|&i| word(i) == b"PACKAGE")?;
    if word(k + 1) == b"BODY" {
        return None;
    }
    let mut i = k + 1;
    while matches!(&word(i)[..], b"IF" | b"NOT" | b"EXISTS") {
        i += 1;
    }
    if toks.get(i + 1) == Some(&Token::Punct(b'.')) {
        i += 2;
    }
    let quoted_under_ansi = |t: &Token| match t {
        Token::Str(r) if sql.get(r.start) == Some(&b'"') && r.len() >= 2 => {
            Some(String::from_utf8_lossy(&sql[r.start + 1..r.end - 1]).replace("\"\"", "\""))
        }
        _ => None,
    };
    let t = toks.get(i)?;
    quoted_under_ansi(t).or_else(|| name(Some(t.clone()), sql).map(|n| n.name))
}

/// Tokens before a definition's object kind: `CREATE OR REPLACE DEFINER=`u`@`h` …`.
const HEAD: usize = 24;

/// Stands for "a body too long to check" among the databases a statement writes into.
pub const BODY_TOO_LONG: &str = "\0body too long to check";

/// Tokens of a routine, trigger or event body read at most: far more than real bodies hold,
/// and a bound on the work a hostile one can cause.
const BODY_TOKENS: usize = 100_000;

/// Whether the statement creates code that runs later (a trigger fired by the restore's own
/// rows, a procedure it calls, an event): its body's writes are the restore's writes too.
fn defines_code(toks: &[Token], sql: &[u8]) -> bool {
    let word = |t: &Token| match t {
        Token::Word(r) => Some(sql[r.clone()].to_ascii_uppercase()),
        _ => None,
    };
    let mut words = toks.iter().filter_map(word);
    words.next().as_deref() == Some(&b"CREATE"[..])
        && words.any(|w| {
            matches!(
                &w[..],
                b"TRIGGER" | b"PROCEDURE" | b"FUNCTION" | b"EVENT" | b"PACKAGE"
            )
        })
}

/// The databases written by the statements inside a body: each write statement found where
/// a statement can start (after `;`, `BEGIN`, `THEN`, `ELSE`, `DO`, `LOOP`, `REPEAT`, a label
/// or `FOR EACH ROW`), read as a statement of its own.
fn written_in_body(sql: &[u8], lexing: Lexing, package: &dyn Fn(&str) -> bool) -> Vec<String> {
    let toks: Vec<Token> = Tokens::lexed(sql, lexing).take(BODY_TOKENS + 1).collect();
    if toks.len() > BODY_TOKENS {
        return vec![BODY_TOO_LONG.to_owned()];
    }
    let upper = |t: &Token| match t {
        Token::Word(r) => sql[r.clone()].to_ascii_uppercase(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for i in 1..toks.len() {
        let starts = match &toks[i - 1] {
            // `;` between statements, `label:`, `p() UPDATE …`, `COMMENT '…' UPDATE …`.
            Token::Punct(b';' | b':' | b')') | Token::Str(_) => true,
            t @ Token::Word(_) => matches!(
                &upper(t)[..],
                b"BEGIN"
                    | b"THEN"
                    | b"ELSE"
                    | b"DO"
                    | b"LOOP"
                    | b"REPEAT"
                    | b"ROW"
                    | b"DETERMINISTIC"
                    | b"SQL"
                    | b"DATA"
                    | b"INVOKER"
                    | b"DEFINER"
            ),
            _ => false,
        };
        if starts && !upper(&toks[i]).is_empty() {
            let end = (i + SCAN_TOKENS).min(toks.len());
            out.extend(written_by(&toks[i..end], sql, package));
        }
    }
    out
}

/// The databases the statement whose tokens start at `toks[0]` writes into by name.
fn written_by(toks: &[Token], sql: &[u8], package: &dyn Fn(&str) -> bool) -> Vec<String> {
    // The statement ends at its `;`: in a body, what follows is the next statement, whose
    // `alias.column` is no table of this one's list (`DELETE FROM t; SELECT a.id FROM t1 a`).
    let toks = &toks[..toks
        .iter()
        .position(|t| *t == Token::Punct(b';'))
        .unwrap_or(toks.len())];
    let name = |tok: Option<Token>, sql: &[u8]| match tok? {
        // `"db"."t"`: names under ANSI_QUOTES (a syntax error otherwise, so never wrong).
        Token::Str(r) if sql.get(r.start) == Some(&b'"') && r.len() >= 2 => Some(Name {
            name: String::from_utf8_lossy(&sql[r.start + 1..r.end - 1]).replace("\"\"", "\""),
            span: r,
        }),
        t => name(Some(t), sql),
    };
    let word = |i: usize| -> Option<String> {
        match toks.get(i) {
            Some(Token::Word(r)) => {
                Some(String::from_utf8_lossy(&sql[r.clone()]).to_ascii_uppercase())
            }
            _ => None,
        }
    };
    let is = |i: usize, words: &[&str]| word(i).is_some_and(|w| words.contains(&w.as_str()));
    // The database of the name starting at token `i`, when it is qualified.
    let qualifier = |i: usize| -> Option<String> {
        let db = name(toks.get(i).cloned(), sql)?;
        (toks.get(i + 1) == Some(&Token::Punct(b'.'))
            && name(toks.get(i + 2).cloned(), sql).is_some())
        .then_some(db.name)
    };
    // The databases of the qualified names of a table list in tokens `from..to`: not inside
    // parentheses (subqueries and derived tables are read) nor in a join's `ON` condition
    // (`t.a` there is a table and a column).
    let table_list = |from: usize, to: usize| -> Vec<String> {
        let mut found = Vec::new();
        let (mut depth, mut condition) = (0usize, false);
        for i in from..to.min(toks.len()) {
            match &toks[i] {
                Token::Punct(b'(') => depth += 1,
                Token::Punct(b')') => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                Token::Punct(b',') => condition = false,
                _ if is(i, &["ON"]) => condition = true,
                _ if is(i, &["JOIN"]) => condition = false,
                _ if condition || (i > 0 && toks[i - 1] == Token::Punct(b'.')) => {}
                _ => found.extend(qualifier(i)),
            }
        }
        found
    };
    // The first token at or after `from` that is one of `words`.
    let find = |from: usize, words: &[&str]| (from..toks.len()).find(|&i| is(i, words));
    let skip = |mut i: usize, words: &[&str]| {
        while is(i, words) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let Some(first) = word(0) else {
        return out;
    };
    match first.as_str() {
        "INSERT" | "REPLACE" => {
            let i = skip(
                1,
                &["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"],
            );
            out.extend(qualifier(i));
        }
        "UPDATE" => {
            let end = find(1, &["SET"]).unwrap_or(toks.len());
            out = table_list(1, end);
        }
        "DELETE" => {
            let end = find(1, &["WHERE", "ORDER", "LIMIT", "RETURNING"]).unwrap_or(toks.len());
            out = table_list(1, end);
        }
        "TRUNCATE" => out.extend(qualifier(skip(1, &["TABLE"]))),
        "LOAD" => {
            if let Some(i) = find(1, &["INTO"]).filter(|&i| is(i + 1, &["TABLE"])) {
                out.extend(qualifier(i + 2));
            }
        }
        "RENAME" if is(1, &["TABLE", "TABLES"]) => out = table_list(2, toks.len()),
        "CALL" => out.extend(qualifier(1).filter(|q| !package(q))),
        "SELECT" => {
            if let Some(i) =
                find(1, &["SETVAL"]).filter(|&i| toks.get(i + 1) == Some(&Token::Punct(b'(')))
            {
                out.extend(qualifier(i + 2));
            }
        }
        "GRANT" | "REVOKE" => {
            if let Some(on) = find(1, &["ON"]) {
                let i = skip(
                    on + 1,
                    &["TABLE", "FUNCTION", "PROCEDURE", "PACKAGE", "BODY"],
                );
                let dot = toks.get(i + 1) == Some(&Token::Punct(b'.'));
                match toks.get(i) {
                    Some(Token::Punct(b'*')) if dot => out.push("*".to_owned()),
                    _ if dot => out.extend(name(toks.get(i).cloned(), sql).map(|n| n.name)),
                    _ => {}
                }
            }
        }
        "CREATE" | "ALTER" | "DROP" => {
            let Some(k) = find(1, &OBJECTS) else {
                return out;
            };
            let object = word(k).unwrap_or_default();
            let mut i = skip(k + 1, &["BODY", "IF", "NOT", "EXISTS"]);
            match object.as_str() {
                "DATABASE" | "SCHEMA" | "USER" | "ROLE" | "SERVER" | "TABLESPACE" | "LOGFILE" => {}
                // Its name is not qualified; its table is.
                "INDEX" => {
                    if let Some(on) = find(i, &["ON"]) {
                        out.extend(qualifier(on + 1));
                    }
                }
                // DROP TABLE a, b.c …
                _ if first == "DROP" => out = table_list(i, toks.len()),
                "TRIGGER" => {
                    out.extend(qualifier(i));
                    if let Some(on) = find(i, &["ON"]) {
                        out.extend(qualifier(on + 1));
                    }
                }
                "TABLE" if first == "ALTER" => {
                    out.extend(qualifier(i));
                    // ALTER TABLE t RENAME [TO|AS] db.u (not RENAME COLUMN/INDEX/KEY).
                    while let Some(r) = find(i + 1, &["RENAME"]) {
                        let j = skip(r + 1, &["TO", "AS"]);
                        if !is(j, &["COLUMN", "INDEX", "KEY"]) {
                            out.extend(qualifier(j));
                        }
                        i = r;
                    }
                }
                _ => out.extend(qualifier(i)),
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(sql: &str) -> Vec<String> {
        written_databases(sql.as_bytes(), Lexing::default(), &|_| false)
    }

    #[test]
    fn writes_into_a_named_database_are_found() {
        for (sql, dbs) in [
            ("INSERT INTO other.t VALUES (1)", &["other"][..]),
            (
                "insert low_priority ignore into `o t`.`x` select * from t",
                &["o t"],
            ),
            ("REPLACE `other`.t SET a = 1", &["other"]),
            ("UPDATE t JOIN other.u ON t.a = u.a SET u.b = 1", &["other"]),
            ("UPDATE a.t, `b`.u SET x = 1", &["a", "b"]),
            (
                "DELETE FROM other.t WHERE a IN (SELECT a FROM x.y)",
                &["other"],
            ),
            ("DELETE a, b FROM other.a JOIN b", &["other"]),
            ("TRUNCATE TABLE other.t", &["other"]),
            ("LOAD DATA LOCAL INFILE 'f' INTO TABLE other.t", &["other"]),
            ("RENAME TABLE t TO other.t, a.b TO c", &["other", "a"]),
            ("CALL other.p(1)", &["other"]),
            ("SELECT SETVAL(`other`.`s`, 5)", &["other"]),
            ("GRANT SELECT ON other.* TO 'u'@'%'", &["other"]),
            ("GRANT EXECUTE ON PROCEDURE other.p TO u", &["other"]),
            ("REVOKE ALL ON *.* FROM u", &["*"]),
            ("CREATE TABLE other.t (a INT)", &["other"]),
            (
                "CREATE TABLE IF NOT EXISTS `other`.`t` LIKE src.t",
                &["other"],
            ),
            ("DROP TABLE IF EXISTS t, other.u, x.v", &["other", "x"]),
            ("ALTER TABLE t RENAME TO other.u", &["other"]),
            ("ALTER TABLE other.t ADD c INT", &["other"]),
            ("CREATE UNIQUE INDEX i ON other.t (a)", &["other"]),
            ("DROP INDEX i ON other.t", &["other"]),
            (
                "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON other.t FOR EACH ROW SET NEW.a = 1 */",
                &["other"],
            ),
            (
                "CREATE DEFINER=`root`@`localhost` PROCEDURE `other`.`p`() BEGIN END",
                &["other"],
            ),
            ("CREATE OR REPLACE VIEW other.v AS SELECT 1", &["other"]),
            ("DROP VIEW IF EXISTS other.v", &["other"]),
            ("CREATE SEQUENCE other.s", &["other"]),
            ("DROP PACKAGE BODY other.p", &["other"]),
            // Bodies: what the restore's own rows fire, or a CALL runs.
            (
                "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO other.log VALUES (1)",
                &["other"],
            ),
            (
                "CREATE DEFINER=`r`@`%` PROCEDURE p() BEGIN DECLARE x INT; \
                 lbl: LOOP IF x THEN DELETE FROM other.t; END IF; END LOOP; END",
                &["other"],
            ),
            (
                "CREATE PROCEDURE p() MODIFIES SQL DATA UPDATE `other`.t SET a = 1",
                &["other"],
            ),
            (
                "CREATE PROCEDURE p() COMMENT 'x' REPLACE INTO other.t VALUES (1)",
                &["other"],
            ),
            (
                "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO TRUNCATE other.t",
                &["other"],
            ),
            (
                "CREATE FUNCTION f() RETURNS INT BEGIN CALL other.p(); RETURN 1; END",
                &["other"],
            ),
            // Names in double quotes: ANSI_QUOTES.
            ("UPDATE \"other\".\"t\" SET v = 1", &["other"]),
            ("INSERT INTO \"o\"\"q\".t VALUES (1)", &["o\"q"]),
            (
                "CREATE PROCEDURE x() BEGIN DELETE FROM t2; INSERT INTO other.t2 SELECT 1; END",
                &["other"],
            ),
        ] {
            assert_eq!(written(sql), dbs, "{sql}");
        }
    }

    #[test]
    fn reads_and_current_database_statements_are_not_writes_elsewhere() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t SELECT * FROM other.t",
            "CREATE TABLE t LIKE other.t",
            "CREATE TABLE `t.x` (a INT)",
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` VIEW v AS SELECT other.t.a FROM other.t",
            "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO log SELECT * FROM other.t",
            "CREATE FUNCTION f() RETURNS INT RETURN (SELECT COUNT(*) FROM other.t)",
            "CREATE PROCEDURE p() BEGIN SELECT * FROM other.t; UPDATE t SET a = 1; END",
            "INSERT INTO t VALUES (\"other\".\"t\")",
            "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES other.p (a)",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "SELECT * FROM other.t",
            "SET @a = (SELECT 1 FROM other.t)",
            "UPDATE t SET a = (SELECT b FROM other.u)",
            "DELETE FROM t WHERE a IN (SELECT a FROM other.t)",
            "GRANT SELECT ON t TO u",
            "GRANT r TO u",
            "USE other",
            "CREATE DATABASE other",
            "DROP DATABASE other",
            "CREATE USER 'a.b'@'%'",
            "INSERT INTO t VALUES ('other.t')",
            "-- DROP TABLE other.t\nSELECT 1",
            // A statement ends at its `;`: the next one's `alias.column` is no table of it
            // (the employees sample's `show_departments`).
            "CREATE PROCEDURE x() MODIFIES SQL DATA BEGIN DELETE FROM t2; \
             INSERT INTO t2 SELECT a.id FROM t1 a; END",
            "CREATE PROCEDURE x() BEGIN DROP TABLE IF EXISTS t9; SELECT a.id FROM t1 a; END",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t2; \
             SELECT a.id FROM t1 a; END",
            "CREATE PROCEDURE x() BEGIN RENAME TABLE t TO u; SELECT a.id FROM t1 a; END",
        ] {
            assert!(written(sql).is_empty(), "{sql}: {:?}", written(sql));
        }
    }

    /// A body too long to read is refused as such, not read to its end.
    #[test]
    fn a_body_too_long_to_check_says_so() {
        let mut sql = "CREATE PROCEDURE p() BEGIN ".to_owned();
        sql.push_str(&"SELECT 1; ".repeat(BODY_TOKENS / 3 + 1));
        sql.push_str("END");
        assert_eq!(written(&sql), [BODY_TOO_LONG]);
    }

    /// A write after a string that ends in a sjis `表` (0x95 0x5C), or in a backslash under
    /// NO_BACKSLASH_ESCAPES, is found: read plainly, the string would run on over it.
    #[test]
    fn a_write_after_a_string_ending_in_a_backslash_is_found() {
        use crate::lexing::Multibyte;
        let sjis = Lexing {
            multibyte: Multibyte::Sjis,
            ..Lexing::default()
        };
        let sql = b"CREATE PROCEDURE p() BEGIN SELECT '\x95\x5c'; INSERT INTO other.t VALUES (1); SELECT 'x'; END";
        let none = |_: &str| false;
        assert!(written_databases(sql, Lexing::default(), &none).is_empty());
        assert_eq!(written_databases(sql, sjis, &none), ["other"]);
        let nbe = Lexing {
            no_backslash_escapes: true,
            ..Lexing::default()
        };
        let sql = b"CREATE PROCEDURE p() BEGIN SELECT 'C:\\'; INSERT INTO other.t VALUES (1); SELECT 'x'; END";
        assert_eq!(written_databases(sql, nbe, &none), ["other"]);
    }

    /// Under sql_mode ORACLE `CALL pack.p2` calls a routine of package `pack`: not a write
    /// into a database `pack` once the file created that package.
    #[test]
    fn a_call_into_a_package_is_no_write_elsewhere() {
        let created = |sql: &str| created_package(sql.as_bytes(), Lexing::default());
        assert_eq!(
            created("CREATE DEFINER=\"root\"@\"localhost\" PACKAGE \"pack\" AS PROCEDURE p2; END"),
            Some("pack".to_owned())
        );
        assert_eq!(
            created("CREATE OR REPLACE PACKAGE IF NOT EXISTS d.`Pk` AS PROCEDURE p2; END"),
            Some("Pk".to_owned())
        );
        assert_eq!(
            created("CREATE PACKAGE BODY pack AS PROCEDURE p2 AS BEGIN NULL; END; END"),
            None
        );
        assert_eq!(created("CREATE PROCEDURE pack() BEGIN END"), None);
        let sql = b"CREATE PROCEDURE \"caller\"() AS BEGIN CALL pack.p2; CALL other.p; END";
        let pack = |n: &str| n.eq_ignore_ascii_case("PACK");
        assert_eq!(written_databases(sql, Lexing::default(), &pack), ["other"]);
        assert_eq!(
            written_databases(sql, Lexing::default(), &|_| false),
            ["pack", "other"]
        );
    }
}

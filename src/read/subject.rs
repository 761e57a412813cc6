//! Which tables or views a statement of a dump is about, and how: what restoring part of a
//! file (`db-restore --tables`, `--ignore-table`) decides each statement by.
//!
//! Read from the statement's first tokens, like [`super::confine`]: the table a row statement
//! loads, the table, view or sequence a definition creates, changes or drops, the table a
//! trigger is on, both sides of a `RENAME TABLE`. Only the object a statement defines or
//! writes counts, not the tables it reads (a view's `SELECT`, an `INSERT … SELECT`'s source,
//! a `CREATE TABLE … LIKE`'s model). Statements about no table (session settings, databases,
//! routines, events, accounts) have no subject and always run.
//!
//! `DROP TRIGGER` names only its trigger, not the table it is on: it has no subject. A restore
//! writes only into databases that hold no table when it starts (new, empty, or dropped by
//! `--drop-target`), so the dump's `DROP TRIGGER IF EXISTS` in front of each trigger finds
//! nothing to drop whether its trigger is restored or not.

use super::classify::{Kind, OBJECTS, Token, Tokens, name};
use crate::quote::ident;

/// Tokens read at most: enough for a definition's head (DEFINER, ALGORITHM, IF NOT EXISTS)
/// and a `DROP TABLE` or `RENAME TABLE` list of dump size.
const SCAN_TOKENS: usize = 512;

/// A table or view as the statement names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    /// The database written before it (`db.t`); None: the current database.
    pub db: Option<String>,
    pub name: String,
}

/// What a statement does to the tables it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `CREATE TABLE`, `CREATE SEQUENCE`, and the stand-in table of a view.
    Creates,
    /// `CREATE VIEW`, `ALTER VIEW`.
    CreatesView,
    /// Rows: `INSERT`/`REPLACE` of any form, `LOAD DATA`/`LOAD XML`.
    Rows,
    /// `DROP TABLE`, `DROP VIEW`, `DROP SEQUENCE`.
    Drops,
    /// `ALTER TABLE` (mysqldump's `DISABLE KEYS`), indexes, `TRUNCATE`, `SETVAL`, `RENAME`.
    Changes,
    /// `CREATE TRIGGER … ON t`: about the table it is on.
    Trigger,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// About no table: runs whatever the selection.
    None,
    Tables {
        role: Role,
        tables: Vec<TableName>,
    },
    /// A statement about a table whose name could not be read: whether it belongs to a table
    /// left out cannot be told.
    Unreadable,
}

/// The subject of a statement `classify` found to be `kind`.
pub fn subject(sql: &[u8], kind: &Kind) -> Subject {
    match kind {
        Kind::Session | Kind::Use(_) | Kind::Database { .. } | Kind::Lock => Subject::None,
        Kind::Data { db, table, .. } => Subject::Tables {
            role: Role::Rows,
            tables: vec![TableName {
                db: db.clone(),
                name: table.clone(),
            }],
        },
        Kind::TableDdl | Kind::PostData | Kind::Other => {
            let toks: Vec<Token> = Tokens::new(sql).take(SCAN_TOKENS).collect();
            Head { toks: &toks, sql }.subject()
        }
    }
}

/// What a `CREATE`/`ALTER`/`DROP` statement defines, for a message: `procedure `p``,
/// `view `v``. None for any other statement, or a name that cannot be read.
pub fn defined_object(sql: &[u8]) -> Option<String> {
    let toks: Vec<Token> = Tokens::new(sql).take(SCAN_TOKENS).collect();
    let head = Head { toks: &toks, sql };
    if !head.is(0, &["CREATE", "ALTER", "DROP"]) {
        return None;
    }
    let k = head.find(1, &OBJECTS)?;
    let kind = head.word(k)?.to_ascii_lowercase();
    let at = head.skip(k + 1, &["BODY", "IF", "NOT", "EXISTS"]);
    let (object, _) = head.table_at(at)?;
    let kind = if kind == "package" && head.is(k + 1, &["BODY"]) {
        "package body".to_owned()
    } else {
        kind
    };
    Some(match object.db {
        Some(db) => format!("{kind} {}.{}", ident(&db), ident(&object.name)),
        None => format!("{kind} {}", ident(&object.name)),
    })
}

/// The account a definition's `DEFINER=` clause names: (user, host), the host None for a
/// role (`DEFINER=r`). None without the clause, or for `CURRENT_USER`.
pub fn definer(sql: &[u8]) -> Option<(String, Option<String>)> {
    let toks: Vec<Token> = Tokens::new(sql).take(SCAN_TOKENS).collect();
    let head = Head { toks: &toks, sql };
    if !head.is(0, &["CREATE", "ALTER"]) {
        return None;
    }
    let k = head.find(1, &["DEFINER"])?;
    if head.toks.get(k + 1) != Some(&Token::Punct(b'=')) {
        return None;
    }
    let part = |i: usize| -> Option<String> {
        match head.toks.get(i)? {
            Token::Str(r) if r.len() >= 2 => {
                let q = sql[r.start];
                let inner = String::from_utf8_lossy(&sql[r.start + 1..r.end - 1]);
                let doubled = String::from_utf8(vec![q, q]).ok()?;
                Some(inner.replace(&doubled, &(q as char).to_string()))
            }
            t => name(Some(t.clone()), sql).map(|n| n.name),
        }
    };
    let user = part(k + 2)?;
    if head
        .toks
        .get(k + 2)
        .is_some_and(|t| matches!(t, Token::Word(_)))
        && user.eq_ignore_ascii_case("CURRENT_USER")
    {
        return None;
    }
    let host = match head.toks.get(k + 3) {
        Some(Token::Punct(b'@')) => Some(part(k + 4)?),
        _ => None,
    };
    Some((user, host))
}

struct Head<'a> {
    toks: &'a [Token],
    sql: &'a [u8],
}

impl Head<'_> {
    fn word(&self, i: usize) -> Option<String> {
        match self.toks.get(i) {
            Some(Token::Word(r)) => {
                Some(String::from_utf8_lossy(&self.sql[r.clone()]).to_ascii_uppercase())
            }
            _ => None,
        }
    }

    fn is(&self, i: usize, words: &[&str]) -> bool {
        self.word(i).is_some_and(|w| words.contains(&w.as_str()))
    }

    fn skip(&self, mut i: usize, words: &[&str]) -> usize {
        while self.is(i, words) {
            i += 1;
        }
        i
    }

    /// The first token at or after `from` that is one of `words`.
    fn find(&self, from: usize, words: &[&str]) -> Option<usize> {
        (from..self.toks.len()).find(|&i| self.is(i, words))
    }

    /// A name token at `i`: quoted, bare, or in double quotes (ANSI_QUOTES).
    fn name_at(&self, i: usize) -> Option<String> {
        match self.toks.get(i)? {
            Token::Str(r) if self.sql.get(r.start) == Some(&b'"') && r.len() >= 2 => Some(
                String::from_utf8_lossy(&self.sql[r.start + 1..r.end - 1]).replace("\"\"", "\""),
            ),
            t => name(Some(t.clone()), self.sql).map(|n| n.name),
        }
    }

    /// The table named at token `i` (`t` or `db.t`), and the index of the token after it.
    fn table_at(&self, i: usize) -> Option<(TableName, usize)> {
        let first = self.name_at(i)?;
        if self.toks.get(i + 1) == Some(&Token::Punct(b'.')) {
            let second = self.name_at(i + 2)?;
            return Some((
                TableName {
                    db: Some(first),
                    name: second,
                },
                i + 3,
            ));
        }
        Some((
            TableName {
                db: None,
                name: first,
            },
            i + 1,
        ))
    }

    /// `a, b.c, …` from token `i`: the names up to the first token that is neither a name nor
    /// a comma after one (`RESTRICT`, `WAIT`, the end). None when there is not even one.
    fn list_at(&self, mut i: usize) -> Option<Vec<TableName>> {
        let mut out = Vec::new();
        loop {
            let (t, next) = self.table_at(i)?;
            out.push(t);
            if self.toks.get(next) != Some(&Token::Punct(b',')) {
                return Some(out);
            }
            i = next + 1;
        }
    }

    fn subject(&self) -> Subject {
        let tables = |role, found: Option<Vec<TableName>>| match found {
            Some(tables) => Subject::Tables { role, tables },
            None => Subject::Unreadable,
        };
        let one = |role, found: Option<(TableName, usize)>| tables(role, found.map(|f| vec![f.0]));
        let Some(first) = self.word(0) else {
            return Subject::None;
        };
        match first.as_str() {
            "INSERT" | "REPLACE" => {
                let i = self.skip(
                    1,
                    &["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"],
                );
                one(Role::Rows, self.table_at(i))
            }
            "LOAD" => match self.find(1, &["INTO"]) {
                Some(i) if self.is(i + 1, &["TABLE"]) => one(Role::Rows, self.table_at(i + 2)),
                // LOAD INDEX INTO CACHE: no rows.
                _ => Subject::None,
            },
            "TRUNCATE" => one(Role::Changes, self.table_at(self.skip(1, &["TABLE"]))),
            "RENAME" if self.is(1, &["TABLE", "TABLES"]) => {
                // a TO b, c TO d: every name on either side.
                let mut out = Vec::new();
                let mut i = 2;
                loop {
                    let Some((from, next)) = self.table_at(i) else {
                        return Subject::Unreadable;
                    };
                    out.push(from);
                    i = next;
                    // RENAME TABLE t WAIT n TO u, t NOWAIT TO u.
                    if self.is(i, &["WAIT"]) {
                        i += 2;
                    } else if self.is(i, &["NOWAIT"]) {
                        i += 1;
                    }
                    if !self.is(i, &["TO"]) {
                        return Subject::Unreadable;
                    }
                    let Some((to, next)) = self.table_at(i + 1) else {
                        return Subject::Unreadable;
                    };
                    out.push(to);
                    if self.toks.get(next) != Some(&Token::Punct(b',')) {
                        return tables(Role::Changes, Some(out));
                    }
                    i = next + 1;
                }
            }
            "DO" | "SELECT" => match self.find(1, &["SETVAL"]) {
                Some(i) if self.toks.get(i + 1) == Some(&Token::Punct(b'(')) => {
                    one(Role::Changes, self.table_at(i + 2))
                }
                _ => Subject::None,
            },
            "CREATE" | "ALTER" | "DROP" => self.definition(&first),
            _ => Subject::None,
        }
    }

    fn definition(&self, verb: &str) -> Subject {
        let Some(k) = self.find(1, &OBJECTS) else {
            return Subject::None;
        };
        let object = self.word(k).unwrap_or_default();
        let i = self.skip(k + 1, &["IF", "NOT", "EXISTS"]);
        let found = |role, t: Option<(TableName, usize)>| match t {
            Some((t, _)) => Subject::Tables {
                role,
                tables: vec![t],
            },
            None => Subject::Unreadable,
        };
        match (verb, object.as_str()) {
            ("DROP", "TABLE" | "TABLES" | "VIEW" | "SEQUENCE") => match self.list_at(i) {
                Some(tables) => Subject::Tables {
                    role: Role::Drops,
                    tables,
                },
                None => Subject::Unreadable,
            },
            ("CREATE", "TABLE" | "SEQUENCE") => found(Role::Creates, self.table_at(i)),
            (_, "VIEW") => found(Role::CreatesView, self.table_at(i)),
            ("ALTER", "TABLE" | "SEQUENCE") => {
                let Some((t, mut at)) = self.table_at(i) else {
                    return Subject::Unreadable;
                };
                let mut tables = vec![t];
                // ALTER TABLE t RENAME [TO|AS] u (not RENAME COLUMN/INDEX/KEY): u too.
                while let Some(r) = self.find(at, &["RENAME"]) {
                    let j = self.skip(r + 1, &["TO", "AS"]);
                    if !self.is(j, &["COLUMN", "INDEX", "KEY"]) {
                        match self.table_at(j) {
                            Some((u, _)) => tables.push(u),
                            None => return Subject::Unreadable,
                        }
                    }
                    at = r + 1;
                }
                Subject::Tables {
                    role: Role::Changes,
                    tables,
                }
            }
            // Its own name is not qualified; its table is, after ON.
            (_, "INDEX") => match self.find(i, &["ON"]) {
                Some(on) => found(Role::Changes, self.table_at(on + 1)),
                None => Subject::Unreadable,
            },
            ("CREATE", "TRIGGER") => {
                // The trigger's own name, then BEFORE|AFTER event ON table.
                let after_name = self.table_at(i).map_or(i, |(_, next)| next);
                match self.find(after_name, &["ON"]) {
                    Some(on) => found(Role::Trigger, self.table_at(on + 1)),
                    None => Subject::Unreadable,
                }
            }
            _ => Subject::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::classify::classify;

    #[test]
    fn a_definitions_definer_is_read() {
        let of = |sql: &str| definer(sql.as_bytes());
        let account = |u: &str, h: Option<&str>| Some((u.to_owned(), h.map(str::to_owned)));
        assert_eq!(
            of(
                "CREATE ALGORITHM=UNDEFINED DEFINER=`report`@`%` SQL SECURITY DEFINER VIEW v AS SELECT 1"
            ),
            account("report", Some("%"))
        );
        assert_eq!(
            of(
                "/*!50003 CREATE*/ /*!50020 DEFINER=`o``k`@`local host`*/ /*!50003 PROCEDURE p() BEGIN END */"
            ),
            account("o`k", Some("local host"))
        );
        assert_eq!(
            of("CREATE DEFINER='a'@'h' TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1"),
            account("a", Some("h"))
        );
        assert_eq!(
            of("CREATE DEFINER=`role1` PROCEDURE p() BEGIN END"),
            account("role1", None)
        );
        assert_eq!(
            of("CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN END"),
            None
        );
        assert_eq!(
            of("CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN END"),
            None
        );
        assert_eq!(
            of("CREATE PROCEDURE p() SQL SECURITY DEFINER BEGIN END"),
            None
        );
        assert_eq!(of("INSERT INTO t VALUES ('DEFINER=x')"), None);
    }

    #[test]
    fn a_definition_names_what_it_defines() {
        for (sql, object) in [
            (
                "CREATE DEFINER=`root`@`localhost` PROCEDURE `show_departments`() BEGIN END",
                Some("procedure `show_departments`"),
            ),
            (
                "CREATE ALGORITHM=UNDEFINED DEFINER=`r`@`%` SQL SECURITY DEFINER VIEW `v` AS SELECT 1",
                Some("view `v`"),
            ),
            (
                "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a = 1 */",
                Some("trigger `tr`"),
            ),
            (
                "CREATE TABLE IF NOT EXISTS d.t (a INT)",
                Some("table `d`.`t`"),
            ),
            (
                "CREATE PACKAGE BODY pk AS BEGIN END",
                Some("package body `pk`"),
            ),
            ("DROP FUNCTION IF EXISTS f", Some("function `f`")),
            ("INSERT INTO t VALUES (1)", None),
            ("SET NAMES utf8mb4", None),
        ] {
            assert_eq!(defined_object(sql.as_bytes()).as_deref(), object, "{sql}");
        }
    }

    fn of(sql: &str) -> Subject {
        subject(sql.as_bytes(), &classify(sql.as_bytes()))
    }

    fn t(db: Option<&str>, name: &str) -> TableName {
        TableName {
            db: db.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    fn about(role: Role, names: &[&str]) -> Subject {
        Subject::Tables {
            role,
            tables: names
                .iter()
                .map(|n| match n.split_once('.') {
                    Some((d, n)) => t(Some(d), n),
                    None => t(None, n),
                })
                .collect(),
        }
    }

    /// Every statement about a table that our dumps, mysqldump's and the old tool's write.
    #[test]
    fn dump_statements_name_their_table() {
        for (sql, role, names) in [
            // Ours.
            ("DROP TABLE IF EXISTS `a`", Role::Drops, &["a"][..]),
            (
                "CREATE TABLE `a` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB",
                Role::Creates,
                &["a"],
            ),
            ("/*!50001 DROP VIEW IF EXISTS `va`*/", Role::Drops, &["va"]),
            (
                "CREATE TABLE `va` (\n  `id` int(11)\n) ENGINE=MyISAM",
                Role::Creates,
                &["va"],
            ),
            (
                "INSERT INTO `a` (`id`,`v`) VALUES (1,'x'),(2,'y')",
                Role::Rows,
                &["a"],
            ),
            (
                "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `va` AS select `a`.`id` AS `id` from `a`",
                Role::CreatesView,
                &["va"],
            ),
            (
                "CREATE DEFINER=`root`@`%` TRIGGER a_ins BEFORE INSERT ON a FOR EACH ROW SET NEW.v = UPPER(NEW.v)",
                Role::Trigger,
                &["a"],
            ),
            ("CREATE SEQUENCE `s` start with 1", Role::Creates, &["s"]),
            ("DO SETVAL(`s`, 5, 0, 0)", Role::Changes, &["s"]),
            // mysqldump and the old tool.
            (
                "/*!40000 ALTER TABLE `a` DISABLE KEYS */",
                Role::Changes,
                &["a"],
            ),
            (
                "INSERT INTO `a` VALUES\n(1,'x'),\n(2,'y')",
                Role::Rows,
                &["a"],
            ),
            (
                "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `b_ins` AFTER INSERT ON `b` FOR EACH ROW INSERT INTO log_1 VALUES (NEW.id) */",
                Role::Trigger,
                &["b"],
            ),
            (
                "/*!50001 CREATE VIEW `va` AS SELECT\n 1 AS `id`,\n 1 AS `v` */",
                Role::CreatesView,
                &["va"],
            ),
            (
                "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */\n/*!50001 VIEW `vb` AS select `b`.`id` AS `id` from `b` */",
                Role::CreatesView,
                &["vb"],
            ),
            ("SELECT SETVAL(`s`, 1001, 0)", Role::Changes, &["s"]),
            // Qualified names, lists, other shapes.
            ("INSERT INTO `d`.`t` VALUES (1)", Role::Rows, &["d.t"]),
            ("INSERT INTO t SELECT * FROM u", Role::Rows, &["t"]),
            ("REPLACE LOW_PRIORITY t SET a = 1", Role::Rows, &["t"]),
            (
                "LOAD DATA LOCAL INFILE 'x' INTO TABLE d.t FIELDS TERMINATED BY ','",
                Role::Rows,
                &["d.t"],
            ),
            ("TRUNCATE TABLE t", Role::Changes, &["t"]),
            (
                "DROP TABLE IF EXISTS a, d.b RESTRICT",
                Role::Drops,
                &["a", "d.b"],
            ),
            (
                "RENAME TABLE a TO b, d.c TO e",
                Role::Changes,
                &["a", "b", "d.c", "e"],
            ),
            (
                "RENAME TABLE a WAIT 5 TO b, c NOWAIT TO d",
                Role::Changes,
                &["a", "b", "c", "d"],
            ),
            ("ALTER TABLE t RENAME TO u", Role::Changes, &["t", "u"]),
            ("ALTER TABLE t RENAME COLUMN a TO b", Role::Changes, &["t"]),
            ("CREATE UNIQUE INDEX i ON t (a)", Role::Changes, &["t"]),
            ("DROP INDEX IF EXISTS i ON `d`.`t`", Role::Changes, &["d.t"]),
            (
                "CREATE OR REPLACE TEMPORARY TABLE IF NOT EXISTS t LIKE u",
                Role::Creates,
                &["t"],
            ),
            ("ALTER VIEW v AS SELECT 1", Role::CreatesView, &["v"]),
            (
                "INSERT INTO \"o\"\"q\".\"t\" VALUES (1)",
                Role::Rows,
                &["o\"q.t"],
            ),
        ] {
            assert_eq!(of(sql), about(role, names), "{sql}");
        }
    }

    #[test]
    fn statements_about_no_table() {
        for sql in [
            "/*!40101 SET NAMES utf8mb4 */",
            "USE `s1`",
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `s1`",
            "ALTER DATABASE /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
            "LOCK TABLES `a` WRITE",
            "UNLOCK TABLES",
            "/*!50032 DROP TRIGGER IF EXISTS `a_ins` */",
            "DROP PROCEDURE IF EXISTS `p`",
            "CREATE DEFINER=`root`@`%` PROCEDURE `p`()\nSELECT 1",
            "CREATE FUNCTION f() RETURNS INT RETURN (SELECT COUNT(*) FROM t)",
            "CREATE DEFINER=`root`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY DO DELETE FROM t",
            "GRANT SELECT ON `s1`.`a` TO 'u'@'%'",
            "CREATE USER 'u'@'%'",
            "DO 1",
            "SELECT 1",
            "LOAD INDEX INTO CACHE t",
        ] {
            assert_eq!(of(sql), Subject::None, "{sql}");
        }
    }

    #[test]
    fn names_that_cannot_be_read_say_so() {
        for sql in [
            "DROP TABLE IF EXISTS",
            "CREATE TABLE (a INT)",
            "RENAME TABLE a b",
            "CREATE TRIGGER tr BEFORE INSERT",
        ] {
            assert_eq!(of(sql), Subject::Unreadable, "{sql}");
        }
    }
}

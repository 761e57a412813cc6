//! Which tables of the chosen databases a run takes, and how much of each (docs/compat.md §2):
//! `db.table` patterns with shell globs, from `--tables`, `--ignore-table`,
//! `--ignore-table-data` and `--where` (and their `backup.mysqldump_args` spellings).
//!
//! Globs rather than mydumper's regular expressions: an operator writes `shop.log_*` without
//! thinking about anchors or `.` meaning any character, and a pattern that is a plain name
//! means exactly that table. The database part compares case-insensitively (as `--db` does);
//! the table part compares exactly, as a Linux server stores table names: an `--ignore-table`
//! that silently took a second table differing only in case would lose rows from the backup.

use std::fmt;

/// A `db.table` pattern. `*` matches any run of characters and `?` one character, within its
/// part; `\` takes the next character literally; a part in backticks is literal whole
/// (`` `my.db`.`t*` ``), with a doubled backtick for a backtick.
#[derive(Clone, PartialEq, Eq)]
pub struct TablePattern {
    text: String,
    database: Vec<Piece>,
    table: Vec<Piece>,
    /// From the config's `backup.mysqldump_args`, where mysqldump takes a name that matches
    /// nothing without a word: an old config that leaves out a table of another database
    /// must not fail every night (see `dump::selection`).
    from_config: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Char(char),
    /// `?`
    One,
    /// `*`
    Any,
}

impl fmt::Debug for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TablePattern({})", self.text)
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for TablePattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TablePattern::parse(s)
    }
}

impl TablePattern {
    /// Parses `db.table`. A name without its database is refused rather than read as "in every
    /// database": `*.log` says that explicitly.
    pub fn parse(text: &str) -> Result<TablePattern, String> {
        let (database, rest) = part(text, text)?;
        let Some(rest) = rest.strip_prefix('.') else {
            return Err(format!(
                "{text:?}: give the database too, as db.table (`*.{text}` for every database)"
            ));
        };
        let (table, rest) = part(rest, text)?;
        if !rest.is_empty() {
            return Err(format!(
                "{text:?}: more than db.table (quote a name holding a dot in backticks, or \
                 write the dot as \\.)"
            ));
        }
        if database.is_empty() || table.is_empty() {
            return Err(format!("{text:?}: an empty database or table name"));
        }
        Ok(TablePattern {
            text: text.to_string(),
            database,
            table,
            from_config: false,
        })
    }

    /// Parses `db.table:condition` (`--where`): the pattern ends at the first `:` outside
    /// backticks and escapes.
    pub fn parse_with_condition(text: &str) -> Result<(TablePattern, String), String> {
        let split = unquoted_colon(text).ok_or_else(|| {
            format!("{text:?}: expected db.table:condition (e.g. \"shop.orders:created > '2026-01-01'\")")
        })?;
        let pattern = TablePattern::parse(&text[..split])?;
        let condition = text[split + 1..].trim();
        if condition.is_empty() {
            return Err(format!("{text:?}: the condition after ':' is empty"));
        }
        Ok((pattern, condition.to_string()))
    }

    /// A pattern that names one table exactly, whatever its characters (mysqldump's
    /// `--ignore-table=db.t`, where `*` is a letter).
    pub fn literal(database: &str, table: &str) -> TablePattern {
        let tick = |n: &str| format!("`{}`", n.replace('`', "``"));
        TablePattern {
            text: format!("{}.{}", tick(database), tick(table)),
            database: database.chars().map(Piece::Char).collect(),
            table: table.chars().map(Piece::Char).collect(),
            from_config: false,
        }
    }

    /// How a message tells the operator to name one table on the command line
    /// (`--ignore-table <this>`): plain when every character is plain, else the
    /// [`TablePattern::literal`] form in single quotes for the shell.
    pub fn argument_for(database: &str, table: &str) -> String {
        let plain = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
        };
        if plain(database) && plain(table) {
            return format!("{database}.{table}");
        }
        format!(
            "'{}'",
            TablePattern::literal(database, table)
                .text
                .replace('\'', "'\\''")
        )
    }

    /// The same pattern, marked as coming from the config's mysqldump options.
    pub fn from_config(self) -> TablePattern {
        TablePattern {
            from_config: true,
            ..self
        }
    }

    /// Whether it came from the config's mysqldump options (no "matches nothing" check).
    pub fn is_from_config(&self) -> bool {
        self.from_config
    }

    /// The pattern as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it names one table exactly (no wildcard).
    pub fn is_literal(&self) -> bool {
        self.database
            .iter()
            .chain(&self.table)
            .all(|p| matches!(p, Piece::Char(_)))
    }

    /// The database it names when its database part has no wildcard.
    pub fn literal_database(&self) -> Option<String> {
        literal(&self.database)
    }

    /// The table it names when its table part has no wildcard.
    pub fn literal_table(&self) -> Option<String> {
        literal(&self.table)
    }

    pub fn matches_database(&self, db: &str) -> bool {
        glob(&self.database, db, true)
    }

    pub fn matches(&self, db: &str, table: &str) -> bool {
        self.matches_database(db) && glob(&self.table, table, false)
    }

    /// Whether the table part would match `table` ignoring case: for the hint when a pattern
    /// matches nothing.
    pub fn matches_ignoring_case(&self, db: &str, table: &str) -> bool {
        self.matches_database(db) && glob(&self.table, table, true)
    }

    /// [`TablePattern::matches`] where the database may be unknown (None: a single-database
    /// file that names its database nowhere): then only a database part of `*` matches, since
    /// any other would be a guess.
    pub fn matches_in(&self, db: Option<&str>, table: &str) -> bool {
        match db {
            Some(db) => self.matches(db, table),
            None => self.database == [Piece::Any] && glob(&self.table, table, false),
        }
    }

    /// Parses a comma-separated list (`--tables a.b,c.d`); a comma in backticks or after `\`
    /// belongs to the name, and empty items (a trailing comma) are left out.
    pub fn parse_list(text: &str) -> Result<Vec<TablePattern>, String> {
        let mut items = Vec::new();
        let (mut quoted, mut escaped, mut start) = (false, false, 0);
        for (i, c) in text.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if !quoted => escaped = true,
                '`' => quoted = !quoted,
                ',' if !quoted => {
                    items.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&text[start..]);
        items
            .into_iter()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(TablePattern::parse)
            .collect()
    }
}

fn literal(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// One part of a pattern, up to an unquoted `.` (or the end); the rest starts with that dot.
fn part<'a>(s: &'a str, whole: &str) -> Result<(Vec<Piece>, &'a str), String> {
    let mut pieces = Vec::new();
    if let Some(quoted) = s.strip_prefix('`') {
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '`' {
                if quoted[i + 1..].starts_with('`') {
                    chars.next();
                    pieces.push(Piece::Char('`'));
                    continue;
                }
                return Ok((pieces, &quoted[i + 1..]));
            }
            pieces.push(Piece::Char(c));
        }
        return Err(format!("{whole:?}: a backtick is not closed"));
    }
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => return Ok((pieces, &s[i..])),
            '\\' => match chars.next() {
                Some((_, e)) => pieces.push(Piece::Char(e)),
                None => return Err(format!("{whole:?}: ends with a lone backslash")),
            },
            '*' => {
                if pieces.last() != Some(&Piece::Any) {
                    pieces.push(Piece::Any);
                }
            }
            '?' => pieces.push(Piece::One),
            c => pieces.push(Piece::Char(c)),
        }
    }
    Ok((pieces, ""))
}

/// The byte offset of the first `:` outside backticks and not escaped.
fn unquoted_colon(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !quoted => escaped = true,
            '`' => quoted = !quoted,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Glob match without backtracking blow-up: the classic two-pointer walk that remembers the
/// last `*` (linear in practice, quadratic at worst on short names).
fn glob(pattern: &[Piece], name: &str, fold_case: bool) -> bool {
    let name: Vec<char> = name.chars().collect();
    let same = |a: char, b: char| a == b || (fold_case && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(Piece::Any) => {
                star = Some((p, n));
                p += 1;
            }
            Some(Piece::One) => {
                p += 1;
                n += 1;
            }
            Some(Piece::Char(c)) if same(*c, name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|x| *x == Piece::Any)
}

/// A `--where`: the rows of the tables `pattern` matches that `condition` (SQL, as the
/// operator wrote it) accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowFilter {
    pub pattern: TablePattern,
    pub condition: String,
}

/// The table selection of a run: empty takes every table of the chosen databases, whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableFilter {
    /// `--tables`/`--tables-file`: when not empty, only these tables (and only databases one
    /// of them can match).
    pub tables: Vec<TablePattern>,
    /// `--ignore-table`: left out entirely (schema, rows and triggers).
    pub ignore: Vec<TablePattern>,
    /// `--ignore-table-data`: schema kept, rows left out.
    pub ignore_data: Vec<TablePattern>,
    /// `--where`: rows filtered.
    pub wheres: Vec<RowFilter>,
}

impl TableFilter {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.ignore.is_empty()
            && self.ignore_data.is_empty()
            && self.wheres.is_empty()
    }

    /// Whether database `db` can hold a table of the selection (always, without `--tables`).
    pub fn takes_database(&self, db: &str) -> bool {
        self.tables.is_empty() || self.tables.iter().any(|p| p.matches_database(db))
    }

    /// Whether the table (or view) is taken at all.
    pub fn takes(&self, db: &str, table: &str) -> bool {
        self.takes_in(Some(db), table)
    }

    /// Whether the table's rows are taken.
    pub fn takes_rows(&self, db: &str, table: &str) -> bool {
        self.takes_rows_in(Some(db), table)
    }

    /// [`TableFilter::takes`] where the database may be unknown (see
    /// [`TablePattern::matches_in`]).
    pub fn takes_in(&self, db: Option<&str>, table: &str) -> bool {
        (self.tables.is_empty() || self.tables.iter().any(|p| p.matches_in(db, table)))
            && !self.ignore.iter().any(|p| p.matches_in(db, table))
    }

    /// [`TableFilter::takes_rows`] where the database may be unknown.
    pub fn takes_rows_in(&self, db: Option<&str>, table: &str) -> bool {
        self.takes_in(db, table) && !self.ignore_data.iter().any(|p| p.matches_in(db, table))
    }

    /// The condition its rows are read with: every matching `--where`, each in parentheses,
    /// joined with AND (two filters on one table both hold).
    pub fn condition(&self, db: &str, table: &str) -> Option<String> {
        let all: Vec<String> = self
            .wheres
            .iter()
            .filter(|w| w.pattern.matches(db, table))
            .map(|w| format!("({})", w.condition))
            .collect();
        (!all.is_empty()).then(|| all.join(" AND "))
    }

    /// Every pattern of the selection with the option it came from, for "matches no table".
    pub fn patterns(&self) -> impl Iterator<Item = (&'static str, &TablePattern)> {
        let tagged = |flag: &'static str| move |p| (flag, p);
        (self.tables.iter().map(tagged("--tables")))
            .chain(self.ignore.iter().map(tagged("--ignore-table")))
            .chain(self.ignore_data.iter().map(tagged("--ignore-table-data")))
            .chain(self.wheres.iter().map(|w| ("--where", &w.pattern)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> TablePattern {
        TablePattern::parse(s).unwrap()
    }

    #[test]
    fn globs_match_within_their_part() {
        assert!(p("shop.log_*").matches("shop", "log_2026"));
        assert!(p("shop.log_*").matches("SHOP", "log_"));
        assert!(!p("shop.log_*").matches("shop", "Log_1"));
        assert!(!p("shop.log_*").matches("shopx", "log_1"));
        assert!(p("*.t?").matches("any", "t1"));
        assert!(!p("*.t?").matches("any", "t12"));
        assert!(p("s*p.*a*b*").matches("shop", "xaybz b"));
        assert!(!p("s*p.*a*b").matches("shop", "xaybz"));
        assert!(p("a.b").is_literal() && !p("a.b*").is_literal());
    }

    #[test]
    fn a_tables_command_line_argument_names_it_exactly() {
        assert_eq!(TablePattern::argument_for("shop", "v_1"), "shop.v_1");
        assert_eq!(
            TablePattern::argument_for("i3b", "we.ird"),
            "'`i3b`.`we.ird`'"
        );
        assert_eq!(
            TablePattern::argument_for("d", "it's*"),
            "'`d`.`it'\\''s*`'"
        );
        let p = TablePattern::parse("`i3b`.`we.ird`").unwrap();
        assert!(p.matches("i3b", "we.ird") && !p.matches("i3b", "weXird"));
    }

    #[test]
    fn dots_stars_and_backticks_can_be_literal() {
        let q = p("`my.db`.`t*`");
        assert!(q.matches("my.db", "t*") && !q.matches("my.db", "tx"));
        assert_eq!(q.literal_database().as_deref(), Some("my.db"));
        let e = p(r"my\.db.t\*");
        assert!(e.matches("my.db", "t*") && !e.matches("my.db", "t1"));
        assert!(p("`a``b`.c").matches("a`b", "c"));
        let l = TablePattern::literal("a`b", "t*");
        assert!(l.is_literal() && l.matches("a`b", "t*") && !l.matches("a`b", "tx"));
        assert_eq!(TablePattern::parse(l.text()).unwrap(), l);
    }

    #[test]
    fn malformed_patterns_say_what_is_wrong() {
        for (bad, says) in [
            ("orders", "give the database too"),
            ("a.b.c", "more than db.table"),
            (".t", "empty"),
            ("db.", "empty"),
            ("`db.t", "not closed"),
            ("db.t\\", "lone backslash"),
        ] {
            let e = TablePattern::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_condition_follows_the_first_unquoted_colon() {
        let (q, c) = TablePattern::parse_with_condition("shop.o:t > '10:00'").unwrap();
        assert_eq!((q.text(), c.as_str()), ("shop.o", "t > '10:00'"));
        let (q, _) = TablePattern::parse_with_condition("`a:b`.t:x=1").unwrap();
        assert!(q.matches("a:b", "t"));
        assert!(TablePattern::parse_with_condition("shop.o").is_err());
        assert!(TablePattern::parse_with_condition("shop.o:  ").is_err());
    }

    #[test]
    fn the_filter_combines_its_lists() {
        let f = TableFilter {
            tables: vec![p("shop.*")],
            ignore: vec![p("shop.tmp_*")],
            ignore_data: vec![p("shop.log")],
            wheres: vec![
                RowFilter {
                    pattern: p("shop.o*"),
                    condition: "id > 5".into(),
                },
                RowFilter {
                    pattern: p("*.orders"),
                    condition: "x".into(),
                },
            ],
        };
        assert!(f.takes_database("shop") && !f.takes_database("crm"));
        assert!(f.takes("shop", "orders") && !f.takes("shop", "tmp_1"));
        assert!(f.takes("shop", "log") && !f.takes_rows("shop", "log"));
        assert!(!f.takes("crm", "orders"));
        assert_eq!(
            f.condition("shop", "orders").as_deref(),
            Some("(id > 5) AND (x)")
        );
        assert_eq!(f.condition("shop", "log"), None);
        assert!(TableFilter::default().takes("x", "y") && TableFilter::default().is_empty());
        assert_eq!(f.patterns().count(), 5);
    }

    /// A table whose database is not known: only `*.name` can say anything about it.
    #[test]
    fn an_unknown_database_is_matched_by_a_star_only() {
        assert!(p("*.t").matches_in(None, "t") && !p("*.t").matches_in(None, "u"));
        assert!(!p("s*.t").matches_in(None, "t") && !p("shop.t").matches_in(None, "t"));
        assert!(p("shop.t").matches_in(Some("SHOP"), "t"));
        let f = TableFilter {
            tables: vec![p("*.t*")],
            ignore: vec![p("*.tmp")],
            ignore_data: vec![p("*.tlog")],
            ..Default::default()
        };
        assert!(f.takes_in(None, "t1") && !f.takes_in(None, "tmp") && !f.takes_in(None, "u"));
        assert!(f.takes_in(None, "tlog") && !f.takes_rows_in(None, "tlog"));
        let only_shop = TableFilter {
            tables: vec![p("shop.t")],
            ..Default::default()
        };
        assert!(!only_shop.takes_in(None, "t"));
    }

    #[test]
    fn lists_split_at_commas_outside_names() {
        let texts = |s: &str| -> Vec<String> {
            TablePattern::parse_list(s)
                .unwrap()
                .iter()
                .map(|p| p.text().to_owned())
                .collect()
        };
        assert_eq!(texts("a.b, c.d,"), ["a.b", "c.d"]);
        assert_eq!(texts("`a,b`.c,d.e\\,f"), ["`a,b`.c", "d.e\\,f"]);
        assert!(TablePattern::parse_list("a.b\\,f").unwrap()[0].matches("a", "b,f"));
        assert!(TablePattern::parse_list("a.b,orders").is_err());
        assert!(
            TablePattern::parse_list("a.b\\").is_err(),
            "a lone backslash at the end"
        );
        assert!(texts(" , ").is_empty());
    }
}
